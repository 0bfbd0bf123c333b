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
import { hashSecret, parseRefreshToken } from '../../src/sessions/refresh-token.ts';
import { RedisStore, type RedisStoreOptions } from '../../src/stores/redis.ts';
import { storeConformanceSuite } from '../../src/testing/index.ts';
import { raceManager } from '../fixtures/race-env.ts';
import { eventually, Load, sharedSettings } from '../races/support.ts';
import { startSentinel, type TestSentinel } from '../support/redis-servers.ts';
import { redisServerSkip } from '../support/services.ts';

const skip = await redisServerSkip();
const settings = await sharedSettings();
const PREFIX = 'baton-sentinel-test:';
const USER = 'sentinel-user';

/** Retries `action` while it answers store_unavailable, for at most `ms`. */
async function untilAvailable<T>(what: string, action: () => Promise<T>, ms: number): Promise<T> {
  return eventually(
    what,
    async () => {
      try {
        return await action();
      } catch (error) {
        if (isBatonError(error) && error.code === 'store_unavailable') return undefined;
        throw error;
      }
    },
    ms,
  );
}

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
    let load: Load | undefined;
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

      load = new Load(
        manager,
        chains.map((pair) => pair.refreshToken),
        40_000,
      );
      const running = load;
      await eventually(
        'the load is running',
        () => running.successes >= chains.length * 2 || undefined,
        15_000,
      );

      await setup.master.kill();
      const killedAt = Date.now();
      await assert.rejects(manager.refresh(probe.refreshToken), (error: unknown) => {
        assert.ok(isBatonError(error) && error.code === 'store_unavailable', String(error));
        assert.equal(error.retryAfter, 1);
        return true;
      });
      assert.equal(manager.verifyAccessToken(probe.accessToken).sid, probe.sessionId, 'verified from memory');

      // Another process revokes a session while the sentinels fail over.
      let answered503 = false;
      const revoking = untilAvailable(
        'the revocation during the failover',
        async () => {
          try {
            await elsewhere.revokeSession(USER, victim.sessionId);
          } catch (error) {
            // An attempt that answered 503 may have revoked it all the same (its reply was lost).
            if (!(answered503 && isBatonError(error) && error.code === 'not_found')) {
              answered503 ||= isBatonError(error) && error.code === 'store_unavailable';
              throw error;
            }
          }
          return true;
        },
        25_000,
      );
      const renewed = await untilAvailable(
        'refresh again',
        () => manager.refresh(probe.refreshToken),
        25_000,
      );
      const failoverMs = Date.now() - killedAt;
      await revoking;
      await eventually(
        'the revocation takes effect here',
        () => {
          try {
            manager.verifyAccessToken(victim.accessToken);
            return undefined;
          } catch (error) {
            assert.ok(isBatonError(error) && error.code === 'token_revoked', String(error));
            return true;
          }
        },
        10_000,
        20,
      );
      const revokedMs = Date.now() - killedAt;
      const newMaster = await setup.masterPort();
      assert.equal(newMaster, setup.replica.port, 'the sentinels promoted the replica');
      const successesAfter = running.successes;
      await eventually(
        'the load goes on',
        () => running.successes >= successesAfter + chains.length * 2 || undefined,
        15_000,
      );
      await load.stop();
      t.diagnostic(
        `refresh back ${failoverMs} ms after the kill, revocation applied by ${revokedMs} ms; ` +
          `${load.successes} refreshes, ${load.unavailable} store_unavailable over ` +
          `${load.lastUnavailableAt - load.firstUnavailableAt} ms`,
      );

      assert.deepEqual(load.errors, [], 'no caller saw an error other than store_unavailable');
      assert.ok(load.unavailable > 0, 'the load ran into the failover');
      for (const [i, token] of load.tokens.entries()) {
        const parsed = parseRefreshToken(token);
        const session = await other.getSession(parsed.sessionId);
        assert.ok(session, `chain ${i}: session kept`);
        assert.equal(session.generation, parsed.generation, `chain ${i}: the chain holds the current token`);
        assert.equal(session.tokenHash, hashSecret(parsed.secret), `chain ${i}`);
        assert.equal(session.revokedAt, null, `chain ${i}: not revoked`);
      }
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
