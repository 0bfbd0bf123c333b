/**
 * The audit trail (`baton-auth/audit`) on every backend: a real manager's
 * events (login, refresh, reuse detection, logout) read back in order,
 * retention on a ManualClock, failures reported to the manager's logger.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AuthEvent, BatonError, ManualClock, MemoryStore } from 'baton-auth';
import { type AuditTrail, createAuditTrail } from 'baton-auth/audit';
import { PostgresStore } from 'baton-auth/stores/postgres';
import { RedisStore } from 'baton-auth/stores/redis';
import { SqliteStore } from 'baton-auth/stores/sqlite';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import pg from 'pg';
import { recordingLogger } from '../sessions/support.ts';
import {
  DATABASE_URL,
  deleteRedisKeys,
  dropSchema,
  postgresSkip,
  REDIS_URL,
  redisSkip,
  uniqueName,
} from '../support/services.ts';
import {
  ALL_HISTORY,
  assertHistory,
  assertNoSecrets,
  assertRetention,
  DAY,
  makeHistory,
  type Scenario,
  scenario,
  U1_HISTORY,
} from './support.ts';

const rejectsCode = (promise: Promise<unknown>, code: string, message?: RegExp) =>
  assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof BatonError, String(error));
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });

/** Runs the steps one after the other. */
const inOrder =
  (...steps: (() => Promise<unknown>)[]) =>
  async (): Promise<void> => {
    for (const step of steps) await step();
  };

/** The same checks on every backend: history in order, then retention. */
function backendSuite(
  name: string,
  open: (clock: ManualClock) => Promise<{ trail: AuditTrail; run: Scenario; close(): Promise<void> }>,
  skip: string | false = false,
): void {
  it(`${name}: a manager's events, in order, newest first; then retention deletes them`, {
    skip,
  }, async () => {
    const clock = new ManualClock();
    const { trail, run, close } = await open(clock);
    try {
      const { sessions } = await makeHistory(run);
      const history = await trail.recent({ userId: 'u1' });
      assertHistory(history, sessions);
      assert.deepEqual(
        (await trail.recent({ userId: 'u1', limit: 2 })).map((entry) => entry.event.type),
        U1_HISTORY.slice(0, 2),
      );
      assert.deepEqual(
        (await trail.recent({ userId: 'u2' })).map((entry) => entry.event.type),
        ['login'],
      );
      assert.deepEqual(await trail.recent({ userId: 'nobody' }), []);
      // Without a user: everyone's, newest first, the failed login of nobody's included.
      const all = await trail.recent();
      assert.deepEqual(
        all.map(({ event }) => [event.type, event.userId]),
        ALL_HISTORY,
      );
      assert.ok(all[6]?.event.type === 'login_failed' && all[6].event.username === 'donny');
      await assertRetention(trail, run);
    } finally {
      await close();
    }
  });
}

