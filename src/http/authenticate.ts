import { BatonError, isBatonError } from '../core/errors.ts';
import type { DpopStep, RequestContext } from '../sessions/types.ts';
import type { AccessClaims } from '../tokens/types.ts';
import { DEFAULT_BODY_LIMIT, type Fields, kindOf, parseBody } from './body.ts';
import { accessTokenBinding, checkAccessProof, type TokenRequestProof, tokenRequestProof } from './dpop.ts';
import {
  DEFAULT_HEADER_LIMIT,
  type ExtractedToken,
  extractAccessToken,
  type ResolvedTokenLookup,
  resolveTokenLookup,
  type TokenLookupOptions,
} from './extract.ts';
import {
  accessCookie,
  boundCsrf,
  type CookieModeOptions,
  checkCsrf,
  checkCsrfClaim,
  csrfBinding,
  type ResolvedCookieMode,
  resolveCookieMode,
} from './session-cookies.ts';
import { type AuthManager, type HttpRequest, requestContext } from './types.ts';

export interface AuthorizeOptions {
  /** Every one of these roles is required (403 `insufficient_scope` otherwise). */
  roles?: readonly string[];
  /** Every one of these OAuth scopes is required (403 `insufficient_scope` otherwise). */
  scopes?: readonly string[];
  /** Require a fresh token (401 `fresh_token_required` otherwise): one from login or reauth, not refresh. */
  fresh?: boolean;
}

export interface AuthenticateOptions extends AuthorizeOptions {
  /** Accept the access cookie (with CSRF on unsafe methods). Use the same value as the auth handler. */
  cookies?: Omit<CookieModeOptions, 'implicitRefresh'> | boolean;
  /** Where the access token is looked for. Default: the header, then (cookie mode) the cookie. */
  tokenLookup?: TokenLookupOptions;
  /** Default 8 KiB. */
  headerLimit?: number;
}

export interface Authenticated {
  claims: AccessClaims;
  token: ExtractedToken;
  /**
   * DPoP: the key the token is bound to, whose proof is still to be checked
   * (`proveAccess`, asynchronous: the replay cache is in the store).
   */
  proofKey?: string;
}

/** What `authenticateRequest` needs, resolved once. */
export interface AuthenticationConfig extends AuthorizeOptions {
  cookieMode: ResolvedCookieMode | undefined;
  lookup: ResolvedTokenLookup;
  headerLimit: number;
}

/**
 * Checks authorisation of already-verified claims: throws 403
 * `insufficient_scope` for a missing role or scope, 401 `fresh_token_required`
 * for a token that is not fresh when `fresh` is asked for.
 *
 * @example
 * ```ts
 * import { authorize } from 'baton-auth/http';
 *
 * const claims = sessions.verifyAccessToken(accessToken);
 * // Deleting an account: the admin role, the scope, and a token from a login or reauth, not a refresh.
 * authorize(sessions, claims, { roles: ['admin'], scopes: ['accounts:write'], fresh: true });
 * ```
 */
export function authorize(
  manager: Pick<AuthManager, 'isFresh'>,
  claims: AccessClaims,
  options: AuthorizeOptions,
): void {
  const roles = Array.isArray(claims.roles) ? claims.roles : [];
  const missingRole = options.roles?.find((role) => !roles.includes(role));
  if (missingRole !== undefined) {
    throw new BatonError('insufficient_scope', `This requires the role "${missingRole}"`);
  }
  if (options.scopes !== undefined) {
    const granted = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    const missingScope = options.scopes.find((scope) => !granted.includes(scope));
    if (missingScope !== undefined) {
      throw new BatonError('insufficient_scope', `This requires the scope "${missingScope}"`);
    }
  }
  if (options.fresh && !manager.isFresh(claims)) {
    throw new BatonError('fresh_token_required', 'This requires a fresh token; authenticate again at reauth');
  }
}

/**
 * The body as the `body` token location sees it: what the framework parsed,
 * or else a raw JSON body parsed here. Other content types have no token.
 */
export function bodyFields(req: HttpRequest, limit = DEFAULT_BODY_LIMIT): Fields | undefined {
  const parsed = req.parsedBody;
  if (
    parsed !== null &&
    typeof parsed === 'object' &&
    !Array.isArray(parsed) &&
    !ArrayBuffer.isView(parsed)
  ) {
    return parsed as Fields;
  }
  if (req.body === undefined || kindOf(req.headers['content-type']) !== 'json') return undefined;
  return parseBody(req, { accept: ['json'], limit, optional: true });
}

