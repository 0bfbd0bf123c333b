/**
 * Hono adapter: maps Hono's request to Baton's neutral HttpRequest and the
 * HttpResponse back. No auth logic lives here (see src/http/middleware.ts).
 */
import type { Context, ErrorHandler, MiddlewareHandler } from 'hono';
import type { AuthenticateOptions, AuthorizeOptions } from '../http/authenticate.ts';
import { readBodyLimited } from '../http/body.ts';
import { type ErrorResponseOptions, frameworkErrorResponse } from '../http/errors.ts';
import {
  type BatonHttp,
  type BatonHttpInit,
  createBatonHttp,
  type GuardOptions,
} from '../http/middleware.ts';
import type { AuthManager, HttpRequest, HttpResponse } from '../http/types.ts';
import type { AccessClaims } from '../tokens/types.ts';

/** `c.get('auth')` behind `requireAuth()` and its variants. */
export type AuthVariables = { auth: AccessClaims };
/** `c.get('auth')` behind `optionalAuth()`: null without a token. */
export type OptionalAuthVariables = { auth: AccessClaims | null };

export interface HonoAdapterOptions {
  /** The peer address. Default: the socket address @hono/node-server exposes (as its `getConnInfo` reads it). */
  clientIp?: (c: Context) => string | undefined;
}

export type HonoBatonOptions = BatonHttpInit & HonoAdapterOptions;

export interface HonoBaton {
  /** Middleware serving every auth route (and the JWKS); other requests pass through untouched. */
  routes: MiddlewareHandler;
  requireAuth(options?: AuthorizeOptions): MiddlewareHandler<{ Variables: AuthVariables }>;
  optionalAuth(): MiddlewareHandler<{ Variables: OptionalAuthVariables }>;
  requireFresh(): MiddlewareHandler<{ Variables: AuthVariables }>;
  /** Every listed role is required. */
  requireRoles(...roles: string[]): MiddlewareHandler<{ Variables: AuthVariables }>;
  /** Every listed scope is required. */
  requireScopes(...scopes: string[]): MiddlewareHandler<{ Variables: AuthVariables }>;
  /** `app.onError(baton.errorHandler)`: errors of your routes in Baton's JSON shape. */
  errorHandler: ErrorHandler;
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

function routesMiddleware(http: BatonHttp, options: HonoAdapterOptions): MiddlewareHandler {
  const { handler } = http;
  return async (c, next) => {
    const path = new URL(c.req.url).pathname;
    if (!handler.handles(path, c.req.method)) return next();
    const hasBody = c.req.method !== 'GET' && c.req.method !== 'HEAD';
    const body = hasBody ? await readBodyLimited(c.req.raw.body, handler.bodyLimit) : undefined;
    const res = await handler(toHttpRequest(c, body, options));
    return res === undefined ? next() : toResponse(res);
  };
}

function guardMiddleware<V extends object>(
  http: BatonHttp,
  guardOptions: GuardOptions,
  options: HonoAdapterOptions,
) {
  const guard = http.guard(guardOptions);
  const middleware: MiddlewareHandler<{ Variables: V }> = async (c, next) => {
    const raw = c.req.raw;
    // A clone, so the route can still read the body (the `body` token location only).
    const body =
      http.guardsReadBody && raw.body !== null && !raw.bodyUsed
        ? await readBodyLimited(raw.clone().body, http.options.bodyLimit)
        : undefined;
    const outcome = await guard(toHttpRequest(c, body, options));
    if (!outcome.ok) return toResponse(outcome.response);
    (c as unknown as Context<{ Variables: OptionalAuthVariables }>).set('auth', outcome.claims);
    for (const cookie of outcome.cookies) c.header('set-cookie', cookie, { append: true });
    await next();
    // A route that returned a bare Response (a stream, say) skipped the prepared headers; add them now.
    const sent = c.res.headers.getSetCookie();
    for (const cookie of outcome.cookies) {
      if (!sent.includes(cookie)) c.header('set-cookie', cookie, { append: true });
    }
  };
  return middleware;
}

/** Binds Baton to a manager once; options are validated here (`BatonError('invalid_options')`). */
export function createBaton(manager: AuthManager, options: HonoBatonOptions = {}): HonoBaton {
  const { clientIp, ...httpOptions } = options;
  const adapter: HonoAdapterOptions = clientIp ? { clientIp } : {};
  const http = createBatonHttp(manager, httpOptions);
  const requireAuth = (o: AuthorizeOptions = {}) => guardMiddleware<AuthVariables>(http, o, adapter);
  return {
    routes: routesMiddleware(http, adapter),
    requireAuth,
    optionalAuth: () => guardMiddleware<OptionalAuthVariables>(http, { optional: true }, adapter),
    requireFresh: () => requireAuth({ fresh: true }),
    requireRoles: (...roles) => requireAuth({ roles }),
    requireScopes: (...scopes) => requireAuth({ scopes }),
    errorHandler: (error) => toResponse(http.errorResponse(error)),
  };
}

/** `app.use(batonRoutes(manager, options))`: the same as `createBaton(manager, options).routes`. */
export function batonRoutes(manager: AuthManager, options: HonoBatonOptions = {}): MiddlewareHandler {
  return createBaton(manager, options).routes;
}

/** Standalone guard: `requireAuth(manager, { roles, cookies, ... })`. Prefer `createBaton(...).requireAuth()`. */
export function requireAuth(
  manager: AuthManager,
  options: AuthenticateOptions & HonoAdapterOptions & Pick<ErrorResponseOptions, 'realm'> = {},
): MiddlewareHandler<{ Variables: AuthVariables }> {
  const { roles, scopes, fresh, ...rest } = options;
  return createBaton(manager, rest).requireAuth({
    ...(roles ? { roles } : {}),
    ...(scopes ? { scopes } : {}),
    ...(fresh ? { fresh } : {}),
  });
}

/** `app.onError(batonErrorHandler())`: errors of your routes in Baton's JSON shape. */
export function batonErrorHandler(options: ErrorResponseOptions = {}): ErrorHandler {
  return (error) => toResponse(frameworkErrorResponse(error, options));
}
