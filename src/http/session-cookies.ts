/**
 * Browser mode: tokens in HttpOnly cookies, plus a readable double-submit
 * CSRF cookie whose value must come back in a header on unsafe requests
 * that authenticate with a cookie. The CSRF value is also a claim of the
 * access token, so a cookie planted by a sibling subdomain (which can set
 * the CSRF cookie but cannot mint a token) does not pass.
 */
import { randomBytes } from 'node:crypto';
import type { Duration } from '../core/duration.ts';
import { BatonError } from '../core/errors.ts';
import type { TokenPair } from '../sessions/types.ts';
import type { AccessClaims } from '../tokens/types.ts';
import { parseCookies, type SameSite, serializeCookie } from './cookies.ts';
import type { ExtractedToken, TokenCookieNames } from './extract.ts';
import { secureEqual } from './secure-compare.ts';
import { type HttpRequest, SAFE_METHODS } from './types.ts';

export interface CookieModeOptions {
  /** Default true. Browsers accept Secure cookies from http://localhost; turn off only for plain-http hosts. */
  secure?: boolean;
  /** Default `Lax`. `None` requires `secure`. */
  sameSite?: SameSite;
  domain?: string;
  /** Cookie names. Defaults `baton_access`, `baton_refresh`, `baton_csrf`. */
  names?: { access?: string; refresh?: string; csrf?: string };
  /** Double-submit CSRF protection for cookie-authenticated unsafe requests. Default true. */
  csrf?: boolean;
  /** Header that must echo the CSRF cookie. Default `X-CSRF-Token`. */
  csrfHeader?: string;
  /** Path of the refresh cookie. Default: the auth prefix, so only auth routes receive it. */
  refreshPath?: string;
  /**
   * When a cookie-authenticated request's access token expires within this
   * window, the response carries a new access cookie. Default off.
   */
  implicitRefresh?: { within: Duration } | false;
}

export interface ResolvedCookieMode {
  names: TokenCookieNames & { csrf: string };
  secure: boolean;
  sameSite: SameSite;
  domain: string | undefined;
  csrf: boolean;
  /** Lower case. */
  csrfHeader: string;
  refreshPath: string;
  /** Seconds; undefined when off. */
  implicitRefreshWithin: number | undefined;
}

/** Browsers cap Max-Age at 400 days; a session that never expires gets that. */
const MAX_COOKIE_AGE = 400 * 86400;
const CSRF_TOKEN = /^[A-Za-z0-9_-]{22,128}$/;

/** Options must already be validated (see options.ts); `within` is in seconds here. */
export function resolveCookieMode(
  options:
    | (Omit<CookieModeOptions, 'implicitRefresh'> & { implicitRefresh?: { within: number } | false })
    | boolean
    | undefined,
  prefix = '/auth',
): ResolvedCookieMode | undefined {
  if (!options) return undefined;
  const o = options === true ? {} : options;
  return {
    names: {
      access: o.names?.access ?? 'baton_access',
      refresh: o.names?.refresh ?? 'baton_refresh',
      csrf: o.names?.csrf ?? 'baton_csrf',
    },
    secure: o.secure ?? true,
    sameSite: o.sameSite ?? 'Lax',
    domain: o.domain,
    csrf: o.csrf ?? true,
    csrfHeader: (o.csrfHeader ?? 'x-csrf-token').toLowerCase(),
    refreshPath: o.refreshPath ?? (prefix === '' ? '/' : prefix),
    implicitRefreshWithin: o.implicitRefresh ? o.implicitRefresh.within : undefined,
  };
}

function csrfFailed(mode: ResolvedCookieMode): BatonError {
  return new BatonError(
    'csrf_failed',
    `The ${mode.csrfHeader} header must echo the ${mode.names.csrf} cookie`,
  );
}

/**
 * A token read from a cookie is sent by the browser on its own, so an unsafe
 * request using one must prove it was made by our page: the CSRF cookie
 * (readable only by same-site script) echoed in the header. Returns the
 * checked value, for `checkCsrfClaim`, or undefined when no check applies.
 */
export function checkCsrf(
  req: HttpRequest,
  token: ExtractedToken,
  mode: ResolvedCookieMode | undefined,
): string | undefined {
  if (token.source !== 'cookie' || mode === undefined || !mode.csrf || SAFE_METHODS.has(req.method)) {
    return undefined;
  }
  const expected = parseCookies(req.headers.cookie)[mode.names.csrf];
  const given = req.headers[mode.csrfHeader];
  if (!expected || !given || !secureEqual(expected, given)) throw csrfFailed(mode);
  return expected;
}

/** The third leg: the access token's own `csrf` claim must be the value that was echoed. */
export function checkCsrfClaim(
  claims: AccessClaims,
  csrf: string | undefined,
  mode: ResolvedCookieMode,
): void {
  if (csrf === undefined) return;
  const claim = claims.csrf;
  if (typeof claim !== 'string' || !secureEqual(claim, csrf)) throw csrfFailed(mode);
}

/**
 * The CSRF value for tokens about to be minted. Login (`fresh`) draws a new
 * one, so a value planted before login is useless; refresh and reauth keep
 * the current one, so open tabs keep working.
 */
export function csrfValue(req: HttpRequest, mode: ResolvedCookieMode, fresh: boolean): string {
  const existing = parseCookies(req.headers.cookie)[mode.names.csrf];
  return !fresh && existing && CSRF_TOKEN.test(existing) ? existing : randomBytes(32).toString('base64url');
}

function base(mode: ResolvedCookieMode) {
  return { secure: mode.secure, sameSite: mode.sameSite, domain: mode.domain };
}

/** The access cookie alone: implicit refresh sends only this. */
export function accessCookie(pair: TokenPair, mode: ResolvedCookieMode): string {
  const sessionAge = pair.refreshExpiresIn ?? MAX_COOKIE_AGE;
  return serializeCookie(mode.names.access, pair.accessToken, {
    ...base(mode),
    httpOnly: true,
    path: '/',
    maxAge: Math.min(pair.expiresIn, sessionAge),
  });
}

/** Set-Cookie values for a token response (no refresh cookie when the pair carries no refresh token, as after reauth). */
export function tokenCookies(pair: TokenPair, mode: ResolvedCookieMode, csrf: string): string[] {
  const sessionAge = pair.refreshExpiresIn ?? MAX_COOKIE_AGE;
  const cookies = [accessCookie(pair, mode)];
  if (pair.refreshToken) {
    cookies.push(
      serializeCookie(mode.names.refresh, pair.refreshToken, {
        ...base(mode),
        httpOnly: true,
        path: mode.refreshPath,
        maxAge: sessionAge,
      }),
    );
  }
  cookies.push(
    serializeCookie(mode.names.csrf, csrf, { ...base(mode), httpOnly: false, path: '/', maxAge: sessionAge }),
  );
  return cookies;
}

/** Set-Cookie values that delete all three cookies (same Path and Domain, or browsers keep them). */
export function clearCookies(mode: ResolvedCookieMode): string[] {
  const gone = { ...base(mode), maxAge: 0 };
  return [
    serializeCookie(mode.names.access, '', { ...gone, httpOnly: true, path: '/' }),
    serializeCookie(mode.names.refresh, '', { ...gone, httpOnly: true, path: mode.refreshPath }),
    serializeCookie(mode.names.csrf, '', { ...gone, path: '/' }),
  ];
}
