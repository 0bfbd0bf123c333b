/**
 * `createAuthHandler`: every route of DESIGN.md's HTTP contract as one
 * framework-neutral function, `(HttpRequest) => HttpResponse | undefined`.
 */
import { BatonError, isBatonError } from '../core/errors.ts';
import type { SessionInfo } from '../sessions/types.ts';
import { authenticateRequest } from './authenticate.ts';
import { DEFAULT_BODY_LIMIT, optionalString, parseBody, requiredString } from './body.ts';
import { type ErrorResponseOptions, errorResponse, jsonResponse, methodNotAllowed } from './errors.ts';
import { DEFAULT_HEADER_LIMIT, extractRefreshToken, extractSessionToken } from './extract.ts';
import { introspectRoute, revokeRoute, tokenRoute } from './oauth.ts';
import { emptyResponse, tokenResponse } from './responses.ts';
import type { ResolvedOptions, RouteContext } from './route-context.ts';
import {
  type CookieModeOptions,
  checkCsrf,
  clearCookies,
  resolveCookieMode,
  tokenCookies,
} from './session-cookies.ts';
import type { AuthManager, HttpRequest, HttpResponse, OAuthClient } from './types.ts';

export interface AuthHandlerOptions {
  /** Mount point of the auth routes. Default `/auth`. */
  prefix?: string;
  /** Where the JWKS is served (outside the prefix). Default `/.well-known/jwks.json`; `false` disables. */
  jwksPath?: string | false;
  /** Browser mode: tokens also in HttpOnly cookies, with double-submit CSRF. Default `false`. */
  cookies?: CookieModeOptions | boolean;
  /** Confidential clients for the token endpoint and introspection. */
  clients?: readonly OAuthClient[];
  /** Role whose access token may introspect. Default `admin`. */
  adminRole?: string;
  /** Bytes. Default 16 KiB. */
  bodyLimit?: number;
  /** Bytes of the Authorization header. Default 8 KiB. */
  headerLimit?: number;
  /** Realm of WWW-Authenticate challenges. Default `baton`. */
  realm?: string;
  /** Receives unexpected (non-Baton) errors; they answer a generic 500. Default: stderr. */
  onUnexpectedError?: (error: unknown) => void;
}

export interface AuthHandler {
  (req: HttpRequest): Promise<HttpResponse | undefined>;
  /** Whether a path is one of ours; adapters read the body only then, and pass other requests on. */
  handles(path: string): boolean;
  /** Adapters read at most `bodyLimit + 1` bytes. */
  readonly bodyLimit: number;
}

type Route = (ctx: RouteContext) => Promise<HttpResponse>;

interface RouteEntry {
  methods: Partial<Record<string, Route>>;
  /** Errors in RFC 6749 shape. */
  oauth?: boolean;
  /** Clears the cookies even when it fails: a client whose session is already gone should lose them. */
  clearsCookies?: boolean;
}

const MAX_USER_AGENT = 512;

function jsonBody(ctx: RouteContext, optional = false) {
  return parseBody(ctx.req, { accept: ['json'], limit: ctx.options.bodyLimit, optional });
}

function access(ctx: RouteContext) {
  return authenticateRequest(ctx.manager, ctx.req, {
    cookieMode: ctx.options.cookieMode,
    headerLimit: ctx.options.headerLimit,
  });
}

const login: Route = async (ctx) => {
  const fields = jsonBody(ctx);
  const username = requiredString(fields, 'username', { maxLength: 256 });
  const password = requiredString(fields, 'password', { maxLength: 1024 });
  const clientId = optionalString(fields, 'client_id', { maxLength: 256 });
  if (clientId !== undefined && ctx.options.clients.some((c) => c.id === clientId)) {
    // A confidential client's id is earned with its secret at /token, not claimed here.
    throw new BatonError('invalid_request', 'This client_id must authenticate at the token endpoint');
  }
  const pair = await ctx.manager.login(username, password, {
    ...ctx.requestContext,
    clientId: clientId ?? null,
  });
  const mode = ctx.options.cookieMode;
  return tokenResponse(pair, mode ? tokenCookies(ctx.req, pair, mode, { newCsrf: true }) : []);
};

const refresh: Route = async (ctx) => {
  const fields = jsonBody(ctx, true);
  const mode = ctx.options.cookieMode;
  const token = extractRefreshToken(ctx.req, fields, mode?.names, ctx.options.headerLimit);
  if (token === undefined) throw new BatonError('missing_token', 'A refresh token is required');
  checkCsrf(ctx.req, token, mode);
  const pair = await ctx.manager.refresh(token.token, ctx.requestContext);
  return tokenResponse(pair, mode ? tokenCookies(ctx.req, pair, mode, { newCsrf: false }) : []);
};

