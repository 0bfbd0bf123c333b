/** Cookie parsing and serialisation (RFC 6265), without a dependency. */

export type SameSite = 'Strict' | 'Lax' | 'None';

export interface SetCookieOptions {
  /** Seconds; 0 deletes the cookie. */
  maxAge?: number;
  path?: string;
  domain?: string;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: SameSite;
}

const MAX_COOKIES = 100;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 6265 cookie-octet: printable ASCII without space, `"`, `,`, `;` and `\`. */
const COOKIE_VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;

const ATTRIBUTE = /^[\x20-\x3A\x3C-\x7E]+$/;

/**
 * Parses a Cookie header into a null-prototype record. Junk pairs are
 * skipped rather than failing the request; when a name repeats, the first
 * wins (browsers send the most specific path first).
 *
 * @example
 * ```ts
 * import { parseCookies } from 'baton-auth/http';
 *
 * parseCookies('theme=dark; lang="en%2DGB"; theme=light'); // { theme: 'dark', lang: 'en-GB' }
 * parseCookies(undefined); // {}
 * ```
 */
export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = Object.create(null);
  if (!header) return cookies;
  let count = 0;
  for (const pair of header.split(';')) {
    if (++count > MAX_COOKIES) break;
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    if (!TOKEN.test(name) || name in cookies) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      cookies[name] = decodeURIComponent(value);
    } catch {
      cookies[name] = value;
    }
  }
  return cookies;
}

/**
 * Builds one Set-Cookie value. Throws on a name or value that would break the header.
 *
 * @example
 * ```ts
 * import { serializeCookie } from 'baton-auth/http';
 *
 * serializeCookie('theme', 'dark', { maxAge: 86400, secure: true, sameSite: 'Lax' });
 * // 'theme=dark; Max-Age=86400; Path=/; Secure; SameSite=Lax'
 * serializeCookie('theme', '', { maxAge: 0 }); // deletes it
 * // 'theme=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/'
 * ```
 */
export function serializeCookie(name: string, value: string, options: SetCookieOptions = {}): string {
  if (!TOKEN.test(name)) throw new TypeError(`invalid cookie name ${JSON.stringify(name)}`);
  const encoded = encodeURIComponent(value);
  if (!COOKIE_VALUE.test(encoded)) throw new TypeError(`invalid cookie value for ${name}`);
  const parts = [`${name}=${encoded}`];
  if (options.maxAge !== undefined) parts.push(`Max-Age=${Math.max(0, Math.floor(options.maxAge))}`);
  if (options.maxAge === 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  if (options.domain) parts.push(`Domain=${attribute(options.domain)}`);
  parts.push(`Path=${attribute(options.path ?? '/')}`);
  if (options.httpOnly) parts.push('HttpOnly');
  if (options.secure) parts.push('Secure');
  if (options.sameSite) parts.push(`SameSite=${options.sameSite}`);
  return parts.join('; ');
}

/** Domain and Path come from configuration, but a `;` in them would inject attributes. */
function attribute(value: string): string {
  if (!ATTRIBUTE.test(value)) throw new TypeError(`invalid cookie attribute ${JSON.stringify(value)}`);
  return value;
}
