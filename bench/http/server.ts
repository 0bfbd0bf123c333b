/**
 * The HTTP servers of the HTTP benchmark, run in one child process:
 * `node --import tsx bench/http/server.ts hono,fastify,express`
 * starts one server per framework named, each on its own port (only the one
 * under load does any work).
 *
 * Every route answers the same small JSON body; they differ only in how the
 * request is authenticated:
 *   /noauth         nothing
 *   /header         reads the Authorization header as /floor and /baton do, checks the Bearer
 *                   prefix, verifies nothing: what reading the header costs on its own
 *   /noop           a middleware (Hono, Express) or onRequest hook (Fastify) that does nothing,
 *                   before the /noauth handler: what the framework charges for any guard mounted
 *                   the way the adapters mount theirs
 *   /floor          the node:crypto floor (bench/floor.ts) on the Bearer token
 *   /baton          a minimal Baton middleware: bearerToken() from src/http, then
 *                   SessionManager.verifyAccessToken (verified-token cache on, the default)
 *   /baton-nocache  the same with `verifyCache: false`
 *   /adapter        Baton's adapter for the framework (src/adapters/*): createBaton(manager)
 *                   .requireAuth() (Fastify: the plugin's app.baton.requireAuth() on onRequest)
 *   /nocache/adapter the same on the manager with `verifyCache: false`
 *   /lib            the framework's usual JWT middleware: hono/jwt, @fastify/jwt, express-jwt
 *
 * On Hono, /header, /floor and /baton read the header from the Node request
 * (`c.env.incoming`, as @hono/node-server provides it) when it is there:
 * `c.req.header()` makes Hono build a whole Headers object for the request
 * first, which costs more than a cached verify.
 *
 * All verify the same HS256 access token, issued by SessionManager at start.
 * Prints one JSON line `{ "ports": { framework: port }, "token" }` on stdout
 * once listening; exits on SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { BatonError } from '../../src/core/errors.ts';
import { errorResponse } from '../../src/http/errors.ts';
import { bearerToken } from '../../src/http/extract.ts';
import type { HttpRequest, HttpResponse } from '../../src/http/types.ts';
import type { SessionManager } from '../../src/index.ts';
import type { BatonUser } from '../../src/sessions/types.ts';
import type { AccessClaims } from '../../src/tokens/types.ts';
import { floorVerifier } from '../floor.ts';
import { AUDIENCE, benchUser, hsFixtureFromText, ISSUER, managerFor } from '../lib/fixtures.ts';

type Framework = 'hono' | 'fastify' | 'express';

const frameworks = (process.argv[2] ?? '').split(',') as Framework[];
if (frameworks.length === 0 || !frameworks.every((name) => ['hono', 'fastify', 'express'].includes(name))) {
  process.stderr.write('usage: server.ts <hono|fastify|express>[,...]\n');
  process.exit(2);
}
process.on('SIGTERM', () => process.exit(0));

// A text secret, as people usually hand one to hono/jwt, @fastify/jwt and express-jwt.
const secretText = randomBytes(32).toString('base64url');
const fixture = await hsFixtureFromText(secretText);
const secret = secretText;
const manager = managerFor(fixture, { accessTokenTtl: '2h' });
const uncached = managerFor(fixture, { accessTokenTtl: '2h', verifyCache: false });
await Promise.all([manager.ready, uncached.ready]);
const { accessToken } = await manager.issueSession(benchUser);
const floor = floorVerifier(fixture.floorKey);
const body = (sub: unknown) => JSON.stringify({ sub });

const NO_QUERY = new URLSearchParams();

/** What a minimal Baton middleware does: parse the Bearer header as src/http does, verify, or map the error. */
function batonCheck(
  verifier: SessionManager<BatonUser>,
  authorization: string | undefined,
): { claims: AccessClaims } | { error: HttpResponse } {
  try {
    const request: HttpRequest = { method: 'GET', path: '/', headers: { authorization }, query: NO_QUERY };
    const token = bearerToken(request);
    if (token === undefined) throw new BatonError('missing_token', 'An access token is required');
    return { claims: verifier.verifyAccessToken(token) };
  } catch (error) {
    return { error: errorResponse(error) };
  }
}

function floorCheck(authorization: string | undefined): string | undefined {
  if (authorization === undefined || !authorization.startsWith('Bearer ')) return undefined;
  try {
    return floor(authorization.slice(7)).sub as string;
  } catch {
    return undefined;
  }
}

async function startHono(): Promise<number> {
  const { Hono } = await import('hono');
  const { jwt } = await import('hono/jwt');
  const { serve } = await import('@hono/node-server');
  const { createBaton } = await import('../../src/adapters/hono.ts');
  const app = new Hono<{ Variables: { auth: AccessClaims; jwtPayload: { sub: string } } }>();
  const json = { 'content-type': 'application/json' };
  type NodeEnv = { incoming?: { headers: Record<string, string | string[] | undefined> } };
  const authorization = (c: { env: unknown; req: { header(name: string): string | undefined } }) => {
    const value = (c.env as NodeEnv | undefined)?.incoming?.headers.authorization;
    return typeof value === 'string' ? value : c.req.header('authorization');
  };
  app.get('/noauth', (c) => c.body(body('anonymous'), 200, json));
  app.get(
    '/noop',
    (_c, next) => next(),
    (c) => c.body(body('anonymous'), 200, json),
  );
  app.get('/header', (c) =>
    authorization(c)?.startsWith('Bearer ') ? c.body(body('header'), 200, json) : c.body('{}', 401, json),
  );
  app.get('/floor', (c) => {
    const sub = floorCheck(authorization(c));
    return sub === undefined ? c.body('{"error":"invalid_token"}', 401, json) : c.body(body(sub), 200, json);
  });
  for (const [path, verifier] of [
    ['/baton', manager],
    ['/baton-nocache', uncached],
  ] as const) {
    app.get(path, (c) => {
      const result = batonCheck(verifier, authorization(c));
      if ('error' in result) {
        return c.body(
          result.error.body ?? '',
          result.error.status as 401,
          result.error.headers as Record<string, string>,
        );
      }
      return c.body(body(result.claims.sub), 200, json);
    });
  }
  for (const [path, verifier] of [
    ['/adapter', manager],
    ['/nocache/adapter', uncached],
  ] as const) {
    app.get(path, createBaton(verifier).requireAuth(), (c) => c.body(body(c.get('auth').sub), 200, json));
  }
  app.get(
    '/lib',
    jwt({ secret, alg: 'HS256', verification: { iss: ISSUER, aud: AUDIENCE, typ: 'at+jwt' } }),
    (c) => c.body(body(c.get('jwtPayload').sub), 200, json),
  );
  return new Promise((resolve) => {
    serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(info.port));
  });
}

