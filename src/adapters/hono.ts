/**
 * Hono adapter: maps Hono's request to Baton's neutral HttpRequest and the
 * HttpResponse back. No auth logic lives here.
 */
import type { Context, ErrorHandler, MiddlewareHandler } from 'hono';
import { type AuthenticateOptions, authenticate } from '../http/authenticate.ts';
import { readBodyLimited } from '../http/body.ts';
import { type ErrorResponseOptions, errorResponse } from '../http/errors.ts';
import { type AuthHandlerOptions, createAuthHandler } from '../http/routes.ts';
import type { AuthManager, HttpRequest, HttpResponse } from '../http/types.ts';
import type { AccessClaims } from '../tokens/types.ts';

/** `c.get('auth')` after `requireAuth`. */
export type AuthVariables = { auth: AccessClaims };

export interface HonoAdapterOptions {
  /** The peer address. Default: the socket address @hono/node-server exposes (as its `getConnInfo` reads it). */
  clientIp?: (c: Context) => string | undefined;
}

type NodeBindings = { incoming?: { socket?: { remoteAddress?: string } } };

function nodeClientIp(c: Context): string | undefined {
  const env = c.env as (NodeBindings & { server?: NodeBindings }) | undefined;
  return (env?.server ?? env)?.incoming?.socket?.remoteAddress;
}

/** Builds the neutral request; `body` is what the caller read (bounded). */
export function toHttpRequest(c: Context, body?: Uint8Array, options: HonoAdapterOptions = {}): HttpRequest {
  const headers: Record<string, string> = {};
  c.req.raw.headers.forEach((value, name) => {
    headers[name.toLowerCase()] = value;
  });
  const url = new URL(c.req.url);
  const ip = (options.clientIp ?? nodeClientIp)(c);
  return {
    method: c.req.method,
    path: url.pathname,
    headers,
    query: url.searchParams,
    ...(body === undefined ? {} : { body }),
    ...(ip === undefined ? {} : { ip }),
  };
}

export function toResponse(res: HttpResponse): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return new Response(res.body ?? null, { status: res.status, headers });
}

/** Middleware serving every auth route (and the JWKS); other requests pass through untouched. */
export function batonRoutes(
  manager: AuthManager,
  options: AuthHandlerOptions & HonoAdapterOptions = {},
): MiddlewareHandler {
  const handler = createAuthHandler(manager, options);
  return async (c, next) => {
    if (!handler.handles(c.req.path)) return next();
    const hasBody = c.req.method !== 'GET' && c.req.method !== 'HEAD';
    const body = hasBody ? await readBodyLimited(c.req.raw.body, handler.bodyLimit) : undefined;
    const res = await handler(toHttpRequest(c, body, options));
    if (res === undefined) return next();
    return toResponse(res);
  };
}

/** Rejects the request unless it carries an acceptable access token; puts its claims in `c.get('auth')`. */
export function requireAuth(
  manager: Pick<AuthManager, 'verifyAccessToken' | 'isFresh'>,
  options: AuthenticateOptions & HonoAdapterOptions & Pick<ErrorResponseOptions, 'realm'> = {},
): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    try {
      c.set('auth', authenticate(manager, toHttpRequest(c, undefined, options), options));
    } catch (error) {
      return toResponse(errorResponse(error, { realm: options.realm ?? 'baton' }));
    }
    await next();
  };
}

/** `app.onError(batonErrorHandler())`: BatonErrors thrown by app routes get Baton's error shape too. */
export function batonErrorHandler(options: ErrorResponseOptions = {}): ErrorHandler {
  return (error) => toResponse(errorResponse(error, options));
}
