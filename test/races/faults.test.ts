// The store goes away under load and comes back. For Redis the process's
// connections are killed (CLIENT KILL USER, of a Redis user only this store
// logs in as, disabled meanwhile so it cannot reconnect); for PostgreSQL its
// backends are terminated (pg_terminate_backend of a role only this store
// uses, NOLOGIN meanwhile). For SQLite, another process takes the write lock
// and dies holding it.
//
// While the store is away: refresh answers store_unavailable (503 with
// Retry-After through the HTTP handler), access tokens still verify from
// memory, and no caller sees any other error. Afterwards everything recovers
// by itself, no session is lost or damaged, and a revocation another process
// made meanwhile takes effect here once the feed is back. (The feed-only cut,
// with the revocation seen in a child process, is in test/stores/cross-process.test.ts.)
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { HttpRequest, HttpResponse } from '../../src/http/index.ts';
import { createAuthHandler } from '../../src/http/index.ts';
import type { SessionStore, TokenPair } from '../../src/index.ts';
import { BatonError, isBatonError } from '../../src/index.ts';
import { hashSecret, parseRefreshToken } from '../../src/sessions/refresh-token.ts';
import { PostgresStore } from '../../src/stores/postgres.ts';
import { RedisStore } from '../../src/stores/redis.ts';
import { SqliteStore } from '../../src/stores/sqlite.ts';
import { raceManager } from '../fixtures/race-env.ts';
import { Child } from '../support/child.ts';
import { untilAvailable } from '../support/failover.ts';
import {
  createPostgresRole,
  createRedisUser,
  DATABASE_URL,
  deleteRedisKeys,
  dropSchema,
  postgresSkip,
  REDIS_URL,
  redisSkip,
  uniqueName,
} from '../support/services.ts';
import { eventually, Load, sharedSettings } from './support.ts';

const USER = 'fault-user';
const CHAINS = 8;
/** How long the store stays away: long enough for many failed calls, well inside the grace window. */
const OUTAGE_MS = 1500;
/** Reconnection backs off to at most 2 s (Redis commands) and 5 s (the feeds); this only bounds a slow machine. */
const RECOVERY_BOUND_MS = 20_000;

const settings = await sharedSettings();

interface FaultEnv {
  /** The store of the process under fault. */
  faulty: SessionStore;
  /** Another process's store on the same data, never cut off. */
  other: SessionStore;
  /** Kills the faulty store's connections and keeps it from reconnecting; returns how many were killed. */
  cut(): Promise<number>;
  restore(): Promise<void>;
  cleanup(): Promise<void>;
}

interface ServerBackend {
  name: string;
  skip: false | string;
  setup(): Promise<FaultEnv>;
}

const backends: ServerBackend[] = [
  {
    name: 'Redis',
    skip: await redisSkip(),
    async setup() {
      const prefix = `${uniqueName('baton-faults')}:`;
      const user = await createRedisUser();
      const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      admin.on('error', () => {});
      return {
        faulty: new RedisStore({ url: user.url, prefix }),
        other: new RedisStore({ url: REDIS_URL, prefix }),
        async cut() {
          await user.setEnabled(false);
          // Only this user's connections: the command connection and the revocation feed.
          return Number(await admin.call('CLIENT', 'KILL', 'USER', user.name));
        },
        restore: () => user.setEnabled(true),
        async cleanup() {
          try {
            await user.remove();
            await deleteRedisKeys(prefix);
          } finally {
            admin.disconnect();
          }
        },
      };
    },
  },
  {
    name: 'PostgreSQL',
    skip: await postgresSkip(),
    async setup() {
      const schema = uniqueName('baton_faults');
      const other = new PostgresStore({ connectionString: DATABASE_URL, schema });
      await other.migrate();
      const role = await createPostgresRole(schema);
      return {
        faulty: new PostgresStore({ connectionString: role.url, schema }),
        other,
        async cut() {
          await role.setLoginAllowed(false);
          // Every backend of the role, idle pooled ones and the LISTEN connection included.
          return role.terminateBackends();
        },
        restore: () => role.setLoginAllowed(true),
        async cleanup() {
          await role.remove();
          await dropSchema(schema);
        },
      };
    },
  },
];

