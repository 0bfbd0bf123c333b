/**
 * Seeds 001 (flask-jwt-extended) and 003 (fastjwt/AuthX): stateless refresh
 * JWTs, through the HTTP layer. The AuthX example app, step by step:
 * /login, /protected, the sensitive operation, /refresh with
 * `Authorization: Bearer $REFRESH_TOKEN`; then flask-jwt-extended's rules.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeUnverified } from '../../src/jws.ts';
import { expectError, type Send, sender, storeKinds, strategyHarness } from './support.ts';

for (const kind of storeKinds) {
  describe(`jwt strategy (${kind.name})`, () => {
    let h: Awaited<ReturnType<typeof harness>>;
    let send: Send;
    const harness = () =>
      strategyHarness(kind, (base) => ({
        ...base,
        strategy: 'jwt' as const,
        accessTokenTtl: '15m',
        freshness: '10m',
      }));
    before(async () => {
      h = await harness();
      send = sender(h.manager);
    });
    after(() => h.close());

    it('ports the AuthX example app: login, protected, sensitive operation, refresh by Authorization header', async () => {
      // 1. Login
      const login = await send('POST', '/auth/login', { json: { username: 'thedude', password: 'abides' } });
      assert.equal(login.status, 200);
      const token = login.json.access_token as string;
      const refreshToken = login.json.refresh_token as string;
      const refreshJwt = decodeUnverified(refreshToken);
      assert.equal(refreshJwt.header.typ, 'JWT');
      assert.equal(refreshJwt.payload.type, 'refresh');
      assert.equal(refreshJwt.payload.sid, decodeUnverified(token).payload.sid);
      assert.equal(login.json.refresh_expires_in, 30 * 86400);
      // 2. Protected route and sensitive operation with the (fresh) login token
      assert.equal((await send('GET', '/protected', { token })).status, 200);
      assert.equal((await send('POST', '/sensitive_operation', { token })).status, 200);
      // 3. Refresh: `curl --oauth2-bearer $REFRESH_TOKEN .../refresh`, answers a new access token only
      const refreshed = await send('POST', '/auth/refresh', { token: refreshToken });
      assert.equal(refreshed.status, 200);
      assert.equal(refreshed.json.refresh_token, undefined, 'no rotation by default');
      const newToken = refreshed.json.access_token as string;
      assert.equal((await send('GET', '/protected', { token: newToken })).status, 200);
      // A refreshed token is not fresh: the sensitive operation wants the password again.
      expectError(
        await send('POST', '/sensitive_operation', { token: newToken }),
        401,
        'fresh_token_required',
      );
      // The refresh token stays valid (no rotation).
      assert.equal((await send('POST', '/auth/refresh', { token: refreshToken })).status, 200);
    });

    it('refuses an access token where a refresh token is required, and the reverse', async () => {
      const login = await send('POST', '/auth/login', { json: { username: 'thedude', password: 'abides' } });
      expectError(
        await send('POST', '/auth/refresh', { token: login.json.access_token as string }),
        401,
        'wrong_token_type',
      );
      expectError(
        await send('GET', '/protected', { token: login.json.refresh_token as string }),
        401,
        'wrong_token_type',
      );
      expectError(await send('POST', '/auth/refresh', { token: 'not-a-jwt' }), 401, 'invalid_token');
      expectError(
        await send('POST', '/auth/refresh', { json: { refresh_token: 42 } }),
        400,
        'invalid_request',
      );
    });

    it('fresh=timedelta: a login token is fresh for 10 minutes, then not', async () => {
      const login = await send('POST', '/auth/login', { json: { username: 'thedude', password: 'abides' } });
      const token = login.json.access_token as string;
      h.clock.advance(9 * 60);
      assert.equal((await send('POST', '/sensitive_operation', { token })).status, 200);
      h.clock.advance(2 * 60);
      expectError(await send('POST', '/sensitive_operation', { token }), 401, 'fresh_token_required');
      const reauth = await send('POST', '/auth/reauth', { token, json: { password: 'abides' } });
      assert.equal(reauth.status, 200);
      const fresh = reauth.json.access_token as string;
      assert.equal((await send('POST', '/sensitive_operation', { token: fresh })).status, 200);
    });

    it('logout revokes the refresh token together with the access token (seed 001)', async () => {
      const login = await send('POST', '/auth/login', { json: { username: 'thedude', password: 'abides' } });
      const token = login.json.access_token as string;
      const refreshToken = login.json.refresh_token as string;
      const later = (await send('POST', '/auth/refresh', { token: refreshToken })).json
        .access_token as string;
      assert.equal((await send('POST', '/auth/logout', { token })).status, 204);
      expectError(await send('GET', '/protected', { token }), 401, 'token_revoked');
      expectError(await send('GET', '/protected', { token: later }), 401, 'token_revoked');
      expectError(await send('POST', '/auth/refresh', { token: refreshToken }), 401, 'token_revoked');
    });

    it('the denylist lives in the store: a second process sharing it refuses the revoked refresh token', async () => {
      const login = await send('POST', '/auth/login', {
        json: { username: 'walter', password: 'calmerthanyouare' },
      });
      const refreshToken = login.json.refresh_token as string;
      await send('POST', '/auth/logout', { json: { refresh_token: refreshToken } });
      const { createAuthManager } = await import('../../src/sessions/strategies/index.ts');
      const other = createAuthManager({
        ...h.manager.options,
        strategy: 'jwt',
        keys: h.manager.options.keys,
      });
      await other.ready;
      await assert.rejects(other.refresh(refreshToken), { code: 'token_revoked' });
    });

    it('an expired refresh token is session_expired; sessions routes explain they are unavailable', async () => {
      const login = await send('POST', '/auth/login', { json: { username: 'thedude', password: 'abides' } });
      const token = login.json.access_token as string;
      expectError(await send('GET', '/auth/sessions', { token }), 400, 'invalid_request');
      expectError(await send('POST', '/auth/logout-all', { token }), 400, 'invalid_request');
      h.clock.advance(30 * 86400 + 1);
      expectError(
        await send('POST', '/auth/refresh', { token: login.json.refresh_token as string }),
        401,
        'session_expired',
      );
    });

    it('a disabled user cannot refresh (403) and their tokens die', async () => {
      const login = await send('POST', '/auth/login', { json: { username: 'thedude', password: 'abides' } });
      const user = h.users.byId.get('u1');
      assert.ok(user);
      user.disabled = true;
      try {
        const refreshToken = login.json.refresh_token as string;
        expectError(await send('POST', '/auth/refresh', { token: refreshToken }), 403, 'user_disabled');
        expectError(
          await send('GET', '/protected', { token: login.json.access_token as string }),
          401,
          'token_revoked',
        );
      } finally {
        user.disabled = false;
      }
    });
  });

  describe(`jwt strategy with rotateRefreshTokens (${kind.name})`, () => {
    it('answers a new refresh token (same absolute expiry) and denies the old one', async () => {
      const h = await strategyHarness(kind, (base) => ({
        ...base,
        strategy: 'jwt' as const,
        rotateRefreshTokens: true,
      }));
      try {
        const send = sender(h.manager);
        const login = await send('POST', '/auth/login', {
          json: { username: 'thedude', password: 'abides' },
        });
        const first = login.json.refresh_token as string;
        h.clock.advance(60);
        const rotated = await send('POST', '/auth/refresh', { token: first });
        const second = rotated.json.refresh_token as string;
        assert.ok(second && second !== first);
        assert.equal(decodeUnverified(second).payload.exp, decodeUnverified(first).payload.exp);
        expectError(await send('POST', '/auth/refresh', { token: first }), 401, 'token_revoked');
        assert.equal((await send('POST', '/auth/refresh', { token: second })).status, 200);
      } finally {
        await h.close();
      }
    });

    it('implicit reissue: only while the refresh token it descends from lives, never past its expiry', async () => {
      const h = await strategyHarness(kind, (base) => ({
        ...base,
        strategy: 'jwt' as const,
        rotateRefreshTokens: true,
        accessTokenTtl: 60,
        refreshTokenTtl: 300,
      }));
      try {
        const login = await h.manager.login('thedude', 'abides');
        const stolen = login.accessToken;
        const renewed = await h.manager.reissueAccessToken(stolen);
        assert.equal(renewed.claims.rf_jti, login.claims.rf_jti, 'the successor keeps its lineage');
        // The victim rotates: the stolen token's refresh token is denied, so it mints nothing more.
        const rotated = await h.manager.refresh(login.refreshToken);
        await assert.rejects(h.manager.reissueAccessToken(stolen), { code: 'session_expired' });
        await assert.rejects(h.manager.reissueAccessToken(renewed.accessToken), { code: 'session_expired' });
        // The victim's own token renews, up to the login's absolute expiry and not a second past it.
        const end = Number(decodeUnverified(login.refreshToken).payload.exp);
        let current = rotated.accessToken;
        let exp = 0;
        for (let i = 0; i < 5; i++) {
          h.clock.advance(55);
          const next = await h.manager.reissueAccessToken(current);
          exp = next.claims.exp;
          assert.ok(exp <= end, `exp ${exp} > session end ${end}`);
          current = next.accessToken;
        }
        assert.equal(exp, end, 'capped at the session end');
        h.clock.advance(30);
        await assert.rejects(h.manager.reissueAccessToken(current), { code: 'token_expired' });
      } finally {
        await h.close();
      }
    });
  });
}
