/** The Hono consumer: memory store, a guard mounted by path, `c.get('auth')` typed through BatonEnv. */
import { serve } from '@hono/node-server';
import { MemoryStore } from 'baton-auth';
import { type BatonEnv, createBaton } from 'baton-auth/hono';
import { requireToken } from 'baton-auth/resource/hono';
import { Hono } from 'hono';
import { AUDIENCE, announce, createSessions, ISSUER, jwksUrlOf } from './sessions.js';

const sessions = await createSessions(new MemoryStore());
const baton = createBaton(sessions);
const app = new Hono<BatonEnv>();
app.use('*', baton.routes);
app.use('/api/*', baton.requireAuth());
app.get('/api/users/:userId', (c) => {
  // Typed without a cast: the app's env says what the guard mounted above sets.
  const sub: string = c.get('auth').sub;
  return c.json({ userId: c.req.param('userId'), sub });
});
app.onError(baton.errorHandler);

serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (issuer) => {
  // A second service that only verifies: the issuer's keys by JWKS, no store.
  const resource = new Hono();
  const auth = requireToken({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: jwksUrlOf(issuer.port) });
  resource.get('/orders', auth, (c) => c.json({ user: c.get('auth').sub }));
  serve({ fetch: resource.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
    announce(issuer.port, info.port),
  );
});
