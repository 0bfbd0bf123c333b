/**
 * Bytes per session in each store, for sizing (docs/scaling-out.md):
 *   node --import tsx bench/sizing.ts [sessions=10000]
 * Opens each store empty (SQLite: a temp file; Redis and PostgreSQL under a
 * key prefix / schema of their own at REDIS_URL / DATABASE_URL, deleted
 * afterwards; skipped with the reason when unreachable), logs `sessions`
 * sessions in through a SessionManager (1000 users, a browser user agent and
 * an IP per session: what a login writes), then logs out a tenth of them, and
 * prints the bytes each session and each revocation added:
 * - SQLite: the file's pages (page_count × page_size, after a WAL checkpoint);
 * - Redis: the sum of `MEMORY USAGE key SAMPLES 0` over every key under the
 *   prefix (what the keys hold, exact; `INFO used_memory` would count the other
 *   tenants of a shared server too);
 * - Redis Cluster: a cluster of its own (3 masters, 1 replica each, started
 *   with test/support/redis-servers.ts on free ports, stopped afterwards): the
 *   same sum, over every master's keys; the replicas' sum (the same keys
 *   again, once each master's replica has caught up) is printed after the
 *   table;
 * - PostgreSQL: pg_total_relation_size (heap, TOAST and indexes) of the
 *   schema's tables, after VACUUM.
 * `--only <name>` (sqlite, redis, redis-cluster, postgres) measures one store.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SessionManager } from '../src/index.ts';
import type { BatonUser } from '../src/sessions/types.ts';
import { SqliteStore } from '../src/stores/sqlite.ts';
import type { SessionStore } from '../src/stores/types.ts';
import { hsFixtureFromText, managerFor } from './lib/fixtures.ts';
import { DATABASE_URL, REDIS_URL } from './lib/stores.ts';

const args = process.argv.slice(2);
const onlyAt = args.indexOf('--only');
const only = onlyAt < 0 ? undefined : args.splice(onlyAt, 2)[1];
const count = Number(args[0] ?? 10_000);
const USER_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

interface Sizer {
  name: string;
  store: SessionStore;
  bytes(): Promise<number>;
  /** The same keys on the replicas, once they have caught up (a cluster). */
  replicaBytes?(): Promise<number>;
  cleanup(): Promise<void>;
}

type RedisClient = import('ioredis').Redis;

/** The keys under `prefix` on one server. */
async function keysOf(client: RedisClient, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== '0');
  return found;
}

/** The sum of `MEMORY USAGE key SAMPLES 0` over the keys under `prefix` on one server. */
async function memoryUsage(client: RedisClient, prefix: string): Promise<number> {
  const keys = await keysOf(client, prefix);
  let total = 0;
  for (let i = 0; i < keys.length; i += 1000) {
    const pipeline = client.pipeline();
    for (const key of keys.slice(i, i + 1000)) pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
    for (const [error, bytes] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      total += Number(bytes ?? 0);
    }
  }
  return total;
}

async function fill(manager: SessionManager<BatonUser>, sessions: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let start = 0; start < sessions; start += 200) {
    const batch = Array.from({ length: Math.min(200, sessions - start) }, (_, i) => {
      const n = start + i;
      return manager.issueSession(
        { id: `user-${String(n % 1000).padStart(6, '0')}`, roles: ['user'] },
        { userAgent: USER_AGENT, ip: `10.0.${(n >> 8) & 255}.${n & 255}` },
      );
    });
    for (const pair of await Promise.all(batch)) tokens.push(pair.accessToken);
  }
  return tokens;
}

async function sqlite(): Promise<Sizer> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-sizing-'));
  const store = new SqliteStore({ path: join(dir, 'sizing.db') });
  return {
    name: 'SQLite',
    store,
    async bytes() {
      const db = store.database;
      db.pragma('wal_checkpoint(TRUNCATE)');
      const pages = db.pragma('page_count', { simple: true }) as number;
      const size = db.pragma('page_size', { simple: true }) as number;
      const free = db.pragma('freelist_count', { simple: true }) as number;
      return (pages - free) * size;
    },
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function redis(): Promise<Sizer> {
  const { Redis } = await import('ioredis');
  const { RedisStore } = await import('../src/stores/redis.ts');
  const prefix = `baton-sizing:${randomBytes(6).toString('hex')}:`;
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true, connectTimeout: 2000 });
  client.on('error', () => {});
  await client.connect();
  const store = new RedisStore({ url: REDIS_URL, prefix });
  return {
    name: 'Redis',
    store,
    bytes: () => memoryUsage(client, prefix),
    async cleanup() {
      await store.close();
      const found = await keysOf(client, prefix);
      for (let i = 0; i < found.length; i += 500) await client.unlink(...found.slice(i, i + 500));
      client.disconnect();
    },
  };
}

