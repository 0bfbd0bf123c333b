/**
 * Baton on Hono 4 (Node). Run: npx tsx examples/hono/server.ts
 * curl -s -X POST localhost:3000/auth/login -H 'content-type: application/json' \
 *   -d '{"username":"thedude","password":"abides"}'
 * curl -s localhost:3000/api/me -H 'authorization: Bearer <access_token>'
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { serve } from '@hono/node-server';
import { generateSigningKey, MemoryStore, SessionManager } from 'baton-auth';
import { createBaton } from 'baton-auth/hono';
import { Hono } from 'hono';

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

const baton = createBaton(sessions, {
  cookies: { implicitRefresh: { within: '5m' } }, // logins with Baton-Transfer: cookie
});

const app = new Hono();
app.use('*', baton.routes); // /auth/login, /auth/refresh, /auth/logout, ...

app.get('/api/me', baton.requireAuth(), (c) => {
  const auth = c.get('auth');
  return c.json({ user: auth.sub, roles: auth.roles });
});
app.post('/api/admin', baton.requireRoles('admin'), (c) => c.json({ done: true, by: c.get('auth').sub }));

app.onError(baton.errorHandler); // Baton's JSON errors

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: '127.0.0.1' }, (info) => {
  console.log(`listening on http://127.0.0.1:${info.port}`);
});
