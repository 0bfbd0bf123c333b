/**
 * Seed 003 (fastjwt/AuthX), its explicit-refresh example app ported to each
 * adapter with the `jwt` strategy: `POST /login`, `POST /refresh` with the
 * refresh token as `Authorization: Bearer`, `GET /protected`, and the
 * sensitive operation, which wants a fresh token. One minimal app per
 * framework, driven through its in-process request API (Hono `app.request`,
 * Fastify `inject`, Express on port 0 with fetch); the same assertions for all.
 *
 * Baton's routes are mounted with `prefix: ''`, so the auth routes are the
 * seed's own paths (`/login`, `/refresh`, and also `/logout`, `/reauth`).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createBaton as createExpressBaton } from '../../src/adapters/express.ts';
import { batonPlugin } from '../../src/adapters/fastify.ts';
import { createBaton as createHonoBaton } from '../../src/adapters/hono.ts';
import type { AuthManager } from '../../src/index.ts';
import { decodeUnverified } from '../../src/jws.ts';
import { listen } from '../support/listen.ts';
import { storeKinds, strategyHarness } from './support.ts';

const PROTECTED = 'You have access to this protected resource';
const SENSITIVE = 'You have access to this sensitive operation';
const ACCESS_TTL = 15 * 60;
const FRESHNESS = 5 * 60;

interface Reply {
  status: number;
  headers: Headers;
  json: unknown;
}

type Request = (method: string, path: string, init?: { json?: unknown; token?: string }) => Promise<Reply>;

interface SeedApp {
  request: Request;
  close(): Promise<void>;
}

function requestInit(init: { json?: unknown; token?: string }): {
  headers: Record<string, string>;
  body?: string;
} {
  const headers: Record<string, string> = {};
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  if (init.json === undefined) return { headers };
  headers['content-type'] = 'application/json';
  return { headers, body: JSON.stringify(init.json) };
}

async function fetchReply(res: Response): Promise<Reply> {
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text === '' ? undefined : JSON.parse(text) };
}

const apps: Record<string, (manager: AuthManager) => Promise<SeedApp>> = {
  async hono(manager) {
    const baton = createHonoBaton(manager, { prefix: '' });
    const app = new Hono();
    app.use('*', baton.routes);
    app.get('/protected', baton.requireAuth(), (c) => c.json(PROTECTED));
    app.get('/sensitive_operation', baton.requireFresh(), (c) => c.json(SENSITIVE));
    app.onError(baton.errorHandler);
    return {
      request: async (method, path, init = {}) =>
        fetchReply(await app.request(path, { method, ...requestInit(init) })),
      close: async () => undefined,
    };
  },

  async fastify(manager) {
    const app = Fastify();
    await app.register(batonPlugin, { manager, prefix: '' });
    const json = (value: string) => JSON.stringify(value);
    app.get('/protected', { onRequest: app.baton.requireAuth() }, async (_request, reply) =>
      reply.type('application/json').send(json(PROTECTED)),
    );
    app.get('/sensitive_operation', { onRequest: app.baton.requireFresh() }, async (_request, reply) =>
      reply.type('application/json').send(json(SENSITIVE)),
    );
    app.setErrorHandler((error, request, reply) => app.baton.errorHandler(error, request, reply));
    await app.ready();
    return {
      async request(method, path, init = {}) {
        const { headers, body } = requestInit(init);
        const res = await app.inject({
          method: method as 'GET' | 'POST',
          url: path,
          headers,
          ...(body === undefined ? {} : { payload: body }),
        });
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const v of Array.isArray(value) ? value : [value]) {
            if (v !== undefined) responseHeaders.append(name, String(v));
          }
        }
        return {
          status: res.statusCode,
          headers: responseHeaders,
          json: res.body === '' ? undefined : JSON.parse(res.body),
        };
      },
      close: () => app.close(),
    };
  },

  async express(manager) {
    const baton = createExpressBaton(manager, { prefix: '' });
    const app = express();
    app.use(baton.routes);
    app.get('/protected', baton.requireAuth(), (_req, res) => {
      res.json(PROTECTED);
    });
    app.get('/sensitive_operation', baton.requireFresh(), (_req, res) => {
      res.json(SENSITIVE);
    });
    app.use(baton.errorHandler);
    const server = await listen(createServer(app));
    return {
      request: async (method, path, init = {}) =>
        fetchReply(await fetch(server.url + path, { method, ...requestInit(init) })),
      close: server.close,
    };
  },
};

function expectError(reply: Reply, status: number, code: string): void {
  assert.equal(reply.status, status, JSON.stringify(reply.json));
  assert.equal((reply.json as { error?: string }).error, code, JSON.stringify(reply.json));
}

function field(reply: Reply, name: string): unknown {
  return (reply.json as Record<string, unknown>)[name];
}

for (const kind of storeKinds) {
  for (const [framework, build] of Object.entries(apps)) {
    describe(`AuthX example app on ${framework} (jwt strategy, ${kind.name})`, () => {
      let h: Awaited<ReturnType<typeof harness>>;
      let app: SeedApp;
      const harness = () =>
        strategyHarness(kind, (base) => ({
          ...base,
          strategy: 'jwt' as const,
          accessTokenTtl: ACCESS_TTL,
          freshness: FRESHNESS,
        }));
      const login = async () => {
        const reply = await app.request('POST', '/login', { json: { username: 'test', password: 'test' } });
        assert.equal(reply.status, 200, JSON.stringify(reply.json));
        return {
          token: field(reply, 'access_token') as string,
          refresh: field(reply, 'refresh_token') as string,
        };
      };

      before(async () => {
        h = await harness();
        h.users.add({ id: 'test', username: 'test', password: 'test' });
        app = await build(h.manager);
      });
      after(async () => {
        await app?.close();
        await h?.close();
      });

      it('1. login answers {access_token, refresh_token}; bad credentials are a 401', async () => {
        const reply = await app.request('POST', '/login', { json: { username: 'test', password: 'test' } });
        assert.equal(reply.status, 200);
        assert.equal(reply.headers.get('cache-control'), 'no-store');
        const refresh = decodeUnverified(field(reply, 'refresh_token') as string).payload;
        assert.equal(refresh.type, 'refresh');
        assert.equal(refresh.sub, 'test');
        assert.equal(decodeUnverified(field(reply, 'access_token') as string).payload.type, 'access');
        expectError(
          await app.request('POST', '/login', { json: { username: 'test', password: 'nope' } }),
          401,
          'invalid_credentials',
        );
      });

      it('2. the protected route and the sensitive operation accept the fresh login token', async () => {
        const { token } = await login();
        const open = await app.request('GET', '/protected', { token });
        assert.equal(open.status, 200);
        assert.equal(open.json, PROTECTED);
        const sensitive = await app.request('GET', '/sensitive_operation', { token });
        assert.equal(sensitive.status, 200);
        assert.equal(sensitive.json, SENSITIVE);
        const missing = await app.request('GET', '/protected');
        expectError(missing, 401, 'missing_token');
        assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="baton"');
      });

      it('3. refresh with the refresh token as Bearer answers a new access token, not fresh', async () => {
        const { token, refresh } = await login();
        const refreshed = await app.request('POST', '/refresh', { token: refresh });
        assert.equal(refreshed.status, 200, JSON.stringify(refreshed.json));
        assert.equal(field(refreshed, 'refresh_token'), undefined, 'no rotation by default');
        const newToken = field(refreshed, 'access_token') as string;
        assert.ok(newToken && newToken !== token);
        assert.equal((await app.request('GET', '/protected', { token: newToken })).json, PROTECTED);
        expectError(
          await app.request('GET', '/sensitive_operation', { token: newToken }),
          401,
          'fresh_token_required',
        );
        // The refresh token stays valid: refresh again.
        assert.equal((await app.request('POST', '/refresh', { token: refresh })).status, 200);
      });

      it('an access token is refused where a refresh token is required, and the reverse', async () => {
        const { token, refresh } = await login();
        expectError(await app.request('POST', '/refresh', { token }), 401, 'wrong_token_type');
        expectError(await app.request('GET', '/protected', { token: refresh }), 401, 'wrong_token_type');
        expectError(await app.request('POST', '/refresh', { token: 'not-a-jwt' }), 401, 'invalid_token');
        expectError(await app.request('POST', '/refresh'), 401, 'missing_token');
      });

      it('freshness ends after its window; an expired access token is refreshed', async () => {
        const { token, refresh } = await login();
        h.clock.advance(FRESHNESS + 1);
        expectError(await app.request('GET', '/sensitive_operation', { token }), 401, 'fresh_token_required');
        assert.equal((await app.request('GET', '/protected', { token })).status, 200);
        h.clock.advance(ACCESS_TTL);
        const expired = await app.request('GET', '/protected', { token });
        expectError(expired, 401, 'token_expired');
        assert.match(expired.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
        const refreshed = await app.request('POST', '/refresh', { token: refresh });
        assert.equal(refreshed.status, 200);
        assert.equal(
          (await app.request('GET', '/protected', { token: field(refreshed, 'access_token') as string }))
            .status,
          200,
        );
      });

      it('logout revokes the refresh token together with the access token', async () => {
        const { token, refresh } = await login();
        assert.equal((await app.request('POST', '/logout', { token })).status, 204);
        expectError(await app.request('GET', '/protected', { token }), 401, 'token_revoked');
        expectError(await app.request('POST', '/refresh', { token: refresh }), 401, 'token_revoked');
      });
    });
  }
}
