/**
 * The per-client routes through the adapters' own options: a per-client
 * manager gets them from `createBaton`/`batonPlugin` with no extra wiring,
 * `perClient` tunes them (delegate path, JWT_RESPONSE_PAYLOAD_HANDLER), and
 * `perClient` with another strategy's manager is refused at creation.
 * (The demo test walks the default routes on all three adapters.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createBaton as createExpressBaton } from '../../src/adapters/express.ts';
import { batonPlugin } from '../../src/adapters/fastify.ts';
import { createBaton as createHonoBaton } from '../../src/adapters/hono.ts';
import type { PerClientRouteOptions } from '../../src/http/index.ts';
import { JWT_BEARER_GRANT } from '../../src/http/oauth.ts';
import { storeKinds, strategyHarness } from './support.ts';

const memory = storeKinds[0];
assert.ok(memory);

const perClient = (): Promise<Awaited<ReturnType<typeof strategyHarness>>> =>
  strategyHarness(memory, (base) => ({
    ...base,
    strategy: 'per-client' as const,
    refreshKey: 'k'.repeat(32),
  }));

const options: PerClientRouteOptions = {
  delegatePath: '/api/delegate/',
  loginResponse: async ({ token, refreshTokenFor }) => ({
    token,
    refresh_token: await refreshTokenFor('app'),
  }),
};

type Send = (
  method: string,
  path: string,
  body?: unknown,
  token?: string,
) => Promise<{ status: number; json: Record<string, unknown> }>;

async function walk(send: Send): Promise<void> {
  const first = await send('POST', '/auth/login', { username: 'thedude', password: 'abides' });
  assert.equal(first.status, 200);
  assert.deepEqual(Object.keys(first.json).sort(), ['refresh_token', 'token'], 'loginResponse');
  assert.equal(first.json.refresh_token, null);
  const created = await send('POST', '/auth/refresh-tokens', { app: 'app' }, first.json.token as string);
  assert.equal(created.status, 201);
  const again = await send('POST', '/auth/login', { username: 'thedude', password: 'abides' });
  assert.equal(again.json.refresh_token, created.json.key);
  const fields = { client_id: 'app', grant_type: JWT_BEARER_GRANT, refresh_token: created.json.key };
  const delegated = await send('POST', '/api/delegate/', fields);
  assert.equal(delegated.status, 200, JSON.stringify(delegated.json));
  assert.equal(delegated.json.refresh_token, created.json.key);
  assert.equal((await send('POST', '/auth/delegate', fields)).status, 200);
  assert.equal((await send('POST', '/delegate/', fields)).status, 404, 'the default path is replaced');
}

describe('per-client routes through the adapters', () => {
  it('Hono: createBaton(manager, { perClient })', async () => {
    const h = await perClient();
    try {
      const baton = createHonoBaton(h.manager, { perClient: options });
      const app = new Hono();
      app.use('*', baton.routes);
      app.notFound((c) => c.json({ error: 'not_found' }, 404));
      await walk(async (method, path, body, token) => {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (token) headers.authorization = `Bearer ${token}`;
        const res = await app.request(path, { method, headers, body: JSON.stringify(body) });
        return { status: res.status, json: (await res.json()) as Record<string, unknown> };
      });
    } finally {
      await h.close();
    }
  });

  it('Fastify: app.register(batonPlugin, { manager, perClient })', async () => {
    const h = await perClient();
    const app = Fastify();
    try {
      await app.register(batonPlugin, { manager: h.manager, perClient: options });
      app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not_found' }));
      await app.ready();
      await walk(async (method, path, body, token) => {
        const res = await app.inject({
          method: method as 'POST',
          url: path,
          headers: {
            'content-type': 'application/json',
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          payload: JSON.stringify(body),
        });
        return { status: res.statusCode, json: res.json() as Record<string, unknown> };
      });
    } finally {
      await app.close();
      await h.close();
    }
  });

  it('perClient with a manager of another strategy: invalid_options at creation', async () => {
    const h = await strategyHarness(memory, (base) => ({ ...base, strategy: 'jwt' as const }));
    try {
      assert.throws(() => createExpressBaton(h.manager, { perClient: {} }), { code: 'invalid_options' });
      assert.throws(() => createHonoBaton(h.manager, { perClient: options }), /per-client manager/);
    } finally {
      await h.close();
    }
  });
});
