/** Browser mode of the demo: HttpOnly token cookies and double-submit CSRF. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assertError,
  call,
  cookieValue,
  type Harness,
  type Reply,
  STORES,
  setCookies,
  startHarness,
} from './helpers.ts';

interface Jar {
  access: string;
  refresh: string;
  csrf: string;
}

function jar(reply: Reply): Jar {
  const set = setCookies(reply);
  return {
    access: cookieValue(set.get('baton_access')),
    refresh: cookieValue(set.get('baton_refresh')),
    csrf: cookieValue(set.get('baton_csrf')),
  };
}

for (const store of STORES) {
  describe(`cookie mode (${store.split(':')[0]} store)`, () => {
    let h: Harness;
    let base: string;

    before(async () => {
      h = await startHarness({ store, cookies: true });
      base = h.demo.url;
    });
    after(async () => {
      await h.close();
      assert.deepEqual(h.unexpected, []);
    });

    async function loginJar(): Promise<{ reply: Reply; jar: Jar }> {
      const reply = await call(base, '/auth/login', { json: { username: 'thedude', password: 'abides' } });
      assert.equal(reply.status, 200, reply.text);
      return { reply, jar: jar(reply) };
    }

    it('login sets HttpOnly Secure SameSite=Lax token cookies and a readable CSRF cookie', async () => {
      const { reply, jar: j } = await loginJar();
      const set = setCookies(reply);
      const access = set.get('baton_access') ?? '';
      const refresh = set.get('baton_refresh') ?? '';
      const csrf = set.get('baton_csrf') ?? '';
      for (const c of [access, refresh]) {
        assert.match(c, /; HttpOnly/);
        assert.match(c, /; Secure/);
        assert.match(c, /; SameSite=Lax/);
      }
      assert.match(access, /; Path=\/;/);
      assert.match(access, /Max-Age=60;/);
      assert.match(refresh, /; Path=\/auth;/);
      assert.match(refresh, /Max-Age=3600;/);
      assert.doesNotMatch(csrf, /HttpOnly/);
      assert.match(csrf, /; Secure/);
      assert.equal(j.access, reply.json.access_token);
      assert.equal(j.refresh, reply.json.refresh_token);
      assert.ok(j.csrf.length >= 22);
    });

    it('safe requests authenticate with the access cookie alone', async () => {
      const { jar: j } = await loginJar();
      const reply = await call(base, '/api/protected', { headers: { cookie: `baton_access=${j.access}` } });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(
        (await call(base, '/auth/me', { headers: { cookie: `baton_access=${j.access}` } })).status,
        200,
      );
    });

    it('unsafe requests with a cookie token need the CSRF header (constant-time checked)', async () => {
      const { jar: j } = await loginJar();
      const cookie = `baton_access=${j.access}; baton_csrf=${j.csrf}`;
      assertError(
        await call(base, '/api/sensitive', { method: 'POST', headers: { cookie } }),
        401,
        'csrf_failed',
      );
      assertError(
        await call(base, '/api/sensitive', {
          method: 'POST',
          headers: { cookie, 'x-csrf-token': `${j.csrf}x` },
        }),
        401,
        'csrf_failed',
      );
      assertError(
        await call(base, '/api/sensitive', {
          method: 'POST',
          headers: { cookie: `baton_access=${j.access}`, 'x-csrf-token': j.csrf },
        }),
        401,
        'csrf_failed',
      );
      const ok = await call(base, '/api/sensitive', {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': j.csrf },
      });
      assert.equal(ok.status, 200, ok.text);
      const header = await call(base, '/api/sensitive', { method: 'POST', token: j.access });
      assert.equal(header.status, 200, 'a header token needs no CSRF token');
    });

    it('refresh from the cookie: CSRF required, cookies rotated, CSRF value kept', async () => {
      const { jar: j } = await loginJar();
      const cookie = `baton_refresh=${j.refresh}; baton_csrf=${j.csrf}`;
      assertError(
        await call(base, '/auth/refresh', { method: 'POST', headers: { cookie } }),
        401,
        'csrf_failed',
      );
      const reply = await call(base, '/auth/refresh', {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': j.csrf },
      });
      assert.equal(reply.status, 200, reply.text);
      const next = jar(reply);
      assert.notEqual(next.refresh, j.refresh);
      assert.notEqual(next.access, j.access);
      assert.equal(next.csrf, j.csrf);
      const bodyWins = await call(base, '/auth/refresh', {
        json: { refresh_token: next.refresh },
        headers: { cookie: `baton_refresh=junk` },
      });
      assert.equal(bodyWins.status, 200, 'the body token wins over the cookie, and needs no CSRF token');
    });

    it('logout from the cookie clears all three cookies', async () => {
      const { jar: j } = await loginJar();
      const cookie = `baton_access=${j.access}; baton_refresh=${j.refresh}; baton_csrf=${j.csrf}`;
      assertError(
        await call(base, '/auth/logout', { method: 'POST', headers: { cookie } }),
        401,
        'csrf_failed',
      );
      const out = await call(base, '/auth/logout', {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': j.csrf },
      });
      assert.equal(out.status, 204, out.text);
      const cleared = setCookies(out);
      for (const name of ['baton_access', 'baton_refresh', 'baton_csrf']) {
        assert.match(cleared.get(name) ?? '', /^[a-z_]+=; Max-Age=0;/, name);
      }
      assert.match(cleared.get('baton_refresh') ?? '', /Path=\/auth/);
      assertError(await call(base, '/api/protected', { token: j.access }), 401, 'token_revoked');
    });

    it('reauth through cookies sets a fresh access cookie', async () => {
      const { jar: j } = await loginJar();
      const refreshed = jar(
        await call(base, '/auth/refresh', {
          method: 'POST',
          headers: { cookie: `baton_refresh=${j.refresh}; baton_csrf=${j.csrf}`, 'x-csrf-token': j.csrf },
        }),
      );
      const cookie = `baton_access=${refreshed.access}; baton_csrf=${j.csrf}`;
      assertError(
        await call(base, '/api/sensitive', { method: 'POST', headers: { cookie, 'x-csrf-token': j.csrf } }),
        401,
        'fresh_token_required',
      );
      const re = await call(base, '/auth/reauth', {
        json: { password: 'abides' },
        headers: { cookie, 'x-csrf-token': j.csrf },
      });
      assert.equal(re.status, 200, re.text);
      const fresh = cookieValue(setCookies(re).get('baton_access'));
      assert.equal(setCookies(re).has('baton_refresh'), false);
      const ok = await call(base, '/api/sensitive', {
        method: 'POST',
        headers: { cookie: `baton_access=${fresh}; baton_csrf=${j.csrf}`, 'x-csrf-token': j.csrf },
      });
      assert.equal(ok.status, 200, ok.text);
    });
  });
}
