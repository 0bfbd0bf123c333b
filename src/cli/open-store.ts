/**
 * The one place the CLI opens stores. Every store, SQLite included, is
 * imported when a URL names it, so the CLI works without a driver package
 * (better-sqlite3, ioredis, pg) until a command needs that one.
 *
 * Store URLs: `sqlite:./path.db`, `sqlite:/abs/path.db` (also `sqlite:///abs`),
 * `redis://...` / `rediss://...`, `redis-cluster://host:port,...`,
 * `redis-sentinel://host:port,.../MASTER_NAME`, `postgres://...` / `postgresql://...`, and
 * `memory` (only where a command allows it: a memory store outlives no process).
 */
import { existsSync, statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { AuditTrail } from '../audit/trail.ts';
import { isBatonError } from '../core/errors.ts';
import {
  loadStoreModule,
  openPostgresStore,
  openRedisStore,
  openSqliteStore,
  STORE_NAMES,
} from '../stores/load.ts';
import { openStore as openLibraryStore } from '../stores/open.ts';
import {
  parseStoreUrl as parseLibraryStoreUrl,
  STORE_URL_HELP,
  StoreOpenError,
  type StoreUrl,
  StoreUrlError,
} from '../stores/store-url.ts';
import type { SessionStore } from '../stores/types.ts';
import { CommandFailure, UsageError } from './args.ts';

export { redact, STORE_URL_HELP, type StoreQueryOptions, type StoreUrl } from '../stores/store-url.ts';

/** Parses `--store`; an unknown scheme is a usage error (exit 2). */
export function parseStoreUrl(
  spec: string,
  command: string,
  options: { allowMemory?: boolean; cwd?: string } = {},
): StoreUrl {
  const value = spec.trim();
  if (value === 'memory' && !options.allowMemory) {
    throw new UsageError(
      `--store memory lives only inside one process; "baton ${command}" needs ${STORE_URL_HELP}`,
      command,
    );
  }
  try {
    return parseLibraryStoreUrl(value, {
      label: '--store',
      allowMemory: options.allowMemory ?? false,
      ...(options.cwd === undefined ? {} : { baseDir: options.cwd }),
    });
  } catch (error) {
    if (error instanceof StoreUrlError) throw new UsageError(error.message, command);
    throw error;
  }
}

/** The SQLite store module, loaded (with better-sqlite3) only for a sqlite: URL. */
type SqliteModule = typeof import('../stores/sqlite.ts');

/**
 * Loads or opens a store through the library: its StoreOpenError becomes a
 * one-line CommandFailure (exit 1); a missing driver stays the BatonError
 * `store_driver_missing` (exit 2).
 */
async function fromLibrary<T>(open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (error) {
    throw error instanceof StoreOpenError ? new CommandFailure(error.message) : error;
  }
}

export interface OpenedStore {
  store: SessionStore;
  url: StoreUrl;
  /** Sessions `deleteExpired` would delete now (SQLite only), for progress reports. */
  countExpired?: (now: number, revokedBefore: number) => number;
}

function reasonOf(error: unknown): string {
  return isBatonError(error) || error instanceof Error ? error.message : String(error);
}

/**
 * Opens an existing store. A SQLite file must exist (only `migrate` creates
 * one), so a mistyped path fails instead of answering from an empty database.
 */
export async function openStore(url: StoreUrl): Promise<OpenedStore> {
  if (url.kind !== 'sqlite') return { store: await fromLibrary(() => openLibraryStore(url)), url };
  assertSqliteFile(url.path);
  const store = await fromLibrary(() => openSqliteStore(url));
  const count = store.database.prepare<[number, number], number>(
    'SELECT count(*) FROM baton_sessions WHERE expires_at <= ? OR revoked_at <= ?',
  );
  return {
    store,
    url,
    countExpired: (now, revokedBefore) => count.pluck().get(now, revokedBefore) ?? 0,
  };
}

/** The audit trail (`baton-auth/audit`) in a store's database; a SQLite file must exist. */
export async function openAuditTrail(url: StoreUrl): Promise<AuditTrail> {
  if (url.kind === 'sqlite') assertSqliteFile(url.path);
  const { createAuditTrail } = await import('../audit/trail.ts');
  return fromLibrary(() => createAuditTrail(url));
}

function assertSqliteFile(path: string): void {
  if (!existsSync(path)) {
    throw new CommandFailure(
      `no SQLite database at ${path} (create one with "baton migrate --store sqlite:${path}")`,
    );
  }
  if (!statSync(path).isFile()) throw new CommandFailure(`${path} is not a file`);
}

export interface MigrateResult {
  /** Schema version before, when the store can tell. */
  from: number | null;
  to: number | null;
  message: string;
}

/** Creates or upgrades a store's schema. */
export async function migrateStore(url: StoreUrl): Promise<MigrateResult> {
  switch (url.kind) {
    case 'memory':
      return { from: null, to: null, message: 'the memory store has no schema' };
    case 'sqlite':
      return migrateSqliteFile(await fromLibrary(() => loadStoreModule('sqlite')), url.path);
    case 'redis':
      return closing(await fromLibrary(() => openRedisStore(url)), async (store) => {
        // Nothing to create, but say so only about a store that answers.
        await store.getSession('baton-cli-probe');
        return { from: null, to: null, message: `the ${STORE_NAMES.redis} store needs no migrations` };
      });
    case 'postgres':
      return closing(await fromLibrary(() => openPostgresStore(url)), async (store) => {
        const to = await store.migrate();
        return { from: null, to, message: `${STORE_NAMES.postgres} schema is up to date (version ${to})` };
      });
  }
}

async function closing<S extends SessionStore, T>(store: S, use: (store: S) => Promise<T>): Promise<T> {
  try {
    return await use(store);
  } finally {
    await store.close().catch(() => undefined);
  }
}

function migrateSqliteFile(sqlite: SqliteModule, path: string): MigrateResult {
  let db: Database.Database;
  try {
    db = sqlite.openDatabaseFile(path);
  } catch (error) {
    throw new CommandFailure(`cannot open SQLite database ${path}: ${reasonOf(error)}`);
  }
  try {
    const hasTable = db
      .prepare<[], number>(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'baton_schema_version'",
      )
      .pluck()
      .get();
    const from = hasTable
      ? (db.prepare<[], number>('SELECT coalesce(max(version), 0) FROM baton_schema_version').pluck().get() ??
        0)
      : 0;
    db.pragma('journal_mode = WAL');
    const to = sqlite.migrate(db);
    const message =
      from === to
        ? `${path}: schema already at version ${to}`
        : `${path}: migrated schema from version ${from} to ${to}`;
    return { from, to, message };
  } catch (error) {
    throw new CommandFailure(`migrating ${path} failed: ${reasonOf(error)}`);
  } finally {
    db.close();
  }
}

/** Runs a store operation with a time limit: a store that does not answer is a failure, not a hang. */
export async function withTimeout<T>(operation: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new CommandFailure(`${what} did not answer within ${seconds}s`)),
      seconds * 1000,
    );
  });
  try {
    return await Promise.race([operation, timeout]);
  } catch (error) {
    throw storeFailure(error, what);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Any error of a store operation as a one-line CommandFailure (exit 1); a
 * missing driver package stays the library's `store_driver_missing` (exit 2).
 */
export function storeFailure(error: unknown, what: string): Error {
  if (error instanceof CommandFailure) return error;
  if (isBatonError(error) && error.code === 'store_driver_missing') return error;
  if (isBatonError(error) && error.code === 'store_unavailable') {
    return new CommandFailure(`${what} is unavailable: ${error.message}`);
  }
  return new CommandFailure(`${what} failed: ${reasonOf(error)}`);
}
