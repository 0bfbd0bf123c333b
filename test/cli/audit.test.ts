/**
 * `baton audit`: a real manager's events (login, refresh, reuse detection,
 * logout), written by the audit trail into SQLite, PostgreSQL and Redis,
 * printed by the binary in order, escaped, as a table and as JSON.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock, type SessionStore } from 'baton-auth';
import { type AuditTrail, createAuditTrail } from 'baton-auth/audit';
import { PostgresStore } from 'baton-auth/stores/postgres';
import { RedisStore } from 'baton-auth/stores/redis';
import { SqliteStore } from 'baton-auth/stores/sqlite';
import { DAY, HOSTILE_AGENT, makeHistory, scenario, U1_HISTORY } from '../audit/support.ts';
import {
  DATABASE_URL,
  deleteRedisKeys,
  dropSchema,
  postgresSkip,
  REDIS_URL,
  redisSkip,
  uniqueName,
} from '../support/services.ts';
import { assertOk, assertOneErrorLine, baton, parseJson, type TempDir, tempDir } from './support.ts';

/** Two days ago, on a manual clock: --since can cut on either side of it. */
const startedAt = () => new ManualClock(Date.now() - 2 * DAY * 1000);

/** Writes the history into `store`'s database through a trail on `trailUrl`; answers u1's session ids. */
async function record(
  store: SessionStore,
  trailUrl: string,
): Promise<{ sessions: string[]; trail: AuditTrail }> {
  const clock = startedAt();
  const trail = await createAuditTrail(trailUrl, { clock });
  const run = await scenario(store, { clock });
  try {
    trail.attach(run.manager);
    const { sessions } = await makeHistory(run);
    return { sessions, trail };
  } finally {
    await run.close();
  }
}

interface AuditJson {
  user: string;
  events: {
    id: string;
    time: string;
    event: { type: string; sessionId: string | null; userAgent: string | null };
  }[];
}

