/**
 * Where a bearer-mode client keeps its tokens. Synchronous, like Web Storage,
 * so that a tab reads what another tab just wrote without awaiting.
 */
export interface TokenStorage {
  get(key: string): string | null;
  set(key: string, value: string): void;
  remove(key: string): void;
  /** Whether other tabs see the same values (localStorage): the client then listens to `storage` events. */
  readonly shared?: boolean;
}

/** The default: tokens live as long as the page (or process). */
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
