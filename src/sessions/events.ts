/**
 * Security events: one typed event for every security-relevant step, in
 * every strategy, delivered to listeners after the step has answered.
 *
 * Rules (README "Events and logging"):
 * - One step, one event. A step that ends sessions names them in its own
 *   event (`logout`, `logout_all`, `user_revoked`, `refresh_token_reused`,
 *   `token_revoked`); no `session_revoked` follows it. `session_revoked` is
 *   the step of revoking one session by its id.
 * - An event records what happened: it is emitted once the step succeeded
 *   (a step that fails on the store emits `store_unavailable` instead).
 * - No event carries a token, a secret, a password or a hash.
 * - Listeners run after the answer (`setImmediate`), are never awaited, and
 *   a listener that throws or rejects is reported to the logger: it never
 *   fails nor delays a request.
 */
import { type BatonLogger, defaultLogger, safeLog } from '../core/logger.ts';
import type { RevocationReason } from '../stores/types.ts';
import type { StoreFailure } from './store-calls.ts';
import type { DpopRejection, DpopRejectionReason, DpopStep, RequestContext, StrategyName } from './types.ts';

/**
 * Every event type, in a fixed order (e.g. for a metrics adapter that declares its counters up front).
 *
 * @example
 * ```ts
 * import { AUTH_EVENT_TYPES } from 'baton-auth';
 *
 * const counts = new Map(AUTH_EVENT_TYPES.map((type) => [type, 0]));
 * sessions.events.on((event) => counts.set(event.type, (counts.get(event.type) ?? 0) + 1));
 * ```
 */
export const AUTH_EVENT_TYPES = [
  'login',
  'login_failed',
  'rate_limited',
  'refresh',
  'refresh_grace_reuse',
  'refresh_token_reused',
  'session_revoked',
  'user_revoked',
  'logout',
  'logout_all',
  'token_revoked',
  'reauth',
  'store_unavailable',
  'dpop_rejected',
] as const;

export type AuthEventType = (typeof AUTH_EVENT_TYPES)[number];

/** Who emitted an event: a manager (its strategy), or a resource server's verifier (`resource`). */
export type EventSource = StrategyName | 'resource';

/** What every event carries; a field that does not apply (or is unknown at that step) is `null`. */
export interface AuthEventFields<T extends AuthEventType = AuthEventType> {
  readonly type: T;
  /** When it happened: milliseconds since the epoch, on the manager's (or resource verifier's) clock. */
  readonly time: number;
  /** The manager's strategy; `resource` for a resource server's verifier (`baton-auth/resource`), which runs none. */
  readonly strategy: EventSource;
  /** The user (`sub`). */
  readonly userId: string | null;
  /** The session (`sid`): visible in every access token, so not a secret. */
  readonly sessionId: string | null;
  /** The session's `client_id` claim; before a session exists, the client the request named. */
  readonly clientId: string | null;
  /** The client IP the request came from (`RequestContext.ip`). */
  readonly ip: string | null;
  /** Its user agent (`RequestContext.userAgent`), at most 512 characters. */
  readonly userAgent: string | null;
  /** Why, where the step has a reason (each type says which). */
  readonly reason: string | null;
}

/** The password check a failure or a lockout happened in. */
export type PasswordStep = 'login' | 'reauth';

/** A session opened: by `login` (`password`), by `issueSession` (`issued`), or a per-client `createToken` (`client_token`). */
export interface LoginEvent extends AuthEventFields<'login'> {
  readonly userId: string;
  readonly sessionId: string;
  readonly clientId: string;
  readonly reason: 'password' | 'issued' | 'client_token';
}

/**
 * A password check failed (login, the password grant, reauth). `reason`:
 * `invalid_credentials` (unknown user or wrong password: `verifyCredentials`
 * cannot tell them apart), `user_disabled` (a disabled user's correct
 * password), `wrong_user` (reauth with another user's password).
 */
export interface LoginFailedEvent extends AuthEventFields<'login_failed'> {
  readonly reason: 'invalid_credentials' | 'user_disabled' | 'wrong_user';
  /** The username tried (the client sent it; never the password). */
  readonly username: string;
  readonly step: PasswordStep;
}

/** A password check refused before any hashing: too many failures for the username, or from the IP (`reason`). */
export interface RateLimitedEvent extends AuthEventFields<'rate_limited'> {
  readonly reason: 'username' | 'ip';
  readonly username: string;
  readonly step: PasswordStep;
  /** Seconds until the caller may try again. */
  readonly retryAfter: number;
}

/**
 * A refresh answered new tokens (`reason` null), or cookie mode's implicit
 * refresh renewed an access token (`reason: 'implicit'`). A grace-window
 * answer is `refresh_grace_reuse` instead, never both.
 */