function post(path: string, body: unknown): HttpRequest {
  return {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json' },
    query: new URLSearchParams(),
    body: JSON.stringify(body),
  };
}

function getMe(accessToken: string): HttpRequest {
  return {
    method: 'GET',
    path: '/auth/me',
    headers: { authorization: `Bearer ${accessToken}` },
    query: new URLSearchParams(),
  };
}

function errorCode(response: HttpResponse | undefined): unknown {
  return response?.body === undefined ? undefined : (JSON.parse(response.body) as { error?: unknown }).error;
}

function codeOf(error: unknown): string {
  return isBatonError(error) ? error.code : `not a BatonError: ${String(error)}`;
}

async function expectUnavailable(action: Promise<unknown>): Promise<void> {
  await assert.rejects(action, (error: unknown) => {
    assert.ok(error instanceof BatonError, `expected store_unavailable, got ${String(error)}`);
    assert.equal(error.code, 'store_unavailable');
    assert.equal(error.retryAfter, 1);
    return true;
  });
}

describe('the store goes away under load and comes back', { concurrency: true }, () => {
  for (const backend of backends) {
    it(`${backend.name}: 503 while away, verification from memory, recovery by itself`, {
      skip: backend.skip,
      timeout: 60_000,
    }, async (t: TestContext) => {
      const env = await backend.setup();
      const manager = raceManager(env.faulty, settings);
      const elsewhere = raceManager(env.other, settings);
      const handler = createAuthHandler(manager);
      let load: Load | undefined;
      try {
        await Promise.all([manager.ready, elsewhere.ready]);
        const chains: TokenPair[] = [];
        for (let i = 0; i < CHAINS; i++) chains.push(await manager.issueSession({ id: USER }));
        const probe = await manager.issueSession({ id: USER });
        const victim = await manager.issueSession({ id: USER });
        const before = (await manager.listSessions(USER)).map((s) => s.id).sort();
        assert.equal(before.length, CHAINS + 2);

        load = new Load(
          manager,
          chains.map((pair) => pair.refreshToken),
          45_000,
        );
        const running = load;
        await eventually('the load is running', () => running.successes >= CHAINS * 3 || undefined, 15_000);

        // ---- the store goes away, mid-load
        const killed = await env.cut();
        const cutAt = Date.now();
        assert.ok(killed >= 1, `killed ${killed} connections`);

        await expectUnavailable(manager.refresh(probe.refreshToken));
        const response = await handler(post('/auth/refresh', { refresh_token: probe.refreshToken }));
        assert.equal(response?.status, 503);
        assert.equal(response?.headers['retry-after'], '1');
        assert.equal(errorCode(response), 'store_unavailable');

        // Access tokens keep working from memory.
        assert.equal(manager.verifyAccessToken(probe.accessToken).sid, probe.sessionId);
        assert.equal((await handler(getMe(probe.accessToken)))?.status, 200);

        // Another process revokes a session meanwhile; cut off, this one cannot know yet.
        await elsewhere.revokeSession(USER, victim.sessionId);
        assert.equal(manager.verifyAccessToken(victim.accessToken).sid, victim.sessionId);

        await sleep(Math.max(0, cutAt + OUTAGE_MS - Date.now()));
        await expectUnavailable(manager.refresh(probe.refreshToken));
        assert.ok(load.unavailable > 0, 'the load ran into the outage');
        const successesDuringOutage = load.successes;

        // ---- the store comes back: nothing is restarted
        await env.restore();
        const restoredAt = Date.now();
        const renewed = await untilAvailable(
          'refresh works again',
          () => manager.refresh(probe.refreshToken),
          RECOVERY_BOUND_MS,
        );
        const refreshBackMs = Date.now() - restoredAt;
        await eventually(
          'the revocation made while cut off takes effect',
          () => {
            try {
              manager.verifyAccessToken(victim.accessToken);
              return undefined;
            } catch (error) {
              assert.equal(codeOf(error), 'token_revoked');
              return true;
            }
          },
          RECOVERY_BOUND_MS,
          20,
        );
        const revocationBackMs = Date.now() - restoredAt;
        await eventually(
          'the load goes on',
          () => running.successes >= successesDuringOutage + CHAINS * 2 || undefined,
          RECOVERY_BOUND_MS,
        );
        await load.stop();
        t.diagnostic(
          `killed ${killed} connections; ${load.successes} refreshes, ${load.unavailable} store_unavailable; ` +
            `refresh back ${refreshBackMs} ms and revocation feed back ${revocationBackMs} ms after the restore`,
        );

        assert.deepEqual(load.errors, [], 'no caller saw an error other than store_unavailable');
        for (const [i, token] of load.tokens.entries()) {
          const parsed = parseRefreshToken(token);
          const session = await env.other.getSession(parsed.sessionId);
          assert.ok(session, `chain ${i}: session kept`);
          assert.equal(
            session.generation,
            parsed.generation,
            `chain ${i}: the chain holds the current token`,
          );
          assert.equal(session.tokenHash, hashSecret(parsed.secret), `chain ${i}`);
          assert.equal(session.revokedAt, null, `chain ${i}: not revoked`);
        }
        const after = (await manager.listSessions(USER)).map((s) => s.id).sort();
        assert.deepEqual(
          after,
          before.filter((id) => id !== victim.sessionId),
          'no session lost; the revoked one gone from the list',
        );
        const again = await handler(post('/auth/refresh', { refresh_token: renewed.refreshToken }));
        assert.equal(again?.status, 200, 'HTTP refresh works again');
      } finally {
        await load?.stop();
        await manager.close();
        await elsewhere.close();
        await env.cleanup();
      }
    });
  }

  // `ready` retries a failed revocation load, so a process that starts while
  // its store is away serves again once the store is back, without a restart.
  it('PostgreSQL: a process started while the store is away recovers by itself', {
    skip: backends.find((b) => b.name === 'PostgreSQL')?.skip ?? 'no PostgreSQL backend',
    timeout: 60_000,
  }, async () => {
    const schema = uniqueName('baton_faults');
    const other = new PostgresStore({ connectionString: DATABASE_URL, schema });
    await other.migrate();
    const role = await createPostgresRole(schema);
    await role.setLoginAllowed(false);
    const manager = raceManager(new PostgresStore({ connectionString: role.url, schema }), settings);
    const elsewhere = raceManager(other, settings);
    try {
      await expectUnavailable(manager.ready);
      const pair = await elsewhere.issueSession({ id: USER });
      await role.setLoginAllowed(true);
      const renewed = await untilAvailable(
        'refresh works once the store is back',
        () => manager.refresh(pair.refreshToken),
        3000,
      );
      assert.equal(manager.verifyAccessToken(renewed.accessToken).sid, pair.sessionId);
    } finally {
      await manager.close();
      await elsewhere.close();
      await role.remove();
      await dropSchema(schema);
    }
  });

  it('SQLite: a process dies holding the write lock', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-faults-'));
    const path = join(dir, 'baton.db');
    const manager = raceManager(new SqliteStore({ path, timeout: 200 }), settings);
    const handler = createAuthHandler(manager);
    let holder: Child | undefined;
    try {
      await manager.ready;
      const pair = await manager.issueSession({ id: USER });
      const other = await manager.issueSession({ id: USER });
      const before = (await manager.listSessions(USER)).map((s) => s.id).sort();

      holder = new Child('fault-sqlite-lock-holder.ts', [path], settings);
      await holder.take(/^locked$/, 30_000);

      await expectUnavailable(manager.refresh(pair.refreshToken));
      const response = await handler(post('/auth/refresh', { refresh_token: pair.refreshToken }));
      assert.equal(response?.status, 503);
      assert.equal(response?.headers['retry-after'], '1');
      assert.equal(manager.verifyAccessToken(pair.accessToken).sid, pair.sessionId);
      assert.equal((await handler(getMe(other.accessToken)))?.status, 200);

      await holder.kill();
      assert.equal(holder.signalCode, 'SIGKILL');
      const next = await manager.refresh(pair.refreshToken);
      assert.equal(parseRefreshToken(next.refreshToken).generation, 1, 'the failed attempts rotated nothing');
      assert.deepEqual((await manager.listSessions(USER)).map((s) => s.id).sort(), before);
    } finally {
      await holder?.kill();
      await manager.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