function logoutRoute(all: boolean): Route {
  return async (ctx) => {
    const fields = jsonBody(ctx, true);
    const mode = ctx.options.cookieMode;
    const token = extractSessionToken(ctx.req, fields, mode?.names, ctx.options.headerLimit);
    if (token === undefined) throw new BatonError('missing_token', 'An access or refresh token is required');
    checkCsrf(ctx.req, token, mode);
    const cleared: Record<string, string[]> = mode ? { 'set-cookie': clearCookies(mode) } : {};
    if (!all) {
      await ctx.manager.logout(token.token);
      return emptyResponse(204, cleared);
    }
    const revoked = await ctx.manager.logoutAll(token.token);
    return jsonResponse(200, { revoked }, cleared);
  };
}

const me: Route = async (ctx) => jsonResponse(200, { claims: access(ctx).claims });

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
  const { claims } = access(ctx);
  const sessions = await ctx.manager.listSessions(claims.sub, claims.sid);
  return jsonResponse(200, { sessions: sessions.map(sessionJson) });
};

const deleteSession: Route = async (ctx) => {
  const { claims } = access(ctx);
  await ctx.manager.revokeSession(claims.sub, ctx.param ?? '');
  return emptyResponse(204);
};

const reauth: Route = async (ctx) => {
  const { token } = access(ctx);
  const fields = jsonBody(ctx);
  const password = requiredString(fields, 'password', { maxLength: 1024 });
  const pair = await ctx.manager.reauthenticate(token.token, password, ctx.requestContext);
  const mode = ctx.options.cookieMode;
  return tokenResponse(pair, mode ? tokenCookies(ctx.req, pair, mode, { newCsrf: false }) : []);
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
  logout: { methods: { POST: logoutRoute(false) }, clearsCookies: true },
  'logout-all': { methods: { POST: logoutRoute(true) }, clearsCookies: true },
  me: { methods: { GET: me } },
  sessions: { methods: { GET: listSessions } },
  'sessions/:id': { methods: { DELETE: deleteSession } },
  revoke: { methods: { POST: revokeRoute }, oauth: true },
  introspect: { methods: { POST: introspectRoute }, oauth: true },
  reauth: { methods: { POST: reauth } },
};

const SESSION_ID = /^[A-Za-z0-9_-]{1,128}$/;

function resolveOptions(options: AuthHandlerOptions): ResolvedOptions {
  const prefix = (options.prefix ?? '/auth').replace(/\/+$/, '');
  if (prefix !== '' && !prefix.startsWith('/')) throw new TypeError('prefix must start with "/"');
  return {
    prefix,
    jwksPath: options.jwksPath === false ? undefined : (options.jwksPath ?? '/.well-known/jwks.json'),
    cookieMode: resolveCookieMode(options.cookies, prefix),
    clients: [...(options.clients ?? [])],
    adminRole: options.adminRole ?? 'admin',
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    headerLimit: options.headerLimit ?? DEFAULT_HEADER_LIMIT,
    realm: options.realm ?? 'baton',
  };
}

/** Finds the route of a path: the entry and, for `sessions/:id`, the id. */
function match(options: ResolvedOptions, path: string): { entry: RouteEntry; param?: string } | undefined {
  if (options.jwksPath !== undefined && path === options.jwksPath)
    return { entry: { methods: { GET: jwks } } };
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

/** Builds the handler for every auth route. Returns undefined for paths that are not auth routes. */
export function createAuthHandler(manager: AuthManager, options: AuthHandlerOptions = {}): AuthHandler {
  const resolved = resolveOptions(options);
  const errorOptions: ErrorResponseOptions = { realm: resolved.realm };
  if (options.onUnexpectedError) errorOptions.onUnexpectedError = options.onUnexpectedError;

  const handler = async (req: HttpRequest): Promise<HttpResponse | undefined> => {
    const found = match(resolved, req.path);
    if (found === undefined) return undefined;
    const { entry, param } = found;
    const method = req.method.toUpperCase();
    const route = Object.hasOwn(entry.methods, method) ? entry.methods[method] : undefined;
    if (route === undefined) return methodNotAllowed(Object.keys(entry.methods));
    const userAgent = req.headers['user-agent']?.slice(0, MAX_USER_AGENT) ?? null;
    const ctx: RouteContext = {
      manager,
      options: resolved,
      req: { ...req, method },
      requestContext: { userAgent, ip: req.ip ?? null },
      errorOptions,
      ...(param === undefined ? {} : { param }),
    };
    try {
      return await route(ctx);
    } catch (error) {
      const response = errorResponse(error, { ...errorOptions, oauth: entry.oauth === true });
      if (resolved.cookieMode && entry.clearsCookies && isBatonError(error) && error.status === 401) {
        response.headers['set-cookie'] = clearCookies(resolved.cookieMode);
      }
      return response;
    }
  };
  return Object.assign(handler, {
    handles: (path: string) => match(resolved, path) !== undefined,
    bodyLimit: resolved.bodyLimit,
  });
}
