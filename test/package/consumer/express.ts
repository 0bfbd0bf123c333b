/** The Express consumer: SQLite store (better-sqlite3), guards typed through to the route's params. */
import type { AddressInfo } from 'node:net';
import { createBaton } from 'baton-auth/express';
import { requireToken } from 'baton-auth/resource/express';
import { SqliteStore } from 'baton-auth/stores/sqlite';
import express from 'express';
import { AUDIENCE, announce, createSessions, ISSUER, jwksUrlOf } from './sessions.js';

const sessions = await createSessions(new SqliteStore({ path: process.env.SQLITE_PATH ?? './sessions.db' }));
const baton = createBaton(sessions);
const app = express();
app.use(baton.routes);
app.get('/api/users/:userId', baton.requireAuth(), (req, res) => {
  // `string`, not `string | string[]`: the guard keeps the route's params type.
  const userId: string = req.params.userId;
  res.json({ userId, sub: req.auth.sub });
});
app.use(baton.errorHandler);

const server = app.listen(0, '127.0.0.1', () => {
  const port = (server.address() as AddressInfo).port;
  // A second service that only verifies: the issuer's keys by JWKS, no store.
  const resource = express();
  resource.get(
    '/orders',
    requireToken({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: jwksUrlOf(port) }),
    (req, res) => {
      res.json({ user: req.auth.sub });
    },
  );
  const resourceServer = resource.listen(0, '127.0.0.1', () =>
    announce(port, (resourceServer.address() as AddressInfo).port),
  );
});
