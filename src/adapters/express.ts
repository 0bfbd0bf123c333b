/**
 * Express 5 adapter: maps Express's request to Baton's neutral HttpRequest
 * and the HttpResponse back. No auth logic lives here (see src/http/middleware.ts).
 */
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { BatonError } from '../core/errors.ts';
import type { AuthorizeOptions } from '../http/authenticate.ts';
import { readNodeBodyLimited } from '../http/body.ts';
import {
  type BatonHttp,
  type BatonHttpInit,
  createBatonHttp,
  type GuardOptions,
} from '../http/middleware.ts';
import { type AuthManager, type HttpRequest, type HttpResponse, parseRequestTarget } from '../http/types.ts';
import type { AccessClaims } from '../tokens/types.ts';

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
  /** The peer address. Default `req.ip` (which honours Express's `trust proxy` setting). */
  clientIp?: (req: Request) => string | undefined;
}

export type ExpressBatonOptions = BatonHttpInit & ExpressAdapterOptions;

export interface ExpressBaton {
  /** `app.use(baton.routes)`, before any body parser: every auth route and the JWKS; other requests pass on. */
  routes: RequestHandler;
  requireAuth(options?: AuthorizeOptions): RequestHandler;
  optionalAuth(): RequestHandler;
  requireFresh(): RequestHandler;
  /** Every listed role is required. */
  requireRoles(...roles: string[]): RequestHandler;
  /** Every listed scope is required. */
  requireScopes(...scopes: string[]): RequestHandler;
  /** `app.use(baton.errorHandler)`, last: errors (yours, body-parser's) in Baton's JSON shape, never an HTML page. */
  errorHandler: ErrorRequestHandler;
}

/** Once per process: typed `req.auth` is a prototype getter, so it is never silently undefined. */
function installAccessors(): void {
  if (Object.hasOwn(express.request, 'authOrNull')) return;
  Object.defineProperty(express.request, 'authOrNull', { value: null, writable: true, configurable: true });
  Object.defineProperty(express.request, 'auth', {
    configurable: true,
    get(this: Request): AccessClaims {
      if (this.authOrNull === null) throw new BatonError('missing_token', 'An access token is required');
      return this.authOrNull;
    },
    set(this: Request, value: AccessClaims) {
      Object.defineProperty(this, 'auth', { value, writable: true, configurable: true, enumerable: true });
    },
  });
}

/** Builds the neutral request; `body` is what the caller read (bounded). */
export function toHttpRequest(
  req: Request,
  body?: Uint8Array,
  options: ExpressAdapterOptions = {},
): HttpRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const { path, query } = parseRequestTarget(req.originalUrl);
  const ip = options.clientIp ? options.clientIp(req) : req.ip;
  return {
    method: req.method,
    path,
    headers,
    query,
    ...(body === undefined ? {} : { body }),
    ...(req.body === undefined ? {} : { parsedBody: req.body }),
    ...(ip === undefined ? {} : { ip }),
  };
}

/** `res.end`, not `res.send`: no ETag or charset added, so every adapter answers byte for byte alike. */
export function sendResponse(res: Response, response: HttpResponse): void {
  res.status(response.status);
  for (const [name, value] of Object.entries(response.headers)) {
    if (name === 'set-cookie') res.append(name, value);
    else res.setHeader(name, value);
  }
  res.end(response.body);
}

function routesMiddleware(http: BatonHttp, options: ExpressAdapterOptions): RequestHandler {
  const { handler } = http;
  return async (req, res, next) => {
    if (!handler.handles(parseRequestTarget(req.originalUrl).path, req.method)) return next();
    let body: Uint8Array | undefined;
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        body = await readNodeBodyLimited(req, handler.bodyLimit);
    } catch (error) {
      return sendResponse(res, http.errorResponse(error));
    }
    const response = await handler(toHttpRequest(req, body, options));
    if (response === undefined) return next();
    sendResponse(res, response);
  };
}

function guardMiddleware(
  http: BatonHttp,
  guardOptions: GuardOptions,
  options: ExpressAdapterOptions,
): RequestHandler {
  const guard = http.guard(guardOptions);
  return async (req, res, next) => {
    const outcome = await guard(toHttpRequest(req, undefined, options));
    if (!outcome.ok) return sendResponse(res, outcome.response);
    req.authOrNull = outcome.claims;
    // Before the route runs, so it holds even when the route streams and headers go out early.
    if (outcome.cookies.length > 0) res.append('set-cookie', outcome.cookies);
    next();
  };
}

/** Binds Baton to a manager once; options are validated here (`BatonError('invalid_options')`). */
export function createBaton(manager: AuthManager, options: ExpressBatonOptions = {}): ExpressBaton {
  const { clientIp, ...httpOptions } = options;
  const adapter: ExpressAdapterOptions = clientIp ? { clientIp } : {};
  const http = createBatonHttp(manager, httpOptions);
  installAccessors();
  const requireAuth = (o: AuthorizeOptions = {}) => guardMiddleware(http, o, adapter);
  return {
    routes: routesMiddleware(http, adapter),
    requireAuth,
    optionalAuth: () => guardMiddleware(http, { optional: true }, adapter),
    requireFresh: () => requireAuth({ fresh: true }),
    requireRoles: (...roles) => requireAuth({ roles }),
    requireScopes: (...scopes) => requireAuth({ scopes }),
    errorHandler: (error, _req, res, next) => {
      if (res.headersSent) return next(error);
      sendResponse(res, http.errorResponse(error));
    },
  };
}

/** `app.use(batonRoutes(manager, options))`: the same as `createBaton(manager, options).routes`. */
export function batonRoutes(manager: AuthManager, options: ExpressBatonOptions = {}): RequestHandler {
  return createBaton(manager, options).routes;
}
