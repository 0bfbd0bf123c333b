// Listeners never break nor delay a request: one that throws, rejects,
// sleeps or blocks runs after the answer, and its failure goes to the
// logger. Registration: at construction (onEvent), later (events.on, by
// type or for all), unsubscribing; a real pino logger fits the option.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import type { HttpRequest } from '../../src/http/index.ts';
import { createAuthHandler } from '../../src/http/index.ts';
import type { AuthEvent, AuthEventListener, BatonLogger, SessionManagerOptions } from '../../src/index.ts';
import { MemoryStore, SessionManager } from '../../src/index.ts';
import { RedisStore } from '../../src/stores/redis.ts';
import {
  harness,
  recordingLogger,
  rejectsWith,
  signingKey,
  storeKinds,
  type TestUser,
  Users,
} from './support.ts';

const memory = storeKinds.find((kind) => kind.name === 'memory')!;

function login(manager: SessionManager<TestUser>) {
  return manager.login('thedude', 'abides', { ip: '203.0.113.9', userAgent: 'listener-test' });
}

describe('event listeners', () => {
  const closing: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closing) await close();
  });
  const make = async (overrides: Partial<SessionManagerOptions<TestUser>> = {}) => {
    const h = await harness(memory, overrides);
    closing.push(() => h.close());
    return h;
  };

  it('a listener that throws: the request succeeds, the error goes to the logger, other listeners still get the event', async () => {
    const { logger, lines } = recordingLogger();
    const received: AuthEvent[] = [];
    const h = await make({
      logger,
      onEvent: [
        () => {
          throw new Error('listener bug');
        },
        (event) => void received.push(event),
      ],
    });
    const pair = await login(h.manager);
    assert.ok(pair.accessToken);
    await h.manager.events.flush();
    assert.deepEqual(
      received.map((e) => e.type),
      ['login'],
    );
    const failures = lines.filter((line) => line.level === 'error');
    assert.equal(failures.length, 1);
    const [failure] = failures;
    assert.ok(failure);
    assert.equal((failure.object.err as Error).message, 'listener bug');
    assert.equal(failure.object.event, 'login');
    assert.equal(failure.object.component, 'baton');
  });

  it('a listener that rejects: the request succeeds, the rejection goes to the logger (no unhandled rejection)', async () => {
    const { logger, lines } = recordingLogger();
    let unhandled: unknown;
    const onUnhandled = (reason: unknown) => {
      unhandled = reason;
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const h = await make({ logger, onEvent: async () => Promise.reject(new Error('listener down')) });
      await login(h.manager);
      await rejectsWith(h.manager.login('thedude', 'wrong'), 'invalid_credentials');
      await h.manager.events.flush();
      await new Promise((resolve) => setImmediate(resolve));
      const failures = lines.filter((line) => line.level === 'error');
      assert.deepEqual(
        failures.map((line) => line.object.event),
        ['login', 'login_failed'],
      );
      assert.equal(unhandled, undefined);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a listener that sleeps does not delay the request; flush waits for it', async () => {
    const sleepers: (() => void)[] = [];
    let finished = 0;
    const h = await make({
      onEvent: () =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 30_000);
          sleepers.push(() => {
            clearTimeout(timer);
            resolve();
          });
        }).then(() => {
          finished += 1;
        }),
    });
    const started = performance.now();
    await login(h.manager);
    const pair = await login(h.manager);
    await h.manager.refresh(pair.refreshToken);
    assert.ok(performance.now() - started < 5_000, 'three steps with a 30 s listener took seconds');
    // The listener is running (asleep) meanwhile: flush waits for it, and only for it.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(sleepers.length, 3);
    assert.equal(finished, 0);
    const flushed = h.manager.events.flush();
    for (const wake of sleepers) wake();
    await flushed;
    assert.equal(finished, 3);
  });

  it('a listener that blocks runs after the answer: the step has resolved before it starts', async () => {
    let ran = false;
    const h = await make({
      onEvent: () => {
        const until = performance.now() + 50;
        while (performance.now() < until) {
          // busy
        }
        ran = true;
      },
    });
    await login(h.manager);
    assert.equal(ran, false, 'the listener ran before login answered');
    await h.manager.events.flush();
    assert.equal(ran, true);
  });

  it('over HTTP: the response is complete before any listener runs, and a throwing listener changes nothing', async () => {
    const order: string[] = [];
    const h = await make({
      onEvent: () => {
        order.push('listener');
        throw new Error('listener bug');
      },
      logger: recordingLogger().logger,
    });
    const handler = createAuthHandler(h.manager);
    const req: HttpRequest = {
      method: 'POST',
      path: '/auth/login',
      headers: { 'content-type': 'application/json' },
      query: new URLSearchParams(),
      body: JSON.stringify({ username: 'thedude', password: 'abides' }),
      ip: '203.0.113.9',
    };
    const response = await handler(req);
    order.push('response');
    assert.equal(response?.status, 200);
    await h.manager.events.flush();
    assert.deepEqual(order, ['response', 'listener']);
  });

  it('a logger that throws too: still no failure reaches the request', async () => {
    const broken: BatonLogger = {
      debug() {
        throw new Error('logger down');
      },
      info() {
        throw new Error('logger down');
      },
      warn() {
        throw new Error('logger down');
      },
      error() {
        throw new Error('logger down');
      },
      child: () => broken,
    };
    const h = await make({
      logger: broken,
      onEvent: () => {
        throw new Error('listener bug');
      },
    });
    await login(h.manager);
    await h.manager.events.flush();
  });

  it('events.on: every event, or one type (typed); unsubscribe stops it; a bad type or listener is a TypeError', async () => {
    const h = await make();
    const all: string[] = [];
    const logins: string[] = [];
    const stopAll = h.manager.events.on((event) => void all.push(event.type));
    const stopLogins = h.manager.events.on('login', (event) => {
      // Typed as LoginEvent: `reason` is the login's.
      const reason: 'password' | 'issued' | 'client_token' = event.reason;
      logins.push(`${event.userId}:${reason}`);
    });
    const pair = await login(h.manager);
    await h.manager.refresh(pair.refreshToken);
    await h.manager.events.flush();
    assert.deepEqual(all, ['login', 'refresh']);
    assert.deepEqual(logins, ['u1:password']);
    stopLogins();
    await login(h.manager);
    await h.manager.events.flush();
    assert.deepEqual(logins, ['u1:password']);
    assert.deepEqual(all, ['login', 'refresh', 'login']);
    stopAll();
    stopAll(); // twice is harmless
    await login(h.manager);
    await h.manager.events.flush();
    assert.equal(all.length, 3);
    assert.throws(() => h.manager.events.on('logged_in' as 'login', () => {}), TypeError);
    assert.throws(() => h.manager.events.on('login', 'nope' as unknown as AuthEventListener), TypeError);
  });

  it('a listener added while an event is queued gets it; one removed before delivery does not', async () => {
    const h = await make();
    const early: string[] = [];
    const stop = h.manager.events.on((event) => void early.push(event.type));
    const late: string[] = [];
    const pending = login(h.manager);
    await pending;
    // Emitted and queued; delivery is on the next turn.
    stop();
    h.manager.events.on((event) => void late.push(event.type));
    await h.manager.events.flush();
    assert.deepEqual(early, []);
    assert.deepEqual(late, ['login']);
  });

  it('an exhaustive switch over the union compiles, and each type narrows to its own fields', async () => {
    const h = await make();
    const lines: string[] = [];
    h.manager.events.on((event) => {
      switch (event.type) {
        case 'login':
        case 'refresh':
        case 'refresh_grace_reuse':
        case 'reauth':
          lines.push(`${event.type} ${event.sessionId}`);
          break;
        case 'login_failed':
        case 'rate_limited':
          lines.push(`${event.type} ${event.username} ${event.step}`);
          break;
        case 'refresh_token_reused':
          lines.push(`${event.type} ${event.generation}/${event.currentGeneration}`);
          break;
        case 'session_revoked':
        case 'logout':
          lines.push(`${event.type} ${event.sessionId}`);
          break;
        case 'user_revoked':
        case 'logout_all':
          lines.push(`${event.type} ${event.count}`);
          break;
        case 'token_revoked':
          lines.push(`${event.type} ${event.tokenType}`);
          break;
        case 'store_unavailable':
          lines.push(`${event.type} ${event.operation}`);
          break;
        case 'dpop_rejected':
          lines.push(`${event.type} ${event.reason}`);
          break;
        default: {
          const unreachable: never = event;
          throw new Error(`unhandled ${JSON.stringify(unreachable)}`);
        }
      }
    });
    const pair = await login(h.manager);
    await h.manager.logoutAll(pair.accessToken);
    await h.manager.events.flush();
    assert.deepEqual(lines, [`login ${pair.sessionId}`, 'logout_all 1']);
  });

  it('a real pino logger fits the option: one JSON line per event, under `event`, with pino’s own time and level', async () => {
    const chunks: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString('utf8'));
        done();
      },
    });
    const logger: BatonLogger = pino({ level: 'debug' }, sink);
    const h = await make({ logger });
    const pair = await login(h.manager);
    await h.manager.logout(pair.refreshToken);
    await h.manager.events.flush();
    const lines = chunks
      .join('')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      lines.map((line) => (line.event as AuthEvent).type),
      ['login', 'logout'],
    );
    for (const line of lines) {
      assert.equal(line.level, 30);
      assert.equal(line.component, 'baton');
      assert.equal(typeof line.time, 'number');
      assert.match(String(line.msg), /^baton: (login|logout)$/);
    }
  });

  it('events of the initial load reach the listeners given at construction: a Redis store pointed at a closed port', async () => {
    const { logger, lines } = recordingLogger();
    const received: AuthEvent[] = [];
    const users = new Users();
    // A password in the URL: the event must not carry it.
    const store = new RedisStore({ url: 'redis://:hunter2-secret@127.0.0.1:1' });
    const manager = new SessionManager<TestUser>({
      issuer: 'https://baton.test',
      audience: 'baton-api',
      keys: [await signingKey()],
      refreshKey: 'r'.repeat(32),
      store,
      loadUser: users.load,
      verifyCredentials: users.verify,
      logger,
      onEvent: (event) => void received.push(event),
    });
    try {
      await rejectsWith(manager.ready, 'store_unavailable');
      await rejectsWith(manager.login('thedude', 'abides'), 'store_unavailable');
      await manager.events.flush();
      assert.ok(received.length >= 1);
      for (const event of received) {
        assert.equal(event.type, 'store_unavailable');
        assert.ok(event.type === 'store_unavailable' && event.operation === 'listRevocations');
        assert.equal(event.strategy, 'rotating');
      }
      const warnings = lines.filter((line) => line.level === 'warn');
      assert.equal(warnings.length, received.length);
      assert.doesNotMatch(JSON.stringify({ received, lines }), /hunter2/);
    } finally {
      await manager.close();
    }
  });

  it('no logger option: nothing is logged but errors (console.error, as before)', async () => {
    const h = await make({ onEvent: () => {} });
    const printed: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void printed.push(args);
    try {
      await login(h.manager);
      await h.manager.events.flush();
      assert.deepEqual(printed, []);
      h.manager.events.on(() => {
        throw new Error('listener bug');
      });
      await login(h.manager);
      await h.manager.events.flush();
    } finally {
      console.error = original;
    }
    assert.equal(printed.length, 1);
    assert.match(String(printed[0]?.[0]), /event listener failed/);
  });

  it('onEvent and logger are checked at construction', async () => {
    const base = {
      issuer: 'https://baton.test',
      audience: 'baton-api',
      keys: [await signingKey()],
      refreshKey: 'r'.repeat(32),
      store: new MemoryStore(),
      loadUser: () => null,
    };
    assert.throws(
      () => new SessionManager({ ...base, onEvent: 'log' as unknown as AuthEventListener }),
      /onEvent/,
    );
    assert.throws(() => new SessionManager({ ...base, logger: console as unknown as BatonLogger }), /logger/);
  });
});
