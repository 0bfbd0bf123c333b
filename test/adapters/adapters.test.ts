/**
 * What each adapter maps beyond the contract suite: option validation at
 * creation (Fastify: at registration), every guard, configurable token
 * lookup, the typed `auth` accessor, and frameworks' own errors in Baton's
 * shape. Same checks on all three, against a fake manager.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { validator } from 'hono/validator';
import { createBaton as expressBaton } from '../../src/adapters/express.ts';
import { batonPlugin } from '../../src/adapters/fastify.ts';
import { createBaton as honoBaton } from '../../src/adapters/hono.ts';
import type { BatonHttpOptions } from '../../src/http/index.ts';
import type { AccessClaims, AuthManager, RequestContext, TokenPair } from '../../src/index.ts';
import { BatonError } from '../../src/index.ts';
import { fakeManager } from '../support/fake-manager.ts';
import { type Listening, listen, serveHono } from '../support/listen.ts';
import { assertError, call } from './client.ts';

const claims: AccessClaims = {
  iss: 'i',
  sub: 'u1',
  aud: 'a',
  exp: 4_000_000_000,
  nbf: 0,
  iat: 0,
  jti: 'j',
  sid: 's1',
  client_id: 'c',
  type: 'access',
  fresh: false,
  roles: ['user'],
  scope: 'read',
};

const pair: TokenPair = {
  accessToken: 'at',
  refreshToken: 's1.secret',
  tokenType: 'Bearer',
  expiresIn: 900,
  refreshExpiresIn: null,
  sessionId: 's1',
  claims,
};

const manager: AuthManager = fakeManager({
  login: async () => pair,
  refresh: async () => pair,
  reauthenticate: async () => pair,
  verifyAccessToken: (token) => {
    if (token !== 'good') throw new BatonError('invalid_token', 'bad token');
    return claims;
  },
  isFresh: () => false,
  logout: async () => {},
  logoutAll: async () => 1,
  listSessions: async () => [],
  revokeSession: async () => {},
  revokeToken: async () => {},
  jwks: () => ({ keys: [] }),
});

type Started = Listening;

const unexpected: unknown[] = [];
const OPTIONS: BatonHttpOptions = {
  prefix: '/api/auth',
  tokenLookup: {
    locations: ['query', 'header', 'body'],
    headerName: 'X-Token',
    headerScheme: '',
    queryParam: 'jwt',
  },
  onUnexpectedError: (error) => unexpected.push(error),
};

async function expressApp(): Promise<Started> {
  const baton = expressBaton(manager, OPTIONS);
  const app = express();
  app.disable('x-powered-by');
  app.use((req, _res, next) => {
    // Proves the routes refuse a body some earlier middleware consumed.
    if (req.path === '/api/auth/refresh' && req.query.consume !== undefined)
      return express.text({ type: '*/*' })(req, _res, next);
    next();
  });
  app.use(baton.routes);
  app.get('/scoped', baton.requireScopes('read'), (req, res) => void res.json({ sub: req.auth.sub }));
  app.get('/scoped-write', baton.requireScopes('write'), (req, res) => void res.json({ sub: req.auth.sub }));
  app.get('/roles', baton.requireRoles('user'), (req, res) => void res.json({ sub: req.auth.sub }));
  app.get('/admin', baton.requireRoles('admin'), (req, res) => void res.json({ sub: req.auth.sub }));
  app.get('/unguarded', (req, res) => void res.json({ sub: req.auth.sub }));
  app.post(
    '/body',
    express.json(),
    baton.requireAuth(),
    (req, res) => void res.json({ sub: req.auth.sub, body: req.body }),
  );
  app.post('/parse', express.json({ limit: 32 }), (req, res) => void res.json(req.body));
  app.options('/api/auth/login', (_req, res) => void res.status(204).end());
  app.use((_req, res) => void res.status(404).json({ error: 'not_found', message: 'No such route' }));
  app.use(baton.errorHandler);
  return listen(createServer(app));
}

async function fastifyApp(): Promise<Started> {
  const app = Fastify({ bodyLimit: 32 });
  await app.register(batonPlugin, { manager, ...OPTIONS });
  app.setErrorHandler(app.baton.errorHandler);
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).send({ error: 'not_found', message: 'No such route' }),
  );
  const { baton } = app;
  app.get('/scoped', { onRequest: baton.requireScopes('read') }, async (request) => ({
    sub: request.auth.sub,
  }));
  app.get('/scoped-write', { onRequest: baton.requireScopes('write') }, async (request) => ({
    sub: request.auth.sub,
  }));
  app.get('/roles', { onRequest: baton.requireRoles('user') }, async (request) => ({
    sub: request.auth.sub,
  }));
  app.get('/admin', { onRequest: baton.requireRoles('admin') }, async (request) => ({
    sub: request.auth.sub,
  }));
  app.get('/unguarded', async (request) => ({ sub: request.auth.sub }));
  app.post('/body', { preHandler: baton.requireAuth() }, async (request) => ({
    sub: request.auth.sub,
    body: request.body,
  }));
  app.post('/parse', async (request) => request.body);
  app.options('/api/auth/login', async (_request, reply) => reply.code(204).send());
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    close: () => app.close(),
  };
}

