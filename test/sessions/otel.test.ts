// baton-auth/otel on the OpenTelemetry SDK itself (in-memory exporters, no
// mocks): real logins, refreshes, theft and a store outage, then the
// counters, histograms, gauge and spans they left; no token, secret or
// password in any span or metric attribute, in every strategy; and Baton
// without @opentelemetry/api installed.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { context, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { createAuthHandler } from '../../src/http/index.ts';
import { AUTH_EVENT_TYPES, MemoryStore, type SessionStore, type StrategyName } from '../../src/index.ts';
import { instrument } from '../../src/otel/index.ts';
import { createResourceGuard, ResourceVerifier } from '../../src/resource/index.ts';
import { dpopIssuer, verifierOptions } from '../adapters/resource-apps.ts';
import { strategyHarness } from '../strategies/support.ts';
import { strategyDesigns } from '../support/designs.ts';
import { ProofKey } from '../support/dpop.ts';
import { runWithout } from '../support/hidden-packages.ts';
import { recordingClient, Secrets } from '../support/secrets.ts';
import { harness, rejectsWith, type StoreKind, storeKinds } from './support.ts';

const memory = storeKinds.find((kind) => kind.name === 'memory')!;
const DRIVER_PASSWORD = 'hunter2-driver-password';

/** The SDK with in-memory exporters: metrics read on demand (cumulative), spans as they end. */
function telemetry() {
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 3_600_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
  return {
    /** What `instrument` takes. */
    providers: { meterProvider, tracerProvider },
    /** Every metric as of now, by name. */
    async metrics(): Promise<Map<string, MetricData>> {
      await reader.forceFlush();
      const exports = metricExporter.getMetrics();
      const latest = exports[exports.length - 1];
      const all = new Map<string, MetricData>();
      for (const scope of latest?.scopeMetrics ?? []) {
        for (const metric of scope.metrics) all.set(metric.descriptor.name, metric);
      }
      return all;
    },
    spans: (): ReadableSpan[] => spanExporter.getFinishedSpans(),
    async shutdown() {
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}

/** The value of a counter or gauge's point whose attributes include `match`; 0 when none. */
function pointValue(metric: MetricData | undefined, match: Record<string, string>): number {
  assert.ok(metric, 'the metric exists');
  assert.notEqual(metric.dataPointType, DataPointType.HISTOGRAM);
  return metric.dataPoints
    .filter((point) => Object.entries(match).every(([key, value]) => point.attributes[key] === value))
    .reduce((sum, point) => sum + (point.value as number), 0);
}

/** How many values a histogram recorded for the points whose attributes include `match`. */
function countOf(metric: MetricData | undefined, match: Record<string, string>): number {
  assert.ok(metric, 'the metric exists');
  assert.equal(metric.dataPointType, DataPointType.HISTOGRAM);
  return metric.dataPoints
    .filter((point) => Object.entries(match).every(([key, value]) => point.attributes[key] === value))
    .reduce((sum, point) => sum + (point.value as { count: number }).count, 0);
}

function childrenOf(spans: ReadableSpan[], parent: ReadableSpan): ReadableSpan[] {
  return spans.filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId);
}

/** A MemoryStore whose every call fails like a driver's while `down`, with credentials in its message. */
function flakyStore(): { store: SessionStore; setDown(down: boolean): void } {
  const inner = new MemoryStore();
  let down = false;
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || property === 'close' || property === 'subscribeRevocations') {
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return (...args: unknown[]) => {
        if (down) throw new Error(`connect ECONNREFUSED postgres://baton:${DRIVER_PASSWORD}@db:5432/baton`);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    store,
    setDown(value) {
      down = value;
    },
  };
}

let contextManager: AsyncLocalStorageContextManager;
before(() => {
  // What the Node SDK registers: spans follow async calls, so store calls nest in their step.
  contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
});
after(() => {
  context.disable();
});

describe('baton-auth/otel: metrics and traces on the OpenTelemetry SDK', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('login, verify, refresh and theft: event counts, latency histograms, the revoked-set gauge, nested spans', async () => {
    const otel = telemetry();
    const h = await harness(memory, { graceWindow: 10 });
    cleanups.push(
      () => h.close(),
      () => otel.shutdown(),
    );
    instrument(h.manager, otel.providers);

    const pair = await h.manager.login('thedude', 'abides', { clientId: 'web' });
    h.manager.verifyAccessToken(pair.accessToken);
    h.manager.verifyAccessToken(pair.accessToken);
    await rejectsWith(() => h.manager.verifyAccessToken('not-a-token'), 'invalid_token');
    const next = await h.manager.refresh(pair.refreshToken);
    h.clock.advance(11);
    await rejectsWith(h.manager.refresh(pair.refreshToken), 'refresh_token_reused');
    await rejectsWith(() => h.manager.verifyAccessToken(next.accessToken), 'token_revoked');
    await h.manager.events.flush();

    const metrics = await otel.metrics();
    const events = metrics.get('baton.events');
    assert.equal(pointValue(events, { type: 'login', reason: 'password', strategy: 'rotating' }), 1);
    assert.equal(pointValue(events, { type: 'refresh' }), 1);
    assert.equal(pointValue(events, { type: 'refresh_token_reused' }), 1);
    assert.equal(pointValue(events, { type: 'logout' }), 0);
    // Every type is there from the start, at 0: the first theft is an increase.
    const types = new Set(events!.dataPoints.map((point) => point.attributes.type));
    assert.equal(types.size, AUTH_EVENT_TYPES.length);

    const verifications = metrics.get('baton.verifications');
    assert.equal(pointValue(verifications, { outcome: 'success', strategy: 'rotating' }), 2);
    assert.equal(pointValue(verifications, { outcome: 'invalid_token' }), 1);
    assert.equal(pointValue(verifications, { outcome: 'token_revoked' }), 1);
    // Every call timed, in one series: attributes would cost the hot path about 2 µs a call.
    const verify = metrics.get('baton.verify.duration');
    assert.equal(verify?.descriptor.unit, 's');
    assert.equal(countOf(verify, {}), 4);
    assert.deepEqual(verify?.dataPoints[0]?.attributes, {});
    const refresh = metrics.get('baton.refresh.duration');
    assert.equal(countOf(refresh, { outcome: 'success', strategy: 'rotating' }), 1);
    assert.equal(countOf(refresh, { outcome: 'refresh_token_reused' }), 1);
    assert.equal(countOf(metrics.get('baton.login.duration'), { outcome: 'success' }), 1);

    const store = metrics.get('baton.store.duration');
    assert.equal(countOf(store, { operation: 'createSession', outcome: 'success' }), 1);
    assert.equal(countOf(store, { operation: 'rotateSession', outcome: 'success' }), 1);
    assert.equal(countOf(store, { operation: 'getSession' }), 2);
    // The store records the session's revocation with it, in one call.
    assert.equal(countOf(store, { operation: 'revokeSessions' }), 1);
    assert.equal(metrics.get('baton.store.errors'), undefined, 'no store call failed');

    const revoked = metrics.get('baton.revoked_set.size');
    assert.equal(pointValue(revoked, { kind: 'session' }), 1, 'the stolen session');
    assert.equal(pointValue(revoked, { kind: 'token' }), 0);

    const spans = otel.spans();
    const login = spans.find((span) => span.name === 'baton.login');
    assert.ok(login);
    assert.equal(login.kind, SpanKind.INTERNAL);
    assert.deepEqual(login.attributes, {
      'baton.strategy': 'rotating',
      'baton.user_id': 'u1',
      'baton.session_id': pair.sessionId,
      'baton.client_id': 'web',
      'baton.outcome': 'success',
    });
    assert.equal(login.status.code, SpanStatusCode.UNSET);
    const created = childrenOf(spans, login);
    assert.deepEqual(
      created.map((span) => span.name),
      ['baton.store.createSession'],
    );
    assert.equal(created[0]!.kind, SpanKind.CLIENT);
    assert.deepEqual(created[0]!.attributes, {
      'baton.strategy': 'rotating',
      'baton.store.operation': 'createSession',
      'baton.user_id': 'u1',
      'baton.session_id': pair.sessionId,
      'baton.client_id': 'web',
      'baton.outcome': 'success',
    });

    const [rotated, stolen] = spans.filter((span) => span.name === 'baton.refresh');
    assert.ok(rotated && stolen);
    assert.equal(rotated.attributes['baton.outcome'], 'success');
    assert.equal(rotated.attributes['baton.session_id'], pair.sessionId);
    assert.deepEqual(
      childrenOf(spans, rotated).map((span) => span.name),
      ['baton.store.getSession', 'baton.store.rotateSession'],
    );
    assert.equal(stolen.attributes['baton.outcome'], 'refresh_token_reused');
    assert.deepEqual(stolen.status, { code: SpanStatusCode.ERROR, message: 'refresh_token_reused' });
    assert.deepEqual(
      childrenOf(spans, stolen).map((span) => span.name),
      ['baton.store.getSession', 'baton.store.revokeSessions'],
    );
    assert.ok(
      childrenOf(spans, stolen).every((span) => span.attributes['baton.session_id'] === pair.sessionId),
    );
  });

  it('a store outage: store errors and latency by operation, store_unavailable counted, failed spans', async () => {
    const otel = telemetry();
    const flaky = flakyStore();
    const h = await harness({ name: 'flaky', make: () => ({ store: flaky.store, cleanup() {} }) });
    cleanups.push(
      () => h.close(),
      () => otel.shutdown(),
    );
    instrument(h.manager, otel.providers);

    const pair = await h.manager.login('thedude', 'abides');
    flaky.setDown(true);
    await rejectsWith(h.manager.login('thedude', 'abides'), 'store_unavailable');
    await rejectsWith(h.manager.refresh(pair.refreshToken), 'store_unavailable');
    // Verification keeps working from memory.
    h.manager.verifyAccessToken(pair.accessToken);
    flaky.setDown(false);
    await h.manager.refresh(pair.refreshToken);
    await h.manager.events.flush();

    const metrics = await otel.metrics();
    assert.equal(pointValue(metrics.get('baton.events'), { type: 'store_unavailable' }), 2);
    const errors = metrics.get('baton.store.errors');
    assert.equal(pointValue(errors, { operation: 'createSession', strategy: 'rotating' }), 1);
    assert.equal(pointValue(errors, { operation: 'getSession' }), 1);
    const store = metrics.get('baton.store.duration');
    assert.equal(countOf(store, { operation: 'createSession', outcome: 'store_unavailable' }), 1);
    assert.equal(countOf(store, { operation: 'createSession', outcome: 'success' }), 1);
    assert.equal(countOf(store, { operation: 'getSession', outcome: 'success' }), 1);
    assert.equal(countOf(metrics.get('baton.login.duration'), { outcome: 'store_unavailable' }), 1);
    assert.equal(countOf(metrics.get('baton.refresh.duration'), { outcome: 'store_unavailable' }), 1);
    assert.equal(countOf(metrics.get('baton.refresh.duration'), { outcome: 'success' }), 1);

    const spans = otel.spans();
    const failedLogin = spans.filter((span) => span.name === 'baton.login')[1];
    assert.ok(failedLogin);
    assert.deepEqual(failedLogin.status, { code: SpanStatusCode.ERROR, message: 'store_unavailable' });
    const [failedCall] = childrenOf(spans, failedLogin);
    assert.equal(failedCall?.name, 'baton.store.createSession');
    assert.equal(failedCall.attributes['baton.outcome'], 'store_unavailable');
    // The status says the code alone: the driver's message (a URL with a password) stays out.
    assert.deepEqual(failedCall.status, { code: SpanStatusCode.ERROR, message: 'store_unavailable' });
  });

  it('the callbacks strategy: its storage callbacks are store calls, timed and traced', async () => {
    const otel = telemetry();
    const stored = new Map<string, string>();
    const h = await strategyHarness(memory, (base) => ({
      ...base,
      strategy: 'callbacks' as const,
      storeRefreshToken: (id: string, token: string) => void stored.set(id, token),
      retrieveRefreshToken: (id: string) => stored.get(id),
    }));
    cleanups.push(
      () => h.close(),
      () => otel.shutdown(),
    );
    instrument(h.manager, otel.providers);
    const pair = await h.manager.login('thedude', 'abides');
    await h.manager.refresh(pair.refreshToken);
    const metrics = await otel.metrics();
    const store = metrics.get('baton.store.duration');
    assert.equal(countOf(store, { operation: 'storeRefreshToken', strategy: 'callbacks' }), 1);
    assert.equal(countOf(store, { operation: 'retrieveRefreshToken' }), 1);
    const refresh = otel.spans().find((span) => span.name === 'baton.refresh');
    assert.ok(refresh);
    assert.deepEqual(
      childrenOf(otel.spans(), refresh).map((span) => [span.name, span.attributes['baton.user_id']]),
      [['baton.store.retrieveRefreshToken', 'u1']],
    );
  });

  it('stop(): the manager is as it was, and nothing more is recorded; a second instrument() is refused until then', async () => {
    const otel = telemetry();
    const h = await harness(memory);
    cleanups.push(
      () => h.close(),
      () => otel.shutdown(),
    );
    const proto = Object.getPrototypeOf(h.manager) as Record<string, unknown>;
    const instrumentation = instrument(h.manager, otel.providers);
    assert.notEqual(h.manager.login, proto.login);
    assert.throws(
      () => instrument(h.manager, otel.providers),
      (error: Error) => /already instrumented/.test(error.message),
    );
    await h.manager.login('thedude', 'abides');
    await h.manager.events.flush();
    instrumentation.stop();
    instrumentation.stop();
    for (const method of ['login', 'refresh', 'verifyAccessToken', 'logout']) {
      assert.equal(Object.hasOwn(h.manager, method), false, method);
    }
    const spans = otel.spans().length;
    await h.manager.login('thedude', 'abides');
    await h.manager.events.flush();
    assert.equal(otel.spans().length, spans);
    const metrics = await otel.metrics();
    assert.equal(pointValue(metrics.get('baton.events'), { type: 'login' }), 1);
    assert.equal(countOf(metrics.get('baton.store.duration'), { operation: 'createSession' }), 1);
    // Instrumented again (the store observer was released too).
    const again = instrument(h.manager, otel.providers);
    again.stop();
  });

  it('verifyDuration: false counts verifications without timing them', async () => {
    const otel = telemetry();
    const h = await harness(memory);
    cleanups.push(
      () => h.close(),
      () => otel.shutdown(),
    );
    instrument(h.manager, { ...otel.providers, verifyDuration: false });
    const pair = await h.manager.login('thedude', 'abides');
    h.manager.verifyAccessToken(pair.accessToken);
    await rejectsWith(() => h.manager.verifyAccessToken(`${pair.accessToken}x`), 'invalid_token');
    const metrics = await otel.metrics();
    assert.equal(pointValue(metrics.get('baton.verifications'), { outcome: 'success' }), 1);
    assert.equal(pointValue(metrics.get('baton.verifications'), { outcome: 'invalid_token' }), 1);
    assert.equal(metrics.get('baton.verify.duration'), undefined);
  });

  it('a second copy of the package instrumenting the same manager: refused, and the manager left as it was', async () => {
    const otel = telemetry();
    const h = await harness(memory);
    cleanups.push(
      () => h.close(),
      () => otel.shutdown(),
    );
    // What another copy's instrument() takes first: the store observer, under the registered symbol.
    const internals = (
      h.manager as unknown as Record<symbol, { observeStore(observer: unknown): () => void }>
    )[Symbol.for('baton-auth.manager-internals')];
    assert.ok(internals);
    const release = internals.observeStore({
      observe: (_operation: string, _facts: object, call: () => unknown) => call(),
    });
    assert.throws(() => instrument(h.manager, otel.providers), /already observed/);
    for (const method of ['login', 'refresh', 'verifyAccessToken']) {
      assert.equal(Object.hasOwn(h.manager, method), false, method);
    }
    await h.manager.login('thedude', 'abides');
    await h.manager.events.flush();
    assert.equal(otel.spans().length, 0);
    release();
    instrument(h.manager, otel.providers).stop();
  });

  it('a resource server\'s verifier: its guards\' DPoP refusals counted under strategy="resource"; stop() ends it', async () => {
    const otel = telemetry();
    const issuer = await dpopIssuer();
    const verifier = new ResourceVerifier(verifierOptions(issuer));
    cleanups.push(
      () => issuer.close(),
      async () => verifier.close(),
      () => otel.shutdown(),
    );
    const guard = createResourceGuard(verifier, {
      dpop: { publicUrl: 'https://api.example.com', verifier: { replay: new MemoryStore() } },
    });
    const key = await ProofKey.create();
    const bound = (await issuer.issueSession({ id: 'u1' }, { dpop: { jkt: key.jkt } })).accessToken;
    const request = { method: 'GET', path: '/orders' };
    const instrumentation = instrument(verifier, otel.providers);
    assert.throws(() => instrument(verifier, otel.providers), /verifier is already instrumented/);

    // A bound token sent as Bearer, then as DPoP without its proof: two refusals, two events.
    assert.equal((await guard({ authorization: `Bearer ${bound}` }, request)).ok, false);
    assert.equal((await guard({ authorization: `DPoP ${bound}` }, request)).ok, false);
    await verifier.events.flush();
    let events = (await otel.metrics()).get('baton.events');
    const resource = { type: 'dpop_rejected', strategy: 'resource' };
    assert.equal(pointValue(events, { ...resource, reason: 'bearer_bound_token' }), 1);
    assert.equal(pointValue(events, { ...resource, reason: 'missing_proof' }), 1);
    // Declared at 0, so that the first refusal is already an increase; nothing a verifier never emits.
    assert.equal(pointValue(events, { ...resource, reason: 'key_mismatch' }), 0);
    assert.ok(events?.dataPoints.some((p) => p.attributes.reason === 'key_mismatch'));
    assert.ok(!events?.dataPoints.some((p) => p.attributes.type === 'login'));

    instrumentation.stop();
    assert.equal((await guard({ authorization: `Bearer ${bound}` }, request)).ok, false);
    await verifier.events.flush();
    events = (await otel.metrics()).get('baton.events');
    assert.equal(
      pointValue(events, { ...resource, reason: 'bearer_bound_token' }),
      1,
      'not counted after stop()',
    );
    instrument(verifier, otel.providers).stop();
  });

  it('options are checked like every options object', async () => {
    const h = await harness(memory);
    cleanups.push(() => h.close());
    assert.throws(
      () => instrument(h.manager, { meterProvider: {} as never }),
      /instrument options: meterProvider: must be an OpenTelemetry MeterProvider/,
    );
    assert.throws(
      () => instrument(h.manager, { tracerProvder: {} } as never),
      /tracerProvder: unknown option; did you mean tracerProvider\?/,
    );
  });
});

