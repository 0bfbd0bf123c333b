/**
 * Baton on Fastify 5. Run: npx tsx examples/fastify/server.ts
 * curl -s -X POST localhost:3000/auth/login -H 'content-type: application/json' \
 *   -d '{"username":"thedude","password":"abides"}'
 * curl -s localhost:3000/api/me -H 'authorization: Bearer <access_token>'
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { generateSigningKey, MemoryStore, SessionManager } from 'baton-auth';
import { batonPlugin } from 'baton-auth/fastify';
import Fastify from 'fastify';

// Your users stay yours: Baton asks for them through two callbacks.
const salt = randomBytes(16);
const users = [{ id: '1', username: 'thedude', roles: ['user'], hash: scryptSync('abides', salt, 32) }];

const sessions = new SessionManager({
  issuer: 'https://api.example.com',
  audience: 'example-api',
  keys: [await generateSigningKey('EdDSA')],
  refreshKey: randomBytes(32), // keep a stable one in production (env, secret manager)
  store: new MemoryStore(), // or SqliteStore from baton/stores/sqlite
  loadUser: (id) => users.find((u) => u.id === id) ?? null,
  verifyCredentials(username, password) {
    const user = users.find((u) => u.username === username);
    const ok = timingSafeEqual(scryptSync(password, salt, 32), user?.hash ?? Buffer.alloc(32));
    return ok ? (user ?? null) : null;
  },
});
await sessions.ready;

const app = Fastify();
await app.register(batonPlugin, {
  manager: sessions,
  cookies: { implicitRefresh: { within: '5m' } }, // logins with Baton-Transfer: cookie
}); // /auth/login, /auth/refresh, /auth/logout, ...; options checked here
app.setErrorHandler(app.baton.errorHandler); // Baton's JSON errors

app.get('/api/me', { onRequest: app.baton.requireAuth() }, async (request) => ({
  user: request.auth.sub,
  roles: request.auth.roles,
}));
app.post('/api/admin', { onRequest: app.baton.requireRoles('admin') }, async (request) => ({
  done: true,
  by: request.auth.sub,
}));

const url = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
console.log(`listening on ${url}`);
