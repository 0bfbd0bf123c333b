// PostgresStore behind a network that fails the way networks do, through a
// TCP proxy (test/support/tcp-proxy.ts) between the store and PostgreSQL:
//   - blackholed (every connection, old and new, swallows everything and stays
//     open), then half-open (the old connections stay dead, new ones pass):
//     calls end in 503 at the store's deadline meanwhile, recover by themselves
//     within seconds afterwards, the LISTEN connection is found dead by its
//     heartbeat and replaced, and a revocation another process made meanwhile
//     is applied (the reload on reconnect);
//   - +6 s of latency: every call ends in 503 at the deadline, never a hang.
// Another store, connected directly, plays the other process.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAuthHandler } from '../../src/http/index.ts';
import type { SessionManager } from '../../src/index.ts';
import { BatonError } from '../../src/index.ts';
import { PostgresStore } from '../../src/stores/postgres.ts';
import { raceManager } from '../fixtures/race-env.ts';
import { sharedSettings } from '../races/support.ts';
import { untilAvailable, untilRevoked } from '../support/failover.ts';
import { DATABASE_URL, dropSchema, postgresSkip, uniqueName } from '../support/services.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

const skip = await postgresSkip();
const settings = await sharedSettings();
const USER = 'deadline-user';
/** Short, so the test is too; the default is 5000. */
const TIMEOUT = 1000;

// node-postgres warns (once per process) when a query is queued behind another on
// one connection: what a heartbeat behind a dead query used to do.
const warnings: string[] = [];
process.on('warning', (warning) => warnings.push(warning.message));

/** How long `action` took to fail with store_unavailable (Retry-After 1). */
async function unavailableAfter(action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await assert.rejects(action(), (error: unknown) => {
    assert.ok(error instanceof BatonError, `expected store_unavailable, got ${String(error)}`);
    assert.equal(error.code, 'store_unavailable', error.message);
    assert.equal(error.retryAfter, 1);
    return true;
  });
  return performance.now() - started;
}

function assertAtDeadline(ms: number, what: string): void {
  // The deadline, not earlier (it did wait) and not much later (it did not hang).
  assert.ok(ms >= TIMEOUT - 20 && ms < TIMEOUT + 1500, `${what} failed after ${Math.round(ms)} ms`);
}

function post(path: string, body: unknown) {
  return {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json' },
    query: new URLSearchParams(),
    body: JSON.stringify(body),
  };
}

interface Env {
  proxy: TcpProxy;
  schema: string;
  faulty: PostgresStore;
  manager: SessionManager;
  elsewhere: SessionManager;
  close(): Promise<void>;
}

/** A manager on a store behind the proxy, and another process's (a direct store), on one new schema. */
async function setup(): Promise<Env> {
  const target = new URL(DATABASE_URL);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const schema = uniqueName('baton_deadline');
  const other = new PostgresStore({ connectionString: DATABASE_URL, schema });
  await other.migrate();
  const proxied = new URL(DATABASE_URL);
  proxied.hostname = proxy.host;
  proxied.port = String(proxy.port);
  const faulty = new PostgresStore({ connectionString: proxied.href, schema, timeout: TIMEOUT });
  const manager = raceManager(faulty, settings);
  const elsewhere = raceManager(other, settings);
  await Promise.all([manager.ready, elsewhere.ready]);
  // The feed is live once it has delivered its first reload.
  await new Promise<void>((resolve) => {
    const unsubscribe = faulty.subscribeRevocations(() => {
      unsubscribe();
      resolve();
    });
  });
  return {
    proxy,
    schema,
    faulty,
    manager,
    elsewhere,
    async close() {
      await manager.close();
      await elsewhere.close();
      await proxy.close();
      await dropSchema(schema);
    },
  };
}

