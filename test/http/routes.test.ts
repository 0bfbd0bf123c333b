/** createAuthHandler and the Hono adapter against a fake manager: routing, mapping, failures. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import {
  type BatonEnv,
  batonErrorHandler,
  batonRoutes,
  createBaton,
  requireAuth,
} from '../../src/adapters/hono.ts';
import type { AuthManager, HttpRequest } from '../../src/http/index.ts';
import { authenticate, createAuthHandler } from '../../src/http/index.ts';
import { LazyHttpRequest } from '../../src/http/lazy-request.ts';
import type { AccessClaims, TokenPair } from '../../src/index.ts';
import { BatonError } from '../../src/index.ts';
import { fakeManager } from '../support/fake-manager.ts';

const claims: AccessClaims = {
  iss: 'i',
  sub: 'u1',
  aud: 'a',
  exp: 2,
  nbf: 0,
  iat: 0,
  jti: 'j',
  sid: 's1',
  client_id: 'c',
  type: 'access',
  fresh: false,
  roles: ['user'],
  scope: 'read write',
};

const pair: TokenPair = {
  accessToken: 'at',
  refreshToken: 's1.secret',
  tokenType: 'Bearer',
  expiresIn: 900,
  refreshExpiresIn: null,
  sessionId: 's1',
  claims,
};

function answering(overrides: Partial<AuthManager> = {}): AuthManager {
  return fakeManager({
    login: async () => pair,
    refresh: async () => pair,
    reauthenticate: async () => ({ ...pair, refreshToken: '' }),
    verifyAccessToken: (token) => {
      if (token !== 'good') throw new BatonError('invalid_token', 'bad token');
      return claims;
    },
    isFresh: (c) => c.fresh === true,
    logout: async () => {},
    logoutAll: async () => 2,
    listSessions: async () => [],
    revokeSession: async () => {},
    revokeToken: async () => {},
    jwks: () => ({ keys: [] }),
    ...overrides,
  });
}

function req(method: string, path: string, init: Partial<HttpRequest> = {}): HttpRequest {
  return { method, path, headers: {}, query: new URLSearchParams(), ...init };
}

const jsonLogin = req('POST', '/auth/login', {
  headers: { 'content-type': 'application/json' },
  body: '{"username":"a","password":"b"}',
});

describe('createAuthHandler', () => {
  it('answers undefined outside its routes, 405 on a wrong method', async () => {
    const handler = createAuthHandler(answering());
    assert.equal(await handler(req('GET', '/api/x')), undefined);
    assert.equal(await handler(req('GET', '/auth/unknown')), undefined);
    assert.equal(await handler(req('GET', '/auth/__proto__')), undefined);
    assert.equal(await handler(req('GET', '/auth/constructor')), undefined);
    assert.equal(handler.handles('/auth/login'), true);
    assert.equal(handler.handles('/auth/sessions/abc'), true);
    assert.equal(handler.handles('/auth/sessions/a%2Fb'), false);
    const res = await handler(req('GET', '/auth/login'));
    assert.equal(res?.status, 405);
    assert.equal(res?.headers.allow, 'POST');
    const head = await handler(req('HEAD', '/auth/login'));
    assert.equal(head?.status, 405, 'HEAD only where GET is');
  });

  it('answers HEAD as GET without the body', async () => {
    const handler = createAuthHandler(answering());
    const get = await handler(req('GET', '/.well-known/jwks.json'));
    const head = await handler(req('HEAD', '/.well-known/jwks.json'));
    assert.equal(get?.status, 200);
    assert.ok(get?.body);
    assert.equal(head?.status, 200);
    assert.equal(head?.body, undefined);
    assert.deepEqual(head?.headers, get?.headers);
    const wrong = await handler(req('POST', '/.well-known/jwks.json'));
    assert.equal(wrong?.headers.allow, 'GET, HEAD');
  });

  it('honours a custom prefix and JWKS path', async () => {
    const handler = createAuthHandler(answering(), { prefix: '/v1/auth/', jwksPath: false });
    assert.equal((await handler({ ...jsonLogin, path: '/v1/auth/login' }))?.status, 200);
    assert.equal(await handler(jsonLogin), undefined);
    assert.equal(await handler(req('GET', '/.well-known/jwks.json')), undefined);
  });

  it('passes IP, user agent and client_id to the manager', async () => {
    let seen: unknown;
    const handler = createAuthHandler(
      answering({
        login: async (_u, _p, context) => {
          seen = context;
          return pair;
        },
      }),
    );
    await handler({
      ...jsonLogin,
      ip: '10.0.0.1',
      headers: { ...jsonLogin.headers, 'user-agent': 'x'.repeat(600) },
      body: '{"username":"a","password":"b","client_id":"app"}',
    });
    assert.deepEqual(seen, { userAgent: 'x'.repeat(512), ip: '10.0.0.1', clientId: 'app' });
  });

  it("upper-casing the method keeps the fields an adapter's request computes on first read", async () => {
    const handler = createAuthHandler(answering(), { tokenLookup: { locations: ['query'] } });
    const reader = {
      target: () => ({ path: '/auth/me', query: new URLSearchParams('jwt=good') }),
      ip: () => '10.0.0.2',
    };
    const me = new LazyHttpRequest(null, reader, { method: 'get', headers: {} });
    const res = await handler(me);
    assert.equal(res?.status, 200, res?.body);
    assert.equal(JSON.parse(res?.body ?? '{}').claims.sub, 'u1');
  });

  it('renders refresh_expires_in null for sessions that never expire', async () => {
    const res = await createAuthHandler(answering())(jsonLogin);
    assert.equal(JSON.parse(res?.body ?? '').refresh_expires_in, null);
  });

  it('a crashing manager is a 500 internal_error without details; a 503 carries Retry-After', async () => {
    const logged: unknown[] = [];
    const crash = createAuthHandler(
      answering({
        login: async () => {
          throw new Error('SQLITE_CORRUPT at /var/lib/secret.db');
        },
      }),
      { onUnexpectedError: (e) => logged.push(e) },
    );
    const res = await crash(jsonLogin);
    assert.equal(res?.status, 500);
    assert.deepEqual(JSON.parse(res?.body ?? ''), {
      error: 'internal_error',
      message: 'Internal server error',
    });
    assert.equal(logged.length, 1);

    const down = createAuthHandler(
      answering({
        refresh: async () => {
          throw new BatonError('store_unavailable', 'store down', { retryAfter: 5 });
        },
      }),
    );
    const r = await down(req('POST', '/auth/refresh', { headers: { authorization: 'Bearer s1.x' } }));
    assert.equal(r?.status, 503);
    assert.equal(r?.headers['retry-after'], '5');
    const t = await down(
      req('POST', '/auth/token', {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=refresh_token&refresh_token=s1.x',
      }),
    );
    assert.equal(t?.status, 503);
    assert.equal(t?.headers['retry-after'], '5');
  });

  const introspect = async (answer: AuthManager['describeToken']) => {
    const handler = createAuthHandler(answering({ describeToken: answer }), {
      clients: [{ id: 'c', secret: 's' }],
    });
    const res = await handler(
      req('POST', '/auth/introspect', {
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from('c:s').toString('base64')}`,
        },
        body: 'token=abc',
      }),
    );
    return JSON.parse(res?.body ?? 'null') as Record<string, unknown>;
  };

  it('introspection of a token that is not active answers exactly {"active": false}', async () => {
    assert.deepEqual(await introspect(async () => null), { active: false });
  });

  it("introspection renders RFC 7662 from the description, without Baton's plumbing claims", async () => {
    const access = await introspect(async () => ({
      tokenType: 'access_token',
      claims: { ...claims, csrf: 'c'.repeat(43), rf_exp: 1 },
    }));
    assert.equal(access.active, true);
    assert.equal(access.token_type, 'access_token');
    assert.equal(access.sub, claims.sub);
    assert.equal('csrf' in access || 'rf_exp' in access, false);
    const refresh = await introspect(async () => ({
      tokenType: 'refresh_token',
      claims: { sub: 'u', sid: 's', client_id: 'c', iss: 'i' },
    }));
    assert.deepEqual(refresh, {
      sub: 'u',
      sid: 's',
      client_id: 'c',
      iss: 'i',
      active: true,
      token_type: 'refresh_token',
    });
  });
});

describe('token transfer: the modes a server accepts', () => {
  const login = (transfer?: string) =>
    req('POST', '/auth/login', {
      headers: { 'content-type': 'application/json', ...(transfer ? { 'baton-transfer': transfer } : {}) },
      body: '{"username":"a","password":"b"}',
    });
  const code = (body: string | undefined) => (JSON.parse(body ?? '{}') as { error?: string }).error;

  it('without cookie mode (BATON_COOKIES=0): the body only; a login asking for cookies is refused', async () => {
    const handler = createAuthHandler(answering());
    const plain = await handler(login());
    assert.equal(plain?.status, 200);
    assert.equal(plain?.headers['set-cookie'], undefined);
    const asked = await handler(login('cookie'));
    assert.equal(asked?.status, 400);
    assert.equal(code(asked?.body), 'invalid_request');
  });

  it("transfer: ['cookie'] refuses body transfer at login and refresh, and answers cookies only", async () => {
    const handler = createAuthHandler(answering(), { cookies: { transfer: ['cookie'] } });
    assert.equal((await handler(login()))?.status, 400);
    assert.equal((await handler(login('body')))?.status, 400);
    const byBody = await handler(
      req('POST', '/auth/refresh', {
        headers: { 'content-type': 'application/json' },
        body: '{"refresh_token":"s1.secret"}',
      }),
    );
    assert.equal(byBody?.status, 400);
    const ok = await handler(login('cookie'));
    assert.equal(ok?.status, 200);
    assert.equal(JSON.parse(ok?.body ?? '{}').access_token, undefined);
    assert.equal(ok?.headers['set-cookie']?.length, 3);
  });

  it("transfer: ['body'] with cookie mode: a login asking for cookies is refused", async () => {
    const handler = createAuthHandler(answering(), { cookies: { transfer: ['body'] } });
    assert.equal((await handler(login()))?.status, 200);
    assert.equal((await handler(login('cookie')))?.status, 400);
  });
});

describe('authenticate', () => {
  const manager = answering();
  const withToken = (method = 'GET') => req(method, '/api', { headers: { authorization: 'Bearer good' } });

  it('returns claims, checks roles, scopes and freshness', () => {
    assert.equal(authenticate(manager, withToken()).sub, 'u1');
    assert.equal(authenticate(manager, withToken(), { roles: ['user'], scopes: ['read'] }).sub, 'u1');
    assert.throws(() => authenticate(manager, withToken(), { roles: ['admin'] }), {
      code: 'insufficient_scope',
    });
    assert.throws(() => authenticate(manager, withToken(), { scopes: ['delete'] }), {
      code: 'insufficient_scope',
    });
    assert.throws(() => authenticate(manager, withToken(), { fresh: true }), {
      code: 'fresh_token_required',
    });
    assert.throws(() => authenticate(manager, req('GET', '/api')), { code: 'missing_token' });
    assert.throws(
      () => authenticate(manager, req('GET', '/api', { headers: { authorization: 'Bearer bad' } })),
      {
        code: 'invalid_token',
      },
    );
  });

  it('cookie tokens only in cookie mode, with CSRF (header == cookie == claim) on unsafe methods', () => {
    const bound = answering({
      verifyAccessToken: (token) => {
        if (token !== 'good') throw new BatonError('invalid_token', 'bad token');
        return { ...claims, csrf: 'c5rf' };
      },
    });
    const cookie = { cookie: '__Host-baton_access=good; __Host-baton_csrf=c5rf' };
    const planted = req('POST', '/api', {
      headers: { cookie: '__Host-baton_access=good; __Host-baton_csrf=other', 'x-csrf-token': 'other' },
    });
    assert.throws(() => authenticate(bound, planted, { cookies: true }), { code: 'csrf_failed' });
    assert.throws(
      () =>
        authenticate(manager, req('POST', '/api', { headers: { ...cookie, 'x-csrf-token': 'c5rf' } }), {
          cookies: true,
        }),
      { code: 'csrf_failed' },
      'a token without the claim is refused',
    );
    assert.equal(
      authenticate(manager, req('POST', '/api', { headers: cookie }), { cookies: { csrf: false } }).sub,
      'u1',
      'csrf: false turns the check off',
    );
    assert.throws(() => authenticate(manager, req('GET', '/api', { headers: cookie })), {
      code: 'missing_token',
    });
    assert.equal(authenticate(manager, req('GET', '/api', { headers: cookie }), { cookies: true }).sub, 'u1');
    assert.throws(() => authenticate(manager, req('POST', '/api', { headers: cookie }), { cookies: true }), {
      code: 'csrf_failed',
    });
    const echoed = req('POST', '/api', { headers: { ...cookie, 'x-csrf-token': 'c5rf' } });
    assert.equal(authenticate(bound, echoed, { cookies: true }).sub, 'u1');
  });
});

describe('Hono adapter', () => {
  function app() {
    const manager = answering();
    const a = new Hono<BatonEnv>();
    a.use('*', batonRoutes(manager));
    a.get('/api/me', requireAuth(manager), (c) => c.json({ sub: c.get('auth').sub }));
    a.post('/api/echo', async (c) => c.json(await c.req.json()));
    a.get('/api/boom', () => {
      throw new BatonError('not_found', 'gone');
    });
    a.onError(batonErrorHandler());
    return a;
  }

  it('serves auth routes and maps the response back', async () => {
    const res = await app().request('/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"username":"a","password":"b"}',
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(((await res.json()) as { access_token: string }).access_token, 'at');
  });

  it('leaves other routes and their bodies alone', async () => {
    const res = await app().request('/api/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"x":1}',
    });
    assert.deepEqual(await res.json(), { x: 1 });
  });

  it('requireAuth sets c.get("auth") or answers the mapped error', async () => {
    const ok = await app().request('/api/me', { headers: { authorization: 'Bearer good' } });
    assert.deepEqual(await ok.json(), { sub: 'u1' });
    const none = await app().request('/api/me');
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="baton"');
    const boom = await app().request('/api/boom');
    assert.equal(boom.status, 404);
    assert.deepEqual(await boom.json(), { error: 'not_found', message: 'gone' });
  });

  it('without a Node request under it (app.request): the query location, implicit refresh, no IP', async () => {
    const seen: unknown[] = [];
    const manager = answering({
      verifyAccessToken: (token) => {
        if (token === 'good') return claims;
        if (token === 'soon') return { ...claims, exp: Math.floor(Date.now() / 1000) + 10 };
        throw new BatonError('invalid_token', 'bad token');
      },
      reissueAccessToken: async (_token, context) => {
        seen.push(context);
        const exp = Math.floor(Date.now() / 1000) + 60;
        return { ...pair, accessToken: 'successor', claims: { ...claims, exp } };
      },
    });
    const baton = createBaton(manager, {
      cookies: { implicitRefresh: { within: 60 } },
      tokenLookup: { locations: ['query', 'header', 'cookie'] },
    });
    const a = new Hono<BatonEnv>();
    a.get('/api/me', baton.requireAuth(), (c) => c.json({ sub: c.get('auth').sub }));
    const byQuery = await a.request('/api/me?x=1&jwt=good');
    assert.deepEqual(await byQuery.json(), { sub: 'u1' });
    assert.equal(byQuery.headers.get('set-cookie'), null);
    assert.equal((await a.request('/api/me?jwt=good&jwt=good')).status, 400);
    const renewed = await a.request('/api/me', {
      headers: { cookie: '__Host-baton_access=soon', 'user-agent': 'agent/1.0' },
    });
    assert.deepEqual(await renewed.json(), { sub: 'u1' });
    assert.match(renewed.headers.get('set-cookie') ?? '', /^__Host-baton_access=successor;/);
    assert.deepEqual(seen, [{ userAgent: 'agent/1.0', ip: null }]);
  });

  it('stops reading an oversized body at the limit', async () => {
    const res = await app().request('/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        pull(controller) {
          controller.enqueue(new Uint8Array(64 * 1024).fill(32));
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 413);
  });
});
