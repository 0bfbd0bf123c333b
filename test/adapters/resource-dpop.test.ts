/**
 * The resource servers' guards (baton-auth/resource/{express,fastify,hono})
 * with DPoP-bound tokens (RFC 9449 section 7): `Authorization: DPoP` and its
 * proof checked against this server's public URL, the refusals, and a guard
 * without DPoP refusing bound tokens rather than taking them as Bearer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryStore, type SessionManager } from '../../src/index.ts';
import { ProofKey } from '../support/dpop.ts';
import type { Listening } from '../support/listen.ts';
import { call } from './client.ts';
import { ADAPTERS, resourceApp as app, dpopIssuer, verifierOptions } from './resource-apps.ts';

const PUBLIC = 'https://orders.example.com';

describe('resource guards with DPoP', { timeout: 60_000 }, () => {
  let manager: SessionManager;
  let key: ProofKey;
  let other: ProofKey;
  let bound: string;
  let bearer: string;
  before(async () => {
    manager = await dpopIssuer();
    key = await ProofKey.create('ES256');
    other = await ProofKey.create('ES256');
    bound = (await manager.issueSession({ id: 'u1' }, { dpop: { jkt: key.jkt } })).accessToken;
    bearer = (await manager.issueSession({ id: 'u2' })).accessToken;
  });
  after(() => manager.close());

  for (const adapter of ADAPTERS) {
    describe(adapter, () => {
      let withDpop: Listening;
      let without: Listening;
      before(async () => {
        const source = verifierOptions(manager);
        withDpop = await app(adapter, source, {
          dpop: { publicUrl: PUBLIC, verifier: { replay: new MemoryStore() } },
        });
        without = await app(adapter, source, {});
      });
      after(async () => {
        await withDpop.close();
        await without.close();
      });

      const proofFor = (k: ProofKey, token: string, path = '/v1/orders') =>
        k.proof('GET', PUBLIC + path, { accessToken: token });

      it('takes a bound token with its proof, and a Bearer token', async () => {
        const dpop = await proofFor(key, bound);
        const ok = await call(withDpop.url, '/v1/orders', {
          headers: { authorization: `DPoP ${bound}`, dpop },
        });
        assert.equal(ok.status, 200, ok.text);
        assert.equal(ok.json.sub, 'u1');
        const replay = await call(withDpop.url, '/v1/orders', {
          headers: { authorization: `DPoP ${bound}`, dpop },
        });
        assert.equal(replay.json.error, 'invalid_dpop_proof');
        assert.match(
          replay.headers.get('www-authenticate') ?? '',
          /^DPoP realm="baton", error="invalid_dpop_proof".*algs=/,
        );
        assert.equal((await call(withDpop.url, '/v1/orders', { token: bearer })).status, 200);
      });

      it('refuses a bound token as Bearer, without a proof, by another key, or for another URL', async () => {
        const asBearer = await call(withDpop.url, '/v1/orders', {
          headers: { authorization: `Bearer ${bound}`, dpop: await proofFor(key, bound) },
        });
        assert.equal(asBearer.status, 401);
        assert.equal(asBearer.json.error, 'invalid_dpop_proof');
        const none = await call(withDpop.url, '/v1/orders', { headers: { authorization: `DPoP ${bound}` } });
        assert.equal(none.json.error, 'invalid_dpop_proof');
        const stolen = await call(withDpop.url, '/v1/orders', {
          headers: { authorization: `DPoP ${bound}`, dpop: await proofFor(other, bound) },
        });
        assert.equal(stolen.json.error, 'invalid_dpop_proof');
        const elsewhere = await call(withDpop.url, '/v1/orders', {
          headers: { authorization: `DPoP ${bound}`, dpop: await proofFor(key, bound, '/orders') },
        });
        assert.equal(elsewhere.json.error, 'invalid_dpop_proof');
      });

      it('without DPoP, a bound token is refused, never taken as Bearer', async () => {
        const refused = await call(without.url, '/v1/orders', { token: bound });
        assert.equal(refused.status, 401);
        assert.equal(refused.json.error, 'invalid_token');
        assert.equal((await call(without.url, '/v1/orders', { token: bearer })).status, 200);
      });
    });
  }
});
