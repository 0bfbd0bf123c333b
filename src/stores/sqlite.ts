/**
 * `baton-auth/stores/sqlite`: `SqliteStore`, the default store: one file, several
 * processes on one host. Needs the `better-sqlite3` package.
 *
 * @module baton-auth/stores/sqlite
 */
import { closeSync, openSync } from 'node:fs';
import { setTimeout as sleep, setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type BetterSqlite3 from 'better-sqlite3';
import { BatonError } from '../core/errors.ts';
import { loadDriver } from './driver.ts';
import { DEFAULT_TIMEOUT_MS, parseSqliteOptions } from './sqlite-options.ts';
import type {
  Revocation,
  RevocationListener,
  RevocationReason,
  RevokeSessionsRequest,
  RotateRequest,
  RotateResult,
  SessionRecord,
  SessionStore,
} from './types.ts';

const Database = loadDriver<typeof BetterSqlite3>('SQLite', 'better-sqlite3');

/**
 * Schema migrations, applied in order; entry i brings the schema to version i + 1.
 * Never edit a released entry: append a new one.
 *
 * Tables carry a `baton_` prefix because the file is often the application's own
 * database, where a table called `sessions` may well exist already.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE baton_sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    client_id TEXT,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at INTEGER,
    user_agent TEXT,
    ip TEXT,
    secret_salt TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    generation INTEGER NOT NULL CHECK (generation >= 0),
    rotated_at INTEGER,
    revoked_at INTEGER,
    revoked_reason TEXT
  ) STRICT;
  CREATE INDEX baton_sessions_user_id ON baton_sessions (user_id);
  CREATE INDEX baton_sessions_expires_at ON baton_sessions (expires_at);
  CREATE INDEX baton_sessions_revoked_at ON baton_sessions (revoked_at);
  CREATE TABLE baton_revocations (
    kind TEXT NOT NULL CHECK (kind IN ('session', 'token')),
    id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX baton_revocations_expires_at ON baton_revocations (expires_at);
  `,
  // 2: the DPoP replay cache (rememberProofId).
  `
  CREATE TABLE baton_proof_ids (
    id TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX baton_proof_ids_expires_at ON baton_proof_ids (expires_at);
  `,
  // 3: the revocation feed between processes sharing the file. Every revocation
  // row written (and every later expiry) is appended here by a trigger, in the
  // writer's transaction, under a sequence number that only grows
  // (AUTOINCREMENT: never reused, even after deletes); a follower reads what is
  // past the last number it saw. One writer at a time means numbers are taken in
  // commit order, so a follower never skips a row committed later with a lower one.
  `
  CREATE TABLE baton_revocation_feed (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX baton_revocation_feed_expires_at ON baton_revocation_feed (expires_at);
  CREATE TRIGGER baton_revocation_feed_insert AFTER INSERT ON baton_revocations
  BEGIN
    INSERT INTO baton_revocation_feed (kind, id, expires_at) VALUES (NEW.kind, NEW.id, NEW.expires_at);
  END;
  CREATE TRIGGER baton_revocation_feed_update AFTER UPDATE OF expires_at ON baton_revocations
  WHEN NEW.expires_at > OLD.expires_at
  BEGIN
    INSERT INTO baton_revocation_feed (kind, id, expires_at) VALUES (NEW.kind, NEW.id, NEW.expires_at);
  END;
  `,
  // 4: DPoP session binding (SessionRecord.jkt); null: unbound.
  `
  ALTER TABLE baton_sessions ADD COLUMN jkt TEXT;
  `,
];

/**
 * The schema version this build of Baton writes and expects.
 *
 * @example
 * ```ts
 * import { SCHEMA_VERSION } from 'baton-auth/stores/sqlite';
 * import Database from 'better-sqlite3';
 *
 * // A check before an upgrade, without writing: is the file behind this build of Baton?
 * const db = new Database('./sessions.db', { readonly: true });
 * const applied = db.prepare('SELECT max(version) FROM baton_schema_version').pluck().get();
 * if (applied !== SCHEMA_VERSION) console.warn(`schema ${applied}; this Baton migrates it to ${SCHEMA_VERSION}`);
 * ```
 */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the Baton tables in `db` to `SCHEMA_VERSION` and returns it. Safe to call
 * any number of times, from several processes at once: when the schema is
 * current it only reads; otherwise the check and the migrations run in one
 * IMMEDIATE transaction, so only one process migrates. (`SqliteStore` migrates
 * its database itself; this is for a deploy step.)
 *
 * @example
 * ```ts
 * import { migrate, openDatabaseFile } from 'baton-auth/stores/sqlite';
 *
 * const db = openDatabaseFile('/var/lib/app/sessions.db');
 * console.log(`Baton tables at schema version ${migrate(db)}`);
 * db.close();
 * ```
 */
export function migrate(db: BetterSqlite3.Database): number {
  // Read first: a current schema needs no write lock, so opening a store never
  // waits for another process's writes.
  if (checkVersion(appliedVersion(db)) === MIGRATIONS.length) return MIGRATIONS.length;
  const run = db.transaction(() => {
    db.exec(
      'CREATE TABLE IF NOT EXISTS baton_schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)',
    );
    // Again under the lock: another process may have migrated meanwhile.
    const current = checkVersion(appliedVersion(db));
    const record = db.prepare<[number, number]>(
      'INSERT INTO baton_schema_version (version, applied_at) VALUES (?, ?)',
    );
    for (let version = current + 1; version <= MIGRATIONS.length; version++) {
      db.exec(MIGRATIONS[version - 1]!);
      record.run(version, Date.now());
    }
    return MIGRATIONS.length;
  });
  return run.immediate();
}

/** The applied schema version; 0 when the version table does not exist yet. */
function appliedVersion(db: BetterSqlite3.Database): number {
  const exists = db
    .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'baton_schema_version'")
    .get();
  if (exists === undefined) return 0;
  return (
    db.prepare<[], number>('SELECT coalesce(max(version), 0) FROM baton_schema_version').pluck().get() ?? 0
  );
}

function checkVersion(version: number): number {
  if (version > MIGRATIONS.length) {
    throw new BatonError(
      'invalid_options',
      `the SQLite database has Baton schema version ${version}, newer than this Baton supports (${MIGRATIONS.length}); upgrade Baton`,
    );
  }
  return version;
}

/**
 * Opens a database file, creating it 0600 when missing: it holds session
 * hashes and IP addresses. SQLite creates the -wal and -shm files with the
 * database file's permissions. An existing file keeps the mode it has.
 *
 * @example
 * ```ts
 * import { openDatabaseFile, SqliteStore } from 'baton-auth/stores/sqlite';
 *
 * const db = openDatabaseFile('./sessions.db', { timeout: 10_000 }); // SQLite's busy timeout, ms
 * db.pragma('journal_mode = WAL');
 * db.pragma('synchronous = FULL'); // your pragmas: the store leaves a given database's alone
 * // A lock wait inside SQLite blocks the event loop: leave waiting to the store (its `timeout`).
 * db.pragma('busy_timeout = 0');
 * const store = new SqliteStore({ database: db, timeout: 10_000 }); // migrated here; closing `db` stays yours
 * ```
 */
export function openDatabaseFile(path: string, options: { timeout?: number } = {}): BetterSqlite3.Database {
  if (path !== ':memory:' && path !== '') {
    try {
      closeSync(openSync(path, 'wx', 0o600));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return new Database(path, { timeout: options.timeout ?? 5000 });
}

export interface SqliteStoreOptions {
  /** Database file; `':memory:'` (the default) keeps everything in this process. */
  path?: string;
  /**
   * An open better-sqlite3 database to use instead of `path`. The store migrates
   * it but leaves its pragmas and its closing to you. Its `busy_timeout` blocks
   * the event loop while another process holds the write lock: set it to 0 (the
   * store then waits asynchronously, up to `timeout`).
   */
  database?: BetterSqlite3.Database;
  /**
   * The deadline of every call, in ms (default 5000). A call that finds another
   * process holding the write lock waits for it without blocking the event loop;
   * past the deadline it fails with `store_unavailable`.
   */
  timeout?: number;
}

const BATCH_SIZE = 1000;
/** rememberProofId deletes a batch of expired proof ids once per this many calls. */
const PROOF_SWEEP_EVERY = 256;
/**
 * How often a subscribed store looks at `PRAGMA data_version` (has another
 * connection committed?): a read of a counter in shared memory, no I/O. A
 * revocation reaches the other processes within about this, plus their own
 * event-loop delay.
 */
const FEED_POLL_MS = 25;
/** Feed rows read at most per query (a mass revocation is read in several). */
const FEED_BATCH = 1000;
/** Lock waits back off from 1 ms up to this between attempts. */
const MAX_LOCK_RETRY_MS = 25;

interface SessionRow {
  id: string;
  user_id: string;
  client_id: string | null;
  created_at: number;
  last_used_at: number;
  expires_at: number | null;
  user_agent: string | null;
  ip: string | null;
  secret_salt: string;
  token_hash: string;
  generation: number;
  rotated_at: number | null;
  revoked_at: number | null;
  revoked_reason: string | null;
  jkt: string | null;
}

interface RevokeParams {
  sessionId: string | null;
  userId: string | null;
  now: number;
  reason: RevocationReason;
}

const REVOKE = `UPDATE baton_sessions SET revoked_at = @now, revoked_reason = @reason WHERE revoked_at IS NULL`;

function prepareStatements(db: BetterSqlite3.Database) {
  return {
    insert: db.prepare<SessionRow>(
      `INSERT INTO baton_sessions (id, user_id, client_id, created_at, last_used_at, expires_at, user_agent, ip,
         secret_salt, token_hash, generation, rotated_at, revoked_at, revoked_reason, jkt)
       VALUES (@id, @user_id, @client_id, @created_at, @last_used_at, @expires_at, @user_agent, @ip,
         @secret_salt, @token_hash, @generation, @rotated_at, @revoked_at, @revoked_reason, @jkt)`,
    ),
    get: db.prepare<[string], SessionRow>('SELECT * FROM baton_sessions WHERE id = ?'),
    // One statement is the whole compare-and-set, so no other connection can
    // slip in between the check and the write; RETURNING hands back the row it wrote.
    rotate: db.prepare<RotateRequest, SessionRow>(
      `UPDATE baton_sessions
         SET token_hash = @newTokenHash, generation = generation + 1, rotated_at = @now, last_used_at = @now
       WHERE id = @id AND generation = @expectedGeneration AND token_hash = @expectedTokenHash
         AND revoked_at IS NULL
       RETURNING *`,
    ),
    touch: db.prepare<[number, string]>('UPDATE baton_sessions SET last_used_at = ? WHERE id = ?'),
    revokeById: db.prepare<RevokeParams, SessionRow>(`${REVOKE} AND id = @sessionId RETURNING *`),
    revokeByIdAndUser: db.prepare<RevokeParams, SessionRow>(
      `${REVOKE} AND id = @sessionId AND user_id = @userId RETURNING *`,
    ),
    revokeByUser: db.prepare<RevokeParams, SessionRow>(`${REVOKE} AND user_id = @userId RETURNING *`),
    list: db.prepare<[string, number], SessionRow>(
      `SELECT * FROM baton_sessions
       WHERE user_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)
       ORDER BY created_at DESC`,
    ),
    addRevocation: db.prepare<[string, string, number]>(
      `INSERT INTO baton_revocations (kind, id, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (kind, id) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`,
    ),
    listRevocations: db.prepare<[number], { kind: Revocation['kind']; id: string; expires_at: number }>(
      'SELECT kind, id, expires_at FROM baton_revocations WHERE expires_at > ?',
    ),
    deleteExpiredSessions: db.prepare<[number, number]>(
      `DELETE FROM baton_sessions WHERE rowid IN
         (SELECT rowid FROM baton_sessions WHERE expires_at <= ? LIMIT ?)`,
    ),
    deleteRevokedSessions: db.prepare<[number, number]>(
      `DELETE FROM baton_sessions WHERE rowid IN
         (SELECT rowid FROM baton_sessions WHERE revoked_at <= ? LIMIT ?)`,
    ),
    deleteExpiredRevocations: db.prepare<[number, number]>(
      `DELETE FROM baton_revocations WHERE (kind, id) IN
         (SELECT kind, id FROM baton_revocations WHERE expires_at <= ? LIMIT ?)`,
    ),
    // One statement: a new id is inserted, an expired one re-armed, an unexpired one left alone (0 changes).
    rememberProofId: db.prepare<{ id: string; expiresAt: number; now: number }>(
      `INSERT INTO baton_proof_ids (id, expires_at) VALUES (@id, @expiresAt)
       ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at WHERE baton_proof_ids.expires_at <= @now`,
    ),
    deleteExpiredProofIds: db.prepare<[number, number]>(
      `DELETE FROM baton_proof_ids WHERE id IN
         (SELECT id FROM baton_proof_ids WHERE expires_at <= ? LIMIT ?)`,
    ),
    deleteExpiredFeed: db.prepare<[number, number]>(
      `DELETE FROM baton_revocation_feed WHERE seq IN
         (SELECT seq FROM baton_revocation_feed WHERE expires_at <= ? LIMIT ?)`,
    ),
    dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
    lastFeedSeq: db.prepare<[], number>('SELECT coalesce(max(seq), 0) FROM baton_revocation_feed').pluck(),
    feedSince: db.prepare<[number, number], FeedRow>(
      `SELECT seq, kind, id, expires_at FROM baton_revocation_feed WHERE seq > ? ORDER BY seq LIMIT ?`,
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

interface FeedRow {
  seq: number;
  kind: Revocation['kind'];
  id: string;
  expires_at: number;
}

/**
 * The default store: one SQLite file, shareable by several processes on one host.
 *
 * better-sqlite3 is synchronous, so each statement runs to its end before its
 * promise settles; atomicity across processes comes from single statements and
 * IMMEDIATE transactions. A statement that finds another process holding the
 * write lock is not left to wait inside SQLite, which would block the event
 * loop: the store's connection has `busy_timeout = 0`, and the call tries
 * again on a timer (1 ms, doubling to 25 ms) until `timeout`, then fails with
 * `store_unavailable`. Only that call waits; everything else in the process
 * (verifying access tokens, other requests) goes on.
 *
 * Processes sharing the file share its revocations too: `subscribeRevocations`
 * watches `PRAGMA data_version` every 25 ms and reads the revocations other
 * connections committed since (schema version 3's feed table), so a logout in
 * one process is refused by the others within tens of milliseconds, without a
 * store read per request.
 *
 * @example
 * ```ts
 * import { SqliteStore } from 'baton-auth/stores/sqlite'; // npm install better-sqlite3
 *
 * const store = new SqliteStore({ path: './sessions.db' }); // created and migrated on open
 * // ... new SessionManager({ store, ... })
 * await store.close();
 * ```
 */
export class SqliteStore implements SessionStore {
  readonly #db: BetterSqlite3.Database;
  readonly #ownsDatabase: boolean;
  readonly #sql: Statements;
  readonly #revoke: (request: RevokeSessionsRequest) => SessionRecord[];
  readonly #timeoutMs: number;
  #feed: SqliteFeed | undefined;
  #proofIdsSinceSweep = 0;

  /** The underlying connection, for backups, inspection and a CLI's `migrate`. */
  get database(): BetterSqlite3.Database {
    return this.#db;
  }

  static open(path: string): SqliteStore {
    return new SqliteStore({ path });
  }

  constructor(options: SqliteStoreOptions = {}) {
    const { path, database, timeout = DEFAULT_TIMEOUT_MS } = parseSqliteOptions(options);
    this.#timeoutMs = timeout;
    if (database) {
      this.#db = database;
      this.#ownsDatabase = false;
    } else {
      try {
        // Opening waits for locks inside SQLite (up to `timeout`): the constructor is
        // synchronous, and switching to WAL or migrating needs the write lock once.
        this.#db = openDatabaseFile(path ?? ':memory:', { timeout });
      } catch (error) {
        throw new BatonError('invalid_options', `SqliteStore: cannot open ${path}: ${messageOf(error)}`, {
          cause: error,
        });
      }
      this.#ownsDatabase = true;
      // WAL lets readers in other processes work while one writes. With WAL,
      // synchronous=NORMAL still survives a crash of the process (a commit is in
      // the WAL, in the OS's hands, before the call returns); only a power loss
      // can drop the last commits: clients whose latest refresh was lost must
      // sign in again, and the file stays consistent. It saves an fsync per
      // commit, i.e. per refresh.
      try {
        this.#db.pragma('journal_mode = WAL');
        this.#db.pragma('synchronous = NORMAL');
      } catch (error) {
        this.#db.close();
        throw new BatonError('store_unavailable', `SQLite: cannot set up ${path}: ${messageOf(error)}`, {
          retryAfter: 1,
          cause: error,
        });
      }
    }
    // Migrating may need the write lock (once per upgrade): the constructor is
    // synchronous, so it waits inside SQLite, up to `timeout`, even on a given
    // database whose busy timeout is shorter (restored afterwards).
    const theirs = this.#ownsDatabase
      ? undefined
      : (this.#db.pragma('busy_timeout', { simple: true }) as number);
    try {
      if (theirs !== undefined && theirs < timeout) this.#db.pragma(`busy_timeout = ${timeout}`);
      migrate(this.#db);
    } catch (error) {
      if (this.#ownsDatabase) this.#db.close();
      if (error instanceof Database.SqliteError && /^SQLITE_(BUSY|LOCKED)/.test(error.code)) {
        throw new BatonError(
          'store_unavailable',
          `SQLite: cannot migrate: the database stayed locked by another connection for ${timeout} ms`,
          { retryAfter: 1, cause: error },
        );
      }
      throw error;
    } finally {
      if (theirs !== undefined && theirs < timeout && this.#db.open)
        this.#db.pragma(`busy_timeout = ${theirs}`);
    }
    // From here on no statement waits inside SQLite: #call waits on a timer instead.
    if (this.#ownsDatabase) this.#db.pragma('busy_timeout = 0');
    this.#sql = prepareStatements(this.#db);
    this.#revoke = this.#db.transaction((request: RevokeSessionsRequest) => {
      const params: RevokeParams = {
        sessionId: request.sessionId ?? null,
        userId: request.userId ?? null,
        now: request.now,
        reason: request.reason,
      };
      const rows =
        request.sessionId !== undefined && request.userId !== undefined
          ? this.#sql.revokeByIdAndUser.all(params)
          : request.sessionId !== undefined
            ? this.#sql.revokeById.all(params)
            : this.#sql.revokeByUser.all(params);
      for (const row of rows) this.#sql.addRevocation.run('session', row.id, request.revocationExpiresAt);
      return rows.map(toRecord);
    }).immediate;
  }

  async createSession(session: SessionRecord): Promise<void> {
    await this.#call(() => {
      try {
        this.#sql.insert.run(toRow(session));
      } catch (error) {
        if (error instanceof Database.SqliteError && error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
          throw new BatonError('internal_error', `session id ${session.id} already exists`, { cause: error });
        }
        throw error;
      }
    });
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    return this.#call(() => toRecordOrNull(this.#sql.get.get(id)));
  }

  async rotateSession(request: RotateRequest): Promise<RotateResult> {
    // Two calls, each atomic by itself: a lock wait retries only the statement
    // that met it, never a compare-and-set that already won.
    const rotated = await this.#call(() => this.#sql.rotate.get(request));
    if (rotated) return { rotated: true, session: toRecord(rotated) };
    return { rotated: false, session: await this.getSession(request.id) };
  }

  async touchSession(id: string, now: number): Promise<void> {
    await this.#call(() => this.#sql.touch.run(now, id));
  }

  async revokeSessions(request: RevokeSessionsRequest): Promise<SessionRecord[]> {
    if (request.sessionId === undefined && request.userId === undefined) {
      throw new BatonError('internal_error', 'revokeSessions needs a sessionId or a userId');
    }
    const revoked = await this.#call(() => this.#revoke(request));
    if (revoked.length > 0) this.#feed?.wroteHere();
    return revoked;
  }

  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    return this.#call(() => this.#sql.list.all(userId, now).map(toRecord));
  }

  async addRevocation(revocation: Revocation): Promise<void> {
    await this.#call(() => this.#sql.addRevocation.run(revocation.kind, revocation.id, revocation.expiresAt));
    this.#feed?.wroteHere();
  }

  async listRevocations(now: number): Promise<Revocation[]> {
    return this.#call(() =>
      this.#sql.listRevocations
        .all(now)
        .map((row) => ({ kind: row.kind, id: row.id, expiresAt: row.expires_at })),
    );
  }

  async deleteExpired(request: { now: number; revokedBefore: number }): Promise<number> {
    // Each batch is its own short transaction, and the event loop gets a turn in
    // between, so neither other processes nor this one's requests wait for the sweep.
    const sweep = async (step: () => number): Promise<number> => {
      let total = 0;
      for (;;) {
        const changes = await this.#call(step);
        total += changes;
        if (changes < BATCH_SIZE) return total;
        await yieldToEventLoop();
      }
    };
    const expired = await sweep(() => this.#sql.deleteExpiredSessions.run(request.now, BATCH_SIZE).changes);
    const revoked = await sweep(
      () => this.#sql.deleteRevokedSessions.run(request.revokedBefore, BATCH_SIZE).changes,
    );
    await sweep(() => this.#sql.deleteExpiredRevocations.run(request.now, BATCH_SIZE).changes);
    await sweep(() => this.#sql.deleteExpiredFeed.run(request.now, BATCH_SIZE).changes);
    await sweep(() => this.#sql.deleteExpiredProofIds.run(request.now, BATCH_SIZE).changes);
    return expired + revoked;
  }

  async rememberProofId(id: string, expiresAt: number, now: number): Promise<boolean> {
    const fresh = await this.#call(() => this.#sql.rememberProofId.run({ id, expiresAt, now }).changes === 1);
    // Every proof adds a row: one batch of expired ones goes every so often, so
    // the table stays bounded even where deleteExpired never runs. Best effort,
    // and apart from the call above, which must never run twice.
    if (++this.#proofIdsSinceSweep >= PROOF_SWEEP_EVERY) {
      this.#proofIdsSinceSweep = 0;
      try {
        this.#sql.deleteExpiredProofIds.run(now, BATCH_SIZE);
      } catch {
        // Locked or failing now: a later sweep (or deleteExpired) takes these rows.
      }
    }
    return fresh;
  }

  /**
   * Delivers the revocations committed to this file by other connections (other
   * processes, other stores on the file) and by this store, within about 25 ms:
   * one timer per store (unref'd) reads `PRAGMA data_version` and, when another
   * connection committed, the feed rows past the last one it delivered. Entries
   * can arrive again (this store's own, for one); the revoked set keeps the later
   * expiry, so a repeat changes nothing. If the poller cannot tell where the feed
   * stands (the first read found the file locked), its first delivery is the
   * whole live list, like a reconnecting feed's reload.
   */
  subscribeRevocations(listener: RevocationListener): () => void {
    if (!this.#db.open) throw closedError();
    this.#feed ??= new SqliteFeed(this.#sql, () => this.#db.open);
    return this.#feed.add(listener);
  }

  async close(): Promise<void> {
    this.#feed?.stop();
    this.#feed = undefined;
    if (!this.#ownsDatabase || !this.#db.open) return;
    try {
      this.#db.pragma('optimize');
    } catch {
      // Locked by another process: optimizing is only a hint.
    }
    this.#db.close();
  }

  /**
   * One atomic statement or transaction, waiting for another connection's lock
   * on a timer (never inside SQLite) until the deadline; SQLite's other "cannot
   * right now" failures are a retryable 503 at once.
   */
  async #call<T>(fn: () => T): Promise<T> {
    const started = performance.now();
    let pause = 1;
    for (let attempt = 1; ; attempt++) {
      if (!this.#db.open) throw closedError();
      try {
        return fn();
      } catch (error) {
        if (!(error instanceof Database.SqliteError)) throw error;
        if (/^SQLITE_(BUSY|LOCKED)/.test(error.code)) {
          const left = this.#timeoutMs - (performance.now() - started);
          if (left <= 0) {
            throw new BatonError(
              'store_unavailable',
              `SQLite: the database stayed locked by another connection for ${this.#timeoutMs} ms (${attempt} attempts): ${error.message}`,
              { retryAfter: 1, cause: error },
            );
          }
          // Jittered, so that processes waiting for the same lock do not retry in step.
          await sleep(Math.min(pause * (0.5 + Math.random()), left));
          pause = Math.min(pause * 2, MAX_LOCK_RETRY_MS);
          continue;
        }
        if (/^SQLITE_(IOERR|FULL)/.test(error.code)) {
          throw new BatonError('store_unavailable', `SQLite: ${error.message}`, {
            retryAfter: 1,
            cause: error,
          });
        }
        throw error;
      }
    }
  }
}

function closedError(): BatonError {
  return new BatonError('store_unavailable', 'the SQLite store is closed', { retryAfter: 1 });
}

/** The poller behind `subscribeRevocations`: one per store, shared by its listeners. */
class SqliteFeed {
  readonly #listeners = new Set<RevocationListener>();
  readonly #sql: Statements;
  readonly #isOpen: () => boolean;
  #timer: NodeJS.Timeout | undefined;
  /** The last feed row delivered; undefined: unknown, the next poll delivers the whole live list. */
  #lastSeq: number | undefined;
  #dataVersion: number | undefined;
  /** This store wrote a revocation: its other listeners (and only they could miss it) hear of it too. */
  #wroteHere = false;

  constructor(sql: Statements, isOpen: () => boolean) {
    this.#sql = sql;
    this.#isOpen = isOpen;
  }

  add(listener: RevocationListener): () => void {
    if (this.#listeners.size === 0) this.#start();
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.stop();
    };
  }

  wroteHere(): void {
    this.#wroteHere = true;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }

  #start(): void {
    // Where the feed stands now: everything committed later is delivered; what
    // came before is in the list the subscriber loads after subscribing.
    try {
      this.#dataVersion = this.#sql.dataVersion.get();
      this.#lastSeq = this.#sql.lastFeedSeq.get() ?? 0;
    } catch {
      this.#dataVersion = undefined;
      this.#lastSeq = undefined;
    }
    this.#timer = setInterval(() => this.#poll(), FEED_POLL_MS);
    this.#timer.unref();
  }

  #poll(): void {
    if (!this.#isOpen()) {
      this.stop();
      return;
    }
    try {
      const version = this.#sql.dataVersion.get();
      if (version === this.#dataVersion && !this.#wroteHere && this.#lastSeq !== undefined) return;
      this.#wroteHere = false;
      const now = Date.now();
      if (this.#lastSeq === undefined) {
        // The newest row first, then the list: a revocation committed in between is delivered twice, never missed.
        const last = this.#sql.lastFeedSeq.get() ?? 0;
        this.#deliver(
          this.#sql.listRevocations
            .all(now)
            .map((row) => ({ kind: row.kind, id: row.id, expiresAt: row.expires_at })),
        );
        this.#lastSeq = last;
      }
      for (;;) {
        const rows = this.#sql.feedSince.all(this.#lastSeq, FEED_BATCH);
        if (rows.length === 0) break;
        this.#lastSeq = rows[rows.length - 1]!.seq;
        const live = rows
          .filter((row) => row.expires_at > now)
          .map((row): Revocation => ({ kind: row.kind, id: row.id, expiresAt: row.expires_at }));
        if (live.length > 0) this.#deliver(live);
        if (rows.length < FEED_BATCH) break;
      }
      this.#dataVersion = version;
    } catch {
      // The file is locked for a moment (a checkpoint, a recovery) or failing:
      // nothing was lost, the next poll reads from the same place.
    }
  }

  #deliver(revocations: readonly Revocation[]): void {
    for (const listener of this.#listeners) {
      try {
        listener(revocations);
      } catch {
        // One listener's bug must not stop the others, nor the feed.
      }
    }
  }
}

function toRow(session: SessionRecord): SessionRow {
  return {
    id: session.id,
    user_id: session.userId,
    client_id: session.clientId,
    created_at: session.createdAt,
    last_used_at: session.lastUsedAt,
    expires_at: session.expiresAt,
    user_agent: session.userAgent,
    ip: session.ip,
    secret_salt: session.secretSalt,
    token_hash: session.tokenHash,
    generation: session.generation,
    rotated_at: session.rotatedAt,
    revoked_at: session.revokedAt,
    revoked_reason: session.revokedReason,
    jkt: session.jkt ?? null,
  };
}

function toRecord(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    clientId: row.client_id,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    userAgent: row.user_agent,
    ip: row.ip,
    secretSalt: row.secret_salt,
    tokenHash: row.token_hash,
    generation: row.generation,
    rotatedAt: row.rotated_at,
    revokedAt: row.revoked_at,
    revokedReason: row.revoked_reason as RevocationReason | null,
    jkt: row.jkt ?? null,
  };
}

function toRecordOrNull(row: SessionRow | undefined): SessionRecord | null {
  return row ? toRecord(row) : null;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
