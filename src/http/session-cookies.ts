/**
 * Browser mode: tokens in HttpOnly cookies, plus a readable double-submit
 * CSRF cookie whose value must come back in a header on unsafe requests
 * that authenticate with a cookie.
 */
import { randomBytes } from 'node:crypto';
import { BatonError } from '../core/errors.ts';
import type { TokenPair } from '../sessions/types.ts';
import { parseCookies, type SameSite, serializeCookie } from './cookies.ts';
import type { ExtractedToken, TokenCookieNames } from './extract.ts';
import { secureEqual } from './secure-compare.ts';
import { type HttpRequest, SAFE_METHODS } from './types.ts';

export interface CookieModeOptions {
  /** Default true. Browsers accept Secure cookies from http://localhost. */
  secure?: boolean;
  /** Default `Lax`. */
  sameSite?: SameSite;
  domain?: string;
  /** Cookie names. Defaults `baton_access`, `baton_refresh`, `baton_csrf`. */
  names?: { access?: string; refresh?: string; csrf?: string };
  /** Header that must echo the CSRF cookie. Default `x-csrf-token`. */
  csrfHeader?: string;
  /** Path of the refresh cookie. Default: the auth prefix, so only auth routes receive it. */
  refreshPath?: string;
}

export interface ResolvedCookieMode {
  names: TokenCookieNames & { csrf: string };
  secure: boolean;
  sameSite: SameSite;
  domain: string | undefined;
  csrfHeader: string;
  refreshPath: string;
}

/** Browsers cap Max-Age at 400 days; a session that never expires gets that. */
const MAX_COOKIE_AGE = 400 * 86400;
const CSRF_TOKEN = /^[A-Za-z0-9_-]{22,128}$/;

export function resolveCookieMode(
  options: CookieModeOptions | boolean | undefined,
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
    csrfHeader: (o.csrfHeader ?? 'x-csrf-token').toLowerCase(),
    refreshPath: o.refreshPath ?? (prefix === '' ? '/' : prefix),
  };
}

/**
 * A token read from a cookie is sent by the browser on its own, so an unsafe
 * request using one must prove it was made by our page: the CSRF cookie
 * (readable only by same-site script) echoed in the header.
 */
export function checkCsrf(
  req: HttpRequest,
  token: ExtractedToken,
  mode: ResolvedCookieMode | undefined,
): void {
  if (token.source !== 'cookie' || mode === undefined || SAFE_METHODS.has(req.method)) return;
  const expected = parseCookies(req.headers.cookie)[mode.names.csrf];
  const given = req.headers[mode.csrfHeader];
  if (!expected || !given || !secureEqual(expected, given)) {
    throw new BatonError(
      'csrf_failed',
      `The ${mode.csrfHeader} header must echo the ${mode.names.csrf} cookie`,
    );
  }
}

export interface TokenCookieOptions {
  /** Login: a new CSRF value, so one planted before login is useless. Refresh and reauth keep it, so open tabs keep working. */
  newCsrf: boolean;
}

/** Set-Cookie values for a token response (no refresh cookie when the pair carries no refresh token, as after reauth). */
export function tokenCookies(
  req: HttpRequest,
  pair: TokenPair,
  mode: ResolvedCookieMode,
  options: TokenCookieOptions,
): string[] {
  const base = { secure: mode.secure, sameSite: mode.sameSite, domain: mode.domain };
  const sessionAge = pair.refreshExpiresIn ?? MAX_COOKIE_AGE;
  const cookies = [
    serializeCookie(mode.names.access, pair.accessToken, {
      ...base,
      httpOnly: true,
      path: '/',
      maxAge: Math.min(pair.expiresIn, sessionAge),
    }),
  ];
  if (pair.refreshToken) {
    cookies.push(
      serializeCookie(mode.names.refresh, pair.refreshToken, {
        ...base,
        httpOnly: true,
        path: mode.refreshPath,
        maxAge: sessionAge,
      }),
    );
  }
  const existing = parseCookies(req.headers.cookie)[mode.names.csrf];
  const csrf =
    !options.newCsrf && existing && CSRF_TOKEN.test(existing)
      ? existing
      : randomBytes(32).toString('base64url');
  cookies.push(
    serializeCookie(mode.names.csrf, csrf, { ...base, httpOnly: false, path: '/', maxAge: sessionAge }),
  );
  return cookies;
}

/** Set-Cookie values that delete all three cookies (same Path and Domain, or browsers keep them). */
export function clearCookies(mode: ResolvedCookieMode): string[] {
  const base = { secure: mode.secure, sameSite: mode.sameSite, domain: mode.domain, maxAge: 0 };
  return [
    serializeCookie(mode.names.access, '', { ...base, httpOnly: true, path: '/' }),
    serializeCookie(mode.names.refresh, '', { ...base, httpOnly: true, path: mode.refreshPath }),
    serializeCookie(mode.names.csrf, '', { ...base, path: '/' }),
  ];
}
