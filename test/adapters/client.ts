/**
 * Black-box HTTP helpers for the contract suite: fetch, error-shape asserts,
 * and the two transports a client can use (header mode and cookie mode).
 */
import assert from 'node:assert/strict';

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

export interface RequestOptions {
  method?: string;
  json?: unknown;
  form?: Record<string, string>;
  /** Raw body; give `contentType` with it. */
  body?: string | Uint8Array;
  contentType?: string;
  token?: string;
  headers?: Record<string, string>;
}

export async function call(base: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | Uint8Array | undefined = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  }
  if (options.form !== undefined) {
    body = new URLSearchParams(options.form).toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  }
  if (options.contentType !== undefined) headers['content-type'] = options.contentType;
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const res = await fetch(base + path, {
    method: options.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : Buffer.from(body) }),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  if (text !== '') {
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      assert.fail(`response to ${path} is not JSON (a framework error page?): ${text.slice(0, 200)}`);
    }
  }
  assert.equal(res.headers.get('x-powered-by'), null, 'no X-Powered-By');
  assert.doesNotMatch(
    text,
    /"stack"|\n\s+at |"code":"FST_|"statusCode":|<html/i,
    'no stack trace or framework error',
  );
  return { status: res.status, headers: res.headers, text, json };
}

/** Asserts a Baton error response: status, `{error, message}`, JSON. */
export function assertError(reply: Reply, status: number, error: string): void {
  assert.equal(reply.status, status, `expected ${status} ${error}, got ${reply.status} ${reply.text}`);
  assert.equal(reply.json.error, error, reply.text);
  assert.equal(typeof reply.json.message, 'string', reply.text);
  assert.deepEqual(Object.keys(reply.json).sort(), ['error', 'message'], reply.text);
  assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
}

/** Asserts an RFC 6749 error response: status, exactly `{error, error_description}`. */
export function assertOAuthError(reply: Reply, status: number, error: string): void {
  assert.equal(reply.status, status, `expected ${status} ${error}, got ${reply.status} ${reply.text}`);
  assert.deepEqual(Object.keys(reply.json).sort(), ['error', 'error_description'], reply.text);
  assert.equal(reply.json.error, error, reply.text);
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  session_id: string;
  /** Cookie mode: the CSRF cookie's value. */
  csrf?: string;
  [key: string]: unknown;
}

export function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

/** Set-Cookie lines by cookie name. */
export function setCookies(reply: Reply): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of reply.headers.getSetCookie()) map.set(line.slice(0, line.indexOf('=')), line);
  return map;
}

export function cookieValue(setCookie: string | undefined): string {
  assert.ok(setCookie, 'cookie set');
  return decodeURIComponent(setCookie.slice(setCookie.indexOf('=') + 1, setCookie.indexOf(';')));
}

