/** The demo's Hono app: Baton's auth routes plus three demo API routes. */
import { Hono } from 'hono';
import {
  type AuthVariables,
  batonErrorHandler,
  batonRoutes,
  requireAuth,
  toHttpRequest,
} from '../src/adapters/hono.ts';
import { BatonError } from '../src/core/errors.ts';
import { parseBody, readBodyLimited, requiredString } from '../src/http/body.ts';
import type { AuthHandlerOptions } from '../src/http/routes.ts';
import type { SessionManager } from '../src/sessions/manager.ts';
import type { DemoUser, DemoUsers } from './users.ts';

export const DEMO_CLIENT = { id: 'demo-client', secret: 'demo-secret' } as const;

export function createDemoApp(
  manager: SessionManager<DemoUser>,
  users: DemoUsers,
  authOptions: AuthHandlerOptions,
): Hono<{ Variables: AuthVariables }> {
  const app = new Hono<{ Variables: AuthVariables }>();
  const cookies = authOptions.cookies ?? false;

  app.use('*', batonRoutes(manager, authOptions));

  app.get('/', (c) =>
    c.json({
      name: 'Baton demo',
      routes: [
        'POST /auth/login',
        'POST /auth/refresh',
        'POST /auth/token',
        'POST /auth/logout',
        'POST /auth/logout-all',
        'GET /auth/me',
        'GET /auth/sessions',
        'DELETE /auth/sessions/:id',
        'POST /auth/revoke',
        'POST /auth/introspect',
        'POST /auth/reauth',
        'GET /.well-known/jwks.json',
        'GET /api/protected',
        'POST /api/sensitive',
        'POST /api/admin/disable-user',
      ],
    }),
  );

  app.get('/api/protected', requireAuth(manager, { cookies }), (c) => {
    const claims = c.get('auth');
    return c.json({ message: `Hello, user ${claims.sub}`, sub: claims.sub, roles: claims.roles ?? [] });
  });

  app.post('/api/sensitive', requireAuth(manager, { cookies, fresh: true }), (c) =>
    c.json({ message: 'Sensitive action performed with a fresh token', sub: c.get('auth').sub }),
  );

  app.post('/api/admin/disable-user', requireAuth(manager, { cookies, roles: ['admin'] }), async (c) => {
    const limit = authOptions.bodyLimit ?? 16 * 1024;
    const body = await readBodyLimited(c.req.raw.body, limit);
    const fields = parseBody(toHttpRequest(c, body), { accept: ['json'], limit });
    const username = requiredString(fields, 'username', { maxLength: 256 });
    const user = users.disable(username);
    if (user === undefined) throw new BatonError('not_found', 'No such user');
    const revoked = await manager.revokeUser(user.id);
    return c.json({ username, disabled: true, revoked_sessions: revoked });
  });

  app.notFound((c) => c.json({ error: 'not_found', message: 'No such route' }, 404));
  app.onError(batonErrorHandler());
  return app;
}
