// The store's deadline and half-open connections, through a TCP proxy in front
// of the test Redis (test/support/tcp-proxy.ts): a slow network ends every
// call in a 503 at the deadline, never a hang; a silent one (blackholed, then
// half-open: the old connections stay dead while new ones pass) is detected
// (commands at the deadline, the revocation feed by its heartbeat) and
// replaced, and the revocations another process made meanwhile are applied.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HttpRequest } from '../../src/http/index.ts';
import { createAuthHandler } from '../../src/http/index.ts';
import type { SessionStore } from '../../src/index.ts';
import { BatonError, isBatonError } from '../../src/index.ts';
import { RedisStore, type RedisStoreOptions } from '../../src/stores/redis.ts';
import { raceManager } from '../fixtures/race-env.ts';
import { eventually, sharedSettings } from '../races/support.ts';
import { untilAvailable } from '../support/failover.ts';
import { deleteRedisKeys, REDIS_URL, redisSkip, uniqueName } from '../support/services.ts';
import { sessionRecord } from '../support/store-fixtures.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

const skip = await redisSkip();
const settings = await sharedSettings();
const prefix = `${uniqueName('baton-deadline')}:`;
const TIMEOUT_MS = 1000;
const USER = 'deadline-user';

function post(path: string, body: unknown): HttpRequest {
  return {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json' },
    query: new URLSearchParams(),
    body: JSON.stringify(body),
  };
}

/** Resolves with how long `call` took to fail with store_unavailable (Retry-After 1). */
async function unavailableAfter(call: Promise<unknown>): Promise<number> {
  const started = Date.now();
  await assert.rejects(call, (error: unknown) => {
    assert.ok(error instanceof BatonError, `expected store_unavailable, got ${String(error)}`);
    assert.equal(error.code, 'store_unavailable');
    assert.equal(error.retryAfter, 1);
    return true;
  });
  return Date.now() - started;
}

/** Retries `action` while it answers store_unavailable; how long until it worked. */
async function recoveredAfter<T>(what: string, action: () => Promise<T>, ms: number): Promise<[T, number]> {
  const started = Date.now();
  const value = await untilAvailable(what, action, ms, 50);
  return [value, Date.now() - started];
}