export interface RefreshEvent extends AuthEventFields<'refresh'> {
  readonly userId: string;
  readonly sessionId: string;
  readonly clientId: string;
  readonly reason: 'implicit' | null;
}

/** Rotating strategy: a token rotated less than `graceWindow` ago answered with its successor (a concurrent refresh). */
export interface RefreshGraceReuseEvent extends AuthEventFields<'refresh_grace_reuse'> {
  readonly userId: string;
  readonly sessionId: string;
  readonly clientId: string;
  readonly reason: null;
}

/**
 * Rotating strategy, theft detected: a refresh token of an earlier
 * generation came back after the grace window. The session (and its access
 * tokens) is revoked in the same step: this one event says both.
 */
export interface RefreshTokenReusedEvent extends AuthEventFields<'refresh_token_reused'> {
  readonly userId: string;
  readonly sessionId: string;
  readonly clientId: string;
  readonly reason: 'refresh_token_reused';
  /** The generation of the token presented. */
  readonly generation: number;
  /** The session's generation when it was presented. */
  readonly currentGeneration: number;
}

/**
 * One session revoked by its id: `revokeSession` (`DELETE /auth/sessions/:id`),
 * a per-client token deleted, or replaced by `createToken` (`reason` as stored).
 */
export interface SessionRevokedEvent extends AuthEventFields<'session_revoked'> {
  readonly userId: string;
  readonly sessionId: string;
  readonly reason: RevocationReason;
}

/**
 * Every session of a user ended at once: `revokeUser` (`reason` as given,
 * default `admin`), or a refresh that found the user missing or disabled
 * (`user_disabled`). `count` is how many sessions were revoked: 0 where the
 * strategy keeps no sessions to revoke (single-token, callbacks: the refresh
 * is refused, and every later one too).
 */
export interface UserRevokedEvent extends AuthEventFields<'user_revoked'> {
  readonly userId: string;
  readonly reason: RevocationReason;
  readonly count: number;
  readonly sessionIds: readonly string[];
}

/** `logout`: the session of a live access or refresh token ended. */
export interface LogoutEvent extends AuthEventFields<'logout'> {
  readonly sessionId: string;
  readonly reason: 'logout';
}

/** `logoutAll`: every session of the token's user ended; `sessionId` is the token's own session. */
export interface LogoutAllEvent extends AuthEventFields<'logout_all'> {
  readonly userId: string;
  readonly sessionId: string;
  readonly reason: 'logout_all';
  readonly count: number;
  readonly sessionIds: readonly string[];
}

/**
 * RFC 7009 (`revokeToken`, `/auth/revoke`): an access token denied by its
 * `jti` (its session lives on), or a refresh token whose session ended.
 * Invalid and dead tokens are ignored, and emit nothing.
 */
export interface TokenRevokedEvent extends AuthEventFields<'token_revoked'> {
  readonly sessionId: string;
  readonly tokenType: 'access_token' | 'refresh_token';
  readonly reason: null;
}

/** The password again: a fresh access token for the same session. */
export interface ReauthEvent extends AuthEventFields<'reauth'> {
  readonly userId: string;
  readonly sessionId: string;
  readonly clientId: string;
  readonly reason: null;
}

/**
 * A call to the store (or to the callbacks strategy's callbacks) failed: the
 * step answers 503. One per failed call; `reason` is the driver's message
 * (credentials in URLs masked), `operation` the store method.
 */
export interface StoreUnavailableEvent extends AuthEventFields<'store_unavailable'> {
  readonly reason: string;
  readonly operation: string;
}

/**
 * A DPoP proof refused (RFC 9449): at login, refresh or reauth (`step`), on
 * a protected request (`resource`), or for a bound token acting for its
 * session (`logout`, logout-all too; `revoke`). `reason`: `invalid_proof`,
 * `missing_proof`, `key_mismatch` (another key than the token's or session's),
 * `bearer_bound_token` (a bound token sent as Bearer), `use_dpop_nonce` (the
 * client is told the current nonce and retries). `detail` says what was
 * wrong; no event carries a token or a proof.
 */
export interface DpopRejectedEvent extends AuthEventFields<'dpop_rejected'> {
  readonly reason: DpopRejectionReason;
  readonly step: DpopStep;
  readonly detail: string;
}

/** Every event: `switch (event.type)` narrows it, and a switch over every type is exhaustive. */
export type AuthEvent =
  | LoginEvent
  | LoginFailedEvent
  | RateLimitedEvent
  | RefreshEvent
  | RefreshGraceReuseEvent
  | RefreshTokenReusedEvent
  | SessionRevokedEvent
  | UserRevokedEvent
  | LogoutEvent
  | LogoutAllEvent
  | TokenRevokedEvent
  | ReauthEvent
  | StoreUnavailableEvent
  | DpopRejectedEvent;

