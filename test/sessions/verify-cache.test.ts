// The verified-token cache of SessionManager.verifyAccessToken (on by default):
// a token answered from the cache must meet exactly the fate it would meet
// without it, whatever happened since it was cached.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryStore, SessionManager } from '../../src/index.ts';
import { type Harness, harness, rejectsWith, signingKey, storeKinds, Users } from './support.ts';

/** Verifies twice, so the second answer comes from the cache. */
function cached(h: Harness, token: string) {
  const first = h.manager.verifyAccessToken(token);
  const second = h.manager.verifyAccessToken(token);
  assert.equal(second, first, 'the second verification was not a cache hit');
  return second;
}

for (const kind of storeKinds) {
  describe(`verifyAccessToken with the verify cache, on the ${kind.name} store`, { timeout: 30_000 }, () => {
    let h: Harness;
    before(async () => {
      h = await harness(kind, { leeway: 5 });
    });
    after(() => h.close());

    it('answers a token seen before with the same, frozen claims', async () => {
      const login = await h.manager.login('thedude', 'abides');
      const claims = cached(h, login.accessToken);
      assert.deepEqual({ ...claims }, { ...login.claims });
      assert.ok(Object.isFrozen(claims) && Object.isFrozen(claims.roles));
      assert.throws(() => claims.roles?.push('admin'), TypeError);
      // A copy of the token string (another request) is a hit too.
      assert.equal(h.manager.verifyAccessToken(Buffer.from(login.accessToken).toString()), claims);
    });

    it('a cached token is rejected after logout (by access or refresh token)', async () => {
      const a = await h.manager.login('thedude', 'abides');
      cached(h, a.accessToken);
      await h.manager.logout(a.accessToken);
      await rejectsWith(() => h.manager.verifyAccessToken(a.accessToken), 'token_revoked');
      const b = await h.manager.login('thedude', 'abides');
      cached(h, b.accessToken);
      await h.manager.logout(b.refreshToken);
      await rejectsWith(() => h.manager.verifyAccessToken(b.accessToken), 'token_revoked');
    });

    it('a cached token is rejected after logout-all, revokeUser, refresh-token reuse and a jti revocation', async () => {
      h.users.add({ id: 'u20', username: 'maude', password: 'art' });
      const one = await h.manager.login('maude', 'art');
      const two = await h.manager.login('maude', 'art');
      cached(h, one.accessToken);
      cached(h, two.accessToken);
      await h.manager.logoutAll(one.accessToken);
      await rejectsWith(() => h.manager.verifyAccessToken(two.accessToken), 'token_revoked');

      const three = await h.manager.login('maude', 'art');
      cached(h, three.accessToken);
      await h.manager.revokeUser('u20');
      await rejectsWith(() => h.manager.verifyAccessToken(three.accessToken), 'token_revoked');

      const four = await h.manager.login('thedude', 'abides');
      cached(h, four.accessToken);
      const rotated = await h.manager.refresh(four.refreshToken);
      h.clock.advance(11); // past the grace window: the old refresh token is now a stolen one
      await rejectsWith(h.manager.refresh(four.refreshToken), 'refresh_token_reused');
      await rejectsWith(() => h.manager.verifyAccessToken(four.accessToken), 'token_revoked');
      await rejectsWith(() => h.manager.verifyAccessToken(rotated.accessToken), 'token_revoked');

      const five = await h.manager.login('thedude', 'abides');
      const sibling = await h.manager.refresh(five.refreshToken);
      cached(h, five.accessToken);
      cached(h, sibling.accessToken);
      await h.manager.revokeToken(five.accessToken, 'access_token');
      await rejectsWith(() => h.manager.verifyAccessToken(five.accessToken), 'token_revoked');
      assert.equal(h.manager.verifyAccessToken(sibling.accessToken).sid, five.sessionId);
    });

    it('a cached token passes again after revocations of other sessions, and fails after its own', async () => {
      const mine = await h.manager.login('thedude', 'abides');
      const claims = cached(h, mine.accessToken);
      for (let i = 0; i < 3; i++) {
        const other = await h.manager.login('thedude', 'abides');
        await h.manager.logout(other.accessToken);
        assert.equal(h.manager.verifyAccessToken(mine.accessToken), claims, 'still the cached answer');
        assert.equal(h.manager.verifyAccessToken(mine.accessToken), claims);
      }
      await h.manager.revokeToken(mine.accessToken);
      await rejectsWith(() => h.manager.verifyAccessToken(mine.accessToken), 'token_revoked');
      await rejectsWith(() => h.manager.verifyAccessToken(mine.accessToken), 'token_revoked');
    });

    it('a cached token expires exactly when it would without the cache (leeway included)', async () => {
      const login = await h.manager.login('thedude', 'abides');
      cached(h, login.accessToken);
      const exp = login.claims.exp;
      h.clock.set(exp * 1000 + 4_999); // exp + leeway (5 s) not reached yet
      cached(h, login.accessToken);
      h.clock.set(exp * 1000 + 5_000);
      await rejectsWith(() => h.manager.verifyAccessToken(login.accessToken), 'token_expired');
      // And it stays rejected: the entry is gone, not just skipped once.
      await rejectsWith(() => h.manager.verifyAccessToken(login.accessToken), 'token_expired');
    });

    it('a cached token is not valid before nbf - leeway if the clock goes back', async () => {
      const login = await h.manager.login('thedude', 'abides');
      cached(h, login.accessToken);
      const nbf = login.claims.nbf;
      h.clock.set(nbf * 1000 - 5_000); // nbf - leeway: still fine
      cached(h, login.accessToken);
      h.clock.set(nbf * 1000 - 6_000);
      await rejectsWith(() => h.manager.verifyAccessToken(login.accessToken), 'invalid_token');
      h.clock.set(nbf * 1000);
      cached(h, login.accessToken);
    });

    it('a token differing from a cached one only before its last characters is still fully verified', async () => {
      const login = await h.manager.login('thedude', 'abides');
      cached(h, login.accessToken);
      const [header, payload, signature] = login.accessToken.split('.');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
      const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, roles: ['admin'] })).toString('base64url')}.${signature}`;
      await rejectsWith(() => h.manager.verifyAccessToken(forged), 'invalid_token');
      await rejectsWith(() => h.manager.verifyAccessToken(`${login.accessToken}A`), 'invalid_token');
    });
  });
}

describe('verifyCache option', () => {
  async function make(verifyCache: unknown) {
    return new SessionManager({
      issuer: 'https://baton.test',
      audience: 'baton-api',
      keys: [await signingKey()],
      refreshKey: 'r'.repeat(32),
      store: new MemoryStore(),
      loadUser: new Users().load,
      verifyCache: verifyCache as false,
    });
  }

  it('false turns the cache off: equal claims, a new object each time', async () => {
    const manager = await make(false);
    await manager.ready;
    const pair = await manager.issueSession(new Users().byId.get('u1')!);
    const a = manager.verifyAccessToken(pair.accessToken);
    const b = manager.verifyAccessToken(pair.accessToken);
    assert.notEqual(a, b);
    assert.deepEqual(a, b);
    assert.ok(!Object.isFrozen(a));
    await manager.logout(pair.accessToken);
    assert.throws(() => manager.verifyAccessToken(pair.accessToken), { code: 'token_revoked' });
  });

  it('a small max still answers correctly', async () => {
    const manager = await make({ max: 1 });
    await manager.ready;
    const a = await manager.issueSession(new Users().byId.get('u1')!);
    const b = await manager.issueSession(new Users().byId.get('u1')!);
    for (let i = 0; i < 3; i++) {
      assert.equal(manager.verifyAccessToken(a.accessToken).sid, a.sessionId);
      assert.equal(manager.verifyAccessToken(b.accessToken).sid, b.sessionId);
    }
  });

  it('refuses a max that is not a positive integer up to 2^21', async () => {
    for (const bad of [
      { max: 0 },
      { max: -1 },
      { max: 1.5 },
      { max: '10' },
      { max: 2 ** 21 + 1 },
      true,
      'yes',
    ]) {
      await assert.rejects(make(bad), { code: 'invalid_options' });
    }
  });
});
