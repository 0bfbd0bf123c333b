import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BatonError, MemoryStore, SessionManager } from '../../src/index.ts';
import { type Harness, harness, rejectsWith, signingKey, storeKinds, Users } from './support.ts';

for (const kind of storeKinds) {
  describe(`SessionManager on the ${kind.name} store`, { timeout: 30_000 }, () => {
    let h: Harness;
    before(async () => {
      h = await harness(kind);
    });
    after(() => h.close());

    describe('login', () => {
      it('opens a session and returns an access token and an opaque refresh token', async () => {
        const pair = await h.manager.login('thedude', 'abides', { userAgent: 'curl/8', ip: '127.0.0.1' });
        assert.equal(pair.tokenType, 'Bearer');
        assert.equal(pair.expiresIn, 900);
        assert.equal(pair.refreshExpiresIn, 30 * 86400);
        assert.match(pair.refreshToken, /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{48}$/);
        assert.equal(pair.refreshToken.split('.')[0], pair.sessionId);
        const claims = h.manager.verifyAccessToken(pair.accessToken);
        assert.equal(claims.sub, 'u1');
        assert.equal(claims.sid, pair.sessionId);
        assert.equal(claims.type, 'access');
        assert.equal(claims.fresh, true);
        assert.deepEqual(claims.roles, ['user']);
        assert.equal(claims.client_id, 'https://baton.test');
        const stored = await h.store.getSession(pair.sessionId);
        assert.ok(stored);
        assert.ok(
          !JSON.stringify(stored).includes(pair.refreshToken.split('.')[1]!),
          'secret stored in clear',
        );
        assert.equal(stored.userAgent, 'curl/8');
      });

      it('refuses a wrong password and an unknown user alike', async () => {
        const wrong = await rejectsWith(h.manager.login('thedude', 'nope'), 'invalid_credentials');
        const unknown = await rejectsWith(h.manager.login('nobody', 'nope'), 'invalid_credentials');
        assert.equal(wrong.message, unknown.message);
      });

      it('refuses a disabled user with the answer a wrong password gets', async () => {
        h.users.add({ id: 'u3', username: 'donny', password: 'x', disabled: true });
        await rejectsWith(h.manager.login('donny', 'x'), 'invalid_credentials');
      });
    });

    describe('refresh rotation', () => {
      it('rotates: the new token works, the access token minted is not fresh', async () => {
        const first = await h.manager.login('thedude', 'abides');
        const second = await h.manager.refresh(first.refreshToken);
        assert.notEqual(second.refreshToken, first.refreshToken);
        assert.equal(second.sessionId, first.sessionId);
        assert.equal(h.manager.verifyAccessToken(second.accessToken).fresh, false);
        const third = await h.manager.refresh(second.refreshToken);
        assert.notEqual(third.refreshToken, second.refreshToken);
        assert.equal((await h.store.getSession(first.sessionId))?.generation, 2);
      });

      it('does not extend the absolute session lifetime', async () => {
        const first = await h.manager.login('thedude', 'abides');
        h.clock.advance(3600);
        const second = await h.manager.refresh(first.refreshToken);
        assert.equal(second.refreshExpiresIn, 30 * 86400 - 3600);
      });

      it('lets exactly one of 30 concurrent refreshes rotate; all get the same successor', async () => {
        const login = await h.manager.login('thedude', 'abides');
        const results = await Promise.all(
          Array.from({ length: 30 }, () => h.manager.refresh(login.refreshToken)),
        );
        const successors = new Set(results.map((pair) => pair.refreshToken));
        assert.equal(successors.size, 1);
        assert.equal((await h.store.getSession(login.sessionId))?.generation, 1);
        const next = await h.manager.refresh([...successors][0]!);
        assert.ok(next.refreshToken);
      });

      it('answers the previous token inside the grace window with the current successor', async () => {
        const login = await h.manager.login('thedude', 'abides');
        const rotated = await h.manager.refresh(login.refreshToken);
        h.clock.advance(9);
        const late = await h.manager.refresh(login.refreshToken);
        assert.equal(late.refreshToken, rotated.refreshToken);
        assert.equal((await h.store.getSession(login.sessionId))?.revokedAt, null);
      });

      it('treats reuse after the grace window as theft: session, successor and access tokens die', async () => {
        const login = await h.manager.login('thedude', 'abides');
        const rotated = await h.manager.refresh(login.refreshToken);
        h.clock.advance(11);
        await rejectsWith(h.manager.refresh(login.refreshToken), 'refresh_token_reused');
        await rejectsWith(h.manager.refresh(rotated.refreshToken), 'token_revoked');
        await rejectsWith(() => h.manager.verifyAccessToken(rotated.accessToken), 'token_revoked');
        await rejectsWith(() => h.manager.verifyAccessToken(login.accessToken), 'token_revoked');
        assert.equal((await h.store.getSession(login.sessionId))?.revokedReason, 'refresh_token_reused');
      });

      it('treats a token two generations old as theft even inside the window', async () => {
        const login = await h.manager.login('thedude', 'abides');
        const second = await h.manager.refresh(login.refreshToken);
        await h.manager.refresh(second.refreshToken);
        await rejectsWith(h.manager.refresh(login.refreshToken), 'refresh_token_reused');
      });

      it('a guessed secret for a real session id is invalid_token and the session lives on', async () => {
        const login = await h.manager.login('thedude', 'abides');
        const forged = `${login.sessionId}.${'A'.repeat(48)}`;
        await rejectsWith(h.manager.refresh(forged), 'invalid_token');
        const forgedOldGeneration = `${login.sessionId}.AAAAAA${'B'.repeat(42)}`;
        await rejectsWith(h.manager.refresh(forgedOldGeneration), 'invalid_token');
        assert.ok(await h.manager.refresh(login.refreshToken));
      });

      it('rejects malformed tokens and access tokens with stable codes', async () => {
        const login = await h.manager.login('thedude', 'abides');
        for (const junk of ['', 'x', 'a.b', `${login.sessionId}.`, 'ü'.repeat(300)]) {
          await rejectsWith(h.manager.refresh(junk), 'invalid_token');
        }
        await rejectsWith(h.manager.refresh(login.accessToken), 'wrong_token_type');
        await rejectsWith(() => h.manager.verifyAccessToken(login.refreshToken), 'wrong_token_type');
      });

      it('expires the session at its absolute lifetime', async () => {
        const login = await h.manager.login('thedude', 'abides');
        h.clock.advance(30 * 86400);
        await rejectsWith(h.manager.refresh(login.refreshToken), 'session_expired');
      });

      it('re-validates the user: a disabled user loses every session and access token', async () => {
        h.users.add({ id: 'u4', username: 'maude', password: 'art' });
        const a = await h.manager.login('maude', 'art');
        const b = await h.manager.login('maude', 'art');
        h.users.add({ id: 'u4', username: 'maude', password: 'art', disabled: true });
        await rejectsWith(h.manager.refresh(a.refreshToken), 'user_disabled');
        await rejectsWith(() => h.manager.verifyAccessToken(b.accessToken), 'token_revoked');
        await rejectsWith(h.manager.refresh(b.refreshToken), 'token_revoked');
      });

      it('a deleted user is disabled too', async () => {
        h.users.add({ id: 'u5', username: 'bunny', password: 'toe' });
        const login = await h.manager.login('bunny', 'toe');
        h.users.byId.delete('u5');
        await rejectsWith(h.manager.refresh(login.refreshToken), 'user_disabled');
      });

      it('checks client_id for the jwt-bearer grant when the session has one', async () => {
        const login = await h.manager.login('thedude', 'abides', { clientId: 'mobile' });
        assert.equal(h.manager.verifyAccessToken(login.accessToken).client_id, 'mobile');
        await rejectsWith(
          h.manager.refresh(login.refreshToken, { expectedClientId: 'web' }),
          'invalid_request',
        );
        const ok = await h.manager.refresh(login.refreshToken, { expectedClientId: 'mobile' });
        assert.equal(ok.claims.client_id, 'mobile');
      });
    });

    describe('sessions and revocation', () => {
      it('lists the live sessions of a user, marking the current one, never token values', async () => {
        h.users.add({ id: 'u6', username: 'jesus', password: 'quintana' });
        const phone = await h.manager.login('jesus', 'quintana', { userAgent: 'phone' });
        h.clock.advance(1);
        const laptop = await h.manager.login('jesus', 'quintana', { userAgent: 'laptop' });
        const sessions = await h.manager.listSessions('u6', laptop.sessionId);
        assert.deepEqual(
          sessions.map((s) => [s.id, s.userAgent, s.current]),
          [
            [laptop.sessionId, 'laptop', true],
            [phone.sessionId, 'phone', false],
          ],
        );
        assert.ok(!JSON.stringify(sessions).includes(phone.refreshToken.split('.')[1]!));
      });

      it('logout with the refresh token revokes the session and its access tokens at once', async () => {
        const login = await h.manager.login('thedude', 'abides');
        await h.manager.logout(login.refreshToken);
        await rejectsWith(() => h.manager.verifyAccessToken(login.accessToken), 'token_revoked');
        await rejectsWith(h.manager.refresh(login.refreshToken), 'token_revoked');
        // A dead token acts for nothing: logging out again is refused (RFC 7009 revocation stays 200).
        await rejectsWith(h.manager.logout(login.refreshToken), 'token_revoked');
        await h.manager.revokeToken(login.refreshToken);
      });

      it('logout with the access token works too', async () => {
        const login = await h.manager.login('thedude', 'abides');
        await h.manager.logout(login.accessToken);
        await rejectsWith(h.manager.refresh(login.refreshToken), 'token_revoked');
      });

      it('logoutAll revokes every session of the user and no one else', async () => {
        h.users.add({ id: 'u7', username: 'smokey', password: 'over' });
        const a = await h.manager.login('smokey', 'over');
        const b = await h.manager.login('smokey', 'over');
        const other = await h.manager.login('walter', 'calmerthanyouare');
        assert.equal(await h.manager.logoutAll(a.accessToken), 2);
        await rejectsWith(() => h.manager.verifyAccessToken(b.accessToken), 'token_revoked');
        assert.equal(h.manager.verifyAccessToken(other.accessToken).sub, 'u2');
        assert.deepEqual(await h.manager.listSessions('u7'), []);
      });

      it('a dead refresh token acts for nothing: logout and logoutAll refuse it, revokeToken ignores it', async () => {
        h.users.add({ id: 'u9', username: 'jackie', password: 'treehorn' });
        const survivor = await h.manager.login('jackie', 'treehorn');
        const rotated = await h.manager.login('jackie', 'treehorn');
        const successor = await h.manager.refresh(rotated.refreshToken);
        h.clock.advance(11);
        await rejectsWith(h.manager.logoutAll(rotated.refreshToken), 'invalid_token');
        await rejectsWith(h.manager.logout(rotated.refreshToken), 'invalid_token');
        await h.manager.revokeToken(rotated.refreshToken);
        const loggedOut = await h.manager.login('jackie', 'treehorn');
        await h.manager.logout(loggedOut.refreshToken);
        await rejectsWith(h.manager.logoutAll(loggedOut.refreshToken), 'token_revoked');
        await rejectsWith(h.manager.logoutAll(loggedOut.accessToken), 'token_revoked');
        const ids = (await h.manager.listSessions('u9')).map((session) => session.id).sort();
        assert.deepEqual(ids, [survivor.sessionId, successor.sessionId].sort(), 'nothing else was revoked');
        assert.ok(await h.manager.refresh(successor.refreshToken));
      });

      it('revokeToken does not trust the hint: the form of the token decides', async () => {
        const a = await h.manager.login('thedude', 'abides');
        await h.manager.revokeToken(a.refreshToken, 'access_token');
        await rejectsWith(h.manager.refresh(a.refreshToken), 'token_revoked');
        const b = await h.manager.login('thedude', 'abides');
        await h.manager.revokeToken(b.accessToken, 'refresh_token');
        await rejectsWith(() => h.manager.verifyAccessToken(b.accessToken), 'token_revoked');
        assert.ok(
          await h.manager.refresh(b.refreshToken),
          'an access token revokes its jti, not its session',
        );
      });

      it("authorizeClient sees the session's client before anything rotates, and may refuse", async () => {
        const login = await h.manager.login('thedude', 'abides', { clientId: 'cli' });
        const seen: (string | null)[] = [];
        const refuse = (id: string | null) => {
          seen.push(id);
          throw new BatonError('invalid_client', 'authenticate');
        };
        await rejectsWith(
          h.manager.refresh(login.refreshToken, { authorizeClient: refuse }),
          'invalid_client',
        );
        assert.deepEqual(seen, ['cli']);
        h.clock.advance(11);
        assert.ok(await h.manager.refresh(login.refreshToken), 'not rotated: no reuse past the grace window');
      });

      it("revokeSession refuses another user's session with not_found", async () => {
        const mine = await h.manager.login('thedude', 'abides');
        const theirs = await h.manager.login('walter', 'calmerthanyouare');
        await rejectsWith(h.manager.revokeSession('u1', theirs.sessionId), 'not_found');
        await h.manager.revokeSession('u1', mine.sessionId);
        await rejectsWith(() => h.manager.verifyAccessToken(mine.accessToken), 'token_revoked');
        assert.ok(h.manager.verifyAccessToken(theirs.accessToken));
      });

      it('revokeUser kills every session and access token at once (admin)', async () => {
        h.users.add({ id: 'u8', username: 'da-fino', password: 'pi' });
        const login = await h.manager.login('da-fino', 'pi');
        assert.equal(await h.manager.revokeUser('u8'), 1);
        await rejectsWith(() => h.manager.verifyAccessToken(login.accessToken), 'token_revoked');
      });

      it('a revoked-session entry outlives every access token of the session, then is forgotten', async () => {
        const login = await h.manager.login('thedude', 'abides');
        await h.manager.logout(login.refreshToken);
        h.clock.advance(899);
        await rejectsWith(() => h.manager.verifyAccessToken(login.accessToken), 'token_revoked');
        h.clock.advance(2);
        await rejectsWith(() => h.manager.verifyAccessToken(login.accessToken), 'token_expired');
      });

      it('a new manager on the same store loads revocations before verifying', async () => {
        const login = await h.manager.login('thedude', 'abides');
        await h.manager.logout(login.accessToken);
        const second = new SessionManager({ ...h.manager.options, store: h.store });
        assert.throws(() => second.verifyAccessToken(login.accessToken), { code: 'store_unavailable' });
        await second.ready;
        assert.throws(() => second.verifyAccessToken(login.accessToken), { code: 'token_revoked' });
      });
    });

    describe('freshness and reauthentication', () => {
      it('reauth with the password mints a fresh token for the same session', async () => {
        const login = await h.manager.login('thedude', 'abides');
        const refreshed = await h.manager.refresh(login.refreshToken);
        assert.equal(h.manager.isFresh(refreshed.claims), false);
        const reauth = await h.manager.reauthenticate(refreshed.accessToken, 'abides');
        assert.equal(reauth.sessionId, login.sessionId);
        assert.equal(h.manager.isFresh(h.manager.verifyAccessToken(reauth.accessToken)), true);
        await rejectsWith(h.manager.reauthenticate(refreshed.accessToken, 'wrong'), 'invalid_credentials');
      });
    });

    describe('RFC 7009 revoke and RFC 7662 introspect', () => {
      it('revoking an access token denies its jti only', async () => {
        const login = await h.manager.login('thedude', 'abides');
        const refreshed = await h.manager.refresh(login.refreshToken);
        await h.manager.revokeToken(login.accessToken);
        await rejectsWith(() => h.manager.verifyAccessToken(login.accessToken), 'token_revoked');
        assert.ok(h.manager.verifyAccessToken(refreshed.accessToken));
        await h.manager.revokeToken('garbage'); // silently ignored
      });

      it('describes live tokens, and nothing of dead ones', async () => {
        const login = await h.manager.login('thedude', 'abides');
        const access = await h.manager.describeToken(login.accessToken);
        assert.equal(access?.tokenType, 'access_token');
        const refresh = await h.manager.describeToken(login.refreshToken);
        assert.equal(refresh?.tokenType, 'refresh_token');
        assert.equal(refresh?.claims.sub, 'u1');
        const rotated = await h.manager.refresh(login.refreshToken);
        assert.equal(await h.manager.describeToken(login.refreshToken), null, 'rotated out: not active');
        assert.equal((await h.manager.describeToken(rotated.refreshToken))?.claims.sid, login.sessionId);
        await h.manager.logout(rotated.refreshToken);
        assert.equal(await h.manager.describeToken(rotated.accessToken), null);
        assert.equal(await h.manager.describeToken(rotated.refreshToken), null);
        assert.equal(await h.manager.describeToken('nonsense'), null);
      });
    });
  });
}

