import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { SessionRecord } from '../../src/index.ts';
import { ManualClock, SessionManager } from '../../src/index.ts';
import { SCHEMA_VERSION, SqliteStore } from '../../src/stores/sqlite.ts';
import { signingKey, type TestUser, Users } from '../sessions/support.ts';
import { assertOk, assertOneErrorLine, baton, parseJson, type TempDir, tempDir } from './support.ts';

const DAY = 86_400_000;
let dir: TempDir;

before(() => {
  dir = tempDir();
});
after(() => dir.remove());

describe('baton migrate', () => {
  test('creates the schema, then finds it up to date', async () => {
    const path = dir.file('migrate.db');
    const first = await baton(['migrate', '--store', `sqlite:${path}`]);
    assertOk(first);
    assert.equal(first.stdout, `${path}: migrated schema from version 0 to ${SCHEMA_VERSION}\n`);
    assert.ok(existsSync(path));
    assert.equal((statSync(path).mode & 0o777).toString(8), '600', 'the new file is private');
    const second = await baton(['migrate', '--store', `sqlite:${path}`, '--json']);
    assertOk(second);
    assert.deepEqual(parseJson(second.stdout), { from: SCHEMA_VERSION, to: SCHEMA_VERSION });
    // The store opens it as its own.
    const store = new SqliteStore({ path });
    assert.deepEqual(await store.listSessions('u1', Date.now()), []);
    await store.close();
  });

  test('a directory that does not exist: exit 1, one line', async () => {
    const result = await baton(['migrate', '--store', `sqlite:${dir.file('no/such/dir/x.db')}`]);
    assertOneErrorLine(result, 1, /cannot open SQLite database/);
  });

  test('without --store: exit 2', async () => {
    assertOneErrorLine(await baton(['migrate']), 2, /needs --store/);
  });
});

describe('baton flush', () => {
  test('deletes expired sessions made by SessionManager and prints how many', async () => {
    const path = dir.file('flush.db');
    const users = new Users();
    // Logged in 40 days ago with the default 30-day sessions: expired 10 days ago.
    const clock = new ManualClock(Date.now() - 40 * DAY);
    const old = new SessionManager<TestUser>({
      issuer: 'https://baton.test',
      audience: 'baton-api',
      keys: [await signingKey()],
      refreshKey: 'r'.repeat(32),
      store: new SqliteStore({ path }),
      clock,
      loadUser: users.load,
      verifyCredentials: users.verify,
    });
    await old.login('thedude', 'abides');
    await old.login('thedude', 'abides');
    clock.set(Date.now());
    const live = await old.login('walter', 'calmerthanyouare');
    await old.close();

    const result = await baton(['flush', '--store', `sqlite:${path}`]);
    assertOk(result);
    assert.equal(result.stdout, 'deleted 2 expired or revoked sessions\n');
    assert.equal(result.stderr, '', 'no progress for a small store');

    const again = await baton(['flush', '--store', `sqlite:${path}`, '--json']);
    assertOk(again);
    assert.deepEqual(parseJson(again.stdout), { deleted: 0 });

    const store = new SqliteStore({ path });
    assert.notEqual(await store.getSession(live.sessionId), null, 'the live session stays');
    await store.close();
  });

  test('a large store reports progress on stderr', { timeout: 30000 }, async () => {
    const path = dir.file('large.db');
    const store = new SqliteStore({ path });
    const past = Date.now() - 2 * DAY;
    const count = 2500;
    for (let index = 0; index < count; index++) {
      const record: SessionRecord = {
        id: `s${index}`,
        userId: `u${index % 10}`,
        clientId: null,
        createdAt: past - DAY,
        lastUsedAt: past - DAY,
        expiresAt: past,
        userAgent: null,
        ip: null,
        secretSalt: 'salt',
        tokenHash: `hash${index}`,
        generation: 0,
        rotatedAt: null,
        revokedAt: null,
        revokedReason: null,
        jkt: null,
      };
      await store.createSession(record);
    }
    await store.close();

    const result = await baton(['flush', '--store', `sqlite:${path}`, '--json']);
    assertOk(result);
    assert.deepEqual(parseJson(result.stdout), { deleted: count });
    assert.match(result.stderr, new RegExp(`^flush: deleting ${count} sessions from SQLite store `));

    const quiet = await baton(['flush', '--store', `sqlite:${path}`, '--quiet']);
    assertOk(quiet);
    assert.equal(quiet.stderr, '');
    assert.equal(quiet.stdout, 'deleted 0 expired or revoked sessions\n');
  });

  test('bad --keep-revoked: exit 2', async () => {
    const result = await baton([
      'flush',
      '--store',
      `sqlite:${dir.file('x.db')}`,
      '--keep-revoked',
      'forever',
    ]);
    assertOneErrorLine(result, 2, /--keep-revoked must be seconds or a duration/);
  });
});
