/**
 * What instrumentation (`baton-auth/otel`) reaches in a manager besides its
 * public API: its store calls and its revoked set. Not a public API: no entry
 * point exports it; a manager carries it under a registered symbol, so that
 * two copies of the package (a bundle, a second install) still find it.
 */
import type { StoreCallObserver } from './store-calls.ts';

/** The key a manager keeps its internals under (`Symbol.for`: one per process, whatever the copy). */
export const MANAGER_INTERNALS: unique symbol = Symbol.for('baton-auth.manager-internals');

export interface ManagerInternals {
  /** Runs every store call through `observer` (one at a time) until the function answered is called. */
  observeStore(observer: StoreCallObserver): () => void;
  /** Entries in this process's revoked set (`verifyAccessToken` checks it), by kind. */
  revokedSetSize(): { sessions: number; tokens: number };
}

/** Gives a manager its internals (hidden: not enumerable, not in its type). */
export function attachInternals(manager: object, internals: ManagerInternals): void {
  Object.defineProperty(manager, MANAGER_INTERNALS, { value: Object.freeze(internals) });
}

/** A manager's internals; undefined for an object that is no Baton manager (a hand-written `AuthManager`). */
export function internalsOf(manager: object): ManagerInternals | undefined {
  return (manager as { [MANAGER_INTERNALS]?: ManagerInternals })[MANAGER_INTERNALS];
}
