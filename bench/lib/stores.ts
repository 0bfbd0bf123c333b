/**
 * The stores the refresh benchmarks run on, each with its floor: the same
 * single-row read + compare-and-set update a refresh needs, done directly
 * with the driver (for the memory store, which has no driver, through the
 * store's own two methods).
 *
 * Redis and PostgreSQL are used when reachable at REDIS_URL / DATABASE_URL
 * (defaults as in the tests: redis://127.0.0.1:6379 and
 * postgres://postgres@127.0.0.1:5432/test), under a unique key prefix /
 * schema that is deleted afterwards.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis as RedisClient } from 'ioredis';
import type pg from 'pg';
import { MemoryStore } from '../../src/stores/memory.ts';
// The floor runs the store's own rotation script, so the two stay one script.
import { ROTATE } from '../../src/stores/redis-scripts.ts';
import { SqliteStore } from '../../src/stores/sqlite.ts';
import type { SessionRecord, SessionStore } from '../../src/stores/types.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type StoreName = 'memory' | 'sqlite' | 'redis' | 'postgres';

/** One floor client: reads its row, then compare-and-sets it, like one refresh does. */
export type FloorOp = () => Promise<void>;

export interface BenchStore {
  name: StoreName;
  store: SessionStore;
  /** SQLite file, Redis key prefix or PostgreSQL schema: where another process finds the same data (see openShared). */
  location?: string;
  /** A floor client over its own session row (created here, not used by Baton). */
  floorClient(): Promise<FloorOp>;
  /** Inserts `count` filler sessions quickly (for the scaling figures). */
  fill(count: number, userPrefix: string): Promise<void>;
  cleanup(): Promise<void>;
}

export function randomSession(userId: string, now = Date.now()): SessionRecord {
  return {
    id: randomBytes(16).toString('base64url'),
    userId,
    clientId: null,
    createdAt: now,
    lastUsedAt: now,
    expiresAt: now + 30 * 86_400_000,
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) bench',
    ip: '127.0.0.1',
    secretSalt: randomBytes(16).toString('base64url'),
    tokenHash: randomBytes(32).toString('base64url'),
    generation: 0,
    rotatedAt: null,
    revokedAt: null,
    revokedReason: null,
    jkt: null,
  };
}

function nextHash(): string {
  return randomBytes(32).toString('base64url');
}

async function memoryStore(): Promise<BenchStore> {
  const store = new MemoryStore();
  return {
    name: 'memory',
    store,
    async floorClient() {
      const session = randomSession('floor-user');
      await store.createSession(session);
      return async () => {
        const row = await store.getSession(session.id);
        if (!row) throw new Error('floor row missing');
        const result = await store.rotateSession({
          id: row.id,
          expectedGeneration: row.generation,
          expectedTokenHash: row.tokenHash,
          newTokenHash: nextHash(),
          now: Date.now(),
        });
        if (!result.rotated) throw new Error('floor rotation lost');
      };
    },
    async fill(count, userPrefix) {
      const base = randomSession(userPrefix);
      const prefix = base.id.slice(0, 10);
      let batch: Promise<void>[] = [];
      for (let i = 0; i < count; i++) {
        // Distinct ids without a randomBytes call per row: filling is setup, not what is measured.
        const id = `${prefix}${i.toString(36).padStart(12, '0')}`;
        batch.push(store.createSession({ ...base, id, userId: `${userPrefix}${i % 1000}` }));
        if (batch.length === 10_000) {
          await Promise.all(batch);
          batch = [];
        }
      }
      await Promise.all(batch);
    },
    async cleanup() {
      await store.close();
    },
  };
}

interface SqliteRow {
  id: string;
  generation: number;
  token_hash: string;
}

