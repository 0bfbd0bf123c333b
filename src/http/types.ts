import type { RequestContext } from '../sessions/types.ts';

/**
 * The neutral request/response shapes the HTTP layer works on. An adapter
 * builds an HttpRequest from its framework's request and writes the
 * HttpResponse back; nothing in `http/` knows which framework that is.
 */

export interface HttpRequest {
  /** Upper-case method, e.g. `POST`. */
  method: string;
  /** Path only, no query string, e.g. `/auth/login`. */
  path: string;
  /** Header names in lower case. Repeated headers joined with `, ` (cookies with `; `). */
  headers: Record<string, string | undefined>;
  query: URLSearchParams;
  /**
   * The raw, unparsed body. Adapters should read at most `bodyLimit + 1`
   * bytes (see `readBodyLimited`), so an oversized body is detected without
   * buffering all of it.
   */
  body?: Uint8Array | string;
  /**
   * A body the framework already parsed (an app route behind express.json()
   * or Fastify's parser). Only the `body` token location reads it.
   */
  parsedBody?: unknown;
  /** The peer address as the adapter sees it (no proxy header is trusted here). */
  ip?: string;
}

export interface HttpResponse {
  status: number;
  /** Header names in lower case; an array means the header is sent once per value (Set-Cookie). */
  headers: Record<string, string | string[]>;
  /** Already serialised. Absent for empty bodies (204, RFC 7009's 200). */
  body?: string;
}

/** Longest user agent kept with a session: the header is the client's to fill. */
const MAX_USER_AGENT = 512;

/** What a session records of the request that made or used it. */
export function requestContext(req: HttpRequest): RequestContext {
  return { userAgent: req.headers['user-agent']?.slice(0, MAX_USER_AGENT) ?? null, ip: req.ip ?? null };
}

/** Methods that never change state and so need no CSRF token. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The manager the HTTP layer serves: any strategy's (sessions/types.ts). */
export type { AuthManager, TokenTypeHint } from '../sessions/types.ts';

/** A confidential OAuth client (token endpoint, revocation, introspection). */
export interface OAuthClient {
  id: string;
  secret: string;
}

/** RFC 9112 3.2.2 absolute-form: `http://host/path?query`, which a server must accept like `/path?query`. */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/** The origin-form of a request target: an absolute-form target without its scheme and authority. */
export function originForm(target: string): string {
  const authority = ABSOLUTE_FORM.exec(target);
  if (authority === null) return target;
  const rest = target.slice(authority[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/**
 * Path and query of a raw request target (`/auth/login?x=1`, or its
 * absolute-form), the way a fetch-based framework sees them (dot segments
 * resolved, percent-encoding kept), so every adapter routes the same paths
 * alike. A target that this rewrites is refused before routing anyway (see
 * `isNormalTarget`).
 *
 * @example
 * ```ts
 * import { parseRequestTarget } from 'baton-auth/http';
 *
 * const { path, query } = parseRequestTarget('/reports/q3?format=csv');
 * path; // '/reports/q3'
 * query.get('format'); // 'csv'
 * parseRequestTarget('http://api.example.com/auth/login').path; // '/auth/login' (absolute-form)
 * ```
 */
export function parseRequestTarget(target: string): { path: string; query: URLSearchParams } {
  const origin = originForm(target);
  try {
    const url = new URL(`http://localhost${origin.startsWith('/') ? origin : `/${origin}`}`);
    return { path: url.pathname, query: url.searchParams };
  } catch {
    return { path: '/', query: new URLSearchParams() };
  }
}

/**
 * Whether a raw request target is already in the form a URL parser gives it:
 * origin-form (or absolute-form) with no dot segments (`/x/../auth/login`,
 * `%2e` included), no backslashes, nothing a parser would percent-encode.
 * Frameworks disagree on such targets (some resolve them, some route them as
 * written), so Baton refuses them on every adapter instead of picking one.
 */
export function isNormalTarget(target: string): boolean {
  const origin = originForm(target);
  if (!origin.startsWith('/')) return false;
  const end = origin.search(/[?#]/);
  const path = end < 0 ? origin : origin.slice(0, end);
  // Nearly every path: characters a URL parser keeps as they are, and no dot segment.
  if (PLAIN_PATH.test(path) && !DOT_SEGMENT.test(path)) return true;
  return parseRequestTarget(path).path === path;
}

const PLAIN_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;
