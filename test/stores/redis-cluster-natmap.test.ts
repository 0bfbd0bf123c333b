// RedisStore on a Redis Cluster behind address translation, on a cluster this
// test starts itself (3 masters on free ports in a temp dir, every process
// stopped by its PID). Each node announces (cluster-announce-port: CLUSTER
// SLOTS, MOVED) an address that this process cannot use: a TCP proxy that,
// once the cluster is created, takes connections and never answers, like a
// private address behind a NAT. This process reaches each node only through
// another proxy, on another port. Without natMap the store answers
// store_unavailable within its timeout, never hangs; with natMap (an object,
// a function, or the natMap query of a store URL) the conformance suite, login,
// refresh, logout and the revocation feed work, and no connection ever goes to
// an announced address.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { isBatonError, openStore } from '../../src/index.ts';
import { RedisStore, type RedisStoreOptions } from '../../src/stores/redis.ts';
import type { HostPort } from '../../src/stores/redis-url.ts';
import { storeConformanceSuite } from '../../src/testing/index.ts';
import { raceManager } from '../fixtures/race-env.ts';
import { sharedSettings } from '../races/support.ts';
import { untilRevoked } from '../support/failover.ts';
import { startCluster, type TestCluster } from '../support/redis-servers.ts';
import { redisServerSkip } from '../support/services.ts';
import { sessionRecord } from '../support/store-fixtures.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

const skip = await redisServerSkip();
const settings = await sharedSettings();
const PREFIX = 'baton-natmap-test:';
const TIMEOUT_MS = 1500;

describe('RedisStore on a Redis Cluster that announces unreachable addresses (natMap)', { skip }, () => {
  let cluster: TestCluster;
  /** The addresses the nodes announce: they reach the nodes only while the cluster is created. */
  const announced: TcpProxy[] = [];
  /** Where this process reaches the nodes. */
  const reached: TcpProxy[] = [];
  const natMap: Record<string, HostPort> = {};
  let seeds = '';
  const open = (options: RedisStoreOptions = {}) =>
    new RedisStore({ url: seeds, prefix: PREFIX, timeout: TIMEOUT_MS, ...options });
  const accepted = () => announced.reduce((sum, proxy) => sum + proxy.accepted, 0);

  before(
    async () => {
      cluster = await startCluster({
        masters: 3,
        replicas: 0,
        announcePort: async (port) => {
          const inside = await startTcpProxy({ host: '127.0.0.1', port });
          const outside = await startTcpProxy({ host: '127.0.0.1', port });
          announced.push(inside);
          reached.push(outside);
          natMap[`127.0.0.1:${inside.port}`] = { host: '127.0.0.1', port: outside.port };
          return inside.port;
        },
      });
      // From now on an announced address accepts connections and never answers (a silent
      // network: the worst case, a refused connection would fail faster).
      for (const proxy of announced) proxy.setMode('blackhole');
      seeds = `redis-cluster://${reached.map((proxy) => `127.0.0.1:${proxy.port}`).join(',')}`;
      const slots = await cluster.masters();
      assert.deepEqual(
        slots.map((m) => m.port).sort(),
        announced.map((p) => p.port).sort(),
        'CLUSTER SLOTS names the announced ports',
      );
    },
    { timeout: 45_000 },
  );
  after(async () => {
    await cluster?.stop();
    await Promise.all([...announced, ...reached].map((proxy) => proxy.close()));
  });

  storeConformanceSuite('RedisStore with natMap', () => open({ natMap }), { describe, it, after });

  it('without natMap: store_unavailable within the timeout, naming the unreachable node', async (t: TestContext) => {
    const store = open();
    try {
      for (const call of [
        () => store.createSession(sessionRecord(Date.now(), 60_000)),
        () => store.getSession('nobody'),
        () => store.listRevocations(Date.now()),
      ]) {
        const started = Date.now();
        await assert.rejects(call(), (error: unknown) => {
          assert.ok(isBatonError(error) && error.code === 'store_unavailable', String(error));
          assert.equal(error.retryAfter, 1);
          const named = /announces its masters as (\S+) \(CLUSTER SLOTS\).*give natMap$/.exec(error.message);
          assert.ok(named, error.message);
          assert.deepEqual(
            named[1]!.split(',').sort(),
            Object.keys(natMap).sort(),
            'the announced addresses',
          );
          t.diagnostic(error.message);
          return true;
        });
        const elapsed = Date.now() - started;
        assert.ok(elapsed < TIMEOUT_MS + 1000, `answered in ${elapsed} ms, within the timeout`);
      }
    } finally {
      await store.close();
    }
  });

  it('with natMap: login, refresh and logout in one process; the feed tells another at once', {
    timeout: 30_000,
  }, async (t: TestContext) => {
    const before = accepted();
    // The object form here, the function form there, the URL query form for the third.
    const store = open({ natMap });
    const other = open({ natMap: (address) => natMap[address] ?? null });
    const query = Object.entries(natMap)
      .map(([from, to]) => `${from}=${to.host}:${to.port}`)
      .join(',');
    const byUrl = await openStore(`${seeds}?prefix=${PREFIX}&timeout=${TIMEOUT_MS}&natMap=${query}`);
    const manager = raceManager(store, settings);
    const elsewhere = raceManager(other, settings);
    try {
      await Promise.all([manager.ready, elsewhere.ready]);
      // Users on every master (60 users spread over the 1024 buckets).
      const pairs = await Promise.all(
        Array.from({ length: 60 }, (_, i) => manager.issueSession({ id: `natmap-user-${i}` })),
      );
      const renewed = await Promise.all(pairs.map((pair) => elsewhere.refresh(pair.refreshToken)));
      assert.deepEqual(
        renewed.map((pair) => pair.sessionId),
        pairs.map((pair) => pair.sessionId),
      );
      assert.equal((await byUrl.getSession(pairs[0]!.sessionId))?.generation, 1, 'seen through the URL form');
      for (const pair of renewed)
        assert.equal(elsewhere.verifyAccessToken(pair.accessToken).sid, pair.sessionId);
      const started = Date.now();
      await Promise.all(renewed.map((pair) => manager.logout(pair.accessToken)));
      await untilRevoked(
        'every logout reaches the other process over the feed',
        elsewhere,
        renewed.map((pair) => pair.accessToken),
        5000,
      );
      t.diagnostic(`60 logouts on 3 shards seen by the other process within ${Date.now() - started} ms`);
      assert.equal(accepted(), before, 'no connection went to an announced address');
    } finally {
      await manager.close();
      await elsewhere.close();
      await byUrl.close();
    }
  });
});
