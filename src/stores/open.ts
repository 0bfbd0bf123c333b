/**
 * Store URLs, parsed and opened in one place (the CLI and the demo both use
 * it). Only the memory store is loaded eagerly: SQLite, Redis and PostgreSQL
 * are imported when a URL names them, so an application without
 * better-sqlite3, ioredis or pg can still use this module.
 *
 * URLs: `memory`, `sqlite:./path.db` (relative to `baseDir`),
 * `sqlite:/abs/path.db` (also `sqlite:///abs`), `redis://...` /
 * `rediss://...`, `redis-cluster://host:port,...` (a Redis Cluster's seed
 * nodes), `redis-sentinel://host:port,.../MASTER_NAME` (query `prefix`,
 * `timeout` for all four), `postgres://...` / `postgresql://...` (query
 * `schema`, `tablePrefix`).
 */
import { resolve } from 'node:path';
import { BatonError, isBatonError } from '../core/errors.ts';
import { MemoryStore } from './memory.ts';
import type { PostgresStore } from './postgres.ts';
import type { RedisStore } from './redis.ts';
import { parseRedisTarget } from './redis-url.ts';
import type { SqliteStore } from './sqlite.ts';
import type { SessionStore } from './types.ts';

export type StoreUrl =
  | { kind: 'memory'; url: string }
  | { kind: 'sqlite'; url: string; path: string }
  | { kind: 'redis'; url: string; options: StoreQueryOptions }
  | { kind: 'postgres'; url: string; options: StoreQueryOptions };

/**
 * Store options carried in the URL's query and taken out of it before the
 * URL reaches the driver: `prefix` (Redis key prefix, default `baton:`) and
 * `timeout` (Redis deadline in milliseconds, default 5000); `schema` and
 * `tablePrefix` (PostgreSQL, defaults `public` and `baton_`).
 */
export type StoreQueryOptions = Record<string, string>;

/**
 * A store URL that cannot be used, a configuration error: code `invalid_store_url`.
 *
 * @example
 * ```ts
 * import { parseStoreUrl, StoreUrlError } from 'baton-auth';
 *
 * try {
 *   parseStoreUrl(process.env.BATON_STORE ?? 'memory', { label: 'BATON_STORE' });
 * } catch (error) {
 *   if (!(error instanceof StoreUrlError)) throw error;
 *   console.error(error.message); // e.g. unsupported BATON_STORE "mysql://db"; use sqlite:<path>, ...
 *   process.exit(2);
 * }
 * ```
 */
export class StoreUrlError extends BatonError {
  override readonly name = 'StoreUrlError';
  constructor(message: string) {
    super('invalid_store_url', message);
  }
}

/**
 * A store that cannot be loaded or opened (a file that cannot be opened, a
 * store refusing its URL's options): code `store_unavailable`, with the
 * store's own error as `cause`. A missing driver package is a plain
 * BatonError `store_driver_missing`.
 *
 * @example
 * ```ts
 * import { openStore, StoreOpenError } from 'baton-auth';
 *
 * const store = await openStore('sqlite:/var/lib/app/sessions.db').catch((error: unknown) => {
 *   // A directory that does not exist, a file that is not a database, ...
 *   if (error instanceof StoreOpenError) console.error(`cannot open the session store: ${error.message}`);
 *   throw error;
 * });
 * ```
 */
export class StoreOpenError extends BatonError {
  override readonly name = 'StoreOpenError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('store_unavailable', message, options);
  }
}

export const STORE_URL_HELP =
  'sqlite:<path>, redis://..., redis-cluster://host:port,..., redis-sentinel://host:port,.../MASTER_NAME, postgres://...';

export interface ParseStoreUrlOptions {
  /** Resolves relative SQLite paths. Default: the working directory. */
  baseDir?: string;
  /** Names the setting in messages, e.g. `--store` or `BATON_STORE`. Default `store URL`. */
  label?: string;
  /** Default true. */
  allowMemory?: boolean;
}

const QUERY_OPTIONS = {
  redis: { prefix: 'prefix', timeout: 'timeout' },
  postgres: { schema: 'schema', tablePrefix: 'tablePrefix', table_prefix: 'tablePrefix' },
} as const satisfies Record<'redis' | 'postgres', Record<string, string>>;

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

