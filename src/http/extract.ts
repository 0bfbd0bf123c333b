import { BatonError, type ErrorCode } from '../core/errors.ts';
import type { Fields } from './body.ts';
import { parseCookies } from './cookies.ts';
import type { HttpRequest } from './types.ts';

/** Default limit on the Authorization header; a JWT of ours is well under 2 KiB. */
export const DEFAULT_HEADER_LIMIT = 8 * 1024;

/** RFC 6750 §2.1 b64token. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
/** The same, matched from `lastIndex` to the end: checks a header's token without slicing it out first. */
const B64TOKEN_FROM = /[A-Za-z0-9\-._~+/]+=*$/y;
/** An auth scheme (RFC 9110 token): no whitespace in it, which the fast path in `headerToken` relies on. */
const SCHEME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MAX_TOKEN_LENGTH = 8 * 1024;

export type TokenSource = 'body' | 'header' | 'cookie' | 'query';

/** Where access tokens are looked for (flask-jwt-extended's `JWT_TOKEN_LOCATION`). */
export type TokenLocation = 'header' | 'cookie' | 'body' | 'query';

export interface ExtractedToken {
  token: string;
  source: TokenSource;
  /** `DPoP` for a token of `Authorization: DPoP <token>` (RFC 9449 section 7.1). */
  scheme?: 'DPoP';
  /** Which cookie, when `source` is `cookie`. */
  cookie?: 'access' | 'refresh';
}

/** Cookie names; `undefined` means header-only mode, in which cookies are ignored. */
export interface TokenCookieNames {
  access: string;
  refresh: string;
}

/** How access tokens are found, as flask-jwt-extended configures it. */
export interface TokenLookupOptions {
  /**
   * Where to look, in this order; the first token found is used. Default
   * `['header', 'cookie']` (the cookie only in cookie mode). `query` is off
   * unless listed: URLs end up in logs and Referer headers.
   */
  locations?: readonly TokenLocation[];
  /** Default `Authorization`. */
  headerName?: string;
  /** Default `Bearer`; `''` means the header carries the bare token. */
  headerScheme?: string;
  /** JSON body field of the access token. Default `access_token`. */
  bodyKey?: string;
  /** Query parameter. Default `jwt`. */
  queryParam?: string;
}

export interface ResolvedTokenLookup {
  locations: readonly TokenLocation[];
  /** Lower case. */
  headerName: string;
  headerScheme: string;
  bodyKey: string;
  queryParam: string;
}

export const DEFAULT_TOKEN_LOOKUP: ResolvedTokenLookup = Object.freeze({
  locations: Object.freeze(['header', 'cookie'] as const),
  headerName: 'authorization',
  headerScheme: 'Bearer',
  bodyKey: 'access_token',
  queryParam: 'jwt',
});

export function resolveTokenLookup(options: TokenLookupOptions = {}): ResolvedTokenLookup {
  return {
    locations: [...(options.locations ?? DEFAULT_TOKEN_LOOKUP.locations)],
    headerName: (options.headerName ?? 'authorization').toLowerCase(),
    headerScheme: options.headerScheme ?? 'Bearer',
    bodyKey: options.bodyKey ?? 'access_token',
    queryParam: options.queryParam ?? 'jwt',
  };
}

function headerValue(req: Pick<HttpRequest, 'headers'>, name: string, limit: number): string | undefined {
  const header = req.headers[name];
  if (header === undefined || header === '') return undefined;
  if (header.length > limit) {
    throw new BatonError('malformed_authorization', `The ${name} header is longer than ${limit} bytes`);
  }
  return header;
}

/** A header's malformed token is `malformed_authorization` (400 with an RFC 6750 challenge); elsewhere `invalid_request`. */
function checkedToken(value: string, where: string, code: ErrorCode = 'invalid_request'): string {
  if (value.length > MAX_TOKEN_LENGTH || !B64TOKEN.test(value)) {
    throw new BatonError(code, `The ${where} must carry exactly one token`);
  }
  return value;
}

/**
 * The token of a `<scheme> <token>` header (scheme case-insensitive),
 * undefined when the header is absent or uses another scheme (Basic is
 * client authentication, not ours to judge here). A malformed value of our
 * scheme is a 400, as RFC 6750 §3.1 says. An empty scheme means the header
 * carries the bare token.
 */
