import assert from 'node:assert/strict';
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Revocation, SessionRecord } from '../../src/index.ts';
import { BatonError } from '../../src/index.ts';
import { migrate, SCHEMA_VERSION, SqliteStore, type SqliteStoreOptions } from '../../src/stores/sqlite.ts';
import { storeConformanceSuite } from '../../src/testing/index.ts';
import { fixtureTokenHash } from '../fixtures/token-hash.ts';
import { isBatonError, sessionRecord } from '../support/store-fixtures.ts';

const hooks = { describe, it, before, after, beforeEach, afterEach };
const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'baton-sqlite-'));
const children = new Set<ChildProcessByStdio<null, Readable, Readable>>();
let fileCounter = 0;
const newFile = () => join(dir, `store-${++fileCounter}.db`);

after(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const NOW = Date.UTC(2030, 0, 1);
/** Undoes schema version 3 (the revocation feed). */
const DROP_VERSION_3 =
  'DROP TRIGGER baton_revocation_feed_insert; DROP TRIGGER baton_revocation_feed_update; DROP TABLE baton_revocation_feed';

/** The first delivery of `store`'s feed matching `wanted`, within `ms`. */
function nextDelivery(
  store: SqliteStore,
  wanted: (revocations: readonly Revocation[]) => boolean,
  ms = 5000,
): { promise: Promise<readonly Revocation[]>; stop: () => void } {
  let stop = () => {};
  const promise = new Promise<readonly Revocation[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`no matching delivery within ${ms} ms`));
    }, ms);
    const unsubscribe = store.subscribeRevocations((revocations) => {
      if (!wanted(revocations)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(revocations);
    });
    stop = () => {
      clearTimeout(timer);
      unsubscribe();
    };
  });
  return { promise, stop };
}

function record(id: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return sessionRecord(NOW, 86_400_000, { id, userId: 'user-1', ...overrides });
}

function startChild(script: string, args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture(script), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return { child, stderr: () => stderr };
}

storeConformanceSuite('SqliteStore :memory:', () => new SqliteStore(), hooks);

// Every store of this suite opens the same file, as processes sharing it would.
const sharedFile = join(dir, 'conformance.db');
storeConformanceSuite('SqliteStore file', () => SqliteStore.open(sharedFile), hooks);

