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

/** What is known of a failed store call: the method, and the user or session it was about. */
export interface StoreFailure {
  operation: string;
  /** The `store_unavailable` error the caller gets. */
  error: BatonError;
  userId?: string | null;
  sessionId?: string | null;
  clientId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
}

/** Told of every failed store call (the manager emits `store_unavailable`). */
export type StoreFailureListener = (failure: StoreFailure) => void;

/** What a store call is about: the user, session and request it was made for, where it knows them. */
export type StoreCallFacts = Omit<StoreFailure, 'operation' | 'error'>;

/**
 * Runs every store call while it is set (`StoreCalls.observe`): instrumentation
 * (baton-auth/otel times each call and puts it in a span). `call` is the
 * store call, already turning a driver's failure into `store_unavailable`;
 * `observe` must answer what it answers and reject as it rejects.
 */
export interface StoreCallObserver {
  observe<T>(operation: string, facts: StoreCallFacts, call: () => Promise<T>): Promise<T>;
}

/** The facts of a call that knows none (shared: a call allocates nothing for them). */
const NO_FACTS: StoreCallFacts = Object.freeze({});

/**
 * Runs one call to storage that Baton does not own (a `SessionStore`, or the
 * callbacks strategy's user callbacks). Its failures that are not Baton's own
 * become `store_unavailable` (503, retry soon): the caller cannot tell a
 * crashed store from a slow one, and the client should simply retry.
 * `onFailure` hears of every `store_unavailable`, the store's own included.
 */
export async function storeCall<T>(
  operation: () => MaybePromise<T>,
  what = 'The session store',
  onFailure?: (error: BatonError) => void,
): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (isBatonError(error)) {
      if (error.code === 'store_unavailable') onFailure?.(error);
      throw error;
    }
    // The reason is for logs and operators; HTTP answers show a generic message (http/errors.ts).
    const reason = error instanceof Error ? error.message : String(error);
    const unavailable = new BatonError('store_unavailable', `${what} is unavailable: ${reason}`, {
      retryAfter: 1,
      cause: error,
    });
    onFailure?.(unavailable);
    throw unavailable;
  }
}

/**
 * The one way from `sessions/` to a `SessionStore`: every call goes through
 * here and fails as `store_unavailable`, never as a driver's error. Nothing
 * else in `sessions/` holds the store itself.
 */
export class StoreCalls {
  readonly #store: SessionStore;
  readonly #onFailure: StoreFailureListener | undefined;
  #observer: StoreCallObserver | undefined;

  constructor(store: SessionStore, onFailure?: StoreFailureListener) {
    this.#store = store;
    this.#onFailure = onFailure;
  }

  /**
   * Runs every call through `observer` until the function it answers is
   * called. One observer at a time. Unset, a call costs one field read more.
   */
  observe(observer: StoreCallObserver): () => void {
    if (this.#observer !== undefined) throw new Error('These store calls are already observed');
    this.#observer = observer;
    return () => {
      if (this.#observer === observer) this.#observer = undefined;
    };
  }

  #call<T>(
    operation: string,
    run: () => MaybePromise<T>,
    about: StoreCallFacts = NO_FACTS,
    what?: string,
  ): Promise<T> {
    const onFailure = this.#onFailure;
    const failed =
      onFailure === undefined ? undefined : (error: BatonError) => onFailure({ operation, error, ...about });
    const observer = this.#observer;
    if (observer === undefined) return storeCall(run, what, failed);
    return observer.observe(operation, about, () => storeCall(run, what, failed));
  }

  /**
   * One of the callbacks strategy's storage callbacks (`retrieveRefreshToken`,
   * ...): a store call too, failing as `store_unavailable`, observed alike.
   */
  userCallback<T>(operation: string, userId: string, run: () => MaybePromise<T>): Promise<T> {
    return this.#call(operation, run, { userId }, 'The refresh-token callback');
  }

  createSession(session: SessionRecord): Promise<void> {
    return this.#call('createSession', () => this.#store.createSession(session), {
      userId: session.userId,
      sessionId: session.id,
      clientId: session.clientId,
      ip: session.ip,
      userAgent: session.userAgent,
    });
  }

  getSession(id: string): Promise<SessionRecord | null> {
    return this.#call('getSession', () => this.#store.getSession(id), { sessionId: id });
  }

  rotateSession(request: RotateRequest): Promise<RotateResult> {
    return this.#call('rotateSession', () => this.#store.rotateSession(request), { sessionId: request.id });
  }

  touchSession(id: string, now: number): Promise<void> {
    return this.#call('touchSession', () => this.#store.touchSession(id, now), { sessionId: id });
  }

  revokeSessions(request: RevokeSessionsRequest): Promise<SessionRecord[]> {
    return this.#call('revokeSessions', () => this.#store.revokeSessions(request), {
      sessionId: request.sessionId ?? null,
      userId: request.userId ?? null,
    });
  }

  listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    return this.#call('listSessions', () => this.#store.listSessions(userId, now), { userId });
  }

  addRevocation(revocation: Revocation): Promise<void> {
    return this.#call(
      'addRevocation',
      () => this.#store.addRevocation(revocation),
      revocation.kind === 'session' ? { sessionId: revocation.id } : {},
    );
  }

  listRevocations(now: number): Promise<Revocation[]> {
    return this.#call('listRevocations', () => this.#store.listRevocations(now));
  }

  deleteExpired(request: { now: number; revokedBefore: number }): Promise<number> {
    return this.#call('deleteExpired', () => this.#store.deleteExpired(request));
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