async function redisCluster(): Promise<Sizer> {
  const { RedisStore } = await import('../src/stores/redis.ts');
  const support = await import('../test/support/redis-servers.ts');
  support.checkRedisBinaries();
  const cluster = await support.startCluster({ masters: 3, replicas: 1 });
  const prefix = 'baton-sizing:';
  const store = new RedisStore({ url: cluster.url, prefix });
  const sumOver = async (ports: number[], replicas = false) => {
    let total = 0;
    for (const port of ports) {
      total += await support.withNode(port, async (c) => {
        // A replica answers key commands of its master's slots only after READONLY.
        if (replicas) await c.call('READONLY');
        return memoryUsage(c, prefix);
      });
    }
    return total;
  };
  const masterPorts = async () => (await cluster.masters()).map((m) => m.port);
  return {
    name: 'Redis Cluster',
    store,
    bytes: async () => sumOver(await masterPorts()),
    async replicaBytes() {
      const masters = await masterPorts();
      const replicas = cluster.nodes.map((n) => n.port).filter((port) => !masters.includes(port));
      // Each master's replica has applied everything the master has.
      await support.waitUntil(
        'the replicas catch up',
        async () => {
          for (const port of masters) {
            const info = await support.withNode(port, (c) => c.info('replication'));
            const offset = /master_repl_offset:(\d+)/.exec(info)?.[1];
            const acked = [...info.matchAll(/slave\d+:.*offset=(\d+)/g)].map((m) => m[1]);
            if (acked.length === 0 || acked.some((o) => o !== offset)) return false;
          }
          return true;
        },
        20_000,
      );
      return sumOver(replicas, true);
    },
    async cleanup() {
      await store.close();
      await cluster.stop();
    },
  };
}

async function postgres(): Promise<Sizer> {
  const { default: pg } = await import('pg');
  const { PostgresStore } = await import('../src/stores/postgres.ts');
  const schema = `baton_sizing_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  await client.connect();
  const store = new PostgresStore({ connectionString: DATABASE_URL, schema });
  return {
    name: 'PostgreSQL',
    store,
    async bytes() {
      await client.query(`VACUUM ANALYZE "${schema}".baton_sessions`);
      await client.query(`VACUUM ANALYZE "${schema}".baton_revocations`);
      const { rows } = await client.query<{ bytes: string }>(
        `SELECT sum(pg_total_relation_size(c.oid))::bigint AS bytes
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relkind = 'r'`,
        [schema],
      );
      return Number(rows[0]?.bytes ?? 0);
    },
    async cleanup() {
      await store.close();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    },
  };
}

const fixture = await hsFixtureFromText(randomBytes(32).toString('hex'));
console.log(`${count} sessions (1000 users), then ${count / 10} of them logged out\n`);
console.log('| store | bytes per session | bytes per revoked session (added by the logout) |');
console.log('| --- | --- | --- |');
const sizers = { sqlite, redis, 'redis-cluster': redisCluster, postgres };
if (only !== undefined && !(only in sizers))
  throw new Error(`--only takes ${Object.keys(sizers).join(', ')}`);
const notes: string[] = [];
for (const [key, open] of Object.entries(sizers)) {
  if (only !== undefined && key !== only) continue;
  let sizer: Sizer;
  try {
    sizer = await open();
  } catch (error) {
    console.log(`| ${key} | skipped: ${error instanceof Error ? error.message : String(error)} | |`);
    continue;
  }
  const manager = managerFor(fixture, { loadUser: (id) => ({ id, roles: ['user'] }) }, sizer.store);
  try {
    await manager.ready;
    const measure = async () => [await sizer.bytes(), (await sizer.replicaBytes?.()) ?? 0] as const;
    const empty = await measure();
    const tokens = await fill(manager, count);
    const filled = await measure();
    for (let i = 0; i < tokens.length; i += 10) await manager.logout(tokens[i]!);
    const revoked = await measure();
    const per = (i: 0 | 1) =>
      [(filled[i] - empty[i]) / count, (revoked[i] - filled[i]) / (count / 10)].map(Math.round);
    const [perSession, perRevocation] = per(0);
    console.log(`| ${sizer.name} | ${perSession} | ${perRevocation} |`);
    if (sizer.replicaBytes) {
      const [onReplicas, revokedOnReplicas] = per(1);
      notes.push(
        `${sizer.name}: the replicas (one per master) hold ${onReplicas} bytes per session and ${revokedOnReplicas} per revoked session more`,
      );
    }
  } finally {
    await manager.close();
    await sizer.cleanup();
  }
}
for (const note of notes) console.log(`\n${note}`);
