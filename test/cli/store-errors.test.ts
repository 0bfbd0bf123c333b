import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { assertOneErrorLine, baton, type TempDir, tempDir } from './support.ts';

let dir: TempDir;
before(() => {
  dir = tempDir();
});
after(() => dir.remove());

test('a SQLite file that does not exist: exit 1, and it is not created', async () => {
  const missing = dir.file('missing.db');
  const result = await baton(['sessions', 'list', '--user', 'u1', '--store', `sqlite:${missing}`]);
  assertOneErrorLine(result, 1, /no SQLite database at/);
  assert.equal(existsSync(missing), false);
});

test('an unreachable Redis or PostgreSQL: exit 1, one line, within the timeout', {
  timeout: 45000,
}, async () => {
  const started = Date.now();
  const [redis, postgres] = await Promise.all([
    baton(['sessions', 'list', '--user', 'u1', '--store', 'redis://127.0.0.1:1', '--timeout', '2s']),
    baton(['flush', '--store', 'postgres://postgres@127.0.0.1:1/test', '--timeout', '2s']),
  ]);
  assertOneErrorLine(redis, 1, /redis:\/\/127\.0\.0\.1:1/);
  assertOneErrorLine(postgres, 1, /postgres:\/\/postgres@127\.0\.0\.1:1\/test/);
  assert.ok(Date.now() - started < 40000);
});

test('a password in a store URL never reaches the output', { timeout: 45000 }, async () => {
  const result = await baton([
    'sessions',
    'list',
    '--user',
    'u1',
    '--store',
    'redis://user:s3cret@127.0.0.1:1',
    '--timeout',
    '1s',
  ]);
  assertOneErrorLine(result, 1);
  assert.doesNotMatch(result.stderr, /s3cret/);
});
