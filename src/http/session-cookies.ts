/**
 * Browser mode: tokens in HttpOnly cookies, plus a readable double-submit
 * CSRF cookie whose value must come back in a header on unsafe requests
 * that authenticate with a cookie. The CSRF value is also a claim of the
 * access token, so a cookie planted by a sibling subdomain (which can set
 * the CSRF cookie but cannot mint a token) does not pass. Tokens travel as
 * cookies or in the body, never both (DESIGN.md "Token transfer").
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

/** How a token response carries its tokens: in the JSON body, or as cookies only. */
export type Transfer = 'body' | 'cookie';

/** The request header with which a login asks for cookie transfer. */
export const TRANSFER_HEADER = 'baton-transfer';

/**
 * The claims of an access token minted for cookie transfer. The `csrf` claim
 * is this layer's: it reaches the token as a request-bound claim
 * (`RequestContext.extraClaims`), which wins over a user's custom claim of
 * the same name, so only Baton's own value is ever checked.
 */
export interface CookieModeClaims extends AccessClaims {
  /** The value the CSRF header must echo. */
  csrf?: string;
}

/** The request-bound claims that bind a token about to be minted to `csrf`. */
export function csrfBinding(csrf: string): Pick<CookieModeClaims, 'csrf'> {
  return { csrf };
}

/** The CSRF value a verified token is bound to, if it is bound to one. */
export function boundCsrf(claims: AccessClaims): string | undefined {
  const claim = claims.csrf;
  return typeof claim === 'string' ? claim : undefined;
}

export interface CookieModeOptions {
  /** Default true. Browsers accept Secure cookies from http://localhost; turn off only for plain-http hosts. */
  secure?: boolean;
  /**
   * Name prefixes that browsers enforce (RFC 6265bis): `__Host-` on the access
   * and CSRF cookies (Secure, Path=/, no Domain: no sibling subdomain or
   * plain-http page can set or shadow them), `__Secure-` on the refresh
   * cookie (its Path is the auth prefix) and, with `domain`, on all three.
   * Default: on when `secure` is (browsers accept both from http://localhost).
   */
  prefixes?: boolean;
  /**
   * Transfers this server accepts (DESIGN.md "Token transfer"). Default both:
   * a login chooses with `Baton-Transfer: cookie`, and refresh and reauth
   * answer the way their credential came. `['cookie']`: browsers only.
   */
  transfer?: readonly Transfer[];
  /** Default `Lax`. `None` requires `secure`. */
  sameSite?: SameSite;
  domain?: string;
  /** Cookie names, before the prefixes (see `prefixes`). Defaults `baton_access`, `baton_refresh`, `baton_csrf`. */
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
  /** With their prefixes, as they go on the wire. */
  names: TokenCookieNames & { csrf: string };
  transfer: readonly Transfer[];
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
  const secure = o.secure ?? true;
  const refreshPath = o.refreshPath ?? (prefix === '' ? '/' : prefix);
  const prefixed = o.prefixes ?? secure;
  // `__Host-` needs Secure, Path=/ and no Domain; `__Secure-` needs Secure alone.
  const name = (base: string, path: string) => {
    if (!prefixed || /^__(Host|Secure)-/.test(base)) return base;
    return `${path === '/' && o.domain === undefined ? '__Host-' : '__Secure-'}${base}`;
  };
  return {
    names: {
      access: name(o.names?.access ?? 'baton_access', '/'),
      refresh: name(o.names?.refresh ?? 'baton_refresh', refreshPath),
      csrf: name(o.names?.csrf ?? 'baton_csrf', '/'),
    },
    transfer: [...(o.transfer ?? ['body', 'cookie'])],
    secure,
    sameSite: o.sameSite ?? 'Lax',
    domain: o.domain,
    csrf: o.csrf ?? true,
    csrfHeader: (o.csrfHeader ?? 'x-csrf-token').toLowerCase(),
    refreshPath,
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
  const claim = boundCsrf(claims);
  if (claim === undefined || !secureEqual(claim, csrf)) throw csrfFailed(mode);
}

/**
 * The CSRF value for tokens about to be sent as cookies: a new one for every
 * login, refresh and reauth, never one read from the request, where a
 * sibling subdomain may have planted it. Open tabs share the cookie jar, and
 * the client reads the CSRF cookie at each request, so they follow.
 */
export function newCsrfValue(): string {
  return randomBytes(32).toString('base64url');
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
