import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Revocation, SessionRecord } from '../../src/index.ts';
import { BatonError } from '../../src/index.ts';
import { RedisStore, type RedisStoreOptions, SESSION_RETENTION_MS } from '../../src/stores/redis.ts';
import { storeConformanceSuite } from '../../src/testing/index.ts';
import { createRedisUser, deleteRedisKeys, REDIS_URL, redisSkip, uniqueName } from '../support/services.ts';
import {
  assertOneProofIdWins,
  assertUnawareWhileCut,
  isBatonError,
  sessionRecord,
} from '../support/store-fixtures.ts';

const skip = await redisSkip();
const hooks = { describe, it, before, after, beforeEach, afterEach };
// Every store of this run shares one prefix, as the processes of one deployment would.
const prefix = `${uniqueName('baton-test')}:`;
const NOW = Date.now();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const open = (options: RedisStoreOptions = {}) => new RedisStore({ url: REDIS_URL, prefix, ...options });

function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return sessionRecord(NOW, 30 * DAY, overrides);
}

/** Resolves with the first delivery matching `wanted`, or rejects after `ms`. */
function nextDelivery(
  store: RedisStore,
  wanted: (revocations: readonly Revocation[]) => boolean,
  ms = 5000,
): { delivered: Promise<readonly Revocation[]>; stop: () => void } {
  let stop = () => {};
  const delivered = new Promise<readonly Revocation[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no matching delivery within ${ms} ms`)), ms);
    const unsubscribe = store.subscribeRevocations((revocations) => {
      if (!wanted(revocations)) return;
      clearTimeout(timer);
      resolve(revocations);
    });
    stop = () => {
      clearTimeout(timer);
      unsubscribe();
    };
  });
  return { delivered, stop };
}

describe('RedisStore', { skip }, () => {
  const admin = new Redis(REDIS_URL);
  after(async () => {
    await deleteRedisKeys(prefix);
    admin.disconnect();
  });

  storeConformanceSuite('RedisStore', () => open(), hooks);

  describe('options', () => {
    const bad: [string, unknown, RegExp][] = [
      ['an unknown key', { host: 'localhost' }, /host: unknown option; RedisStore takes it in url/],
      ['url and client', { url: REDIS_URL, client: admin }, /either url or client/],
      [
        'a url of another scheme',
        { url: 'http://localhost:6379' },
        /redis:\/\/, rediss:\/\/, redis-cluster:\/\//,
      ],
      ['a non-string url', { url: 6379 }, /redis:\/\/, rediss:\/\/, redis-cluster:\/\//],
      [
        'a sentinel url without the master name',
        { url: 'redis-sentinel://h:26379' },
        /needs the master name/,
      ],
      ['a cluster url with a path', { url: 'redis-cluster://h:7000/1' }, /takes no path/],
      ['a cluster url with a query', { url: 'redis-cluster://h:7000?prefix=x' }, /takes no query/],
      [
        'a cluster prefix with a hash tag of its own',
        { url: 'redis-cluster://h:7000', prefix: 'app{x}:' },
        /prefix: must not contain \{ or \} on a Redis Cluster/,
      ],
      ['a timeout that is not milliseconds', { timeout: '5s' }, /timeout: must be milliseconds/],
      ['a timeout too short to work', { timeout: 10 }, /timeout: must be milliseconds, an integer from 100/],
      [
        'ioredis option names',
        { commandTimeout: 100 },
        /commandTimeout: unknown option; RedisStore's is timeout/,
      ],
      ['a client that is not one', { client: { status: 'ready' } }, /ioredis Redis or Cluster instance/],
      ['an empty prefix', { prefix: '' }, /prefix: must be/],
      ['a prefix with spaces', { prefix: 'my app:' }, /prefix: must be/],
      ['options that are not an object', 'redis://localhost', /options must be an object/],
    ];
    for (const [label, options, message] of bad) {
      it(`rejects ${label} with invalid_options`, () => {
        assert.throws(
          () => new RedisStore(options as RedisStoreOptions),
          isBatonError('invalid_options', message),
        );
      });
    }

    it('rejects a client with a keyPrefix, which its scripts would not see', () => {
      const client = new Redis(REDIS_URL, { keyPrefix: 'app:', lazyConnect: true });
      try {
        assert.throws(() => new RedisStore({ client }), isBatonError('invalid_options', /keyPrefix/));
      } finally {
        client.disconnect();
      }
    });

    it('uses a given client and leaves it open on close', async () => {
      const client = new Redis(REDIS_URL);
      const store = new RedisStore({ client, prefix });
      const s = record();
      await store.createSession(s);
      assert.deepEqual(await store.getSession(s.id), s);
      await store.close();
      assert.equal(await client.ping(), 'PONG');
      await assert.rejects(store.getSession(s.id), isBatonError('store_unavailable'));
      client.disconnect();
    });
  });

  describe('key expiry', () => {
    it('a session key lives until a day after its absolute expiry; the user index as long', async () => {
      const store = open();
      try {
        const s = record({ expiresAt: NOW + HOUR });
        await store.createSession(s);
        const sessionTtl = await admin.pttl(`${prefix}s:${s.id}`);
        const indexTtl = await admin.pttl(`${prefix}u:${s.userId}`);
        const expected = HOUR + SESSION_RETENTION_MS;
        assert.ok(sessionTtl > expected - 60_000 && sessionTtl <= expected, `session ttl ${sessionTtl}`);
        assert.ok(indexTtl >= sessionTtl - 1000, `index ttl ${indexTtl}`);
      } finally {
        await store.close();
      }
    });

    it('revocation shortens the key to a day after the revocation', async () => {
      const store = open();
      try {
        const s = record({ expiresAt: NOW + 30 * DAY });
        await store.createSession(s);
        await store.revokeSessions({
          sessionId: s.id,
          reason: 'logout',
          now: NOW,
          revocationExpiresAt: NOW + 15 * 60_000,
        });
        const ttl = await admin.pttl(`${prefix}s:${s.id}`);
        assert.ok(ttl > SESSION_RETENTION_MS - 60_000 && ttl <= SESSION_RETENTION_MS, `ttl ${ttl}`);
        assert.equal((await store.getSession(s.id))?.revokedReason, 'logout', 'still readable');
      } finally {
        await store.close();
      }
    });

    it('a session that never expires has no TTL, nor has its index', async () => {
      const store = open();
      try {
        const mortal = record({ expiresAt: NOW + HOUR });
        const immortal = record({ userId: mortal.userId, expiresAt: null });
        await store.createSession(mortal);
        await store.createSession(immortal);
        assert.equal(await admin.pttl(`${prefix}s:${immortal.id}`), -1);
        assert.equal(await admin.pttl(`${prefix}u:${mortal.userId}`), -1);
        const later = record({ userId: mortal.userId, expiresAt: NOW + 2 * HOUR });
        await store.createSession(later);
        assert.equal(
          await admin.pttl(`${prefix}u:${mortal.userId}`),
          -1,
          'a later session does not shorten it',
        );
      } finally {
        await store.close();
      }
    });

    it('sessions Redis expired drop out of the index on the next list or sweep', async () => {
      const store = open();
      try {
        const user = `user-${randomUUID()}`;
        const kept = record({ userId: user });
        const dropped = record({ userId: user });
        await store.createSession(kept);
        await store.createSession(dropped);
        await admin.del(`${prefix}s:${dropped.id}`);
        assert.deepEqual(
          (await store.listSessions(user, NOW)).map((s) => s.id),
          [kept.id],
        );
        assert.deepEqual(await admin.zrange(`${prefix}u:${user}`, '0', '-1'), [kept.id]);

        const gone = record({ userId: user });
        await store.createSession(gone);
        await admin.del(`${prefix}s:${gone.id}`);
        await store.deleteExpired({ now: Date.UTC(2001, 0, 1), revokedBefore: Date.UTC(2000, 0, 1) });
        assert.deepEqual(await admin.zrange(`${prefix}u:${user}`, '0', '-1'), [kept.id]);
      } finally {
        await store.close();
      }
    });
  });

  describe('DPoP proof ids', () => {
    it("are one key each under the prefix, holding the expiry, with a TTL from Baton's times", async () => {
      const store = open();
      try {
        const id = 'c'.repeat(43);
        assert.equal(await store.rememberProofId(id, NOW + 90_000, NOW), true);
        assert.equal(await admin.get(`${prefix}p:${id}`), String(NOW + 90_000));
        const ttl = await admin.pttl(`${prefix}p:${id}`);
        assert.ok(ttl > 80_000 && ttl <= 90_000, `ttl ${ttl}`);
        assert.equal(await store.rememberProofId(id, NOW + HOUR, NOW + 1000), false);
        assert.ok((await admin.pttl(`${prefix}p:${id}`)) <= 90_000, 'a replay does not extend it');
      } finally {
        await store.close();
      }
    });

    it('two stores race 50 uses of one id over separate connections: exactly one is true', async () => {
      await assertOneProofIdWins(open(), open(), NOW, HOUR);
    });
  });

  describe('revocation feed', () => {
    it('revokeSessions and addRevocation reach another store at once, with the stored expiry', async () => {
      const writer = open();
      const reader = open();
      try {
        const s = record();
        await writer.createSession(s);
        const loaded = nextDelivery(reader, () => true);
        await loaded.delivered; // the initial reload: subscribed from here on
        loaded.stop();

        const session = nextDelivery(reader, (list) => list.some((r) => r.id === s.id));
        await writer.addRevocation({ kind: 'session', id: s.id, expiresAt: NOW + DAY });
        await writer.revokeSessions({
          sessionId: s.id,
          reason: 'logout',
          now: NOW,
          revocationExpiresAt: NOW + HOUR,
        });
        assert.deepEqual(await session.delivered, [{ kind: 'session', id: s.id, expiresAt: NOW + DAY }]);
        session.stop();

        const jti = `jti-${randomUUID()}`;
        const token = nextDelivery(reader, (list) => list.some((r) => r.id === jti));
        await writer.addRevocation({ kind: 'token', id: jti, expiresAt: NOW + HOUR });
        assert.deepEqual(await token.delivered, [{ kind: 'token', id: jti, expiresAt: NOW + HOUR }]);
        token.stop();
      } finally {
        await writer.close();
        await reader.close();
      }
    });

    it('after its connection is killed it reconnects and reloads what it missed', {
      timeout: 30000,
    }, async () => {
      // The reader logs in as a user of its own, so that it alone can be cut off and kept off.
      const user = await createRedisUser();
      const writer = open();
      const reader = open({ url: user.url });
      try {
        const first = nextDelivery(reader, () => true);
        await first.delivered;
        first.stop();

        await user.setEnabled(false);
        assert.equal(await user.killSubscribers(), 1, 'the reader had one subscriber connection');
        const jti = `jti-${randomUUID()}`;
        const reload = nextDelivery(reader, (list) => list.some((r) => r.id === jti), 10000);
        await writer.addRevocation({ kind: 'token', id: jti, expiresAt: Date.now() + HOUR });
        const [, receivers] = (await admin.pubsub('NUMSUB', writer.channel)) as [string, number];
        assert.equal(receivers, 0, 'published while nobody listened');
        await assertUnawareWhileCut(reader, jti);
        await user.setEnabled(true);
        assert.ok((await reload.delivered).some((r) => r.id === jti));
        reload.stop();
      } finally {
        await writer.close();
        await reader.close();
        await user.remove();
      }
    });
  });

  describe('unavailable Redis', () => {
    it('answers store_unavailable with retryAfter 1, quickly', { timeout: 30000 }, async () => {
      // Nothing listens on port 1.
      const store = new RedisStore({ url: 'redis://127.0.0.1:1', prefix });
      try {
        const started = Date.now();
        await assert.rejects(store.getSession('x'), (error: unknown) => {
          assert.ok(error instanceof BatonError);
          assert.equal(error.code, 'store_unavailable');
          assert.equal(error.retryAfter, 1);
          return true;
        });
        assert.ok(Date.now() - started < 7000, 'bounded wait');
        // Once it has failed, further calls do not queue up behind a dead socket either.
        await assert.rejects(store.listRevocations(NOW), isBatonError('store_unavailable'));
      } finally {
        await store.close();
      }
    });

    it('a closed store answers store_unavailable and closes only once', async () => {
      const store = open();
      await store.close();
      await store.close();
      await assert.rejects(store.getSession('x'), isBatonError('store_unavailable', /closed/));
    });
  });
});
