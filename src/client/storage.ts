/**
 * Where a bearer-mode client keeps its tokens. Synchronous, like Web Storage,
 * so that a tab reads what another tab just wrote without awaiting.
 *
 * @example
 * ```ts
 * import { readFileSync, writeFileSync } from 'node:fs';
 * import { createAuthClient, type TokenStorage } from 'baton-auth/client';
 *
 * // A CLI that stays signed in between runs, in a file only its user may read.
 * const file = `${process.env.HOME}/.example-session.json`;
 * const read = (): Record<string, string> => {
 *   try {
 *     return JSON.parse(readFileSync(file, 'utf8'));
 *   } catch {
 *     return {};
 *   }
 * };
 * const write = (entries: Record<string, string>) => writeFileSync(file, JSON.stringify(entries), { mode: 0o600 });
 * const fileStorage: TokenStorage = {
 *   get: (key) => read()[key] ?? null,
 *   set: (key, value) => write({ ...read(), [key]: value }),
 *   remove: (key) => write(Object.fromEntries(Object.entries(read()).filter(([name]) => name !== key))),
 * };
 * const auth = createAuthClient({ baseUrl: 'https://api.example.com', mode: 'bearer', storage: fileStorage });
 * ```
 */
export interface TokenStorage {
  get(key: string): string | null;
  set(key: string, value: string): void;
  remove(key: string): void;
  /** Whether other tabs see the same values (localStorage): the client then listens to `storage` events. */
  readonly shared?: boolean;
}

/**
 * The default: tokens live as long as the page (or process).
 *
 * @example
 * ```ts
 * import { createAuthClient, memoryStorage } from 'baton-auth/client';
 *
 * // A test of a Node client: the storage passed in is the one to inspect.
 * const storage = memoryStorage();
 * const auth = createAuthClient({ baseUrl: 'http://127.0.0.1:3000', mode: 'bearer', storage });
 * await auth.login('thedude', 'abides');
 * storage.get('baton:http://127.0.0.1:3000/auth'); // the client's record (tokens and claims), as JSON
 * ```
 */
export function memoryStorage(): TokenStorage {
  const map = new Map<string, string>();
  return {
    get: (key) => map.get(key) ?? null,
    set: (key, value) => void map.set(key, value),
    remove: (key) => void map.delete(key),
  };
}

/**
 * localStorage or sessionStorage. Anything on the page (an XSS included) can
 * read them; prefer memory storage, or cookie mode, where script never sees
 * the tokens.
 *
 * @example
 * ```ts
 * import { createAuthClient, webStorage } from 'baton-auth/client';
 *
 * // As `storage: 'local'`: survives reloads, and every tab of the origin follows the same session.
 * const auth = createAuthClient({ baseUrl: 'https://api.example.com', mode: 'bearer', storage: webStorage(localStorage) });
 * ```
 */
export function webStorage(storage: Storage, shared = true): TokenStorage {
  return {
    get: (key) => storage.getItem(key),
    set: (key, value) => storage.setItem(key, value),
    remove: (key) => storage.removeItem(key),
    shared,
  };
}

export type StorageOption = 'memory' | 'local' | 'session' | TokenStorage;

export function resolveStorage(option: StorageOption | undefined): TokenStorage {
  if (option === undefined || option === 'memory') return memoryStorage();
  if (option === 'local') return webStorage(globalThis.localStorage, true);
  if (option === 'session') return webStorage(globalThis.sessionStorage, false);
  return option;
}
