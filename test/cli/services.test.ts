/**
 * The store commands against the real Redis and PostgreSQL, each in a key
 * prefix / schema of its own. Skipped when the service or its store module is
 * missing, unless BATON_REQUIRE_SERVICES=1.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { SessionRecord, SessionStore } from '../../src/index.ts';
import { assertOk, baton, parseJson, ROOT, type RunResult } from './support.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REQUIRED = process.env.BATON_REQUIRE_SERVICES === '1';
const DAY = 86_400_000;
const label = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

function record(id: string, userId: string, expiresAt: number): SessionRecord {
  const now = Date.now();
  return {
    id,
    userId,
    clientId: 'cli-test',
    createdAt: now - DAY,
    lastUsedAt: now - DAY,
    expiresAt,
    userAgent: 'test',
    ip: '127.0.0.1',
    secretSalt: 'salt',
    tokenHash: `hash-${id}`,
    generation: 0,
    rotatedAt: null,
    revokedAt: null,
    revokedReason: null,
    jkt: null,
  };
}

/** Skip (or, with BATON_REQUIRE_SERVICES=1, fail) when `migrate` cannot reach the store. */
function skipReason(name: string, file: string, migrated: RunResult): string | false {
  if (!existsSync(join(ROOT, 'src', 'stores', file))) {
    if (REQUIRED) throw new Error(`BATON_REQUIRE_SERVICES=1 but src/stores/${file} is missing`);
    return `src/stores/${file} is not there yet`;
  }
  if (migrated.code === 0) return false;
  const reason = `${name} is unreachable: ${migrated.stderr.trim()}`;
  if (REQUIRED) throw new Error(`BATON_REQUIRE_SERVICES=1 but ${reason}`);
  return reason;
}

/** The same round trip on any store: list, revoke one, revoke all, flush the expired one. */
async function roundTrip(storeUrl: string, store: SessionStore): Promise<void> {
  const now = Date.now();
  await store.createSession(record(`a-${label}`, 'cli-user', now + DAY));
  await store.createSession(record(`b-${label}`, 'cli-user', now + DAY));
  await store.createSession(record(`c-${label}`, 'cli-user', now - 1000));

  const listed = await baton(['sessions', 'list', '--user', 'cli-user', '--store', storeUrl, '--json']);
  assertOk(listed);
  const ids = (parseJson(listed.stdout).sessions as { id: string }[]).map((session) => session.id).sort();
  assert.deepEqual(ids, [`a-${label}`, `b-${label}`]);

  const one = await baton([
    'sessions',
    'revoke',
    '--user',
    'cli-user',
    '--session',
    `a-${label}`,
    '--store',
    storeUrl,
  ]);
  assertOk(one);
  assert.equal((await store.getSession(`a-${label}`))?.revokedReason, 'admin');

  const all = await baton(['sessions', 'revoke', '--user', 'cli-user', '--store', storeUrl, '--json']);
  assertOk(all);
  assert.ok((parseJson(all.stdout).revoked as string[]).includes(`b-${label}`));

  const flushed = await baton(['flush', '--store', storeUrl, '--json']);
  assertOk(flushed);
  assert.ok((parseJson(flushed.stdout).deleted as number) >= 1);
  assert.equal(await store.getSession(`c-${label}`), null, 'the expired session is gone');
}

describe('PostgreSQL', async () => {
  const schema = `baton_cli_${label}`;
  const storeUrl = `${DATABASE_URL}${DATABASE_URL.includes('?') ? '&' : '?'}schema=${schema}`;
  const migrated = existsSync(join(ROOT, 'src', 'stores', 'postgres.ts'))
    ? await baton(['migrate', '--store', storeUrl, '--timeout', '5s'])
    : { code: 1, stdout: '', stderr: '' };
  const skip = skipReason('PostgreSQL', 'postgres.ts', migrated);

  after(async () => {
    if (skip !== false) return;
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await client.end();
    }
  });

  test('migrate, sessions list/revoke and flush', { skip, timeout: 60000 }, async () => {
    assert.match(migrated.stdout, /PostgreSQL schema is up to date/);
    // Not a literal: this file must typecheck before the store module exists.
    const modulePath = '../../src/stores/postgres.ts';
    const { PostgresStore } = (await import(modulePath)) as {
      PostgresStore: new (options: { connectionString: string; schema: string }) => SessionStore;
    };
    const store = new PostgresStore({ connectionString: DATABASE_URL, schema });
    try {
      await roundTrip(storeUrl, store);
    } finally {
      await store.close();
    }
  });
});

describe('Redis', async () => {
  const prefix = `baton-cli-${label}:`;
  const storeUrl = `${REDIS_URL}${REDIS_URL.includes('?') ? '&' : '?'}prefix=${encodeURIComponent(prefix)}`;
  const migrated = existsSync(join(ROOT, 'src', 'stores', 'redis.ts'))
    ? await baton(['migrate', '--store', storeUrl, '--timeout', '5s'])
    : { code: 1, stdout: '', stderr: '' };
  const skip = skipReason('Redis', 'redis.ts', migrated);

  after(async () => {
    if (skip !== false) return;
    const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await client.unlink(...keys);
      } while (cursor !== '0');
    } finally {
      client.disconnect();
    }
  });

  test('sessions list/revoke and flush', { skip, timeout: 60000 }, async () => {
    assert.match(migrated.stdout, /needs no migrations/);
    const modulePath = '../../src/stores/redis.ts';
    const { RedisStore } = (await import(modulePath)) as {
      RedisStore: new (options: { url: string; prefix: string }) => SessionStore;
    };
    const store = new RedisStore({ url: REDIS_URL, prefix });
    try {
      await roundTrip(storeUrl, store);
    } finally {
      await store.close();
    }
  });
});
