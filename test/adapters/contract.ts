/**
 * The black-box HTTP contract (docs/http-contract.md: the routes, "Cookies
 * and CSRF", "Errors"), over real HTTP with fetch. One suite, registered once
 * per target (the demo on each adapter, a minimal app on each adapter) and
 * per transport (header mode, cookie mode): every scenario must pass on all.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assertError,
  assertOAuthError,
  basic,
  COOKIE,
  COOKIE_BODY_KEYS,
  COOKIE_MODE,
  COOKIE_TRANSFER,
  call,
  cookieHeader,
  cookieValue,
  decodeClaims,
  HEADER_MODE,
  login,
  MODES,
  type Mode,
  merge,
  type Reply,
  setCookies,
  type Tokens,
} from './client.ts';
import { IMPLICIT_REFRESH_WITHIN, type Running, type Target } from './targets.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export function describeContract(target: Target): void {
  for (const mode of MODES) {
    describe(`${target.name} (${target.store} store), ${mode.name} mode`, () => {
      const h = {} as Running;
      before(async () => {
        Object.assign(h, await target.start({ cookies: mode.cookies }));
      });
      after(async () => {
        await h.close();
        assert.deepEqual(h.unexpected, [], 'no request ended in a 500');
      });
      contractScenarios(h, mode);
      if (mode.cookies) cookieScenarios(h);
    });
  }
}

function contractScenarios(h: Running, m: Mode): void {
  const signIn = (username?: string, password?: string, headers?: Record<string, string>) =>
    login(h.url, m, username, password, headers);

  it('login answers the token shape with no-store', async () => {
    const reply = await call(h.url, '/auth/login', { json: { username: 'thedude', password: 'abides' } });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(Object.keys(reply.json).sort(), [
      'access_token',
      'expires_in',
      'refresh_expires_in',
      'refresh_token',
      'session_id',
      'token_type',
    ]);
    assert.equal(reply.json.token_type, 'Bearer');
    assert.equal(reply.json.expires_in, 60);
    assert.equal(reply.json.refresh_expires_in, 3600);
    assert.equal(reply.headers.get('cache-control'), 'no-store');
    assert.equal(reply.headers.get('pragma'), 'no-cache');
    assert.equal(reply.headers.get('content-type'), 'application/json');
    const claims = decodeClaims(String(reply.json.access_token));
    assert.equal(claims.sid, reply.json.session_id);
    assert.equal(claims.sub, '1');
    // Without Baton-Transfer: cookie, the tokens come in the body and no cookie is set, in either mode.
    HEADER_MODE.tokens(reply);
  });

  it('wrong password and unknown user get the same answer', async () => {
    const before = h.users.verifications;
    const wrong = await call(h.url, '/auth/login', { json: { username: 'thedude', password: 'nope' } });
    const unknown = await call(h.url, '/auth/login', { json: { username: 'donny', password: 'nope' } });
    assertError(wrong, 401, 'invalid_credentials');
    assert.equal(unknown.status, wrong.status);
    assert.equal(unknown.text, wrong.text);
    // Both paths computed a password hash (the unknown one against a dummy), so they take the same time.
    assert.equal(h.users.verifications - before, 2);
  });

  it('GET /auth/me answers {claims}', async () => {
    const t = await signIn();
    const reply = await call(h.url, '/auth/me', m.auth(t));
    assert.equal(reply.status, 200, reply.text);
    const claims = reply.json.claims as Record<string, unknown>;
    assert.equal(claims.sub, '1');
    assert.equal(claims.sid, t.session_id);
    assert.deepEqual(claims.roles, ['user']);
    assert.equal(claims.type, 'access');
  });

  it('GET /api/protected: token required, RFC 6750 challenges', async () => {
    const none = await call(h.url, '/api/protected');
    assertError(none, 401, 'missing_token');
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="baton"');
    const garbage = await call(
      h.url,
      '/api/protected',
      m.auth({ access_token: 'garbage', csrf: 'x'.repeat(43) }),
    );
    assertError(garbage, 401, 'invalid_token');
    assert.match(
      garbage.headers.get('www-authenticate') ?? '',
      /^Bearer realm="baton", error="invalid_token", error_description="/,
    );
    const t = await signIn();
    const ok = await call(h.url, '/api/protected', m.auth(t));
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.json, { message: 'Hello, user 1', sub: '1', roles: ['user'] });
  });

  it('optionalAuth: anonymous without a token, the user with one, refused with a bad one', async () => {
    assert.deepEqual((await call(h.url, '/api/whoami')).json, { sub: null });
    const t = await signIn();
    const me = await call(h.url, '/api/whoami', m.auth(t));
    assert.equal(me.status, 200, me.text);
    assert.deepEqual(me.json, { sub: '1' });
    assertError(await call(h.url, '/api/whoami', { token: 'garbage' }), 401, 'invalid_token');
  });

  it('refresh rotates; within grace the old token gets the same successor; after grace reuse kills the session', async () => {
    const t = await signIn();
    const firstReply = await call(h.url, '/auth/refresh', m.refresh(t));
    const first = m.tokens(firstReply, t);
    assert.equal(firstReply.headers.get('cache-control'), 'no-store');
    assert.notEqual(first.refresh_token, t.refresh_token);
    assert.equal(first.session_id, t.session_id);

    h.clock.advance(5);
    const again = m.tokens(await call(h.url, '/auth/refresh', m.refresh(t)), t);
    assert.equal(again.refresh_token, first.refresh_token, 'same successor inside the grace window');
    assert.notEqual(again.access_token, first.access_token);

    h.clock.advance(6);
    assertError(await call(h.url, '/auth/refresh', m.refresh(t)), 401, 'refresh_token_reused');
    assertError(await call(h.url, '/auth/refresh', m.refresh(first)), 401, 'token_revoked');
    const access = await call(h.url, '/api/protected', m.auth(first));
    assertError(access, 401, 'token_revoked');
    assert.match(access.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  it('a guessed secret is only invalid_token and the session lives on', async () => {
    const t = await signIn();
    const forged = { ...t, refresh_token: `${t.session_id}.${'A'.repeat(43)}` };
    assertError(await call(h.url, '/auth/refresh', m.refresh(forged)), 401, 'invalid_token');
    m.tokens(await call(h.url, '/auth/refresh', m.refresh(t)), t);
  });

  it('refresh token precedence: body, then Authorization', async () => {
    const t = await signIn();
    const bodyWins = await call(h.url, '/auth/refresh', {
      json: { refresh_token: t.refresh_token },
      token: 'not-a-real-token',
    });
    assert.equal(bodyWins.status, 200, bodyWins.text);
    const header = await call(h.url, '/auth/refresh', {
      method: 'POST',
      token: String(bodyWins.json.refresh_token),
    });
    assert.equal(header.status, 200, header.text);
    assertError(await call(h.url, '/auth/refresh', { method: 'POST' }), 401, 'missing_token');
  });

  it('wrong token types: access where refresh is needed and the reverse', async () => {
    const t = await signIn();
    assertError(
      await call(h.url, '/auth/refresh', m.refresh({ ...t, refresh_token: t.access_token })),
      401,
      'wrong_token_type',
    );
    // A refresh token where an access token belongs: wrong_token_type whatever its form (DESIGN).
    const reverse = await call(h.url, '/api/protected', m.auth({ ...t, access_token: t.refresh_token }));
    assertError(reverse, 401, 'wrong_token_type');
    assert.match(reverse.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    assertError(await call(h.url, '/auth/me', { token: t.refresh_token }), 401, 'wrong_token_type');
    assertError(await call(h.url, '/auth/sessions', { token: t.refresh_token }), 401, 'wrong_token_type');
  });

  it('expired access token: token_expired; expired session: session_expired', async () => {
    const t = await signIn();
    h.clock.advance(61);
    assertError(await call(h.url, '/api/protected', m.auth(t)), 401, 'token_expired');
    const refreshed = m.tokens(await call(h.url, '/auth/refresh', m.refresh(t)), t);
    assert.ok(Number(refreshed.refresh_expires_in) <= 3600 - 61, 'absolute expiry is not extended');
    h.clock.advance(3600);
    assertError(await call(h.url, '/auth/refresh', m.refresh(refreshed)), 401, 'session_expired');
  });

  it('logout with the refresh token only (access token expired)', async () => {
    const t = await signIn();
    h.clock.advance(61);
    const out = await call(h.url, '/auth/logout', m.logoutWithRefresh(t));
    assert.equal(out.status, 204, out.text);
    assert.equal(out.text, '');
    assertError(await call(h.url, '/auth/refresh', m.refresh(t)), 401, 'token_revoked');
  });

  it('logout with the access token revokes the session and its access tokens', async () => {
    const t = await signIn();
    const out = await call(h.url, '/auth/logout', merge({ method: 'POST' }, m.auth(t)));
    assert.equal(out.status, 204, out.text);
    assertError(await call(h.url, '/api/protected', m.auth(t)), 401, 'token_revoked');
    assertError(await call(h.url, '/auth/refresh', m.refresh(t)), 401, 'token_revoked');
  });

  it('logout-all revokes every session of the user', async () => {
    const a = await signIn();
    const b = await signIn();
    const other = await signIn('walter', 'calmerthanyouare');
    const out = await call(h.url, '/auth/logout-all', merge({ method: 'POST' }, m.auth(a)));
    assert.equal(out.status, 200, out.text);
    assert.ok(Number(out.json.revoked) >= 2);
    assertError(await call(h.url, '/api/protected', m.auth(b)), 401, 'token_revoked');
    assertError(await call(h.url, '/auth/refresh', m.refresh(b)), 401, 'token_revoked');
    assert.equal(
      (await call(h.url, '/api/protected', m.auth(other))).status,
      200,
      'others keep their sessions',
    );
  });

  it('a dead refresh token cannot log out, log out everywhere, or revoke: 401 and nothing changes', async () => {
    const survivor = await signIn();
    const rotated = await signIn();
    const successor = m.tokens(await call(h.url, '/auth/refresh', m.refresh(rotated)), rotated);
    const loggedOut = await signIn();
    assert.equal((await call(h.url, '/auth/logout', m.logoutWithRefresh(loggedOut))).status, 204);
    h.clock.advance(11);
    const dead: [Tokens, string][] = [
      [rotated, 'invalid_token'],
      [loggedOut, 'token_revoked'],
    ];
    for (const [t, error] of dead) {
      assertError(await call(h.url, '/auth/logout-all', m.logoutWithRefresh(t)), 401, error);
      assertError(await call(h.url, '/auth/logout', m.logoutWithRefresh(t)), 401, error);
      const revoke = await call(h.url, '/auth/revoke', { form: { token: t.refresh_token } });
      assert.equal(revoke.status, 200, revoke.text);
    }
    assert.equal((await call(h.url, '/api/protected', m.auth(survivor))).status, 200, 'other sessions live');
    assert.equal((await call(h.url, '/api/protected', m.auth(successor))).status, 200, 'the successor lives');
    m.tokens(await call(h.url, '/auth/refresh', m.refresh(successor)), successor);
  });

  it('inside the grace window the token just rotated out still logs its session out', async () => {
    const t = await signIn();
    const next = m.tokens(await call(h.url, '/auth/refresh', m.refresh(t)), t);
    h.clock.advance(5);
    assert.equal((await call(h.url, '/auth/logout', m.logoutWithRefresh(t))).status, 204);
    assertError(await call(h.url, '/auth/refresh', m.refresh(next)), 401, 'token_revoked');
  });

  it('GET /auth/sessions and DELETE /auth/sessions/:id', async () => {
    const phone = await signIn('thedude', 'abides', { 'user-agent': 'phone/1.0' });
    const laptop = await signIn('thedude', 'abides', { 'user-agent': 'laptop/2.0' });
    const list = await call(h.url, '/auth/sessions', m.auth(laptop));
    assert.equal(list.status, 200, list.text);
    const sessions = list.json.sessions as Record<string, unknown>[];
    for (const s of sessions) {
      assert.deepEqual(Object.keys(s).sort(), [
        'client_id',
        'created_at',
        'current',
        'expires_at',
        'id',
        'ip',
        'last_used_at',
        'user_agent',
      ]);
      assert.equal(new Date(String(s.created_at)).toISOString(), s.created_at);
    }
    assert.deepEqual(
      sessions.filter((s) => s.current).map((s) => s.id),
      [laptop.session_id],
    );
    assert.equal(sessions.find((s) => s.id === phone.session_id)?.user_agent, 'phone/1.0');
    assert.ok(
      sessions.every((s) => s.ip === '127.0.0.1' || s.ip === '::ffff:127.0.0.1'),
      list.text,
    );
    for (const t of [phone, laptop]) {
      assert.ok(!list.text.includes(t.refresh_token.split('.')[1] ?? '?'), 'no refresh secret');
      assert.ok(!list.text.includes(t.access_token), 'no access token');
    }

    const walter = await signIn('walter', 'calmerthanyouare');
    const theirs = await call(
      h.url,
      `/auth/sessions/${phone.session_id}`,
      merge({ method: 'DELETE' }, m.auth(walter)),
    );
    assertError(theirs, 404, 'not_found');
    assert.equal((await call(h.url, '/api/protected', m.auth(phone))).status, 200);

    const mine = await call(
      h.url,
      `/auth/sessions/${phone.session_id}`,
      merge({ method: 'DELETE' }, m.auth(laptop)),
    );
    assert.equal(mine.status, 204, mine.text);
    assertError(await call(h.url, '/api/protected', m.auth(phone)), 401, 'token_revoked');
    assertError(await call(h.url, '/auth/refresh', m.refresh(phone)), 401, 'token_revoked');
    const withRefresh = await call(h.url, '/auth/sessions', { token: laptop.refresh_token });
    assert.equal(withRefresh.status, 401, 'the sessions routes need the access token');
    assert.ok(
      ['wrong_token_type', 'invalid_token'].includes(String(withRefresh.json.error)),
      withRefresh.text,
    );
    assertError(await call(h.url, '/auth/sessions'), 401, 'missing_token');
  });

  it('POST /auth/token: password grant, form or JSON', async () => {
    const form = await call(h.url, '/auth/token', {
      form: { grant_type: 'password', username: 'thedude', password: 'abides' },
    });
    assert.equal(form.status, 200, form.text);
    assert.equal(form.json.token_type, 'Bearer');
    assert.equal(typeof form.json.refresh_token, 'string');
    assert.equal(form.headers.get('cache-control'), 'no-store');
    assert.equal(form.headers.get('pragma'), 'no-cache');
    HEADER_MODE.tokens(form);
    const json = await call(h.url, '/auth/token', {
      json: { grant_type: 'password', username: 'walter', password: 'calmerthanyouare' },
    });
    assert.equal(json.status, 200, json.text);
    assertOAuthError(
      await call(h.url, '/auth/token', {
        form: { grant_type: 'password', username: 'thedude', password: 'bad' },
      }),
      400,
      'invalid_grant',
    );
    assertOAuthError(
      await call(h.url, '/auth/token', { form: { grant_type: 'password', username: 'thedude' } }),
      400,
      'invalid_request',
    );
  });

  it('POST /auth/token: refresh_token grant and its RFC 6749 errors', async () => {
    const t = await signIn();
    const ok = await call(h.url, '/auth/token', {
      form: { grant_type: 'refresh_token', refresh_token: t.refresh_token },
    });
    assert.equal(ok.status, 200, ok.text);
    assert.notEqual(ok.json.refresh_token, t.refresh_token);
    h.clock.advance(11);
    const grant = (form: Record<string, string>) => call(h.url, '/auth/token', { form });
    assertOAuthError(
      await grant({ grant_type: 'refresh_token', refresh_token: t.refresh_token }),
      400,
      'invalid_grant',
    );
    assertOAuthError(
      await grant({ grant_type: 'refresh_token', refresh_token: String(ok.json.refresh_token) }),
      400,
      'invalid_grant',
    );
    assertOAuthError(
      await grant({ grant_type: 'refresh_token', refresh_token: 'junk' }),
      400,
      'invalid_grant',
    );
    assertOAuthError(await grant({ grant_type: 'refresh_token' }), 400, 'invalid_request');
    assertOAuthError(await grant({ grant_type: 'client_credentials' }), 400, 'unsupported_grant_type');
    assertOAuthError(await grant({}), 400, 'invalid_request');
    assertOAuthError(
      await call(h.url, '/auth/token', { body: 'grant_type=password', contentType: 'text/plain' }),
      415,
      'invalid_request',
    );
    assertOAuthError(
      await call(h.url, '/auth/token', { body: '{', contentType: 'application/json' }),
      400,
      'invalid_request',
    );
  });

  it('POST /auth/token: client authentication and the jwt-bearer grant', async () => {
    const token = (form: Record<string, string>, headers: Record<string, string> = {}) =>
      call(h.url, '/auth/token', { form, headers });
    const password = { grant_type: 'password', username: 'thedude', password: 'abides' };
    const confidential = await token(password, { authorization: basic('demo-client', 'demo-secret') });
    assert.equal(confidential.status, 200, confidential.text);
    assert.equal(decodeClaims(String(confidential.json.access_token)).client_id, 'demo-client');

    const bad = await token(password, { authorization: basic('demo-client', 'wrong') });
    assertOAuthError(bad, 401, 'invalid_client');
    assert.match(bad.headers.get('www-authenticate') ?? '', /^Basic realm="baton"/);
    assertOAuthError(await token({ ...password, client_id: 'demo-client' }), 401, 'invalid_client');
    assertOAuthError(
      await token({ ...password, client_id: 'nobody', client_secret: 'x' }),
      401,
      'invalid_client',
    );

    const refresh = String(confidential.json.refresh_token);
    assertOAuthError(
      await token({ grant_type: JWT_BEARER, refresh_token: refresh, client_id: 'another-client' }),
      400,
      'invalid_grant',
    );
    // Issued to a confidential client: jwt-bearer must authenticate it again (RFC 6749 section 6).
    assertOAuthError(
      await token({ grant_type: JWT_BEARER, refresh_token: refresh, client_id: 'demo-client' }),
      401,
      'invalid_client',
    );
    const bearer = await token(
      { grant_type: JWT_BEARER, refresh_token: refresh, client_id: 'demo-client' },
      { authorization: basic('demo-client', 'demo-secret') },
    );
    assert.equal(bearer.status, 200, bearer.text);
    assert.equal(typeof bearer.json.access_token, 'string');
    assert.notEqual(bearer.json.refresh_token, refresh, 'jwt-bearer rotates');
    assertOAuthError(
      await token({ grant_type: JWT_BEARER, refresh_token: String(bearer.json.refresh_token) }),
      400,
      'invalid_request',
    );

    // A public client names itself at login; jwt-bearer must then name the same client.
    const pub = await call(h.url, '/auth/login', {
      json: { username: 'thedude', password: 'abides', client_id: 'mobile-app' },
    });
    assert.equal(pub.status, 200, pub.text);
    const pubRefresh = String(pub.json.refresh_token);
    assertOAuthError(
      await token({ grant_type: JWT_BEARER, refresh_token: pubRefresh, client_id: 'web' }),
      400,
      'invalid_grant',
    );
    const same = await token({ grant_type: JWT_BEARER, refresh_token: pubRefresh, client_id: 'mobile-app' });
    assert.equal(same.status, 200, same.text);
    assertError(
      await call(h.url, '/auth/login', {
        json: { username: 'thedude', password: 'abides', client_id: 'demo-client' },
      }),
      400,
      'invalid_request',
    );
  });

  it("/auth/refresh of a confidential client's session needs its secret (Basic or client_secret), and a refusal does not rotate", async () => {
    const issued = await call(h.url, '/auth/token', {
      form: { grant_type: 'password', username: 'walter', password: 'calmerthanyouare' },
      headers: { authorization: basic('demo-client', 'demo-secret') },
    });
    assert.equal(issued.status, 200, issued.text);
    const refreshToken = String(issued.json.refresh_token);
    assertError(
      await call(h.url, '/auth/refresh', { json: { refresh_token: refreshToken } }),
      401,
      'invalid_client',
    );
    assertError(
      await call(h.url, '/auth/refresh', {
        json: { refresh_token: refreshToken },
        headers: { authorization: basic('demo-client', 'wrong') },
      }),
      401,
      'invalid_client',
    );
    h.clock.advance(11);
    const ok = await call(h.url, '/auth/refresh', {
      json: { refresh_token: refreshToken },
      headers: { authorization: basic('demo-client', 'demo-secret') },
    });
    assert.equal(ok.status, 200, ok.text);
    const viaBody = await call(h.url, '/auth/refresh', {
      json: { refresh_token: ok.json.refresh_token, client_id: 'demo-client', client_secret: 'demo-secret' },
    });
    assert.equal(viaBody.status, 200, viaBody.text);
  });

  it('POST /auth/revoke (RFC 7009): refresh kills the session, access is denylisted, unknown is 200', async () => {
    const t = await signIn();
    const r = await call(h.url, '/auth/revoke', {
      form: { token: t.refresh_token, token_type_hint: 'refresh_token' },
    });
    // RFC 7009 clients ignore the body; some parse it as JSON, so it is `{}` as JSON (DESIGN).
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, '{}');
    assert.equal(r.headers.get('content-type'), 'application/json');
    assertError(await call(h.url, '/api/protected', m.auth(t)), 401, 'token_revoked');
    assertError(await call(h.url, '/auth/refresh', m.refresh(t)), 401, 'token_revoked');

    const u = await signIn();
    const ra = await call(h.url, '/auth/revoke', { json: { token: u.access_token } });
    assert.equal(ra.status, 200, ra.text);
    assert.equal(ra.text, '{}');
    assertError(await call(h.url, '/api/protected', m.auth(u)), 401, 'token_revoked');
    const refreshed = m.tokens(await call(h.url, '/auth/refresh', m.refresh(u)), u);
    assert.equal(
      (await call(h.url, '/api/protected', m.auth(refreshed))).status,
      200,
      'the session lives on',
    );

    for (const token of ['junk', 'a.b.c', `${u.session_id}.xyz`]) {
      const unknown = await call(h.url, '/auth/revoke', { form: { token } });
      assert.equal(unknown.status, 200, unknown.text);
      assert.equal(unknown.text, '{}');
      assert.equal(unknown.headers.get('content-type'), 'application/json');
    }
    assertOAuthError(await call(h.url, '/auth/revoke', { form: {} }), 400, 'invalid_request');
    assertOAuthError(
      await call(h.url, '/auth/revoke', {
        form: { token: 'x' },
        headers: { authorization: basic('demo-client', 'bad') },
      }),
      401,
      'invalid_client',
    );
  });

  it('POST /auth/introspect (RFC 7662): who may ask, and what inactive looks like', async () => {
    const dude = await signIn();
    const walter = await signIn('walter', 'calmerthanyouare');
    const none = await call(h.url, '/auth/introspect', { form: { token: dude.access_token } });
    assertOAuthError(none, 401, 'invalid_client');
    assert.ok(none.headers.get('www-authenticate'));
    assertOAuthError(
      await call(h.url, '/auth/introspect', { form: { token: dude.access_token }, token: dude.access_token }),
      403,
      'insufficient_scope',
    );
    assertOAuthError(
      await call(h.url, '/auth/introspect', {
        form: { token: dude.access_token },
        headers: { authorization: basic('demo-client', 'nope') },
      }),
      401,
      'invalid_client',
    );
    const asClient = await call(h.url, '/auth/introspect', {
      form: { token: dude.access_token },
      headers: { authorization: basic('demo-client', 'demo-secret') },
    });
    assert.equal(asClient.status, 200, asClient.text);
    assert.equal(asClient.json.active, true);
    assert.equal(asClient.json.sub, '1');
    // Baton's own plumbing (the cookie mode's CSRF value) is not the resource server's business.
    assert.equal(Object.hasOwn(asClient.json, 'csrf'), false, asClient.text);
    assert.equal(Object.hasOwn(asClient.json, 'rf_exp'), false, asClient.text);
    const asAdmin = await call(h.url, '/auth/introspect', {
      form: { token: dude.refresh_token },
      token: walter.access_token,
    });
    assert.equal(asAdmin.status, 200, asAdmin.text);
    assert.equal(asAdmin.json.active, true);
    for (const token of ['garbage', dude.access_token.slice(0, -2)]) {
      const inactive = await call(h.url, '/auth/introspect', { form: { token }, token: walter.access_token });
      assert.equal(inactive.status, 200);
      assert.equal(inactive.text, '{"active":false}');
    }
    await call(h.url, '/auth/logout', { method: 'POST', token: dude.access_token });
    const revoked = await call(h.url, '/auth/introspect', {
      form: { token: dude.access_token },
      token: walter.access_token,
    });
    assert.equal(revoked.text, '{"active":false}');
  });

  it('GET /.well-known/jwks.json publishes the public key only', async () => {
    const reply = await call(h.url, '/.well-known/jwks.json');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.get('cache-control'), 'public, max-age=300');
    const keys = reply.json.keys as Record<string, unknown>[];
    assert.equal(keys.length, 1);
    assert.equal(keys[0]?.alg, 'EdDSA');
    assert.equal(typeof keys[0]?.kid, 'string');
    assert.equal(keys[0]?.d, undefined);
    const t = await signIn();
    const header = JSON.parse(Buffer.from(t.access_token.split('.')[0] ?? '', 'base64url').toString('utf8'));
    assert.equal(header.kid, keys[0]?.kid);
    assert.equal(header.typ, 'at+jwt');
  });

  it('reauth makes a fresh token; a refreshed one gets fresh_token_required', async () => {
    const t = await signIn();
    assert.equal((await call(h.url, '/api/sensitive', merge({ method: 'POST' }, m.auth(t)))).status, 200);
    const refreshed = m.tokens(await call(h.url, '/auth/refresh', m.refresh(t)), t);
    const stale = await call(h.url, '/api/sensitive', merge({ method: 'POST' }, m.auth(refreshed)));
    assertError(stale, 401, 'fresh_token_required');
    assert.match(stale.headers.get('www-authenticate') ?? '', /^Bearer realm="baton", error=/);
    assertError(
      await call(h.url, '/auth/reauth', merge({ json: { password: 'wrong' } }, m.auth(refreshed))),
      401,
      'invalid_credentials',
    );
    const reReply = await call(
      h.url,
      '/auth/reauth',
      merge({ json: { password: 'abides' } }, m.auth(refreshed)),
    );
    assert.equal(reReply.status, 200, reReply.text);
    assert.equal(reReply.headers.get('cache-control'), 'no-store');
    assert.equal(reReply.json.refresh_token, undefined, 'the session token is not re-sent');
    const re = m.tokens(reReply, refreshed);
    assert.equal(re.session_id, t.session_id);
    assert.equal((await call(h.url, '/api/sensitive', merge({ method: 'POST' }, m.auth(re)))).status, 200);
    assertError(await call(h.url, '/auth/reauth', { json: { password: 'abides' } }), 401, 'missing_token');
    const withRefresh = await call(h.url, '/auth/reauth', {
      json: { password: 'abides' },
      token: refreshed.refresh_token,
    });
    assert.equal(withRefresh.status, 401, withRefresh.text);
  });

  it('bad input gets a 4xx JSON error with a stable code, never a 500 or a framework page', async () => {
    const bad = (body: string | Uint8Array, type = 'application/json') =>
      call(h.url, '/auth/login', { body, contentType: type });
    assertError(await bad('{"username":'), 400, 'invalid_request');
    assertError(await bad('[]'), 400, 'invalid_request');
    assertError(
      await bad('{"username":"thedude","password":"abides"}', 'text/plain'),
      415,
      'invalid_request',
    );
    assertError(await bad('{"username":"thedude","password":"abides"}', 'nonsense'), 415, 'invalid_request');
    assertError(
      await bad('{"username":"thedude","password":"abides"}', 'application/json; charset=latin1'),
      415,
      'invalid_request',
    );
    assertError(
      await bad('username=thedude&password=abides', 'application/x-www-form-urlencoded'),
      415,
      'invalid_request',
    );
    assertError(
      await bad(JSON.stringify({ username: 'x', password: 'y'.repeat(20_000) })),
      413,
      'invalid_request',
    );
    assertError(await bad('x'.repeat(1024 * 1024)), 413, 'invalid_request');
    const missing = await bad('{"username":"thedude"}');
    assertError(missing, 400, 'invalid_request');
    assert.match(String(missing.json.message), /password/);
    const typed = await bad('{"username":5,"password":"abides"}');
    assertError(typed, 400, 'invalid_request');
    assert.match(String(typed.json.message), /username/);
    assertError(
      await bad('{"username":"thedude","password":"abides","__proto__":{"roles":["admin"]}}'),
      400,
      'invalid_request',
    );
    assertError(
      await bad('{"username":"thedude","password":"abides","x":{"constructor":{}}}'),
      400,
      'invalid_request',
    );
    assertError(await bad(new Uint8Array([0x7b, 0xc3, 0x28, 0x7d])), 400, 'invalid_request');
    assertError(await call(h.url, '/auth/login', { method: 'POST' }), 415, 'invalid_request');

    assertError(
      await call(h.url, '/api/protected', { headers: { authorization: `Bearer ${'a'.repeat(9000)}` } }),
      400,
      'invalid_request',
    );
    assertError(
      await call(h.url, '/api/protected', { headers: { authorization: 'Bearer a b' } }),
      400,
      'invalid_request',
    );
    assertError(
      await call(h.url, '/api/protected', { headers: { authorization: 'Bearer' } }),
      400,
      'invalid_request',
    );
    assertError(
      await call(h.url, '/api/protected', { headers: { authorization: 'Basic Zm9vOmJhcg==' } }),
      401,
      'missing_token',
    );
    for (const token of [
      'x',
      'a.b.c',
      'eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.',
      `${'a'.repeat(40)}.${'b'.repeat(40)}.${'c'.repeat(40)}`,
    ]) {
      assertError(await call(h.url, '/api/protected', { token }), 401, 'invalid_token');
      const refresh = await call(h.url, '/auth/refresh', { json: { refresh_token: token } });
      assert.equal(refresh.status, 401, refresh.text);
      assert.ok(['invalid_token', 'wrong_token_type'].includes(String(refresh.json.error)), refresh.text);
    }
    assertError(await call(h.url, '/auth/refresh', { json: { refresh_token: 42 } }), 400, 'invalid_request');
    assertError(
      await call(h.url, '/auth/refresh', { body: 'refresh_token=x', contentType: 'text/plain' }),
      415,
      'invalid_request',
    );
    assertError(
      await call(h.url, '/api/protected', { headers: { cookie: 'baton_access=<junk>; junk;;=' } }),
      401,
      'missing_token',
    );

    const wrongMethod = await call(h.url, '/auth/login');
    assertError(wrongMethod, 405, 'invalid_request');
    assert.equal(wrongMethod.headers.get('allow'), 'POST');
    const deleteMe = await call(h.url, '/auth/me', { method: 'DELETE' });
    assertError(deleteMe, 405, 'invalid_request');
    assert.equal(deleteMe.headers.get('allow'), 'GET, HEAD');
    // The OAuth routes answer a wrong method in their RFCs' shape too.
    const tokenByGet = await call(h.url, '/auth/token');
    assert.equal(tokenByGet.status, 405);
    assert.equal(tokenByGet.headers.get('allow'), 'POST');
    assert.deepEqual(Object.keys(tokenByGet.json).sort(), ['error', 'error_description']);
    // HEAD is GET without the body.
    const jwksHead = await call(h.url, '/.well-known/jwks.json', { method: 'HEAD' });
    assert.equal(jwksHead.status, 200);
    assert.equal(jwksHead.text, '');
    assert.match(jwksHead.headers.get('content-type') ?? '', /^application\/json/);
    const meHead = await call(h.url, '/auth/me', { method: 'HEAD' });
    assert.equal(meHead.status, 401);
    assert.equal(meHead.text, '');
    assert.match(meHead.headers.get('www-authenticate') ?? '', /^Bearer/);
    const t = await signIn();
    assert.equal((await call(h.url, '/auth/me', { method: 'HEAD', ...m.auth(t) })).status, 200);
    assertError(await call(h.url, '/auth/nope'), 404, 'not_found');
    assertError(await call(h.url, '/auth/sessions/a%20b', { method: 'DELETE' }), 404, 'not_found');
    assertError(await call(h.url, '/auth/sessions/../../etc', { method: 'DELETE' }), 404, 'not_found');
  });

  it('admin route needs the admin role', async () => {
    const dude = await signIn();
    const denied = await call(
      h.url,
      '/api/admin/disable-user',
      merge({ json: { username: 'walter' } }, m.auth(dude)),
    );
    assertError(denied, 403, 'insufficient_scope');
    assert.match(denied.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
    const walter = await signIn('walter', 'calmerthanyouare');
    assertError(
      await call(h.url, '/api/admin/disable-user', merge({ json: { username: 'nobody' } }, m.auth(walter))),
      404,
      'not_found',
    );
    assertError(
      await call(h.url, '/api/admin/disable-user', merge({ json: {} }, m.auth(walter))),
      400,
      'invalid_request',
    );
    assertError(
      await call(
        h.url,
        '/api/admin/disable-user',
        merge({ body: '{"username":', contentType: 'application/json' }, m.auth(walter)),
      ),
      400,
      'invalid_request',
    );
  });

  it('disable-user: tokens rejected at once, refresh gets user_disabled, login the wrong-password answer', async () => {
    const dude = await signIn();
    const walter = await signIn('walter', 'calmerthanyouare');
    const reply = await call(
      h.url,
      '/api/admin/disable-user',
      merge({ json: { username: 'thedude' } }, m.auth(walter)),
    );
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.json.disabled, true);
    assert.ok(Number(reply.json.revoked_sessions) >= 1);
    assertError(await call(h.url, '/api/protected', m.auth(dude)), 401, 'token_revoked');
    const refresh = await call(h.url, '/auth/refresh', m.refresh(dude));
    assert.equal(refresh.status, refresh.json.error === 'user_disabled' ? 403 : 401, refresh.text);
    const right = await call(h.url, '/auth/login', { json: { username: 'thedude', password: 'abides' } });
    const wrong = await call(h.url, '/auth/login', { json: { username: 'thedude', password: 'nope' } });
    assertError(right, 401, 'invalid_credentials');
    assert.equal(right.text, wrong.text, 'a disabled account does not confirm its password');
  });
}

/**
 * Browser mode only: token transfer (cookies only, never also in the body),
 * cookie attributes and prefixes, double-submit CSRF bound to the token,
 * logout CSRF, and implicit refresh bound to the session.
 */