/**
 * Extraction, CSRF (header == cookie, then == the token's claim), verification
 * and authorisation, with the token kept for routes that pass it on.
 */
export function authenticateRequest(
  manager: Pick<AuthManager, 'verifyAccessToken' | 'isFresh' | 'dpop' | 'dpopMode' | 'dpopRejected'>,
  req: HttpRequest,
  config: AuthenticationConfig,
  fields?: Fields,
): Authenticated {
  const dpop = manager.dpop !== undefined;
  const { cookieMode, headerLimit, lookup } = config;
  const token = extractAccessToken(req, cookieMode?.names, headerLimit, lookup, fields, dpop);
  if (token === undefined) throw new BatonError('missing_token', 'An access token is required');
  const csrf = checkCsrf(req, token, config.cookieMode);
  const claims = manager.verifyAccessToken(token.token);
  if (config.cookieMode) checkCsrfClaim(claims, csrf, config.cookieMode);
  // A token that is not DPoP-bound on a server without DPoP: nothing to look at.
  const proofKey =
    dpop || claims.cnf !== undefined
      ? accessTokenBinding(manager, token, claims, requestContext(req))
      : undefined;
  authorize(manager, claims, config);
  return proofKey === undefined ? { claims, token } : { claims, token, proofKey };
}

/**
 * The DPoP proof of an authenticated request whose token is bound
 * (`proofKey`): checked against the request and the token, then the key is
 * the request's `RequestContext.dpop`. Nothing to do for a Bearer token.
 */
export async function proveAccess(
  manager: Pick<AuthManager, 'dpop' | 'dpopMode' | 'dpopRejected'>,
  req: HttpRequest,
  auth: Authenticated,
  publicUrl: string | undefined,
  context: RequestContext,
  step: DpopStep = 'resource',
): Promise<RequestContext> {
  if (auth.proofKey === undefined) return context;
  const binding = await checkAccessProof(
    manager,
    req,
    publicUrl,
    auth.token.token,
    auth.claims,
    auth.proofKey,
    context,
    step,
  );
  return { ...context, dpop: binding };
}

/** A session token's DPoP proof: the request context to hand the manager, and the nonce to send back, if any. */
export interface SessionTokenProof {
  context: RequestContext;
  nonce?: string;
}

/**
 * The DPoP proof of a request in which a token acts for its session (logout,
 * logout-all, revocation), checked as where that token is used. An access
 * token presented as one (the `Authorization` header, the access cookie): as
 * on a protected request (`ath`, signed by its `cnf.jkt` key; a bound token
 * sent as Bearer refused). A token in the body (logout's `refresh_token`,
 * revocation's `token`), the refresh cookie, or a header token that is no
 * live access token: as at `/auth/refresh` and the token endpoint (no `ath`,
 * the server nonce), the manager then comparing the key with the token's or
 * its session's binding. The manager refuses a bound token whose context has
 * no proof by its key; an unbound token needs none, whatever the mode.
 */
export async function sessionTokenProof(
  manager: Pick<AuthManager, 'verifyAccessToken' | 'dpop' | 'dpopMode' | 'dpopRejected'>,
  req: HttpRequest,
  token: ExtractedToken,
  publicUrl: string | undefined,
  context: RequestContext,
  step: DpopStep,
): Promise<SessionTokenProof> {
  const presentedAsAccess = token.source === 'header' || token.cookie === 'access';
  const claims = presentedAsAccess ? accessClaimsOf(manager, token.token) : undefined;
  if (claims !== undefined) {
    if (claims.cnf === undefined && token.scheme !== 'DPoP') return { context };
    const proofKey = accessTokenBinding(manager, token, claims, context, step);
    const auth: Authenticated = proofKey === undefined ? { claims, token } : { claims, token, proofKey };
    return { context: await proveAccess(manager, req, auth, publicUrl, context, step) };
  }
  const proof: TokenRequestProof = await tokenRequestProof(manager, req, publicUrl, step, context);
  return {
    context: proof.binding === undefined ? context : { ...context, dpop: proof.binding },
    ...(proof.nonce === undefined ? {} : { nonce: proof.nonce }),
  };
}

/** The claims of a valid access token; undefined for anything else (a refresh token, an expired one), which the manager judges. */
function accessClaimsOf(
  manager: Pick<AuthManager, 'verifyAccessToken'>,
  token: string,
): AccessClaims | undefined {
  try {
    return manager.verifyAccessToken(token);
  } catch (error) {
    if (isBatonError(error)) return undefined;
    throw error;
  }
}

