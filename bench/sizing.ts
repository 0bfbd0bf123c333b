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
 * - PostgreSQL: pg_total_relation_size (heap, TOAST and indexes) of the
 *   schema's tables, after VACUUM.
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

const count = Number(process.argv[2] ?? 10_000);
const USER_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

interface Sizer {
  name: string;
  store: SessionStore;
  bytes(): Promise<number>;
  cleanup(): Promise<void>;
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
  const keys = async () => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
    return found;
  };
  const store = new RedisStore({ url: REDIS_URL, prefix });
  return {
    name: 'Redis',
    store,
    async bytes() {
      let total = 0;
      for (const key of await keys())
        total += Number(await client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
      return total;
    },
    async cleanup() {
      await store.close();
      const found = await keys();
      for (let i = 0; i < found.length; i += 500) await client.unlink(...found.slice(i, i + 500));
      client.disconnect();
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
for (const open of [sqlite, redis, postgres]) {
  let sizer: Sizer;
  try {
    sizer = await open();
  } catch (error) {
    console.log(`| ${open.name} | skipped: ${error instanceof Error ? error.message : String(error)} | |`);
    continue;
  }
  const manager = managerFor(fixture, { loadUser: (id) => ({ id, roles: ['user'] }) }, sizer.store);
  try {
    await manager.ready;
    const empty = await sizer.bytes();
    const tokens = await fill(manager, count);
    const filled = await sizer.bytes();
    for (let i = 0; i < tokens.length; i += 10) await manager.logout(tokens[i]!);
    const revoked = await sizer.bytes();
    const perSession = (filled - empty) / count;
    const perRevocation = (revoked - filled) / (count / 10);
    console.log(`| ${sizer.name} | ${Math.round(perSession)} | ${Math.round(perRevocation)} |`);
  } finally {
    await manager.close();
    await sizer.cleanup();
  }
}
