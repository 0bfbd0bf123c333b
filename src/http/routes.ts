/**
 * `createAuthHandler`: every route of the HTTP contract (docs/http-contract.md) as one
 * framework-neutral function, `(HttpRequest) => HttpResponse | undefined`.
 */
import { BatonError, isBatonError } from '../core/errors.ts';
import { type BatonLogger, defaultLogger, safeLog } from '../core/logger.ts';
import type { SessionInfo } from '../sessions/types.ts';
import {
  type Authenticated,
  authenticateRequest,
  implicitRefreshCookies,
  proveAccess,
  sessionTokenProof,
} from './authenticate.ts';
import { type Fields, optionalString, parseBody, requiredString } from './body.ts';
import { authenticateClient, clientAuthorizer, isConfidential } from './clients.ts';
import { tokenRequestProof } from './dpop.ts';
import { type ErrorResponseOptions, errorResponse, jsonResponse, withDpopNonce } from './errors.ts';
import { extractRefreshToken, extractSessionToken } from './extract.ts';
import { metadataResponse } from './metadata.ts';
import { answerFor, routeForMethod, wrongMethod } from './methods.ts';
import { introspectRoute, revokeRoute, tokenRoute } from './oauth.ts';
import { type BatonHttpOptions, type ResolvedOptions, resolveHttpOptions } from './options.ts';
import { emptyResponse, minting, requestedTransfer } from './responses.ts';
import type { RouteContext } from './route-context.ts';
import { checkCsrf, checkCsrfClaim, clearCookies } from './session-cookies.ts';
import {
  type AuthManager,
  type HttpRequest,
  type HttpResponse,
  type OAuthClient,
  requestContext,
} from './types.ts';

/** Options of `createAuthHandler` (validated: bad ones throw `invalid_options`). */
export type AuthHandlerOptions = BatonHttpOptions;

export interface AuthHandler {
  (req: HttpRequest): Promise<HttpResponse | undefined>;
  /**
   * Whether a request is one of ours; adapters read the body only then, and
   * pass other requests on. OPTIONS is never ours: CORS preflights belong to
   * the app's CORS middleware.
   */
  handles(path: string, method?: string): boolean;
  /** Adapters read at most `bodyLimit + 1` bytes. */
  readonly bodyLimit: number;
  /** Every route path (`:id` for the session id), for frameworks that register routes. */
  readonly paths: readonly string[];
  /** The validated options, shared with the adapters' middleware. */
  readonly options: ResolvedOptions;
}

type Route = (ctx: RouteContext) => Promise<HttpResponse>;

interface RouteEntry {
  methods: Partial<Record<string, Route>>;
  /** Errors in RFC 6749 shape. */
  oauth?: boolean;
}

function jsonBody(ctx: RouteContext, optional = false) {
  return parseBody(ctx.req, { accept: ['json'], limit: ctx.options.bodyLimit, optional });
}

/** The access token of the request, with implicit refresh (its cookie goes out with the response). */
async function access(ctx: RouteContext, fields?: Fields, implicitRefresh = true): Promise<Authenticated> {
  const { cookieMode, lookup, headerLimit } = ctx.options;
  const auth = authenticateRequest(ctx.manager, ctx.req, { cookieMode, lookup, headerLimit }, fields);
  // A DPoP-bound token's proof; its key then binds what the route mints (reauth, implicit refresh).
  ctx.requestContext = await proveAccess(
    ctx.manager,
    ctx.req,
    auth,
    ctx.options.publicUrl,
    ctx.requestContext,
  );
  if (implicitRefresh) {
    ctx.cookies.push(...(await implicitRefreshCookies(ctx.manager, auth, cookieMode, ctx.requestContext)));
  }
  return auth;
}

const login: Route = async (ctx) => {
  const fields = jsonBody(ctx);
  const username = requiredString(fields, 'username', { maxLength: 256 });
  const password = requiredString(fields, 'password', { maxLength: 1024 });
  const clientId = loginClientId(fields, ctx.options.clients);
  const transfer = requestedTransfer(ctx);
  const mint = minting(ctx, transfer);
  const proof = await tokenRequestProof(
    ctx.manager,
    ctx.req,
    ctx.options.publicUrl,
    'login',
    ctx.requestContext,
  );
  refuseBoundCookies(proof, transfer);
  const pair = await ctx.manager.login(username, password, {
    ...mint.context,
    clientId: clientId ?? null,
    ...(proof.binding === undefined ? {} : { dpop: proof.binding }),
  });
  return withDpopNonce(mint.respond(pair), proof.nonce);
};

/**
 * DPoP-bound tokens travel in the body: a protected request's proof carries
 * the hash of its token (`ath`), which page script cannot compute from an
 * HttpOnly cookie.
 */
