import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import pg from 'pg';
import type { Revocation, SessionRecord } from '../../src/index.ts';
import { BatonError } from '../../src/index.ts';
import {
  migrate,
  PostgresStore,
  type PostgresStoreOptions,
  SCHEMA_VERSION,
} from '../../src/stores/postgres.ts';
import { storeConformanceSuite } from '../../src/testing/index.ts';
import { fixtureTokenHash } from '../fixtures/token-hash.ts';
import {
  createPostgresRole,
  DATABASE_URL,
  dropSchema,
  postgresSkip,
  uniqueName,
} from '../support/services.ts';
import {
  assertOneProofIdWins,
  assertUnawareWhileCut,
  isBatonError,
  sessionRecord,
} from '../support/store-fixtures.ts';

const skip = await postgresSkip();
const hooks = { describe, it, before, after, beforeEach, afterEach };
// Every store of the conformance suite shares one schema, as the processes of one deployment would.
const schema = uniqueName('baton_test');
const otherSchemas: string[] = [];
const NOW = Date.UTC(2030, 0, 1);
const HOUR = 3_600_000;

const open = (options: PostgresStoreOptions = {}) =>
  new PostgresStore({ connectionString: DATABASE_URL, schema, ...options });

/** A schema of its own, dropped after the run, for tests that inspect the tables. */
function freshSchema(): string {
  const name = uniqueName('baton_test');
  otherSchemas.push(name);
  return name;
}

function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return sessionRecord(NOW, 24 * HOUR, overrides);
}