export function headerToken(
  req: Pick<HttpRequest, 'headers'>,
  name = 'authorization',
  scheme = 'Bearer',
  limit = DEFAULT_HEADER_LIMIT,
): string | undefined {
  const raw = headerValue(req, name, limit);
  if (raw === undefined) return undefined;
  // What nearly every request sends: `<scheme> <token>`, in the scheme's own spelling, one space,
  // nothing around. A valid token there is what the general path below would return; anything
  // else (including every refusal) takes that path, so decisions and error codes are its own.
  const start = scheme.length + 1;
  if (
    raw.length - start <= MAX_TOKEN_LENGTH &&
    raw.charCodeAt(scheme.length) === 32 &&
    raw.startsWith(scheme) &&
    (scheme === 'Bearer' || SCHEME.test(scheme))
  ) {
    B64TOKEN_FROM.lastIndex = start;
    if (B64TOKEN_FROM.test(raw)) return raw.slice(start);
  }
  const header = raw.trim();
  if (header === '') return undefined;
  if (scheme === '') return checkedToken(header, `${name} header`, 'malformed_authorization');
  const space = header.indexOf(' ');
  const given = space < 0 ? header : header.slice(0, space);
  if (given.toLowerCase() !== scheme.toLowerCase()) return undefined;
  const token = space < 0 ? '' : header.slice(space + 1).trimStart();
  if (token === '') {
    throw new BatonError('malformed_authorization', `The ${name} header has no ${scheme} token`);
  }
  return checkedToken(token, `${name} header`, 'malformed_authorization');
}

/**
 * The token of `Authorization: Bearer <token>`: undefined without one (or with
 * another scheme), 400 `malformed_authorization` for a malformed one.
 *
 * @example
 * ```ts
 * import { bearerToken, parseRequestTarget } from 'baton-auth/http';
 *
 * const req = { method: 'GET', ...parseRequestTarget('/api/me'), headers: { authorization: `Bearer ${accessToken}` } };
 * bearerToken(req) === accessToken; // true
 * bearerToken({ ...req, headers: { authorization: 'Basic dXNlcjpwYXNz' } }); // undefined: not a bearer token
 * bearerToken({ ...req, headers: { authorization: 'Bearer' } }); // throws 400 malformed_authorization
 * ```
 */
export function bearerToken(req: HttpRequest, limit = DEFAULT_HEADER_LIMIT): string | undefined {
  return headerToken(req, 'authorization', 'Bearer', limit);
}

/** HTTP Basic credentials (RFC 7617, with RFC 6749 §2.3.1 form-encoding), or undefined for other schemes. */
export function basicCredentials(
  req: HttpRequest,
  limit = DEFAULT_HEADER_LIMIT,
): { id: string; secret: string } | 'malformed' | undefined {
  const header = headerValue(req, 'authorization', limit);
  if (header === undefined) return undefined;
  const match = /^basic +([A-Za-z0-9+/]+=*)$/i.exec(header.trim());
  if (!match) return /^basic(\s|$)/i.test(header.trim()) ? 'malformed' : undefined;
  const decoded = Buffer.from(match[1] ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return 'malformed';
  try {
    return {
      id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
      secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
    };
  } catch {
    return 'malformed';
  }
}

/** Junk cookie values are ignored rather than refused: a browser may hold anything under our name. */
function cookieToken(req: HttpRequest, name: string): string | undefined {
  const value = parseCookies(req.headers.cookie)[name];
  if (!value || value.length > MAX_TOKEN_LENGTH || !B64TOKEN.test(value)) return undefined;
  return value;
}

/** A body field holding a token; a present value of the wrong type is a 400, not a silent fall-through. */
function bodyToken(fields: Fields | undefined, key: string): string | undefined {
  const value = fields !== undefined && Object.hasOwn(fields, key) ? fields[key] : undefined;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length === 0) {
    throw new BatonError('invalid_request', `"${key}" must be a non-empty string`);
  }
  if (value.length > MAX_TOKEN_LENGTH) {
    throw new BatonError('invalid_request', `"${key}" must be at most ${MAX_TOKEN_LENGTH} characters`);
  }
  return value;
}

function queryToken(req: HttpRequest, name: string): string | undefined {
  const values = req.query.getAll(name);
  if (values.length === 0) return undefined;
  if (values.length > 1) throw new BatonError('invalid_request', `The query parameter "${name}" is repeated`);
  return checkedToken(values[0] ?? '', `query parameter "${name}"`);
}