function refuseBoundCookies(proof: { binding?: unknown }, transfer: 'cookie' | 'body'): void {
  if (proof.binding !== undefined && transfer === 'cookie') {
    throw new BatonError(
      'invalid_request',
      'DPoP-bound tokens are not sent as cookies (a proof needs the token): log in without Baton-Transfer: cookie',
    );
  }
}

/** The `client_id` a login names; a confidential client's id is earned with its secret at /token, not claimed here. */
export function loginClientId(fields: Fields, clients: readonly OAuthClient[]): string | undefined {
  const clientId = optionalString(fields, 'client_id', { maxLength: 256 });
  if (clientId !== undefined && isConfidential(clients, clientId)) {
    throw new BatonError('invalid_request', 'This client_id must authenticate at the token endpoint');
  }
  return clientId;
}

const refresh: Route = async (ctx) => {
  const fields = jsonBody(ctx, true);
  const { cookieMode, headerLimit, lookup } = ctx.options;
  const token = extractRefreshToken(ctx.req, fields, cookieMode?.names, headerLimit, lookup);
  if (token === undefined) throw new BatonError('missing_token', 'A refresh token is required');
  // The refresh token is opaque, so a refresh cookie is checked by double submit alone.
  checkCsrf(ctx.req, token, cookieMode);
  // RFC 6749 section 6, here as at the token endpoint: a confidential client's session needs its secret.
  const client = authenticateClient(ctx.req, fields, ctx.options, true);
  // The answer follows the credential, whatever the request's headers ask for.
  const mint = minting(ctx, token.source === 'cookie' ? 'cookie' : 'body');
  const confidential = client?.authenticated === true;
  const proof = await tokenRequestProof(
    ctx.manager,
    ctx.req,
    ctx.options.publicUrl,
    'refresh',
    ctx.requestContext,
    confidential,
  );
  refuseBoundCookies(proof, token.source === 'cookie' ? 'cookie' : 'body');
  const pair = await ctx.manager.refresh(token.token, {
    ...mint.context,
    ...(confidential ? { expectedClientId: client.id } : {}),
    authorizeClient: clientAuthorizer(ctx.options.clients, client),
    ...(proof.binding === undefined ? {} : { dpop: proof.binding }),
  });
  return withDpopNonce(mint.respond(pair), proof.nonce);
};

function logoutRoute(all: boolean): Route {
  return async (ctx) => {
    const fields = jsonBody(ctx, true);
    const { cookieMode, headerLimit, lookup } = ctx.options;
    const dpop = ctx.manager.dpop !== undefined;
    const token = extractSessionToken(ctx.req, fields, cookieMode?.names, headerLimit, lookup, dpop);
    if (token === undefined) throw new BatonError('missing_token', 'An access or refresh token is required');
    const csrf = checkCsrf(ctx.req, token, cookieMode);
    // Only a logout that came with our cookies, and passed the CSRF check, clears them: a
    // cross-site post (no CSRF header) or a body-transfer client must not lose a browser's session.
    const cleared: Record<string, string[]> =
      cookieMode && token.source === 'cookie' ? { 'set-cookie': clearCookies(cookieMode) } : {};
    try {
      if (cookieMode && token.cookie === 'access') {
        checkCsrfClaim(ctx.manager.verifyAccessToken(token.token), csrf, cookieMode);
      }
      // A DPoP-bound token acts for its session only with a proof by its key (the manager compares).
      const { publicUrl } = ctx.options;
      const proof = await sessionTokenProof(
        ctx.manager,
        ctx.req,
        token,
        publicUrl,
        ctx.requestContext,
        'logout',
      );
      if (!all) {
        await ctx.manager.logout(token.token, proof.context);
        return withDpopNonce(emptyResponse(204, cleared), proof.nonce);
      }
      const revoked = await ctx.manager.logoutAll(token.token, proof.context);
      return withDpopNonce(jsonResponse(200, { revoked }, cleared), proof.nonce);
    } catch (error) {
      // Our own token, for a session already gone: the browser should lose the dead cookies too.
      if (!isBatonError(error) || !SESSION_GONE.has(error.code) || cleared['set-cookie'] === undefined) {
        throw error;
      }
      const response = errorResponse(error, ctx.errorOptions);
      response.headers['set-cookie'] = cleared['set-cookie'];
      return response;
    }
  };
}

/** Failures of an authentic token whose session can no longer be used. */
const SESSION_GONE: ReadonlySet<string> = new Set([
  'token_revoked',
  'token_expired',
  'session_expired',
  'refresh_token_reused',
]);

