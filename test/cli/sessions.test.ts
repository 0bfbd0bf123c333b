import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ManualClock, TokenPair } from '../../src/index.ts';
import { SessionManager } from '../../src/index.ts';
import { SqliteStore } from '../../src/stores/sqlite.ts';
import { rejectsWith, signingKey, type TestUser, Users } from '../sessions/support.ts';
import { assertOk, assertOneErrorLine, baton, parseJson, type TempDir, tempDir } from './support.ts';

let dir: TempDir;
let dbPath: string;
let store: string;
const logins: TokenPair[] = [];

async function manager(path: string, clock?: ManualClock): Promise<SessionManager<TestUser>> {
  const users = new Users();
  const instance = new SessionManager<TestUser>({
    issuer: 'https://baton.test',
    audience: 'baton-api',
    keys: [await signingKey()],
    refreshKey: 'r'.repeat(32),
    store: new SqliteStore({ path }),
    loadUser: users.load,
    verifyCredentials: users.verify,
    ...(clock ? { clock } : {}),
  });
  await instance.ready;
  return instance;
}

before(async () => {
  dir = tempDir();
  dbPath = dir.file('sessions.db');
  store = `sqlite:${dbPath}`;
  const sessions = await manager(dbPath);
  try {
    logins.push(await sessions.login('thedude', 'abides', { userAgent: 'curl/8.0', ip: '10.0.0.1' }));
    logins.push(
      await sessions.login('thedude', 'abides', { userAgent: 'Firefox\u001b[31m', ip: '10.0.0.2' }),
    );
    logins.push(await sessions.login('walter', 'calmerthanyouare', { clientId: 'cli-test' }));
  } finally {
    await sessions.close();
  }
});

after(() => dir.remove());

describe('baton sessions list', () => {
  test("lists the user's live sessions as a table", async () => {
    const result = await baton(['sessions', 'list', '--user', 'u1', '--store', store]);
    assertOk(result);
    const lines = result.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^ID +CLIENT +CREATED +LAST USED +EXPIRES +IP +USER AGENT$/);
    assert.equal(lines.length, 4, result.stdout);
    for (const login of logins.slice(0, 2)) assert.match(result.stdout, new RegExp(login.sessionId));
    assert.match(result.stdout, /\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/);
    assert.match(result.stdout, /Firefox\\u001b\[31m/, 'control characters are escaped');
    assert.equal(lines[3], '2 live sessions for user u1');
  });

  test('--json parses, sessions in the HTTP API shape', async () => {
    const result = await baton(['sessions', 'list', '--user', 'u2', '--store', store, '--json']);
    assertOk(result);
    const out = parseJson(result.stdout);
    assert.equal(out.user, 'u2');
    const sessions = out.sessions as Record<string, unknown>[];
    assert.equal(sessions.length, 1);
    assert.deepEqual(Object.keys(sessions[0] ?? {}).sort(), [
      'client_id',
      'created_at',
      'expires_at',
      'id',
      'ip',
      'last_used_at',
      'user_agent',
    ]);
    assert.equal(sessions[0]?.id, logins[2]?.sessionId);
    assert.equal(sessions[0]?.client_id, 'cli-test');
    assert.match(String(sessions[0]?.expires_at), /^\d{4}-\d\d-\d\dT.*Z$/);
  });

  test('a user without sessions', async () => {
    const result = await baton(['sessions', 'list', '--user', 'nobody', '--store', store]);
    assertOk(result);
    assert.equal(result.stdout, 'no live sessions for user nobody\n');
  });

  test('relative sqlite: paths are relative to the current directory', async () => {
    const result = await baton(
      ['sessions', 'list', '--user', 'u1', '--store', 'sqlite:./sessions.db', '--json'],
      {
        cwd: dir.path,
      },
    );
    assertOk(result);
    assert.equal((parseJson(result.stdout).sessions as unknown[]).length, 2);
  });
});

describe('baton sessions revoke', () => {
  test('one session, then all of a user', async () => {
    const first = logins[0]!;
    const second = logins[1]!;
    const one = await baton([
      'sessions',
      'revoke',
      '--user',
      'u1',
      '--session',
      first.sessionId,
      '--store',
      store,
    ]);
    assertOk(one);
    assert.equal(one.stdout, `revoked session ${first.sessionId} of user u1\n`);

    const again = await baton([
      'sessions',
      'revoke',
      '--user',
      'u1',
      '--session',
      first.sessionId,
      '--store',
      store,
    ]);
    assertOk(again);
    assert.match(again.stdout, /already revoked/);

    const listed = parseJson(
      (await baton(['sessions', 'list', '--user', 'u1', '--store', store, '--json'])).stdout,
    );
    assert.deepEqual(
      (listed.sessions as { id: string }[]).map((session) => session.id),
      [second.sessionId],
    );

    const all = await baton(['sessions', 'revoke', '--user', 'u1', '--store', store, '--json']);
    assertOk(all);
    assert.deepEqual(parseJson(all.stdout), { user: 'u1', revoked: [second.sessionId] });

    // The library sees it: both refresh tokens are dead.
    const sessions = await manager(dbPath);
    try {
      await rejectsWith(sessions.refresh(first.refreshToken), 'token_revoked');
      await rejectsWith(sessions.refresh(second.refreshToken), 'token_revoked');
      assert.equal((await sessions.listSessions('u2')).length, 1, "walter's session is untouched");
    } finally {
      await sessions.close();
    }
  });

  test("another user's session, or an unknown one: exit 1, one line", async () => {
    const walters = logins[2]!.sessionId;
    const [wrongUser, unknown] = await Promise.all([
      baton(['sessions', 'revoke', '--user', 'u1', '--session', walters, '--store', store]),
      baton(['sessions', 'revoke', '--user', 'u2', '--session', 'no-such-session', '--store', store]),
    ]);
    assertOneErrorLine(wrongUser, 1, /user u1 has no session/);
    assertOneErrorLine(unknown, 1, /user u2 has no session no-such-session/);
  });
});