function cookieScenarios(h: Running): void {
  const m = COOKIE_MODE;
  // Runs after disable-user (thedude is disabled): walter from here on.
  const signIn = () => login(h.url, m, 'walter', 'calmerthanyouare');
  const walter = { username: 'walter', password: 'calmerthanyouare' };
  const { access: ACCESS, refresh: REFRESH, csrf: CSRF } = COOKIE;

  it('login with Baton-Transfer: cookie gets the tokens as cookies only: the body carries none', async () => {
    const reply = await call(h.url, '/auth/login', { json: walter, headers: COOKIE_TRANSFER });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(Object.keys(reply.json).sort(), COOKIE_BODY_KEYS);
    assert.equal(reply.headers.get('cache-control'), 'no-store');
    const t = m.tokens(reply);
    assert.doesNotMatch(reply.text, new RegExp(t.access_token.replace(/\./g, '\\.')));
    assert.doesNotMatch(reply.text, new RegExp(t.refresh_token.replace(/\./g, '\\.')));
    assert.equal((reply.json.claims as Record<string, unknown>).sub, '2');
    const plain = await call(h.url, '/auth/login', { json: walter });
    HEADER_MODE.tokens(plain);
    assertError(
      await call(h.url, '/auth/login', { json: walter, headers: { 'baton-transfer': 'both' } }),
      400,
      'invalid_request',
    );
  });

  it('login sets __Host- HttpOnly Secure SameSite=Lax token cookies (scoped, with Max-Age) and a readable CSRF cookie', async () => {
    const reply = await call(h.url, '/auth/login', { json: walter, headers: COOKIE_TRANSFER });
    const t = m.tokens(reply);
    const set = setCookies(reply);
    assert.deepEqual([...set.keys()].sort(), [ACCESS, CSRF, REFRESH].sort());
    const access = set.get(ACCESS) ?? '';
    const refresh = set.get(REFRESH) ?? '';
    const csrf = set.get(CSRF) ?? '';
    for (const c of [access, refresh]) {
      assert.match(c, /; HttpOnly/);
      assert.match(c, /; Secure/);
      assert.match(c, /; SameSite=Lax/);
    }
    for (const c of [access, refresh, csrf]) assert.doesNotMatch(c, /Domain=/i);
    assert.match(access, /; Path=\/;/);
    assert.match(access, /Max-Age=60;/);
    assert.match(refresh, /; Path=\/auth;/);
    assert.match(refresh, /Max-Age=3600;/);
    assert.doesNotMatch(csrf, /HttpOnly/);
    assert.match(csrf, /; Path=\/;/);
    assert.match(csrf, /; Secure/);
    assert.match(csrf, /Max-Age=3600;/);
    assert.ok((t.csrf ?? '').length >= 22);
    const again = m.tokens(await call(h.url, '/auth/login', { json: walter, headers: COOKIE_TRANSFER }));
    assert.notEqual(again.csrf, t.csrf, 'every login draws a new CSRF value');
  });

  it('refresh and reauth answer the way their credential came, whatever the headers ask', async () => {
    const t = await signIn();
    // Through the cookie: cookies only, even when the request asks for the body.
    const byCookie = await call(
      h.url,
      '/auth/refresh',
      merge(m.refresh(t), { headers: { 'baton-transfer': 'body' } }),
    );
    const next = m.tokens(byCookie, t);
    assert.deepEqual(Object.keys(byCookie.json).sort(), COOKIE_BODY_KEYS);
    // Through the body: the body only, even when the request asks for cookies.
    const byBody = await call(h.url, '/auth/refresh', {
      json: { refresh_token: next.refresh_token },
      headers: COOKIE_TRANSFER,
    });
    const inBody = HEADER_MODE.tokens(byBody);
    const byHeader = await call(h.url, '/auth/refresh', {
      method: 'POST',
      token: inBody.refresh_token,
      headers: COOKIE_TRANSFER,
    });
    HEADER_MODE.tokens(byHeader);
    // Reauth likewise: by the access cookie, cookies only; by the Bearer header, the body only.
    const u = await signIn();
    const reCookie = await call(
      h.url,
      '/auth/reauth',
      merge({ json: { password: walter.password } }, m.auth(u)),
    );
    const re = m.tokens(reCookie, u);
    assert.equal(setCookies(reCookie).has(REFRESH), false, 'reauth leaves the refresh cookie alone');
    const reHeader = await call(h.url, '/auth/reauth', {
      json: { password: walter.password },
      token: re.access_token,
      headers: COOKIE_TRANSFER,
    });
    assert.equal(reHeader.status, 200, reHeader.text);
    assert.equal(reHeader.headers.get('set-cookie'), null);
    assert.equal(typeof reHeader.json.access_token, 'string');
  });

  it('the OAuth routes never set or clear cookies (no login CSRF through a cross-site form post)', async () => {
    const t = await signIn();
    const browser = { ...m.auth(t).headers, ...COOKIE_TRANSFER };
    const replies = [
      await call(h.url, '/auth/token', {
        form: { grant_type: 'password', ...walter },
        headers: browser,
      }),
      await call(h.url, '/auth/token', {
        form: { grant_type: 'refresh_token', refresh_token: t.refresh_token },
        headers: browser,
      }),
      await call(h.url, '/auth/token', {
        form: { grant_type: 'password', username: 'walter', password: 'wrong' },
        headers: browser,
      }),
      await call(h.url, '/auth/introspect', {
        form: { token: t.access_token },
        headers: { ...browser, authorization: basic('demo-client', 'demo-secret') },
      }),
      await call(h.url, '/auth/revoke', { form: { token: t.access_token }, headers: browser }),
      await call(h.url, '/auth/revoke', { form: { token: 'junk' }, headers: browser }),
    ];
    assert.deepEqual(
      replies.map((r) => r.status),
      [200, 200, 400, 200, 200, 200],
    );
    for (const reply of replies) assert.equal(reply.headers.get('set-cookie'), null, reply.text);
    assert.equal(typeof replies[0]?.json.access_token, 'string', 'the token endpoint answers in the body');
  });

  it('safe requests authenticate with the access cookie alone', async () => {
    const t = await signIn();
    const cookie = cookieHeader({ [ACCESS]: t.access_token });
    assert.equal((await call(h.url, '/api/protected', { headers: { cookie } })).status, 200);
    assert.equal((await call(h.url, '/auth/me', { headers: { cookie } })).status, 200);
  });

  it('unsafe requests with a cookie token need header == cookie == token claim (csrf_failed otherwise)', async () => {
    const t = await signIn();
    const csrf = t.csrf ?? '';
    const both = cookieHeader({ [ACCESS]: t.access_token, [CSRF]: csrf });
    const post = (headers: Record<string, string>) =>
      call(h.url, '/api/sensitive', { method: 'POST', headers });
    assertError(await post({ cookie: both }), 401, 'csrf_failed');
    assertError(await post({ cookie: both, 'x-csrf-token': `${csrf}x` }), 401, 'csrf_failed');
    assertError(
      await post({ cookie: cookieHeader({ [ACCESS]: t.access_token }), 'x-csrf-token': csrf }),
      401,
      'csrf_failed',
    );
    // A planted CSRF cookie (a sibling subdomain can set one) echoed by the attacker's page: the token's claim differs.
    const planted = 'p'.repeat(43);
    assertError(
      await post({
        cookie: cookieHeader({ [ACCESS]: t.access_token, [CSRF]: planted }),
        'x-csrf-token': planted,
      }),
      401,
      'csrf_failed',
    );
    assert.equal((await post({ cookie: both, 'x-csrf-token': csrf })).status, 200);
    assert.equal(
      (await call(h.url, '/api/sensitive', { method: 'POST', token: t.access_token })).status,
      200,
      'a header token needs no CSRF token',
    );
  });

  it('refresh from the cookie: CSRF required, cookies rotated, a new CSRF value bound to the new token', async () => {
    const t = await signIn();
    const cookie = cookieHeader({ [REFRESH]: t.refresh_token, [CSRF]: t.csrf ?? '' });
    assertError(
      await call(h.url, '/auth/refresh', { method: 'POST', headers: { cookie } }),
      401,
      'csrf_failed',
    );
    const next = m.tokens(await call(h.url, '/auth/refresh', m.refresh(t)), t);
    assert.notEqual(next.refresh_token, t.refresh_token);
    assert.notEqual(next.access_token, t.access_token);
    assert.notEqual(next.csrf, t.csrf, 'every cookie refresh draws a new CSRF value');
    assertError(
      await call(h.url, '/api/sensitive', merge({ method: 'POST' }, m.auth({ ...next, csrf: t.csrf }))),
      401,
      'csrf_failed',
    );
    const bodyWins = await call(h.url, '/auth/refresh', {
      json: { refresh_token: next.refresh_token },
      headers: { cookie: `${REFRESH}=junk` },
    });
    assert.equal(bodyWins.status, 200, 'the body token wins over the cookie, and needs no CSRF token');
  });

  it('a planted CSRF cookie is never adopted: the refreshed token carries a new value', async () => {
    const t = await signIn();
    const planted = 'P'.repeat(43);
    // First in the header, so it is the one the server reads (browsers send the most specific first).
    const cookie = `${CSRF}=${planted}; ${cookieHeader({ [REFRESH]: t.refresh_token, [CSRF]: t.csrf ?? '' })}`;
    const reply = await call(h.url, '/auth/refresh', {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': planted },
    });
    const next = m.tokens(reply, t);
    assert.notEqual(next.csrf, planted);
    assert.notEqual(
      decodeClaims(next.access_token).csrf,
      planted,
      'the new token is not bound to the planted value',
    );
    const forged = await call(h.url, '/api/sensitive', {
      method: 'POST',
      headers: {
        cookie: cookieHeader({ [ACCESS]: next.access_token, [CSRF]: planted }),
        'x-csrf-token': planted,
      },
    });
    assertError(forged, 401, 'csrf_failed');
  });

  it('logout from the cookies, CSRF-checked, clears all three cookies, same Path and Domain', async () => {
    const t = await signIn();
    const cookie = cookieHeader({
      [ACCESS]: t.access_token,
      [REFRESH]: t.refresh_token,
      [CSRF]: t.csrf ?? '',
    });
    const out = await call(h.url, '/auth/logout', {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': t.csrf ?? '' },
    });
    assert.equal(out.status, 204, out.text);
    const cleared = setCookies(out);
    for (const name of [ACCESS, REFRESH, CSRF]) {
      assert.match(cleared.get(name) ?? '', /^[A-Za-z_-]+=; Max-Age=0;/, name);
      assert.match(
        cleared.get(name) ?? '',
        /; Secure/,
        `${name}: a __Host-/__Secure- cookie is only cleared Secure`,
      );
    }
    assert.match(cleared.get(REFRESH) ?? '', /Path=\/auth/);
    assertError(await call(h.url, '/api/protected', { token: t.access_token }), 401, 'token_revoked');
    // The session is gone: a CSRF-checked logout with its dead cookies still clears them.
    const again = await call(h.url, '/auth/logout', {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': t.csrf ?? '' },
    });
    assert.ok([204, 401].includes(again.status), again.text);
    assert.equal(setCookies(again).get(ACCESS)?.startsWith(`${ACCESS}=;`), true, 'dead cookies are cleared');
  });

  it('logout CSRF: a cross-site logout (no cookies, no CSRF header, or a forged token) clears nothing', async () => {
    const t = await signIn();
    const cookie = cookieHeader({
      [ACCESS]: t.access_token,
      [REFRESH]: t.refresh_token,
      [CSRF]: t.csrf ?? '',
    });
    for (const path of ['/auth/logout', '/auth/logout-all']) {
      const none = await call(h.url, path, { method: 'POST' });
      assertError(none, 401, 'missing_token');
      assert.equal(none.headers.get('set-cookie'), null, `${path} with no cookies`);
      const noHeader = await call(h.url, path, { method: 'POST', headers: { cookie } });
      assertError(noHeader, 401, 'csrf_failed');
      assert.equal(noHeader.headers.get('set-cookie'), null, `${path} without the CSRF header`);
      const form = await call(h.url, path, {
        body: 'x=1',
        contentType: 'application/x-www-form-urlencoded',
        headers: { cookie },
      });
      assert.equal(form.status >= 400, true, form.text);
      assert.equal(form.headers.get('set-cookie'), null, `${path} as a cross-site form post`);
    }
    const forged = await call(h.url, '/auth/logout', {
      method: 'POST',
      headers: {
        cookie: cookieHeader({ [REFRESH]: `${t.session_id}.${'A'.repeat(43)}`, [CSRF]: t.csrf ?? '' }),
        'x-csrf-token': t.csrf ?? '',
      },
    });
    assertError(forged, 401, 'invalid_token');
    assert.equal(forged.headers.get('set-cookie'), null, 'a forged token clears nothing');
    const bearer = await call(h.url, '/auth/logout', { method: 'POST', token: t.access_token });
    assert.equal(bearer.status, 204, bearer.text);
    assert.equal(bearer.headers.get('set-cookie'), null, 'a body-transfer logout has no cookies to clear');
  });

  async function nearExpiry(): Promise<Tokens> {
    const t = await signIn();
    h.clock.advance(60 - IMPLICIT_REFRESH_WITHIN + 1);
    return t;
  }

  function renewed(reply: Reply, old: Tokens): string {
    assert.equal(reply.status, 200, reply.text);
    const set = setCookies(reply);
    assert.deepEqual([...set.keys()], [ACCESS], 'only the access cookie is renewed');
    const line = set.get(ACCESS) ?? '';
    assert.match(line, /; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    const fresh = cookieValue(line);
    assert.notEqual(fresh, old.access_token);
    const claims = decodeClaims(fresh);
    const before = decodeClaims(old.access_token);
    assert.equal(claims.sid, before.sid);
    assert.equal(claims.csrf, old.csrf, 'the successor is bound to the same CSRF value');
    assert.equal(claims.fresh, false, 'implicit refresh never mints a fresh token');
    assert.ok(Number(claims.exp) > Number(before.exp));
    return fresh;
  }

  it('implicit refresh: a cookie token near expiry gets a new access cookie; far from it or by header, none', async () => {
    const t = await signIn();
    const far = await call(h.url, '/api/protected', m.auth(t));
    assert.equal(far.status, 200);
    assert.equal(far.headers.get('set-cookie'), null, 'not within the window yet');
    h.clock.advance(60 - IMPLICIT_REFRESH_WITHIN + 1);
    assert.equal(
      (await call(h.url, '/api/protected', { token: t.access_token })).headers.get('set-cookie'),
      null,
      'header tokens: the client refreshes',
    );
    const reply = await call(h.url, '/api/protected', m.auth(t));
    assert.match(setCookies(reply).get(ACCESS) ?? '', /Max-Age=60;/);
    const fresh = renewed(reply, t);
    assert.equal(
      (await call(h.url, '/api/sensitive', merge({ method: 'POST' }, m.auth({ ...t, access_token: fresh }))))
        .status,
      401,
      'not fresh',
    );
    const me = await call(h.url, '/auth/me', m.auth({ ...t, access_token: fresh }));
    assert.equal(me.status, 200);
    h.clock.advance(IMPLICIT_REFRESH_WITHIN);
    assertError(await call(h.url, '/api/protected', m.auth(t)), 401, 'token_expired');
    assert.equal(
      (await call(h.url, '/api/protected', m.auth({ ...t, access_token: fresh }))).status,
      200,
      'the successor lives on',
    );
  });

  it('implicit refresh works on unsafe requests, auth routes and optional routes too', async () => {
    const a = await nearExpiry();
    renewed(await call(h.url, '/api/sensitive', merge({ method: 'POST' }, m.auth(a))), a);
    const b = await nearExpiry();
    renewed(await call(h.url, '/auth/me', m.auth(b)), b);
    const c = await nearExpiry();
    renewed(await call(h.url, '/api/whoami', m.auth(c)), c);
  });

  it('implicit refresh reaches streamed responses (decided before the route writes headers)', async () => {
    const t = await nearExpiry();
    const reply = await call(h.url, '/api/stream', m.auth(t));
    assert.deepEqual(reply.json, { sub: '2', streamed: true });
    renewed(reply, t);
    const far = await signIn();
    const plain = await call(h.url, '/api/stream', m.auth(far));
    assert.deepEqual(plain.json, { sub: '2', streamed: true });
    assert.equal(plain.headers.get('set-cookie'), null);
  });

  it('implicit refresh: a stolen access cookie mints no successor once the victim has rotated', async () => {
    const victim = await signIn();
    const stolen = { ...victim };
    m.tokens(await call(h.url, '/auth/refresh', m.refresh(victim)), victim);
    h.clock.advance(60 - IMPLICIT_REFRESH_WITHIN + 1);
    const reply = await call(h.url, '/api/protected', m.auth(stolen));
    assert.equal(reply.status, 200, 'still valid until its own exp');
    assert.equal(reply.headers.get('set-cookie'), null, 'but never renewed: its refresh generation is gone');
    h.clock.advance(IMPLICIT_REFRESH_WITHIN);
    assertError(await call(h.url, '/api/protected', m.auth(stolen)), 401, 'token_expired');
  });

  it("implicit refresh never extends an access token past the session's absolute expiry", async () => {
    const t = await signIn();
    const sessionEnd = Number(decodeClaims(t.access_token).iat) + 3600;
    let current = t.access_token;
    for (let i = 0; i < 70; i++) {
      h.clock.advance(59);
      const reply = await call(h.url, '/api/protected', m.auth({ ...t, access_token: current }));
      if (reply.status !== 200) {
        assertError(reply, 401, 'token_expired');
        break;
      }
      const line = setCookies(reply).get(ACCESS);
      if (line !== undefined) current = cookieValue(line);
      assert.ok(
        Number(decodeClaims(current).exp) <= sessionEnd,
        `exp ${decodeClaims(current).exp} > ${sessionEnd}`,
      );
    }
    assertError(
      await call(h.url, '/api/protected', m.auth({ ...t, access_token: current })),
      401,
      'token_expired',
    );
  });

  it('implicit refresh of a revoked session fails the request', async () => {
    const t = await nearExpiry();
    await h.manager.revokeUser('2');
    assertError(await call(h.url, '/api/protected', m.auth(t)), 401, 'token_revoked');
  });
}