const WRONG_PASSWORD = 'not-his-password-either';
const REFRESH_KEY = 'refresh-key-that-must-never-be-recorded';

const designs = strategyDesigns(REFRESH_KEY, { jwt: { rotateRefreshTokens: true } });

/** Everything a backend would receive of the spans and metrics, as text. */
async function recorded(otel: ReturnType<typeof telemetry>): Promise<string[]> {
  const texts = otel.spans().map((span) =>
    JSON.stringify({
      name: span.name,
      attributes: span.attributes,
      status: span.status,
      events: span.events,
    }),
  );
  for (const metric of (await otel.metrics()).values()) {
    texts.push(JSON.stringify({ descriptor: metric.descriptor, points: metric.dataPoints }));
  }
  return texts;
}

for (const [name, design] of Object.entries(designs) as [StrategyName, (typeof designs)[StrategyName]][]) {
  describe(`baton-auth/otel records no secret: the ${name} strategy`, () => {
    it('login, failed login, refresh, theft, reauth, revoke, logout, logout-all, an outage: no token, secret or password in any span or metric', async () => {
      const otel = telemetry();
      const flaky = flakyStore();
      const kind: StoreKind = { name: 'flaky', make: () => ({ store: flaky.store, cleanup() {} }) };
      const h = await strategyHarness(kind, (base) => design(base) as never);
      const manager = h.manager as unknown as Parameters<typeof createAuthHandler>[0];
      const instrumentation = instrument(manager, otel.providers);
      const handler = createAuthHandler(manager);
      const secrets = new Secrets(['abides', WRONG_PASSWORD, REFRESH_KEY, DRIVER_PASSWORD]);
      try {
        const { send, login } = recordingClient(handler, secrets, flaky.store, 'otel-secrets/1.0');
        assert.equal(
          (await send('/auth/login', { username: 'thedude', password: WRONG_PASSWORD })).status,
          401,
        );
        const first = await login();
        assert.equal((await send('/auth/refresh', { refresh_token: first.refresh })).status, 200);
        if (name === 'rotating') {
          h.clock.advance(11);
          const reused = await send('/auth/refresh', { refresh_token: first.refresh });
          assert.equal(reused.body.error, 'refresh_token_reused');
        }
        const second = await login();
        manager.verifyAccessToken(second.access);
        assert.equal((await send('/auth/reauth', { password: 'abides' }, second.access)).status, 200);
        assert.equal((await send('/auth/revoke', { token: second.access })).status, 200);
        const third = await login();
        await send('/auth/logout', { refresh_token: third.refresh });
        const fourth = await login();
        await send('/auth/logout-all', {}, fourth.access);
        // Every strategy calls the store at logout (its session, or its token's revocation).
        const fifth = await login();
        flaky.setDown(true);
        assert.equal(
          (await send('/auth/logout', { refresh_token: fifth.refresh || fifth.access })).status,
          503,
        );
        flaky.setDown(false);
        await manager.events.flush();

        const texts = await recorded(otel);
        assert.ok(otel.spans().some((span) => span.name === 'baton.refresh'));
        secrets.assertNoneIn(texts, 11);
      } finally {
        instrumentation.stop();
        await h.close();
        await otel.shutdown();
      }
    });
  });
}

