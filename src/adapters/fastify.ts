/**
 * Fastify 5 adapter: a plugin that maps Fastify's request to Baton's neutral
 * HttpRequest and the HttpResponse back. No auth logic lives here (see
 * src/http/middleware.ts).
 *
 * @module baton-auth/fastify
 */
import type {
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  HTTPMethods,
} from 'fastify';
import { BatonError } from '../core/errors.ts';
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
import { sendFastifyResponse } from './responses.ts';
import { normalTargetPath } from './target.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The access token's claims, behind `requireAuth()` and its variants.
     * Where no token was accepted, reading it throws a 401 `missing_token`.
     */
    readonly auth: AccessClaims;
    /** The claims, or null: what `optionalAuth()` routes read. */
    authOrNull: AccessClaims | null;
  }
  interface FastifyInstance {
    baton: FastifyBaton;
  }
}

/**
 * A hook for `onRequest` (refuses before the body is read) or `preHandler`
 * (needed for the `body` token location). Callback-style, so that a request
 * with nothing to wait for (all but those implicit refresh renews) goes on
 * without a promise: it calls `done` to go on, or answers and does not.
 */
export type BatonHook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;

export interface FastifyBaton {
  requireAuth(options?: AuthorizeOptions): BatonHook;
  optionalAuth(): BatonHook;
  requireFresh(): BatonHook;
  /** Every listed role is required. */
  requireRoles(...roles: string[]): BatonHook;
  /** Every listed scope is required. */
  requireScopes(...scopes: string[]): BatonHook;
  /** `app.setErrorHandler(app.baton.errorHandler)`: errors (yours, Fastify's 4xx) in Baton's JSON shape. */
  errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply;
}

export interface FastifyBatonOptions extends BatonHttpInit {
  /** The `SessionManager` (or `createAuthManager`'s manager) whose routes and guards the plugin serves. */
  manager: AuthManager;
  /**
   * The client IP that sessions record and the rate limit counts.
   * @defaultValue `request.ip` (which honours Fastify's `trustProxy`)
   */
  clientIp?: (request: FastifyRequest) => string | undefined;
}

type AdapterOptions = Pick<FastifyBatonOptions, 'clientIp'>;

/** The auth routes answer every method but OPTIONS (CORS preflights are the app's): a wrong one is Baton's 405. */
const METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** What the neutral request reads from Fastify's on first use: the request target, and the peer address. */
function requestReader(options: AdapterOptions): RequestReader<FastifyRequest> {
  return {
    target: (request) => parseRequestTarget(request.raw.url ?? '/'),
    ip: options.clientIp ?? ((request) => request.ip),
  };
}

const DEFAULT_READER = requestReader({});

/**
 * Builds the neutral request; `body` is what the caller read (bounded). Its
 * `path`, `query` and `ip` are read from `request` when first asked for.
 *
 * @example
 * ```ts
 * import { toHttpRequest } from 'baton-auth/fastify';
 * import { authenticate } from 'baton-auth/http';
 * import Fastify from 'fastify';
 *
 * const app = Fastify();
 * app.delete('/account', async (request, reply) => {
 *   // Only a fresh token (from login or reauth) may close the account; else a BatonError, 401.
 *   const claims = authenticate(sessions, toHttpRequest(request), { fresh: true });
 *   await sessions.revokeUser(claims.sub);
 *   return reply.code(204).send();
 * });
 * ```
 */
export function toHttpRequest(
  request: FastifyRequest,
  body?: Uint8Array,
  options: AdapterOptions = {},
): HttpRequest {
  return nodeLazyRequest(request, body, options.clientIp ? requestReader(options) : DEFAULT_READER);
}

/**
 * The auth routes do their work in `onRequest`, before Fastify's content-type
 * handling and body parsing, so bad input gets Baton's answer, as in the
 * other adapters. Callback-style: a request that is not ours (nearly all)
 * goes on at once, without a promise or a URL parse.
 */
function routeHook(http: BatonHttp, reader: RequestReader<FastifyRequest>): BatonHook {
  const { handler } = http;
  const serve = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    let body: Uint8Array | undefined;
    try {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        body = await readNodeBodyLimited(request.raw, handler.bodyLimit);
      }
    } catch (error) {
      sendFastifyResponse(reply, http.errorResponse(error));
      return;
    }
    const response = await handler(nodeLazyRequest(request, body, reader));
    if (response === undefined) reply.callNotFound();
    else sendFastifyResponse(reply, response);
  };
  // A hook that answered stops the chain by not calling `done` (Fastify's rule).
  return (request, reply, done) => {
    const target = request.raw.url ?? '/';
    const refused = http.refusedTarget(target);
    if (refused !== undefined) {
      sendFastifyResponse(reply, refused);
    } else if (!handler.handles(normalTargetPath(target), request.method)) {
      // Not ours: the request goes on to the app's routes (or its 404).
      done();
    } else {
      serve(request, reply).catch(done);
    }
  };
}

