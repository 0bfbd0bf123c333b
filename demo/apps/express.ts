/** The demo on Express 5, through baton-auth/express. */
import { createServer } from 'node:http';
import { createBaton, toHttpRequest } from 'baton-auth/express';
import { answerClientError, parseBody, readNodeBodyLimited } from 'baton-auth/http';
import express from 'express';
import { logRequests } from '../logger.ts';
import { demoPage } from '../page/serve.ts';
import {
  type DemoApp,
  type DemoContext,
  demoIndex,
  disableUser,
  eventsBody,
  NOT_FOUND,
  protectedBody,
  sensitiveBody,
  streamChunks,
  whoamiBody,
} from '../routes.ts';

export function createExpressDemo(ctx: DemoContext): DemoApp {
  const baton = createBaton(ctx.manager, ctx.authOptions);
  const limit = ctx.authOptions.bodyLimit ?? 16 * 1024;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // `/api/protected/` is not `/api/protected`, as on Fastify and Hono.
  app.enable('strict routing');
  app.use(baton.routes);
  const { metrics } = ctx;
  if (metrics) {
    app.get('/metrics', async (_req, res) => {
      res.type(metrics.contentType).send(await metrics.scrape());
    });
  }
  app.get('/{*path}', (req, res, next) => {
    // The web page (demo/public) for browsers; the JSON index for everyone else.
    const page = demoPage(req.path, req.headers.accept);
    if (!page) return next();
    res.status(page.status).set(page.headers).end(page.body);
  });
  app.get('/', (_req, res) => {
    res.json(demoIndex(ctx.manager));
  });
  app.get('/api/protected', baton.requireAuth(), (req, res) => {
    res.json(protectedBody(req.auth));
  });
  app.get('/api/whoami', baton.optionalAuth(), (req, res) => {
    res.json(whoamiBody(req.authOrNull));
  });
  app.get('/api/stream', baton.requireAuth(), async (req, res) => {
    const [first, rest] = streamChunks(req.auth);
    res.setHeader('content-type', 'application/json');
    res.flushHeaders();
    res.write(first);
    await new Promise((resolve) => setTimeout(resolve, 10));
    res.end(rest);
  });
  app.get('/api/events', baton.requireAuth(), async (req, res) => {
    res.json(await eventsBody(ctx, req.auth));
  });
  app.post('/api/sensitive', baton.requireFresh(), (req, res) => {
    res.json(sensitiveBody(req.auth));
  });
  app.post('/api/admin/disable-user', baton.requireRoles('admin'), async (req, res) => {
    const body = await readNodeBodyLimited(req, limit);
    const fields = parseBody(toHttpRequest(req, body), { accept: ['json'], limit });
    res.json(await disableUser(ctx, fields));
  });
  app.use((_req, res) => {
    res.status(404).json(NOT_FOUND);
  });
  app.use(baton.errorHandler);

  return {
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        const server = createServer(app);
        if (ctx.logger) logRequests(server, ctx.logger);
        server.on('clientError', answerClientError);
        server.once('error', reject);
        server.listen(port, host, () => {
          const address = server.address();
          resolve({
            port: typeof address === 'object' && address ? address.port : port,
            close: () =>
              new Promise<void>((done) => {
                server.close(() => done());
                server.closeAllConnections();
              }),
          });
        });
      }),
  };
}
