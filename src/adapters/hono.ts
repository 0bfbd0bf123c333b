/**
 * Hono adapter: maps Hono's request to Baton's neutral HttpRequest and the
 * HttpResponse back. No auth logic lives here (see src/http/middleware.ts).
 *
 * @module baton-auth/hono
 */
import type { Context, ErrorHandler, MiddlewareHandler, Next } from 'hono';
import { BatonError } from '../core/errors.ts';
import type { AuthenticateOptions, AuthorizeOptions } from '../http/authenticate.ts';
import { readBodyLimited } from '../http/body.ts';
import { type ErrorResponseOptions, frameworkErrorResponse } from '../http/errors.ts';
import { LazyHttpRequest, nodeRequestHeaders, type RequestReader } from '../http/lazy-request.ts';
import {
  type BatonHttp,
  type BatonHttpInit,
  createBatonHttp,
  type GuardOptions,
  type GuardOutcome,
} from '../http/middleware.ts';
import { type AuthManager, type HttpRequest, parseRequestTarget } from '../http/types.ts';
import type { AccessClaims } from '../tokens/types.ts';
import { nodeClientIp, nodeIncoming } from './hono-node.ts';
import { toWebResponse } from './responses.ts';
import { normalTargetPath } from './target.ts';

/** `c.get('auth')` behind `requireAuth()` and its variants. */
export type BatonVariables = { auth: AccessClaims };
/** `c.get('auth')` behind `optionalAuth()`: null without a token. */
export type OptionalBatonVariables = { auth: AccessClaims | null };
/**
 * The env of an app that mounts a guard by path (`app.use('/api/*',
 * baton.requireAuth())`): with `new Hono<BatonEnv>()`, `c.get('auth')` is
 * typed in the routes behind it, as Hono cannot see which `use` ran. A guard
 * in the route's own handler list types it without this.
 */
export type BatonEnv = { Variables: BatonVariables };

export interface HonoAdapterOptions {
  /**
   * The client IP that sessions record and the rate limit counts.
   * @defaultValue the socket address that `@hono/node-server` exposes (as its `getConnInfo` reads it)
   */
  clientIp?: (c: Context) => string | undefined;
}

export type HonoBatonOptions = BatonHttpInit & HonoAdapterOptions;

export interface HonoBaton {
  /** Middleware serving every auth route (and the JWKS); other requests pass through untouched. */
  routes: MiddlewareHandler;
  requireAuth(options?: AuthorizeOptions): MiddlewareHandler<{ Variables: BatonVariables }>;
  optionalAuth(): MiddlewareHandler<{ Variables: OptionalBatonVariables }>;
  requireFresh(): MiddlewareHandler<{ Variables: BatonVariables }>;
  /** Every listed role is required. */
  requireRoles(...roles: string[]): MiddlewareHandler<{ Variables: BatonVariables }>;
  /** Every listed scope is required. */
  requireScopes(...scopes: string[]): MiddlewareHandler<{ Variables: BatonVariables }>;
  /** `app.onError(baton.errorHandler)`: errors of your routes in Baton's JSON shape. */
  errorHandler: ErrorHandler;
}

/**
 * The request target as the client wrote it: on @hono/node-server the Node
 * request's, which `c.req.url` has already resolved (dot segments); elsewhere
 * the URL (a fetch client resolved it before sending).
 */
function rawTarget(c: Context): string {
  return nodeIncoming(c)?.url ?? c.req.url;
}

/**
 * The request headers. On @hono/node-server, Node's own header object, as
 * the Express and Fastify adapters read it (so the three treat a repeated
 * header alike): reading `c.req.raw.headers` in full makes node-server build
 * a whole web Headers object first. Elsewhere, the web Headers copied into a
 * record.
 */
function requestHeaders(c: Context): Record<string, string | undefined> {
  const nodeHeaders = nodeIncoming(c)?.headers;
  if (nodeHeaders !== undefined) return nodeRequestHeaders(nodeHeaders);
  const headers: Record<string, string> = {};
  c.req.raw.headers.forEach((value, name) => {
    headers[name.toLowerCase()] = value;
  });
  return headers;
}

/** What the neutral request reads from the context on first use: the URL's path and query, and the peer address. */
function requestReader(options: HonoAdapterOptions): RequestReader<Context> {
  return {
    target: (c) => parseRequestTarget(rawTarget(c)),
    ip: options.clientIp ?? nodeClientIp,
  };
}