describe('Baton without @opentelemetry/api installed', () => {
  it('works as ever; only baton-auth/otel needs it, and says so', () => {
    const source = `
      import { generateSigningKey, MemoryStore, SessionManager } from 'baton-auth';
      const user = { id: '1', username: 'thedude' };
      const sessions = new SessionManager({
        issuer: 'https://baton.test', audience: 'baton-api',
        keys: [await generateSigningKey('HS256')], refreshKey: 'r'.repeat(32), store: new MemoryStore(),
        loadUser: () => user, verifyCredentials: (u, p) => (p === 'abides' ? user : null),
        onEvent: () => {},
      });
      const pair = await sessions.login('thedude', 'abides');
      const next = await sessions.refresh(pair.refreshToken);
      console.log(sessions.verifyAccessToken(next.accessToken).sub);
      await sessions.close();
      try {
        await import('baton-auth/otel');
        console.log('loaded');
      } catch (error) {
        console.log(error.code, error.message.split('\\n')[0]);
      }
    `;
    const result = runWithout(['@opentelemetry/api'], source);
    assert.equal(result.status, 0, result.stderr);
    const [sub, otel] = result.stdout.trim().split('\n');
    assert.equal(sub, '1');
    assert.match(otel ?? '', /^ERR_MODULE_NOT_FOUND Cannot find package '@opentelemetry\/api'/);
  });
});