async function honoApp(): Promise<Started> {
  const baton = honoBaton(manager, OPTIONS);
  const app = new Hono();
  app.use('*', baton.routes);
  app.get('/scoped', baton.requireScopes('read'), (c) => c.json({ sub: c.get('auth').sub }));
  app.get('/scoped-write', baton.requireScopes('write'), (c) => c.json({ sub: c.get('auth').sub }));
  app.get('/roles', baton.requireRoles('user'), (c) => c.json({ sub: c.get('auth').sub }));
  app.get('/admin', baton.requireRoles('admin'), (c) => c.json({ sub: c.get('auth').sub }));
  app.post('/body', baton.requireAuth(), async (c) =>
    c.json({ sub: c.get('auth').sub, body: await c.req.json() }),
  );
  // Hono's idiom for bodies: validator('json') answers malformed JSON with an HTTPException(400).
  app.post(
    '/parse',
    bodyLimit({ maxSize: 32 }),
    validator('json', (value) => value),
    (c) => c.json(c.req.valid('json')),
  );
  app.options('/api/auth/login', (c) => c.body(null, 204));
  app.notFound((c) => c.json({ error: 'not_found', message: 'No such route' }, 404));
  app.onError(baton.errorHandler);
  return serveHono(app.fetch);
}

describe('invalid options fail at creation, with invalid_options', () => {
  const isInvalid = (error: unknown) =>
    error instanceof BatonError && error.code === 'invalid_options' && /prefix/.test(error.message);

  it('Express and Hono: createBaton throws', () => {
    assert.throws(() => expressBaton(manager, { prefix: 'auth' }), isInvalid);
    assert.throws(() => honoBaton(manager, { prefix: 'auth' }), isInvalid);
  });

  it('Fastify: registration fails, and so does ready()', async () => {
    const app = Fastify();
    app.register(batonPlugin, { manager, prefix: 'auth' });
    await assert.rejects(async () => app.ready(), isInvalid);
    await app.close();
    const noManager = Fastify();
    noManager.register(batonPlugin, {} as never);
    await assert.rejects(async () => noManager.ready(), /manager must be an AuthManager/);
    await noManager.close();
  });
});

