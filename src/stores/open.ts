/**
 * Store URLs, parsed and opened in one place (the CLI and the demo both use
 * it). Only the memory store is loaded eagerly: SQLite, Redis and PostgreSQL
 * are imported when a URL names them, so an application without
 * better-sqlite3, ioredis or pg can still use this module.
 *
 * URLs: `memory`, `sqlite:./path.db` (relative to `baseDir`),
 * `sqlite:/abs/path.db` (also `sqlite:///abs`), `redis://...` /
 * `rediss://...` (query `prefix`), `postgres://...` / `postgresql://...`
 * (query `schema`, `tablePrefix`).
 */

import { openPostgresStore, openRedisStore, openSqliteStore } from './load.ts';
import { MemoryStore } from './memory.ts';
import { parseStoreUrl, type StoreUrl } from './store-url.ts';
import type { SessionStore } from './types.ts';

export {
  type ParseStoreUrlOptions,
  parseStoreUrl,
  redact,
  STORE_URL_HELP,
  StoreOpenError,
  type StoreQueryOptions,
  type StoreUrl,
  StoreUrlError,
} from './store-url.ts';

export interface OpenStoreOptions {
  /** Resolves relative SQLite paths when `url` is a string. Default: the working directory. */
  baseDir?: string;
  /** Names the setting in messages about a bad URL. */
  label?: string;
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
