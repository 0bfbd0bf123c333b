/**
 * DPoP at the manager (RFC 9449): the `dpop` option, sessions bound to the
 * key of the login's proof, `cnf.jkt` in access tokens, refresh checks that
 * refuse before anything changes, and `dpop_rejected`. The HTTP layer's proof
 * checks are in test/http/dpop.test.ts; here the verified proof's thumbprint
 * comes in as `RequestContext.dpop`, as the HTTP layer hands it over. On
 * memory, SQLite, Redis and PostgreSQL, and two managers sharing one store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuthEvent, DpopRejectedEvent, SessionStore } from '../../src/index.ts';
import { BatonError, DpopVerifier, ManualClock, MemoryStore, SessionManager } from '../../src/index.ts';
import { ProofKey } from '../support/dpop.ts';
import {
  type Harness,
  harness,
  rejectsWith,
  storeKinds,
  storeKindsWithServices,
  testManagerOptions,
  Users,
} from './support.ts';

const KEY_A = 'A'.repeat(43);
const KEY_B = 'B'.repeat(43);
const kinds = await storeKindsWithServices();

for (const kind of kinds) {
  describe(`DPoP binding, rotating strategy, ${kind.name} store`, {
    skip: kind.skip,
    timeout: 30_000,
  }, () => {
    let h: Harness;
    const events: AuthEvent[] = [];
    before(async () => {
      h = await harness(kind, { dpop: { mode: 'allowed' }, onEvent: (event) => void events.push(event) });
    });
    after(() => h.close());

    const rejections = async (): Promise<DpopRejectedEvent[]> => {
      await h.manager.events.flush();
      return events.filter((event): event is DpopRejectedEvent => event.type === 'dpop_rejected');
    };

    it('builds a DpopVerifier over the store, with the mode', () => {
      assert.ok(h.manager.dpop instanceof DpopVerifier);
      assert.equal(h.manager.dpopMode, 'allowed');
      assert.deepEqual(h.manager.dpop.algorithms, ['ES256', 'EdDSA', 'Ed25519']);
    });

    it('a login with a proof binds the session and the access token (cnf.jkt, token type DPoP)', async () => {
      const pair = await h.manager.login('thedude', 'abides', { dpop: { jkt: KEY_A } });
      assert.equal(pair.tokenType, 'DPoP');
      assert.deepEqual(h.manager.verifyAccessToken(pair.accessToken).cnf, { jkt: KEY_A });
      assert.equal((await h.store.getSession(pair.sessionId))?.jkt, KEY_A);
    });

    it('a login without a proof stays Bearer and unbound (allowed mode)', async () => {
      const pair = await h.manager.login('thedude', 'abides');
      assert.equal(pair.tokenType, 'Bearer');
      assert.equal(h.manager.verifyAccessToken(pair.accessToken).cnf, undefined);
      assert.equal((await h.store.getSession(pair.sessionId))?.jkt, null);
    });

    it('a bound session refreshes with a proof by its key, and stays bound', async () => {
      const pair = await h.manager.login('thedude', 'abides', { dpop: { jkt: KEY_A } });
      const next = await h.manager.refresh(pair.refreshToken, { dpop: { jkt: KEY_A } });
      assert.equal(next.tokenType, 'DPoP');
      assert.deepEqual(h.manager.verifyAccessToken(next.accessToken).cnf, { jkt: KEY_A });
      const after = await h.manager.refresh(next.refreshToken, { dpop: { jkt: KEY_A } });
      assert.equal(after.tokenType, 'DPoP');
    });

    it('a bound session refuses a refresh without a proof or with another key, and does not rotate', async () => {
      const pair = await h.manager.login('thedude', 'abides', { dpop: { jkt: KEY_A } });
      events.length = 0;
      const missing = await rejectsWith(h.manager.refresh(pair.refreshToken), 'invalid_dpop_proof');
      assert.match(missing.message, /DPoP-bound/);
      await rejectsWith(
        h.manager.refresh(pair.refreshToken, { dpop: { jkt: KEY_B }, ip: '198.51.100.9' }),
        'invalid_dpop_proof',
      );
      const stored = await h.store.getSession(pair.sessionId);
      assert.equal(stored?.generation, 0, 'no rotation');
      assert.equal(stored?.revokedAt, null, 'not revoked either: the token is useless without the key');
      // The genuine holder still refreshes with the same token.
      assert.equal((await h.manager.refresh(pair.refreshToken, { dpop: { jkt: KEY_A } })).tokenType, 'DPoP');
      const seen = await rejections();
      assert.deepEqual(
        seen.map((event) => [event.reason, event.step, event.sessionId, event.userId]),
        [
          ['missing_proof', 'refresh', pair.sessionId, 'u1'],
          ['key_mismatch', 'refresh', pair.sessionId, 'u1'],
        ],
      );
      assert.equal(seen[1]?.ip, '198.51.100.9');
      const text = JSON.stringify(seen);
      assert.ok(!text.includes(pair.refreshToken.split('.')[1]!), 'no token in events');
    });

    it('the grace answer to a concurrent refresh checks the key too', async () => {
      const pair = await h.manager.login('thedude', 'abides', { dpop: { jkt: KEY_A } });
      await h.manager.refresh(pair.refreshToken, { dpop: { jkt: KEY_A } });
      await rejectsWith(h.manager.refresh(pair.refreshToken), 'invalid_dpop_proof');
      const grace = await h.manager.refresh(pair.refreshToken, { dpop: { jkt: KEY_A } });
      assert.deepEqual(h.manager.verifyAccessToken(grace.accessToken).cnf, { jkt: KEY_A });
    });

    it('an unbound session refreshed with a proof gets a bound access token; the session stays unbound', async () => {
      const pair = await h.manager.login('thedude', 'abides');
      const next = await h.manager.refresh(pair.refreshToken, { dpop: { jkt: KEY_B } });
      assert.equal(next.tokenType, 'DPoP');
      assert.deepEqual(h.manager.verifyAccessToken(next.accessToken).cnf, { jkt: KEY_B });
      assert.equal((await h.store.getSession(pair.sessionId))?.jkt, null);
      assert.equal((await h.manager.refresh(next.refreshToken)).tokenType, 'Bearer');
    });

    it('a confidential client: the session is not bound, the access tokens are (RFC 9449 section 5)', async () => {
      const pair = await h.manager.login('thedude', 'abides', {
        clientId: 'backend',
        dpop: { jkt: KEY_A, confidentialClient: true },
      });
      assert.deepEqual(h.manager.verifyAccessToken(pair.accessToken).cnf, { jkt: KEY_A });
      assert.equal((await h.store.getSession(pair.sessionId))?.jkt, null);
      // Its refresh is constrained by client authentication; the new token is bound to this proof's key.
      const next = await h.manager.refresh(pair.refreshToken, {
        dpop: { jkt: KEY_B, confidentialClient: true },
      });
      assert.deepEqual(h.manager.verifyAccessToken(next.accessToken).cnf, { jkt: KEY_B });
    });

    it('reauth and implicit refresh keep the binding and check the key', async () => {
      const pair = await h.manager.login('thedude', 'abides', { dpop: { jkt: KEY_A } });
      await rejectsWith(h.manager.reauthenticate(pair.accessToken, 'abides'), 'invalid_dpop_proof');
      const fresh = await h.manager.reauthenticate(pair.accessToken, 'abides', { dpop: { jkt: KEY_A } });
      assert.deepEqual(h.manager.verifyAccessToken(fresh.accessToken).cnf, { jkt: KEY_A });
      await rejectsWith(
        h.manager.reissueAccessToken(pair.accessToken, { dpop: { jkt: KEY_B } }),
        'invalid_dpop_proof',
      );
      const renewed = await h.manager.reissueAccessToken(pair.accessToken, { dpop: { jkt: KEY_A } });
      assert.deepEqual(h.manager.verifyAccessToken(renewed.accessToken).cnf, { jkt: KEY_A });
    });

    it('cnf is reserved: a user claim cannot bind or unbind a token', async () => {
      h.users.add({
        id: 'u9',
        username: 'smokey',
        password: 'overtheline',
        claims: { cnf: { jkt: KEY_B } },
      });
      await rejectsWith(
        h.manager.login('smokey', 'overtheline', { dpop: { jkt: KEY_A } }),
        'invalid_options',
      );
    });
  });
}

// Two managers over one shared store, as two processes of a deployment would
// run (each with a store of its own over the same data): what one learns, the
// other must know. The replay cache across real processes is in
// test/stores/proof-ids-cross-process.test.ts.
for (const kind of kinds.filter((candidate) => candidate.name !== 'memory')) {
  describe(`DPoP across two managers sharing a ${kind.name} store`, {
    skip: kind.skip,
    timeout: 30_000,
  }, () => {
    let a: Harness;
    let b: Harness;
    before(async () => {
      a = await harness(kind, { dpop: { mode: 'allowed' } });
      const reopen = a.reopen;
      assert.ok(reopen, `${kind.name}: a second store over the same data`);
      b = await harness(
        { name: kind.name, make: () => ({ store: reopen(), cleanup() {} }) },
        {
          dpop: { mode: 'allowed' },
        },
      );
    });
    after(async () => {
      await b?.close();
      await a?.close();
    });

    it('a proof accepted by one manager is refused as a replay by the other', async () => {
      const key = await ProofKey.create();
      const url = 'https://baton.test/auth/refresh';
      const iat = Math.floor(a.clock.now() / 1000);
      const proof = await key.proof('POST', url, { iat });
      assert.equal((await a.manager.dpop!.verify({ method: 'POST', url, proof })).jkt, key.jkt);
      const replay = await rejectsWith(
        b.manager.dpop!.verify({ method: 'POST', url, proof }),
        'invalid_dpop_proof',
      );
      assert.match(replay.message, /used before/);
      // The other way round too, and a fresh proof by the same key is new to both.
      const next = await key.proof('POST', url, { iat });
      assert.equal((await b.manager.dpop!.verify({ method: 'POST', url, proof: next })).jkt, key.jkt);
      await rejectsWith(a.manager.dpop!.verify({ method: 'POST', url, proof: next }), 'invalid_dpop_proof');
    });

    it('a session bound through one manager is refused a proof-less refresh by the other', async () => {
      const pair = await a.manager.login('thedude', 'abides', { dpop: { jkt: KEY_A } });
      const missing = await rejectsWith(b.manager.refresh(pair.refreshToken), 'invalid_dpop_proof');
      assert.match(missing.message, /DPoP-bound/);
      await rejectsWith(b.manager.refresh(pair.refreshToken, { dpop: { jkt: KEY_B } }), 'invalid_dpop_proof');
      // The holder of the key refreshes through the other manager; the rotated session stays bound for the first.
      const next = await b.manager.refresh(pair.refreshToken, { dpop: { jkt: KEY_A } });
      assert.deepEqual(b.manager.verifyAccessToken(next.accessToken).cnf, { jkt: KEY_A });
      await rejectsWith(a.manager.refresh(next.refreshToken), 'invalid_dpop_proof');
      assert.equal((await a.manager.refresh(next.refreshToken, { dpop: { jkt: KEY_A } })).tokenType, 'DPoP');
    });
  });
}

describe('DPoP modes and options', () => {
  let h: Harness;
  before(async () => {
    h = await harness(storeKinds[0]!, { dpop: { mode: 'required', algorithms: ['ES256'], maxAge: '30s' } });
  });
  after(() => h.close());

  it('required: a login, issueSession or refresh without a proof is refused', async () => {
    await rejectsWith(h.manager.login('thedude', 'abides'), 'invalid_dpop_proof');
    await rejectsWith(
      h.manager.issueSession({ id: 'u1', username: 'thedude', password: '' }),
      'invalid_dpop_proof',
    );
    const pair = await h.manager.login('thedude', 'abides', { dpop: { jkt: KEY_A } });
    await rejectsWith(h.manager.refresh(pair.refreshToken), 'invalid_dpop_proof');
    assert.deepEqual(h.manager.dpop?.algorithms, ['ES256']);
  });

  it('off: no verifier, proofs in the context are ignored', async () => {
    const off = await harness(storeKinds[0]!, { dpop: { mode: 'off' } });
    try {
      assert.equal(off.manager.dpop, undefined);
      assert.equal(off.manager.dpopMode, 'off');
      const pair = await off.manager.login('thedude', 'abides', { dpop: { jkt: KEY_A } });
      assert.equal(pair.tokenType, 'Bearer');
    } finally {
      await off.close();
    }
  });

  it('bad dpop options are invalid_options naming the field', async () => {
    const base = await testManagerOptions(new MemoryStore(), new ManualClock(), new Users());
    const bad = [
      { mode: 'sometimes' },
      { mode: 'allowed', algorithms: ['HS256'] },
      { mode: 'allowed', replay: new MemoryStore() },
      { mode: 'allowed', nonce: { secret: 'short' } },
    ];
    for (const dpop of bad) {
      assert.throws(
        () => new SessionManager({ ...base, dpop: dpop as never }),
        (error: unknown) =>
          error instanceof BatonError && error.code === 'invalid_options' && /dpop/.test(error.message),
        JSON.stringify(dpop),
      );
    }
  });

  it('a store without rememberProofId is refused when DPoP is on', async () => {
    const memory = new MemoryStore();
    const store: SessionStore = new Proxy(memory, {
      get: (target, name) =>
        name === 'rememberProofId' ? undefined : Reflect.get(target, name, target)?.bind?.(target),
    });
    assert.throws(
      () =>
        new SessionManager({
          issuer: 'https://baton.test',
          audience: 'baton-api',
          keys: [h.manager.keys.signingKey],
          refreshKey: 'r'.repeat(32),
          store,
          loadUser: () => null,
          dpop: { mode: 'allowed' },
        }),
      (error: unknown) =>
        error instanceof BatonError &&
        error.code === 'invalid_options' &&
        /rememberProofId/.test(error.message),
    );
    await memory.close();
  });
});