const DEFAULT_READER = requestReader({});

/**
 * Builds the neutral request; `body` is what the caller read (bounded). Its
 * `path`, `query` and `ip` are read from the context when first asked for.
 *
 * @example
 * ```ts
 * import { toHttpRequest } from 'baton-auth/hono';
 * import { authenticate } from 'baton-auth/http';
 * import { Hono } from 'hono';
 *
 * const app = new Hono();
 * app.get('/greeting', (c) => {
 *   // Without a token, an anonymous visitor; a bad token is still refused (a BatonError, 401).
 *   const claims = c.req.header('authorization') ? authenticate(sessions, toHttpRequest(c)) : null;
 *   return c.text(claims ? `Hello, ${claims.sub}` : 'Hello, stranger');
 * });
 * ```
 */
export function toHttpRequest(c: Context, body?: Uint8Array, options: HonoAdapterOptions = {}): HttpRequest {
  return lazyRequest(c, body, options.clientIp ? requestReader(options) : DEFAULT_READER);
}

function lazyRequest(c: Context, body: Uint8Array | undefined, reader: RequestReader<Context>): HttpRequest {
  return new LazyHttpRequest(c, reader, { method: c.req.method, headers: requestHeaders(c), body });
}

function routesMiddleware(http: BatonHttp, reader: RequestReader<Context>): MiddlewareHandler {
  const { handler } = http;
  const serve = async (c: Context, next: Next): Promise<Response | undefined> => {
    const hasBody = c.req.method !== 'GET' && c.req.method !== 'HEAD';
    const body = hasBody ? await readBodyLimited(c.req.raw.body, handler.bodyLimit) : undefined;
    const res = await handler(lazyRequest(c, body, reader));
    if (res !== undefined) return toWebResponse(res);
    await next();
    return undefined;
  };
  return (c, next) => {
    const target = rawTarget(c);
    const refused = http.refusedTarget(target);
    if (refused !== undefined) return Promise.resolve(toWebResponse(refused));
    // Not ours (nearly every request): on at once, without a promise of our own or a URL parse.
    if (!handler.handles(normalTargetPath(target), c.req.method)) return next();
    return serve(c, next);
  };
}

/** Sets the implicit-refresh cookies before the route runs, and again after it where the route's own Response dropped them. */
async function withCookies(cookies: readonly string[], c: Context, next: Next): Promise<undefined> {
  for (const cookie of cookies) c.header('set-cookie', cookie, { append: true });
  await next();
  // A route that returned a bare Response (a stream, say) skipped the prepared headers; add them now.
  const sent = c.res.headers.getSetCookie();
  for (const cookie of cookies) {
    if (!sent.includes(cookie)) c.header('set-cookie', cookie, { append: true });
  }
  return undefined;
}

function guardMiddleware<V extends object>(
  http: BatonHttp,
  guardOptions: GuardOptions,
  reader: RequestReader<Context>,
): MiddlewareHandler<{ Variables: V }> {
  const guard = http.guard(guardOptions);
  const proceed = (outcome: GuardOutcome, c: Context, next: Next): ReturnType<MiddlewareHandler> => {
    if (!outcome.ok) return Promise.resolve(toWebResponse(outcome.response));
    (c as unknown as Context<{ Variables: OptionalBatonVariables }>).set('auth', outcome.claims);
    // Without cookies (nearly always), nothing to do after the route: its own promise is ours.
    return outcome.cookies.length === 0 ? next() : withCookies(outcome.cookies, c, next);
  };
  return (c, next) => {
    const raw = http.guardsReadBody ? c.req.raw : undefined;
    if (raw !== undefined && raw.body !== null && !raw.bodyUsed) {
      // A clone, so the route can still read the body (the `body` token location only).
      return readBodyLimited(raw.clone().body, http.options.bodyLimit).then(async (body) =>
        proceed(await guard(lazyRequest(c, body, reader)), c, next),
      );
    }
    const outcome = guard(lazyRequest(c, undefined, reader));
    // Only implicit refresh waits for the guard.
    return outcome instanceof Promise
      ? outcome.then((settled) => proceed(settled, c, next))
      : proceed(outcome, c, next);
  };
}

/**
 * Hono's `c.req.json()` rejects with the bare SyntaxError of JSON.parse, which
 * would be a 500: a body the client sent that is not JSON is its mistake, a
 * 400, as body-parser and Fastify answer it. Recognised exactly: a SyntaxError
 * after the body was read as text, and that text does not parse.
 */