describe('SessionManager options and policies', { timeout: 30_000 }, () => {
  it('validates options at construction with a readable message', async () => {
    const base = {
      issuer: 'i',
      audience: 'a',
      keys: [await signingKey()],
      refreshKey: 'r'.repeat(32),
      store: new MemoryStore(),
      loadUser: () => null,
    };
    assert.throws(() => new SessionManager({ ...base, accessTokenTtl: 'soon' }), {
      code: 'invalid_options',
      message: /accessTokenTtl/,
    });
    assert.throws(() => new SessionManager({ ...base, refreshKey: 'short' }), {
      code: 'invalid_options',
      message: /refreshKey: must be a secret of 32\+ bytes/,
    });
    assert.throws(() => new SessionManager({ ...base, store: {} as never }), {
      code: 'invalid_options',
      message: /store: must be a SessionStore/,
    });
    assert.throws(() => new SessionManager({ ...base, graceWindow: -1 }), { code: 'invalid_options' });
  });

  it('grace window 0 makes any reuse theft', async () => {
    const h = await harness(storeKinds[0]!, { graceWindow: 0 });
    const login = await h.manager.login('thedude', 'abides');
    await h.manager.refresh(login.refreshToken);
    await rejectsWith(h.manager.refresh(login.refreshToken), 'refresh_token_reused');
    await h.close();
  });

  it('idle timeout expires an unused session; use keeps it alive', async () => {
    const h = await harness(storeKinds[0]!, { idleTimeout: '1h' });
    const login = await h.manager.login('thedude', 'abides');
    h.clock.advance(3000);
    const next = await h.manager.refresh(login.refreshToken);
    h.clock.advance(3000);
    const again = await h.manager.refresh(next.refreshToken);
    h.clock.advance(3600);
    await rejectsWith(h.manager.refresh(again.refreshToken), 'session_expired');
    await h.close();
  });

  it('refreshTokenTtl null means the session never expires', async () => {
    const h = await harness(storeKinds[0]!, { refreshTokenTtl: null });
    const login = await h.manager.login('thedude', 'abides');
    assert.equal(login.refreshExpiresIn, null);
    h.clock.advance(10 * 365 * 86400);
    assert.ok(await h.manager.refresh(login.refreshToken));
    await h.close();
  });

  it('freshness as a duration: fresh until iat + duration', async () => {
    const h = await harness(storeKinds[0]!, { freshness: '5m', accessTokenTtl: '1h' });
    const login = await h.manager.login('thedude', 'abides');
    assert.equal(login.claims.fresh, login.claims.iat + 300);
    assert.equal(h.manager.isFresh(login.claims), true);
    h.clock.advance(301);
    assert.equal(h.manager.isFresh(login.claims), false);
    await h.close();
  });

  it('limits failed password checks per username and per IP, then lets them age out', async () => {
    const h = await harness(storeKinds[0]!, { rateLimit: { perUsername: 3, perIp: 5, window: '1m' } });
    let checks = 0;
    const users = new Users();
    const counting = new SessionManager({
      ...h.manager.options,
      verifyCredentials: (u: string, p: string) => {
        checks++;
        return users.verify(u, p);
      },
    });
    await counting.ready;
    for (let i = 0; i < 3; i++)
      await rejectsWith(counting.login('thedude', 'bad', { ip: '10.0.0.1' }), 'invalid_credentials');
    const limited = await rejectsWith(
      counting.login('thedude', 'abides', { ip: '10.0.0.2' }),
      'too_many_attempts',
    );
    assert.ok(limited.retryAfter && limited.retryAfter > 0 && limited.retryAfter <= 60);
    assert.equal(checks, 3, 'no password check once limited');
    // The username's limit does not lock out the IP: walter logs in from it.
    assert.ok(await counting.login('walter', 'calmerthanyouare', { ip: '10.0.0.1' }));
    await rejectsWith(counting.login('walter', 'x', { ip: '10.0.0.1' }), 'invalid_credentials');
    await rejectsWith(counting.login('donny', 'x', { ip: '10.0.0.1' }), 'invalid_credentials');
    // Five failures from 10.0.0.1: the IP is limited, whoever asks; other IPs are not.
    await rejectsWith(counting.login('walter', 'calmerthanyouare', { ip: '10.0.0.1' }), 'too_many_attempts');
    assert.ok(await counting.login('walter', 'calmerthanyouare', { ip: '10.0.0.3' }));
    h.clock.advance(61);
    assert.ok(await counting.login('thedude', 'abides', { ip: '10.0.0.1' }));
    await h.close();
  });

  it('turns store failures into store_unavailable (503) with Retry-After', async () => {
    const h = await harness(storeKinds[1]!);
    const login = await h.manager.login('thedude', 'abides');
    await h.store.close(); // the database goes away under the manager
    const error = await rejectsWith(h.manager.refresh(login.refreshToken), 'store_unavailable');
    assert.equal(error.retryAfter, 1);
    assert.ok(h.manager.verifyAccessToken(login.accessToken), 'verification keeps working from memory');
    await h.close();
  });
});

