// Redis store URLs (one node, Cluster, Sentinel) and the cluster key layout,
// without a server: parsing, the messages for bad ones (never echoing a
// password), and the slot and bucket functions the stored data depends on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster } from 'ioredis';
import { isBatonError, parseStoreUrl, StoreUrlError } from '../../src/index.ts';
import { RedisStore } from '../../src/stores/redis.ts';
import { BUCKETS, bucketOf, KeyLayout, keySlot } from '../../src/stores/redis-keys.ts';
import { parseNatMapQuery, parseRedisTarget } from '../../src/stores/redis-url.ts';

describe('Redis store URLs', () => {
  it('parseStoreUrl takes redis-cluster:// and redis-sentinel:// with prefix and timeout in the query', () => {
    assert.deepEqual(parseStoreUrl('redis-cluster://10.0.0.1:7000,10.0.0.2:7001?prefix=shop:&timeout=2000'), {
      kind: 'redis',
      url: 'redis-cluster://10.0.0.1:7000,10.0.0.2:7001',
      options: { prefix: 'shop:', timeout: '2000' },
    });
    assert.deepEqual(parseStoreUrl('redis-sentinel://s1:26379,s2/mymaster?prefix=p:'), {
      kind: 'redis',
      url: 'redis-sentinel://s1:26379,s2/mymaster',
      options: { prefix: 'p:' },
    });
    assert.deepEqual(
      parseStoreUrl(
        'redis-cluster://203.0.113.7:30001?natMap=10.0.0.5:6379=203.0.113.7:30001,[fd00::6]:6379=nat:30002',
      ),
      {
        kind: 'redis',
        url: 'redis-cluster://203.0.113.7:30001',
        options: { natMap: '10.0.0.5:6379=203.0.113.7:30001,[fd00::6]:6379=nat:30002' },
      },
    );
    assert.deepEqual(parseNatMapQuery('10.0.0.5:6379=203.0.113.7:30001,[fd00::6]:6379=nat:30002'), {
      '10.0.0.5:6379': { host: '203.0.113.7', port: 30001 },
      'fd00::6:6379': { host: 'nat', port: 30002 },
    });
    assert.deepEqual(parseStoreUrl('redis://cache:6379/2?timeout=1500'), {
      kind: 'redis',
      url: 'redis://cache:6379/2',
      options: { timeout: '1500' },
    });
  });

  it('refuses unusable ones with a StoreUrlError that never shows the password', () => {
    const cases: [string, RegExp][] = [
      ['redis-cluster://', /needs host:port\[,host:port\.\.\.\] \(seed nodes\)/],
      ['redis-cluster://u:hunter2@h:7000/3', /takes no path/],
      ['redis-cluster://u:hunter2@h:7000?db=1', /its query takes only prefix, timeout and natMap/],
      [
        'redis-sentinel://u:hunter2@h:26379/m?natMap=a:1=b:2',
        /takes only prefix and timeout \(natMap is for redis-cluster:\/\/ URLs\)/,
      ],
      ['redis-cluster://u:hunter2@h:7000?natMap=10.0.0.5:6379', /natMap that is not announced=reachable/],
      ['redis-cluster://u:hunter2@h:7000?natMap=a:1=b:2,a:1=c:3', /natMap that maps a:1 twice/],
      ['redis-cluster://u:hunter2@h:7000?natMap=a:1=b:2&natMap=c:1=d:2', /gives natMap more than once/],
      ['redis-cluster://u:hunter2@h:7000?prefix=a&prefix=b', /gives prefix more than once/],
      ['redis://u:hunter2@h:6379?natMap=a:1=b:2', /natMap is for redis-cluster:\/\/ URLs/],
      ['redis://u:hunter2@h:6379?prefix=a&prefix=b', /gives prefix more than once/],
      ['postgres://u:hunter2@h/db?schema=a&schema=b', /gives schema more than once/],
      ['postgres://u:hunter2@h/db?tablePrefix=a&table_prefix=b', /gives tablePrefix more than once/],
      [
        'redis-sentinel://u:hunter2@h:26379',
        /needs the master name: redis-sentinel:\/\/host:port,\.\.\.\/MASTER_NAME/,
      ],
      ['redis-sentinel://h:26379/m/x', /database that is not a number/],
      ['redis-cluster://h:99999', /needs host:port/],
    ];
    for (const [url, message] of cases) {
      assert.throws(
        () => parseStoreUrl(url, { label: 'BATON_STORE' }),
        (error: unknown) => {
          assert.ok(error instanceof StoreUrlError, url);
          assert.match(error.message, message, url);
          assert.doesNotMatch(error.message, /hunter2/, url);
          return true;
        },
      );
    }
  });

  it('parses hosts, IPv6 in brackets, credentials, database and TLS', () => {
    assert.deepEqual(parseRedisTarget('rediss-cluster://app:p%40ss@[::1]:7000,node-2'), {
      kind: 'cluster',
      nodes: [
        { host: '::1', port: 7000 },
        { host: 'node-2', port: 6379 },
      ],
      tls: true,
      username: 'app',
      password: 'p@ss',
    });
    assert.deepEqual(parseRedisTarget('redis-sentinel://:secret@s1,s2:26380/my%20master/2'), {
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      name: 'my master',
      db: 2,
      tls: false,
      password: 'secret',
    });
    assert.deepEqual(parseRedisTarget('redis://h:1/0'), { kind: 'node', url: 'redis://h:1/0' });
  });

  it('RedisStore names the problem with a url, never the url', () => {
    assert.throws(
      () => new RedisStore({ url: 'redis-sentinel://admin:hunter2@h:26379' }),
      (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.equal(
          error.message,
          'Invalid RedisStore options: url: this redis-sentinel:// URL needs the master name: redis-sentinel://host:port,.../MASTER_NAME',
        );
        return true;
      },
    );
  });

  it("RedisStore's natMap: only for a redis-cluster:// URL, each entry checked at construction", () => {
    const url = 'redis-cluster://u:hunter2@127.0.0.1:7000';
    const refused = (options: object, message: string) =>
      assert.throws(
        () => new RedisStore(options as never),
        (error: unknown) => {
          assert.ok(isBatonError(error) && error.code === 'invalid_options', String(error));
          assert.equal(error.message, `Invalid RedisStore options: natMap: ${message}`);
          return true;
        },
      );
    refused({ url, natMap: {} }, 'is empty: leave it out, or map at least one announced address');
    refused(
      { url, natMap: [['10.0.0.5:6379', '1.2.3.4:1']] },
      "must be an object mapping announced 'host:port' to { host, port }, or a function (address) => { host, port } | null",
    );
    refused(
      { url, natMap: { '10.0.0.5:6379': '203.0.113.7:30001' } },
      'maps "10.0.0.5:6379" to something other than { host: string, port: 1-65535 }',
    );
    refused(
      { url, natMap: { '10.0.0.5:6379': { host: '203.0.113.7', port: 70000 } } },
      'maps "10.0.0.5:6379" to something other than { host: string, port: 1-65535 }',
    );
    refused(
      { url, natMap: { '10.0.0.5': { host: '203.0.113.7', port: 30001 } } },
      `has the key "10.0.0.5": keys are the addresses the cluster announces, 'host:port' (IPv6 without brackets, as CLUSTER SLOTS gives them)`,
    );
    refused(
      { url: 'redis://u:hunter2@127.0.0.1:6379', natMap: () => null },
      'is for a Redis Cluster (a redis-cluster:// URL): one server or Sentinel is reached at the address you give',
    );
    refused(
      { natMap: () => null },
      'is for a Redis Cluster (a redis-cluster:// URL): one server or Sentinel is reached at the address you give',
    );
    const client = new Cluster([{ host: '127.0.0.1', port: 7000 }], { lazyConnect: true });
    try {
      refused(
        { client, natMap: () => null },
        'goes with url; a client you build takes it in its own options: new Cluster(nodes, { natMap })',
      );
    } finally {
      client.disconnect();
    }
  });
});