export function decodeClaims(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** Merges request options, headers included. */
export function merge(...parts: RequestOptions[]): RequestOptions {
  const headers = Object.assign({}, ...parts.map((p) => p.headers ?? {})) as Record<string, string>;
  return Object.assign({}, ...parts, { headers });
}

/**
 * The cookie names of a secure deployment (the default): `__Host-` where the
 * cookie's Path is `/`, `__Secure-` for the refresh cookie (Path=/auth).
 */
export const COOKIE = {
  access: '__Host-baton_access',
  refresh: '__Secure-baton_refresh',
  csrf: '__Host-baton_csrf',
} as const;

/** The Cookie header a browser would send with these cookies, in this order. */
export function cookieHeader(parts: Record<string, string>): string {
  return Object.entries(parts)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');
}

/** What a login asks for to get its tokens as cookies. */
export const COOKIE_TRANSFER = { 'baton-transfer': 'cookie' } as const;

/** The keys of a cookie-transfer token response: no token (page script must not read them). */
export const COOKIE_BODY_KEYS = [
  'claims',
  'csrf_token',
  'expires_in',
  'refresh_expires_in',
  'session_id',
  'token_type',
];

/**
 * How a client carries its session. Header mode: Bearer header and JSON
 * body, as an API client does. Cookie mode: what a browser sends (the
 * cookies the server set, and the CSRF header echoing the CSRF cookie).
 */
export interface Mode {
  name: 'header' | 'cookie';
  cookies: boolean;
  /** What a login of this mode sends (cookie mode: `Baton-Transfer: cookie`). */
  loginHeaders: Record<string, string>;
  /** Authenticates a request as this session's access token. */
  auth(t: Pick<Tokens, 'access_token' | 'csrf'>): RequestOptions;
  /** A refresh of this session. */
  refresh(t: Pick<Tokens, 'refresh_token' | 'csrf'>): RequestOptions;
  /** A logout with what the client still has when its access token is gone. */
  logoutWithRefresh(t: Pick<Tokens, 'refresh_token' | 'csrf'>): RequestOptions;
  /** The session's tokens after a token response: from the body (header mode) or the cookies only (cookie mode). */
  tokens(reply: Reply, previous?: Tokens): Tokens;
}

function csrfOf(t: { csrf?: string | undefined }): string {
  assert.ok(t.csrf, 'cookie mode: a CSRF value');
  return t.csrf;
}

export const HEADER_MODE: Mode = {
  name: 'header',
  cookies: false,
  loginHeaders: {},
  auth: (t) => ({ token: t.access_token }),
  refresh: (t) => ({ json: { refresh_token: t.refresh_token } }),
  logoutWithRefresh: (t) => ({ json: { refresh_token: t.refresh_token } }),
  tokens(reply) {
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.headers.get('set-cookie'), null, 'body transfer sets no cookies');
    assert.equal(typeof reply.json.access_token, 'string', reply.text);
    return reply.json as Tokens;
  },
};

export const COOKIE_MODE: Mode = {
  name: 'cookie',
  cookies: true,
  loginHeaders: COOKIE_TRANSFER,
  auth: (t) => ({
    headers: {
      cookie: cookieHeader({ [COOKIE.access]: t.access_token, [COOKIE.csrf]: csrfOf(t) }),
      'x-csrf-token': csrfOf(t),
    },
  }),
  refresh: (t) => ({
    method: 'POST',
    headers: {
      cookie: cookieHeader({ [COOKIE.refresh]: t.refresh_token, [COOKIE.csrf]: csrfOf(t) }),
      'x-csrf-token': csrfOf(t),
    },
  }),
  logoutWithRefresh: (t) => COOKIE_MODE.refresh(t),
  tokens(reply, previous) {
    assert.equal(reply.status, 200, reply.text);
    const set = setCookies(reply);
    const body = reply.json;
    assert.equal(body.access_token, undefined, 'cookie transfer: no access token in the body');
    assert.equal(body.refresh_token, undefined, 'cookie transfer: no refresh token in the body');
    const access = cookieValue(set.get(COOKIE.access));
    const refresh = set.has(COOKIE.refresh) ? cookieValue(set.get(COOKIE.refresh)) : previous?.refresh_token;
    const csrf = cookieValue(set.get(COOKIE.csrf));
    assert.equal(body.csrf_token, csrf, 'the body names the CSRF value');
    assert.equal(decodeClaims(access).csrf, csrf, 'the access token carries the CSRF value');
    assert.deepEqual(body.claims, decodeClaims(access), 'the body carries the claims');
    return {
      ...previous,
      ...(body as Partial<Tokens>),
      access_token: access,
      refresh_token: refresh ?? '',
      session_id: String(body.session_id),
      csrf,
    };
  },
};

export const MODES = [HEADER_MODE, COOKIE_MODE] as const;

export async function login(
  base: string,
  mode: Mode,
  username = 'thedude',
  password = 'abides',
  headers: Record<string, string> = {},
): Promise<Tokens> {
  return mode.tokens(
    await call(base, '/auth/login', {
      json: { username, password },
      headers: { ...mode.loginHeaders, ...headers },
    }),
  );
}
