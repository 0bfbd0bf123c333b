/**
 * The CLI loads a store's driver only when a command names that store: Redis
 * and PostgreSQL work without better-sqlite3, and a missing driver is one line
 * naming the package, exit code 2.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { withoutPackages } from '../support/hidden-packages.ts';
import {
  DATABASE_URL,
  deleteRedisKeys,
  dropSchema,
  postgresSkip,
  REDIS_URL,
  redisSkip,
} from '../support/services.ts';
import { assertOk, baton, type RunResult, tempDir } from './support.ts';

const dir = tempDir('baton-cli-drivers-');
after(() => dir.remove());

/** `baton ...args` in a process where the `hidden` packages cannot be loaded, as if not installed. */
function batonWithout(hidden: string[], args: string[]): Promise<RunResult> {
  return baton(args, { env: withoutPackages(hidden) });
}

function assertDriverMissing(result: RunResult, store: string, driver: string): void {
  assert.equal(result.code, 2, `exit code\n${result.stderr}`);
  assert.equal(
    result.stderr,
    `baton: the ${store} store needs the "${driver}" package: npm install ${driver}\n`,
  );
  assert.equal(result.stdout, '');
}

describe('a store command without its driver package', () => {
  test('sqlite: sessions list, sessions revoke, flush, migrate: one line naming better-sqlite3, exit 2', async () => {
    const store = `sqlite:${dir.file('x.db')}`;
    // A file that exists, so the commands get as far as opening it.
    assertOk(await baton(['migrate', '--store', store]));
    const runs = await Promise.all([
      batonWithout(['better-sqlite3'], ['sessions', 'list', '--user', 'u1', '--store', store]),
      batonWithout(['better-sqlite3'], ['sessions', 'revoke', '--user', 'u1', '--store', store]),
      batonWithout(['better-sqlite3'], ['flush', '--store', store]),
      batonWithout(['better-sqlite3'], ['audit', '--user', 'u1', '--store', store]),
      batonWithout(['better-sqlite3'], ['migrate', '--store', `sqlite:${dir.file('new.db')}`]),
    ]);
    for (const result of runs) assertDriverMissing(result, 'SQLite', 'better-sqlite3');
  });

  test('redis and postgres: one line naming ioredis / pg, exit 2', async () => {
    assertDriverMissing(
      await batonWithout(['ioredis'], ['sessions', 'list', '--user', 'u1', '--store', 'redis://127.0.0.1:1']),
      'Redis',
      'ioredis',
    );
    assertDriverMissing(
      await batonWithout(['pg'], ['migrate', '--store', 'postgres://postgres@127.0.0.1:1/test']),
      'PostgreSQL',
      'pg',
    );
  });
});

describe('Redis and PostgreSQL commands never load better-sqlite3', async () => {
  const label = `drv_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const redisSkipped = await redisSkip();
  const postgresSkipped = await postgresSkip();

  test('redis: migrate, sessions list, sessions revoke, audit, flush', { skip: redisSkipped }, async () => {
    const prefix = `baton-test:${label}:`;
    const store = `${REDIS_URL}?prefix=${encodeURIComponent(prefix)}`;
    try {
      for (const args of [
        ['migrate', '--store', store],
        ['sessions', 'list', '--user', 'u1', '--store', store],
        ['sessions', 'revoke', '--user', 'u1', '--store', store],
        ['audit', '--user', 'u1', '--store', store],
        ['flush', '--store', store],
      ]) {
        assertOk(await batonWithout(['better-sqlite3', 'pg'], args));
      }
    } finally {
      await deleteRedisKeys(prefix);
    }
  });

  test('postgres: migrate, sessions list, audit, flush', { skip: postgresSkipped }, async () => {
    const store = `${DATABASE_URL}?schema=${label}`;
    try {
      for (const args of [
        ['migrate', '--store', store],
        ['sessions', 'list', '--user', 'u1', '--store', store],
        ['audit', '--user', 'u1', '--store', store],
        ['flush', '--store', store],
      ]) {
        assertOk(await batonWithout(['better-sqlite3', 'ioredis'], args));
      }
    } finally {
      await dropSchema(label);
    }
  });
});