/** The event of one type. */
export type AuthEventOf<T extends AuthEventType> = Extract<AuthEvent, { type: T }>;

/**
 * Receives events after the step has answered. Its result is not awaited: a
 * returned promise that rejects is reported to the logger, like a throw.
 */
export type AuthEventListener<E extends AuthEvent = AuthEvent> = (event: E) => unknown;

/** Stops a listener (what `on` answers). */
export type Unsubscribe = () => void;

/**
 * A manager's events (`manager.events`). Listeners given at construction
 * (`onEvent`) and those added here get the same events, in emission order.
 *
 * @example
 * ```ts
 * declare function page(text: string): Promise<void>;
 * declare const counters: Map<string, number>;
 *
 * // One type, typed as that type (here with generation and currentGeneration):
 * const stop = sessions.events.on('refresh_token_reused', (event) =>
 *   page(`refresh token theft: user ${event.userId}, session ${event.sessionId}, from ${event.ip}`),
 * );
 * // Every event: a metrics adapter is one more listener.
 * sessions.events.on((event) => {
 *   counters.set(event.type, (counters.get(event.type) ?? 0) + 1);
 * });
 * stop(); // the theft listener no longer receives anything
 * ```
 */
export interface AuthEvents {
  /** Every event. */
  on(listener: AuthEventListener): Unsubscribe;
  /** The events of one type, typed as that type. */
  on<T extends AuthEventType>(type: T, listener: AuthEventListener<AuthEventOf<T>>): Unsubscribe;
  /**
   * Resolves once every event emitted so far has reached the listeners and
   * the promises they returned have settled (tests, graceful shutdown). A
   * listener that never settles keeps it waiting.
   */
  flush(): Promise<void>;
}

/** The event as a step builds it: everything but what the manager adds (`time`, `strategy`). */
export type EventDraft = AuthEvent extends infer E
  ? E extends AuthEvent
    ? Omit<E, 'time' | 'strategy'>
    : never
  : never;

interface Subscription {
  readonly type: AuthEventType | undefined;
  readonly listener: AuthEventListener;
}

/**
 * The manager's side of `AuthEvents`: `emit` queues, and one `setImmediate`
 * delivers the queue after the current step's answer has gone out. A
 * listener is called in a try/catch, and its promise (if any) gets a catch:
 * neither can reach the caller of the step.
 */
export class AuthEventHub implements AuthEvents {
  #subscriptions: readonly Subscription[] = [];
  #queue: AuthEvent[] = [];
  #scheduled = false;
  readonly #pending = new Set<Promise<unknown>>();
  readonly #logger: BatonLogger;

  constructor(logger: BatonLogger) {
    this.#logger = logger;
  }

  /** Whether anyone listens: a step skips building events nobody receives. */
  get listening(): boolean {
    return this.#subscriptions.length > 0;
  }

  on(listener: AuthEventListener): Unsubscribe;
  on<T extends AuthEventType>(type: T, listener: AuthEventListener<AuthEventOf<T>>): Unsubscribe;
  on(typeOrListener: AuthEventType | AuthEventListener, maybeListener?: AuthEventListener): Unsubscribe {
    const subscription: Subscription =
      typeof typeOrListener === 'function'
        ? { type: undefined, listener: typeOrListener }
        : { type: checkedType(typeOrListener), listener: checkedListener(maybeListener) };
    // Copy on write: a delivery in progress keeps the list it started with.
    this.#subscriptions = [...this.#subscriptions, subscription];
    return () => {
      this.#subscriptions = this.#subscriptions.filter((s) => s !== subscription);
    };
  }

  emit(event: AuthEvent): void {
    if (!this.listening) return;
    this.#queue.push(Object.freeze(event));
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#deliver());
  }

