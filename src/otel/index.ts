/**
 * `baton-auth/otel`: OpenTelemetry metrics and traces for a manager, through
 * `@opentelemetry/api` (an optional peer dependency: only this entry point
 * loads it, and the rest of Baton never does). `instrument(manager)` counts
 * the manager's events, times verification, refreshes, logins and every
 * store call, watches the revoked set's size, and puts each step and each
 * store call in a span. No metric or span attribute carries a token, a
 * secret, a password, a username or an IP (README "Metrics and traces").
 *
 * @module baton-auth/otel
 */
import { readFileSync } from 'node:fs';
import {
  type Attributes,
  type Meter,
  type MeterProvider,
  metrics,
  type ObservableResult,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
  ValueType,
} from '@opentelemetry/api';
import { z } from 'zod';
import { BatonError, isBatonError } from '../core/errors.ts';
import { parseOptions } from '../core/options.ts';
import { ResourceVerifier } from '../resource/verifier.ts';
import { AUTH_EVENT_TYPES, type AuthEvent, type AuthEvents, type AuthEventType } from '../sessions/events.ts';
import { internalsOf } from '../sessions/instrumentation.ts';
import type { StoreCallFacts, StoreCallObserver } from '../sessions/store-calls.ts';
import type { AuthManager } from '../sessions/types.ts';

export interface InstrumentOptions {
  /** Where the metrics go. Default: the global one (`metrics.getMeterProvider()`), as registered when `instrument` runs. */
  meterProvider?: MeterProvider;
  /** Where the spans go. Default: the global one (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
  /**
   * Time every `verifyAccessToken` into `baton.verify.duration` (default
   * true). It is the hot path: the timing and the SDK's record add about
   * half a microsecond to each call (README "Metrics and traces"); `false`
   * keeps the count by outcome (`baton.verifications`) and drops the timing.
   */
  verifyDuration?: boolean;
}

/** What `instrument` answers. */
export interface Instrumentation {
  /**
   * Stops recording: the event listener, the store observer and the gauge's
   * callback are removed and the manager's methods are its own again.
   */
  stop(): void;
}

/** The instrumentation scope's name (meter and tracer): what `otel_scope_name` says in Prometheus. */
const SCOPE = 'baton-auth';