describe('SqliteStore', () => {
  describe('options', () => {
    const bad: [string, unknown, RegExp][] = [
      ['an unknown key', { file: 'x.db' }, /file: unknown option; SqliteStore's is path/],
      [
        'path and database',
        { path: ':memory:', database: new Database(':memory:') },
        /either path or database/,
      ],
      ['an empty path', { path: '' }, /path: must be/],
      ['a non-string path', { path: 42 }, /path: must be/],
      ['a negative timeout', { timeout: -1 }, /timeout: must be/],
      ['a fractional timeout', { timeout: 150.5 }, /timeout: must be/],
      ['a timeout under 100 ms', { timeout: 50 }, /timeout: must be/],
      [
        'the old busyTimeoutMs',
        { busyTimeoutMs: 1000 },
        /busyTimeoutMs: unknown option; SqliteStore's is timeout/,
      ],
      ['a database that is not one', { database: { open: true } }, /better-sqlite3 Database/],
      [
        'a closed database',
        { database: new Database(':memory:').close() },
        /database: must be an open better-sqlite3 Database: this one is closed/,
      ],
      ['a missing directory', { path: join(dir, 'no', 'such', 'dir', 'x.db') }, /cannot open/],
      ['options that are not an object', 'x.db', /options must be an object/],
    ];
    for (const [label, options, message] of bad) {
      it(`rejects ${label} with invalid_options`, () => {
        assert.throws(
          () => new SqliteStore(options as SqliteStoreOptions),
          isBatonError('invalid_options', message),
        );
      });
    }

    it('opens a file in WAL mode with synchronous=NORMAL, never waiting for a lock inside SQLite', async () => {
      const store = SqliteStore.open(newFile());
      try {
        assert.equal(store.database.pragma('journal_mode', { simple: true }), 'wal');
        assert.equal(store.database.pragma('synchronous', { simple: true }), 1);
        // Lock waits happen on a timer in the store (test/stores/sqlite-lock.test.ts), not in SQLite's busy handler.
        assert.equal(store.database.pragma('busy_timeout', { simple: true }), 0);
      } finally {
        await store.close();
      }
    });

    it('creates the database file, its -wal and its -shm readable by the owner only (0600)', async () => {
      const path = newFile();
      const store = SqliteStore.open(path);
      try {
        await store.createSession(record('private'));
        for (const file of [path, `${path}-wal`, `${path}-shm`]) {
          assert.equal((statSync(file).mode & 0o777).toString(8), '600', file);
        }
      } finally {
        await store.close();
      }
    });

    it('leaves the mode of an existing file alone', async () => {
      const path = newFile();
      writeFileSync(path, '', { mode: 0o640 });
      chmodSync(path, 0o640);
      const store = SqliteStore.open(path);
      await store.close();
      assert.equal((statSync(path).mode & 0o777).toString(8), '640');
    });

    it('leaves a given database open, with its own pragmas', async () => {
      const db = new Database(':memory:');
      const store = new SqliteStore({ database: db });
      assert.equal(store.database, db);
      assert.equal(db.pragma('synchronous', { simple: true }), 2);
      await store.close();
      assert.equal(db.open, true);
      db.close();
    });
  });

  describe('migrations', () => {
    it('are recorded and idempotent: opening a file twice applies them once', async () => {
      const path = newFile();
      await SqliteStore.open(path).close();
      await SqliteStore.open(path).close();
      const db = new Database(path);
      try {
        const rows = db.prepare('SELECT version FROM baton_schema_version ORDER BY version').pluck().all();
        assert.deepEqual(
          rows,
          Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
        );
        assert.equal(migrate(db), SCHEMA_VERSION);
        assert.equal(db.prepare('SELECT count(*) FROM baton_schema_version').pluck().get(), SCHEMA_VERSION);
        const tables = db
          .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE 'baton_%' ORDER BY name",
          )
          .pluck()
          .all();
        assert.deepEqual(tables, [
          'baton_proof_ids',
          'baton_revocation_feed',
          'baton_revocations',
          'baton_schema_version',
          'baton_sessions',
        ]);
      } finally {
        db.close();
      }
    });

    it('bring a version 1 file (before DPoP) to the current version, keeping its rows', async () => {
      const path = newFile();
      const old = SqliteStore.open(path);
      await old.createSession(record('from-v1'));
      await old.close();
      // Version 1 is the current schema without what versions 2 (proof ids), 3 (the feed) and 4 (jkt) added.
      const db = new Database(path);
      db.exec(
        `${DROP_VERSION_3}; DROP TABLE baton_proof_ids; ALTER TABLE baton_sessions DROP COLUMN jkt; DELETE FROM baton_schema_version WHERE version > 1`,
      );
      db.close();

      const store = SqliteStore.open(path);
      try {
        assert.equal(
          store.database.prepare('SELECT max(version) FROM baton_schema_version').pluck().get(),
          SCHEMA_VERSION,
        );
        assert.deepEqual(await store.getSession('from-v1'), record('from-v1'), 'jkt null: unbound');
        await store.createSession({ ...record('bound'), jkt: 'k'.repeat(43) });
        assert.equal((await store.getSession('bound'))?.jkt, 'k'.repeat(43));
        assert.equal(await store.rememberProofId('a'.repeat(43), NOW + 60_000, NOW), true);
        assert.equal(await store.rememberProofId('a'.repeat(43), NOW + 60_000, NOW), false);
      } finally {
        await store.close();
      }
    });

    it('bring a version 2 file (before the revocation feed) to the current version, keeping its revocations', async () => {
      const path = newFile();
      const old = SqliteStore.open(path);
      await old.addRevocation({ kind: 'token', id: 'from-v2', expiresAt: NOW + 60_000 });
      await old.close();
      const db = new Database(path);
      db.exec(
        `${DROP_VERSION_3}; ALTER TABLE baton_sessions DROP COLUMN jkt; DELETE FROM baton_schema_version WHERE version > 2`,
      );
      db.close();

      const store = SqliteStore.open(path);
      const other = SqliteStore.open(path);
      try {
        assert.equal(SCHEMA_VERSION, 4);
        assert.equal(
          store.database.prepare('SELECT max(version) FROM baton_schema_version').pluck().get(),
          SCHEMA_VERSION,
        );
        assert.deepEqual(await store.listRevocations(NOW), [
          { kind: 'token', id: 'from-v2', expiresAt: NOW + 60_000 },
        ]);
        // The feed works on the migrated file.
        const delivered = nextDelivery(store, (list) => list.some((r) => r.id === 'after-v3'));
        await other.addRevocation({ kind: 'token', id: 'after-v3', expiresAt: Date.now() + 60_000 });
        await delivered.promise;
      } finally {
        await store.close();
        await other.close();
      }
    });

    it('refuse a database written by a newer Baton', () => {
      const path = newFile();
      const db = new Database(path);
      migrate(db);
      db.prepare('INSERT INTO baton_schema_version (version, applied_at) VALUES (?, 0)').run(
        SCHEMA_VERSION + 1,
      );
      db.close();
      assert.throws(() => SqliteStore.open(path), isBatonError('invalid_options', /newer than this Baton/));
    });

    it('leave the tables of a given database alone', async () => {
      const db = new Database(':memory:');
      db.exec('CREATE TABLE sessions (id TEXT PRIMARY KEY, data TEXT)');
      db.prepare("INSERT INTO sessions VALUES ('app', 'kept')").run();
      const store = new SqliteStore({ database: db });
      await store.createSession(record('baton'));
      assert.equal(db.prepare('SELECT data FROM sessions').pluck().get(), 'kept');
      await store.close();
      db.close();
    });
  });

  describe('DPoP proof ids', () => {
    const count = (store: SqliteStore) =>
      store.database.prepare('SELECT count(*) FROM baton_proof_ids').pluck().get() as number;

    it('deleteExpired deletes the rows of expired ids, in batches', async () => {
      const store = new SqliteStore();
      try {
        for (let i = 0; i < 2_100; i++) await store.rememberProofId(`expired-${i}`, NOW + i, NOW - 1);
        await store.rememberProofId('live', NOW + 60_000, NOW);
        await store.deleteExpired({ now: NOW + 2_100, revokedBefore: 0 });
        assert.equal(count(store), 1);
      } finally {
        await store.close();
      }
    });

    it('rememberProofId sweeps a batch of expired rows now and then, without deleteExpired', async () => {
      const store = new SqliteStore();
      try {
        // 255 calls leave 255 rows that expire at NOW + 1; the 256th sweeps them.
        for (let i = 0; i < 255; i++) await store.rememberProofId(`short-${i}`, NOW + 1, NOW);
        assert.equal(count(store), 255);
        assert.equal(await store.rememberProofId('later', NOW + 60_000, NOW + 2), true);
        assert.equal(count(store), 1);
      } finally {
        await store.close();
      }
    });
  });

  it('reopening a file keeps sessions and revocations', async () => {
    const path = newFile();
    const first = SqliteStore.open(path);
    const s = record('kept');
    await first.createSession(s);
    const rotated = await first.rotateSession({
      id: s.id,
      expectedGeneration: 0,
      expectedTokenHash: s.tokenHash,
      newTokenHash: fixtureTokenHash(s.id, 1),
      now: NOW + 1000,
    });
    await first.addRevocation({ kind: 'token', id: 'jti-1', expiresAt: NOW + 60_000 });
    await first.close();

    const second = SqliteStore.open(path);
    try {
      assert.deepEqual(await second.getSession(s.id), rotated.session);
      assert.deepEqual(await second.listRevocations(NOW), [
        { kind: 'token', id: 'jti-1', expiresAt: NOW + 60_000 },
      ]);
    } finally {
      await second.close();
    }
  });

  it('two stores on one file race 50 rotations: exactly one wins', async () => {
    const path = newFile();
    const a = SqliteStore.open(path);
    const b = SqliteStore.open(path);
    try {
      const s = record('raced');
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
      assert.deepEqual(await a.getSession(s.id), winners[0]!.session);
      assert.deepEqual(await b.getSession(s.id), winners[0]!.session);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('four processes rotating one session win each generation exactly once', { timeout: 30000 }, async () => {
    const path = newFile();
    const store = SqliteStore.open(path);
    const s = record('multi-process');
    await store.createSession(s);
    const startAt = String(Date.now() + 2000);
    const racers = ['a', 'b', 'c', 'd'].map((label) =>
      startChild('sqlite-rotate-race.ts', [path, s.id, '300', startAt, label]),
    );
    const outputs = await Promise.all(
      racers.map(async ({ child, stderr }) => {
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
        });
        const [code] = await once(child, 'exit');
        assert.equal(code, 0, `racer failed: ${stderr()}`);
        return JSON.parse(out) as number[];
      }),
    );
    const final = await store.getSession(s.id);
    await store.close();
    assert.ok(final && final.generation > 0);
    const won = outputs.flat().sort((x, y) => x - y);
    assert.deepEqual(
      won,
      Array.from({ length: final.generation }, (_, i) => i + 1),
      'every generation has exactly one winner',
    );
  });

  it('surfaces a lock held past the deadline as a retryable store_unavailable, then works again', async () => {
    const path = newFile();
    const store = new SqliteStore({ path, timeout: 200 });
    const blocker = new Database(path);
    try {
      blocker.exec('BEGIN IMMEDIATE');
      const started = performance.now();
      await assert.rejects(store.createSession(record('blocked')), (error: unknown) => {
        assert.ok(error instanceof BatonError);
        assert.equal(error.code, 'store_unavailable');
        assert.equal(error.retryAfter, 1);
        assert.match(error.message, /locked by another connection for 200 ms/);
        return true;
      });
      const waited = performance.now() - started;
      assert.ok(waited >= 195 && waited < 1500, `failed after ${Math.round(waited)} ms`);
      // Reads do not wait for a writer (WAL).
      assert.equal(await store.getSession('blocked'), null);
      blocker.exec('ROLLBACK');
      await store.createSession(record('blocked'));
      assert.equal((await store.getSession('blocked'))?.id, 'blocked');
    } finally {
      blocker.close();
      await store.close();
    }
  });

  it('a call waiting for the lock goes through once it is released, before the deadline', async () => {
    const path = newFile();
    const store = new SqliteStore({ path, timeout: 5000 });
    const blocker = new Database(path);
    try {
      blocker.exec('BEGIN IMMEDIATE');
      const released = new Promise<number>((resolve) =>
        setTimeout(() => {
          blocker.exec('ROLLBACK');
          resolve(performance.now());
        }, 150),
      );
      await store.createSession(record('waited'));
      const doneAt = performance.now();
      const releasedAt = await released;
      assert.ok(doneAt >= releasedAt, 'went through after the release');
      assert.ok(doneAt - releasedAt < 500, `${Math.round(doneAt - releasedAt)} ms after the release`);
      assert.equal((await store.getSession('waited'))?.id, 'waited');
    } finally {
      blocker.close();
      await store.close();
    }
  });

  it('opens a current file without waiting for another connection that holds the write lock', async () => {
    const path = newFile();
    await SqliteStore.open(path).close();
    const blocker = new Database(path);
    try {
      blocker.exec('BEGIN IMMEDIATE');
      const started = performance.now();
      const store = new SqliteStore({ path, timeout: 5000 });
      assert.ok(performance.now() - started < 1000, 'no lock needed: the schema is current');
      await store.close();
    } finally {
      blocker.close();
    }
  });

  it('a migration that cannot get the lock within the deadline is store_unavailable', () => {
    const path = newFile();
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    migrate(old);
    old.exec(`${DROP_VERSION_3}; DELETE FROM baton_schema_version WHERE version > 2`);
    old.close();
    const blocker = new Database(path);
    try {
      blocker.exec('BEGIN IMMEDIATE');
      assert.throws(
        () => new SqliteStore({ path, timeout: 200 }),
        isBatonError('store_unavailable', /cannot migrate: the database stayed locked/),
      );
    } finally {
      blocker.close();
    }
  });

  it("a given database's lock waits happen on a timer too when its busy_timeout is 0, which the store keeps", async () => {
    const path = newFile();
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 0');
    const store = new SqliteStore({ database: db, timeout: 300 });
    const blocker = new Database(path);
    try {
      assert.equal(db.pragma('busy_timeout', { simple: true }), 0);
      blocker.exec('BEGIN IMMEDIATE');
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 10);
      await assert.rejects(store.createSession(record('given')), isBatonError('store_unavailable'));
      clearInterval(ticker);
      assert.ok(ticks >= 10, `the event loop ran meanwhile (${ticks} ticks of 10 ms in 300 ms)`);
    } finally {
      blocker.close();
      await store.close();
      db.close();
    }
  });

  describe('revocation feed (stores sharing a file)', () => {
    it('delivers what another store on the file revokes, at once and with the stored expiry', async () => {
      const path = newFile();
      const writer = SqliteStore.open(path);
      const reader = SqliteStore.open(path);
      try {
        const s = record('feed-session');
        await writer.createSession(s);
        const session = nextDelivery(reader, (list) => list.some((r) => r.id === s.id), 2000);
        const started = performance.now();
        await writer.revokeSessions({
          sessionId: s.id,
          reason: 'logout',
          now: NOW,
          revocationExpiresAt: NOW + 60_000,
        });
        assert.deepEqual(await session.promise, [{ kind: 'session', id: s.id, expiresAt: NOW + 60_000 }]);
        const took = performance.now() - started;
        assert.ok(took < 1000, `delivered after ${Math.round(took)} ms`);

        const token = nextDelivery(reader, (list) => list.some((r) => r.id === 'jti-1'));
        await writer.addRevocation({ kind: 'token', id: 'jti-1', expiresAt: NOW + 1000 });
        assert.deepEqual(await token.promise, [{ kind: 'token', id: 'jti-1', expiresAt: NOW + 1000 }]);
        // A later expiry is news; an earlier one is not.
        const later = nextDelivery(reader, (list) => list.some((r) => r.id === 'jti-1'));
        await writer.addRevocation({ kind: 'token', id: 'jti-1', expiresAt: NOW + 500 });
        await writer.addRevocation({ kind: 'token', id: 'jti-1', expiresAt: NOW + 2000 });
        assert.deepEqual(await later.promise, [{ kind: 'token', id: 'jti-1', expiresAt: NOW + 2000 }]);
      } finally {
        await writer.close();
        await reader.close();
      }
    });

    it('delivers a mass revocation whole, in batches, and skips entries already expired', async () => {
      const path = newFile();
      const writer = SqliteStore.open(path);
      const reader = SqliteStore.open(path);
      try {
        const user = 'mass-user';
        for (let i = 0; i < 2500; i++) await writer.createSession(record(`mass-${i}`, { userId: user }));
        const seen = new Set<string>();
        let expiredSeen = false;
        const all = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`only ${seen.size} of 2500 arrived`)), 5000);
          const unsubscribe = reader.subscribeRevocations((list) => {
            for (const r of list) {
              if (r.id.startsWith('mass-')) seen.add(r.id);
              if (r.id === 'long-gone') expiredSeen = true;
            }
            if (seen.size === 2500) {
              clearTimeout(timer);
              unsubscribe();
              resolve();
            }
          });
        });
        await writer.addRevocation({ kind: 'token', id: 'long-gone', expiresAt: Date.now() - 1000 });
        const revoked = await writer.revokeSessions({
          userId: user,
          reason: 'logout_all',
          now: NOW,
          revocationExpiresAt: Date.now() + 60_000,
        });
        assert.equal(revoked.length, 2500);
        await all;
        assert.equal(expiredSeen, false, 'an expired entry is not delivered');
      } finally {
        await writer.close();
        await reader.close();
      }
    });

    it("delivers the store's own revocations to its other listeners, and stops polling when unsubscribed", async () => {
      const store = SqliteStore.open(newFile());
      try {
        const own = nextDelivery(store, (list) => list.some((r) => r.id === 'own-jti'));
        await store.addRevocation({ kind: 'token', id: 'own-jti', expiresAt: Date.now() + 60_000 });
        await own.promise;
        // Nothing left subscribed: no timer keeps this process alive (the file would not end otherwise).
      } finally {
        await store.close();
      }
      assert.throws(() => store.subscribeRevocations(() => {}), isBatonError('store_unavailable'));
    });

    it('deleteExpired sweeps expired feed rows with the revocations', async () => {
      const store = SqliteStore.open(newFile());
      const count = () =>
        store.database.prepare('SELECT count(*) FROM baton_revocation_feed').pluck().get() as number;
      try {
        await store.addRevocation({ kind: 'token', id: 'short', expiresAt: NOW + 1 });
        await store.addRevocation({ kind: 'token', id: 'long', expiresAt: NOW + 60_000 });
        assert.equal(count(), 2);
        await store.deleteExpired({ now: NOW + 10, revokedBefore: 0 });
        assert.equal(count(), 1);
      } finally {
        await store.close();
      }
    });
  });

  it('a closed store answers store_unavailable and closes only once', async () => {
    const store = new SqliteStore();
    await store.close();
    await store.close();
    await assert.rejects(store.getSession('x'), isBatonError('store_unavailable'));
  });

  it('a writer killed with SIGKILL mid-rotation leaves a consistent file', { timeout: 30000 }, async () => {
    const path = newFile();
    const sessions = 200;
    const { child, stderr } = startChild('sqlite-rotate-forever.ts', [path, String(sessions), '20000']);
    let reported = 0;
    try {
      reported = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no progress within 15 s: ${stderr()}`)), 15000);
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`child exited early (${code}): ${stderr()}`));
        });
        let rounds = 0;
        createInterface({ input: child.stdout }).on('line', (line) => {
          const match = /^rotated (\d+)$/.exec(line);
          // Several rounds in, so the kill lands in a busy stream of commits.
          if (match && ++rounds === 5) {
            clearTimeout(timer);
            resolve(Number(match[1]));
          }
        });
      });
    } finally {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    }
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    assert.equal(child.signalCode, 'SIGKILL');

    const db = new Database(path);
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      const rows = db
        .prepare<
          [],
          {
            id: string;
            generation: number;
            token_hash: string;
            rotated_at: number | null;
            last_used_at: number;
          }
        >('SELECT id, generation, token_hash, rotated_at, last_used_at FROM baton_sessions')
        .all();
      assert.equal(rows.length, sessions, 'every session committed before "ready" survived');
      let generations = 0;
      for (const row of rows) {
        assert.ok(Number.isInteger(row.generation) && row.generation >= 0, row.id);
        assert.match(row.token_hash, /^[A-Za-z0-9_-]{43}$/, row.id);
        // Hash and generation were written by one statement: a torn row would mismatch.
        assert.equal(row.token_hash, fixtureTokenHash(row.id, row.generation), row.id);
        assert.equal(row.rotated_at !== null, row.generation > 0, row.id);
        if (row.rotated_at !== null) assert.equal(row.last_used_at, row.rotated_at, row.id);
        generations += row.generation;
      }
      assert.ok(generations >= reported, `${generations} rotations on disk, ${reported} reported committed`);
    } finally {
      db.close();
    }

    const reopened = SqliteStore.open(path);
    try {
      const s = (await reopened.getSession('crash-0'))!;
      const next = await reopened.rotateSession({
        id: s.id,
        expectedGeneration: s.generation,
        expectedTokenHash: s.tokenHash,
        newTokenHash: fixtureTokenHash(s.id, s.generation + 1),
        now: NOW,
      });
      assert.equal(next.rotated, true, 'the store keeps working after the crash');
    } finally {
      await reopened.close();
    }
  });
});
