/**
 * The cookie-mode `csrf` claim is the HTTP layer's: it reaches the session
 * manager as a request-bound claim (`RequestContext.extraClaims`), which
 * always wins over the user's custom claims. A user's custom claim named
 * `csrf` can therefore never stand in for Baton's value.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { HttpRequest, HttpResponse } from '../../src/http/index.ts';
import { createBatonHttp } from '../../src/http/index.ts';
import { type Harness, harness, rejectsWith, storeKinds } from '../sessions/support.ts';

const PLANTED = 'planted-by-a-custom-claim';

function req(method: string, path: string, headers: Record<string, string> = {}, body?: string): HttpRequest {
  return { method, path, headers, query: new URLSearchParams(), ...(body === undefined ? {} : { body }) };
}

function cookieValue(response: HttpResponse, name: string): string {
  const cookies = [response.headers['set-cookie'] ?? []].flat();
  const cookie = cookies.find((c) => c.startsWith(`${name}=`));
  assert.ok(cookie, `${name} is set`);
  return cookie.slice(name.length + 1).split(';')[0] ?? '';
}

describe('the csrf claim: owned by http/, bound by request, never a custom claim', () => {
  let h: Harness;
  before(async () => {
    h = await harness(storeKinds[0]!);
    h.users.add({
      id: 'u9',
      username: 'bunny',
      password: 'toe',
      claims: { csrf: PLANTED, team: 'nihilists' },
    });
  });
  after(() => h.close());

  it('a cookie login binds the token to a new CSRF value, whatever custom claim the user has', async () => {
    const http = createBatonHttp(h.manager, { cookies: { implicitRefresh: { within: 60 } } });
    const login = await http.handler(
      req(
        'POST',
        '/auth/login',
        { 'content-type': 'application/json', 'baton-transfer': 'cookie' },
        '{"username":"bunny","password":"toe"}',
      ),
    );
    assert.equal(login?.status, 200, login?.body);
    const { csrf_token: csrf } = JSON.parse(login?.body ?? '{}') as { csrf_token: string };
    const access = cookieValue(login!, '__Host-baton_access');
    assert.equal(cookieValue(login!, '__Host-baton_csrf'), csrf);
    const claims = h.manager.verifyAccessToken(access);
    assert.equal(claims.csrf, csrf, "the token carries Baton's value");
    assert.notEqual(csrf, PLANTED);
    assert.equal(claims.team, 'nihilists', 'other custom claims are kept');

    const post = (value: string) =>
      http.guard()(
        req('POST', '/api/thing', {
          cookie: `__Host-baton_access=${access}; __Host-baton_csrf=${value}`,
          'x-csrf-token': value,
        }),
      );
    const planted = await post(PLANTED);
    assert.ok(!planted.ok);
    assert.equal(planted.response.status, 401);
    assert.equal(JSON.parse(planted.response.body ?? '{}').error, 'csrf_failed');
    assert.ok((await post(csrf)).ok, 'the bound value passes');

    // Implicit refresh passes the token's own value on, not the custom claim.
    h.clock.advance(claims.exp - claims.iat - 30); // seconds: 30 s before it expires
    const refreshed = await http.guard()(
      req('GET', '/api/thing', { cookie: `__Host-baton_access=${access}` }),
    );
    assert.ok(refreshed.ok);
    assert.equal(refreshed.cookies.length, 1);
    const successor = (refreshed.cookies[0] ?? '').slice('__Host-baton_access='.length).split(';')[0] ?? '';
    assert.equal(h.manager.verifyAccessToken(successor).csrf, csrf);
  });

  it('sessions/ adds request-bound claims generically: they win over custom claims, never over reserved ones', async () => {
    const bound = await h.manager.login('bunny', 'toe', { extraClaims: { csrf: 'bound' } });
    assert.equal(bound.claims.csrf, 'bound');
    const plain = await h.manager.login('bunny', 'toe');
    assert.equal(plain.claims.csrf, PLANTED, 'without a binding it is just a custom claim');
    await rejectsWith(
      h.manager.login('bunny', 'toe', { extraClaims: { sub: 'someone-else' } }),
      'invalid_options',
    );
  });
});
