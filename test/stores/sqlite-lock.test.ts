// Another process holding the SQLite file's write lock must not stall this
// one. better-sqlite3 is synchronous: a lock wait inside SQLite (its busy
// handler) blocks the event loop, so protected routes, which need no store,
// stalled too (one measurement: up to 14.6 s with the lock held 20 s, and
// clients saw ECONNRESET instead of a 503; p99 186 ms with the lock held 200 ms
// of every 400 ms). SqliteStore waits on a timer instead: only store calls
// wait, and they end in 503 store_unavailable at the store's deadline.
//
// Each test serves a SessionManager on a SqliteStore over real HTTP (Hono),
// while a child process (test/fixtures/fault-sqlite-lock-holder.ts) holds the
// lock, and measures the event loop's delay (perf_hooks) and the answers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Hono } from 'hono';
import { createBaton } from '../../src/adapters/hono.ts';
import { createAuthHandler } from '../../src/http/index.ts';
import type { SessionManager } from '../../src/index.ts';
import { SqliteStore } from '../../src/stores/sqlite.ts';
import { raceManager } from '../fixtures/race-env.ts';
import { sharedSettings } from '../races/support.ts';
import { Child } from '../support/child.ts';
import { type Listening, serveHono } from '../support/listen.ts';

const settings = await sharedSettings();
const USER = 'lock-user';

interface Served {
  manager: SessionManager;
  http: Listening;
  path: string;
  close(): Promise<void>;
}

async function serve(timeout: number): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-sqlite-lock-'));
  const path = join(dir, 'baton.db');
  const manager = raceManager(new SqliteStore({ path, timeout }), settings);
  await manager.ready;
  const baton = createBaton(manager);
  const app = new Hono();
  app.use('*', baton.routes);
  app.get('/api/me', baton.requireAuth(), (c) => c.json({ user: c.get('auth').sub }));
  app.onError(baton.errorHandler);
  const http = await serveHono(app.fetch);
  // Warm up (fetch loads its HTTP client on first use; the routes' code gets compiled), so the loop is measured, not that.
  const pair = await manager.issueSession({ id: 'warm-up' });
  for (let i = 0; i < 20; i++) {
    await me(http.url, pair.accessToken);
    await refresh(http.url, (await manager.issueSession({ id: 'warm-up' })).refreshToken);
  }
  return {
    manager,
    http,
    path,
    async close() {
      await http.close();
      await manager.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Timed {
  status: number;
  ms: number;
  retryAfter: string | null;
  error: unknown;
}

/** One request; a network error (ECONNRESET...) fails the test with its cause. */
async function timed(url: string, init: RequestInit): Promise<Timed> {
  const started = performance.now();
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  const text = await response.text();
  return {
    status: response.status,
    ms: performance.now() - started,
    retryAfter: response.headers.get('retry-after'),
    error: text.startsWith('{') ? (JSON.parse(text) as { error?: unknown }).error : undefined,
  };
}

const refresh = (base: string, token: string) =>
  timed(`${base}/auth/refresh`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refresh_token: token }),
  });

