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
import type { SessionRecord } from '../../src/index.ts';
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
      ['a negative busy timeout', { busyTimeoutMs: -1 }, /busyTimeoutMs: must be/],
      ['a fractional busy timeout', { busyTimeoutMs: 1.5 }, /busyTimeoutMs: must be/],
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

    it('opens a file in WAL mode with synchronous=NORMAL and a busy timeout', async () => {
      const store = SqliteStore.open(newFile());
      try {
        assert.equal(store.database.pragma('journal_mode', { simple: true }), 'wal');
        assert.equal(store.database.pragma('synchronous', { simple: true }), 1);
        assert.equal(store.database.pragma('busy_timeout', { simple: true }), 5000);
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
      // Version 1 is the current schema without what versions 2 (proof ids) and 3 (jkt) added.
      const db = new Database(path);
      db.exec(
        'DROP TABLE baton_proof_ids; ALTER TABLE baton_sessions DROP COLUMN jkt; DELETE FROM baton_schema_version WHERE version > 1',
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

  it('surfaces a lock held too long as a retryable store_unavailable', async () => {
    const path = newFile();
    const store = new SqliteStore({ path, busyTimeoutMs: 50 });
    const blocker = new Database(path);
    try {
      blocker.exec('BEGIN IMMEDIATE');
      await assert.rejects(store.createSession(record('blocked')), (error: unknown) => {
        assert.ok(error instanceof BatonError);
        assert.equal(error.code, 'store_unavailable');
        assert.equal(error.retryAfter, 1);
        return true;
      });
      blocker.exec('ROLLBACK');
      await store.createSession(record('blocked'));
      assert.equal((await store.getSession('blocked'))?.id, 'blocked');
    } finally {
      blocker.close();
      await store.close();
    }
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
