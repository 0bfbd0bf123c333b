// RedisStore through Redis Sentinel, on a setup this test starts itself (one
// master, one replica, three sentinels with a short down-after, on free ports
// in a temp dir; every process stopped by its PID): the conformance suite, the
// master killed under load (503 while the sentinels fail over, then the store
// follows the new master by itself; nothing lost; a revocation made meanwhile
// applied), and the URLs that name the wrong kind of server.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { TokenPair } from '../../src/index.ts';
import { isBatonError } from '../../src/index.ts';
import { RedisStore, type RedisStoreOptions } from '../../src/stores/redis.ts';
import { storeConformanceSuite } from '../../src/testing/index.ts';
import { raceManager } from '../fixtures/race-env.ts';
import { eventually, sharedSettings } from '../races/support.ts';
import { FailoverLoad, revokeThroughFailover, untilAvailable, untilRevoked } from '../support/failover.ts';
import { startSentinel, type TestSentinel } from '../support/redis-servers.ts';
import { redisServerSkip } from '../support/services.ts';

const skip = await redisServerSkip();
const settings = await sharedSettings();
const PREFIX = 'baton-sentinel-test:';
const USER = 'sentinel-user';

describe('RedisStore through Redis Sentinel (1 master, 1 replica, 3 sentinels)', { skip }, () => {
  let setup: TestSentinel;
  const open = (options: RedisStoreOptions = {}) =>
    new RedisStore({ url: setup.url, prefix: PREFIX, ...options });

  before(
    async () => {
      setup = await startSentinel({ downAfterMs: 1000 });
    },
    { timeout: 40_000 },
  );
  after(async () => {
    await setup?.stop();
  });

  storeConformanceSuite('RedisStore through Sentinel', () => open(), { describe, it, after });

  it('URLs that name the wrong kind of server: a 503 that names the URL to use', async () => {
    const sentinelPort = setup.sentinels[0]!.port;
    const asNode = new RedisStore({
      url: `redis://127.0.0.1:${sentinelPort}`,
      prefix: PREFIX,
      timeout: 2000,
    });
    const asCluster = new RedisStore({
      url: `redis-cluster://127.0.0.1:${setup.master.port}`,
      prefix: PREFIX,
      timeout: 2000,
    });
    try {
      await eventually(
        'the sentinel is recognised',
        async () => {
          try {
            await asNode.getSession('x');
            return undefined;
          } catch (error) {
            assert.ok(isBatonError(error) && error.code === 'store_unavailable', String(error));
            return /Redis Sentinel/.test(error.message) ? error.message : undefined;
          }
        },
        5000,
      ).then((message) => {
        assert.match(message, new RegExp(`use redis-sentinel://127\\.0\\.0\\.1:${sentinelPort}/MASTER_NAME`));
      });
      await assert.rejects(asCluster.getSession('x'), (error: unknown) => {
        assert.ok(isBatonError(error) && error.code === 'store_unavailable', String(error));
        assert.match(
          error.message,
          /not a Redis Cluster \(cluster support disabled\): use redis:\/\/127\.0\.0\.1:/,
        );
        return true;
      });
    } finally {
      await asNode.close();
      await asCluster.close();
    }
  });

  // Last: it leaves the replica as the master and the old master dead.
  it('the master SIGKILLed under load: 503 during the failover, then the store follows the new master', {
    timeout: 45_000,
  }, async (t: TestContext) => {
    // The 503s of a failover come from refused connections, not from the deadline.
    const faulty = open({ timeout: 3000 });
    const other = open({ timeout: 3000 });
    const manager = raceManager(faulty, settings);
    const elsewhere = raceManager(other, settings);
    let load: FailoverLoad | undefined;
    try {
      await Promise.all([manager.ready, elsewhere.ready]);
      const seen = new Set<string>();
      faulty.subscribeRevocations((list) => {
        for (const r of list) seen.add(r.id);
      });
      const chains: TokenPair[] = [];
      for (let i = 0; i < 8; i++) chains.push(await manager.issueSession({ id: USER }));
      const probe = await manager.issueSession({ id: USER });
      const victim = await manager.issueSession({ id: USER });
      const before = (await manager.listSessions(USER)).map((s) => s.id).sort();
      const oldMaster = setup.master.port;
      assert.equal(await setup.masterPort(), oldMaster);

      load = await FailoverLoad.start(manager, chains);

      await setup.master.kill();
      const killedAt = Date.now();
      await assert.rejects(manager.refresh(probe.refreshToken), (error: unknown) => {
        assert.ok(isBatonError(error) && error.code === 'store_unavailable', String(error));
        assert.equal(error.retryAfter, 1);
        return true;
      });
      assert.equal(manager.verifyAccessToken(probe.accessToken).sid, probe.sessionId, 'verified from memory');

      // Another process revokes a session while the sentinels fail over.
      const revoking = revokeThroughFailover(elsewhere, other, USER, victim.sessionId);
      const renewed = await untilAvailable(
        'refresh again',
        () => manager.refresh(probe.refreshToken),
        25_000,
      );
      const failoverMs = Date.now() - killedAt;
      await revoking;
      await untilRevoked('the revocation takes effect here', manager, [victim.accessToken], 10_000);
      const revokedMs = Date.now() - killedAt;
      const newMaster = await setup.masterPort();
      assert.equal(newMaster, setup.replica.port, 'the sentinels promoted the replica');
      const summary = await load.finish();
      t.diagnostic(
        `refresh back ${failoverMs} ms after the kill, revocation applied by ${revokedMs} ms; ${summary}`,
      );
      await load.assertNothingLost(other);
      assert.deepEqual(
        (await manager.listSessions(USER)).map((s) => s.id).sort(),
        before.filter((id) => id !== victim.sessionId),
        'no session lost or duplicated; the revoked one gone',
      );
      assert.ok(seen.has(victim.sessionId), "the store's own feed follows the new master too");
      assert.equal((await manager.refresh(renewed.refreshToken)).sessionId, probe.sessionId);
    } finally {
      await load?.stop();
      await manager.close();
      await elsewhere.close();
    }
  });
});
