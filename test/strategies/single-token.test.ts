/**
 * Seed 002 (flask-praetorian's refresh tutorial), through the HTTP layer with
 * an injected clock: login, wait, 401 expired, refresh (same jti and rf_exp),
 * disable_user (access continues until exp), refresh refused, login refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeUnverified, KeySet } from '../../src/jws.ts';
import { AccessTokenCodec } from '../../src/tokens/access-token.ts';
import { signingKey } from '../sessions/support.ts';
import { expectError, sender, storeKinds, strategyHarness } from './support.ts';

for (const kind of storeKinds) {
  describe(`single-token strategy (${kind.name})`, () => {
    // The tutorial's short lifespans: JWT_ACCESS_LIFESPAN and JWT_REFRESH_LIFESPAN.
    const harness = (allowEarlyRefresh?: boolean) =>
      strategyHarness(kind, (base) => ({
        ...base,
        strategy: 'single-token' as const,
        accessTokenTtl: 30,
        refreshTokenTtl: 120,
        ...(allowEarlyRefresh === undefined ? {} : { allowEarlyRefresh }),
      }));

    it('reproduces the refresh tutorial step by step', async () => {
      const h = await harness();
      try {
        const send = sender(h.manager);
        // Log in as TheDude: one token carrying exp and rf_exp.
        const login = await send('POST', '/auth/login', {
          json: { username: 'thedude', password: 'abides' },
        });
        assert.equal(login.status, 200);
        const token = login.json.access_token as string;
        assert.equal(login.json.refresh_token, token, 'one token does both jobs');
        const first = decodeUnverified(token).payload;
        assert.equal((first.exp as number) - (first.iat as number), 30);
        assert.equal((first.rf_exp as number) - (first.iat as number), 120);
        assert.equal((await send('GET', '/protected', { token })).status, 200);

        // Refreshing before the access lifespan ends is refused.
        expectError(await send('POST', '/auth/refresh', { token }), 425, 'early_refresh');

        // Wait for the access lifespan to expire: 401 expired.
        h.clock.advance(31);
        expectError(await send('GET', '/protected', { token }), 401, 'token_expired');

        // Refresh with the expired token in the header: a copy with the same jti and rf_exp, a new exp.
        const refreshed = await send('POST', '/auth/refresh', { token });
        assert.equal(refreshed.status, 200, JSON.stringify(refreshed.json));
        const second = refreshed.json.access_token as string;
        const copy = decodeUnverified(second).payload;
        assert.equal(copy.jti, first.jti);
        assert.equal(copy.rf_exp, first.rf_exp);
        assert.equal(copy.exp, (first.exp as number) + 31);
        assert.equal(refreshed.json.refresh_expires_in, 120 - 31);
        assert.equal((await send('GET', '/protected', { token: second })).status, 200);

        // disable_user: no effect until the access lifespan expires.
        const dude = h.users.byId.get('u1');
        assert.ok(dude);
        dude.disabled = true;
        assert.equal((await send('GET', '/protected', { token: second })).status, 200);
        h.clock.advance(31);
        expectError(await send('GET', '/protected', { token: second }), 401, 'token_expired');
        // ...then the refresh is refused, and so is a new login, answered as a wrong password
        // would be (praetorian's 403 confirms the password; `revealDisabledAccounts` restores it).
        expectError(await send('POST', '/auth/refresh', { token: second }), 403, 'user_disabled');
        expectError(
          await send('POST', '/auth/login', { json: { username: 'thedude', password: 'abides' } }),
          401,
          'invalid_credentials',
        );
      } finally {
        await h.close();
      }
    });

    it('after rf_exp the token is worthless; refresh never extends rf_exp', async () => {
      const h = await harness();
      try {
        const send = sender(h.manager);
        const login = await send('POST', '/auth/login', {
          json: { username: 'walter', password: 'calmerthanyouare' },
        });
        let token = login.json.access_token as string;
        for (let i = 0; i < 3; i++) {
          h.clock.advance(31);
          const refreshed = await send('POST', '/auth/refresh', { token });
          assert.equal(refreshed.status, 200);
          token = refreshed.json.access_token as string;
        }
        // 93 s in: the copy's exp is capped at rf_exp (120 s).
        const payload = decodeUnverified(token).payload;
        assert.equal(payload.exp, payload.rf_exp);
        h.clock.advance(30);
        expectError(await send('POST', '/auth/refresh', { token }), 401, 'session_expired');
      } finally {
        await h.close();
      }
    });

    it('reauth with a genuine access token that carries no rf_exp (another strategy, same keys) is 401 invalid_token', async () => {
      const h = await harness();
      try {
        const send = sender(h.manager);
        // What a rotating instance sharing the keys mints: a valid access token, without rf_exp.
        const codec = new AccessTokenCodec({
          keys: new KeySet([await signingKey()]),
          issuer: 'https://baton.test',
          audience: 'baton-api',
          clock: h.clock,
        });
        const foreign = codec.sign({ sub: 'u1', sid: 'another-session', client_id: 'web' });
        assert.equal((await send('GET', '/protected', { token: foreign })).status, 200);
        expectError(
          await send('POST', '/auth/reauth', { token: foreign, json: { password: 'abides' } }),
          401,
          'invalid_token',
        );
        // One whose rf_exp has passed cannot be renewed by reauth either.
        const lapsed = codec.sign({ sub: 'u1', sid: 'old', client_id: 'web', rf_exp: 1 });
        expectError(
          await send('POST', '/auth/reauth', { token: lapsed, json: { password: 'abides' } }),
          401,
          'session_expired',
        );
      } finally {
        await h.close();
      }
    });

    it('logout revokes every copy (same jti); bad input is a clear 4xx', async () => {
      const h = await harness(true);
      try {
        const send = sender(h.manager);
        const login = await send('POST', '/auth/login', {
          json: { username: 'thedude', password: 'abides' },
        });
        const token = login.json.access_token as string;
        // allowEarlyRefresh: refreshing a live token is fine.
        const copy = (await send('POST', '/auth/refresh', { token })).json.access_token as string;
        assert.equal((await send('POST', '/auth/logout', { token: copy })).status, 204);
        expectError(await send('GET', '/protected', { token }), 401, 'token_revoked');
        expectError(await send('POST', '/auth/refresh', { token }), 401, 'token_revoked');
        expectError(await send('POST', '/auth/refresh', { token: 'abc.def' }), 401, 'invalid_token');
        const tampered = `${token.slice(0, -4)}AAAA`;
        expectError(await send('POST', '/auth/refresh', { token: tampered }), 401, 'invalid_token');
        expectError(
          await send('GET', '/auth/sessions', { token: login.json.access_token as string }),
          401,
          'token_revoked',
        );
      } finally {
        await h.close();
      }
    });
  });
}
