/** The Express consumer: SQLite store (better-sqlite3), guards typed through to the route's params. */
import type { AddressInfo } from 'node:net';
import { createBaton } from 'baton-auth/express';
import { SqliteStore } from 'baton-auth/stores/sqlite';
import express from 'express';
import { announce, createSessions } from './sessions.js';

const sessions = await createSessions(new SqliteStore({ path: process.env.SQLITE_PATH ?? './sessions.db' }));
const baton = createBaton(sessions);
const app = express();
app.use(baton.routes);
app.get('/api/users/:userId', baton.requireAuth(), (req, res) => {
  // `string`, not `string | string[]`: the guard keeps the route's params type.
  const userId: string = req.params.userId;
  res.json({ userId, sub: req.auth.sub });
});
// RESOURCE SERVER GUARD: the verify-only guard (another branch) goes here, checking the same tokens by JWKS.
app.use(baton.errorHandler);

const server = app.listen(0, '127.0.0.1', () => announce((server.address() as AddressInfo).port));
