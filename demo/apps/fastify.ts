/** The demo on Fastify 5, through baton-auth/fastify. */

import { batonPlugin, toHttpRequest } from 'baton-auth/fastify';
import { answerClientError, parseBody } from 'baton-auth/http';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
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

export function createFastifyDemo(ctx: DemoContext): DemoApp {
  const limit = ctx.authOptions.bodyLimit ?? 16 * 1024;
  // Requests Node's parser refuses (oversized headers) answered in Baton's shape, as on the other adapters.
  const app = Fastify({ clientErrorHandler: answerClientError });
  // Registered now; its options are validated when the app loads, in listen().
  app.register(batonPlugin, { manager: ctx.manager, ...ctx.authOptions });
  app.register(async (api) => {
    const { baton } = api;
    // The web page (demo/public) for browsers; the JSON index for everyone else.
    const page = (request: FastifyRequest) =>
      demoPage(request.url.split('?')[0] ?? '/', request.headers.accept);
    api.get('/', async (request, reply) => {
      const asset = page(request);
      return asset
        ? reply.code(asset.status).headers(asset.headers).send(asset.body)
        : demoIndex(ctx.manager);
    });
    const sendPage = async (request: FastifyRequest, reply: FastifyReply) => {
      const asset = page(request);
      return asset ? reply.code(asset.status).headers(asset.headers).send(asset.body) : reply.callNotFound();
    };
    api.get('/index.html', sendPage);
    const { metrics } = ctx;
    if (metrics) {
      api.get('/metrics', async (_request, reply) =>
        reply.type(metrics.contentType).send(await metrics.scrape()),
      );
    }
    api.get('/assets/*', sendPage);
    api.get('/api/protected', { onRequest: baton.requireAuth() }, async (request) =>
      protectedBody(request.auth),
    );
    api.get('/api/whoami', { onRequest: baton.optionalAuth() }, async (request) =>
      whoamiBody(request.authOrNull),
    );
    api.get('/api/stream', { onRequest: baton.requireAuth() }, async (request, reply) => {
      const [first, rest] = streamChunks(request.auth);
      // Hijacked: Fastify's reply headers are bypassed, the raw response is written directly.
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'application/json' });
      reply.raw.write(first);
      await new Promise((resolve) => setTimeout(resolve, 10));
      reply.raw.end(rest);
    });
    api.get('/api/events', { onRequest: baton.requireAuth() }, async (request) =>
      eventsBody(ctx, request.auth),
    );
    api.post('/api/sensitive', { onRequest: baton.requireFresh() }, async (request) =>
      sensitiveBody(request.auth),
    );
    api.register(async (admin) => {
      // Raw bytes, parsed by Baton's strict parser as on the auth routes.
      admin.removeAllContentTypeParsers();
      admin.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limit }, (_request, body, done) =>
        done(null, body),
      );
      admin.post('/api/admin/disable-user', { onRequest: baton.requireRoles('admin') }, async (request) => {
        const body = Buffer.isBuffer(request.body) ? request.body : undefined;
        const fields = parseBody(toHttpRequest(request, body), { accept: ['json'], limit });
        return disableUser(ctx, fields);
      });
    });
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(NOT_FOUND));
  app.setErrorHandler((error, request, reply) => app.baton.errorHandler(error, request, reply));

  return {
    listen: async (port, host) => {
      if (ctx.logger) logRequests(app.server, ctx.logger);
      try {
        await app.listen({ port, host });
      } catch (error) {
        await app.close().catch(() => undefined);
        throw error;
      }
      const address = app.server.address();
      return {
        port: typeof address === 'object' && address ? address.port : port,
        close: () => app.close(),
      };
    },
  };
}
