/**
 * A minimal Hono app built directly with baton/hono: an /api sub-app,
 * hono/validator for the admin route's body, hono/streaming for the stream.
 * The contract suite runs against it unchanged.
 */
import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import { validator } from 'hono/validator';
import { NOT_FOUND, protectedBody, sensitiveBody, streamChunks, whoamiBody } from '../../../demo/routes.ts';
import { createBaton } from '../../../src/adapters/hono.ts';
import { type Fields, requiredString } from '../../../src/http/index.ts';
import { serveHono } from '../../support/listen.ts';
import { type AppDeps, disable, type StartedApp } from './types.ts';

export async function startApp(deps: AppDeps): Promise<StartedApp> {
  const baton = createBaton(deps.manager, deps.options);
  const api = new Hono()
    .get('/protected', baton.requireAuth(), (c) => c.json(protectedBody(c.get('auth'))))
    .get('/whoami', baton.optionalAuth(), (c) => c.json(whoamiBody(c.get('auth'))))
    .get('/stream', baton.requireAuth(), (c) => {
      const [first, rest] = streamChunks(c.get('auth'));
      c.header('content-type', 'application/json');
      return stream(c, async (s) => {
        await s.write(first);
        await s.sleep(10);
        await s.write(rest);
      });
    })
    .post('/sensitive', baton.requireFresh(), (c) => c.json(sensitiveBody(c.get('auth'))))
    .post(
      '/admin/disable-user',
      baton.requireRoles('admin'),
      validator('json', (value) => ({
        username: requiredString(value as Fields, 'username', { maxLength: 256 }),
      })),
      async (c) => c.json(await disable(deps, c.req.valid('json').username)),
    );

  const app = new Hono();
  app.use('*', baton.routes);
  app.route('/api', api);
  app.notFound((c) => c.json(NOT_FOUND, 404));
  app.onError(baton.errorHandler);

  return serveHono(app.fetch);
}
