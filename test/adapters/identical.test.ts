/**
 * The same requests against every target give the same answers: status,
 * headers, cookies (attributes included), WWW-Authenticate and body, with
 * only random values (tokens, ids, CSRF values) masked. Where the contract
 * suite checks each target against the rules, this checks them against each
 * other, so a difference the rules do not mention still shows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  basic,
  COOKIE_MODE,
  call,
  MODES,
  type Mode,
  merge,
  type Reply,
  type RequestOptions,
  type Tokens,
} from './client.ts';
import { rawRequest } from './raw.ts';
import { IMPLICIT_REFRESH_WITHIN, type Running, TARGETS } from './targets.ts';

/** Differ by run or by framework plumbing, not by behaviour. */
const IGNORED_HEADERS = new Set(['date', 'keep-alive', 'content-length', 'transfer-encoding', 'etag']);
const RANDOM_KEYS = new Set([
  'access_token',
  'refresh_token',
  'session_id',
  'id',
  'jti',
  'sid',
  'csrf',
  'csrf_token',
  'kid',
  'x',
]);

function maskJson(value: unknown, key = ''): unknown {
  if (RANDOM_KEYS.has(key) && typeof value === 'string') return '<random>';
  if (Array.isArray(value)) return value.map((v) => maskJson(v));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskJson(v, k)]));
  }
  return value;
}

function normalise(reply: Reply): Record<string, unknown> {
  const baton = reply.headers.get('x-content-type-options') === 'nosniff';
  const headers: Record<string, string> = {};
  reply.headers.forEach((value, name) => {
    if (IGNORED_HEADERS.has(name) || name === 'set-cookie') return;
    // The app's own routes answer in their framework's JSON content type; Baton's answers are exact.
    headers[name] = name === 'content-type' && !baton ? (value.split(';')[0] ?? '') : value;
  });
  const cookies = reply.headers
    .getSetCookie()
    .map((line) => line.replace(/^([^=]+)=[^;]+;/, '$1=<value>;'))
    .sort();
  let body: unknown = reply.text;
  if (reply.text !== '') body = maskJson(JSON.parse(reply.text));
  return { status: reply.status, headers, cookies, body };
}

type Step = [label: string, run: () => Promise<Reply>];

/** A raw-socket answer in the shape `normalise` takes. */
async function raw(
  h: Running,
  method: string,
  target: (host: string) => string,
  json?: unknown,
): Promise<Reply> {
  const body = json === undefined ? '' : JSON.stringify(json);
  const reply = await rawRequest(
    h.url,
    method,
    target(new URL(h.url).host),
    json === undefined ? {} : { 'content-type': 'application/json' },
    body,
  );
  const headers = new Headers();
  for (const [name, value] of Object.entries(reply.headers)) {
    if (name !== 'set-cookie' && name !== 'connection') headers.set(name, value);
  }
  let parsed: Record<string, unknown> = {};
  if (reply.body !== '') parsed = JSON.parse(reply.body) as Record<string, unknown>;
  return { status: reply.status, headers, text: reply.body, json: parsed };
}

/**
 * Request targets and methods where frameworks disagree on their own: Baton
 * decides (README "Bad input"), so every target answers the same. (Not a
 * backslash: @hono/node-server answers that 400 itself, before any app.)
 */