/** Parsed only where the body is a token location, so a GET's (absent) body is never required. */
function lookupFields(ctx: RouteContext): Fields | undefined {
  return ctx.options.lookup.locations.includes('body') && ctx.req.body !== undefined
    ? jsonBody(ctx, true)
    : undefined;
}

const me: Route = async (ctx) => jsonResponse(200, { claims: (await access(ctx, lookupFields(ctx))).claims });

function sessionJson(session: SessionInfo): Record<string, unknown> {
  return {
    id: session.id,
    client_id: session.clientId,
    created_at: session.createdAt.toISOString(),
    last_used_at: session.lastUsedAt.toISOString(),
    expires_at: session.expiresAt === null ? null : session.expiresAt.toISOString(),
    user_agent: session.userAgent,
    ip: session.ip,
    current: session.current,
  };
}

const listSessions: Route = async (ctx) => {
  const { claims } = await access(ctx, lookupFields(ctx));
  const sessions = await ctx.manager.listSessions(claims.sub, claims.sid);
  return jsonResponse(200, { sessions: sessions.map(sessionJson) });
};

const deleteSession: Route = async (ctx) => {
  const { claims } = await access(ctx, lookupFields(ctx));
  await ctx.manager.revokeSession(claims.sub, ctx.param ?? '', ctx.requestContext);
  return emptyResponse(204);
};

const reauth: Route = async (ctx) => {
  // Without the body location, the token is checked first: no token is a 401 whatever the body.
  const early = lookupFields(ctx);
  // No implicit refresh: reauth's own fresh cookie must not be overwritten by a stale successor.
  const { token } = await access(ctx, early, false);
  const fields = early ?? jsonBody(ctx);
  const password = requiredString(fields, 'password', { maxLength: 1024 });
  const mint = minting(ctx, token.source === 'cookie' ? 'cookie' : 'body');
  // access() checked a bound token's proof and put its key in the request context.
  const context = { ...mint.context, ...(ctx.requestContext.dpop ? { dpop: ctx.requestContext.dpop } : {}) };
  return mint.respond(await ctx.manager.reauthenticate(token.token, password, context));
};

/** Public keys are meant to be cached, briefly, so that key rotation still reaches resource servers. */
const jwks: Route = async (ctx) => ({
  status: 200,
  headers: {
    'content-type': 'application/json',
    'cache-control': 'public, max-age=300',
    'x-content-type-options': 'nosniff',
  },
  body: JSON.stringify(ctx.manager.jwks()),
});

const ROUTES: Record<string, RouteEntry> = {
  login: { methods: { POST: login } },
  refresh: { methods: { POST: refresh } },
  token: { methods: { POST: tokenRoute }, oauth: true },
  logout: { methods: { POST: logoutRoute(false) } },
  'logout-all': { methods: { POST: logoutRoute(true) } },
  me: { methods: { GET: me } },
  sessions: { methods: { GET: listSessions } },
  'sessions/:id': { methods: { DELETE: deleteSession } },
  revoke: { methods: { POST: revokeRoute }, oauth: true },
  introspect: { methods: { POST: introspectRoute }, oauth: true },
  reauth: { methods: { POST: reauth } },
};

const SESSION_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** The routes outside the prefix (JWKS, server metadata), by path. */
type WellKnown = ReadonlyMap<string, RouteEntry>;

/** Finds the route of a path: the entry and, for `sessions/:id`, the id. */
function match(
  options: ResolvedOptions,
  wellKnown: WellKnown,
  path: string,
): { entry: RouteEntry; param?: string } | undefined {
  const outside = wellKnown.get(path);
  if (outside !== undefined) return { entry: outside };
  if (!path.startsWith(`${options.prefix}/`)) return undefined;
  const rest = path.slice(options.prefix.length + 1);
  const entry = ROUTES[rest];
  if (entry !== undefined && Object.hasOwn(ROUTES, rest)) return { entry };
  const slash = rest.indexOf('/');
  if (slash > 0 && rest.slice(0, slash) === 'sessions') {
    const id = rest.slice(slash + 1);
    // Ids are URL-safe; anything else cannot be a session, and is not worth a store lookup.
    return SESSION_ID.test(id) ? { entry: ROUTES['sessions/:id']!, param: id } : undefined;
  }
  return undefined;
}