async function startFastify(): Promise<number> {
  const { default: Fastify } = await import('fastify');
  const { default: fastifyJwt } = await import('@fastify/jwt');
  const { batonPlugin } = await import('../../src/adapters/fastify.ts');
  const app = Fastify({ logger: false });
  await app.register(fastifyJwt, {
    secret,
    verify: { algorithms: ['HS256'], allowedIss: ISSUER, allowedAud: AUDIENCE },
  });
  const send = (
    reply: { code(n: number): { header(k: string, v: string): { send(b: string): unknown } } },
    status: number,
    text: string,
  ) => reply.code(status).header('content-type', 'application/json').send(text);
  app.get('/noauth', async (_request, reply) => send(reply, 200, body('anonymous')));
  app.get('/noop', { onRequest: (_request, _reply, done) => done() }, async (_request, reply) =>
    send(reply, 200, body('anonymous')),
  );
  app.get('/header', async (request, reply) =>
    request.headers.authorization?.startsWith('Bearer ')
      ? send(reply, 200, body('header'))
      : send(reply, 401, '{}'),
  );
  app.get('/floor', async (request, reply) => {
    const sub = floorCheck(request.headers.authorization);
    return sub === undefined ? send(reply, 401, '{"error":"invalid_token"}') : send(reply, 200, body(sub));
  });
  for (const [path, verifier] of [
    ['/baton', manager],
    ['/baton-nocache', uncached],
  ] as const) {
    app.get(path, async (request, reply) => {
      const result = batonCheck(verifier, request.headers.authorization);
      if ('error' in result) {
        return reply
          .code(result.error.status)
          .headers(result.error.headers)
          .send(result.error.body ?? '');
      }
      return send(reply, 200, body(result.claims.sub));
    });
  }
  // The adapter is a plugin (it decorates the instance), so the uncached manager gets its own scope.
  for (const [prefix, verifier] of [
    ['', manager],
    ['/nocache', uncached],
  ] as const) {
    await app.register(
      async (scope) => {
        await scope.register(batonPlugin, { manager: verifier });
        scope.get('/adapter', { onRequest: scope.baton.requireAuth() }, async (request, reply) =>
          send(reply, 200, body(request.auth.sub)),
        );
      },
      { prefix },
    );
  }
  app.get('/lib', { onRequest: (request) => request.jwtVerify() }, async (request, reply) =>
    send(reply, 200, body((request.user as { sub: string }).sub)),
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as AddressInfo).port;
}

async function startExpress(): Promise<number> {
  const { default: express } = await import('express');
  const { expressjwt } = await import('express-jwt');
  const { createBaton } = await import('../../src/adapters/express.ts');
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  const send = (res: import('express').Response, status: number, text: string) =>
    res.status(status).type('application/json').send(text);
  app.get('/noauth', (_req, res) => send(res, 200, body('anonymous')));
  app.get(
    '/noop',
    (_req, _res, next) => next(),
    (_req, res) => send(res, 200, body('anonymous')),
  );
  app.get('/header', (req, res) =>
    req.headers.authorization?.startsWith('Bearer ') ? send(res, 200, body('header')) : send(res, 401, '{}'),
  );
  app.get('/floor', (req, res) => {
    const sub = floorCheck(req.headers.authorization);
    if (sub === undefined) send(res, 401, '{"error":"invalid_token"}');
    else send(res, 200, body(sub));
  });
  for (const [path, verifier] of [
    ['/baton', manager],
    ['/baton-nocache', uncached],
  ] as const) {
    app.get(path, (req, res) => {
      const result = batonCheck(verifier, req.headers.authorization);
      if ('error' in result) {
        res
          .status(result.error.status)
          .set(result.error.headers)
          .send(result.error.body ?? '');
        return;
      }
      send(res, 200, body(result.claims.sub));
    });
  }
  for (const [path, verifier] of [
    ['/adapter', manager],
    ['/nocache/adapter', uncached],
  ] as const) {
    app.get(path, createBaton(verifier).requireAuth(), (req, res) => send(res, 200, body(req.auth.sub)));
  }
  app.get(
    '/lib',
    expressjwt({ secret, algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE }),
    (req, res) => send(res, 200, body((req as unknown as { auth: { sub: string } }).auth.sub)),
  );
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

const start = { hono: startHono, fastify: startFastify, express: startExpress };
const ports: Partial<Record<Framework, number>> = {};
for (const framework of frameworks) ports[framework] = await start[framework]();
process.stdout.write(`${JSON.stringify({ ports, token: accessToken })}\n`);
