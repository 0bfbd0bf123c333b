// Reaching the Redis and PostgreSQL that integration tests need, and the one
// place that decides what happens when they are not there: skip with the reason,
// or fail when BATON_REQUIRE_SERVICES=1 (CI), so a missing service can never
// turn a red build green.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { checkRedisBinaries } from './redis-servers.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REQUIRED = process.env.BATON_REQUIRE_SERVICES === '1';

/** `describe(name, { skip }, ...)`: false when the service answers, else the reason shown as SKIP. */
export type Skip = false | string;

/** For messages: a URL with its password masked. */
function shown(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

async function gate(service: string, probe: () => Promise<void>): Promise<Skip> {
  try {
    await probe();
    return false;
  } catch (error) {
    const reason = `${service} is unreachable (${error instanceof Error ? error.message : String(error)})`;
    if (REQUIRED) throw new Error(`BATON_REQUIRE_SERVICES=1 but ${reason}`, { cause: error });
    return `${reason}; set BATON_REQUIRE_SERVICES=1 to make this a failure`;
  }
}

export function redisSkip(): Promise<Skip> {
  return gate(`Redis at ${shown(REDIS_URL)}`, async () => {
    const client = new Redis(REDIS_URL, {
      lazyConnect: true,
      connectTimeout: 2000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    // ioredis rejects with a bare "Connection is closed."; the socket error says why.
    let cause: unknown;
    client.on('error', (error: unknown) => {
      cause ??= error;
    });
    try {
      await client.connect();
      await client.ping();
    } catch (error) {
      throw cause ?? error;
    } finally {
      client.disconnect();
    }
  });
}

/**
 * `redis-server` and `redis-cli` (7 or later), for the tests that start a Redis
 * Cluster or a Sentinel setup of their own (test/support/redis-servers.ts).
 */
export function redisServerSkip(): Promise<Skip> {
  return gate("redis-server 7+ (to start a Redis Cluster and a Sentinel setup of the test's own)", async () =>
    checkRedisBinaries(),
  );
}

export function postgresSkip(): Promise<Skip> {
  return gate(`PostgreSQL at ${shown(DATABASE_URL)}`, async () => {
    const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 2000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
    } finally {
      await client.end().catch(() => {});
    }
  });
}

/** A name no other test run uses: runs in parallel (or a crashed one's leftovers) never collide. */
export function uniqueName(label: string): string {
  return `${label}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/** Deletes every key under `prefix`, in SCAN batches. */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  try {
    const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema.replaceAll('"', '""')}" CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * A Redis user of its own, so a test can cut exactly one client's connections
 * and keep it from reconnecting for a while (a disabled user's open
 * connections keep working; new ones are refused).
 */
export interface RedisTestUser {
  /** REDIS_URL logged in as this user. */
  url: string;
  name: string;
  /** Off: new connections are refused; existing ones go on. */
  setEnabled(enabled: boolean): Promise<void>;
  /** CLIENT KILL TYPE pubsub USER <name>: the number of subscriber connections killed. */
  killSubscribers(): Promise<number>;
  /** This user's subscriber connections. */
  countSubscribers(): Promise<number>;
  remove(): Promise<void>;
}

export async function createRedisUser(): Promise<RedisTestUser> {
  const name = uniqueName('baton-test-user');
  const password = randomBytes(16).toString('hex');
  const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  admin.on('error', () => {});
  await admin.call('ACL', 'SETUSER', name, 'reset', 'on', `>${password}`, '~*', '&*', '+@all');
  const url = new URL(REDIS_URL);
  url.username = name;
  url.password = password;
  return {
    url: url.toString(),
    name,
    async setEnabled(enabled) {
      await admin.call('ACL', 'SETUSER', name, enabled ? 'on' : 'off');
    },
    async killSubscribers() {
      return Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub', 'USER', name));
    },
    async countSubscribers() {
      const list = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
      return list.split('\n').filter((line) => line.includes(` user=${name} `)).length;
    },
    async remove() {
      try {
        await admin.call('ACL', 'DELUSER', name);
      } finally {
        admin.disconnect();
      }
    },
  };
}

/** The PostgreSQL counterpart of RedisTestUser: a login role with access to one (migrated) schema. */
export interface PostgresTestRole {
  /** DATABASE_URL logged in as this role. */
  url: string;
  name: string;
  /** NOLOGIN: new connections are refused; existing ones go on. */
  setLoginAllowed(allowed: boolean): Promise<void>;
  /**
   * Terminates (and waits for) every backend of this role, idle pooled ones
   * included (a pool would otherwise reconnect through them); returns how many.
   */
  terminateBackends(): Promise<number>;
  /** Backends of this role currently LISTENing on `channel` (their last statement was the LISTEN). */
  countListeners(channel: string): Promise<number>;
  remove(): Promise<void>;
}

export async function createPostgresRole(schema: string): Promise<PostgresTestRole> {
  const name = uniqueName('baton_test_role');
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
  admin.on('error', () => {});
  const quoted = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;
  await admin.query(`CREATE ROLE ${quoted(name)} LOGIN`);
  // No CREATE: a migrated schema must work for a role that can only read and write rows.
  await admin.query(`GRANT USAGE ON SCHEMA ${quoted(schema)} TO ${quoted(name)}`);
  await admin.query(
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${quoted(schema)} TO ${quoted(name)}`,
  );
  const url = new URL(DATABASE_URL);
  url.username = name;
  url.password = '';
  const listeners = `FROM pg_stat_activity WHERE usename = $1 AND query = $2`;
  const terminateBackends = async () => {
    const { rows } = await admin.query<{ ok: boolean }>(
      'SELECT pg_terminate_backend(pid, 5000) AS ok FROM pg_stat_activity WHERE usename = $1',
      [name],
    );
    return rows.filter((row) => row.ok).length;
  };
  return {
    url: url.toString(),
    name,
    async setLoginAllowed(allowed) {
      await admin.query(`ALTER ROLE ${quoted(name)} ${allowed ? 'LOGIN' : 'NOLOGIN'}`);
    },
    terminateBackends,
    async countListeners(channel) {
      const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n ${listeners}`, [
        name,
        `LISTEN ${quoted(channel)}`,
      ]);
      return rows[0]?.n ?? 0;
    },
    async remove() {
      try {
        await terminateBackends();
        await admin.query(`DROP OWNED BY ${quoted(name)}`);
        await admin.query(`DROP ROLE ${quoted(name)}`);
      } finally {
        await admin.end();
      }
    },
  };
}