/** Resolves with the first delivery matching `wanted`, or rejects after `ms`. */
function nextDelivery(
  store: PostgresStore,
  wanted: (revocations: readonly Revocation[]) => boolean,
  ms = 5000,
): { delivered: Promise<readonly Revocation[]>; stop: () => void } {
  let stop = () => {};
  const delivered = new Promise<readonly Revocation[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no matching delivery within ${ms} ms`)), ms);
    const unsubscribe = store.subscribeRevocations((revocations) => {
      if (!wanted(revocations)) return;
      clearTimeout(timer);
      resolve(revocations);
    });
    stop = () => {
      clearTimeout(timer);
      unsubscribe();
    };
  });
  return { delivered, stop };
}

describe('PostgresStore', { skip }, () => {
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  admin.on('error', () => {});
  after(async () => {
    for (const name of [schema, ...otherSchemas]) await dropSchema(name);
    await admin.end();
  });

  storeConformanceSuite('PostgresStore', () => open(), hooks);

  describe('options', () => {
    const bad: [string, unknown, RegExp][] = [
      ['an unknown key', { url: DATABASE_URL }, /url: unknown option; PostgresStore's is connectionString/],
      [
        'connectionString and pool',
        { connectionString: DATABASE_URL, pool: admin },
        /either connectionString/,
      ],
      ['a connection string of another scheme', { connectionString: 'mysql://x' }, /postgres:\/\//],
      ['a pool that is not one', { pool: { query: 1 } }, /pg Pool/],
      ['a schema that is not an identifier', { schema: 'a"; DROP TABLE x; --' }, /schema: must be/],
      ['a too long schema', { schema: 'x'.repeat(64) }, /schema: must be/],
      ['a table prefix with a dash', { tablePrefix: 'my-app_' }, /tablePrefix: must be/],
      ['options that are not an object', DATABASE_URL, /options must be an object/],
    ];
    for (const [label, options, message] of bad) {
      it(`rejects ${label} with invalid_options`, () => {
        assert.throws(
          () => new PostgresStore(options as PostgresStoreOptions),
          isBatonError('invalid_options', message),
        );
      });
    }

    it('uses a given pool, with a table prefix, and leaves the pool open on close', async () => {
      const name = freshSchema();
      const store = new PostgresStore({ pool: admin, schema: name, tablePrefix: 'auth_' });
      const s = record();
      await store.createSession(s);
      assert.deepEqual(await store.getSession(s.id), s);
      await store.close();
      const { rows } = await admin.query(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1',
        [name],
      );
      assert.deepEqual(
        rows.map((row: { table_name: string }) => row.table_name),
        ['auth_proof_ids', 'auth_revocations', 'auth_schema_version', 'auth_sessions'],
      );
      await assert.rejects(store.getSession(s.id), isBatonError('store_unavailable', /closed/));
    });
  });

  describe('migrations', () => {
    it('are recorded and idempotent, and create the schema with its indexes', async () => {
      const name = freshSchema();
      const store = open({ schema: name });
      assert.equal(await store.migrate(), SCHEMA_VERSION);
      assert.equal(await store.migrate(), SCHEMA_VERSION);
      await store.close();
      assert.equal(await migrate(admin, { schema: name }), SCHEMA_VERSION);
      const versions = await admin.query(`SELECT version FROM "${name}".baton_schema_version ORDER BY 1`);
      assert.deepEqual(
        versions.rows.map((row: { version: number }) => row.version),
        Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
      );
      const indexes = await admin.query('SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY 1', [
        name,
      ]);
      const names = indexes.rows.map((row: { indexname: string }) => row.indexname);
      for (const wanted of [
        'baton_sessions_user_id',
        'baton_sessions_expires_at',
        'baton_revocations_expires_at',
        'baton_proof_ids_expires_at',
      ]) {
        assert.ok(names.includes(wanted), `${wanted} in ${names.join(', ')}`);
      }
    });

    it('two stores migrating one fresh schema at once both succeed, and it is applied once', async () => {
      const name = freshSchema();
      const stores = Array.from({ length: 4 }, () => open({ schema: name }));
      try {
        const results = await Promise.all(stores.map((store) => store.migrate()));
        assert.deepEqual(
          results,
          stores.map(() => SCHEMA_VERSION),
        );
        const { rows } = await admin.query(`SELECT count(*)::int AS n FROM "${name}".baton_schema_version`);
        assert.equal(rows[0].n, SCHEMA_VERSION);
        // And both work: the first use of each needs no further migration.
        const s = record();
        await stores[0]!.createSession(s);
        assert.deepEqual(await stores[1]!.getSession(s.id), s);
      } finally {
        for (const store of stores) await store.close();
      }
    });

    it('bring a version 1 schema (before DPoP) to the current version, keeping its rows', async () => {
      const name = freshSchema();
      const old = open({ schema: name });
      const s = record();
      await old.createSession(s);
      await old.close();
      // Version 1 is the current schema without what versions 2 (proof ids) and 3 (jkt) added.
      await admin.query(`DROP TABLE "${name}".baton_proof_ids`);
      await admin.query(`ALTER TABLE "${name}".baton_sessions DROP COLUMN jkt`);
      await admin.query(`DELETE FROM "${name}".baton_schema_version WHERE version > 1`);

      const store = open({ schema: name });
      try {
        assert.equal(await store.migrate(), SCHEMA_VERSION);
        assert.deepEqual(await store.getSession(s.id), s, 'jkt null: unbound');
        const bound = { ...record(), jkt: 'k'.repeat(43) };
        await store.createSession(bound);
        assert.equal((await store.getSession(bound.id))?.jkt, 'k'.repeat(43));
        assert.equal(await store.rememberProofId('b'.repeat(43), NOW + 60_000, NOW), true);
        assert.equal(await store.rememberProofId('b'.repeat(43), NOW + 60_000, NOW), false);
      } finally {
        await store.close();
      }
    });

    it('refuse a schema written by a newer Baton', async () => {
      const name = freshSchema();
      await migrate(admin, { schema: name });
      await admin.query(`INSERT INTO "${name}".baton_schema_version VALUES ($1, 0)`, [SCHEMA_VERSION + 1]);
      const store = open({ schema: name });
      try {
        await assert.rejects(store.getSession('x'), isBatonError('invalid_options', /newer than this Baton/));
      } finally {
        await store.close();
      }
    });
  });

  it('stores times as BIGINT and reads them back as numbers', async () => {
    const name = freshSchema();
    const store = open({ schema: name });
    try {
      const far = Date.UTC(2200, 0, 1);
      const s = record({ expiresAt: far, createdAt: far - HOUR, lastUsedAt: far - HOUR });
      await store.createSession(s);
      const { rows } = await admin.query(
        `SELECT data_type FROM information_schema.columns
         WHERE table_schema = $1 AND table_name = 'baton_sessions' AND column_name = 'expires_at'`,
        [name],
      );
      assert.equal(rows[0].data_type, 'bigint');
      const read = await store.getSession(s.id);
      assert.equal(typeof read?.expiresAt, 'number');
      assert.deepEqual(read, s);
    } finally {
      await store.close();
    }
  });

  it('two stores race 50 rotations over separate connections: exactly one wins', async () => {
    const a = open();
    const b = open();
    try {
      const s = record();
      await a.createSession(s);
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          (i % 2 === 0 ? a : b).rotateSession({
            id: s.id,
            expectedGeneration: 0,
            expectedTokenHash: s.tokenHash,
            newTokenHash: fixtureTokenHash(`racer-${i}`, 1),
            now: NOW + i,
          }),
        ),
      );
      const winners = results.filter((r) => r.rotated);
      assert.equal(winners.length, 1);
      for (const result of results) assert.deepEqual(result.session, winners[0]!.session);
    } finally {
      await a.close();
      await b.close();
    }
  });

  describe('DPoP proof ids', () => {
    it('two stores race 50 uses of one id over separate connections: exactly one is true', async () => {
      await assertOneProofIdWins(open(), open(), NOW, HOUR);
    });

    it('deleteExpired deletes expired rows; rememberProofId sweeps a batch now and then by itself', async () => {
      const name = freshSchema();
      const store = open({ schema: name });
      const count = async () =>
        (await admin.query(`SELECT count(*)::int AS n FROM "${name}".baton_proof_ids`)).rows[0].n as number;
      try {
        for (let i = 0; i < 10; i++) await store.rememberProofId(`expired-${i}`, NOW, NOW - 1);
        await store.rememberProofId('live', NOW + HOUR, NOW - 1);
        await store.deleteExpired({ now: NOW, revokedBefore: 0 });
        assert.equal(await count(), 1);
        // 245 more calls bring the store to 256 since it opened: the 256th sweeps, in the background.
        for (let i = 0; i < 244; i++) await store.rememberProofId(`short-${i}`, NOW + 1, NOW);
        assert.equal(await count(), 245);
        await store.rememberProofId('later', NOW + HOUR, NOW + 2);
        const deadline = Date.now() + 5000;
        while ((await count()) !== 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.equal(await count(), 2);
      } finally {
        await store.close();
      }
    });
  });

  describe('revocation feed', () => {
    it('revokeSessions and addRevocation reach another store at commit, with the stored expiry', async () => {
      const writer = open();
      const reader = open();
      try {
        const s = record();
        await writer.createSession(s);
        const loaded = nextDelivery(reader, () => true);
        await loaded.delivered; // the initial reload: listening from here on
        loaded.stop();

        const session = nextDelivery(reader, (list) => list.some((r) => r.id === s.id));
        await writer.addRevocation({ kind: 'session', id: s.id, expiresAt: NOW + 24 * HOUR });
        await writer.revokeSessions({
          sessionId: s.id,
          reason: 'logout',
          now: NOW,
          revocationExpiresAt: NOW + HOUR,
        });
        assert.deepEqual(await session.delivered, [
          { kind: 'session', id: s.id, expiresAt: NOW + 24 * HOUR },
        ]);
        session.stop();

        const jti = `jti-${randomUUID()}`;
        const token = nextDelivery(reader, (list) => list.some((r) => r.id === jti));
        await writer.addRevocation({ kind: 'token', id: jti, expiresAt: NOW + HOUR });
        assert.deepEqual(await token.delivered, [{ kind: 'token', id: jti, expiresAt: NOW + HOUR }]);
        token.stop();
      } finally {
        await writer.close();
        await reader.close();
      }
    });

    it('a revocation of many sessions is split into notifications under 8000 bytes', async () => {
      const writer = open();
      const reader = open();
      try {
        const user = `user-${randomUUID()}`;
        const sessions = Array.from({ length: 300 }, () => record({ userId: user }));
        for (const s of sessions) await writer.createSession(s);
        const loaded = nextDelivery(reader, () => true);
        await loaded.delivered;
        loaded.stop();

        const seen = new Set<string>();
        let deliveries = 0;
        const all = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`only ${seen.size} of 300 arrived`)), 5000);
          const unsubscribe = reader.subscribeRevocations((list) => {
            deliveries += 1;
            for (const r of list) if (r.id.startsWith('sid-')) seen.add(r.id);
            if (sessions.every((s) => seen.has(s.id))) {
              clearTimeout(timer);
              unsubscribe();
              resolve();
            }
          });
        });
        const revoked = await writer.revokeSessions({
          userId: user,
          reason: 'logout_all',
          now: NOW,
          revocationExpiresAt: NOW + HOUR,
        });
        assert.equal(revoked.length, 300);
        await all;
        assert.ok(deliveries > 1, 'more than one notification');
      } finally {
        await writer.close();
        await reader.close();
      }
    });

    it('after its backend is terminated it reconnects and reloads what it missed', {
      timeout: 30000,
    }, async () => {
      const name = freshSchema();
      const writer = open({ schema: name });
      await writer.migrate();
      // The reader logs in as a role of its own, so that it alone can be cut off and kept off.
      const role = await createPostgresRole(name);
      const reader = new PostgresStore({ connectionString: role.url, schema: name });
      try {
        const first = nextDelivery(reader, () => true);
        await first.delivered;
        first.stop();

        await role.setLoginAllowed(false);
        assert.equal(await role.countListeners(reader.channel), 1, 'the reader had one LISTEN backend');
        assert.ok((await role.terminateBackends()) >= 1);
        const jti = `jti-${randomUUID()}`;
        const reload = nextDelivery(reader, (list) => list.some((r) => r.id === jti), 10000);
        await writer.addRevocation({ kind: 'token', id: jti, expiresAt: Date.now() + HOUR });
        assert.equal(await role.countListeners(reader.channel), 0, 'committed while nobody listened');
        await assertUnawareWhileCut(reader, jti);
        await role.setLoginAllowed(true);
        assert.ok((await reload.delivered).some((r) => r.id === jti));
        reload.stop();
      } finally {
        await writer.close();
        await reader.close();
        await role.remove();
      }
    });
  });

  describe('unavailable PostgreSQL', () => {
    it('answers store_unavailable with retryAfter 1, quickly', { timeout: 30000 }, async () => {
      // Nothing listens on port 1.
      const store = new PostgresStore({ connectionString: 'postgres://postgres@127.0.0.1:1/test', schema });
      try {
        const started = Date.now();
        await assert.rejects(store.getSession('x'), (error: unknown) => {
          assert.ok(error instanceof BatonError);
          assert.equal(error.code, 'store_unavailable');
          assert.equal(error.retryAfter, 1);
          return true;
        });
        await assert.rejects(
          store.revokeSessions({ userId: 'u', reason: 'logout', now: NOW, revocationExpiresAt: NOW }),
          isBatonError('store_unavailable'),
        );
        assert.ok(Date.now() - started < 7000, 'bounded wait');
      } finally {
        await store.close();
      }
    });

    it('a closed store answers store_unavailable and closes only once', async () => {
      const store = open();
      await store.close();
      await store.close();
      await assert.rejects(store.getSession('x'), isBatonError('store_unavailable', /closed/));
    });
  });
});
