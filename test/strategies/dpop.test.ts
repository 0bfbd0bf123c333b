/**
 * Each strategy's DPoP decision (README "DPoP"): what it binds, and the one
 * that cannot bind says so at construction. The verified proof's thumbprint
 * comes in as `RequestContext.dpop`, as the HTTP layer hands it over. Every
 * store: memory, SQLite, Redis and PostgreSQL (issue 18).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createBatonHttp, type HttpRequest } from '../../src/http/index.ts';
import { type AnyAuthManager, type AuthManagerOptions, BatonError } from '../../src/index.ts';
import { rejectsWith, type StoreKind, type TestUser } from '../sessions/support.ts';
import { ProofKey } from '../support/dpop.ts';
import { storeKinds, storeKindsWithServices, strategyHarness } from './support.ts';

const KEY_A = 'A'.repeat(43);
const KEY_B = 'B'.repeat(43);

/** A manager over a store of this kind, closed (and the store removed) after the suite. */
function maker(kind: StoreKind) {
  const closing: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closing.splice(0)) await close();
  });
  return async (extra: object): Promise<AnyAuthManager> => {
    const h = await strategyHarness(
      kind,
      (base) => ({ ...base, dpop: { mode: 'allowed' }, ...extra }) as AuthManagerOptions<TestUser>,
    );
    closing.push(() => h.close());
    return h.manager as AnyAuthManager;
  };
}

for (const kind of await storeKindsWithServices()) {
  describe(`DPoP per strategy, ${kind.name} store`, { skip: kind.skip }, () => {
    const make = maker(kind);

    it('jwt: the refresh JWT carries cnf.jkt; a refresh needs a proof by that key, rotation keeps it', async () => {
      const manager = await make({ strategy: 'jwt', rotateRefreshTokens: true });
      const pair = await manager.login('thedude', 'abides', { dpop: { jkt: KEY_A } });
      assert.equal(pair.tokenType, 'DPoP');
      const refreshClaims = JSON.parse(Buffer.from(pair.refreshToken.split('.')[1]!, 'base64url').toString());
      assert.deepEqual(refreshClaims.cnf, { jkt: KEY_A });
      await rejectsWith(manager.refresh(pair.refreshToken), 'invalid_dpop_proof');
      await rejectsWith(manager.refresh(pair.refreshToken, { dpop: { jkt: KEY_B } }), 'invalid_dpop_proof');
      const next = await manager.refresh(pair.refreshToken, { dpop: { jkt: KEY_A } });
      assert.deepEqual(manager.verifyAccessToken(next.accessToken).cnf, { jkt: KEY_A });
      await rejectsWith(manager.refresh(next.refreshToken), 'invalid_dpop_proof');
      // A confidential client's refresh JWT is not bound (RFC 9449 section 5).
      const confidential = await manager.login('thedude', 'abides', {
        dpop: { jkt: KEY_A, confidentialClient: true },
      });
      assert.equal(
        JSON.parse(Buffer.from(confidential.refreshToken.split('.')[1]!, 'base64url').toString()).cnf,
        undefined,
      );
    });

    it('single-token: the one token is bound, so its refresh needs a proof by its key', async () => {
      const manager = await make({ strategy: 'single-token', allowEarlyRefresh: true });
      const pair = await manager.login('thedude', 'abides', { dpop: { jkt: KEY_A } });
      assert.deepEqual(manager.verifyAccessToken(pair.accessToken).cnf, { jkt: KEY_A });
      await rejectsWith(manager.refresh(pair.refreshToken, { dpop: { jkt: KEY_B } }), 'invalid_dpop_proof');
      const next = await manager.refresh(pair.refreshToken, { dpop: { jkt: KEY_A } });
      assert.equal(next.tokenType, 'DPoP');
      assert.deepEqual(manager.verifyAccessToken(next.refreshToken).cnf, { jkt: KEY_A });
    });

    it('per-client: the long-running token is not bound; each access token is bound to its own proof', async () => {
      const manager = await make({ strategy: 'per-client', refreshKey: 'r'.repeat(32) });
      const pair = await manager.login('thedude', 'abides', { clientId: 'mobile', dpop: { jkt: KEY_A } });
      assert.deepEqual(manager.verifyAccessToken(pair.accessToken).cnf, { jkt: KEY_A });
      const next = await manager.refresh(pair.refreshToken, { dpop: { jkt: KEY_B } });
      assert.deepEqual(manager.verifyAccessToken(next.accessToken).cnf, { jkt: KEY_B });
      assert.equal((await manager.refresh(pair.refreshToken)).tokenType, 'Bearer');
    });

    it("per-client routes: the management API checks a bound token's proof, delegate takes one", async () => {
      const manager = await make({ strategy: 'per-client', refreshKey: 'r'.repeat(32) });
      const http = createBatonHttp(manager, { publicUrl: 'https://api.baton.test' });
      const key = await ProofKey.create();
      const iat = () => Math.floor(manager.clock.now() / 1000);
      const pair = await manager.login('thedude', 'abides', { dpop: { jkt: key.jkt } });
      const list = (headers: Record<string, string>): HttpRequest => ({
        method: 'GET',
        path: '/auth/refresh-tokens',
        headers,
        query: new URLSearchParams(),
      });
      const token = pair.accessToken;
      const bare = await http.handler(list({ authorization: `DPoP ${token}` }));
      assert.equal(bare?.status, 401);
      assert.match(bare?.body ?? '', /invalid_dpop_proof/);
      const url = 'https://api.baton.test/auth/refresh-tokens';
      const dpop = await key.proof('GET', url, { accessToken: token, iat: iat() });
      const ok = await http.handler(list({ authorization: `DPoP ${token}`, dpop }));
      assert.equal(ok?.status, 200, ok?.body);
      const body = new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        client_id: pair.claims.client_id,
        refresh_token: pair.refreshToken,
      }).toString();
      const delegated = await http.handler({
        method: 'POST',
        path: '/delegate/',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          dpop: await key.proof('POST', 'https://api.baton.test/delegate/', { iat: iat() }),
        },
        query: new URLSearchParams(),
        body,
      });
      assert.equal(delegated?.status, 200, delegated?.body);
      const claims = manager.verifyAccessToken(JSON.parse(delegated?.body ?? '{}').token);
      assert.deepEqual(claims.cnf, { jkt: key.jkt });
    });
  });
}

describe('DPoP per strategy: the one that cannot bind', () => {
  const make = maker(storeKinds[0]!);

  it('callbacks: refuses DPoP at construction (its refresh tokens cannot carry a binding)', async () => {
    const store = new Map<string, string>();
    const callbacks = {
      strategy: 'callbacks',
      storeRefreshToken: (user: string, token: string) => void store.set(user, token),
      retrieveRefreshToken: (user: string) => store.get(user) ?? null,
    } as Partial<AuthManagerOptions>;
    await assert.rejects(
      make(callbacks),
      (error: unknown) =>
        error instanceof BatonError && error.code === 'invalid_options' && /callbacks/.test(error.message),
    );
    const off = await make({ ...callbacks, dpop: { mode: 'off' } });
    assert.equal(off.dpop, undefined);
  });
});
