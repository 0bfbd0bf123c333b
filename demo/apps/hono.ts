/** The demo on Hono, through baton-auth/hono. */
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { createBaton, toHttpRequest } from 'baton-auth/hono';
import { answerClientError, parseBody, readBodyLimited } from 'baton-auth/http';
import { Hono } from 'hono';
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

export function createHonoDemo(ctx: DemoContext): DemoApp {
  const baton = createBaton(ctx.manager, ctx.authOptions);
  const limit = ctx.authOptions.bodyLimit ?? 16 * 1024;
  const app = new Hono();
  app.use('*', baton.routes);
  const { metrics } = ctx;
  if (metrics) {
    app.get('/metrics', async (c) =>
      c.body(await metrics.scrape(), 200, { 'content-type': metrics.contentType }),
    );
  }
  app.get('*', async (c, next) => {
    // The web page (demo/public) for browsers; the JSON index for everyone else.
    const page = demoPage(c.req.path, c.req.header('accept'));
    return page ? c.body(new Uint8Array(page.body), page.status as 200, page.headers) : next();
  });
  app.get('/', (c) => c.json(demoIndex(ctx.manager)));
  app.get('/api/protected', baton.requireAuth(), (c) => c.json(protectedBody(c.get('auth'))));
  app.get('/api/whoami', baton.optionalAuth(), (c) => c.json(whoamiBody(c.get('auth'))));
  app.get('/api/stream', baton.requireAuth(), (c) => {
    const [first, rest] = streamChunks(c.get('auth'));
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode(first));
        await new Promise((resolve) => setTimeout(resolve, 10));
        controller.enqueue(encoder.encode(rest));
        controller.close();
      },
    });
    // A bare Response, not c.body(): the case where Hono would drop headers set before the route.
    return new Response(body, { headers: { 'content-type': 'application/json' } });
  });
  app.get('/api/events', baton.requireAuth(), async (c) => c.json(await eventsBody(ctx, c.get('auth'))));
  app.post('/api/sensitive', baton.requireFresh(), (c) => c.json(sensitiveBody(c.get('auth'))));
  app.post('/api/admin/disable-user', baton.requireRoles('admin'), async (c) => {
    const body = await readBodyLimited(c.req.raw.body, limit);
    const fields = parseBody(toHttpRequest(c, body), { accept: ['json'], limit });
    return c.json(await disableUser(ctx, fields));
  });
  app.notFound((c) => c.json(NOT_FOUND, 404));
  app.onError(baton.errorHandler);

  return {
    listen: (port, hostname) =>
      new Promise((resolve, reject) => {
        const server = serve({ fetch: app.fetch, port, hostname }, (info) =>
          resolve({
            port: info.port,
            close: () =>
              new Promise<void>((done) => {
                server.close(() => done());
                // Keep-alive connections would hold close() open until they time out.
                if ('closeAllConnections' in server) server.closeAllConnections();
              }),
          }),
        );
        if (ctx.logger) logRequests(server as Server, ctx.logger);
        server.on('clientError', answerClientError);
        server.once('error', reject);
      }),
  };
}