for (const [name, start] of [
  ['express', expressApp],
  ['fastify', fastifyApp],
  ['hono', honoApp],
] as const) {
  describe(`${name} adapter`, () => {
    let app: Started;
    before(async () => {
      app = await start();
    });
    after(async () => {
      await app.close();
      assert.deepEqual(
        unexpected.filter((e) => !/already read/.test(String(e))),
        [],
      );
    });

    it('mounts the contract at the configured prefix', async () => {
      const login = await call(app.url, '/api/auth/login', { json: { username: 'a', password: 'b' } });
      assert.equal(login.status, 200, login.text);
      assertError(
        await call(app.url, '/auth/login', { json: { username: 'a', password: 'b' } }),
        404,
        'not_found',
      );
    });

    it('requireScopes and requireRoles: every one listed, else 403 insufficient_scope', async () => {
      const as = { headers: { 'x-token': 'good' } };
      assert.deepEqual((await call(app.url, '/scoped', as)).json, { sub: 'u1' });
      assert.deepEqual((await call(app.url, '/roles', as)).json, { sub: 'u1' });
      for (const path of ['/scoped-write', '/admin']) {
        const denied = await call(app.url, path, as);
        assertError(denied, 403, 'insufficient_scope');
        assert.match(denied.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
      }
    });

    it('token lookup as configured: a bare custom header, the query string, not Authorization', async () => {
      assert.equal((await call(app.url, '/scoped?jwt=good')).status, 200);
      assert.equal((await call(app.url, '/scoped', { headers: { 'x-token': 'good' } })).status, 200);
      assertError(await call(app.url, '/scoped', { token: 'good' }), 401, 'missing_token');
      assertError(await call(app.url, '/scoped?jwt=a&jwt=b'), 400, 'invalid_request');
      assertError(await call(app.url, '/scoped', { headers: { 'x-token': 'junk' } }), 401, 'invalid_token');
    });

    it('the body location: the token from the JSON body, which the route can still read', async () => {
      const reply = await call(app.url, '/body', { json: { access_token: 'good', n: 1 } });
      assert.equal(reply.status, 200, reply.text);
      assert.deepEqual(reply.json, { sub: 'u1', body: { access_token: 'good', n: 1 } });
      assertError(await call(app.url, '/body', { json: { access_token: 5 } }), 400, 'invalid_request');
      assertError(await call(app.url, '/body', { json: { n: 1 } }), 401, 'missing_token');
    });

    it("frameworks' own body errors come out in Baton's shape, never an HTML page or a framework body", async () => {
      assertError(
        await call(app.url, '/parse', { body: '{"x":', contentType: 'application/json' }),
        400,
        'invalid_request',
      );
      assertError(await call(app.url, '/parse', { json: { x: 'y'.repeat(100) } }), 413, 'invalid_request');
    });

    it('OPTIONS on an auth route is left to the app (CORS preflights)', async () => {
      const reply = await fetch(`${app.url}/api/auth/login`, { method: 'OPTIONS' });
      assert.equal(reply.status, 204);
    });

    if (name !== 'hono') {
      it('request.auth on a route no guard protects is a 401, never a silent undefined', async () => {
        assertError(
          await call(app.url, '/unguarded', { headers: { 'x-token': 'good' } }),
          401,
          'missing_token',
        );
      });
    }

    if (name === 'express') {
      it('a body consumed before baton.routes is a logged 500, not a wrong answer', async () => {
        const reply = await call(app.url, '/api/auth/refresh?consume', {
          body: 'x',
          contentType: 'text/plain',
        });
        assertError(reply, 500, 'internal_error');
        assert.ok(unexpected.some((e) => /mount Baton's routes before body parsers/.test(String(e))));
      });
    }
  });
}

describe('implicit refresh hands the manager the client IP and user agent', () => {
  const seen: RequestContext[] = [];
  const renewing: AuthManager = {
    ...manager,
    verifyAccessToken: (token) => {
      if (token !== 'soon') throw new BatonError('invalid_token', 'bad token');
      return { ...claims, exp: Math.floor(Date.now() / 1000) + 10 };
    },
    reissueAccessToken: async (_token, context = {}) => {
      seen.push(context);
      return { ...pair, accessToken: 'successor' };
    },
  };
  const COOKIES: BatonHttpOptions = { cookies: { implicitRefresh: { within: 60 } } };
  const ipOption = (ip: string | undefined) => (ip === undefined ? {} : { clientIp: () => ip });

  const starters: Record<string, (clientIp: string | undefined) => Promise<Started>> = {
    express: async (clientIp) => {
      const baton = expressBaton(renewing, { ...COOKIES, ...ipOption(clientIp) });
      const app = express();
      app.disable('x-powered-by');
      app.get('/me', baton.requireAuth(), (req, res) => void res.json({ sub: req.auth.sub }));
      return listen(createServer(app));
    },
    fastify: async (clientIp) => {
      const app = Fastify();
      await app.register(batonPlugin, { manager: renewing, ...COOKIES, ...ipOption(clientIp) });
      app.get('/me', { onRequest: app.baton.requireAuth() }, async (request) => ({ sub: request.auth.sub }));
      await app.listen({ port: 0, host: '127.0.0.1' });
      const address = app.server.address();
      return {
        url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
        close: () => app.close(),
      };
    },
    hono: async (clientIp) => {
      const baton = honoBaton(renewing, { ...COOKIES, ...ipOption(clientIp) });
      const app = new Hono();
      app.get('/me', baton.requireAuth(), (c) => c.json({ sub: c.get('auth').sub }));
      return serveHono(app.fetch);
    },
  };

  for (const [name, start] of Object.entries(starters)) {
    for (const clientIp of [undefined, '203.0.113.7']) {
      it(`${name}, ${clientIp === undefined ? 'the peer address' : 'the clientIp option'}`, async () => {
        const app = await start(clientIp);
        try {
          seen.length = 0;
          const reply = await call(app.url, '/me', {
            headers: { cookie: '__Host-baton_access=soon', 'user-agent': 'agent/1.0' },
          });
          assert.equal(reply.status, 200, reply.text);
          assert.deepEqual(reply.json, { sub: 'u1' });
          assert.match(reply.headers.get('set-cookie') ?? '', /^__Host-baton_access=successor;/);
          assert.equal(seen.length, 1);
          assert.equal(seen[0]?.userAgent, 'agent/1.0');
          if (clientIp === undefined) assert.match(seen[0]?.ip ?? '', /^(::ffff:)?127\.0\.0\.1$/);
          else assert.equal(seen[0]?.ip, clientIp);
        } finally {
          await app.close();
        }
      });
    }
  }
});
