/**
 * The one place the CLI opens stores. SQLite is built in; the Redis and
 * PostgreSQL stores are imported lazily, so the CLI works without them (and
 * without their drivers) until a command names one.
 *
 * Store URLs: `sqlite:./path.db`, `sqlite:/abs/path.db` (also `sqlite:///abs`),
 * `redis://...` / `rediss://...`, `postgres://...` / `postgresql://...`, and
 * `memory` (only where a command allows it: a memory store outlives no process).
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { isBatonError } from '../core/errors.ts';
import { MemoryStore } from '../stores/memory.ts';
import { migrate as migrateSqlite, SCHEMA_VERSION, SqliteStore } from '../stores/sqlite.ts';
import type { SessionStore } from '../stores/types.ts';
import { CommandFailure, UsageError } from './args.ts';

export type StoreUrl =
  | { kind: 'memory'; url: string }
  | { kind: 'sqlite'; url: string; path: string }
  | { kind: 'redis'; url: string; options: StoreQueryOptions }
  | { kind: 'postgres'; url: string; options: StoreQueryOptions };

/**
 * Store options carried in the URL's query and taken out of it before the
 * URL reaches the driver: `prefix` (Redis key prefix, default `baton:`);
 * `schema` and `tablePrefix` (PostgreSQL, defaults `public` and `baton_`).
 */
export type StoreQueryOptions = Record<string, string>;

const QUERY_OPTIONS = {
  redis: { prefix: 'prefix' },
  postgres: { schema: 'schema', tablePrefix: 'tablePrefix', table_prefix: 'tablePrefix' },
} as const satisfies Record<'redis' | 'postgres', Record<string, string>>;

function splitQueryOptions(
  kind: 'redis' | 'postgres',
  value: string,
  command: string,
): { url: string; options: StoreQueryOptions } {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new UsageError(`--store ${JSON.stringify(redact(value))} is not a valid URL`, command);
  }
  // (PostgreSQL may leave the host to libpq's defaults: postgres:///db.)
  if (kind === 'redis' && parsed.hostname === '') {
    throw new UsageError(
      `--store ${JSON.stringify(redact(value))} needs a host, e.g. redis://127.0.0.1:6379`,
      command,
    );
  }
  const names: Record<string, string> = QUERY_OPTIONS[kind];
  const options: StoreQueryOptions = {};
  for (const [param, option] of Object.entries(names)) {
    const given = parsed.searchParams.get(param);
    if (given === null) continue;
    options[option] = given;
    parsed.searchParams.delete(param);
  }
  if (Object.keys(options).length === 0) return { url: value, options };
  return { url: parsed.href, options };
}

export const STORE_URL_HELP = 'sqlite:<path>, redis://..., postgres://...';

/** Parses `--store`; an unknown scheme is a usage error (exit 2). */
export function parseStoreUrl(
  spec: string,
  command: string,
  options: { allowMemory?: boolean; cwd?: string } = {},
): StoreUrl {
  const value = spec.trim();
  if (value === 'memory') {
    if (options.allowMemory) return { kind: 'memory', url: value };
    throw new UsageError(
      `--store memory lives only inside one process; "baton ${command}" needs ${STORE_URL_HELP}`,
      command,
    );
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'sqlite': {
      let path = value.slice('sqlite:'.length);
      if (path.startsWith('//')) path = path.slice(2);
      if (path === '' || path.includes('\0')) {
        throw new UsageError(`--store sqlite: needs a file path, e.g. sqlite:./baton.db`, command);
      }
      return { kind: 'sqlite', url: value, path: resolve(options.cwd ?? process.cwd(), path) };
    }
    case 'redis':
    case 'rediss':
      return { kind: 'redis', ...splitQueryOptions('redis', value, command) };
    case 'postgres':
    case 'postgresql':
      return { kind: 'postgres', ...splitQueryOptions('postgres', value, command) };
    default:
      throw new UsageError(
        `unsupported --store ${JSON.stringify(redact(value))}; use ${STORE_URL_HELP}${options.allowMemory ? ' or memory' : ''}`,
        command,
      );
  }
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
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
  switch (url.kind) {
    case 'memory':
      return { store: new MemoryStore(), url };
    case 'sqlite': {
      assertSqliteFile(url.path);
      let store: SqliteStore;
      try {
        store = new SqliteStore({ path: url.path });
      } catch (error) {
        throw new CommandFailure(`cannot open SQLite store ${url.path}: ${reasonOf(error)}`);
      }
      const count = store.database.prepare<[number, number], number>(
        'SELECT count(*) FROM baton_sessions WHERE expires_at <= ? OR revoked_at <= ?',
      );
      return {
        store,
        url,
        countExpired: (now, revokedBefore) => count.pluck().get(now, revokedBefore) ?? 0,
      };
    }
    case 'redis':
    case 'postgres': {
      const module = await importStoreModule(url.kind);
      return { store: await constructStore(module, url), url };
    }
  }
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
      return migrateSqliteFile(url.path);
    case 'redis':
    case 'postgres': {
      const module = await importStoreModule(url.kind);
      const store = await constructStore(module, url);
      try {
        const method = pickFunction(store, 'migrate');
        const exported = pickFunction(module, 'migrate');
        if (method === undefined && exported === undefined) {
          // Nothing to create, but say so only about a store that answers.
          await store.getSession('baton-cli-probe');
          return { from: null, to: null, message: `the ${STORE_NAMES[url.kind]} store needs no migrations` };
        }
        const result: unknown = await (method ? method.call(store) : exported?.(store));
        const to = typeof result === 'number' ? result : null;
        return {
          from: null,
          to,
          message: `${STORE_NAMES[url.kind]} schema is up to date${to === null ? '' : ` (version ${to})`}`,
        };
      } finally {
        await store.close().catch(() => undefined);
      }
    }
  }
}