describe('implicit refresh support', { timeout: 30_000 }, () => {
  it('reissueAccessToken mints a non-fresh token for a live session and refuses a dead one', async () => {
    const h = await harness(storeKinds[0]!);
    const login = await h.manager.login('thedude', 'abides');
    h.clock.advance(600);
    const reissued = await h.manager.reissueAccessToken(login.accessToken, { extraClaims: { csrf: 'c1' } });
    const claims = h.manager.verifyAccessToken(reissued.accessToken);
    assert.equal(claims.sid, login.sessionId);
    assert.equal(claims.fresh, false);
    assert.equal(claims.csrf, 'c1');
    assert.ok(claims.exp > login.claims.exp);
    assert.equal(reissued.refreshToken, '');
    await h.manager.logout(login.refreshToken);
    await rejectsWith(h.manager.reissueAccessToken(login.accessToken), 'token_revoked');
    await h.close();
  });

  it('reissueAccessToken re-validates the user', async () => {
    const h = await harness(storeKinds[0]!);
    const login = await h.manager.login('thedude', 'abides');
    h.users.add({ id: 'u1', username: 'thedude', password: 'abides', disabled: true });
    await rejectsWith(h.manager.reissueAccessToken(login.accessToken), 'user_disabled');
    await h.close();
  });
});
