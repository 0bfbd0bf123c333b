// RedisStore on a real Redis Cluster this test starts itself (3 masters, 3
// replicas, on free ports in a temp dir; every process stopped by its PID):
// the conformance suite, keys spread over every shard with a user's keys in
// one slot, the revocation feed across processes from every shard, a master
// killed under load (503 for the seconds the failover takes, then recovery by
// itself, nothing lost, revocations made meanwhile applied), and a redis://
// URL that names a cluster node.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster } from 'ioredis';
import type { HttpRequest } from '../../src/http/index.ts';
import { createAuthHandler } from '../../src/http/index.ts';
import type { Revocation, TokenPair } from '../../src/index.ts';
import { isBatonError } from '../../src/index.ts';
import { RedisStore, type RedisStoreOptions } from '../../src/stores/redis.ts';
import { KeyLayout, keySlot } from '../../src/stores/redis-keys.ts';
import { storeConformanceSuite } from '../../src/testing/index.ts';
import { raceManager } from '../fixtures/race-env.ts';
import { eventually, sharedSettings } from '../races/support.ts';
import { Child } from '../support/child.ts';
import { FailoverLoad, revokeThroughFailover, untilAvailable, untilRevoked } from '../support/failover.ts';
import { startCluster, type TestCluster, withNode } from '../support/redis-servers.ts';
import { redisServerSkip } from '../support/services.ts';
import { isBatonError as isBatonErrorLike, sessionRecord } from '../support/store-fixtures.ts';

const skip = await redisServerSkip();
const settings = await sharedSettings();
const PREFIX = 'baton-cluster-test:';
const layout = new KeyLayout(PREFIX, true);
/** Sharded pub/sub takes milliseconds; this only bounds a slow machine. */
const PROPAGATION_BOUND_MS = 3000;

function post(path: string, body: unknown): HttpRequest {
  return {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json' },
    query: new URLSearchParams(),
    body: JSON.stringify(body),
  };
}

