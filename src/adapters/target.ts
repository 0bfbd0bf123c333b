import { parseRequestTarget } from '../http/types.ts';

/**
 * The path of a raw request target that `refusedTarget` let through, as
 * `parseRequestTarget` gives it, without building a URL for it. Such a target
 * has no dot segment and nothing a URL parser would rewrite, so in
 * origin-form (every request but an absolute-form one, which a proxy sends)
 * its path is the target up to the query or fragment. Every request of an
 * app passes the auth routes' hook or middleware, nearly all only to be
 * handed on: this is what they pay for it.
 */
export function normalTargetPath(target: string): string {
  if (target.charCodeAt(0) !== 0x2f /* / */) return parseRequestTarget(target).path;
  for (let index = 1; index < target.length; index++) {
    const code = target.charCodeAt(index);
    if (code === 0x3f /* ? */ || code === 0x23 /* # */) return target.slice(0, index);
  }
  return target;
}