function splitQueryOptions(
  kind: 'redis' | 'postgres',
  value: string,
  label: string,
): { url: string; options: StoreQueryOptions } {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new StoreUrlError(`${label} ${JSON.stringify(redact(value))} is not a valid URL`);
  }
  // (PostgreSQL may leave the host to libpq's defaults: postgres:///db.)
  if (kind === 'redis' && parsed.hostname === '') {
    throw new StoreUrlError(
      `${label} ${JSON.stringify(redact(value))} needs a host, e.g. redis://127.0.0.1:6379`,
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

/**
 * A Redis Cluster or Sentinel URL (several hosts: not a WHATWG URL): its
 * query options taken out, the rest checked as RedisStore will read it.
 */
function splitMultiHostQuery(value: string, label: string): { url: string; options: StoreQueryOptions } {
  const shown = JSON.stringify(redact(value));
  const question = value.indexOf('?');
  const base = question < 0 ? value : value.slice(0, question);
  const query = new URLSearchParams(question < 0 ? '' : value.slice(question + 1));
  const names: Record<string, string> = QUERY_OPTIONS.redis;
  const options: StoreQueryOptions = {};
  for (const [param, given] of query) {
    const option = names[param];
    if (option === undefined) {
      throw new StoreUrlError(`${label} ${shown}: its query takes only ${Object.keys(names).join(' and ')}`);
    }
    options[option] = given;
  }
  const target = parseRedisTarget(base);
  if (typeof target === 'string') throw new StoreUrlError(`${label} ${shown} ${target}`);
  return { url: base, options };
}

/**
 * Parses a store URL; anything unusable throws a one-line StoreUrlError.
 *
 * @example
 * ```ts
 * import { parseStoreUrl } from 'baton-auth';
 *
 * const url = parseStoreUrl('redis://cache.internal:6379/0?prefix=shop:');
 * // { kind: 'redis', url: 'redis://cache.internal:6379/0', options: { prefix: 'shop:' } }
 * parseStoreUrl('redis-cluster://10.0.0.1:7000,10.0.0.2:7000?prefix=shop:');
 * // { kind: 'redis', url: 'redis-cluster://10.0.0.1:7000,10.0.0.2:7000', options: { prefix: 'shop:' } }
 * parseStoreUrl('sqlite:./sessions.db', { baseDir: '/srv/app' }); // { kind: 'sqlite', path: '/srv/app/sessions.db', ... }
 * ```
 */
export function parseStoreUrl(spec: string, options: ParseStoreUrlOptions = {}): StoreUrl {
  const label = options.label ?? 'store URL';
  const allowMemory = options.allowMemory ?? true;
  const value = spec.trim();
  if (value === 'memory' && allowMemory) return { kind: 'memory', url: value };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'sqlite': {
      let path = value.slice('sqlite:'.length);
      if (path.startsWith('//')) path = path.slice(2);
      if (path === '' || path.includes('\0')) {
        throw new StoreUrlError(`${label} sqlite: needs a file path, e.g. sqlite:./baton.db`);
      }
      return { kind: 'sqlite', url: value, path: resolve(options.baseDir ?? process.cwd(), path) };
    }
    case 'redis':
    case 'rediss':
      return { kind: 'redis', ...splitQueryOptions('redis', value, label) };
    case 'redis-cluster':
    case 'rediss-cluster':
    case 'redis-sentinel':
    case 'rediss-sentinel':
      return { kind: 'redis', ...splitMultiHostQuery(value, label) };
    case 'postgres':
    case 'postgresql':
      return { kind: 'postgres', ...splitQueryOptions('postgres', value, label) };
    default:
      throw new StoreUrlError(
        `unsupported ${label} ${JSON.stringify(redact(value))}; use ${STORE_URL_HELP}${allowMemory ? ' or memory' : ''}`,
      );
  }
}

export interface OpenStoreOptions {
  /** Resolves relative SQLite paths when `url` is a string. Default: the working directory. */
  baseDir?: string;
  /** Names the setting in messages about a bad URL. */
  label?: string;
}

function reasonOf(error: unknown): string {
  return isBatonError(error) || error instanceof Error ? error.message : String(error);
}

/**
 * Opens the store a URL names (a SQLite file is created when missing; the
 * PostgreSQL store creates its tables before its first query). Throws
 * StoreUrlError (`invalid_store_url`) for a bad URL, a BatonError
 * `store_driver_missing` when the store's driver package is not installed,
 * and StoreOpenError (`store_unavailable`) when the store cannot be loaded
 * or opened.
 *
 * @example
 * ```ts
 * import { openStore } from 'baton-auth';
 *
 * // memory, sqlite:./sessions.db, redis://..., postgres://...: only the named store's driver is loaded
 * const store = await openStore(process.env.BATON_STORE ?? 'sqlite:./sessions.db', { label: 'BATON_STORE' });
 * // ... new SessionManager({ store, ... })
 * ```
 */
export async function openStore(
  url: string | StoreUrl,
  options: OpenStoreOptions = {},
): Promise<SessionStore> {
  const parsed =
    typeof url === 'string'
      ? parseStoreUrl(url, {
          ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }),
          ...(options.label === undefined ? {} : { label: options.label }),
        })
      : url;
  switch (parsed.kind) {
    case 'memory':
      return new MemoryStore();
    case 'sqlite':
      return openSqliteStore(parsed);
    case 'redis':
      return openRedisStore(parsed);
    case 'postgres':
      return openPostgresStore(parsed);
  }
}

