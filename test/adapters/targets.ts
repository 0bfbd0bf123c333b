/**
 * What the contract suite runs against: the demo server on each adapter, and
 * a minimal app built directly with each adapter. All get a manual clock,
 * short TTLs (access 60 s, session 1 h, grace 10 s) and a cheap password hash.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_CLIENT, type DemoAdapter } from '../../demo/app.ts';
import { DEMO_AUDIENCE, DEMO_ISSUER, startDemo } from '../../demo/server.ts';
import { type DemoUser, DemoUsers } from '../../demo/users.ts';
import type { BatonHttpOptions } from '../../src/http/index.ts';
import type { DpopOptions, RateLimitOptions } from '../../src/index.ts';
import { generateSigningKey, ManualClock, MemoryStore, SessionManager } from '../../src/index.ts';
import { SqliteStore } from '../../src/stores/sqlite.ts';
import type { AppDeps, StartedApp } from './apps/types.ts';

export const FAST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 };
/** Cookie mode renews access cookies in their last 30 s (of 60). */
export const IMPLICIT_REFRESH_WITHIN = 30;

export type StoreSpec = 'memory' | 'sqlite';

export interface StartOptions {
  /** Cookie mode (with implicit refresh) or header mode. */
  cookies: boolean;
  rateLimit?: RateLimitOptions | false;
  /** DPoP on (app targets): the manager's option; the app's publicUrl is then `DPOP_PUBLIC_URL`. */
  dpop?: DpopOptions;
}

/** The public URL of an app target with DPoP on: what proofs name (htu), whatever port it listens on. */
export const DPOP_PUBLIC_URL = 'https://api.baton.test';

export interface Running {
  url: string;
  clock: ManualClock;
  users: DemoUsers;
  manager: SessionManager<DemoUser>;
  /** Errors that reached the generic 500 path; a contract test expects none. */
  unexpected: unknown[];
  close(): Promise<void>;
}

export interface Target {
  /** `demo/express`, `app/fastify`, ... */
  name: string;
  adapter: DemoAdapter;
  store: StoreSpec;
  start(options: StartOptions): Promise<Running>;
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'baton-contract-'));
}

function demoTarget(adapter: DemoAdapter, store: StoreSpec): Target {
  return {
    name: `demo/${adapter}`,
    adapter,
    store,
    async start(options) {
      const dataDir = tempDir();
      const clock = new ManualClock(Date.UTC(2030, 0, 1));
      const unexpected: unknown[] = [];
      const demo = await startDemo({
        adapter,
        port: 0,
        dataDir,
        clock,
        store: store === 'memory' ? 'memory' : 'sqlite:./baton.db',
        accessTtl: 60,
        refreshTtl: 3600,
        grace: 10,
        cookies: options.cookies,
        implicitRefresh: IMPLICIT_REFRESH_WITHIN,
        passwordCost: FAST_SCRYPT,
        rateLimit: options.rateLimit ?? { perUsername: 100, perIp: 1000 },
        onUnexpectedError: (error) => {
          console.error('unexpected error:', error);
          unexpected.push(error);
        },
      });
      return {
        url: demo.url,
        clock,
        users: demo.users,
        manager: demo.manager as SessionManager<DemoUser>,
        unexpected,
        async close() {
          await demo.close();
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    },
  };
}

type AppStarter = (deps: AppDeps) => Promise<StartedApp>;

const APPS: Record<DemoAdapter, () => Promise<AppStarter>> = {
  express: async () => (await import('./apps/express.ts')).startApp,
  fastify: async () => (await import('./apps/fastify.ts')).startApp,
  hono: async () => (await import('./apps/hono.ts')).startApp,
};

function appTarget(adapter: DemoAdapter, store: StoreSpec): Target {
  return {
    name: `app/${adapter}`,
    adapter,
    store,
    async start(options) {
      const dir = store === 'sqlite' ? tempDir() : undefined;
      const clock = new ManualClock(Date.UTC(2030, 0, 1));
      const unexpected: unknown[] = [];
      const users = await DemoUsers.create(FAST_SCRYPT);
      const manager = new SessionManager<DemoUser>({
        issuer: DEMO_ISSUER,
        audience: DEMO_AUDIENCE,
        keys: [await generateSigningKey('EdDSA')],
        refreshKey: randomBytes(32),
        store: dir === undefined ? new MemoryStore() : new SqliteStore({ path: join(dir, 'baton.db') }),
        loadUser: users.load,
        verifyCredentials: users.verify,
        clock,
        accessTokenTtl: 60,
        refreshTokenTtl: 3600,
        graceWindow: 10,
        rateLimit: options.rateLimit ?? { perUsername: 100, perIp: 1000 },
        ...(options.dpop === undefined ? {} : { dpop: options.dpop }),
      });
      await manager.ready;
      const batonOptions: BatonHttpOptions = {
        cookies: options.cookies ? { implicitRefresh: { within: IMPLICIT_REFRESH_WITHIN } } : false,
        clients: [DEMO_CLIENT],
        ...(options.dpop === undefined ? {} : { publicUrl: DPOP_PUBLIC_URL, serverMetadata: false }),
        onUnexpectedError: (error) => {
          console.error('unexpected error:', error);
          unexpected.push(error);
        },
      };
      const app = await (await APPS[adapter]())({ manager, users, options: batonOptions });
      return {
        url: app.url,
        clock,
        users,
        manager,
        unexpected,
        async close() {
          await app.close();
          await manager.close();
          if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

/** SQLite for one combination (the demo's default store, on its default framework); memory elsewhere. */
export const TARGETS: Readonly<Record<string, Target>> = {
  'demo/hono': demoTarget('hono', 'sqlite'),
  'demo/express': demoTarget('express', 'memory'),
  'demo/fastify': demoTarget('fastify', 'memory'),
  'app/hono': appTarget('hono', 'memory'),
  'app/express': appTarget('express', 'memory'),
  'app/fastify': appTarget('fastify', 'memory'),
};