/** Seconds. Verification takes microseconds (a cache hit well under one), the rest milliseconds. */
const VERIFY_BUCKETS = [
  0.000_002_5, 0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.0025, 0.01,
];
const STEP_BUCKETS = [0.000_5, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A step's outcome: `success`, or the `BatonError` code it failed with (`error` for anything else). */
const SUCCESS = 'success';

/**
 * The public steps that get a span, by method: each runs inside it, so the
 * store calls it makes are its children. `verifyAccessToken` gets none (it is
 * the hot path, with no I/O): its duration histogram says enough.
 */
const STEPS = {
  login: 'baton.login',
  issueSession: 'baton.issue_session',
  refresh: 'baton.refresh',
  reissueAccessToken: 'baton.implicit_refresh',
  reauthenticate: 'baton.reauth',
  logout: 'baton.logout',
  logoutAll: 'baton.logout_all',
  listSessions: 'baton.list_sessions',
  revokeSession: 'baton.revoke_session',
  revokeUser: 'baton.revoke_user',
  revokeToken: 'baton.revoke_token',
  describeToken: 'baton.introspect',
} as const satisfies Partial<Record<keyof AuthManager, string>>;

type Step = keyof typeof STEPS;

/** What verifyAccessToken fails with (README "Error codes"), counted from 0. */
const VERIFY_FAILURES = [
  'invalid_token',
  'token_expired',
  'token_revoked',
  'wrong_token_type',
  'store_unavailable',
];

/** Steps whose first argument is a user id and second a session id (no token). */
const BY_IDS: ReadonlySet<Step> = new Set(['listSessions', 'revokeSession', 'revokeUser']);

/**
 * The `reason` label of `baton.events`: each type's documented reasons, `none`
 * where the event has none. Declared at 0 up front, so that the first theft
 * is an increase (Prometheus' `increase()` misses the first sample of a new
 * series). A reason outside the list is `other`: a label never takes free text.
 */
const EVENT_REASONS: Readonly<Record<AuthEventType, readonly string[]>> = {
  login: ['password', 'issued', 'client_token'],
  login_failed: ['invalid_credentials', 'user_disabled', 'wrong_user'],
  rate_limited: ['username', 'ip'],
  refresh: ['none', 'implicit'],
  refresh_grace_reuse: ['none'],
  refresh_token_reused: ['refresh_token_reused'],
  session_revoked: ['revoked'],
  user_revoked: ['admin', 'user_disabled'],
  logout: ['logout'],
  logout_all: ['logout_all'],
  token_revoked: ['none'],
  reauth: ['none'],
  // Its reason is the driver's message: free text. `baton.store.errors` has the operation.
  store_unavailable: ['none'],
  dpop_rejected: ['invalid_proof', 'missing_proof', 'key_mismatch', 'bearer_bound_token', 'use_dpop_nonce'],
};

/** Every revocation reason a store records: counted as themselves where an event carries one. */
const REVOCATION_REASONS = new Set([
  'logout',
  'logout_all',
  'revoked',
  'refresh_token_reused',
  'user_disabled',
  'admin',
]);

const instrumented = new WeakSet<object>();

const optionsSchema = z.strictObject({
  meterProvider: z
    .custom<MeterProvider>((value) => hasMethod(value, 'getMeter'))
    .optional()
    .meta({ accepts: 'an OpenTelemetry MeterProvider (with getMeter)' }),
  tracerProvider: z
    .custom<TracerProvider>((value) => hasMethod(value, 'getTracer'))
    .optional()
    .meta({ accepts: 'an OpenTelemetry TracerProvider (with getTracer)' }),
  verifyDuration: z.boolean().optional().meta({ accepts: 'true or false' }),
});

/**
 * Instruments a manager (any strategy) with OpenTelemetry: from now on its
 * events are counted, its verifications, logins, refreshes and store calls
 * timed, its revoked set measured, and each step and store call traced. The
 * metrics and spans are listed in the README ("Metrics and traces"). A
 * resource server's `ResourceVerifier` has its events counted
 * (`strategy="resource"`: its guards' DPoP refusals), nothing more.
 *
 * Spans nest (a step's store calls are its children) when a context manager
 * is registered, as the OpenTelemetry Node SDK does. Event counts are added
 * when the events are delivered, just after each step answers
 * (`await manager.events.flush()` before reading them in a test).
 * Throws `invalid_options` for a manager that is already instrumented.
 *
 * @example
 * ```ts
 * import { MeterProvider } from '@opentelemetry/sdk-metrics';
 * import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
 * import { instrument } from 'baton-auth/otel';
 *
 * // Prometheus scrapes http://localhost:9464/metrics: baton_events_total{type="login",...}
 * const meterProvider = new MeterProvider({ readers: [new PrometheusExporter({ port: 9464 })] });
 * const instrumentation = instrument(sessions, { meterProvider }); // spans: the global TracerProvider
 *
 * // Later (tests, shutdown): the manager is as it was.
 * instrumentation.stop();
 * ```
 */
export function instrument(
  manager: AuthManager | ResourceVerifier,
  options: InstrumentOptions = {},
): Instrumentation {
  const parsed = parseOptions(optionsSchema, options, 'instrument');
  if (instrumented.has(manager)) {
    throw new BatonError(
      'invalid_options',
      `This ${manager instanceof ResourceVerifier ? 'verifier' : 'manager'} is already instrumented: stop() the first instrumentation before instrumenting it again`,
    );
  }
  const version = packageVersion();
  const meter = (parsed.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE, version);
  if (manager instanceof ResourceVerifier) return instrumentVerifier(manager, createInstruments(meter));
  const tracer = (parsed.tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE, version);
  const on: Instrumented = {
    manager,
    strategy: manager.strategy,
    tracer,
    instruments: createInstruments(meter),
    outcomes: new OutcomeAttributes({ strategy: manager.strategy }),
  };
  const undo: Undo[] = [];
  const undoAll = () => {
    for (const step of undo.splice(0).reverse()) step();
  };
  try {
    undo.push(countEvents(on));
    undo.push(...countVerifications(on, parsed.verifyDuration !== false));
    undo.push(...traceSteps(on));
    undo.push(...observeInternals(on));
  } catch (error) {
    // Another copy of this module got there first (the store observer was taken): leave the manager as it was.
    undoAll();
    throw error;
  }
  instrumented.add(manager);
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      undoAll();
      instrumented.delete(manager);
    },
  };
}

