import { BatonError } from '../core/errors.ts';
import type { AccessClaims } from '../tokens/types.ts';
import { DEFAULT_HEADER_LIMIT, type ExtractedToken, extractAccessToken } from './extract.ts';
import {
  type CookieModeOptions,
  checkCsrf,
  type ResolvedCookieMode,
  resolveCookieMode,
} from './session-cookies.ts';
import type { AuthManager, HttpRequest } from './types.ts';

export interface AuthenticateOptions {
  /** Every one of these roles is required (403 `insufficient_scope` otherwise). */
  roles?: readonly string[];
  /** Every one of these OAuth scopes is required (403 `insufficient_scope` otherwise). */
  scopes?: readonly string[];
  /** Require a fresh token (401 `fresh_token_required` otherwise): one from login or reauth, not refresh. */
  fresh?: boolean;
  /** Accept the access cookie (with CSRF on unsafe methods). Use the same value as the auth handler. */
  cookies?: CookieModeOptions | boolean;
  /** Default 8 KiB. */
  headerLimit?: number;
}

export interface Authenticated {
  claims: AccessClaims;
  token: ExtractedToken;
}

/** Checks authorisation of already-verified claims. */
export function authorize(
  manager: Pick<AuthManager, 'isFresh'>,
  claims: AccessClaims,
  options: Pick<AuthenticateOptions, 'roles' | 'scopes' | 'fresh'>,
): void {
  const roles = Array.isArray(claims.roles) ? claims.roles : [];
  const missingRole = options.roles?.find((role) => !roles.includes(role));
  if (missingRole !== undefined) {
    throw new BatonError('insufficient_scope', `This requires the role "${missingRole}"`);
  }
  const granted = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
  const missingScope = options.scopes?.find((scope) => !granted.includes(scope));
  if (missingScope !== undefined) {
    throw new BatonError('insufficient_scope', `This requires the scope "${missingScope}"`);
  }
  if (options.fresh && !manager.isFresh(claims)) {
    throw new BatonError('fresh_token_required', 'This requires a fresh token; authenticate again at reauth');
  }
}

/** Extraction, CSRF, verification and authorisation, with the token kept for routes that pass it on. */
export function authenticateRequest(
  manager: Pick<AuthManager, 'verifyAccessToken' | 'isFresh'>,
  req: HttpRequest,
  options: Omit<AuthenticateOptions, 'cookies'> & { cookieMode: ResolvedCookieMode | undefined },
): Authenticated {
  const token = extractAccessToken(
    req,
    options.cookieMode?.names,
    options.headerLimit ?? DEFAULT_HEADER_LIMIT,
  );
  if (token === undefined) throw new BatonError('missing_token', 'An access token is required');
  checkCsrf(req, token, options.cookieMode);
  const claims = manager.verifyAccessToken(token.token);
  authorize(manager, claims, options);
  return { claims, token };
}

/**
 * For an app's protected routes, from any adapter: returns the access
 * token's claims or throws a BatonError (`missing_token`, `invalid_token`,
 * `token_expired`, `token_revoked`, `wrong_token_type`, `csrf_failed`,
 * `insufficient_scope`, `fresh_token_required`) for `errorResponse` to map.
 * Synchronous: verification needs no I/O.
 */
export function authenticate(
  manager: Pick<AuthManager, 'verifyAccessToken' | 'isFresh'>,
  req: HttpRequest,
  options: AuthenticateOptions = {},
): AccessClaims {
  return authenticateRequest(manager, req, { ...options, cookieMode: resolveCookieMode(options.cookies) })
    .claims;
}