/**
 * The access token, from the configured locations in order. `fields` is the
 * parsed body, when the route has one; without it the body is not a location.
 *
 * @example
 * ```ts
 * import { extractAccessToken, parseRequestTarget } from 'baton-auth/http';
 *
 * const req = { method: 'GET', ...parseRequestTarget('/api/me'), headers: { cookie: `__Host-baton_access=${accessToken}` } };
 * extractAccessToken(req); // undefined: without cookie names, only the Authorization header is read
 * extractAccessToken(req, { access: '__Host-baton_access', refresh: '__Secure-baton_refresh' });
 * // { token: accessToken, source: 'cookie', cookie: 'access' }
 * ```
 */
export function extractAccessToken(
  req: HttpRequest,
  cookies?: TokenCookieNames,
  headerLimit = DEFAULT_HEADER_LIMIT,
  lookup: ResolvedTokenLookup = DEFAULT_TOKEN_LOOKUP,
  fields?: Fields,
  dpop = false,
): ExtractedToken | undefined {
  for (const location of lookup.locations) {
    let token: string | undefined;
    if (location === 'header') {
      token = headerToken(req, lookup.headerName, lookup.headerScheme, headerLimit);
      // With DPoP on, `Authorization: DPoP <token>` too (RFC 9449 section 7.1).
      if (token === undefined && dpop && lookup.headerScheme !== '') {
        const bound = headerToken(req, lookup.headerName, 'DPoP', headerLimit);
        if (bound !== undefined) return { token: bound, source: 'header', scheme: 'DPoP' };
      }
    } else if (location === 'cookie') token = cookies ? cookieToken(req, cookies.access) : undefined;
    else if (location === 'body') token = bodyToken(fields, lookup.bodyKey);
    else token = queryToken(req, lookup.queryParam);
    if (token !== undefined) {
      return location === 'cookie'
        ? { token, source: 'cookie', cookie: 'access' }
        : { token, source: location };
    }
  }
  return undefined;
}

/**
 * The refresh token, by the precedence of docs/http-contract.md: body `refresh_token`, then the
 * token header (when `header` is a configured location), then (cookie mode)
 * the refresh cookie. Never the query string: refresh tokens live long.
 *
 * @example
 * ```ts
 * import { extractRefreshToken, parseBody, parseRequestTarget } from 'baton-auth/http';
 *
 * const req = {
 *   method: 'POST',
 *   ...parseRequestTarget('/auth/refresh'),
 *   headers: { 'content-type': 'application/json' },
 *   body: JSON.stringify({ refresh_token: refreshToken }),
 * };
 * extractRefreshToken(req, parseBody(req, { accept: ['json'] })); // { token: refreshToken, source: 'body' }
 * ```
 */
export function extractRefreshToken(
  req: HttpRequest,
  fields: Fields,
  cookies?: TokenCookieNames,
  headerLimit = DEFAULT_HEADER_LIMIT,
  lookup: ResolvedTokenLookup = DEFAULT_TOKEN_LOOKUP,
): ExtractedToken | undefined {
  const body = bodyToken(fields, 'refresh_token');
  if (body !== undefined) return { token: body, source: 'body' };
  if (lookup.locations.includes('header')) {
    const header = headerToken(req, lookup.headerName, lookup.headerScheme, headerLimit);
    if (header !== undefined) return { token: header, source: 'header' };
  }
  const cookie = cookies ? cookieToken(req, cookies.refresh) : undefined;
  return cookie === undefined ? undefined : { token: cookie, source: 'cookie', cookie: 'refresh' };
}

/**
 * Any session token, for logout: body `refresh_token`, the token header, the
 * refresh cookie, then the access cookie. Either kind identifies the session,
 * so a client whose access token expired can still log out.
 */
export function extractSessionToken(
  req: HttpRequest,
  fields: Fields,
  cookies?: TokenCookieNames,
  headerLimit = DEFAULT_HEADER_LIMIT,
  lookup: ResolvedTokenLookup = DEFAULT_TOKEN_LOOKUP,
  dpop = false,
): ExtractedToken | undefined {
  const refresh = extractRefreshToken(req, fields, cookies, headerLimit, lookup);
  if (refresh !== undefined) return refresh;
  if (dpop && lookup.locations.includes('header') && lookup.headerScheme !== '') {
    const bound = headerToken(req, lookup.headerName, 'DPoP', headerLimit);
    if (bound !== undefined) return { token: bound, source: 'header', scheme: 'DPoP' };
  }
  const cookie = cookies ? cookieToken(req, cookies.access) : undefined;
  return cookie === undefined ? undefined : { token: cookie, source: 'cookie', cookie: 'access' };
}
