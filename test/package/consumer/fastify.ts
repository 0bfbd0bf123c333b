/** The Fastify consumer: memory store, the plugin and a guard hook. */
import { MemoryStore } from 'baton-auth';
import { batonPlugin } from 'baton-auth/fastify';
import Fastify from 'fastify';
import { announce, createSessions } from './sessions.js';

const sessions = await createSessions(new MemoryStore());
const app = Fastify();
await app.register(batonPlugin, { manager: sessions });
app.setErrorHandler(app.baton.errorHandler);
app.get<{ Params: { userId: string } }>(
  '/api/users/:userId',
  { onRequest: app.baton.requireAuth() },
  async (request) => ({ userId: request.params.userId, sub: request.auth.sub }),
);
// RESOURCE SERVER GUARD: the verify-only guard (another branch) goes here, checking the same tokens by JWKS.

await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
announce(typeof address === 'object' && address ? address.port : 0);