// ---------------------------------------------------------------------------
// Lazily loaded stores: a store module, and with it its driver, is imported
// only when a URL names it.

interface StoreModules {
  sqlite: typeof import('./sqlite.ts');
  redis: typeof import('./redis.ts');
  postgres: typeof import('./postgres.ts');
}

const IMPORTS: { [K in keyof StoreModules]: () => Promise<StoreModules[K]> } = {
  sqlite: () => import('./sqlite.ts'),
  redis: () => import('./redis.ts'),
  postgres: () => import('./postgres.ts'),
};

export const STORE_NAMES = { sqlite: 'SQLite', redis: 'Redis', postgres: 'PostgreSQL' } as const;

/**
 * Imports one of Baton's store modules. A missing driver is the module's own
 * BatonError `store_driver_missing`, naming the package to install (see driver.ts).
 */
export async function loadStoreModule<K extends keyof StoreModules>(kind: K): Promise<StoreModules[K]> {
  try {
    return await IMPORTS[kind]();
  } catch (error) {
    if (isBatonError(error)) throw error;
    throw new StoreOpenError(`the ${STORE_NAMES[kind]} store is not available: ${reasonOf(error)}`, {
      cause: error,
    });
  }
}

function opening<S>(name: string, where: string, open: () => S): S {
  try {
    return open();
  } catch (error) {
    throw new StoreOpenError(`cannot open ${name} store ${where}: ${reasonOf(error)}`, { cause: error });
  }
}

type UrlOf<K extends StoreUrl['kind']> = Extract<StoreUrl, { kind: K }>;

/** Opens (and creates when missing) the SQLite file a URL names. */
export async function openSqliteStore(url: UrlOf<'sqlite'>): Promise<SqliteStore> {
  const { SqliteStore } = await loadStoreModule('sqlite');
  return opening(STORE_NAMES.sqlite, url.path, () => new SqliteStore({ path: url.path }));
}

/** A Redis store for a URL; it connects on its own, and reports an unreachable server at its first call. */
export async function openRedisStore(url: UrlOf<'redis'>): Promise<RedisStore> {
  const { RedisStore } = await loadStoreModule('redis');
  const { timeout, ...options } = url.options;
  return opening(
    STORE_NAMES.redis,
    redact(url.url),
    () =>
      new RedisStore({
        url: url.url,
        ...options,
        ...(timeout === undefined ? {} : { timeout: Number(timeout) }),
      }),
  );
}

/** A PostgreSQL store for a URL; it migrates before its first query. */
export async function openPostgresStore(url: UrlOf<'postgres'>): Promise<PostgresStore> {
  const { PostgresStore } = await loadStoreModule('postgres');
  return opening(
    STORE_NAMES.postgres,
    redact(url.url),
    () => new PostgresStore({ connectionString: url.url, ...url.options }),
  );
}