/**
 * Builds the handler for every auth route. Returns undefined for requests
 * that are not auth routes. Throws `BatonError('invalid_options')` at once
 * for bad options.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createAuthHandler, errorResponse, type HttpRequest, parseRequestTarget, readNodeBodyLimited } from 'baton-auth/http';
 *
 * const auth = createAuthHandler(sessions); // POST /auth/login, /auth/refresh, ..., GET /.well-known/jwks.json
 * createServer(async (req, res) => {
 *   const { path, query } = parseRequestTarget(req.url ?? '/');
 *   if (!auth.handles(path, req.method)) return void res.writeHead(404).end(); // your own routes here
 *   let response;
 *   try {
 *     const body = await readNodeBodyLimited(req, auth.bodyLimit);
 *     // Node's headers are what HttpRequest wants: lower-case names, repeats joined (cookies with '; ').
 *     const headers = req.headers as HttpRequest['headers'];
 *     response = await auth({ method: req.method ?? 'GET', path, query, headers, body, ip: req.socket.remoteAddress });
 *   } catch (error) {
 *     response = errorResponse(error); // the client cut the body short: 400
 *   }
 *   if (response) res.writeHead(response.status, response.headers).end(response.body);
 * }).listen(3000);
 * ```
 */
export function createAuthHandler(manager: AuthManager, options: AuthHandlerOptions = {}): AuthHandler {
  const resolved = resolveHttpOptions(manager, options);
  const errorOptions = errorOptionsFor(manager, resolved);
  const logger = errorOptions.logger ?? defaultLogger;
  const wellKnown = new Map<string, RouteEntry>();
  if (resolved.jwksPath !== undefined) wellKnown.set(resolved.jwksPath, { methods: { GET: jwks } });
  const { publicUrl, metadataPath } = resolved;
  if (metadataPath !== undefined && publicUrl !== undefined) {
    const metadata = metadataResponse(manager, { ...resolved, publicUrl });
    wellKnown.set(metadataPath, { methods: { GET: async () => metadata() } });
  }
  const handles = (path: string, method?: string) =>
    method?.toUpperCase() !== 'OPTIONS' && match(resolved, wellKnown, path) !== undefined;

  const handler = async (req: HttpRequest): Promise<HttpResponse | undefined> => {
    const method = req.method.toUpperCase();
    const found = handles(req.path, method) ? match(resolved, wellKnown, req.path) : undefined;
    if (found === undefined) return undefined;
    const { entry, param } = found;
    const route = routeForMethod(entry.methods, method);
    if (route === undefined) return wrongMethod(entry.methods, entry.oauth === true);
    const ctx: RouteContext = {
      manager,
      options: resolved,
      req: method === req.method ? req : withMethod(req, method),
      requestContext: requestContext(req),
      errorOptions,
      cookies: [],
      ...(param === undefined ? {} : { param }),
    };
    const started = performance.now();
    let response: HttpResponse;
    let code: string | undefined;
    try {
      response = await route(ctx);
      if (ctx.cookies.length > 0) response.headers['set-cookie'] = [...setCookies(response), ...ctx.cookies];
    } catch (error) {
      if (isBatonError(error)) code = error.code;
      response = errorResponse(error, { ...errorOptions, oauth: entry.oauth === true });
    }
    logRequest(logger, method, req.path, response.status, started, code);
    return answerFor(method, response);
  };
  const paths = [...Object.keys(ROUTES).map((route) => `${resolved.prefix}/${route}`), ...wellKnown.keys()];
  return Object.assign(handler, { handles, bodyLimit: resolved.bodyLimit, paths, options: resolved });
}

/** Error mapping as the manager logs: its logger, unless `onUnexpectedError` is given. */
export function errorOptionsFor(manager: AuthManager, resolved: ResolvedOptions): ErrorResponseOptions {
  const errorOptions: ErrorResponseOptions = {
    realm: resolved.realm,
    logger: manager.logger ?? defaultLogger,
  };
  if (resolved.onUnexpectedError) errorOptions.onUnexpectedError = resolved.onUnexpectedError;
  if (manager.dpop !== undefined) errorOptions.dpopAlgorithms = manager.dpop.algorithms;
  return errorOptions;
}

/**
 * One debug line per auth request: method, path, status, milliseconds and
 * the error code. Never the query string, a header or a body: tokens travel there.
 */
export function logRequest(
  logger: BatonLogger,
  method: string,
  path: string,
  status: number,
  started: number,
  code?: string,
): void {
  const ms = Math.round((performance.now() - started) * 10) / 10;
  safeLog(
    logger,
    'debug',
    { method, path, status, ms, ...(code === undefined ? {} : { code }) },
    'baton: request',
  );
}

/**
 * The request with its method in upper case (a fetch-based framework keeps
 * e.g. `patch` as sent). Field by field, not a spread: an adapter's request
 * computes some fields in getters, which a spread does not copy.
 */
function withMethod(req: HttpRequest, method: string): HttpRequest {
  const { path, headers, query, body, parsedBody, ip } = req;
  return { method, path, headers, query, body, parsedBody, ip };
}

function setCookies(response: HttpResponse): string[] {
  const value = response.headers['set-cookie'];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