type Undo = () => void;

/** What the parts of `instrument` share. */
interface Instrumented {
  manager: AuthManager;
  strategy: string;
  tracer: Tracer;
  instruments: Instruments;
  /** `{ strategy, outcome }`, made once per outcome. */
  outcomes: OutcomeAttributes;
}

type Instruments = ReturnType<typeof createInstruments>;

function createInstruments(meter: Meter) {
  return {
    events: meter.createCounter('baton.events', {
      description: 'Security events, by type (README "Events and logging") and reason',
      unit: '{event}',
      valueType: ValueType.INT,
    }),
    verifications: meter.createObservableCounter('baton.verifications', {
      description: 'verifyAccessToken calls, by outcome (success or the error code)',
      unit: '{call}',
      valueType: ValueType.INT,
    }),
    verifyDuration: meter.createHistogram('baton.verify.duration', {
      description: 'verifyAccessToken: time per call, every outcome',
      unit: 's',
      advice: { explicitBucketBoundaries: VERIFY_BUCKETS },
    }),
    refreshDuration: meter.createHistogram('baton.refresh.duration', {
      description: 'refresh: time per call, by outcome (success or the error code)',
      unit: 's',
      advice: { explicitBucketBoundaries: STEP_BUCKETS },
    }),
    loginDuration: meter.createHistogram('baton.login.duration', {
      description: 'login (password check included): time per call, by outcome (success or the error code)',
      unit: 's',
      advice: { explicitBucketBoundaries: STEP_BUCKETS },
    }),
    storeDuration: meter.createHistogram('baton.store.duration', {
      description: 'Session store calls: time per call, by operation and outcome',
      unit: 's',
      advice: { explicitBucketBoundaries: STEP_BUCKETS },
    }),
    storeErrors: meter.createCounter('baton.store.errors', {
      description: 'Failed session store calls, by operation (each answered 503 store_unavailable)',
      unit: '{call}',
      valueType: ValueType.INT,
    }),
    revokedSet: meter.createObservableGauge('baton.revoked_set.size', {
      description: "Entries in this process's in-memory revoked set, by kind (session or token)",
      unit: '{entry}',
      valueType: ValueType.INT,
    }),
  };
}

/** Every event counted by one listener; every type and reason declared at 0. */
function countEvents({ manager, strategy, instruments: { events } }: Instrumented): Undo {
  return countEventsOf(manager.events, strategy, events, AUTH_EVENT_TYPES);
}

/** `source`'s events counted by one listener, under `strategy`; each of `types` with every reason declared at 0. */
function countEventsOf(
  source: AuthEvents,
  strategy: string,
  events: Instruments['events'],
  types: readonly AuthEventType[],
): Undo {
  for (const type of types) {
    for (const reason of EVENT_REASONS[type]) events.add(0, { type, strategy, reason });
  }
  return source.on((event) => events.add(1, { type: event.type, strategy, reason: reasonOf(event) }));
}

/** The events a resource server's verifier emits (its guards' DPoP refusals, its revoked set's loads). */
const RESOURCE_EVENT_TYPES: readonly AuthEventType[] = ['dpop_rejected', 'store_unavailable'];

/**
 * A resource server's verifier: its events counted in `baton.events` under
 * `strategy="resource"`. It has no sessions, steps or store of its own to time.
 */
function instrumentVerifier(verifier: ResourceVerifier, instruments: Instruments): Instrumentation {
  const undo = countEventsOf(verifier.events, 'resource', instruments.events, RESOURCE_EVENT_TYPES);
  instrumented.add(verifier);
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      undo();
      instrumented.delete(verifier);
    },
  };
}

/**
 * Verification, the hot path: counted in plain numbers (the SDK reads them
 * when it collects) and timed into a histogram without attributes, the SDK's
 * cheapest record (it hashes a record's attributes: about 2 µs for two). No span.
 */
