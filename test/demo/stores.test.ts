/**
 * The demo on Redis and PostgreSQL (BATON_STORE=redis://... / postgres://...),
 * opened through the library's src/stores/open.ts. Each run uses its own key
 * prefix / schema and removes it afterwards.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import { configFromEnv } from '../../demo/config.ts';
import {
  DATABASE_URL,
  deleteRedisKeys,
  dropSchema,
  postgresSkip,
  REDIS_URL,
  redisSkip,
  uniqueName,
} from '../support/services.ts';
import { call, login, startHarness } from './helpers.ts';

/** Logs in, refreshes (the old refresh token is then spent) and calls a protected route. */
async function loginAndRefresh(store: string): Promise<void> {
  const h = await startHarness({ store: configFromEnv({ BATON_STORE: store }).store });
  try {
    const base = h.demo.url;
    const tokens = await login(base);
    const refreshed = await call(base, '/auth/refresh', { json: { refresh_token: tokens.refresh_token } });
    assert.equal(refreshed.status, 200, refreshed.text);
    const next = refreshed.json.refresh_token as string;
    assert.ok(next && next !== tokens.refresh_token, 'rotated');
    const me = await call(base, '/api/protected', { token: refreshed.json.access_token as string });
    assert.equal(me.status, 200, me.text);
    assert.deepEqual(h.unexpected, []);
  } finally {
    await h.close();
  }
}

function withQuery(url: string, name: string, value: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set(name, value);
  return parsed.href;
}

describe('BATON_STORE=redis://...', { skip: await redisSkip() }, () => {
  const prefix = `${uniqueName('baton-demo')}:`;
  after(() => deleteRedisKeys(prefix));

  it('logs in and refreshes, with sessions under the prefix from the URL', async () => {
    await loginAndRefresh(withQuery(REDIS_URL, 'prefix', prefix));
    const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    try {
      const [, keys] = await client.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 1000);
      assert.ok(keys.length > 0, `no keys under ${prefix}`);
    } finally {
      client.disconnect();
    }
  });
});

describe('BATON_STORE=postgres://...', { skip: await postgresSkip() }, () => {
  const schema = uniqueName('baton_demo');
  after(() => dropSchema(schema));

  it('logs in and refreshes, with sessions in the schema from the URL', async () => {
    await loginAndRefresh(withQuery(DATABASE_URL, 'schema', schema));
    const client = new pg.Client({ connectionString: DATABASE_URL });
    client.on('error', () => {});
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${schema}".baton_sessions`,
      );
      assert.ok((rows[0]?.n ?? 0) > 0, `no sessions in schema ${schema}`);
    } finally {
      await client.end();
    }
  });
});

describe('BATON_STORE validation', () => {
  it('redis:// and postgres:// URLs are accepted as given', () => {
    for (const store of [
      'redis://localhost',
      'rediss://u:p@h:6380/1?prefix=x:',
      'postgres://u@h/db?schema=s',
    ]) {
      assert.equal(configFromEnv({ BATON_STORE: store }).store, store);
    }
  });

  it('npm start with a bad store URL: one line on stderr (password masked), exit code 2', () => {
    for (const store of ['redis://:s3cret@/', 'postgres://[bad', 'mongodb://x']) {
      const result = spawnSync(process.execPath, ['--import', 'tsx', 'demo/server.ts'], {
        env: { ...process.env, BATON_STORE: store, PORT: '0' },
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(result.status, 2, `${store}: ${result.stderr}`);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, /BATON_STORE/);
      assert.doesNotMatch(result.stderr, /s3cret/);
      assert.equal(result.stdout, '');
    }
  });
});