/**
 * Failures after which the still-valid token simply keeps working until its
 * own `exp`, with no successor: a store outage, or a session that cannot be
 * renewed any more (expired, or rotated past this token's refresh generation).
 */
const SKIP_REFRESH = new Set(['store_unavailable', 'session_expired']);

/**
 * Implicit refresh (flask-jwt-extended's pattern): whether a cookie token
 * expires within the window, and so gets a successor. Synchronous, so that a
 * guard for which it is false never waits.
 */
export function implicitRefreshDue(
  manager: Pick<AuthManager, 'capabilities' | 'clock'>,
  auth: Authenticated,
  mode: ResolvedCookieMode,
): boolean {
  const within = mode.implicitRefreshWithin;
  if (within === undefined || auth.token.source !== 'cookie') return false;
  if (!manager.capabilities.implicitRefresh) return false;
  return auth.claims.exp - Math.floor(manager.clock.now() / 1000) <= within;
}

/**
 * The successor's access cookie, as a Set-Cookie for the response, once
 * `implicitRefreshDue` said so. Decided before the route runs, so that it
 * works even when the route streams its response and headers go out early.
 */
export async function implicitRefreshCookie(
  manager: Pick<AuthManager, 'reissueAccessToken'>,
  auth: Authenticated,
  mode: ResolvedCookieMode,
  context: RequestContext,
): Promise<string[]> {
  const csrf = boundCsrf(auth.claims);
  try {
    const pair = await manager.reissueAccessToken(auth.token.token, {
      ...context,
      ...(csrf === undefined ? {} : { extraClaims: csrfBinding(csrf) }),
    });
    // At the session's absolute expiry the successor lives no longer: nothing gained by sending it.
    if (pair.claims.exp <= auth.claims.exp) return [];
    return [accessCookie(pair, mode)];
  } catch (error) {
    if (isBatonError(error) && SKIP_REFRESH.has(error.code)) return [];
    throw error;
  }
}

/** Both of the above: the Set-Cookie values implicit refresh adds to the response, if any. */
export async function implicitRefreshCookies(
  manager: Pick<AuthManager, 'reissueAccessToken' | 'capabilities' | 'clock'>,
  auth: Authenticated,
  mode: ResolvedCookieMode | undefined,
  context: RequestContext,
): Promise<string[]> {
  if (mode === undefined || !implicitRefreshDue(manager, auth, mode)) return [];
  return implicitRefreshCookie(manager, auth, mode, context);
}

/**
 * For an app's protected routes, from any adapter: returns the access
 * token's claims or throws a BatonError (`missing_token`, `invalid_token`,
 * `token_expired`, `token_revoked`, `wrong_token_type`, `csrf_failed`,
 * `insufficient_scope`, `fresh_token_required`) for `errorResponse` to map.
 * Synchronous: verification needs no I/O (so no implicit refresh here; the
 * adapters' middleware does that).
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { authenticate, errorResponse, parseRequestTarget } from 'baton-auth/http';
 *
 * createServer((req, res) => {
 *   const { path, query } = parseRequestTarget(req.url ?? '/');
 *   const headers = { authorization: req.headers.authorization };
 *   try {
 *     const claims = authenticate(sessions, { method: req.method ?? 'GET', path, query, headers }, { roles: ['user'] });
 *     res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ user: claims.sub }));
 *   } catch (error) {
 *     const response = errorResponse(error); // 401 with a Bearer challenge, 403 insufficient_scope, ...
 *     res.writeHead(response.status, response.headers).end(response.body);
 *   }
 * }).listen(3000);
 * ```
 */
export function authenticate(
  manager: Pick<AuthManager, 'verifyAccessToken' | 'isFresh' | 'dpop' | 'dpopMode' | 'dpopRejected'>,
  req: HttpRequest,
  options: AuthenticateOptions = {},
): AccessClaims {
  const lookup = resolveTokenLookup(options.tokenLookup);
  const config: AuthenticationConfig = {
    ...options,
    cookieMode: resolveCookieMode(options.cookies),
    lookup,
    headerLimit: options.headerLimit ?? DEFAULT_HEADER_LIMIT,
  };
  const fields = lookup.locations.includes('body') ? bodyFields(req) : undefined;
  const auth = authenticateRequest(manager, req, config, fields);
  if (auth.proofKey !== undefined) {
    // Checking a proof needs the replay cache (I/O): this synchronous check cannot, so it refuses.
    throw new BatonError(
      'invalid_dpop_proof',
      'This token is DPoP-bound: its proof is checked by the guards (createBatonHttp, the adapters), not by authenticate()',
    );
  }
  return auth.claims;
}