function countVerifications({ manager, instruments, outcomes }: Instrumented, timed: boolean): Undo[] {
  const { verifications, verifyDuration } = instruments;
  const verify = manager.verifyAccessToken;
  const counts = new VerifyCounts();
  const replaced = replaceMethod(
    manager,
    'verifyAccessToken',
    function verifyAccessToken(this: unknown, token: string) {
      const started = timed ? performance.now() : 0;
      try {
        const claims = verify.call(this, token);
        counts.success++;
        if (timed) verifyDuration.record((performance.now() - started) / 1000);
        return claims;
      } catch (error) {
        counts.failed(outcomeOf(error));
        if (timed) verifyDuration.record((performance.now() - started) / 1000);
        throw error;
      }
    },
  );
  const observe = (result: ObservableResult) => {
    result.observe(counts.success, outcomes.of(SUCCESS));
    for (const [outcome, count] of counts.failures) result.observe(count, outcomes.of(outcome));
  };
  verifications.addCallback(observe);
  return [replaced, () => verifications.removeCallback(observe)];
}

/** A span around each public step, as the active one (its store calls are its children); login and refresh timed. */
function traceSteps({ manager, strategy, tracer, instruments, outcomes }: Instrumented): Undo[] {
  const undo: Undo[] = [];
  for (const step of Object.keys(STEPS) as Step[]) {
    const original = manager[step] as (...args: unknown[]) => Promise<unknown>;
    if (typeof original !== 'function') continue;
    const histogram =
      step === 'login'
        ? instruments.loginDuration
        : step === 'refresh'
          ? instruments.refreshDuration
          : undefined;
    const spanName = STEPS[step];
    const byIds = BY_IDS.has(step);
    undo.push(
      replaceMethod(manager, step, function traced(this: unknown, ...args: unknown[]) {
        const started = performance.now();
        const attributes: Attributes = { 'baton.strategy': strategy };
        if (byIds) addIds(attributes, args[0], args[1]);
        return tracer.startActiveSpan(spanName, { kind: SpanKind.INTERNAL, attributes }, async (span) => {
          try {
            const result = await original.apply(this, args);
            span.setAttributes(resultAttributes(result));
            end(span, SUCCESS);
            histogram?.record((performance.now() - started) / 1000, outcomes.of(SUCCESS));
            return result;
          } catch (error) {
            const outcome = outcomeOf(error);
            end(span, outcome);
            histogram?.record((performance.now() - started) / 1000, outcomes.of(outcome));
            throw error;
          }
        });
      }),
    );
  }
  return undo;
}

/** What only a Baton manager has (none for a hand-written AuthManager): its store calls and its revoked set. */
function observeInternals({ manager, strategy, tracer, instruments }: Instrumented): Undo[] {
  const internals = internalsOf(manager);
  if (internals === undefined) return [];
  const { storeDuration, storeErrors, revokedSet } = instruments;
  const byOperation = new Map<string, OutcomeAttributes>();
  const labels = (operation: string) => {
    let found = byOperation.get(operation);
    if (found === undefined) {
      found = new OutcomeAttributes({ strategy, operation });
      byOperation.set(operation, found);
    }
    return found;
  };
  const observer: StoreCallObserver = {
    observe(operation, facts, call) {
      const started = performance.now();
      const attributes: Attributes = { 'baton.strategy': strategy, 'baton.store.operation': operation };
      addFacts(attributes, facts);
      return tracer.startActiveSpan(
        `baton.store.${operation}`,
        { kind: SpanKind.CLIENT, attributes },
        async (span) => {
          try {
            const result = await call();
            end(span, SUCCESS);
            storeDuration.record((performance.now() - started) / 1000, labels(operation).of(SUCCESS));
            return result;
          } catch (error) {
            const outcome = outcomeOf(error);
            end(span, outcome);
            storeDuration.record((performance.now() - started) / 1000, labels(operation).of(outcome));
            storeErrors.add(1, labels(operation).base);
            throw error;
          }
        },
      );
    },
  };
  // First: the one step that can fail (the store is observed already).
  const unobserve = internals.observeStore(observer);
  const sessions = { strategy, kind: 'session' };
  const tokens = { strategy, kind: 'token' };
  const observeSize = (result: ObservableResult) => {
    const size = internals.revokedSetSize();
    result.observe(size.sessions, sessions);
    result.observe(size.tokens, tokens);
  };
  revokedSet.addCallback(observeSize);
  return [unobserve, () => revokedSet.removeCallback(observeSize)];
}

