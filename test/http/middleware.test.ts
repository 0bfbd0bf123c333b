/** The neutral middleware layer: option validation, guards, implicit refresh, framework errors. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { frameworkErrorResponse } from '../../src/http/errors.ts';
import type { AuthManager, HttpRequest } from '../../src/http/index.ts';
import { createBatonHttp } from '../../src/http/index.ts';
import { type BatonHttpOptions, resolveHttpOptions } from '../../src/http/options.ts';
import type { AccessClaims, TokenPair } from '../../src/index.ts';
import { BatonError, ManualClock } from '../../src/index.ts';
import { fakeManager } from '../support/fake-manager.ts';

const clock = new ManualClock(1_000_000);
const now = () => Math.floor(clock.now() / 1000);

function claims(overrides: Partial<AccessClaims> = {}): AccessClaims {
  return {
    iss: 'i',
    sub: 'u1',
    aud: 'a',
    exp: now() + 60,
    nbf: 0,
    iat: now(),
    jti: 'j',
    sid: 's1',
    client_id: 'c',
    type: 'access',
    fresh: false,
    roles: ['user'],
    scope: 'read',
    csrf: 'c'.repeat(43),
    ...overrides,
  };
}

function manager(overrides: Partial<AuthManager> = {}): AuthManager {
  const pair = (accessToken: string): TokenPair => ({
    accessToken,
    refreshToken: '',
    tokenType: 'Bearer',
    expiresIn: 60,
    refreshExpiresIn: 3000,
    sessionId: 's1',
    claims: claims(),
  });
  return fakeManager({
    clock,
    login: async () => pair('at'),
    refresh: async () => pair('at'),
    reauthenticate: async () => pair('at'),
    reissueAccessToken: async () => pair('successor'),
    verifyAccessToken: (token) => {
      if (token === 'soon') return claims({ exp: now() + 10 });
      if (token === 'good') return claims();
      throw new BatonError('invalid_token', 'bad token');
    },
    isFresh: (c) => c.fresh === true,
    logout: async () => {},
    logoutAll: async () => 1,
    listSessions: async () => [],
    revokeSession: async () => {},
    revokeToken: async () => {},
    jwks: () => ({ keys: [] }),
    ...overrides,
  });
}

function req(headers: Record<string, string> = {}, method = 'GET'): HttpRequest {
  return { method, path: '/api', headers, query: new URLSearchParams() };
}

const invalid = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(
    fn,
    (error: unknown) =>
      error instanceof BatonError && error.code === 'invalid_options' && pattern.test(error.message),
  );

describe('options are validated at creation', () => {
  it('names each bad field', () => {
    const m = manager();
    invalid(() => resolveHttpOptions(m, { prefix: 'auth' }), /prefix/);
    invalid(() => resolveHttpOptions(m, { bodyLimit: -1 }), /bodyLimit/);
    invalid(() => resolveHttpOptions(m, { cookies: { sameSite: 'lax' as 'Lax' } }), /cookies\.sameSite/);
    invalid(() => resolveHttpOptions(m, { cookies: { sameSite: 'None', secure: false } }), /requires secure/);
    invalid(() => resolveHttpOptions(m, { cookies: { names: { access: 'a b' } } }), /cookies\.names\.access/);
    invalid(() => resolveHttpOptions(m, { cookies: { domain: 'x;y' } }), /cookies\.domain/);
    invalid(() => resolveHttpOptions(m, { cookies: { transfer: [] } }), /cookies\.transfer/);
    invalid(() => resolveHttpOptions(m, { cookies: { transfer: ['body', 'body'] } }), /repeat/);
    invalid(
      () => resolveHttpOptions(m, { cookies: { transfer: ['header' as 'body'] } }),
      /cookies\.transfer/,
    );
    invalid(() => resolveHttpOptions(m, { cookies: { prefixes: true, secure: false } }), /prefixes/);
    invalid(() => resolveHttpOptions(m, { cookies: { implicitRefresh: { within: 'soon' } } }), /within/);
    invalid(() => resolveHttpOptions(m, { tokenLookup: { locations: [] } }), /locations/);
    invalid(() => resolveHttpOptions(m, { tokenLookup: { locations: ['header', 'header'] } }), /repeat/);
    invalid(() => resolveHttpOptions(m, { tokenLookup: { locations: ['cookie'] } }), /cookie mode/);
    invalid(() => resolveHttpOptions(m, { tokenLookup: { headerName: 'x y' } }), /headerName/);
    invalid(() => resolveHttpOptions(m, { cookie: true } as never), /cookie/);
    invalid(() => resolveHttpOptions({} as AuthManager), /manager/);
    const noImplicitRefresh = { ...m, capabilities: { ...m.capabilities, implicitRefresh: false } };
    invalid(
      () => resolveHttpOptions(noImplicitRefresh, { cookies: { implicitRefresh: { within: 60 } } }),
      /implicitRefresh is not available/,
    );
  });

  it('resolves durations and defaults', () => {
    const o = resolveHttpOptions(manager(), {
      prefix: '/api/auth/',
      cookies: { implicitRefresh: { within: '5m' } },
    });
    assert.equal(o.prefix, '/api/auth');
    assert.equal(o.cookieMode?.refreshPath, '/api/auth');
    assert.equal(o.cookieMode?.implicitRefreshWithin, 300);
    assert.deepEqual(o.lookup.locations, ['header', 'cookie']);
    assert.deepEqual(o.cookieMode?.transfer, ['body', 'cookie']);
  });

  it('cookie names: __Host- where Path=/ and no Domain, __Secure- otherwise, none without Secure', () => {
    const names = (cookies: BatonHttpOptions['cookies']) =>
      resolveHttpOptions(manager(), { cookies }).cookieMode?.names;
    assert.deepEqual(names(true), {
      access: '__Host-baton_access',
      refresh: '__Secure-baton_refresh',
      csrf: '__Host-baton_csrf',
    });
    assert.deepEqual(names({ refreshPath: '/' }), {
      access: '__Host-baton_access',
      refresh: '__Host-baton_refresh',
      csrf: '__Host-baton_csrf',
    });
    assert.deepEqual(names({ domain: 'example.com' }), {
      access: '__Secure-baton_access',
      refresh: '__Secure-baton_refresh',
      csrf: '__Secure-baton_csrf',
    });
    assert.deepEqual(names({ secure: false }), {
      access: 'baton_access',
      refresh: 'baton_refresh',
      csrf: 'baton_csrf',
    });
    assert.deepEqual(names({ prefixes: false, names: { access: 'a' } }), {
      access: 'a',
      refresh: 'baton_refresh',
      csrf: 'baton_csrf',
    });
  });
});

describe('guards', () => {
  const http = createBatonHttp(manager(), { cookies: { implicitRefresh: { within: 30 } } });
  const cookie = (token: string) => ({ cookie: `__Host-baton_access=${token}` });

  it('claims, or the mapped error response', async () => {
    const ok = await http.guard()(req({ authorization: 'Bearer good' }));
    assert.ok(ok.ok);
    assert.equal(ok.claims?.sub, 'u1');
    const none = await http.guard()(req());
    assert.ok(!none.ok);
    assert.equal(none.response.status, 401);
    assert.equal(none.response.headers['www-authenticate'], 'Bearer realm="baton"');
    const scope = await http.guard({ scopes: ['write'] })(req({ authorization: 'Bearer good' }));
    assert.ok(!scope.ok);
    assert.equal(scope.response.status, 403);
  });

  it('optional: no token is null claims, a bad token is still refused', async () => {
    const anonymous = await http.guard({ optional: true })(req());
    assert.deepEqual(anonymous, { ok: true, claims: null, cookies: [] });
    const bad = await http.guard({ optional: true })(req({ authorization: 'Bearer junk' }));
    assert.ok(!bad.ok);
    assert.equal(bad.response.status, 401);
  });

  it('implicit refresh: only cookie tokens within the window get a successor cookie', async () => {
    const far = await http.guard()(req(cookie('good')));
    assert.ok(far.ok);
    assert.deepEqual(far.cookies, []);
    const header = await http.guard()(req({ authorization: 'Bearer soon' }));
    assert.ok(header.ok);
    assert.deepEqual(header.cookies, []);
    const soon = await http.guard()(req(cookie('soon')));
    assert.ok(soon.ok);
    assert.equal(soon.cookies.length, 1);
    assert.match(
      soon.cookies[0] ?? '',
      /^__Host-baton_access=successor; Max-Age=60; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
  });

  it('implicit refresh: passes the CSRF claim on; an outage is skipped, a revoked session refused', async () => {
    const seen: unknown[] = [];
    const outage = createBatonHttp(
      manager({
        reissueAccessToken: async (_token, context) => {
          seen.push(context?.extraClaims);
          throw new BatonError('store_unavailable', 'down');
        },
      }),
      { cookies: { implicitRefresh: { within: 30 } } },
    );
    const skipped = await outage.guard()(req(cookie('soon')));
    assert.ok(skipped.ok);
    assert.deepEqual(skipped.cookies, []);
    assert.deepEqual(seen, [{ csrf: 'c'.repeat(43) }]);
    const revoked = createBatonHttp(
      manager({
        reissueAccessToken: async () => {
          throw new BatonError('token_revoked', 'gone');
        },
      }),
      { cookies: { implicitRefresh: { within: 30 } } },
    );
    const refused = await revoked.guard()(req(cookie('soon')));
    assert.ok(!refused.ok);
    assert.equal(refused.response.status, 401);
  });

  it('the body location reads a parsed body, or a raw JSON one', async () => {
    const body = createBatonHttp(manager(), { tokenLookup: { locations: ['body'] } });
    assert.ok(body.guardsReadBody);
    const parsed = await body.guard()({ ...req({}, 'POST'), parsedBody: { access_token: 'good' } });
    assert.ok(parsed.ok);
    const raw = await body.guard()({
      ...req({ 'content-type': 'application/json' }, 'POST'),
      body: '{"access_token":"good"}',
    });
    assert.ok(raw.ok);
    const form = await body.guard()({
      ...req({ 'content-type': 'application/x-www-form-urlencoded' }, 'POST'),
      body: 'access_token=good',
    });
    assert.ok(!form.ok, 'only JSON bodies carry tokens');
  });
});

describe('frameworkErrorResponse', () => {
  it("maps frameworks' own 4xx errors to Baton's shape with a generic message", () => {
    const parse = Object.assign(new Error('Unexpected token } in JSON at position 7'), {
      status: 400,
      type: 'entity.parse.failed',
    });
    const res = frameworkErrorResponse(parse);
    assert.equal(res.status, 400);
    assert.deepEqual(JSON.parse(res.body ?? ''), {
      error: 'invalid_request',
      message: 'The request is malformed',
    });
    assert.equal(frameworkErrorResponse(Object.assign(new Error('x'), { statusCode: 413 })).status, 413);
    assert.equal(
      JSON.parse(frameworkErrorResponse(Object.assign(new Error('x'), { status: 404 })).body ?? '').error,
      'not_found',
    );
    const logged: unknown[] = [];
    const crash = frameworkErrorResponse(Object.assign(new Error('db down'), { status: 502 }), {
      onUnexpectedError: (e) => logged.push(e),
    });
    assert.equal(crash.status, 500);
    assert.equal(logged.length, 1);
    assert.equal(frameworkErrorResponse(new BatonError('not_found', 'gone')).status, 404);
  });
});
