import { BatonError, isBatonError } from '../core/errors.ts';
import type {
  Revocation,
  RevocationListener,
  RevokeSessionsRequest,
  RotateRequest,
  RotateResult,
  SessionRecord,
  SessionStore,
} from '../stores/types.ts';
import type { MaybePromise } from './types.ts';

/**
 * Runs one call to storage that Baton does not own (a `SessionStore`, or the
 * callbacks strategy's user callbacks). Its failures that are not Baton's own
 * become `store_unavailable` (503, retry soon): the caller cannot tell a
 * crashed store from a slow one, and the client should simply retry.
 */
export async function storeCall<T>(operation: () => MaybePromise<T>, what = 'The session store'): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (isBatonError(error)) throw error;
    // The reason is for logs and operators; HTTP answers show a generic message (http/errors.ts).
    const reason = error instanceof Error ? error.message : String(error);
    throw new BatonError('store_unavailable', `${what} is unavailable: ${reason}`, {
      retryAfter: 1,
      cause: error,
    });
  }
}

/**
 * The one way from `sessions/` to a `SessionStore`: every call goes through
 * here and fails as `store_unavailable`, never as a driver's error. Nothing
 * else in `sessions/` holds the store itself.
 */
export class StoreCalls {
  readonly #store: SessionStore;

  constructor(store: SessionStore) {
    this.#store = store;
  }

  createSession(session: SessionRecord): Promise<void> {
    return storeCall(() => this.#store.createSession(session));
  }

  getSession(id: string): Promise<SessionRecord | null> {
    return storeCall(() => this.#store.getSession(id));
  }

  rotateSession(request: RotateRequest): Promise<RotateResult> {
    return storeCall(() => this.#store.rotateSession(request));
  }

  touchSession(id: string, now: number): Promise<void> {
    return storeCall(() => this.#store.touchSession(id, now));
  }

  revokeSessions(request: RevokeSessionsRequest): Promise<SessionRecord[]> {
    return storeCall(() => this.#store.revokeSessions(request));
  }

  listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    return storeCall(() => this.#store.listSessions(userId, now));
  }

  addRevocation(revocation: Revocation): Promise<void> {
    return storeCall(() => this.#store.addRevocation(revocation));
  }

  listRevocations(now: number): Promise<Revocation[]> {
    return storeCall(() => this.#store.listRevocations(now));
  }

  deleteExpired(request: { now: number; revokedBefore: number }): Promise<number> {
    return storeCall(() => this.#store.deleteExpired(request));
  }

  /** The store's cross-process feed, when it has one. */
  subscribeRevocations(listener: RevocationListener): (() => void) | undefined {
    return this.#store.subscribeRevocations?.(listener);
  }

  close(): Promise<void> {
    return this.#store.close();
  }

  /** Whether the store keeps DPoP proof ids (`rememberProofId`), which DPoP needs. */
  get remembersProofIds(): boolean {
    return typeof this.#store.rememberProofId === 'function';
  }

  /** The DPoP replay cache; so a StoreCalls is a DpopVerifier's `replay`. */
  rememberProofId(id: string, expiresAt: number, now: number): Promise<boolean> {
    const store = this.#store;
    const remember = store.rememberProofId;
    if (remember === undefined) {
      return Promise.reject(
        new BatonError('invalid_options', 'the store has no rememberProofId, which DPoP needs'),
      );
    }
    return storeCall(() => remember.call(store, id, expiresAt, now));
  }
}
