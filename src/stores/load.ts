/**
 * Baton's own store modules, loaded lazily: a store module, and with it its
 * driver, is imported only when a URL names it. Internal (the CLI and
 * `openStore` use it); no entry point exports it, so the public types never
 * name a driver an application did not install.
 */
import { isBatonError } from '../core/errors.ts';
import type { PostgresStore } from './postgres.ts';
import type { RedisStore } from './redis.ts';
import { parseNatMapQuery } from './redis-url.ts';
import type { SqliteStore } from './sqlite.ts';
import { redact, StoreOpenError, type StoreUrl, StoreUrlError } from './store-url.ts';

function reasonOf(error: unknown): string {
  return isBatonError(error) || error instanceof Error ? error.message : String(error);
}

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
  const { timeout, natMap, ...options } = url.options;
  // Checked by parseStoreUrl; a URL given as a StoreUrl object is checked by the store.
  const natMapOption = natMap === undefined ? undefined : parseNatMapQuery(natMap);
  if (typeof natMapOption === 'string') {
    throw new StoreUrlError(`store URL ${JSON.stringify(redact(url.url))} ${natMapOption}`);
  }
  return opening(
    STORE_NAMES.redis,
    redact(url.url),
    () =>
      new RedisStore({
        url: url.url,
        ...options,
        ...(timeout === undefined ? {} : { timeout: Number(timeout) }),
        ...(natMapOption === undefined ? {} : { natMap: natMapOption }),
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