function rawSteps(h: Running): Step[] {
  const dude = { username: 'thedude', password: 'abides' };
  return [
    ['TRACE on an auth route: 405 with Allow', () => raw(h, 'TRACE', () => '/auth/login')],
    ['PROPFIND on an auth route: 405 with Allow', () => raw(h, 'PROPFIND', () => '/auth/me')],
    ['TRACE elsewhere: 404', () => raw(h, 'TRACE', () => '/api/protected')],
    ['PROPFIND elsewhere: 404', () => raw(h, 'PROPFIND', () => '/nowhere')],
    ['dot segments into an auth route: 400', () => raw(h, 'POST', () => '/x/../auth/login', dude)],
    ['a dot segment: 400', () => raw(h, 'POST', () => '/auth/./login', dude)],
    ['an encoded dot segment: 400', () => raw(h, 'GET', () => '/auth/%2e%2e/api/protected')],
    ['dot segments into an app route: 400', () => raw(h, 'GET', () => '/auth/../api/protected')],
    ['a trailing slash on an auth route: 404', () => raw(h, 'POST', () => '/auth/login/', dude)],
    ['a trailing slash on an app route: 404', () => raw(h, 'GET', () => '/api/protected/')],
    ['an empty segment: 404', () => raw(h, 'GET', () => '/auth//me')],
    ['absolute-form to an auth route', () => raw(h, 'POST', (host) => `http://${host}/auth/login`, dude)],
    ['absolute-form to an app route', () => raw(h, 'GET', (host) => `http://${host}/api/protected`)],
  ];
}

/**
 * The script: the contract's main paths and its bad input, in one pass.
 * Not the app's own body validation (the minimal Fastify app uses a JSON
 * schema, whose message is Fastify's): the contract suite checks its codes.
 */