describe('RedisStore deadline and half-open connections (through a TCP proxy)', { skip }, () => {
  let proxy: TcpProxy;
  const url = () => `redis://${proxy.host}:${proxy.port}`;
  const open = (options: RedisStoreOptions = {}) =>
    new RedisStore({ url: url(), prefix, timeout: TIMEOUT_MS, ...options });

  before(async () => {
    const target = new URL(REDIS_URL);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
  });
  after(async () => {
    await proxy?.close();
    await deleteRedisKeys(prefix);
  });

  it('6 s of latency: every call is a 503 at the deadline, never later; then it recovers', {
    timeout: 30_000,
  }, async (t: TestContext) => {
    proxy.setMode('pass');
    const store = open();
    const byDefault = open({ timeout: undefined });
    const manager = raceManager(open(), settings);
    const handler = createAuthHandler(manager);
    try {
      await manager.ready;
      const pair = await manager.issueSession({ id: USER });
      const s = sessionRecord(Date.now(), 3_600_000);
      await store.createSession(s);
      assert.deepEqual(await byDefault.getSession(s.id), s);

      proxy.setMode({ delayMs: 6000 });
      const now = Date.now();
      const [defaultMs, ...elapsed] = await Promise.all([
        unavailableAfter(byDefault.getSession(s.id)),
        unavailableAfter(store.getSession(s.id)),
        unavailableAfter(store.createSession(sessionRecord(now, 3_600_000))),
        unavailableAfter(
          store.rotateSession({
            id: s.id,
            expectedGeneration: 0,
            expectedTokenHash: s.tokenHash,
            newTokenHash: 'next',
            now,
          }),
        ),
        unavailableAfter(
          store.revokeSessions({ userId: s.userId, reason: 'logout_all', now, revocationExpiresAt: now }),
        ),
        unavailableAfter(store.listRevocations(now)),
        unavailableAfter(manager.refresh(pair.refreshToken)),
        (async () => {
          const started = Date.now();
          const response = await handler(post('/auth/refresh', { refresh_token: pair.refreshToken }));
          assert.equal(response?.status, 503);
          assert.equal(response?.headers['retry-after'], '1');
          return Date.now() - started;
        })(),
      ]);
      t.diagnostic(
        `503 after ${elapsed.join(', ')} ms (timeout ${TIMEOUT_MS}); default timeout: ${defaultMs} ms`,
      );
      for (const ms of elapsed) {
        assert.ok(ms >= TIMEOUT_MS - 50 && ms < TIMEOUT_MS + 1000, `at the deadline: ${ms} ms`);
      }
      assert.ok(defaultMs >= 4950 && defaultMs < 6000, `the default deadline is 5 s: ${defaultMs} ms`);

      proxy.setMode('pass');
      const [session, ms] = await recoveredAfter(
        'the store answers again',
        () => store.getSession(s.id),
        10_000,
      );
      t.diagnostic(`answers again ${ms} ms after the latency went`);
      assert.equal(session?.id, s.id);
      // The timed-out calls are not sent again on the new connection: nothing they asked was applied.
      assert.deepEqual(await store.getSession(s.id), s);
    } finally {
      proxy.setMode('pass');
      await store.close();
      await byDefault.close();
      await manager.close();
    }
  });

  it('blackholed 5 s, then half-open: login and refresh recover within seconds, and a revocation made meanwhile is applied', {
    timeout: 40_000,
  }, async (t: TestContext) => {
    proxy.setMode('pass');
    proxy.cut();
    const faulty: SessionStore = open();
    const other = new RedisStore({ url: REDIS_URL, prefix });
    const manager = raceManager(faulty, settings);
    const elsewhere = raceManager(other, settings);
    // The feed is live once it delivered its first reload (listened for before it can happen).
    const feedLive = new Promise<void>((resolve) => {
      const stop = faulty.subscribeRevocations?.(() => {
        stop?.();
        resolve();
      });
    });
    try {
      await Promise.all([manager.ready, elsewhere.ready]);
      await Promise.race([
        feedLive,
        sleep(10_000).then(() => Promise.reject(new Error('the feed never came up'))),
      ]);
      const pair = await manager.issueSession({ id: USER });
      const victim = await manager.issueSession({ id: USER });
      const acceptedBefore = proxy.accepted;

      proxy.setMode('blackhole');
      const blackholedAt = Date.now();
      const refreshMs = await unavailableAfter(manager.refresh(pair.refreshToken));
      const loginMs = await unavailableAfter(manager.issueSession({ id: USER }));
      assert.ok(refreshMs < TIMEOUT_MS + 1000 && loginMs < TIMEOUT_MS + 1000, `${refreshMs}, ${loginMs} ms`);
      // Another process revokes a session meanwhile; this one cannot know yet.
      await elsewhere.revokeSession(USER, victim.sessionId);
      assert.equal(manager.verifyAccessToken(victim.accessToken).sid, victim.sessionId);

      await sleep(Math.max(0, blackholedAt + 5000 - Date.now()));
      proxy.setMode('half-open');
      const [renewed, refreshBackMs] = await recoveredAfter(
        'refresh works again',
        () => manager.refresh(pair.refreshToken),
        10_000,
      );
      const [, loginBackMs] = await recoveredAfter(
        'login works again',
        () => manager.issueSession({ id: USER }),
        10_000,
      );
      const [, revocationMs] = await recoveredAfter(
        'the revocation made while blackholed is applied',
        async () => {
          try {
            manager.verifyAccessToken(victim.accessToken);
            throw new BatonError('store_unavailable', 'not yet');
          } catch (error) {
            if (isBatonError(error) && error.code === 'token_revoked') return true;
            throw error;
          }
        },
        10_000,
      );
      t.diagnostic(
        `refresh back ${refreshBackMs} ms, login ${loginBackMs} ms, revocation applied ${revocationMs} ms ` +
          `after the network came back (half-open); ${proxy.accepted - acceptedBefore} new connections`,
      );
      assert.ok(refreshBackMs < 5000, `refresh back within seconds: ${refreshBackMs} ms`);
      assert.ok(proxy.accepted > acceptedBefore, 'the dead connections were replaced by new ones');
      assert.equal(manager.verifyAccessToken(renewed.accessToken).sid, pair.sessionId);
    } finally {
      proxy.setMode('pass');
      await manager.close();
      await elsewhere.close();
    }
  });

  it('every connection cut at once: calls and the feed come back by themselves', {
    timeout: 20_000,
  }, async () => {
    proxy.setMode('pass');
    const store = open();
    const other = new RedisStore({ url: REDIS_URL, prefix });
    try {
      const s = sessionRecord(Date.now(), 3_600_000);
      await store.createSession(s);
      const seen = new Set<string>();
      store.subscribeRevocations((list) => {
        for (const r of list) seen.add(r.id);
      });
      await eventually('the feed is up', () => (proxy.connections >= 2 ? true : undefined), 5000);
      proxy.cut();
      const jti = `jti-${Date.now()}`;
      await other.addRevocation({ kind: 'token', id: jti, expiresAt: Date.now() + 60_000 });
      await recoveredAfter('calls work again', () => store.getSession(s.id), 5000);
      await eventually('the feed reloaded what it missed', () => (seen.has(jti) ? true : undefined), 5000);
    } finally {
      await store.close();
      await other.close();
    }
  });
});
