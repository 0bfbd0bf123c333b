/**
 * Baton on Express 5. Run: npx tsx examples/express/server.ts
 * curl -s -X POST localhost:3000/auth/login -H 'content-type: application/json' \
 *   -d '{"username":"thedude","password":"abides"}'
 * curl -s localhost:3000/api/me -H 'authorization: Bearer <access_token>'
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { generateSigningKey, MemoryStore, SessionManager } from 'baton-auth';
import { createBaton } from 'baton-auth/express';
import express from 'express';

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

const app = express();
app.disable('x-powered-by');
app.use(baton.routes); // /auth/login, /auth/refresh, /auth/logout, ... (before body parsers)

app.get('/api/me', baton.requireAuth(), (req, res) => {
  res.json({ user: req.auth.sub, roles: req.auth.roles });
});
app.post('/api/admin', baton.requireRoles('admin'), express.json(), (req, res) => {
  res.json({ done: true, by: req.auth.sub });
});

app.use(baton.errorHandler); // Baton's JSON errors, never an HTML page

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