/** verifyAccessToken's outcomes so far: plain numbers, read when the SDK collects. */
class VerifyCounts {
  success = 0;
  /** Declared at 0, as the events are: the first failure of each kind is already an increase. */
  readonly failures = new Map<string, number>(VERIFY_FAILURES.map((code) => [code, 0]));

  failed(outcome: string): void {
    this.failures.set(outcome, (this.failures.get(outcome) ?? 0) + 1);
  }
}

/** Attribute sets by outcome, made once each: recording allocates none. */
class OutcomeAttributes {
  readonly base: Attributes;
  readonly #byOutcome = new Map<string, Attributes>();

  constructor(base: Attributes) {
    this.base = Object.freeze({ ...base });
  }

  of(outcome: string): Attributes {
    let found = this.#byOutcome.get(outcome);
    if (found === undefined) {
      found = Object.freeze({ ...this.base, outcome });
      this.#byOutcome.set(outcome, found);
    }
    return found;
  }
}

function outcomeOf(error: unknown): string {
  return isBatonError(error) ? error.code : 'error';
}

/** Ends a span with its outcome; a failure is an error whose message is the code alone (a message may quote input). */
function end(span: Span, outcome: string): void {
  span.setAttribute('baton.outcome', outcome);
  if (outcome !== SUCCESS) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
  span.end();
}

/** Who a step's answer is about: a token pair names its user, session and client (never its tokens). */
function resultAttributes(result: unknown): Attributes {
  if (typeof result !== 'object' || result === null) return {};
  const pair = result as { sessionId?: unknown; claims?: { sub?: unknown; client_id?: unknown } };
  const attributes: Attributes = {};
  if (typeof pair.sessionId === 'string') attributes['baton.session_id'] = pair.sessionId;
  if (typeof pair.claims?.sub === 'string') attributes['baton.user_id'] = pair.claims.sub;
  if (typeof pair.claims?.client_id === 'string') attributes['baton.client_id'] = pair.claims.client_id;
  return attributes;
}

function addIds(attributes: Attributes, userId: unknown, sessionId: unknown): void {
  if (typeof userId === 'string' || typeof userId === 'number') attributes['baton.user_id'] = String(userId);
  if (typeof sessionId === 'string') attributes['baton.session_id'] = sessionId;
}

/** What a store call was about: user, session, client (the request's IP and user agent stay out). */
function addFacts(attributes: Attributes, facts: StoreCallFacts): void {
  if (typeof facts.userId === 'string') attributes['baton.user_id'] = facts.userId;
  if (typeof facts.sessionId === 'string') attributes['baton.session_id'] = facts.sessionId;
  if (typeof facts.clientId === 'string') attributes['baton.client_id'] = facts.clientId;
}

function reasonOf(event: AuthEvent): string {
  const known = EVENT_REASONS[event.type];
  const reason = event.type === 'store_unavailable' ? null : event.reason;
  if (reason === null) return 'none';
  if (known.includes(reason) || REVOCATION_REASONS.has(reason)) return reason;
  return 'other';
}

/**
 * Puts `replacement` on the manager in place of one of its methods; answers
 * the undo, which leaves alone a method someone else replaced since.
 */
function replaceMethod(
  manager: object,
  name: string,
  replacement: (...args: never[]) => unknown,
): () => void {
  const own = Object.getOwnPropertyDescriptor(manager, name);
  Object.defineProperty(manager, name, { value: replacement, writable: true, configurable: true });
  return () => {
    if (Object.getOwnPropertyDescriptor(manager, name)?.value !== replacement) return;
    if (own === undefined) delete (manager as Record<string, unknown>)[name];
    else Object.defineProperty(manager, name, own);
  };
}

function hasMethod(value: unknown, name: string): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>)[name] === 'function'
  );
}

let version: string | undefined | null = null;

/** The package's version, for the instrumentation scope (read once; `undefined` if unreadable). */
function packageVersion(): string | undefined {
  if (version !== null) return version;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    version = typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    version = undefined;
  }
  return version;
}