/** The same checks on every store: --json in order, matching the library; the table; --limit and --since. */
async function assertAuditCommand(
  storeUrl: string,
  trail: AuditTrail,
  sessions: readonly string[],
): Promise<void> {
  const [asJson, asTable, limited, lastDay, lastWeek] = await Promise.all([
    baton(['audit', '--user', 'u1', '--store', storeUrl, '--json']),
    baton(['audit', '--user', 'u1', '--store', storeUrl]),
    baton(['audit', '--user', 'u1', '--store', storeUrl, '--limit', '2', '--json']),
    baton(['audit', '--user', 'u1', '--store', storeUrl, '--since', '1d', '--json']),
    baton(['audit', '--user', 'u1', '--store', storeUrl, '--since', '1w', '--json']),
  ]);
  for (const result of [asJson, asTable, limited, lastDay, lastWeek]) assertOk(result);

  const out = parseJson(asJson.stdout) as unknown as AuditJson;
  assert.equal(out.user, 'u1');
  assert.deepEqual(
    out.events.map((entry) => entry.event.type),
    [...U1_HISTORY],
  );
  const library = await trail.recent({ userId: 'u1', since: 0 });
  assert.deepEqual(
    out.events.map((entry) => entry.id),
    library.map((entry) => entry.id),
  );
  assert.deepEqual(
    out.events.map((entry) => entry.time),
    library.map((entry) => new Date(entry.event.time).toISOString()),
  );
  assert.equal(out.events[4]?.event.sessionId, sessions[0]);
  assert.equal(out.events[2]?.event.userAgent, HOSTILE_AGENT, 'the same value, in valid JSON');
  assert.ok(!asJson.stdout.includes('\u001b') && !asJson.stdout.includes('\u202e'), 'escaped in --json too');
  assert.match(asJson.stdout, /evil\\u001b\[31m\\u202eagent/);

  const lines = asTable.stdout.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^TIME +TYPE +SESSION +CLIENT +IP +REASON +USER AGENT$/);
  assert.deepEqual(
    lines.slice(1, -1).map((line) => line.split(/ {2,}/)[1]),
    [...U1_HISTORY],
  );
  assert.equal(lines.at(-1), '5 events for user u1, newest first');
  assert.match(
    lines[1] ?? '',
    /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ +logout +\S+ +cli-test +203\.0\.113\.7 +logout +Mozilla/,
  );
  assert.match(
    lines[3] ?? '',
    / refresh_token_reused +\S+ +https:\/\/baton\.test +198\.51\.100\.9 +refresh_token_reused +evil\\u001b\[31m\\u202eagent$/,
  );
  assert.ok(!asTable.stdout.includes('\u001b'), 'no raw escape reaches the terminal');
  assert.match(lines[4] ?? '', / refresh +\S+ +https:\/\/baton\.test +203\.0\.113\.7 +- +Mozilla/);

  assert.deepEqual(
    (parseJson(limited.stdout) as unknown as AuditJson).events.map((entry) => entry.event.type),
    U1_HISTORY.slice(0, 2),
  );
  assert.deepEqual((parseJson(lastDay.stdout) as unknown as AuditJson).events, []);
  assert.equal((parseJson(lastWeek.stdout) as unknown as AuditJson).events.length, U1_HISTORY.length);
}

describe('baton audit', () => {
  describe('SQLite', () => {
    let dir: TempDir;
    let storeUrl: string;
    let trail: AuditTrail;
    let sessions: string[];
    before(async () => {
      dir = tempDir();
      const path = dir.file('sessions.db');
      storeUrl = `sqlite:${path}`;
      ({ sessions, trail } = await record(new SqliteStore({ path }), storeUrl));
    });
    after(async () => {
      await trail?.close();
      dir.remove();
    });

    test('prints the history in order, escaped; --json, --limit, --since', { timeout: 60_000 }, async () => {
      await assertAuditCommand(storeUrl, trail, sessions);
    });

    test('a user without events; a relative path', async () => {
      const result = await baton(['audit', '--user', 'nobody', '--store', 'sqlite:./sessions.db'], {
        cwd: dir.path,
      });
      assertOk(result);
      assert.match(
        result.stdout,
        /^no audit events for user nobody in SQLite store \S+sessions\.db \(is an audit trail attached/,
      );
    });

    test('bad command lines: exit 2, one line; a missing file: exit 1', async () => {
      const [noUser, badLimit, zeroSince, memory, scheme, missing, hostileUser] = await Promise.all([
        baton(['audit', '--store', storeUrl]),
        baton(['audit', '--user', 'u1', '--store', storeUrl, '--limit', '1001']),
        baton(['audit', '--user', 'u1', '--store', storeUrl, '--since', '0']),
        baton(['audit', '--user', 'u1', '--store', 'memory']),
        baton(['audit', '--user', 'u1', '--store', 'mysql://db']),
        baton(['audit', '--user', 'u1', '--store', `sqlite:${dir.file('missing.db')}`]),
        baton(['audit', '--user', 'x\u001b[2J', '--store', storeUrl]),
      ]);
      assertOneErrorLine(noUser, 2, /"baton audit" needs --user/);
      assertOneErrorLine(badLimit, 2, /--limit must be a whole number from 1 to 1000/);
      assertOneErrorLine(zeroSince, 2, /--since must be positive/);
      assertOneErrorLine(memory, 2, /--store memory lives only inside one process/);
      assertOneErrorLine(scheme, 2, /unsupported --store/);
      assertOneErrorLine(missing, 1, /no SQLite database at .*missing\.db/);
      assertOk(hostileUser);
      assert.match(hostileUser.stdout, /^no audit events for user x\\u001b\[2J in/);
    });
  });

  describe('PostgreSQL', async () => {
    const skip = await postgresSkip();
    const schema = uniqueName('baton_cli_audit').toLowerCase();
    const storeUrl = `${DATABASE_URL}${DATABASE_URL.includes('?') ? '&' : '?'}schema=${schema}`;
    after(async () => {
      if (!skip) await dropSchema(schema);
    });

    test('prints the history in order', { skip, timeout: 60_000 }, async () => {
      const { sessions, trail } = await record(
        new PostgresStore({ connectionString: DATABASE_URL, schema }),
        storeUrl,
      );
      try {
        await assertAuditCommand(storeUrl, trail, sessions);
      } finally {
        await trail.close();
      }
    });

    test('a server that is away: exit 1, one line', { skip }, async () => {
      const result = await baton([
        'audit',
        '--user',
        'u1',
        '--store',
        'postgres://postgres:secret@127.0.0.1:1/none',
        '--timeout',
        '5s',
      ]);
      assertOneErrorLine(result, 1, /PostgreSQL 127\.0\.0\.1:1\/none/);
      assert.doesNotMatch(result.stderr, /secret/);
    });
  });

  describe('Redis', async () => {
    const skip = await redisSkip();
    const prefix = `${uniqueName('baton-cli-audit')}:`;
    const storeUrl = `${REDIS_URL}?prefix=${encodeURIComponent(prefix)}`;
    after(async () => {
      if (!skip) await deleteRedisKeys(prefix);
    });

    test('prints the history in order', { skip, timeout: 60_000 }, async () => {
      const { sessions, trail } = await record(new RedisStore({ url: REDIS_URL, prefix }), storeUrl);
      try {
        await assertAuditCommand(storeUrl, trail, sessions);
      } finally {
        await trail.close();
      }
    });
  });
});
