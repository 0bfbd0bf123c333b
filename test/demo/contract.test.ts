/**
 * Black-box HTTP contract of the demo server (DESIGN.md "HTTP contract" and
 * "Precise rules"), over real HTTP with fetch, against each store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assertError,
  assertOAuthError,
  basic,
  call,
  type Harness,
  login,
  STORES,
  startHarness,
} from './helpers.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

function decodeClaims(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

for (const store of STORES) {
  describe(`HTTP contract (${store.split(':')[0]} store)`, () => {
    let h: Harness;
    let base: string;

    before(async () => {
      h = await startHarness({ store, rateLimit: { max: 100 } });
      base = h.demo.url;
    });
    after(async () => {
      await h.close();
      assert.deepEqual(h.unexpected, [], 'no request ended in a 500');
    });

    it('login answers the token shape with no-store', async () => {
      const reply = await call(base, '/auth/login', { json: { username: 'thedude', password: 'abides' } });
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
      assert.equal(reply.headers.get('set-cookie'), null, 'header mode sets no cookies');
    });

    it('wrong password and unknown user get the same answer', async () => {
      const before = h.demo.users.verifications;
      const wrong = await call(base, '/auth/login', { json: { username: 'thedude', password: 'nope' } });
      const unknown = await call(base, '/auth/login', { json: { username: 'donny', password: 'nope' } });
      assertError(wrong, 401, 'invalid_credentials');
      assert.equal(unknown.status, wrong.status);
      assert.equal(unknown.text, wrong.text);
      // Both paths computed a password hash (the unknown one against a dummy), so they take the same time.
      assert.equal(h.demo.users.verifications - before, 2);
    });

    it('GET /auth/me answers {claims}', async () => {
      const t = await login(base);
      const reply = await call(base, '/auth/me', { token: t.access_token });
      assert.equal(reply.status, 200);
      const claims = reply.json.claims as Record<string, unknown>;
      assert.equal(claims.sub, '1');
      assert.equal(claims.sid, t.session_id);
      assert.deepEqual(claims.roles, ['user']);
      assert.equal(claims.type, 'access');
    });

    it('GET /api/protected: token required, RFC 6750 challenges', async () => {
      const none = await call(base, '/api/protected');
      assertError(none, 401, 'missing_token');
      assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="baton"');
      const garbage = await call(base, '/api/protected', { token: 'garbage' });
      assertError(garbage, 401, 'invalid_token');
      assert.match(
        garbage.headers.get('www-authenticate') ?? '',
        /^Bearer realm="baton", error="invalid_token"/,
      );
      const t = await login(base);
      const ok = await call(base, '/api/protected', { token: t.access_token });
      assert.equal(ok.status, 200);
      assert.equal(ok.json.sub, '1');
    });

    it('refresh rotates; within grace the old token gets the same successor; after grace reuse kills the session', async () => {
      const t = await login(base);
      const first = await call(base, '/auth/refresh', { json: { refresh_token: t.refresh_token } });
      assert.equal(first.status, 200, first.text);
      assert.equal(first.headers.get('cache-control'), 'no-store');
      assert.notEqual(first.json.refresh_token, t.refresh_token);
      assert.equal(first.json.session_id, t.session_id);

      h.clock.advance(5);
      const again = await call(base, '/auth/refresh', { json: { refresh_token: t.refresh_token } });
      assert.equal(again.status, 200, again.text);
      assert.equal(
        again.json.refresh_token,
        first.json.refresh_token,
        'same successor inside the grace window',
      );
      assert.notEqual(again.json.access_token, first.json.access_token);

      h.clock.advance(6);
      const reused = await call(base, '/auth/refresh', { json: { refresh_token: t.refresh_token } });
      assertError(reused, 401, 'refresh_token_reused');

      const successor = await call(base, '/auth/refresh', {
        json: { refresh_token: first.json.refresh_token },
      });
      assertError(successor, 401, 'token_revoked');
      const access = await call(base, '/api/protected', { token: String(first.json.access_token) });
      assertError(access, 401, 'token_revoked');
      assert.match(access.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    });

    it('a guessed secret is only invalid_token and the session lives on', async () => {
      const t = await login(base);
      const forged = `${t.session_id}.${'A'.repeat(43)}`;
      assertError(
        await call(base, '/auth/refresh', { json: { refresh_token: forged } }),
        401,
        'invalid_token',
      );
      const ok = await call(base, '/auth/refresh', { json: { refresh_token: t.refresh_token } });
      assert.equal(ok.status, 200, ok.text);
    });

    it('refresh token precedence: body, then Authorization', async () => {
      const t = await login(base);
      const bodyWins = await call(base, '/auth/refresh', {
        json: { refresh_token: t.refresh_token },
        token: 'not-a-real-token',
      });
      assert.equal(bodyWins.status, 200, bodyWins.text);
      const header = await call(base, '/auth/refresh', {
        method: 'POST',
        token: String(bodyWins.json.refresh_token),
      });
      assert.equal(header.status, 200, header.text);
      assertError(await call(base, '/auth/refresh', { method: 'POST' }), 401, 'missing_token');
    });

    it('wrong token types: access where refresh is needed and the reverse', async () => {
      const t = await login(base);
      assertError(
        await call(base, '/auth/refresh', { json: { refresh_token: t.access_token } }),
        401,
        'wrong_token_type',
      );
      const reverse = await call(base, '/api/protected', { token: t.refresh_token });
      assert.equal(reverse.status, 401);
      assert.ok(['wrong_token_type', 'invalid_token'].includes(String(reverse.json.error)), reverse.text);
      assert.match(reverse.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    });

    it('expired access token: token_expired; expired session: session_expired', async () => {
      const t = await login(base);
      h.clock.advance(61);
      assertError(await call(base, '/api/protected', { token: t.access_token }), 401, 'token_expired');
      const refreshed = await call(base, '/auth/refresh', { json: { refresh_token: t.refresh_token } });
      assert.equal(refreshed.status, 200, refreshed.text);
      assert.ok(Number(refreshed.json.refresh_expires_in) <= 3600 - 61, 'absolute expiry is not extended');
      h.clock.advance(3600);
      assertError(
        await call(base, '/auth/refresh', { json: { refresh_token: refreshed.json.refresh_token } }),
        401,
        'session_expired',
      );
    });

    it('logout with the refresh token only (access token expired)', async () => {
      const t = await login(base);
      h.clock.advance(61);
      const out = await call(base, '/auth/logout', { json: { refresh_token: t.refresh_token } });
      assert.equal(out.status, 204, out.text);
      assertError(
        await call(base, '/auth/refresh', { json: { refresh_token: t.refresh_token } }),
        401,
        'token_revoked',
      );
    });

    it('logout with the access token revokes the session and its access tokens', async () => {
      const t = await login(base);
      const out = await call(base, '/auth/logout', { method: 'POST', token: t.access_token });
      assert.equal(out.status, 204, out.text);
      assertError(await call(base, '/api/protected', { token: t.access_token }), 401, 'token_revoked');
      assertError(
        await call(base, '/auth/refresh', { json: { refresh_token: t.refresh_token } }),
        401,
        'token_revoked',
      );
    });

    it('logout-all revokes every session of the user', async () => {
      const a = await login(base);
      const b = await login(base);
      const other = await login(base, 'walter', 'calmerthanyouare');
      const out = await call(base, '/auth/logout-all', { method: 'POST', token: a.access_token });
      assert.equal(out.status, 200, out.text);
      assert.ok(Number(out.json.revoked) >= 2);
      assertError(await call(base, '/api/protected', { token: b.access_token }), 401, 'token_revoked');
      assertError(
        await call(base, '/auth/refresh', { json: { refresh_token: b.refresh_token } }),
        401,
        'token_revoked',
      );
      const walter = await call(base, '/api/protected', { token: other.access_token });
      assert.equal(walter.status, 200, 'other users keep their sessions');
    });

    it('sessions: list with current flag and no token values; delete own; another user’s is 404', async () => {
      const phone = await login(base, 'thedude', 'abides', { 'user-agent': 'phone/1.0' });
      const laptop = await login(base, 'thedude', 'abides', { 'user-agent': 'laptop/2.0' });
      const list = await call(base, '/auth/sessions', { token: laptop.access_token });
      assert.equal(list.status, 200, list.text);
      const sessions = list.json.sessions as Record<string, unknown>[];
      assert.ok(sessions.length >= 2);
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
      assert.ok(sessions.every((s) => s.ip === '127.0.0.1' || s.ip === '::ffff:127.0.0.1'));
      for (const t of [phone, laptop]) {
        assert.ok(!list.text.includes(t.refresh_token.split('.')[1] ?? '?'), 'no refresh secret');
        assert.ok(!list.text.includes(t.access_token), 'no access token');
      }

      const walter = await login(base, 'walter', 'calmerthanyouare');
      const theirs = await call(base, `/auth/sessions/${phone.session_id}`, {
        method: 'DELETE',
        token: walter.access_token,
      });
      assertError(theirs, 404, 'not_found');
      assert.equal((await call(base, '/api/protected', { token: phone.access_token })).status, 200);

      const mine = await call(base, `/auth/sessions/${phone.session_id}`, {
        method: 'DELETE',
        token: laptop.access_token,
      });
      assert.equal(mine.status, 204, mine.text);
      assertError(await call(base, '/api/protected', { token: phone.access_token }), 401, 'token_revoked');
      assertError(
        await call(base, '/auth/refresh', { json: { refresh_token: phone.refresh_token } }),
        401,
        'token_revoked',
      );
      const withRefresh = await call(base, '/auth/sessions', { token: laptop.refresh_token });
      assert.equal(withRefresh.status, 401, 'the sessions routes need the access token');
      assert.ok(
        ['wrong_token_type', 'invalid_token'].includes(String(withRefresh.json.error)),
        withRefresh.text,
      );
      assertError(await call(base, '/auth/sessions'), 401, 'missing_token');
    });

    it('POST /auth/token: password grant, form or JSON', async () => {
      const form = await call(base, '/auth/token', {
        form: { grant_type: 'password', username: 'thedude', password: 'abides' },
      });
      assert.equal(form.status, 200, form.text);
      assert.equal(form.json.token_type, 'Bearer');
      assert.equal(typeof form.json.refresh_token, 'string');
      assert.equal(form.headers.get('cache-control'), 'no-store');
      assert.equal(form.headers.get('pragma'), 'no-cache');
      const json = await call(base, '/auth/token', {
        json: { grant_type: 'password', username: 'walter', password: 'calmerthanyouare' },
      });
      assert.equal(json.status, 200, json.text);
      assertOAuthError(
        await call(base, '/auth/token', {
          form: { grant_type: 'password', username: 'thedude', password: 'bad' },
        }),
        400,
        'invalid_grant',
      );
      assertOAuthError(
        await call(base, '/auth/token', { form: { grant_type: 'password', username: 'thedude' } }),
        400,
        'invalid_request',
      );
    });

    it('POST /auth/token: refresh_token grant and its RFC 6749 errors', async () => {
      const t = await login(base);
      const ok = await call(base, '/auth/token', {
        form: { grant_type: 'refresh_token', refresh_token: t.refresh_token },
      });
      assert.equal(ok.status, 200, ok.text);
      assert.notEqual(ok.json.refresh_token, t.refresh_token);
      h.clock.advance(11);
      assertOAuthError(
        await call(base, '/auth/token', {
          form: { grant_type: 'refresh_token', refresh_token: t.refresh_token },
        }),
        400,
        'invalid_grant',
      );
      assertOAuthError(
        await call(base, '/auth/token', {
          form: { grant_type: 'refresh_token', refresh_token: String(ok.json.refresh_token) },
        }),
        400,
        'invalid_grant',
      );
      assertOAuthError(
        await call(base, '/auth/token', { form: { grant_type: 'refresh_token', refresh_token: 'junk' } }),
        400,
        'invalid_grant',
      );
      assertOAuthError(
        await call(base, '/auth/token', { form: { grant_type: 'refresh_token' } }),
        400,
        'invalid_request',
      );
      assertOAuthError(
        await call(base, '/auth/token', { form: { grant_type: 'client_credentials' } }),
        400,
        'unsupported_grant_type',
      );
      assertOAuthError(await call(base, '/auth/token', { form: {} }), 400, 'invalid_request');
      assertOAuthError(
        await call(base, '/auth/token', { body: 'grant_type=password', contentType: 'text/plain' }),
        415,
        'invalid_request',
      );
      assertOAuthError(
        await call(base, '/auth/token', { body: '{', contentType: 'application/json' }),
        400,
        'invalid_request',
      );
    });

    it('POST /auth/token: client authentication and the jwt-bearer grant', async () => {
      const auth = { authorization: basic('demo-client', 'demo-secret') };
      const confidential = await call(base, '/auth/token', {
        form: { grant_type: 'password', username: 'thedude', password: 'abides' },
        headers: auth,
      });
      assert.equal(confidential.status, 200, confidential.text);
      assert.equal(decodeClaims(String(confidential.json.access_token)).client_id, 'demo-client');

      const bad = await call(base, '/auth/token', {
        form: { grant_type: 'password', username: 'thedude', password: 'abides' },
        headers: { authorization: basic('demo-client', 'wrong') },
      });
      assertOAuthError(bad, 401, 'invalid_client');
      assert.match(bad.headers.get('www-authenticate') ?? '', /^Basic realm="baton"/);
      assertOAuthError(
        await call(base, '/auth/token', {
          form: { grant_type: 'password', username: 'thedude', password: 'abides', client_id: 'demo-client' },
        }),
        401,
        'invalid_client',
      );
      assertOAuthError(
        await call(base, '/auth/token', {
          form: {
            grant_type: 'password',
            username: 'thedude',
            password: 'abides',
            client_id: 'nobody',
            client_secret: 'x',
          },
        }),
        401,
        'invalid_client',
      );

      const mismatch = await call(base, '/auth/token', {
        form: {
          grant_type: JWT_BEARER,
          refresh_token: String(confidential.json.refresh_token),
          client_id: 'another-client',
        },
      });
      assertOAuthError(mismatch, 400, 'invalid_grant');
      const bearer = await call(base, '/auth/token', {
        form: {
          grant_type: JWT_BEARER,
          refresh_token: String(confidential.json.refresh_token),
          client_id: 'demo-client',
        },
      });
      assert.equal(bearer.status, 200, bearer.text);
      assert.equal(typeof bearer.json.access_token, 'string');
      assert.notEqual(bearer.json.refresh_token, confidential.json.refresh_token, 'jwt-bearer rotates');
      assertOAuthError(
        await call(base, '/auth/token', {
          form: { grant_type: JWT_BEARER, refresh_token: String(bearer.json.refresh_token) },
        }),
        400,
        'invalid_request',
      );

      // A public client names itself at login; jwt-bearer must then name the same client.
      const pub = await call(base, '/auth/login', {
        json: { username: 'thedude', password: 'abides', client_id: 'mobile-app' },
      });
      assert.equal(pub.status, 200, pub.text);
      assertOAuthError(
        await call(base, '/auth/token', {
          form: { grant_type: JWT_BEARER, refresh_token: String(pub.json.refresh_token), client_id: 'web' },
        }),
        400,
        'invalid_grant',
      );
      const same = await call(base, '/auth/token', {
        form: {
          grant_type: JWT_BEARER,
          refresh_token: String(pub.json.refresh_token),
          client_id: 'mobile-app',
        },
      });
      assert.equal(same.status, 200, same.text);
      assertError(
        await call(base, '/auth/login', {
          json: { username: 'thedude', password: 'abides', client_id: 'demo-client' },
        }),
        400,
        'invalid_request',
      );
    });

    it('POST /auth/revoke (RFC 7009): refresh kills the session, access is denylisted, unknown is 200', async () => {
      const t = await login(base);
      const r = await call(base, '/auth/revoke', {
        form: { token: t.refresh_token, token_type_hint: 'refresh_token' },
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.text, '');
      assertError(await call(base, '/api/protected', { token: t.access_token }), 401, 'token_revoked');
      assertError(
        await call(base, '/auth/refresh', { json: { refresh_token: t.refresh_token } }),
        401,
        'token_revoked',
      );

      const u = await login(base);
      const ra = await call(base, '/auth/revoke', { json: { token: u.access_token } });
      assert.equal(ra.status, 200, ra.text);
      assert.equal(ra.text, '');
      assertError(await call(base, '/api/protected', { token: u.access_token }), 401, 'token_revoked');
      const refreshed = await call(base, '/auth/refresh', { json: { refresh_token: u.refresh_token } });
      assert.equal(refreshed.status, 200, 'revoking one access token leaves the session');
      assert.equal(
        (await call(base, '/api/protected', { token: String(refreshed.json.access_token) })).status,
        200,
      );

      for (const token of ['junk', 'a.b.c', `${u.session_id}.xyz`]) {
        const unknown = await call(base, '/auth/revoke', { form: { token } });
        assert.equal(unknown.status, 200, unknown.text);
        assert.equal(unknown.text, '');
      }
      assertOAuthError(await call(base, '/auth/revoke', { form: {} }), 400, 'invalid_request');
      assertOAuthError(
        await call(base, '/auth/revoke', {
          form: { token: 'x' },
          headers: { authorization: basic('demo-client', 'bad') },
        }),
        401,
        'invalid_client',
      );
    });

    it('POST /auth/introspect (RFC 7662): who may ask, and what inactive looks like', async () => {
      const dude = await login(base);
      const walter = await login(base, 'walter', 'calmerthanyouare');
      const none = await call(base, '/auth/introspect', { form: { token: dude.access_token } });
      assertOAuthError(none, 401, 'invalid_client');
      assert.ok(none.headers.get('www-authenticate'));
      assertOAuthError(
        await call(base, '/auth/introspect', {
          form: { token: dude.access_token },
          token: dude.access_token,
        }),
        403,
        'insufficient_scope',
      );
      assertOAuthError(
        await call(base, '/auth/introspect', {
          form: { token: dude.access_token },
          headers: { authorization: basic('demo-client', 'nope') },
        }),
        401,
        'invalid_client',
      );

      const asClient = await call(base, '/auth/introspect', {
        form: { token: dude.access_token },
        headers: { authorization: basic('demo-client', 'demo-secret') },
      });
      assert.equal(asClient.status, 200, asClient.text);
      assert.equal(asClient.json.active, true);
      assert.equal(asClient.json.sub, '1');
      const asAdmin = await call(base, '/auth/introspect', {
        form: { token: dude.refresh_token },
        token: walter.access_token,
      });
      assert.equal(asAdmin.status, 200, asAdmin.text);
      assert.equal(asAdmin.json.active, true);

      for (const token of ['garbage', dude.access_token.slice(0, -2)]) {
        const inactive = await call(base, '/auth/introspect', {
          form: { token },
          token: walter.access_token,
        });
        assert.equal(inactive.status, 200);
        assert.equal(inactive.text, '{"active":false}');
      }
      await call(base, '/auth/logout', { method: 'POST', token: dude.access_token });
      const revoked = await call(base, '/auth/introspect', {
        form: { token: dude.access_token },
        token: walter.access_token,
      });
      assert.equal(revoked.text, '{"active":false}');
    });

    it('GET /.well-known/jwks.json publishes the public key only', async () => {
      const reply = await call(base, '/.well-known/jwks.json');
      assert.equal(reply.status, 200);
      const keys = reply.json.keys as Record<string, unknown>[];
      assert.equal(keys.length, 1);
      assert.equal(keys[0]?.alg, 'EdDSA');
      assert.equal(typeof keys[0]?.kid, 'string');
      assert.equal(keys[0]?.d, undefined);
      const t = await login(base);
      const header = JSON.parse(
        Buffer.from(t.access_token.split('.')[0] ?? '', 'base64url').toString('utf8'),
      );
      assert.equal(header.kid, keys[0]?.kid);
      assert.equal(header.typ, 'at+jwt');
    });

    it('reauth makes a fresh token; a refreshed one gets fresh_token_required', async () => {
      const t = await login(base);
      assert.equal(
        (await call(base, '/api/sensitive', { method: 'POST', token: t.access_token })).status,
        200,
      );
      const refreshed = await call(base, '/auth/refresh', { json: { refresh_token: t.refresh_token } });
      const stale = await call(base, '/api/sensitive', {
        method: 'POST',
        token: String(refreshed.json.access_token),
      });
      assertError(stale, 401, 'fresh_token_required');
      assert.match(stale.headers.get('www-authenticate') ?? '', /^Bearer realm="baton", error=/);

      assertError(
        await call(base, '/auth/reauth', {
          json: { password: 'wrong' },
          token: String(refreshed.json.access_token),
        }),
        401,
        'invalid_credentials',
      );
      const re = await call(base, '/auth/reauth', {
        json: { password: 'abides' },
        token: String(refreshed.json.access_token),
      });
      assert.equal(re.status, 200, re.text);
      assert.equal(re.headers.get('cache-control'), 'no-store');
      assert.equal(re.json.refresh_token, undefined, 'the session token is not re-sent');
      assert.equal(re.json.session_id, t.session_id);
      assert.equal(
        (await call(base, '/api/sensitive', { method: 'POST', token: String(re.json.access_token) })).status,
        200,
      );
      assertError(await call(base, '/auth/reauth', { json: { password: 'abides' } }), 401, 'missing_token');
      const withRefresh = await call(base, '/auth/reauth', {
        json: { password: 'abides' },
        token: String(refreshed.json.refresh_token),
      });
      assert.equal(withRefresh.status, 401, withRefresh.text);
    });

    it('bad input gets a 4xx JSON error with a stable code, never a 500', async () => {
      const bad = (body: string, type = 'application/json') =>
        call(base, '/auth/login', { body, contentType: type });
      assertError(await bad('{"username":'), 400, 'invalid_request');
      assertError(await bad('[]'), 400, 'invalid_request');
      assertError(
        await bad('{"username":"thedude","password":"abides"}', 'text/plain'),
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
      assertError(
        await call(base, '/auth/login', {
          body: new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]),
          contentType: 'application/json',
        }),
        400,
        'invalid_request',
      );
      assertError(await call(base, '/auth/login', { method: 'POST' }), 415, 'invalid_request');

      const huge = await call(base, '/api/protected', {
        headers: { authorization: `Bearer ${'a'.repeat(9000)}` },
      });
      assertError(huge, 400, 'invalid_request');
      assertError(
        await call(base, '/api/protected', { headers: { authorization: 'Bearer a b' } }),
        400,
        'invalid_request',
      );
      for (const token of [
        'x',
        'a.b.c',
        'eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.',
        `${'a'.repeat(40)}.${'b'.repeat(40)}.${'c'.repeat(40)}`,
      ]) {
        assertError(await call(base, '/api/protected', { token }), 401, 'invalid_token');
        const refresh = await call(base, '/auth/refresh', { json: { refresh_token: token } });
        assert.equal(refresh.status, 401, refresh.text);
        assert.ok(['invalid_token', 'wrong_token_type'].includes(String(refresh.json.error)), refresh.text);
      }
      assertError(await call(base, '/auth/refresh', { json: { refresh_token: 42 } }), 400, 'invalid_request');
      assertError(
        await call(base, '/auth/refresh', { body: 'refresh_token=x', contentType: 'text/plain' }),
        415,
        'invalid_request',
      );
      assertError(
        await call(base, '/api/protected', { headers: { cookie: 'baton_access=abc; junk;;=' } }),
        401,
        'missing_token',
      );

      const wrongMethod = await call(base, '/auth/login');
      assert.equal(wrongMethod.status, 405);
      assert.equal(wrongMethod.headers.get('allow'), 'POST');
      assert.equal((await call(base, '/auth/nope')).status, 404);
      assert.equal((await call(base, '/auth/sessions/../../etc', { method: 'DELETE' })).status, 404);
    });

    it('admin route needs the admin role', async () => {
      const dude = await login(base);
      const denied = await call(base, '/api/admin/disable-user', {
        json: { username: 'walter' },
        token: dude.access_token,
      });
      assertError(denied, 403, 'insufficient_scope');
      assert.match(denied.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
      const walter = await login(base, 'walter', 'calmerthanyouare');
      assertError(
        await call(base, '/api/admin/disable-user', {
          json: { username: 'nobody' },
          token: walter.access_token,
        }),
        404,
        'not_found',
      );
      assertError(
        await call(base, '/api/admin/disable-user', { json: {}, token: walter.access_token }),
        400,
        'invalid_request',
      );
    });

    it('disable-user: tokens rejected at once, refresh and login get user_disabled', async () => {
      const dude = await login(base);
      const walter = await login(base, 'walter', 'calmerthanyouare');
      const reply = await call(base, '/api/admin/disable-user', {
        json: { username: 'thedude' },
        token: walter.access_token,
      });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.json.disabled, true);
      assert.ok(Number(reply.json.revoked_sessions) >= 1);
      assertError(await call(base, '/api/protected', { token: dude.access_token }), 401, 'token_revoked');
      const refresh = await call(base, '/auth/refresh', { json: { refresh_token: dude.refresh_token } });
      assert.equal(refresh.status, refresh.json.error === 'user_disabled' ? 403 : 401, refresh.text);
      assertError(
        await call(base, '/auth/login', { json: { username: 'thedude', password: 'abides' } }),
        403,
        'user_disabled',
      );
    });
  });
}
