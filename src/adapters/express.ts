/**
 * Express 5 adapter: maps Express's request to Baton's neutral HttpRequest
 * and the HttpResponse back. No auth logic lives here (see src/http/middleware.ts).
 *
 * @module baton-auth/express
 */
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import type { AuthorizeOptions } from '../http/authenticate.ts';
import { readNodeBodyLimited } from '../http/body.ts';
import { nodeLazyRequest, type RequestReader } from '../http/lazy-request.ts';
import {
  type BatonHttp,
  type BatonHttpInit,
  createBatonHttp,
  type GuardOptions,
  type GuardOutcome,
} from '../http/middleware.ts';
import { type AuthManager, type HttpRequest, parseRequestTarget } from '../http/types.ts';
import type { AccessClaims } from '../tokens/types.ts';
import { installAccessors } from './express-request.ts';
import { sendExpressResponse } from './responses.ts';
import { normalTargetPath } from './target.ts';

declare global {
  namespace Express {
    interface Request {
      /**
       * The access token's claims, behind `requireAuth()` and its variants.
       * Where no token was accepted (an unguarded route, or `optionalAuth()`
       * without a token) reading it throws a 401 `missing_token`.
       */
      auth: AccessClaims;
      /** The claims, or null: what `optionalAuth()` routes read. */
      authOrNull: AccessClaims | null;
    }
  }
}

export interface ExpressAdapterOptions {
  /**
   * The client IP that sessions record and the rate limit counts.
   * @defaultValue `req.ip` (which honours Express's `trust proxy` setting)
   */
  clientIp?: (req: Request) => string | undefined;
}

export type ExpressBatonOptions = BatonHttpInit & ExpressAdapterOptions;

/**
 * A guard: an Express handler that fits any route, so the route's own types
 * (`req.params` of `/users/:id`, the body, the query) reach the handlers after
 * it. A plain `RequestHandler` would widen them to `ParamsDictionary`.
 */
export type ExpressGuard = <Params, ResBody, ReqBody, ReqQuery, Locals extends Record<string, unknown>>(
  req: Request<Params, ResBody, ReqBody, ReqQuery, Locals>,
  res: Response<ResBody, Locals>,
  next: NextFunction,
) => void;

export interface ExpressBaton {
  /** `app.use(baton.routes)`, before any body parser: every auth route and the JWKS; other requests pass on. */
  routes: RequestHandler;
  requireAuth(options?: AuthorizeOptions): ExpressGuard;
  optionalAuth(): ExpressGuard;
  requireFresh(): ExpressGuard;
  /** Every listed role is required. */
  requireRoles(...roles: string[]): ExpressGuard;
  /** Every listed scope is required. */
  requireScopes(...scopes: string[]): ExpressGuard;
  /** `app.use(baton.errorHandler)`, last: errors (yours, body-parser's) in Baton's JSON shape, never an HTML page. */
  errorHandler: ErrorRequestHandler;
}

/** What the neutral request reads from Express's on first use: the request target, and the peer address. */
function requestReader(options: ExpressAdapterOptions): RequestReader<Request> {
  return {
    target: (req) => parseRequestTarget(req.originalUrl),
    ip: options.clientIp ?? ((req) => req.ip),
  };
}

const DEFAULT_READER = requestReader({});

/**
 * Builds the neutral request; `body` is what the caller read (bounded). Its
 * `path`, `query` and `ip` are read from `req` when first asked for.
 *
 * @example
 * ```ts
 * import { toHttpRequest } from 'baton-auth/express';
 * import { authenticate } from 'baton-auth/http';
 * import express from 'express';
 *
 * const app = express();
 * app.get('/reports/:id', (req, res) => {
 *   // A guard's check, inline: a BatonError (401, 403) goes on to `baton.errorHandler`.
 *   const claims = authenticate(sessions, toHttpRequest(req), { roles: ['auditor'] });
 *   res.json({ report: req.params.id, readBy: claims.sub });
 * });
 * ```
 */
export function toHttpRequest(
  req: Request,
  body?: Uint8Array,
  options: ExpressAdapterOptions = {},
): HttpRequest {
  return nodeLazyRequest(req, body, options.clientIp ? requestReader(options) : DEFAULT_READER);
}

