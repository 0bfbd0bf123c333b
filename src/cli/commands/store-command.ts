/** Shared by the commands that work on a store: --store, --timeout, open and close. */
import { durationOption, type Parsed, requireString, UsageError } from '../args.ts';
import {
  type OpenedStore,
  openStore,
  parseStoreUrl,
  redact,
  type StoreUrl,
  withTimeout,
} from '../open-store.ts';

export const DEFAULT_STORE_TIMEOUT_SECONDS = 10;

export const STORE_OPTIONS = {
  store: { type: 'string' },
  timeout: { type: 'string' },
} as const;

export const STORE_OPTIONS_HELP = `  --store URL      sqlite:./path.db or sqlite:/abs/path.db,
                   redis://[user:pass@]host:6379[/db][?prefix=baton:],
                   postgres://user[:pass]@host/db[?schema=public&tablePrefix=baton_]
  --timeout DUR    give up when the store does not answer within DUR (default ${DEFAULT_STORE_TIMEOUT_SECONDS}s)`;

export interface StoreArgs {
  store: StoreUrl;
  /** Seconds. */
  timeout: number;
}

export function parseStoreArgs(parsed: Parsed, command: string, cwd: string): StoreArgs {
  const store = parseStoreUrl(requireString(parsed, 'store', command), command, { cwd });
  const timeout = durationOption(parsed, 'timeout', command) ?? DEFAULT_STORE_TIMEOUT_SECONDS;
  if (timeout <= 0) throw new UsageError('--timeout must be positive', command);
  return { store, timeout };
}

export function storeLabel(url: StoreUrl): string {
  return url.kind === 'sqlite' ? `SQLite store ${url.path}` : `store ${redact(url.url)}`;
}

/** Opens the store (within the time limit), runs `work`, and always closes it. */
export async function withStore<T>(args: StoreArgs, work: (opened: OpenedStore) => Promise<T>): Promise<T> {
  const opened = await withTimeout(openStore(args.store), args.timeout, storeLabel(args.store));
  try {
    return await work(opened);
  } finally {
    await withTimeout(opened.store.close(), args.timeout, storeLabel(args.store)).catch(() => undefined);
  }
}
