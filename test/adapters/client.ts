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
 * How a client carries its session. Header mode: Bearer header and JSON
 * body, as an API client does. Cookie mode: what a browser sends (the
 * cookies the server set, and the CSRF header echoing the CSRF cookie).
 */
export interface Mode {
  name: 'header' | 'cookie';
  cookies: boolean;
  /** Authenticates a request as this session's access token. */
  auth(t: Pick<Tokens, 'access_token' | 'csrf'>): RequestOptions;
  /** A refresh of this session. */
  refresh(t: Pick<Tokens, 'refresh_token' | 'csrf'>): RequestOptions;
  /** A logout with what the client still has when its access token is gone. */
  logoutWithRefresh(t: Pick<Tokens, 'refresh_token' | 'csrf'>): RequestOptions;
  /** The session's tokens after a token response; in cookie mode the cookies must agree with the body. */
  tokens(reply: Reply, previous?: Tokens): Tokens;
}

function csrfOf(t: { csrf?: string | undefined }): string {
  assert.ok(t.csrf, 'cookie mode: a CSRF value');
  return t.csrf;
}

export const HEADER_MODE: Mode = {
  name: 'header',
  cookies: false,
  auth: (t) => ({ token: t.access_token }),
  refresh: (t) => ({ json: { refresh_token: t.refresh_token } }),
  logoutWithRefresh: (t) => ({ json: { refresh_token: t.refresh_token } }),
  tokens(reply) {
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.headers.get('set-cookie'), null, 'header mode sets no cookies');
    return reply.json as Tokens;
  },
};

export const COOKIE_MODE: Mode = {
  name: 'cookie',
  cookies: true,
  auth: (t) => ({
    headers: { cookie: `baton_access=${t.access_token}; baton_csrf=${csrfOf(t)}`, 'x-csrf-token': csrfOf(t) },
  }),
  refresh: (t) => ({
    method: 'POST',
    headers: {
      cookie: `baton_refresh=${t.refresh_token}; baton_csrf=${csrfOf(t)}`,
      'x-csrf-token': csrfOf(t),
    },
  }),
  logoutWithRefresh: (t) => COOKIE_MODE.refresh(t),
  tokens(reply, previous) {
    assert.equal(reply.status, 200, reply.text);
    const set = setCookies(reply);
    const body = reply.json as Tokens;
    assert.equal(cookieValue(set.get('baton_access')), body.access_token);
    if (body.refresh_token !== undefined)
      assert.equal(cookieValue(set.get('baton_refresh')), body.refresh_token);
    const csrf = cookieValue(set.get('baton_csrf'));
    assert.equal(decodeClaims(body.access_token).csrf, csrf, 'the access token carries the CSRF value');
    return { ...previous, ...body, refresh_token: body.refresh_token ?? previous?.refresh_token ?? '', csrf };
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
  return mode.tokens(await call(base, '/auth/login', { json: { username, password }, headers }));
}
