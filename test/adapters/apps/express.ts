/**
 * A minimal Express app built directly with baton/express, composed the
 * way an Express app is (a Router for /api, express.json() on its route),
 * unlike the demo. The contract suite runs against it unchanged.
 */
import { createServer } from 'node:http';
import express from 'express';
import { NOT_FOUND, protectedBody, sensitiveBody, streamChunks, whoamiBody } from '../../../demo/routes.ts';
import { createBaton } from '../../../src/adapters/express.ts';
import { requiredString } from '../../../src/http/index.ts';
import { listen } from '../../support/listen.ts';
import { type AppDeps, disable, type StartedApp } from './types.ts';

export async function startApp(deps: AppDeps): Promise<StartedApp> {
  const baton = createBaton(deps.manager, deps.options);
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // `/api/protected/` is not `/api/protected`, as on Fastify and Hono.
  app.enable('strict routing');
  app.use(baton.routes);

  const api = express.Router({ strict: true });
  api.get('/protected', baton.requireAuth(), (req, res) => {
    res.json(protectedBody(req.auth));
  });
  api.get('/whoami', baton.optionalAuth(), (req, res) => {
    res.json(whoamiBody(req.authOrNull));
  });
  api.get('/stream', baton.requireAuth(), async (req, res) => {
    const [first, rest] = streamChunks(req.auth);
    res.type('application/json').flushHeaders();
    res.write(first);
    await new Promise((resolve) => setTimeout(resolve, 10));
    res.end(rest);
  });
  api.post('/sensitive', baton.requireFresh(), (req, res) => {
    res.json(sensitiveBody(req.auth));
  });
  api.post(
    '/admin/disable-user',
    baton.requireRoles('admin'),
    express.json({ limit: '16kb' }),
    async (req, res) => {
      res.json(await disable(deps, requiredString(req.body ?? {}, 'username', { maxLength: 256 })));
    },
  );
  app.use('/api', api);
  app.use((_req, res) => {
    res.status(404).json(NOT_FOUND);
  });
  app.use(baton.errorHandler);

  return listen(createServer(app));
}