async function sqliteStore(): Promise<BenchStore> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-'));
  const path = join(dir, 'bench.db');
  const store = new SqliteStore({ path });
  const db = store.database;
  const get = db.prepare<[string], SqliteRow>('SELECT * FROM baton_sessions WHERE id = ?');
  const rotate = db.prepare<unknown[], SqliteRow>(
    `UPDATE baton_sessions
       SET token_hash = ?, generation = generation + 1, rotated_at = ?, last_used_at = ?
     WHERE id = ? AND generation = ? AND token_hash = ? AND revoked_at IS NULL
     RETURNING *`,
  );
  return {
    name: 'sqlite',
    store,
    location: path,
    async floorClient() {
      const session = randomSession('floor-user');
      await store.createSession(session);
      return async () => {
        const row = get.get(session.id);
        if (!row) throw new Error('floor row missing');
        const now = Date.now();
        // Parameters in statement order: hash, now, now, id, generation, old hash.
        const updated = rotate.get(nextHash(), now, now, row.id, row.generation, row.token_hash);
        if (!updated) throw new Error('floor rotation lost');
      };
    },
    async fill(count, userPrefix) {
      // Generated inside SQLite: a million rows in seconds, where a million inserts from JS take minutes.
      const insert = db.prepare<{ count: number; user: string; now: number; ttl: number }>(
        `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < @count)
         INSERT INTO baton_sessions (id, user_id, client_id, created_at, last_used_at, expires_at, user_agent, ip,
           secret_salt, token_hash, generation, rotated_at, revoked_at, revoked_reason)
         SELECT lower(hex(randomblob(11))), @user || (i % 1000), NULL, @now, @now, @now + @ttl,
           'Mozilla/5.0 (X11; Linux x86_64) bench', '127.0.0.1',
           lower(hex(randomblob(11))), lower(hex(randomblob(22))), 0, NULL, NULL, NULL
         FROM n`,
      );
      insert.run({ count, user: userPrefix, now: Date.now(), ttl: 30 * 86_400_000 });
    },
    async cleanup() {
      await store.close();
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

type FloorRedis = RedisClient & {
  batonBenchRotate(
    key: string,
    generation: string,
    hash: string,
    next: string,
    now: string,
  ): Promise<unknown>;
};

async function redisStore(): Promise<BenchStore> {
  const { Redis } = await import('ioredis');
  const { RedisStore } = await import('../../src/stores/redis.ts');
  const prefix = `baton-bench:${randomBytes(6).toString('hex')}:`;
  const store = new RedisStore({ url: REDIS_URL, prefix });
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }) as FloorRedis;
  client.on('error', () => {});
  client.defineCommand('batonBenchRotate', { numberOfKeys: 1, lua: ROTATE });
  return {
    name: 'redis',
    store,
    location: prefix,
    async floorClient() {
      const key = `${prefix}floor:${randomBytes(16).toString('base64url')}`;
      const session = randomSession('floor-user');
      await client.hset(key, {
        id: session.id,
        userId: session.userId,
        createdAt: session.createdAt,
        lastUsedAt: session.lastUsedAt,
        expiresAt: String(session.expiresAt),
        secretSalt: session.secretSalt,
        tokenHash: session.tokenHash,
        generation: 0,
      });
      return async () => {
        const row = await client.hgetall(key);
        if (row.generation === undefined || row.tokenHash === undefined) throw new Error('floor row missing');
        const reply = (await client.batonBenchRotate(
          key,
          row.generation,
          row.tokenHash,
          nextHash(),
          String(Date.now()),
        )) as [number, unknown];
        if (reply[0] !== 1) throw new Error('floor rotation lost');
      };
    },
    async fill(count, userPrefix) {
      const now = Date.now();
      const batch: Promise<void>[] = [];
      for (let i = 0; i < count; i++) {
        batch.push(store.createSession(randomSession(`${userPrefix}${i % 1000}`, now)));
        if (batch.length === 500) await Promise.all(batch.splice(0));
      }
      await Promise.all(batch);
    },
    async cleanup() {
      await store.close();
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await client.unlink(...keys);
      } while (cursor !== '0');
      client.disconnect();
    },
  };
}