describe('cluster key layout', () => {
  it('computes the slots Redis Cluster does (CRC16/XMODEM of the hash tag, mod 16384)', () => {
    // Vectors from the Redis Cluster specification and CLUSTER KEYSLOT.
    assert.equal(keySlot('123456789'), 0x31c3);
    assert.equal(keySlot('foo'), 12182);
    assert.equal(keySlot('{user1000}.following'), keySlot('{user1000}.followers'));
    assert.equal(keySlot('foo{}{bar}'), keySlot('foo{}{bar}'), 'an empty tag: the whole key');
    assert.equal(keySlot('foo{{bar}}zap'), keySlot('{bar'));
    assert.equal(keySlot('baton:{b17}:s:abc'), 1307);
  });

  it("puts a user's keys in one slot, a bucket of 1024, the same in every process and version", () => {
    const layout = new KeyLayout('app:', true);
    const bucket = layout.userBucket('alice');
    assert.ok(bucket !== null && bucket >= 0 && bucket < BUCKETS);
    // Part of the stored data's format: changing it would lose every session on a running cluster.
    assert.equal(bucketOf('u:alice'), 26);
    assert.equal(bucket, 26);
    const keys = layout.keys(bucket);
    assert.deepEqual(keys, {
      sessionPrefix: 'app:{b26}:s:',
      userPrefix: 'app:{b26}:u:',
      revocations: 'app:{b26}:r',
      channel: 'app:{b26}:revocations',
    });
    const slots = new Set(
      [`${keys.sessionPrefix}sid-1`, `${keys.userPrefix}alice`, keys.revocations, keys.channel].map(keySlot),
    );
    assert.equal(slots.size, 1);
    assert.equal(layout.lookupKey('sid-1'), 'app:i:sid-1');
    assert.equal(layout.bucketOfKey('app:{b26}:s:sid-1'), 26);
    assert.equal(layout.bucketOfKey('app:s:sid-1'), null);
  });

  it('spreads the buckets over the slot space', () => {
    const layout = new KeyLayout('baton:', true);
    const thirds = [0, 0, 0];
    for (const { keys } of layout.all()) thirds[Math.floor((keySlot(keys.revocations) * 3) / 16384)]! += 1;
    for (const count of thirds) assert.ok(count > 300 && count < 380, `${thirds}`);
  });

  it('keeps the standalone layout as it was', () => {
    const layout = new KeyLayout('baton:', false);
    assert.equal(layout.userBucket('alice'), null);
    assert.deepEqual(layout.keys(null), {
      sessionPrefix: 'baton:s:',
      userPrefix: 'baton:u:',
      revocations: 'baton:r',
      channel: 'baton:revocations',
    });
  });
});