async function asBodyError(error: unknown, c: Context): Promise<unknown> {
  if (!(error instanceof SyntaxError)) return error;
  const text = (c.req.bodyCache as { text?: Promise<string> }).text;
  if (text === undefined) return error;
  try {
    JSON.parse(await text);
  } catch {
    return new BatonError('invalid_request', 'The request body is not valid JSON', { cause: error });
  }
  return error;
}

/**
 * Binds Baton to a manager once; options are validated here (`BatonError('invalid_options')`).
 * The complete app: examples/hono/server.ts.
 *
 * @example
 * ```ts
 * import { createBaton } from 'baton-auth/hono';
 * import { Hono } from 'hono';
 *
 * const baton = createBaton(sessions, { cookies: true });
 * const app = new Hono();
 * app.use('*', baton.routes); // /auth/login, /auth/refresh, ...
 * app.get('/api/me', baton.requireAuth(), (c) => c.json({ user: c.get('auth').sub }));
 * app.onError(baton.errorHandler); // Baton's JSON errors
 * ```
 */
export function createBaton(manager: AuthManager, options: HonoBatonOptions = {}): HonoBaton {
  const { clientIp, ...httpOptions } = options;
  const reader = clientIp ? requestReader({ clientIp }) : DEFAULT_READER;
  const http = createBatonHttp(manager, httpOptions);
  const requireAuth = (o: AuthorizeOptions = {}) => guardMiddleware<BatonVariables>(http, o, reader);
  return {
    routes: routesMiddleware(http, reader),
    requireAuth,
    optionalAuth: () => guardMiddleware<OptionalBatonVariables>(http, { optional: true }, reader),
    requireFresh: () => requireAuth({ fresh: true }),
    requireRoles: (...roles) => requireAuth({ roles }),
    requireScopes: (...scopes) => requireAuth({ scopes }),
    errorHandler: async (error, c) => toWebResponse(http.errorResponse(await asBodyError(error, c))),
  };
}

/**
 * `app.use(batonRoutes(manager, options))`: the same as `createBaton(manager, options).routes`.
 *
 * @example
 * ```ts
 * import { batonRoutes } from 'baton-auth/hono';
 * import { Hono } from 'hono';
 *
 * const app = new Hono();
 * app.use('*', batonRoutes(sessions, { cookies: true })); // POST /auth/login, ..., tokens in HttpOnly cookies
 * ```
 */
export function batonRoutes(manager: AuthManager, options: HonoBatonOptions = {}): MiddlewareHandler {
  return createBaton(manager, options).routes;
}

/**
 * Standalone guard: `requireAuth(manager, { roles, cookies, ... })`. Prefer `createBaton(...).requireAuth()`.
 *
 * @example
 * ```ts
 * import { requireAuth } from 'baton-auth/hono';
 * import { Hono } from 'hono';
 *
 * const admin = new Hono();
 * admin.get('/stats', requireAuth(sessions, { roles: ['admin'] }), (c) => c.json({ by: c.get('auth').sub }));
 * ```
 */
export function requireAuth(
  manager: AuthManager,
  options: AuthenticateOptions & HonoAdapterOptions & Pick<ErrorResponseOptions, 'realm'> = {},
): MiddlewareHandler<{ Variables: BatonVariables }> {
  const { roles, scopes, fresh, ...rest } = options;
  return createBaton(manager, rest).requireAuth({
    ...(roles ? { roles } : {}),
    ...(scopes ? { scopes } : {}),
    ...(fresh ? { fresh } : {}),
  });
}

/**
 * `app.onError(batonErrorHandler())`: errors of your routes in Baton's JSON shape.
 *
 * @example
 * ```ts
 * import { batonErrorHandler } from 'baton-auth/hono';
 * import { Hono } from 'hono';
 *
 * const app = new Hono();
 * app.post('/notes', async (c) => c.json(await c.req.json(), 201)); // a body that is not JSON: a 400, not a 500
 * app.onError(batonErrorHandler({ realm: 'notes' })); // { "error": "invalid_request", ... }
 * ```
 */
export function batonErrorHandler(options: ErrorResponseOptions = {}): ErrorHandler {
  return async (error, c) => toWebResponse(frameworkErrorResponse(await asBodyError(error, c), options));
}
