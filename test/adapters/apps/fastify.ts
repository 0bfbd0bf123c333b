/**
 * A minimal Fastify app built directly with baton/fastify: the plugin, an
 * /api plugin with per-route hooks, Fastify's own JSON parser and schema
 * validation on the admin route. The contract suite runs against it unchanged.
 */
import { Readable } from 'node:stream';
import Fastify from 'fastify';
import { NOT_FOUND, protectedBody, sensitiveBody, streamChunks, whoamiBody } from '../../../demo/routes.ts';
import { batonPlugin } from '../../../src/adapters/fastify.ts';
import { type AppDeps, disable, type StartedApp } from './types.ts';

export async function startApp(deps: AppDeps): Promise<StartedApp> {
  const app = Fastify({ bodyLimit: 16 * 1024 });
  await app.register(batonPlugin, { manager: deps.manager, ...deps.options });
  app.setErrorHandler(app.baton.errorHandler);
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(NOT_FOUND));

  await app.register(
    async (api) => {
      const { baton } = api;
      api.get('/protected', { onRequest: baton.requireAuth() }, async (request) =>
        protectedBody(request.auth),
      );
      api.get('/whoami', { onRequest: baton.optionalAuth() }, async (request) =>
        whoamiBody(request.authOrNull),
      );
      api.get('/stream', { preHandler: baton.requireAuth() }, async (request, reply) => {
        const [first, rest] = streamChunks(request.auth);
        async function* chunks() {
          yield first;
          await new Promise((resolve) => setTimeout(resolve, 10));
          yield rest;
        }
        return reply.type('application/json').send(Readable.from(chunks()));
      });
      api.post('/sensitive', { onRequest: baton.requireFresh() }, async (request) =>
        sensitiveBody(request.auth),
      );
      api.post<{ Body: { username: string } }>(
        '/admin/disable-user',
        {
          onRequest: baton.requireRoles('admin'),
          schema: {
            body: {
              type: 'object',
              required: ['username'],
              properties: { username: { type: 'string', minLength: 1, maxLength: 256 } },
            },
          },
        },
        async (request) => disable(deps, request.body.username),
      );
    },
    { prefix: '/api' },
  );

  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    close: () => app.close(),
  };
}
