/**
 * The resource guards' test servers: one framework's guard on /v1/orders
 * (Express: a router mounted at /v1, so the guard must see the path the
 * client sent, not the router's), and an issuer whose tokens they check.
 */
import { createServer } from 'node:http';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { generateSigningKey, MemoryStore, SessionManager } from '../../src/index.ts';
import { requireToken as expressGuard } from '../../src/resource/express.ts';
import { batonResource } from '../../src/resource/fastify.ts';
import { requireToken as honoGuard } from '../../src/resource/hono.ts';
import {
  type ResourceGuardOptions,
  ResourceVerifier,
  type ResourceVerifierOptions,
  type VerifierSource,
} from '../../src/resource/index.ts';
import { type Listening, listen, serveHono } from '../support/listen.ts';

export const ADAPTERS = ['express', 'fastify', 'hono'] as const;
export type ResourceAdapter = (typeof ADAPTERS)[number];

export const ISSUER = 'https://auth.example.com';
export const AUDIENCE = 'orders-api';

/** The issuer: DPoP allowed, so that it issues bound tokens as well as Bearer ones. */
export async function dpopIssuer(): Promise<SessionManager> {
  const manager = new SessionManager({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: [await generateSigningKey('EdDSA')],
    refreshKey: 'r'.repeat(32),
    store: new MemoryStore(),
    loadUser: (id) => ({ id }),
    dpop: { mode: 'allowed' },
  });
  await manager.ready;
  return manager;
}

/** What a resource server needs to verify the issuer's tokens: its keys given. */
export function verifierOptions(issuer: SessionManager): ResourceVerifierOptions {
  return { issuer: ISSUER, audience: AUDIENCE, keys: issuer.keys };
}

/** A guard of one framework on GET /v1/orders, answering `{ sub }`. */
export async function resourceApp(
  adapter: ResourceAdapter,
  source: VerifierSource,
  options: ResourceGuardOptions,
): Promise<Listening> {
  if (adapter === 'express') {
    const server = express();
    server.disable('x-powered-by');
    const router = express.Router();
    router.get('/orders', expressGuard(source, options), (req, res) => void res.json({ sub: req.auth.sub }));
    server.use('/v1', router);
    return listen(createServer(server));
  }
  if (adapter === 'fastify') {
    const server = Fastify();
    const { realm, onUnexpectedError, dpop, ...authorization } = options;
    await server.register(batonResource, {
      ...(source instanceof ResourceVerifier ? { verifier: source } : source),
      ...(realm === undefined ? {} : { realm }),
      ...(onUnexpectedError === undefined ? {} : { onUnexpectedError }),
      ...(dpop === undefined ? {} : { dpop }),
    });
    server.get('/v1/orders', { onRequest: server.requireToken(authorization) }, async (request) => ({
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