function guardHook(
  http: BatonHttp,
  guardOptions: GuardOptions,
  reader: RequestReader<FastifyRequest>,
): BatonHook {
  const guard = http.guard(guardOptions);
  /** Whether the request goes on to the route; false when the guard answered it. */
  const apply = (outcome: GuardOutcome, request: FastifyRequest, reply: FastifyReply): boolean => {
    if (!outcome.ok) {
      sendFastifyResponse(reply, outcome.response);
      return false;
    }
    request.authOrNull = outcome.claims;
    if (outcome.cookies.length > 0) {
      reply.header('set-cookie', outcome.cookies);
      // Also on the raw response: a hijacked reply writes it directly, and a normal
      // send passes Fastify's headers to writeHead, which take precedence (no duplicate).
      const earlier = reply.raw.getHeader('set-cookie');
      const list = earlier === undefined ? [] : Array.isArray(earlier) ? earlier : [String(earlier)];
      reply.raw.setHeader('set-cookie', [...list, ...outcome.cookies]);
    }
    return true;
  };
  // A callback hook that answered stops the chain by not calling `done` (Fastify's rule).
  return (request, reply, done) => {
    const outcome = guard(nodeLazyRequest(request, undefined, reader));
    // Only implicit refresh waits; every other request goes on at once, without a promise.
    if (outcome instanceof Promise) {
      outcome
        .then((settled) => apply(settled, request, reply))
        .then((goOn) => {
          if (goOn) done();
        }, done);
    } else if (apply(outcome, request, reply)) {
      done();
    }
  };
}

const plugin: FastifyPluginAsync<FastifyBatonOptions> = async (fastify, options) => {
  // Fastify's own register options are not ours to validate.
  const {
    manager,
    clientIp,
    logLevel: _l,
    logSerializers: _s,
    ...httpOptions
  } = options as FastifyBatonOptions & {
    logLevel?: unknown;
    logSerializers?: unknown;
  };
  const reader = clientIp ? requestReader({ clientIp }) : DEFAULT_READER;
  const http = createBatonHttp(manager, httpOptions);
  const requireAuth = (o: AuthorizeOptions = {}) => guardHook(http, o, reader);

  fastify.decorateRequest('authOrNull', null);
  fastify.decorateRequest('auth', {
    getter(this: FastifyRequest): AccessClaims {
      if (this.authOrNull === null) throw new BatonError('missing_token', 'An access token is required');
      return this.authOrNull;
    },
  });
  fastify.decorate('baton', {
    requireAuth,
    optionalAuth: () => guardHook(http, { optional: true }, reader),
    requireFresh: () => requireAuth({ fresh: true }),
    requireRoles: (...roles: string[]) => requireAuth({ roles }),
    requireScopes: (...scopes: string[]) => requireAuth({ scopes }),
    errorHandler: (error: unknown, _request: FastifyRequest, reply: FastifyReply) =>
      sendFastifyResponse(reply, http.errorResponse(error)),
  } satisfies FastifyBaton);

  // On every request, not only on the auth routes: Fastify would send a method it does not
  // route (TRACE, PROPFIND) to the 404 handler, and an absolute-form or dot-segment target
  // elsewhere than Express and Hono do. The hook runs before routing's effects, for 404s too.
  fastify.addHook('onRequest', routeHook(http, reader));
  for (const url of http.handler.paths) {
    fastify.route({
      method: METHODS,
      url,
      exposeHeadRoute: false,
      handler: (_request, reply) => reply.callNotFound(),
    });
  }
};

/**
 * `app.register(batonPlugin, { manager, ...options })`: mounts the auth
 * routes, decorates `request.auth` and `app.baton`. Options are validated at
 * registration (`BatonError('invalid_options')` from `app.ready()`).
 * The complete app: examples/fastify/server.ts.
 *
 * @example
 * ```ts
 * import { batonPlugin } from 'baton-auth/fastify';
 * import Fastify from 'fastify';
 *
 * const app = Fastify();
 * await app.register(batonPlugin, { manager: sessions, cookies: true });
 * app.setErrorHandler(app.baton.errorHandler); // Baton's JSON errors
 * app.get('/api/me', { onRequest: app.baton.requireAuth() }, async (request) => ({ user: request.auth.sub }));
 * ```
 */
export const batonPlugin: FastifyPluginAsync<FastifyBatonOptions> = Object.assign(plugin, {
  // What fastify-plugin would set, without the dependency: share the
  // decorations with the parent scope and let Fastify check the version.
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'baton',
  [Symbol.for('plugin-meta')]: { fastify: '5.x', name: 'baton' },
});
/**
 * The plugin under the name the other adapters use for their routes.
 *
 * @example
 * ```ts
 * import { batonRoutes } from 'baton-auth/fastify';
 * import Fastify from 'fastify';
 *
 * const app = Fastify();
 * await app.register(batonRoutes, { manager: sessions, prefix: '/api/auth' }); // POST /api/auth/login, ...
 * ```
 */
export const batonRoutes = batonPlugin;
export default batonPlugin;
