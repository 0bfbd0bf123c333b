/**
 * `baton-auth/stores/sqlite`: `SqliteStore`, the default store: one file, several
 * processes on one host. Needs the `better-sqlite3` package.
 *
 * @module baton-auth/stores/sqlite
 */
import { closeSync, openSync } from 'node:fs';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type BetterSqlite3 from 'better-sqlite3';
import { z } from 'zod';
import { BatonError } from '../core/errors.ts';
import { explainAliases, parseOptions } from '../core/options.ts';
import { loadDriver } from './driver.ts';
import type {
  Revocation,
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
  // 3: DPoP session binding (SessionRecord.jkt). h/pgsqlite's revocation feed also claims 3: when both
  // are merged, the feed stays 3 and this one becomes 4 (append, never renumber a released entry).
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
 * any number of times, from several processes at once: the check and the
 * migrations run in one IMMEDIATE transaction, so only one process migrates.
 * (`SqliteStore` migrates its database itself; this is for a deploy step.)
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
  const run = db.transaction(() => {
    db.exec(
      'CREATE TABLE IF NOT EXISTS baton_schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)',
    );
    const current =
      db.prepare<[], number>('SELECT coalesce(max(version), 0) FROM baton_schema_version').pluck().get() ?? 0;
    if (current > MIGRATIONS.length) {
      throw new BatonError(
        'invalid_options',
        `the SQLite database has Baton schema version ${current}, newer than this Baton supports (${MIGRATIONS.length}); upgrade Baton`,
      );
    }
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

/**
 * Opens a database file, creating it 0600 when missing: it holds session
 * hashes and IP addresses. SQLite creates the -wal and -shm files with the
 * database file's permissions. An existing file keeps the mode it has.
 *
 * @example
 * ```ts
 * import { openDatabaseFile, SqliteStore } from 'baton-auth/stores/sqlite';
 *
 * const db = openDatabaseFile('./sessions.db', { timeout: 10_000 }); // busy timeout, ms
 * db.pragma('synchronous = FULL'); // your pragmas: the store leaves a given database's alone
 * const store = new SqliteStore({ database: db }); // migrated here; closing `db` stays yours
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
   * it but leaves its pragmas and its closing to you.
   */
  database?: BetterSqlite3.Database;
  /** How long a write waits for another connection's lock before failing, in ms. Default 5000. */
  busyTimeoutMs?: number;
}

const optionsSchema = z
  .strictObject({
    path: z
      .string()
      .min(1)
      .refine((path) => !path.includes('\0'))
      .optional()
      .meta({ accepts: "a file path, or ':memory:' (the default)" }),
    database: z
      .custom<BetterSqlite3.Database>(
        (database) =>
          typeof database === 'object' &&
          database !== null &&
          typeof (database as { prepare?: unknown }).prepare === 'function',
      )
      .optional()
      .meta({ accepts: 'an open, writable better-sqlite3 Database' }),
    busyTimeoutMs: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .meta({ accepts: 'a whole number of milliseconds, 0 or more (default 5000)' }),
  })
  .superRefine(({ path, database, busyTimeoutMs }, ctx) => {
    const fail = (option: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [option], message });
    if (path !== undefined && database !== undefined)
      fail('database', 'give either path or database, not both');
    if (database !== undefined && !database.open) {
      fail('database', 'must be an open better-sqlite3 Database: this one is closed');
    }
    if (database?.readonly)
      fail('database', 'must be a writable better-sqlite3 Database: this one is read-only');
    if (busyTimeoutMs !== undefined && database !== undefined) {
      fail('busyTimeoutMs', 'applies to a database the store opens; set the busy timeout on yours');
    }
  });

const explainUnknown = explainAliases({
  file: "SqliteStore's is path (a file path, or ':memory:')",
  filename: "SqliteStore's is path (a file path, or ':memory:')",
  url: "SqliteStore's is path (a file path, or ':memory:'); for a URL use RedisStore or PostgresStore",
  db: "SqliteStore's is database (an open better-sqlite3 Database)",
  timeout: "SqliteStore's is busyTimeoutMs (milliseconds)",
});
const BATCH_SIZE = 1000;
/** rememberProofId deletes a batch of expired proof ids once per this many calls. */
const PROOF_SWEEP_EVERY = 256;

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
  };
}