function routesMiddleware(http: BatonHttp, reader: RequestReader<Request>): RequestHandler {
  const { handler } = http;
  const serve = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    let body: Uint8Array | undefined;
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        body = await readNodeBodyLimited(req, handler.bodyLimit);
    } catch (error) {
      sendExpressResponse(res, http.errorResponse(error));
      return;
    }
    const response = await handler(nodeLazyRequest(req, body, reader));
    if (response === undefined) next();
    else sendExpressResponse(res, response);
  };
  return (req, res, next) => {
    const refused = http.refusedTarget(req.originalUrl);
    if (refused !== undefined) return sendExpressResponse(res, refused);
    // Not ours (nearly every request): on at once, without a promise or a URL parse.
    if (!handler.handles(normalTargetPath(req.originalUrl), req.method)) return next();
    return serve(req, res, next);
  };
}

function guardMiddleware(
  http: BatonHttp,
  guardOptions: GuardOptions,
  reader: RequestReader<Request>,
): ExpressGuard {
  const guard = http.guard(guardOptions);
  const apply = (outcome: GuardOutcome, req: Request, res: Response, next: NextFunction): void => {
    if (!outcome.ok) {
      sendExpressResponse(res, outcome.response);
      return;
    }
    req.authOrNull = outcome.claims;
    // Before the route runs, so it holds even when the route streams and headers go out early.
    if (outcome.cookies.length > 0) res.append('set-cookie', outcome.cookies);
    next();
  };
  const middleware: RequestHandler = (req, res, next) => {
    const outcome = guard(nodeLazyRequest(req, undefined, reader));
    // Only implicit refresh waits; every other request goes on without a promise.
    if (outcome instanceof Promise) return outcome.then((settled) => apply(settled, req, res, next));
    apply(outcome, req, res, next);
  };
  // Sound: the guard reads only the method, headers and URL, which no route type narrows.
  return middleware as unknown as ExpressGuard;
}

/**
 * Binds Baton to a manager once; options are validated here (`BatonError('invalid_options')`).
 * The complete app: examples/express/server.ts.
 *
 * @example
 * ```ts
 * import { createBaton } from 'baton-auth/express';
 * import express from 'express';
 *
 * const baton = createBaton(sessions, { cookies: true });
 * const app = express();
 * app.use(baton.routes); // /auth/login, /auth/refresh, ... (before any body parser)
 * app.get('/api/me', baton.requireAuth(), (req, res) => {
 *   res.json({ user: req.auth.sub });
 * });
 * app.use(baton.errorHandler); // Baton's JSON errors, last
 * ```
 */
export function createBaton(manager: AuthManager, options: ExpressBatonOptions = {}): ExpressBaton {
  const { clientIp, ...httpOptions } = options;
  const reader = clientIp ? requestReader({ clientIp }) : DEFAULT_READER;
  const http = createBatonHttp(manager, httpOptions);
  installAccessors();
  const requireAuth = (o: AuthorizeOptions = {}) => guardMiddleware(http, o, reader);
  return {
    routes: routesMiddleware(http, reader),
    requireAuth,
    optionalAuth: () => guardMiddleware(http, { optional: true }, reader),
    requireFresh: () => requireAuth({ fresh: true }),
    requireRoles: (...roles) => requireAuth({ roles }),
    requireScopes: (...scopes) => requireAuth({ scopes }),
    errorHandler: (error, _req, res, next) => {
      if (res.headersSent) return next(error);
      sendExpressResponse(res, http.errorResponse(error));
    },
  };
}

/**
 * `app.use(batonRoutes(manager, options))`: the same as `createBaton(manager, options).routes`.
 *
 * @example
 * ```ts
 * import { batonRoutes } from 'baton-auth/express';
 * import express from 'express';
 *
 * const app = express();
 * app.use(batonRoutes(sessions, { prefix: '/api/auth' })); // POST /api/auth/login, ..., before any body parser
 * ```
 */
export function batonRoutes(manager: AuthManager, options: ExpressBatonOptions = {}): RequestHandler {
  return createBaton(manager, options).routes;
}