function migrateSqliteFile(path: string): MigrateResult {
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: 5000 });
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
    const to = migrateSqlite(db);
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

export { SCHEMA_VERSION };

// ---------------------------------------------------------------------------
// Lazily loaded stores.

const STORE_FILES = { redis: 'redis', postgres: 'postgres' } as const;
const STORE_NAMES = { redis: 'Redis', postgres: 'PostgreSQL' } as const;
const STORE_CLASSES = { redis: 'RedisStore', postgres: 'PostgresStore' } as const;
const DRIVERS = { redis: 'ioredis', postgres: 'pg' } as const;
/** The constructor option that takes the URL. */
const URL_OPTION = { redis: 'url', postgres: 'connectionString' } as const;

type StoreModule = Record<string, unknown>;
type AnyFunction = (...args: unknown[]) => unknown;

function pickFunction(target: unknown, name: string): AnyFunction | undefined {
  if ((typeof target !== 'object' && typeof target !== 'function') || target === null) return undefined;
  const value = (target as Record<string, unknown>)[name];
  return typeof value === 'function' ? (value as AnyFunction) : undefined;
}

async function importStoreModule(kind: 'redis' | 'postgres'): Promise<StoreModule> {
  // Running from source (tsx) the sibling is .ts, from dist/ it is .js.
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const moduleUrl = new URL(`../stores/${STORE_FILES[kind]}${extension}`, import.meta.url);
  const name = STORE_NAMES[kind];
  if (!existsSync(fileURLToPath(moduleUrl))) {
    throw new CommandFailure(`the ${name} store is not available in this build of Baton`);
  }
  try {
    return (await import(moduleUrl.href)) as StoreModule;
  } catch (error) {
    const message = reasonOf(error);
    const driver = DRIVERS[kind];
    if (new RegExp(`['"]${driver}['"]`).test(message)) {
      throw new CommandFailure(`the ${name} store needs the ${driver} package: npm install ${driver}`);
    }
    throw new CommandFailure(`the ${name} store is not available: ${message}`);
  }
}

/**
 * The store modules' contract with the CLI: a class `RedisStore` /
 * `PostgresStore` with a static `open(url)` (like `SqliteStore.open(path)`),
 * or a constructor taking `{ url }` (Redis) / `{ connectionString }`
 * (PostgreSQL). An optional `migrate()` on the instance (or a module-level
 * `migrate(store)`) serves `baton migrate`.
 */
async function constructStore(
  module: StoreModule,
  url: Extract<StoreUrl, { kind: 'redis' | 'postgres' }>,
): Promise<SessionStore> {
  const kind = url.kind;
  const className = STORE_CLASSES[kind];
  const ctor = module[className] ?? (module.default as StoreModule | undefined)?.[className];
  const name = STORE_NAMES[kind];
  if (typeof ctor !== 'function') {
    throw new CommandFailure(`the ${name} store module exports no ${className}`);
  }
  let store: unknown;
  try {
    const open = pickFunction(ctor, 'open');
    const options = { [URL_OPTION[kind]]: url.url, ...url.options };
    store =
      open && Object.keys(url.options).length === 0
        ? await open.call(ctor, url.url)
        : new (ctor as new (options: Record<string, string>) => unknown)(options);
    const ready = (store as { ready?: unknown }).ready;
    if (ready instanceof Promise) await ready;
  } catch (error) {
    throw new CommandFailure(`cannot open ${name} store ${redact(url.url)}: ${reasonOf(error)}`);
  }
  if (pickFunction(store, 'listSessions') === undefined || pickFunction(store, 'close') === undefined) {
    throw new CommandFailure(`${className} is not a SessionStore`);
  }
  return store as SessionStore;
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

/** Any error of a store operation as a one-line CommandFailure (exit 1). */
export function storeFailure(error: unknown, what: string): CommandFailure {
  if (error instanceof CommandFailure) return error;
  if (isBatonError(error) && error.code === 'store_unavailable') {
    return new CommandFailure(`${what} is unavailable: ${error.message}`);
  }
  return new CommandFailure(`${what} failed: ${reasonOf(error)}`);
}
