/**
 * The servers of the better-auth comparison (bench/suites/better-auth.ts), in
 * one child process: `node --import tsx bench/better-auth/server.ts hono,fastify '<json config>'`
 * starts one app per framework, each on its own port, serving Baton and
 * better-auth side by side on the same framework, the same process and the
 * same kind of store (SQLite through better-sqlite3, one file each, the same
 * pragmas: WAL, synchronous=NORMAL, which Baton's SqliteStore sets).
 *
 * Baton: a SessionManager (HS256, the default verified-token cache) on a
 * SqliteStore, users in a table of the same database file (what an app's
 * `verifyCredentials` and `loadUser` read); its adapter's routes
 * (`/auth/login`, `/auth/refresh`, `/auth/logout`) and guard
 * (`requireAuth()`). A second manager with `verifyCache: false` guards
 * `/cold/baton/me` (the same keys, so the same tokens verify there).
 *
 * better-auth: four instances on one database (one secret, so a session made
 * by one is valid in all), mounted as its docs say (Hono: `auth.handler(c.req.raw)`;
 * Fastify: a `Request` built from Fastify's, headers via `fromNodeHeaders`):
 *   /api/auth        defaults: cookie cache off, updateAge 1 day        (/ba/me)
 *   /api/auth-cache  session.cookieCache on, maxAge 1 h (long enough for a whole run) (/ba-cache/me)
 *   /api/auth-short  session.cookieCache on, maxAge from the config (the revocation window) (/ba-short/me)
 *   /api/auth-renew  updateAge 0: every getSession renews the session (its refresh)
 * The protected `/ba*` routes are a guard calling `auth.api.getSession({ headers })`
 * before the handler, as better-auth's docs write it.
 *
 * Both sides hash passwords with the same function (bench/lib/passwords.ts).
 * Every protected route answers the same small JSON. Measures the store
 * footprint first (./footprint.ts), then prints one JSON line
 * `{ "ports": { framework: port }, "footprint": [...] }` on stdout once
 * listening; exits on SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { fromNodeHeaders } from 'better-auth/node';
import Database from 'better-sqlite3';
import type { BatonUser } from '../../src/sessions/types.ts';
import { MemoryStore } from '../../src/stores/memory.ts';
import { SqliteStore } from '../../src/stores/sqlite.ts';
import { algFixture, managerFor } from '../lib/fixtures.ts';
import { hashPassword, verifyPassword } from '../lib/passwords.ts';
import { measureFootprint } from './footprint.ts';
import { BA_ORIGIN, benchUserCredentials, type ServerConfig, type ServerHello } from './shared.ts';

type Framework = 'hono' | 'fastify';

const frameworks = (process.argv[2] ?? '').split(',') as Framework[];
const config = JSON.parse(process.argv[3] ?? '{}') as ServerConfig;
if (!frameworks.every((name) => name === 'hono' || name === 'fastify') || !config.dir) {
  process.stderr.write('usage: server.ts <hono|fastify>[,...] \'{"dir":...,"shortCacheSeconds":...}\'\n');
  process.exit(2);
}
process.on('SIGTERM', () => process.exit(0));

// ---------------------------------------------------------------------------
// Baton

interface UserRow {
  id: string;
  email: string;
  password: string;
  roles: string;
}

const store = new SqliteStore({ path: join(config.dir, 'baton.db') });
const db = store.database;
db.exec(
  'CREATE TABLE IF NOT EXISTS bench_users (id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, password TEXT NOT NULL, roles TEXT NOT NULL)',
);
const byEmail = db.prepare<[string], UserRow>('SELECT * FROM bench_users WHERE email = ?');
const byId = db.prepare<[string], UserRow>('SELECT * FROM bench_users WHERE id = ?');
const insertUser = db.prepare('INSERT INTO bench_users (id, email, password, roles) VALUES (?, ?, ?, ?)');
const toUser = (row: UserRow): BatonUser => ({
  id: row.id,
  username: row.email,
  roles: JSON.parse(row.roles) as string[],
});

const fixture = await algFixture('HS256');
const manager = managerFor(
  fixture,
  {
    accessTokenTtl: '2h',
    async verifyCredentials(username, password) {
      const row = byEmail.get(username);
      return row !== undefined && (await verifyPassword(row.password, password)) ? toUser(row) : null;
    },
    loadUser(id) {
      const row = byId.get(id);
      return row === undefined ? null : toUser(row);
    },
  },
  store,
);
const uncached = managerFor(fixture, { accessTokenTtl: '2h', verifyCache: false }, new MemoryStore());
await Promise.all([manager.ready, uncached.ready]);

// ---------------------------------------------------------------------------
// better-auth

const baDb = new Database(join(config.dir, 'better-auth.db'));
baDb.pragma('journal_mode = WAL');
baDb.pragma('synchronous = NORMAL');
const secret = randomBytes(32).toString('base64');
const common = {
  database: baDb,
  secret,
  baseURL: BA_ORIGIN,
  trustedOrigins: [BA_ORIGIN],
  telemetry: { enabled: false },
  rateLimit: { enabled: false },
  logger: { level: 'error' as const },
  emailAndPassword: {
    enabled: true,
    password: {
      hash: hashPassword,
      verify: ({ hash, password }: { hash: string; password: string }) => verifyPassword(hash, password),
    },
  },
};
const ba = betterAuth({ ...common, basePath: '/api/auth' });
const baCache = betterAuth({
  ...common,
  basePath: '/api/auth-cache',
  session: { cookieCache: { enabled: true, maxAge: 3600 } },
});
const baShort = betterAuth({
  ...common,
  basePath: '/api/auth-short',
  session: { cookieCache: { enabled: true, maxAge: config.shortCacheSeconds } },
});
const baRenew = betterAuth({ ...common, basePath: '/api/auth-renew', session: { updateAge: 0 } });
type Auth = typeof ba;
const instances: [string, Auth][] = [
  ['/api/auth', ba],
  ['/api/auth-cache', baCache as unknown as Auth],
  ['/api/auth-short', baShort as unknown as Auth],
  ['/api/auth-renew', baRenew as unknown as Auth],
];
const guarded: [string, Auth][] = [
  ['/ba/me', ba],
  ['/ba-cache/me', baCache as unknown as Auth],
  ['/ba-short/me', baShort as unknown as Auth],
];

await (await getMigrations(ba.options)).runMigrations();

// The same users on both sides, with the same password hash.
for (let index = 0; index < config.users; index++) {
  const { email, password } = benchUserCredentials(index);
  insertUser.run(`user-${index}`, email, await hashPassword(password), JSON.stringify(['user']));
  await ba.api.signUpEmail({ body: { email, password, name: `User ${index}` } });
}

const body = (sub: unknown) => JSON.stringify({ sub });
const JSON_TYPE = { 'content-type': 'application/json' };
const UNAUTHORIZED = '{"error":"unauthorized"}';

// ---------------------------------------------------------------------------
// Hono

async function startHono(): Promise<number> {
  const { Hono } = await import('hono');
  const { serve } = await import('@hono/node-server');
  const { createBaton } = await import('../../src/adapters/hono.ts');
  type User = { id: string };
  const app = new Hono<{ Variables: { user: User } }>();
  app.get('/noauth', (c) => c.body(body('anonymous'), 200, JSON_TYPE));

  const baton = createBaton(manager);
  app.use('/auth/*', baton.routes);
  app.get('/baton/me', baton.requireAuth(), (c) => c.body(body(c.get('auth').sub), 200, JSON_TYPE));
  app.get('/cold/baton/me', createBaton(uncached).requireAuth(), (c) =>
    c.body(body(c.get('auth').sub), 200, JSON_TYPE),
  );

  for (const [base, auth] of instances) app.on(['POST', 'GET'], `${base}/*`, (c) => auth.handler(c.req.raw));
  for (const [path, auth] of guarded) {
    app.get(
      path,
      async (c, next) => {
        const session = await auth.api.getSession({ headers: c.req.raw.headers });
        if (!session) return c.body(UNAUTHORIZED, 401, JSON_TYPE);
        c.set('user', session.user);
        return next();
      },
      (c) => c.body(body(c.get('user').id), 200, JSON_TYPE),
    );
  }
  return new Promise((resolve) => {
    serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(info.port));
  });
}

// ---------------------------------------------------------------------------
// Fastify

async function startFastify(): Promise<number> {
  const { default: Fastify } = await import('fastify');
  const { batonPlugin } = await import('../../src/adapters/fastify.ts');
  const app = Fastify({ logger: false });
  type Reply = { code(n: number): { header(k: string, v: string): { send(b: string): unknown } } };
  const send = (reply: Reply, status: number, text: string) =>
    reply.code(status).header('content-type', 'application/json').send(text);
  app.get('/noauth', async (_request, reply) => send(reply, 200, body('anonymous')));

  // Each Baton plugin in a scope of its own, as the HTTP benchmark mounts them.
  for (const [prefix, verifier] of [
    ['', manager],
    ['/cold', uncached],
  ] as const) {
    await app.register(
      async (scope) => {
        await scope.register(batonPlugin, { manager: verifier });
        scope.get('/baton/me', { onRequest: scope.baton.requireAuth() }, async (request, reply) =>
          send(reply, 200, body(request.auth.sub)),
        );
      },
      { prefix },
    );
  }

  // better-auth's Fastify integration, as its docs write it.
  for (const [base, auth] of instances) {
    app.route({
      method: ['GET', 'POST'],
      url: `${base}/*`,
      async handler(request, reply) {
        const url = new URL(request.url, `http://${request.headers.host}`);
        const init: RequestInit = { method: request.method, headers: fromNodeHeaders(request.headers) };
        if (request.body) init.body = JSON.stringify(request.body);
        const response = await auth.handler(new Request(url.toString(), init));
        reply.status(response.status);
        response.headers.forEach((value, key) => {
          reply.header(key, value);
        });
        return reply.send(response.body ? await response.text() : null);
      },
    });
  }
  app.decorateRequest('baUser', null);
  for (const [path, auth] of guarded) {
    app.get(
      path,
      {
        async onRequest(request, reply) {
          const session = await auth.api.getSession({ headers: fromNodeHeaders(request.headers) });
          if (!session) {
            send(reply, 401, UNAUTHORIZED);
            return reply; // an async hook that answered returns the reply: Fastify stops there
          }
          (request as unknown as { baUser: { id: string } }).baUser = session.user;
        },
      },
      async (request, reply) =>
        send(reply, 200, body((request as unknown as { baUser: { id: string } }).baUser.id)),
    );
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as import('node:net').AddressInfo).port;
}

// Before any server listens: nothing else runs in this process meanwhile.
const footprint =
  config.footprintSessions > 0 ? await measureFootprint(config.footprintSessions, config.dir) : [];
const start = { hono: startHono, fastify: startFastify };
const ports: ServerHello['ports'] = {};
for (const framework of frameworks) ports[framework] = await start[framework]();
process.stdout.write(`${JSON.stringify({ ports, footprint } satisfies ServerHello)}\n`);