describe('RedisStore on a Redis Cluster (3 masters, 3 replicas)', { skip }, () => {
  let cluster: TestCluster;
  const open = (options: RedisStoreOptions = {}) =>
    new RedisStore({ url: cluster.url, prefix: PREFIX, ...options });

  /** One user id per master: `label-<n>` whose bucket that master serves. */
  async function usersPerMaster(label: string): Promise<Map<number, string>> {
    const masters = await cluster.masters();
    const users = new Map<number, string>();
    for (let n = 0; users.size < masters.length && n < 10_000; n++) {
      const user = `${label}-${n}`;
      const slot = keySlot(layout.keys(layout.userBucket(user)).revocations);
      const port = masters.find((m) => m.slots.some(([from, to]) => slot >= from && slot <= to))!.port;
      if (!users.has(port)) users.set(port, user);
    }
    return users;
  }

  before(
    async () => {
      cluster = await startCluster({ masters: 3, replicas: 1, nodeTimeoutMs: 1000 });
    },
    { timeout: 45_000 },
  );
  after(async () => {
    await cluster?.stop();
  });

  storeConformanceSuite('RedisStore on a cluster', () => open(), { describe, it, after });

  it("spreads users over every shard; a user's sessions, index and revocations share one slot", async () => {
    const prefix = `${PREFIX}spread:`;
    const store = open({ prefix });
    try {
      const now = Date.now();
      const users = Array.from({ length: 60 }, (_, i) => `spread-user-${i}`);
      const sessionsOf = new Map<string, string[]>();
      for (const userId of users) {
        for (let i = 0; i < 3; i++) {
          const s = sessionRecord(now, 3_600_000, { userId });
          await store.createSession(s);
          sessionsOf.set(userId, [...(sessionsOf.get(userId) ?? []), s.id]);
        }
      }
      const [revokedUser] = users as [string];
      await store.revokeSessions({
        userId: revokedUser,
        reason: 'logout_all',
        now,
        revocationExpiresAt: now + 60_000,
      });

      // What each master holds, read from the masters themselves; CLUSTER KEYSLOT says where each key belongs.
      const masters = await cluster.masters();
      const owner = (slot: number) =>
        masters.find((m) => m.slots.some(([from, to]) => slot >= from && slot <= to))?.port;
      const slotsOf = new Map<string, Set<number>>();
      const note = (userId: string, slot: number) =>
        slotsOf.set(userId, new Set([...(slotsOf.get(userId) ?? []), slot]));
      const sessionsPerMaster = new Map<number, number>();
      const userOfSession = new Map(
        [...sessionsOf].flatMap(([userId, ids]) => ids.map((id) => [id, userId])),
      );
      for (const { port } of masters) {
        await withNode(port, async (client) => {
          let cursor = '0';
          do {
            const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
            cursor = next;
            for (const key of keys) {
              const slot = Number(await client.call('CLUSTER', 'KEYSLOT', key));
              assert.equal(owner(slot), port, `${key} is on the master of its slot`);
              const session = /:s:(.+)$/.exec(key);
              const index = /:u:(.+)$/.exec(key);
              if (session) {
                note(userOfSession.get(session[1]!)!, slot);
                sessionsPerMaster.set(port, (sessionsPerMaster.get(port) ?? 0) + 1);
              } else if (index) {
                note(index[1]!, slot);
              } else if (key.endsWith(':r')) {
                for (const member of await client.zrange(key, '0', '-1')) {
                  note(userOfSession.get(member.replace(/^session:/, ''))!, slot);
                }
              } // else a session id's lookup, in a slot of its own
            }
          } while (cursor !== '0');
        });
      }
      assert.equal(masters.length, 3);
      for (const { port } of masters) {
        assert.ok((sessionsPerMaster.get(port) ?? 0) > 0, `master ${port} holds sessions`);
      }
      assert.equal(
        [...sessionsPerMaster.values()].reduce((a, b) => a + b, 0),
        users.length * 3,
      );
      assert.deepEqual([...slotsOf.keys()].sort(), [...users].sort(), 'every user found');
      for (const [userId, slots] of slotsOf) assert.equal(slots.size, 1, `${userId}: one slot`);
      const distinct = new Set([...slotsOf.values()].map((slots) => [...slots][0]));
      assert.ok(distinct.size > 40, `users spread over many slots (${distinct.size})`);
    } finally {
      await store.close();
    }
  });

  it('takes an ioredis Cluster client, and leaves it open', async () => {
    const client = new Cluster(
      cluster.url
        .replace('redis-cluster://', '')
        .split(',')
        .map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) })),
      { retryDelayOnFailover: 0 },
    );
    client.on('error', () => {});
    const store = new RedisStore({ client, prefix: PREFIX });
    const reader = open();
    try {
      const now = Date.now();
      const s = sessionRecord(now, 3_600_000);
      await store.createSession(s);
      assert.deepEqual(await reader.getSession(s.id), s);
      const delivered = new Promise<readonly Revocation[]>((resolve) => {
        reader.subscribeRevocations((list) => {
          if (list.some((r) => r.id === s.id)) resolve(list);
        });
      });
      await sleep(500); // the reader's feed subscribes to every master
      await store.revokeSessions({
        sessionId: s.id,
        reason: 'logout',
        now,
        revocationExpiresAt: now + 60_000,
      });
      assert.deepEqual(
        (await delivered).filter((r) => r.id === s.id),
        [{ kind: 'session', id: s.id, expiresAt: now + 60_000 }],
      );
      await store.close();
      assert.equal(await client.ping(), 'PONG');
      const replicaReads = new Cluster([], { lazyConnect: true, scaleReads: 'slave' });
      assert.throws(
        () => new RedisStore({ client: replicaReads }),
        isBatonErrorLike('invalid_options', /client: reads from replicas \(scaleReads\)/),
      );
      replicaReads.disconnect();
    } finally {
      await store.close();
      await reader.close();
      client.disconnect();
    }
  });

  it('a redis:// URL naming one node of the cluster: a 503 that names the URL to use', async (t: TestContext) => {
    const [first] = await cluster.masters();
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    const store = new RedisStore({ url: `redis://127.0.0.1:${first!.port}`, prefix: PREFIX, timeout: 2000 });
    try {
      // Users in other masters' slots: the node answers MOVED.
      const answers = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => store.listSessions(`moved-user-${i}`, Date.now())),
      );
      const refused = answers.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
      assert.ok(refused.length > 0, 'some keys are on other nodes');
      for (const { reason } of refused) {
        assert.ok(isBatonError(reason), String(reason));
        assert.equal(reason.code, 'store_unavailable');
        assert.match(reason.message, /Redis Cluster node \(it answered MOVED\)/);
        assert.match(reason.message, new RegExp(`use redis-cluster://127\\.0\\.0\\.1:${first!.port}`));
      }
      await eventually('the warning', () => (warnings.length > 0 ? true : undefined), 3000);
      assert.match(warnings[0]!, /redis_mode:cluster.*use redis-cluster:\/\//);
      t.diagnostic(refused[0]!.reason.message);
    } finally {
      process.off('warning', onWarning);
      await store.close();
    }
  });

  it('a logout in one process revokes the access token in another at once, from every shard', {
    timeout: 30_000,
  }, async (t: TestContext) => {
    const store = open();
    const manager = raceManager(store, settings);
    const child = new Child('redis-or-postgres-verifier.ts', ['redis', cluster.url, PREFIX], settings);
    try {
      await manager.ready;
      await child.take(/^ready$/, 20_000);
      const users = await usersPerMaster('propagation-user');
      assert.equal(users.size, 3);
      const times: number[] = [];
      for (const userId of users.values()) {
        const pair = await manager.issueSession({ id: userId });
        child.send(`verify ${pair.accessToken}`);
        assert.equal((await child.take(/^verified (\S+)$/))[1], 'ok');
        child.send(`await-revoked ${pair.accessToken} 10000`);
        await child.take(/^watching$/);
        await manager.logout(pair.accessToken);
        const [, elapsed] = await child.take(/^(?:revoked token_revoked (\d+)|still-valid)$/, 15_000);
        assert.ok(elapsed !== undefined, `${userId}: the child saw the revocation`);
        assert.ok(Number(elapsed) < PROPAGATION_BOUND_MS, `${userId}: took ${elapsed} ms`);
        times.push(Number(elapsed));
      }
      t.diagnostic(`propagation from each of the 3 shards: ${times.join(', ')} ms`);
    } finally {
      await child.stop();
      await manager.close();
    }
  });

  // Last: it leaves the cluster with a promoted replica and one node dead.
  it('a master SIGKILLed under load: 503 during the failover, then recovery by itself, nothing lost', {
    timeout: 45_000,
  }, async (t: TestContext) => {
    // The 503s of a failover come from refused connections and CLUSTERDOWN, not from the deadline.
    const faulty = open({ timeout: 3000 });
    const other = open({ timeout: 3000 });
    const manager = raceManager(faulty, settings);
    const elsewhere = raceManager(other, settings);
    const handler = createAuthHandler(manager);
    let load: FailoverLoad | undefined;
    try {
      await Promise.all([manager.ready, elsewhere.ready]);
      const users = await usersPerMaster('failover-user');
      const [doomedPort, doomedUser] = [...users][0]!;
      const chains: TokenPair[] = [];
      const victims = new Map<string, TokenPair>();
      const probes = new Map<string, TokenPair>();
      for (const userId of users.values()) {
        for (let i = 0; i < 4; i++) chains.push(await manager.issueSession({ id: userId }));
        victims.set(userId, await manager.issueSession({ id: userId }));
        probes.set(userId, await manager.issueSession({ id: userId }));
      }
      const before = new Map<string, string[]>();
      for (const userId of users.values()) {
        before.set(userId, (await manager.listSessions(userId)).map((s) => s.id).sort());
      }

      load = await FailoverLoad.start(manager, chains);

      // ---- the master of one user's bucket dies like a crashed host
      const doomed = cluster.nodes.find((node) => node.port === doomedPort);
      assert.ok(doomed?.alive, 'the doomed master is one of ours');
      await doomed.kill();
      const killedAt = Date.now();

      const probe = probes.get(doomedUser)!;
      const response = await handler(post('/auth/refresh', { refresh_token: probe.refreshToken }));
      assert.equal(response?.status, 503, 'refresh on the dead shard: 503');
      assert.equal(response?.headers['retry-after'], '1');
      assert.equal(JSON.parse(response?.body ?? '{}').error, 'store_unavailable');
      // Access tokens verify from memory meanwhile.
      assert.equal(manager.verifyAccessToken(probe.accessToken).sid, probe.sessionId);

      // Another process revokes one session per shard during the failover; the revocation on the
      // dead shard goes through once its replica has taken over.
      const revoking = Promise.all(
        [...victims].map(([userId, victim]) =>
          revokeThroughFailover(elsewhere, other, userId, victim.sessionId),
        ),
      );

      const renewed = await untilAvailable(
        'refresh on the dead shard',
        () => manager.refresh(probe.refreshToken),
        25_000,
      );
      const failoverMs = Date.now() - killedAt;
      await revoking;
      await untilRevoked(
        'every revocation made during the failover takes effect here',
        manager,
        [...victims.values()].map((victim) => victim.accessToken),
        10_000,
      );
      const revokedMs = Date.now() - killedAt;
      const summary = await load.finish();
      t.diagnostic(
        `refresh back ${failoverMs} ms after the kill, revocations applied by ${revokedMs} ms; ${summary}`,
      );
      await load.assertNothingLost(other);
      for (const userId of users.values()) {
        const now = (await manager.listSessions(userId)).map((s) => s.id).sort();
        assert.deepEqual(
          now,
          before.get(userId)!.filter((id) => id !== victims.get(userId)!.sessionId),
          `${userId}: no session lost or duplicated; the revoked one gone`,
        );
      }
      assert.equal((await manager.refresh(renewed.refreshToken)).sessionId, probe.sessionId);
      await cluster.waitHealthy(3, 10_000);
    } finally {
      await load?.stop();
      await manager.close();
      await elsewhere.close();
    }
  });
});