function script(h: Running, m: Mode): Step[] {
  let t: Tokens;
  const cookieAuth = (tokens: Tokens, extra: RequestOptions = {}) => merge(extra, COOKIE_MODE.auth(tokens));
  const steps: Step[] = [
    [
      'login',
      async () => {
        const reply = await call(h.url, '/auth/login', {
          json: { username: 'walter', password: 'calmerthanyouare' },
          headers: m.loginHeaders,
        });
        t = m.tokens(reply);
        return reply;
      },
    ],
    ['me', () => call(h.url, '/auth/me', { token: t.access_token })],
    ['protected, none', () => call(h.url, '/api/protected')],
    ['protected, garbage', () => call(h.url, '/api/protected', { token: 'garbage' })],
    ['protected, bearer', () => call(h.url, '/api/protected', { token: t.access_token })],
    ['whoami, anonymous', () => call(h.url, '/api/whoami')],
    ['sensitive, bearer', () => call(h.url, '/api/sensitive', { method: 'POST', token: t.access_token })],
    ['sessions', () => call(h.url, '/auth/sessions', { token: t.access_token })],
    ['jwks', () => call(h.url, '/.well-known/jwks.json')],
    [
      'admin, nobody',
      () => call(h.url, '/api/admin/disable-user', { json: { username: 'nobody' }, token: t.access_token }),
    ],
    [
      'token, form',
      () =>
        call(h.url, '/auth/token', {
          form: { grant_type: 'password', username: 'thedude', password: 'abides' },
        }),
    ],
    ['token, bad grant', () => call(h.url, '/auth/token', { form: { grant_type: 'client_credentials' } })],
    [
      'token, bad client',
      () =>
        call(h.url, '/auth/token', {
          form: { grant_type: 'password' },
          headers: { authorization: basic('demo-client', 'x') },
        }),
    ],
    ['revoke, junk', () => call(h.url, '/auth/revoke', { form: { token: 'junk' } })],
    ['introspect, none', () => call(h.url, '/auth/introspect', { form: { token: 'x' } })],
    [
      'introspect, client',
      () =>
        call(h.url, '/auth/introspect', {
          form: { token: t.access_token },
          headers: { authorization: basic('demo-client', 'demo-secret') },
        }),
    ],
    [
      'malformed JSON',
      () => call(h.url, '/auth/login', { body: '{"username":', contentType: 'application/json' }),
    ],
    ['text/plain', () => call(h.url, '/auth/login', { body: '{}', contentType: 'text/plain' })],
    ['junk content type', () => call(h.url, '/auth/login', { body: '{}', contentType: 'nonsense' })],
    [
      'oversized',
      () => call(h.url, '/auth/login', { json: { username: 'x', password: 'y'.repeat(20_000) } }),
    ],
    [
      '__proto__',
      () =>
        call(h.url, '/auth/login', {
          body: '{"__proto__":{"x":1},"username":"a","password":"b"}',
          contentType: 'application/json',
        }),
    ],
    [
      'invalid UTF-8',
      () =>
        call(h.url, '/auth/login', {
          body: new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]),
          contentType: 'application/json',
        }),
    ],
    ['empty body', () => call(h.url, '/auth/login', { method: 'POST' })],
    ['wrong method', () => call(h.url, '/auth/login')],
    ['unknown auth route', () => call(h.url, '/auth/nope')],
    [
      'bad session id',
      () => call(h.url, '/auth/sessions/a%20b', { method: 'DELETE', token: t.access_token }),
    ],
    ['two bearer tokens', () => call(h.url, '/api/protected', { headers: { authorization: 'Bearer a b' } })],
    [
      'huge header',
      () => call(h.url, '/api/protected', { headers: { authorization: `Bearer ${'a'.repeat(9000)}` } }),
    ],
    ['alg none', () => call(h.url, '/api/protected', { token: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.' })],
    ['refresh, number', () => call(h.url, '/auth/refresh', { json: { refresh_token: 42 } })],
    ['refresh, none', () => call(h.url, '/auth/refresh', { method: 'POST' })],
    ...rawSteps(h),
  ];
  if (!m.cookies) {
    return [
      ...steps,
      ['refresh', () => call(h.url, '/auth/refresh', m.refresh(t))],
      ['logout', () => call(h.url, '/auth/logout', { method: 'POST', token: t.access_token })],
    ];
  }
  return [
    ...steps,
    [
      'cookie, safe',
      () => call(h.url, '/api/protected', { headers: { cookie: `__Host-baton_access=${t.access_token}` } }),
    ],
    [
      'cookie, no CSRF',
      () =>
        call(h.url, '/api/sensitive', {
          method: 'POST',
          headers: { cookie: `__Host-baton_access=${t.access_token}` },
        }),
    ],
    ['cookie, CSRF', () => call(h.url, '/api/sensitive', cookieAuth(t, { method: 'POST' }))],
    [
      'cookie refresh',
      async () => {
        const reply = await call(h.url, '/auth/refresh', COOKIE_MODE.refresh(t));
        t = COOKIE_MODE.tokens(reply, t);
        return reply;
      },
    ],
    [
      'implicit refresh',
      async () => {
        h.clock.advance(60 - IMPLICIT_REFRESH_WITHIN + 1);
        return call(h.url, '/api/protected', cookieAuth(t));
      },
    ],
    ['implicit refresh, stream', () => call(h.url, '/api/stream', cookieAuth(t))],
    ['implicit refresh, me', () => call(h.url, '/auth/me', cookieAuth(t))],
    ['reauth', () => call(h.url, '/auth/reauth', cookieAuth(t, { json: { password: 'calmerthanyouare' } }))],
    ['logout', () => call(h.url, '/auth/logout', COOKIE_MODE.refresh(t))],
  ];
}

for (const mode of MODES) {
  describe(`every target answers alike (${mode.name} mode)`, () => {
    it('same status, headers, cookies and bodies for the same requests', async () => {
      const transcripts = new Map<string, Record<string, unknown>[]>();
      for (const target of Object.values(TARGETS)) {
        const h = await target.start({ cookies: mode.cookies });
        try {
          const transcript: Record<string, unknown>[] = [];
          for (const [label, run] of script(h, mode))
            transcript.push({ step: label, ...normalise(await run()) });
          transcripts.set(target.name, transcript);
          assert.deepEqual(h.unexpected, []);
        } finally {
          await h.close();
        }
      }
      const [[referenceName, reference] = ['', []], ...others] = [...transcripts];
      for (const [name, transcript] of others) {
        for (const [i, step] of reference.entries()) {
          assert.deepEqual(
            transcript[i],
            step,
            `${name} differs from ${referenceName} at "${String(step.step)}"`,
          );
        }
      }
    });
  });
}
