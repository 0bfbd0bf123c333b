/**
 * The resource servers' guards (baton-auth/resource/{express,fastify,hono})
 * with DPoP-bound tokens (RFC 9449 section 7): `Authorization: DPoP` and its
 * proof checked against this server's public URL, the refusals, and a guard
 * without DPoP refusing bound tokens rather than taking them as Bearer.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { generateSigningKey, MemoryStore, SessionManager } from '../../src/index.ts';
import { requireToken as expressGuard } from '../../src/resource/express.ts';
import { batonResource } from '../../src/resource/fastify.ts';
import { requireToken as honoGuard } from '../../src/resource/hono.ts';
import type { ResourceGuardOptions, ResourceVerifierOptions } from '../../src/resource/index.ts';
import { ProofKey } from '../support/dpop.ts';
import { type Listening, listen, serveHono } from '../support/listen.ts';
import { call } from './client.ts';

const PUBLIC = 'https://orders.example.com';
const ADAPTERS = ['express', 'fastify', 'hono'] as const;

async function app(
  adapter: (typeof ADAPTERS)[number],
  source: ResourceVerifierOptions,
  options: ResourceGuardOptions,
): Promise<Listening> {
  if (adapter === 'express') {
    const server = express();
    server.disable('x-powered-by');
    // Mounted under /v1: the guard must see the path the client sent, not the router's.
    const router = express.Router();
    router.get('/orders', expressGuard(source, options), (req, res) => void res.json({ sub: req.auth.sub }));
    server.use('/v1', router);
    return listen(createServer(server));
  }
  if (adapter === 'fastify') {
    const server = Fastify();
    await server.register(batonResource, { ...source, ...options });
    server.get('/v1/orders', { onRequest: server.requireToken() }, async (request) => ({
      sub: request.auth.sub,
    }));
    await server.listen({ port: 0, host: '127.0.0.1' });
    const { port } = server.server.address() as { port: number };
    return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
  }
  const server = new Hono();
  server.get('/v1/orders', honoGuard(source, options), (c) => c.json({ sub: c.get('auth').sub }));
  return serveHono(server.fetch);
}

describe('resource guards with DPoP', { timeout: 60_000 }, () => {
  let manager: SessionManager;
  let key: ProofKey;
  let other: ProofKey;
  let bound: string;
  let bearer: string;
  before(async () => {
    manager = new SessionManager({
      issuer: 'https://auth.example.com',
      audience: 'orders-api',
      keys: [await generateSigningKey('EdDSA')],
      refreshKey: 'r'.repeat(32),
      store: new MemoryStore(),
      loadUser: (id) => ({ id }),
      dpop: { mode: 'allowed' },
    });
    await manager.ready;
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
        const source = { issuer: 'https://auth.example.com', audience: 'orders-api', keys: manager.keys };
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
