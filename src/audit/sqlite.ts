/**
 * The SQLite audit trail: table `baton_audit_events` in the session store's
 * file (or any better-sqlite3 database). Loaded only for a `sqlite:` target.
 */
import { setTimeout as sleep, setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type BetterSqlite3 from 'better-sqlite3';
import { BatonError } from '../core/errors.ts';
import type { AuthEvent } from '../sessions/events.ts';
import { loadStoreModule } from '../stores/load.ts';
import { eventJson, parseEvent } from './entry.ts';
import type { AuditBackend, AuditEntry, PruneLimits, SqliteDatabaseLike } from './types.ts';

/**
 * Migrations of the audit table, applied in order (entry i brings it to
 * version i + 1), recorded in `baton_audit_schema_version`: the session
 * store's own versions are its business. Never edit a released entry.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE baton_audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time INTEGER NOT NULL,
    type TEXT NOT NULL,
    user_id TEXT,
    session_id TEXT,
    event TEXT NOT NULL CHECK (json_valid(event))
  ) STRICT;
  CREATE INDEX baton_audit_events_user_time ON baton_audit_events (user_id, time);
  CREATE INDEX baton_audit_events_time ON baton_audit_events (time);
  `,
];

const BATCH_SIZE = 1000;
/** The trail's own connection waits this long for another process's write lock, then retries later. */
const BUSY_TIMEOUT_MS = 100;
const BUSY_RETRIES = 5;

function migrate(db: BetterSqlite3.Database): void {
  db.transaction(() => {
    db.exec(
      'CREATE TABLE IF NOT EXISTS baton_audit_schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)',
    );
    const current =
      db
        .prepare<[], number>('SELECT coalesce(max(version), 0) FROM baton_audit_schema_version')
        .pluck()
        .get() ?? 0;
    if (current > MIGRATIONS.length) {
      throw new BatonError(
        'invalid_options',
        `the SQLite database has Baton audit schema version ${current}, newer than this Baton supports (${MIGRATIONS.length}); upgrade Baton`,
      );
    }
    const record = db.prepare<[number, number]>(
      'INSERT INTO baton_audit_schema_version (version, applied_at) VALUES (?, ?)',
    );
    for (let version = current + 1; version <= MIGRATIONS.length; version++) {
      db.exec(MIGRATIONS[version - 1]!);
      record.run(version, Date.now());
    }
  }).immediate();
}

interface EventRow {
  time: number;
  type: string;
  user_id: string | null;
  session_id: string | null;
  event: string;
}

function prepare(db: BetterSqlite3.Database) {
  return {
    insert: db.prepare<EventRow>(
      `INSERT INTO baton_audit_events (time, type, user_id, session_id, event)
       VALUES (@time, @type, @user_id, @session_id, @event)`,
    ),
    recentOfUser: db.prepare<[string, number, number], { id: number; event: string }>(
      `SELECT id, event FROM baton_audit_events WHERE user_id = ? AND time >= ?
       ORDER BY time DESC, id DESC LIMIT ?`,
    ),
    recent: db.prepare<[number, number], { id: number; event: string }>(
      `SELECT id, event FROM baton_audit_events WHERE time >= ? ORDER BY time DESC, id DESC LIMIT ?`,
    ),
    deleteOld: db.prepare<[number, number]>(
      `DELETE FROM baton_audit_events WHERE id IN
         (SELECT id FROM baton_audit_events WHERE time < ? LIMIT ?)`,
    ),
    /** The id of the newest entry beyond the newest N, if there are more than N. */
    overflowFrom: db
      .prepare<[number], number>('SELECT id FROM baton_audit_events ORDER BY id DESC LIMIT 1 OFFSET ?')
      .pluck(),
    deleteUpTo: db.prepare<[number, number]>(
      `DELETE FROM baton_audit_events WHERE id IN
         (SELECT id FROM baton_audit_events WHERE id <= ? ORDER BY id LIMIT ?)`,
    ),
  };
}

export class SqliteAuditBackend implements AuditBackend {
  readonly where: string;
  readonly #db: BetterSqlite3.Database;
  readonly #owns: boolean;
  readonly #sql: ReturnType<typeof prepare>;
  readonly #insert: (events: readonly AuthEvent[]) => void;

  /** Opens (creating when missing, mode 0600) the file of a `sqlite:` URL, with a connection of its own. */
  static async open(path: string): Promise<SqliteAuditBackend> {
    const { openDatabaseFile } = await loadStoreModule('sqlite');
    const db = openDatabaseFile(path, { timeout: 5000 });
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      migrate(db);
      // better-sqlite3 waits for a lock synchronously: after the migration, never block the event loop long.
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      return new SqliteAuditBackend(db, true, `SQLite ${path}`);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** On a database the application (or its SqliteStore) opened: its connection, settings and closing stay theirs. */
  static on(database: SqliteDatabaseLike): SqliteAuditBackend {
    const db = database as BetterSqlite3.Database;
    migrate(db);
    return new SqliteAuditBackend(db, false, `SQLite ${db.name}`);
  }

  private constructor(db: BetterSqlite3.Database, owns: boolean, where: string) {
    this.#db = db;
    this.#owns = owns;
    this.where = where;
    this.#sql = prepare(db);
    this.#insert = db.transaction((events: readonly AuthEvent[]) => {
      for (const event of events) {
        this.#sql.insert.run({
          time: event.time,
          type: event.type,
          user_id: event.userId,
          session_id: event.sessionId,
          event: eventJson(event),
        });
      }
    });
  }

  async write(events: readonly AuthEvent[]): Promise<void> {
    for (let start = 0; start < events.length; start += BATCH_SIZE) {
      const batch = events.slice(start, start + BATCH_SIZE);
      await this.#retryingBusy(() => this.#insert(batch));
    }
  }

  async recent(query: { userId: string | undefined; limit: number; since: number }): Promise<AuditEntry[]> {
    const rows = this.#run(() =>
      query.userId === undefined
        ? this.#sql.recent.all(query.since, query.limit)
        : this.#sql.recentOfUser.all(query.userId, query.since, query.limit),
    );
    return rows.map((row) => ({ id: String(row.id), event: parseEvent(row.event, String(row.id)) }));
  }

  async prune({ cutoff, maxEntries }: PruneLimits): Promise<number> {
    // Batches, each its own short transaction, with the event loop's turn in between.
    const sweep = async (step: () => number): Promise<number> => {
      let total = 0;
      for (;;) {
        const changes = await this.#retryingBusy(step);
        total += changes;
        if (changes < BATCH_SIZE) return total;
        await yieldToEventLoop();
      }
    };
    let deleted = await sweep(() => this.#sql.deleteOld.run(cutoff, BATCH_SIZE).changes);
    const overflow = this.#run(() => this.#sql.overflowFrom.get(maxEntries));
    if (overflow !== undefined) {
      deleted += await sweep(() => this.#sql.deleteUpTo.run(overflow, BATCH_SIZE).changes);
    }
    return deleted;
  }

  async close(): Promise<void> {
    if (this.#owns && this.#db.open) this.#db.close();
  }

  /** Another process holding the write lock: wait a little, off the event loop, and try again. */
  async #retryingBusy<T>(step: () => T): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return this.#run(step);
      } catch (error) {
        const busy = error instanceof BatonError && /SQLITE_(BUSY|LOCKED)/.test(error.message);
        if (!busy || attempt >= BUSY_RETRIES) throw error;
        await sleep(50 * 2 ** attempt);
      }
    }
  }

  #run<T>(step: () => T): T {
    if (!this.#db.open) {
      throw new BatonError('store_unavailable', `${this.where}: the database is closed`, { retryAfter: 1 });
    }
    try {
      return step();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && /^SQLITE_(BUSY|LOCKED|IOERR|FULL)/.test(code)) {
        throw new BatonError('store_unavailable', `${this.where}: ${code}: ${(error as Error).message}`, {
          retryAfter: 1,
          cause: error,
        });
      }
      throw error;
    }
  }
}
