import { BatonError } from '../core/errors.ts';
import type { Fields } from './body.ts';
import { parseCookies } from './cookies.ts';
import type { HttpRequest } from './types.ts';

/** Default limit on the Authorization header; a JWT of ours is well under 2 KiB. */
export const DEFAULT_HEADER_LIMIT = 8 * 1024;

/** RFC 6750 §2.1 b64token. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const BEARER = /^bearer +(\S.*)$/i;
const MAX_TOKEN_LENGTH = 8 * 1024;

export type TokenSource = 'body' | 'header' | 'cookie';

export interface ExtractedToken {
  token: string;
  source: TokenSource;
}

/** Cookie names; `undefined` means header-only mode, in which cookies are ignored. */
export interface TokenCookieNames {
  access: string;
  refresh: string;
}

function authorization(req: HttpRequest, limit: number): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined || header === '') return undefined;
  if (header.length > limit) {
    throw new BatonError('invalid_request', `The Authorization header is longer than ${limit} bytes`);
  }
  return header;
}

/**
 * The token of an `Authorization: Bearer` header (scheme case-insensitive),
 * undefined when there is no header or another scheme (Basic is client
 * authentication, not ours to judge here). A malformed Bearer value is a
 * 400, as RFC 6750 §3.1 says.
 */
export function bearerToken(req: HttpRequest, limit = DEFAULT_HEADER_LIMIT): string | undefined {
  const header = authorization(req, limit);
  if (header === undefined) return undefined;
  const match = BEARER.exec(header.trim());
  if (!match) {
    if (/^bearer\s*$/i.test(header.trim())) {
      throw new BatonError('invalid_request', 'The Authorization header has no Bearer token');
    }
    return undefined;
  }
  const token = match[1] ?? '';
  if (!B64TOKEN.test(token)) {
    throw new BatonError('invalid_request', 'The Authorization header must carry exactly one Bearer token');
  }
  return token;
}

/** HTTP Basic credentials (RFC 7617, with RFC 6749 §2.3.1 form-encoding), or undefined for other schemes. */
export function basicCredentials(
  req: HttpRequest,
  limit = DEFAULT_HEADER_LIMIT,
): { id: string; secret: string } | 'malformed' | undefined {
  const header = authorization(req, limit);
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

function cookieToken(req: HttpRequest, name: string): string | undefined {
  const value = parseCookies(req.headers.cookie)[name];
  if (!value || value.length > MAX_TOKEN_LENGTH || !B64TOKEN.test(value)) return undefined;
  return value;
}

/** The access token: `Authorization: Bearer` first, then (cookie mode) the access cookie. */
export function extractAccessToken(
  req: HttpRequest,
  cookies?: TokenCookieNames,
  headerLimit = DEFAULT_HEADER_LIMIT,
): ExtractedToken | undefined {
  const header = bearerToken(req, headerLimit);
  if (header !== undefined) return { token: header, source: 'header' };
  const cookie = cookies ? cookieToken(req, cookies.access) : undefined;
  return cookie === undefined ? undefined : { token: cookie, source: 'cookie' };
}

/**
 * The refresh token, by DESIGN.md precedence: body `refresh_token`, then
 * `Authorization: Bearer`, then (cookie mode) the refresh cookie. A body
 * value of the wrong type is a 400, not a silent fall-through.
 */
export function extractRefreshToken(
  req: HttpRequest,
  fields: Fields,
  cookies?: TokenCookieNames,
  headerLimit = DEFAULT_HEADER_LIMIT,
): ExtractedToken | undefined {
  const body = Object.hasOwn(fields, 'refresh_token') ? fields.refresh_token : undefined;
  if (body !== undefined && body !== null) {
    if (typeof body !== 'string' || body.length === 0) {
      throw new BatonError('invalid_request', '"refresh_token" must be a non-empty string');
    }
    if (body.length > MAX_TOKEN_LENGTH) {
      throw new BatonError(
        'invalid_request',
        `"refresh_token" must be at most ${MAX_TOKEN_LENGTH} characters`,
      );
    }
    return { token: body, source: 'body' };
  }
  const header = bearerToken(req, headerLimit);
  if (header !== undefined) return { token: header, source: 'header' };
  const cookie = cookies ? cookieToken(req, cookies.refresh) : undefined;
  return cookie === undefined ? undefined : { token: cookie, source: 'cookie' };
}

/**
 * Any session token, for logout: body `refresh_token`, Authorization, the
 * refresh cookie, then the access cookie. Either kind identifies the session,
 * so a client whose access token expired can still log out.
 */
export function extractSessionToken(
  req: HttpRequest,
  fields: Fields,
  cookies?: TokenCookieNames,
  headerLimit = DEFAULT_HEADER_LIMIT,
): ExtractedToken | undefined {
  const refresh = extractRefreshToken(req, fields, cookies, headerLimit);
  if (refresh !== undefined) return refresh;
  const cookie = cookies ? cookieToken(req, cookies.access) : undefined;
  return cookie === undefined ? undefined : { token: cookie, source: 'cookie' };
}
