/**
 * Store URLs: parsed in one place (the CLI, the demo and `openStore`), and
 * the errors of opening a store.
 *
 * URLs: `memory`, `sqlite:./path.db` (relative to `baseDir`),
 * `sqlite:/abs/path.db` (also `sqlite:///abs`), `redis://...` /
 * `rediss://...` (query `prefix`), `postgres://...` / `postgresql://...`
 * (query `schema`, `tablePrefix`).
 */
import { resolve } from 'node:path';
import { BatonError } from '../core/errors.ts';

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

export const STORE_URL_HELP = 'sqlite:<path>, redis://..., postgres://...';

export interface ParseStoreUrlOptions {
  /** Resolves relative SQLite paths. Default: the working directory. */
  baseDir?: string;
  /** Names the setting in messages, e.g. `--store` or `BATON_STORE`. Default `store URL`. */
  label?: string;
  /** Default true. */
  allowMemory?: boolean;
}

const QUERY_OPTIONS = {
  redis: { prefix: 'prefix' },
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
 * Parses a store URL; anything unusable throws a one-line StoreUrlError.
 *
 * @example
 * ```ts
 * import { parseStoreUrl } from 'baton-auth';
 *
 * const url = parseStoreUrl('redis://cache.internal:6379/0?prefix=shop:');
 * // { kind: 'redis', url: 'redis://cache.internal:6379/0', options: { prefix: 'shop:' } }
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
    case 'postgres':
    case 'postgresql':
      return { kind: 'postgres', ...splitQueryOptions('postgres', value, label) };
    default:
      throw new StoreUrlError(
        `unsupported ${label} ${JSON.stringify(redact(value))}; use ${STORE_URL_HELP}${allowMemory ? ' or memory' : ''}`,
      );
  }
}