  async flush(): Promise<void> {
    while (this.#scheduled || this.#pending.size > 0) {
      // Immediates run in order: ours, scheduled first, has run by the time this one does.
      if (this.#scheduled) await new Promise((resolve) => setImmediate(resolve));
      else await Promise.allSettled([...this.#pending]);
    }
  }

  #deliver(): void {
    this.#scheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    for (const event of batch) {
      for (const { type, listener } of this.#subscriptions) {
        if (type === undefined || type === event.type) this.#call(listener, event);
      }
    }
  }

  #call(listener: AuthEventListener, event: AuthEvent): void {
    let result: unknown;
    try {
      result = listener(event);
    } catch (error) {
      this.#failed(error, event);
      return;
    }
    if (!isThenable(result)) return;
    const settled = Promise.resolve(result).then(
      () => undefined,
      (error: unknown) => this.#failed(error, event),
    );
    this.#pending.add(settled);
    settled.finally(() => this.#pending.delete(settled));
  }

  #failed(error: unknown, event: AuthEvent): void {
    safeLog(
      this.#logger,
      'error',
      { err: error, event: event.type },
      'baton: an event listener failed (the request it reports was not affected)',
    );
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function checkedType(type: string): AuthEventType {
  if (!(AUTH_EVENT_TYPES as readonly string[]).includes(type)) {
    throw new TypeError(
      `Unknown event type ${JSON.stringify(type)}; use one of ${AUTH_EVENT_TYPES.join(', ')}`,
    );
  }
  return type as AuthEventType;
}

function checkedListener(listener: unknown): AuthEventListener {
  if (typeof listener !== 'function') throw new TypeError('An event listener must be a function');
  return listener as AuthEventListener;
}

/** The log level of each event: `warn` for what an operator should look at. */
const EVENT_LEVEL: Record<AuthEventType, 'info' | 'warn'> = {
  login: 'info',
  login_failed: 'info',
  rate_limited: 'warn',
  refresh: 'info',
  refresh_grace_reuse: 'info',
  refresh_token_reused: 'warn',
  session_revoked: 'info',
  user_revoked: 'info',
  logout: 'info',
  logout_all: 'info',
  token_revoked: 'info',
  reauth: 'info',
  store_unavailable: 'warn',
  dpop_rejected: 'info',
};

/**
 * The listener that writes each event to the logger: one line per event,
 * the event under `event` (so that its `time` and `type` never clash with
 * the logger's own fields), the type as the message.
 */
export function eventLogger(logger: BatonLogger): AuthEventListener {
  return (event) => {
    logger[EVENT_LEVEL[event.type]]({ event }, `baton: ${event.type}`);
  };
}

/** Longest IP or user agent an event carries. */
const MAX_REQUEST_FIELD = 512;

function requestField(value: string | null | undefined): string | null {
  if (typeof value !== 'string' || value === '') return null;
  return value.length > MAX_REQUEST_FIELD ? value.slice(0, MAX_REQUEST_FIELD) : value;
}

/** The IP and user agent of a request, as events carry them. */
export function requestFacts(context: Pick<RequestContext, 'ip' | 'userAgent'>): {
  ip: string | null;
  userAgent: string | null;
} {
  return { ip: requestField(context.ip), userAgent: requestField(context.userAgent) };
}

/** A driver's message with any `scheme://user:password@` masked: events and logs never carry a secret. */
function withoutCredentials(message: string): string {
  return message.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1***@');
}

/** The `store_unavailable` event of a failed store call (a manager's, or a resource verifier's revoked-set load). */
export function storeUnavailableDraft(failure: StoreFailure): EventDraft {
  return {
    type: 'store_unavailable',
    operation: failure.operation,
    reason: withoutCredentials(failure.error.message),
    userId: failure.userId ?? null,
    sessionId: failure.sessionId ?? null,
    clientId: failure.clientId ?? null,
    ...requestFacts(failure),
  };
}

/** The `dpop_rejected` event of a refused proof (at a manager, or at a resource server's guard). */
export function dpopRejectedDraft(rejection: DpopRejection, context: RequestContext): EventDraft {
  return {
    type: 'dpop_rejected',
    reason: rejection.reason,
    step: rejection.step,
    detail: rejection.detail,
    userId: rejection.userId ?? null,
    sessionId: rejection.sessionId ?? null,
    clientId: rejection.clientId ?? context.clientId ?? null,
    ...requestFacts(context),
  };
}

/** A listener option as a list: one function, a list of them, or none. */
export function listenersOf(option: AuthEventListener | readonly AuthEventListener[] | undefined) {
  if (option === undefined) return [];
  return typeof option === 'function' ? [option] : [...option];
}

/**
 * What the `logger` and `onEvent` options of a manager or a resource verifier
 * make: the logger (a child bound to `{ component: 'baton' }`, or the
 * default), and an event hub that logs each event to it (when one was given)
 * and calls the listeners.
 */
export function eventsFromOptions(options: {
  logger?: BatonLogger | undefined;
  onEvent?: AuthEventListener | readonly AuthEventListener[] | undefined;
}): { logger: BatonLogger; hub: AuthEventHub } {
  const logger = options.logger === undefined ? defaultLogger : options.logger.child({ component: 'baton' });
  const hub = new AuthEventHub(logger);
  if (options.logger !== undefined) hub.on(eventLogger(logger));
  for (const listener of listenersOf(options.onEvent)) hub.on(listener);
  return { logger, hub };
}