describe('createAuditTrail', () => {
  describe('memory', () => {
    backendSuite('memory', async (clock) => {
      const trail = await createAuditTrail('memory', { retention: '30d', clock });
      const run = await scenario(new MemoryStore(), { clock });
      trail.attach(run.manager);
      return { trail, run, close: inOrder(run.close, () => trail.close()) };
    });

    it('records only the types asked for, and stops when detached', async () => {
      const trail = await createAuditTrail('memory', { types: ['login', 'logout'] });
      const run = await scenario(new MemoryStore());
      try {
        const detach = trail.attach(run.manager);
        const pair = await run.manager.login('thedude', 'abides');
        await run.manager.refresh(pair.refreshToken);
        await run.manager.events.flush();
        assert.deepEqual(
          (await trail.recent({ since: 0 })).map((entry) => entry.event.type),
          ['login'],
        );
        detach();
        await run.manager.login('thedude', 'abides');
        await run.manager.events.flush();
        assert.equal((await trail.recent({ since: 0 })).length, 1);
      } finally {
        await run.close();
        await trail.close();
      }
    });

    it('keeps at most maxEntries, the newest', async () => {
      const trail = await createAuditTrail('memory', { maxEntries: 3 });
      const run = await scenario(new MemoryStore());
      try {
        trail.attach(run.manager);
        for (let i = 0; i < 5; i++) {
          await run.manager.login('thedude', 'abides', { ip: `10.0.0.${i}` });
          run.clock.advance(1);
        }
        await run.manager.events.flush();
        assert.deepEqual(
          (await trail.recent({ since: 0 })).map((entry) => entry.event.ip),
          ['10.0.0.4', '10.0.0.3', '10.0.0.2'],
        );
      } finally {
        await run.close();
        await trail.close();
      }
    });

    it('never stores a token', async () => {
      const trail = await createAuditTrail('memory');
      const run = await scenario(new MemoryStore());
      try {
        trail.attach(run.manager);
        const pair = await run.manager.login('thedude', 'abides');
        const next = await run.manager.refresh(pair.refreshToken);
        await run.manager.logout(next.accessToken);
        await run.manager.events.flush();
        const entries = await trail.recent({ since: 0 });
        assert.equal(entries.length, 3);
        assertNoSecrets(entries, [pair.accessToken, pair.refreshToken, next.accessToken, next.refreshToken]);
      } finally {
        await run.close();
        await trail.close();
      }
    });

    it('checks its options and queries', async () => {
      await rejectsCode(
        createAuditTrail('memory', { retention: 0 }),
        'invalid_options',
        /retention: must be a positive duration/,
      );
      await rejectsCode(
        createAuditTrail('memory', { ttl: '1d' } as never),
        'invalid_options',
        /ttl: unknown option; the audit trail keeps entries for retention/,
      );
      await rejectsCode(
        createAuditTrail('memory', { types: ['logn'] } as never),
        'invalid_options',
        /types\.0: must be/,
      );
      await rejectsCode(createAuditTrail('mysql://db'), 'invalid_store_url', /unsupported audit trail URL/);
      await rejectsCode(createAuditTrail(new MemoryStore() as never), 'invalid_options', /pass its URL/);
      await rejectsCode(createAuditTrail({} as never), 'invalid_options', /expected a store URL/);
      await rejectsCode(
        createAuditTrail({ client: { call: async () => 0, options: { keyPrefix: 'x:' } } as never }),
        'invalid_options',
        /keyPrefix/,
      );
      await rejectsCode(
        createAuditTrail({ client: { call: async () => 0, isCluster: true } as never }),
        'invalid_options',
        /not a Cluster/,
      );
      const trail = await createAuditTrail('memory');
      await rejectsCode(trail.recent({ limit: 0 }), 'invalid_request', /limit/);
      await rejectsCode(trail.recent({ limit: 1001 }), 'invalid_request', /limit/);
      await rejectsCode(trail.recent({ userId: '' }), 'invalid_request', /userId/);
      assert.throws(() => trail.attach({} as never), /expected a Baton manager/);
      await trail.close();
    });
  });

  describe('failures', () => {
    it("go to the manager's logger, never to the request, and the trail keeps working", async () => {
      const { logger, lines } = recordingLogger();
      const dir = mkdtempSync(join(tmpdir(), 'baton-audit-'));
      const database = new Database(join(dir, 'audit.db'));
      const trail = await createAuditTrail({ database });
      const run = await scenario(new MemoryStore(), { logger });
      try {
        trail.attach(run.manager);
        database.exec('DROP TABLE baton_audit_events'); // every write now fails
        const started = Date.now();
        await run.manager.login('thedude', 'abides'); // answers at once: listeners run after it
        assert.ok(Date.now() - started < 1000);
        await run.manager.events.flush(); // two retries, then the report
        const reports = lines.filter((line) => line.level === 'error');
        assert.equal(reports.length, 1, JSON.stringify(lines));
        assert.match(
          reports[0]?.message ?? '',
          /^baton: the audit trail lost 1 event\(s\): SQLite .*audit\.db: no such table: baton_audit_events$/,
        );
        assert.equal(reports[0]?.object.component, 'baton', "the manager's own logger");
        assert.ok(!lines.some((line) => /event listener failed/.test(line.message ?? '')));
        await assert.rejects(trail.recent(), /no such table/);
      } finally {
        await run.close();
        await trail.close();
        database.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('SQLite', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'baton-audit-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    backendSuite('sqlite: URL, a connection of its own', async (clock) => {
      const path = join(dir, 'url.db');
      const store = new SqliteStore({ path });
      const trail = await createAuditTrail(`sqlite:${path}`, { retention: '30d', clock });
      const run = await scenario(store, { clock });
      trail.attach(run.manager);
      return { trail, run, close: inOrder(run.close, () => trail.close()) };
    });

    backendSuite("sqlite: the SqliteStore's own connection", async (clock) => {
      const store = new SqliteStore({ path: join(dir, 'shared.db') });
      const trail = await createAuditTrail(store, { retention: '30d', clock });
      const run = await scenario(store, { clock });
      trail.attach(run.manager);
      return {
        trail,
        run,
        // The trail leaves the store's connection open: the store closes it.
        close: inOrder(
          () => trail.close(),
          async () => assert.ok(store.database.open),
          run.close,
        ),
      };
    });

    it('a relative sqlite: path resolves against baseDir; the table is beside the sessions', async () => {
      const trail = await createAuditTrail('sqlite:./relative.db', { baseDir: dir });
      await trail.close();
      const db = new Database(join(dir, 'relative.db'), { readonly: true });
      try {
        const tables = db
          .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'baton_audit%' ORDER BY name",
          )
          .pluck()
          .all();
        assert.deepEqual(tables, ['baton_audit_events', 'baton_audit_schema_version']);
      } finally {
        db.close();
      }
    });

    it('a file that cannot be opened: StoreOpenError', async () => {
      await rejectsCode(
        createAuditTrail(`sqlite:${join(dir, 'no-such-dir', 'x.db')}`),
        'store_unavailable',
        /cannot open the SQLite audit trail/,
      );
    });
  });

  describe('PostgreSQL', async () => {
    const skip = await postgresSkip();
    const schema = uniqueName('baton_audit').toLowerCase();
    after(async () => {
      if (!skip) await dropSchema(schema);
    });

    backendSuite(
      'postgres: URL with ?schema=',
      async (clock) => {
        const store = new PostgresStore({ connectionString: DATABASE_URL, schema });
        const url = `${DATABASE_URL}${DATABASE_URL.includes('?') ? '&' : '?'}schema=${schema}`;
        const trail = await createAuditTrail(url, { retention: '30d', clock });
        const run = await scenario(store, { clock });
        trail.attach(run.manager);
        return { trail, run, close: inOrder(run.close, () => trail.close()) };
      },
      skip,
    );

    it('on the application pool, in another table prefix; the table is JSONB', { skip }, async () => {
      const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
      try {
        const trail = await createAuditTrail({ pool, schema, tablePrefix: 'app_' });
        const run = await scenario(new MemoryStore());
        trail.attach(run.manager);
        await run.manager.login('thedude', 'abides', { ip: '203.0.113.7' });
        await run.manager.events.flush();
        await run.close();
        await trail.close();
        const { rows } = await pool.query(
          `SELECT type, user_id, event->>'ip' AS ip, jsonb_typeof(event) AS kind FROM "${schema}".app_audit_events`,
        );
        assert.deepEqual(rows, [{ type: 'login', user_id: 'u1', ip: '203.0.113.7', kind: 'object' }]);
      } finally {
        await pool.end();
      }
    });

    it('a server that is away: the trail is created, writes are reported', { skip }, async () => {
      const { logger, lines } = recordingLogger();
      const trail = await createAuditTrail('postgres://postgres@127.0.0.1:1/none', { logger });
      const run = await scenario(new MemoryStore());
      try {
        trail.attach(run.manager);
        await run.manager.login('thedude', 'abides');
        await run.manager.events.flush();
        assert.match(
          lines.find((line) => line.level === 'error')?.message ?? '',
          /^baton: the audit trail lost 1 event\(s\): PostgreSQL 127\.0\.0\.1:1\/none \(schema public\): .*ECONNREFUSED/,
        );
        await rejectsCode(trail.recent(), 'store_unavailable', /^PostgreSQL 127\.0\.0\.1:1\/none/);
      } finally {
        await run.close();
        await trail.close();
      }
    });
  });

  describe('Redis', async () => {
    const skip = await redisSkip();
    const prefix = `${uniqueName('baton-audit')}:`;
    after(async () => {
      if (!skip) await deleteRedisKeys(prefix);
    });

    backendSuite(
      'redis: URL with ?prefix=',
      async (clock) => {
        const store = new RedisStore({ url: REDIS_URL, prefix });
        const url = `${REDIS_URL}?prefix=${encodeURIComponent(prefix)}`;
        const trail = await createAuditTrail(url, { retention: '30d', clock });
        const run = await scenario(store, { clock });
        trail.attach(run.manager);
        return { trail, run, close: inOrder(run.close, () => trail.close()) };
      },
      skip,
    );

    it('streams: one of every event, one per user; ids from the event times; MAXLEN', { skip }, async () => {
      const client = new Redis(REDIS_URL);
      const own = `${prefix}own:`;
      try {
        const clock = new ManualClock();
        const trail = await createAuditTrail({ client, prefix: own }, { clock, maxEntries: 3 });
        const run = await scenario(new MemoryStore(), { clock });
        trail.attach(run.manager);
        const { sessions } = await makeHistory(run);
        assert.ok(sessions.length === 2);
        const stream = (await client.xrange(`${own}audit`, '-', '+')) as [string, string[]][];
        // Writes trim approximately (whole nodes); prune() trims exactly.
        assert.equal(stream.length, ALL_HISTORY.length);
        const [firstId, fields] = stream[0]!;
        assert.equal(firstId, `${clock.now() - 16_000}-0`, 'the id is the event time');
        assert.deepEqual(
          fields.filter((_, i) => i % 2 === 0),
          ['type', 'event'],
        );
        assert.equal((JSON.parse(fields[3]!) as AuthEvent).type, 'login_failed');
        assert.equal(await client.xlen(`${own}audit:u:u1`), U1_HISTORY.length);
        const ttl = await client.pttl(`${own}audit:u:u1`);
        assert.ok(ttl > 89 * DAY * 1000 && ttl <= 90 * DAY * 1000, `user stream TTL ${ttl}`);
        assert.equal(
          await trail.prune(),
          4 + 2,
          'beyond maxEntries: 4 of 7 in the stream of all, 2 of 5 of u1',
        );
        assert.deepEqual(
          (await trail.recent({ userId: 'u1' })).map((entry) => entry.event.type),
          U1_HISTORY.slice(0, 3),
        );
        await run.close();
        await trail.close();
        assert.equal(client.status, 'ready', "the trail leaves the application's connection open");
      } finally {
        client.disconnect();
      }
    });

    it('a clock that goes back: ids still grow, and recent() orders by event time', { skip }, async () => {
      const client = new Redis(REDIS_URL);
      const own = `${prefix}back:`;
      try {
        const clock = new ManualClock();
        const trail = await createAuditTrail({ client, prefix: own }, { clock });
        const run = await scenario(new MemoryStore(), { clock });
        trail.attach(run.manager);
        await run.manager.login('thedude', 'abides', { ip: '10.0.0.1' });
        await run.manager.events.flush();
        clock.advance(-60); // another process's clock, a minute behind
        await run.manager.login('thedude', 'abides', { ip: '10.0.0.2' });
        await run.manager.events.flush();
        const ids = ((await client.xrange(`${own}audit`, '-', '+')) as [string, string[]][]).map(
          ([id]) => id,
        );
        assert.deepEqual(ids, [`${clock.now() + 60_000}-0`, `${clock.now() + 60_000}-1`]);
        assert.deepEqual(
          (await trail.recent({ userId: 'u1', since: 0 })).map((entry) => entry.event.ip),
          ['10.0.0.1', '10.0.0.2'],
        );
        await run.close();
        await trail.close();
      } finally {
        client.disconnect();
      }
    });
  });
});