async function postgresStore(): Promise<BenchStore> {
  const { default: pgModule } = await import('pg');
  const { PostgresStore } = await import('../../src/stores/postgres.ts');
  const schema = `baton_bench_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const store = new PostgresStore({ connectionString: DATABASE_URL, schema });
  // The same pool size as the store's own (pg's default, 10).
  const pool: pg.Pool = new pgModule.Pool({ connectionString: DATABASE_URL });
  pool.on('error', () => {});
  const table = `"${schema}"."baton_sessions"`;
  const getSql = `SELECT * FROM ${table} WHERE id = $1`;
  const rotateSql = `UPDATE ${table}
      SET token_hash = $4, generation = generation + 1, rotated_at = $5, last_used_at = $5
    WHERE id = $1 AND generation = $2 AND token_hash = $3 AND revoked_at IS NULL
    RETURNING *`;
  return {
    name: 'postgres',
    store,
    location: schema,
    async floorClient() {
      const session = randomSession('floor-user');
      await store.createSession(session);
      return async () => {
        const { rows } = await pool.query<{ id: string; generation: number; token_hash: string }>(getSql, [
          session.id,
        ]);
        const row = rows[0];
        if (!row) throw new Error('floor row missing');
        const updated = await pool.query(rotateSql, [
          row.id,
          row.generation,
          row.token_hash,
          nextHash(),
          Date.now(),
        ]);
        if (updated.rowCount !== 1) throw new Error('floor rotation lost');
      };
    },
    async fill(count, userPrefix) {
      const now = Date.now();
      // One multi-row INSERT per 1000 rows: filling is setup, not what is measured.
      for (let start = 0; start < count; start += 1000) {
        const rows = Array.from({ length: Math.min(1000, count - start) }, (_, i) =>
          randomSession(`${userPrefix}${(start + i) % 1000}`, now),
        );
        const values: unknown[] = [];
        const tuples = rows.map((row, i) => {
          values.push(
            row.id,
            row.userId,
            row.createdAt,
            row.lastUsedAt,
            row.expiresAt,
            row.secretSalt,
            row.tokenHash,
          );
          const b = i * 7;
          return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7}, 0)`;
        });
        await pool.query(
          `INSERT INTO ${table} (id, user_id, created_at, last_used_at, expires_at, secret_salt, token_hash, generation)
           VALUES ${tuples.join(', ')}`,
          values,
        );
      }
    },
    async cleanup() {
      await store.close();
      try {
        await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await pool.end();
      }
    },
  };
}

async function reachable(name: 'redis' | 'postgres'): Promise<string | null> {
  try {
    if (name === 'redis') {
      const { Redis } = await import('ioredis');
      const client = new Redis(REDIS_URL, {
        lazyConnect: true,
        connectTimeout: 2000,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.ping();
      } finally {
        client.disconnect();
      }
    } else {
      const { default: pgModule } = await import('pg');
      const client = new pgModule.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 2000 });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.query('SELECT 1');
      } finally {
        await client.end().catch(() => {});
      }
    }
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function storeModuleExists(name: 'redis' | 'postgres'): boolean {
  return existsSync(new URL(`../../src/stores/${name}.ts`, import.meta.url));
}

/** Opens a store, or says why it is left out of this run. */
export async function openStore(name: StoreName): Promise<BenchStore | { skipped: string }> {
  if (name === 'memory') return memoryStore();
  if (name === 'sqlite') return sqliteStore();
  if (!storeModuleExists(name)) return { skipped: `src/stores/${name}.ts does not exist yet` };
  const problem = await reachable(name);
  if (problem !== null) {
    return { skipped: `${name} unreachable at ${name === 'redis' ? REDIS_URL : DATABASE_URL}: ${problem}` };
  }
  const bench = name === 'redis' ? await redisStore() : await postgresStore();
  // The stores connect (and PostgreSQL migrates) lazily: a first call gets that out of the measured time.
  await bench.store.listRevocations(Date.now());
  return bench;
}

/** Another connection to the data of an open SQLite, Redis or PostgreSQL BenchStore (for a second process). */
export async function openShared(
  name: 'sqlite' | 'redis' | 'postgres',
  location: string,
): Promise<SessionStore> {
  if (name === 'sqlite') return new SqliteStore({ path: location });
  if (name === 'redis') {
    const { RedisStore } = await import('../../src/stores/redis.ts');
    return new RedisStore({ url: REDIS_URL, prefix: location });
  }
  const { PostgresStore } = await import('../../src/stores/postgres.ts');
  return new PostgresStore({ connectionString: DATABASE_URL, schema: location });
}