/**
 * The default store: one SQLite file, shareable by several processes on one host.
 *
 * better-sqlite3 is synchronous, so every method does its whole job before its
 * promise settles; atomicity across processes comes from single statements and
 * IMMEDIATE transactions.
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
  readonly #sql: ReturnType<typeof prepareStatements>;
  readonly #revoke: (request: RevokeSessionsRequest) => SessionRecord[];
  #proofIdsSinceSweep = 0;

  /** The underlying connection, for backups, inspection and a CLI's `migrate`. */
  get database(): BetterSqlite3.Database {
    return this.#db;
  }

  static open(path: string): SqliteStore {
    return new SqliteStore({ path });
  }

  constructor(options: SqliteStoreOptions = {}) {
    const { path, database, busyTimeoutMs } = validateOptions(options);
    if (database) {
      this.#db = database;
      this.#ownsDatabase = false;
    } else {
      try {
        this.#db = openDatabaseFile(path ?? ':memory:', { timeout: busyTimeoutMs ?? 5000 });
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
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = NORMAL');
    }
    try {
      migrate(this.#db);
    } catch (error) {
      if (this.#ownsDatabase) this.#db.close();
      throw error;
    }
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
    this.#run(() => {
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
    return this.#run(() => toRecordOrNull(this.#sql.get.get(id)));
  }

  async rotateSession(request: RotateRequest): Promise<RotateResult> {
    return this.#run((): RotateResult => {
      const rotated = this.#sql.rotate.get(request);
      if (rotated) return { rotated: true, session: toRecord(rotated) };
      return { rotated: false, session: toRecordOrNull(this.#sql.get.get(request.id)) };
    });
  }

  async touchSession(id: string, now: number): Promise<void> {
    this.#run(() => this.#sql.touch.run(now, id));
  }

  async revokeSessions(request: RevokeSessionsRequest): Promise<SessionRecord[]> {
    if (request.sessionId === undefined && request.userId === undefined) {
      throw new BatonError('internal_error', 'revokeSessions needs a sessionId or a userId');
    }
    return this.#run(() => this.#revoke(request));
  }

  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    return this.#run(() => this.#sql.list.all(userId, now).map(toRecord));
  }

  async addRevocation(revocation: Revocation): Promise<void> {
    this.#run(() => this.#sql.addRevocation.run(revocation.kind, revocation.id, revocation.expiresAt));
  }

  async listRevocations(now: number): Promise<Revocation[]> {
    return this.#run(() =>
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
        const changes = this.#run(step);
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
    await sweep(() => this.#sql.deleteExpiredProofIds.run(request.now, BATCH_SIZE).changes);
    return expired + revoked;
  }

  async rememberProofId(id: string, expiresAt: number, now: number): Promise<boolean> {
    return this.#run(() => {
      const fresh = this.#sql.rememberProofId.run({ id, expiresAt, now }).changes === 1;
      // Every proof adds a row: one batch of expired ones goes every so often, so
      // the table stays bounded even where deleteExpired never runs.
      if (++this.#proofIdsSinceSweep >= PROOF_SWEEP_EVERY) {
        this.#proofIdsSinceSweep = 0;
        this.#sql.deleteExpiredProofIds.run(now, BATCH_SIZE);
      }
      return fresh;
    });
  }

  async close(): Promise<void> {
    if (!this.#ownsDatabase || !this.#db.open) return;
    this.#db.pragma('optimize');
    this.#db.close();
  }

  /** Turns SQLite's "cannot right now" failures into a retryable 503. */
  #run<T>(fn: () => T): T {
    if (!this.#db.open)
      throw new BatonError('store_unavailable', 'the SQLite store is closed', { retryAfter: 1 });
    try {
      return fn();
    } catch (error) {
      if (error instanceof Database.SqliteError && /^SQLITE_(BUSY|LOCKED|IOERR|FULL)/.test(error.code)) {
        throw new BatonError('store_unavailable', `SQLite: ${error.message}`, {
          retryAfter: 1,
          cause: error,
        });
      }
      throw error;
    }
  }
}

function validateOptions(options: SqliteStoreOptions): SqliteStoreOptions {
  return parseOptions(optionsSchema, options, 'SqliteStore', { explainUnknown });
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