const me = (base: string, token: string) =>
  timed(`${base}/api/me`, { headers: { authorization: `Bearer ${token}` } });

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** GETs the protected route every `everyMs` until `stop()`: the latencies. */
function pollProtected(base: string, token: string, everyMs: number) {
  const latencies: number[] = [];
  const statuses = new Set<number>();
  let stopped = false;
  const done = (async () => {
    for (let i = 0; i < 100_000 && !stopped; i++) {
      const reply = await me(base, token);
      latencies.push(reply.ms);
      statuses.add(reply.status);
      await sleep(everyMs);
    }
  })();
  return {
    latencies,
    statuses,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

const ms = (ns: number) => ns / 1e6;

describe('SQLite: another process holds the write lock', { concurrency: false }, () => {
  it('held past the deadline: refresh is 503 at the deadline, protected routes and the event loop stay fast', {
    timeout: 60_000,
  }, async (t: TestContext) => {
    const TIMEOUT = 1000;
    const served = await serve(TIMEOUT);
    const base = served.http.url;
    let holder: Child | undefined;
    const loop = monitorEventLoopDelay({ resolution: 5 });
    try {
      const pairs = await Promise.all(
        Array.from({ length: 4 }, () => served.manager.issueSession({ id: USER })),
      );
      const access = pairs[0]!.accessToken;
      holder = new Child('fault-sqlite-lock-holder.ts', [served.path], settings);
      await holder.take(/^locked$/, 30_000);

      loop.enable();
      const elu = performance.eventLoopUtilization();
      const poller = pollProtected(base, access, 10);
      // Two waves of refreshes, so that calls wait for the lock all the time.
      const first = await Promise.all(pairs.map((pair) => refresh(base, pair.refreshToken)));
      const second = await Promise.all(pairs.map((pair) => refresh(base, pair.refreshToken)));
      await poller.stop();
      const utilization = performance.eventLoopUtilization(elu).utilization;
      loop.disable();

      for (const reply of [...first, ...second]) {
        assert.equal(reply.status, 503, 'a 503, never a reset connection or a hang');
        assert.equal(reply.error, 'store_unavailable');
        assert.equal(reply.retryAfter, '1');
        assert.ok(
          reply.ms >= TIMEOUT - 5 && reply.ms < TIMEOUT + 1000,
          `answered after ${Math.round(reply.ms)} ms`,
        );
      }
      assert.deepEqual([...poller.statuses], [200]);
      const protectedP99 = percentile(poller.latencies, 99);
      const protectedMax = Math.max(...poller.latencies);
      const loopP99 = ms(loop.percentile(99));
      const loopMax = ms(loop.max);
      t.diagnostic(
        `lock held, timeout ${TIMEOUT} ms: refresh 503 after ${Math.round(Math.min(...first.map((r) => r.ms)))}-${Math.round(Math.max(...second.map((r) => r.ms)))} ms; ` +
          `protected route p50 ${percentile(poller.latencies, 50).toFixed(1)} ms, p99 ${protectedP99.toFixed(1)} ms, max ${protectedMax.toFixed(1)} ms (${poller.latencies.length} requests); ` +
          `event-loop delay p99 ${loopP99.toFixed(1)} ms, max ${loopMax.toFixed(1)} ms; event-loop utilization ${utilization.toFixed(2)}`,
      );
      // Waiting inside SQLite would have blocked the loop for the whole deadline (1000 ms) per call,
      // i.e. all the time. The bounds are loose: the test machine is shared.
      assert.ok(loopMax < 500, `event loop blocked for ${loopMax.toFixed(1)} ms`);
      assert.ok(utilization < 0.6, `event-loop utilization ${utilization.toFixed(2)}`);
      assert.ok(protectedP99 < 500, `protected route p99 ${protectedP99.toFixed(1)} ms`);

      // Released (the holder dies): the same token refreshes, nothing was rotated meanwhile.
      await holder.kill();
      const after = await refresh(base, pairs[0]!.refreshToken);
      assert.equal(after.status, 200);
    } finally {
      loop.disable();
      await holder?.kill();
      await served.close();
    }
  });

  // Without HTTP (the handler is called directly, refreshes go to the manager), so
  // that little else runs and the loop's figures are the store's.
  it('held 200 ms of every 400 ms: refreshes wait their turn, protected routes do not', {
    timeout: 60_000,
  }, async (t: TestContext) => {
    const served = await serve(5000);
    const handler = createAuthHandler(served.manager);
    let holder: Child | undefined;
    const loop = monitorEventLoopDelay({ resolution: 5 });
    try {
      const pairs = await Promise.all(
        Array.from({ length: 4 }, () => served.manager.issueSession({ id: USER })),
      );
      const access = pairs[0]!.accessToken;
      holder = new Child('fault-sqlite-lock-holder.ts', [served.path, 'cycle', '200', '400'], settings);
      await holder.take(/^locked$/, 30_000);

      loop.enable();
      const elu = performance.eventLoopUtilization();
      const protectedMs: number[] = [];
      const protectedStatuses = new Set<number>();
      const refreshMs: number[] = [];
      const until = performance.now() + 3000;
      await Promise.all([
        (async () => {
          while (performance.now() < until) {
            const started = performance.now();
            const response = await handler({
              method: 'GET',
              path: '/auth/me',
              headers: { authorization: `Bearer ${access}` },
              query: new URLSearchParams(),
            });
            protectedMs.push(performance.now() - started);
            protectedStatuses.add(response?.status ?? 0);
            await sleep(10);
          }
        })(),
        ...pairs.map(async (pair) => {
          let token = pair.refreshToken;
          while (performance.now() < until) {
            const started = performance.now();
            token = (await served.manager.refresh(token)).refreshToken;
            refreshMs.push(performance.now() - started);
            await sleep(20);
          }
        }),
      ]);
      const utilization = performance.eventLoopUtilization(elu).utilization;
      loop.disable();

      assert.deepEqual([...protectedStatuses], [200]);
      const loopMax = ms(loop.max);
      t.diagnostic(
        `lock held 200 of every 400 ms: ${refreshMs.length} refreshes (all went through), p50 ${percentile(refreshMs, 50).toFixed(1)} ms, max ${Math.max(...refreshMs).toFixed(1)} ms; ` +
          `protected route p50 ${percentile(protectedMs, 50).toFixed(2)} ms, p99 ${percentile(protectedMs, 99).toFixed(1)} ms (${protectedMs.length} requests); ` +
          `event-loop delay p99 ${ms(loop.percentile(99)).toFixed(1)} ms, max ${loopMax.toFixed(1)} ms; event-loop utilization ${utilization.toFixed(2)}`,
      );
      assert.ok(Math.max(...refreshMs) < 1500, 'a refresh waits about one hold, not more');
      // Waiting inside SQLite, the loop would be busy (blocked) about half of the time: each hold is 200 ms of 400.
      assert.ok(utilization < 0.3, `event-loop utilization ${utilization.toFixed(2)}`);
      assert.ok(loopMax < 500, `event loop blocked for ${loopMax.toFixed(1)} ms`);
    } finally {
      loop.disable();
      await holder?.kill();
      await served.close();
    }
  });
});
