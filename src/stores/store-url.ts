/**
 * Store URLs: parsed in one place (the CLI, the demo and `openStore`), and
 * the errors of opening a store.
 *
 * URLs: `memory`, `sqlite:./path.db` (relative to `baseDir`),
 * `sqlite:/abs/path.db` (also `sqlite:///abs`), `redis://...` /
 * `rediss://...`, `redis-cluster://host:port,...` (a Redis Cluster's seed
 * nodes; query `natMap` too: `announced=reachable,...`),
 * `redis-sentinel://host:port,.../MASTER_NAME` (query `prefix`, `timeout` for
 * all four), `postgres://...` / `postgresql://...` (query `schema`,
 * `tablePrefix`).
 */
import { resolve } from 'node:path';
import { BatonError } from '../core/errors.ts';
import { parseNatMapQuery, parseRedisTarget } from './redis-url.ts';

export type StoreUrl =
  | { kind: 'memory'; url: string }
  | { kind: 'sqlite'; url: string; path: string }
  | { kind: 'redis'; url: string; options: StoreQueryOptions }
  | { kind: 'postgres'; url: string; options: StoreQueryOptions };

/**
 * Store options carried in the URL's query and taken out of it before the
 * URL reaches the driver: `prefix` (Redis key prefix, default `baton:`),
 * `timeout` (Redis deadline in milliseconds, default 5000) and, on a
 * `redis-cluster://` URL, `natMap` (`announced=reachable,...`, each a
 * `host:port`, checked here; see RedisStore's `natMap`); `schema` and
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

/** A query option given twice: which one was meant cannot be told, so neither is taken. */
function twice(label: string, value: string, param: string): string {
  return `${label} ${JSON.stringify(redact(value))} gives ${param} more than once`;
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
  if (kind === 'redis' && parsed.searchParams.has('natMap')) {
    throw new StoreUrlError(
      `${label} ${JSON.stringify(redact(value))}: natMap is for redis-cluster:// URLs (one server announces no other addresses)`,
    );
  }
  const names: Record<string, string> = QUERY_OPTIONS[kind];
  const options: StoreQueryOptions = {};
  for (const [param, option] of Object.entries(names)) {
    const given = parsed.searchParams.getAll(param);
    if (given.length === 0) continue;
    // More than once, or under both its spellings (tablePrefix, table_prefix).
    if (given.length > 1 || options[option] !== undefined)
      throw new StoreUrlError(twice(label, value, option));
    options[option] = given[0] as string;
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
  const target = parseRedisTarget(base);
  if (typeof target === 'string') throw new StoreUrlError(`${label} ${shown} ${target}`);
  const names: Record<string, string> =
    target.kind === 'cluster' ? { ...QUERY_OPTIONS.redis, natMap: 'natMap' } : QUERY_OPTIONS.redis;
  const options: StoreQueryOptions = {};
  for (const [param, given] of query) {
    const option = names[param];
    if (option === undefined) {
      const list = Object.keys(names);
      throw new StoreUrlError(
        `${label} ${shown}: its query takes only ${list.slice(0, -1).join(', ')} and ${list.at(-1)}` +
          (param === 'natMap' ? ' (natMap is for redis-cluster:// URLs)' : ''),
      );
    }
    if (options[option] !== undefined) throw new StoreUrlError(twice(label, value, param));
    options[option] = given;
  }
  if (options.natMap !== undefined) {
    const natMap = parseNatMapQuery(options.natMap);
    if (typeof natMap === 'string') throw new StoreUrlError(`${label} ${shown} ${natMap}`);
  }
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
 * // A cluster whose nodes announce addresses this process reaches elsewhere (NAT):
 * parseStoreUrl('redis-cluster://203.0.113.7:30001?natMap=10.0.0.5:6379=203.0.113.7:30001');
 * // { kind: 'redis', ..., options: { natMap: '10.0.0.5:6379=203.0.113.7:30001' } }
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
