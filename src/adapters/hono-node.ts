/**
 * What a Hono context holds of Node's request when @hono/node-server serves
 * it: the issuer's adapter (./hono.ts) and the resource guard
 * (../resource/hono.ts) read the raw target and the peer address from it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Context } from 'hono';

/** What @hono/node-server passes as `c.env` (or as `c.env.server`, where a wrapper nests it). */
type NodeBindings = {
  incoming?: { url?: string; headers?: IncomingHttpHeaders; socket?: { remoteAddress?: string } };
};

/** The Node request under the context, when @hono/node-server serves it; undefined elsewhere (tests' `app.request`, other runtimes). */
export function nodeIncoming(c: Context): NodeBindings['incoming'] {
  const env = c.env as (NodeBindings & { server?: NodeBindings }) | undefined;
  return (env?.server ?? env)?.incoming;
}

/** The peer address of the Node request, as @hono/node-server's `getConnInfo` reads it. */
export function nodeClientIp(c: Context): string | undefined {
  return nodeIncoming(c)?.socket?.remoteAddress;
}