describe('PostgresStore: deadlines and half-open connections', { skip, concurrency: true }, () => {
  let warningsBefore = 0;
  before(() => {
    warningsBefore = warnings.length;
  });
  after(() => {
    const queued = warnings.slice(warningsBefore).filter((w) => /already executing a query/.test(w));
    assert.deepEqual(queued, [], 'no query was queued behind another on one connection');
  });

  it('blackholed 5 s, then half-open: 503 at the deadline, recovery within seconds, missed revocations applied', {
    timeout: 60_000,
  }, async (t: TestContext) => {
    const env = await setup();
    const { manager, elsewhere, proxy } = env;
    const handler = createAuthHandler(manager);
    try {
      const probe = await manager.issueSession({ id: USER });
      const victim = await manager.issueSession({ id: USER });
      // Several idle pooled connections, all of which the blackhole will kill.
      await Promise.all(Array.from({ length: 6 }, () => manager.listSessions(USER)));
      const pooledBefore = proxy.connections;

      proxy.setMode('blackhole');
      const cutAt = performance.now();
      assertAtDeadline(await unavailableAfter(() => manager.refresh(probe.refreshToken)), 'refresh');
      assertAtDeadline(await unavailableAfter(() => manager.listSessions(USER)), 'listSessions');
      // A transaction (revocation) too.
      assertAtDeadline(
        await unavailableAfter(() =>
          env.faulty.revokeSessions({
            userId: 'nobody',
            reason: 'logout',
            now: Date.now(),
            revocationExpiresAt: Date.now() + 60_000,
          }),
        ),
        'revokeSessions',
      );
      const started = performance.now();
      const response = await handler(post('/auth/refresh', { refresh_token: probe.refreshToken }));
      assertAtDeadline(performance.now() - started, 'HTTP refresh');
      assert.equal(response?.status, 503);
      assert.equal(response?.headers['retry-after'], '1');
      // Access tokens keep verifying from memory.
      assert.equal(manager.verifyAccessToken(victim.accessToken).sid, victim.sessionId);

      // Another process revokes meanwhile: this one cannot hear of it now.
      await elsewhere.revokeSession(USER, victim.sessionId);
      // Calls keep failing at the deadline, never hanging, for the whole 5 s.
      let failures = 0;
      while (performance.now() - cutAt < 5000) {
        assertAtDeadline(await unavailableAfter(() => manager.listSessions(USER)), 'a call while blackholed');
        failures += 1;
      }
      assert.equal(manager.verifyAccessToken(victim.accessToken).sid, victim.sessionId, 'not known yet');

      // ---- new connections pass; the old ones (pooled, and the LISTEN one) stay dead for good.
      proxy.setMode('half-open');
      const openedAt = performance.now();
      const renewed = await untilAvailable(
        'refresh works again',
        () => manager.refresh(probe.refreshToken),
        10_000,
        50,
      );
      const callsBackMs = performance.now() - openedAt;
      await untilRevoked('the revocation made meanwhile applies', manager, [victim.accessToken], 10_000);
      const revocationBackMs = performance.now() - openedAt;
      t.diagnostic(
        `timeout ${TIMEOUT} ms; ${pooledBefore} connections through the proxy before the blackhole, ${failures} calls failed at the deadline during it; ` +
          `after it: calls back in ${Math.round(callsBackMs)} ms, the missed revocation applied in ${Math.round(revocationBackMs)} ms`,
      );
      // A call needs one new connection (no dead idle one is tried first); the feed needs
      // a heartbeat to fail (at most 2 x timeout), a reconnection and its reload.
      assert.ok(callsBackMs < 3000, `calls back after ${Math.round(callsBackMs)} ms`);
      assert.ok(revocationBackMs < 5000, `revocation applied after ${Math.round(revocationBackMs)} ms`);

      // The pool recovered whole: more calls at once than it has connections.
      const results = await Promise.all(Array.from({ length: 15 }, () => manager.listSessions(USER)));
      assert.equal(results.length, 15);
      const again = await handler(post('/auth/refresh', { refresh_token: renewed.refreshToken }));
      assert.equal(again?.status, 200);
    } finally {
      await env.close();
    }
  });

  it('+6 s latency: every call is 503 at the deadline, never a hang; they recover when it goes', {
    timeout: 60_000,
  }, async (t: TestContext) => {
    const env = await setup();
    const { manager, proxy } = env;
    try {
      const pair = await manager.issueSession({ id: USER });
      proxy.setMode({ delayMs: 6000 });
      const took = await Promise.all([
        unavailableAfter(() => manager.refresh(pair.refreshToken)),
        unavailableAfter(() => manager.listSessions(USER)),
        unavailableAfter(() => manager.revokeUser('someone-else')),
        unavailableAfter(() => manager.issueSession({ id: USER })),
      ]);
      for (const ms of took) assertAtDeadline(ms, 'a call at +6 s');
      // New connections are as slow: still the deadline.
      assertAtDeadline(
        await unavailableAfter(() => manager.listSessions(USER)),
        'a call on a new connection',
      );

      proxy.setMode('pass');
      const passAt = performance.now();
      await untilAvailable('calls work again', () => manager.refresh(pair.refreshToken), 10_000, 50);
      const backMs = performance.now() - passAt;
      t.diagnostic(
        `+6 s latency, timeout ${TIMEOUT} ms: calls failed after ${took.map((ms) => Math.round(ms)).join(', ')} ms; back ${Math.round(backMs)} ms after the latency went`,
      );
      assert.ok(backMs < 3000, `back after ${Math.round(backMs)} ms`);
    } finally {
      await env.close();
    }
  });

  it('the default deadline is 5 s, and close() does not wait for connections that went silent', {
    timeout: 60_000,
  }, async () => {
    const target = new URL(DATABASE_URL);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const schema = uniqueName('baton_deadline');
    const proxied = new URL(DATABASE_URL);
    proxied.hostname = proxy.host;
    proxied.port = String(proxy.port);
    const store = new PostgresStore({ connectionString: proxied.href, schema });
    try {
      await store.migrate();
      await Promise.all(Array.from({ length: 3 }, () => store.listRevocations(Date.now())));
      proxy.setMode('blackhole');
      const ms = await unavailableAfter(() => store.listRevocations(Date.now()));
      assert.ok(ms >= 4980 && ms < 7000, `failed after ${Math.round(ms)} ms`);
      const started = performance.now();
      await store.close();
      assert.ok(
        performance.now() - started < 3000,
        `closed in ${Math.round(performance.now() - started)} ms`,
      );
      await sleep(10);
    } finally {
      await store.close();
      await proxy.close();
      await dropSchema(schema);
    }
  });
});
