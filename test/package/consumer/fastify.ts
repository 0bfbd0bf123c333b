/** The Fastify consumer: memory store, the plugin and a guard hook. */
import { MemoryStore } from 'baton-auth';
import { batonPlugin } from 'baton-auth/fastify';
import { batonResource } from 'baton-auth/resource/fastify';
import Fastify from 'fastify';
import { AUDIENCE, announce, createSessions, ISSUER, jwksUrlOf } from './sessions.js';

const sessions = await createSessions(new MemoryStore());
const app = Fastify();
await app.register(batonPlugin, { manager: sessions });
app.setErrorHandler(app.baton.errorHandler);
app.get<{ Params: { userId: string } }>(
  '/api/users/:userId',
  { onRequest: app.baton.requireAuth() },
  async (request) => ({ userId: request.params.userId, sub: request.auth.sub }),
);

await app.listen({ port: 0, host: '127.0.0.1' });
const port = portOf(app.server.address());

// A second service that only verifies: the issuer's keys by JWKS, no store.
const resource = Fastify();
await resource.register(batonResource, { issuer: ISSUER, audience: AUDIENCE, jwksUrl: jwksUrlOf(port) });
resource.get('/orders', { onRequest: resource.requireToken() }, async (request) => ({
  user: request.auth.sub,
}));
await resource.listen({ port: 0, host: '127.0.0.1' });
announce(port, portOf(resource.server.address()));

function portOf(address: ReturnType<typeof app.server.address>): number {
  return typeof address === 'object' && address ? address.port : 0;
}
