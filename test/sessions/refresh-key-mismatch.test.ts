// Processes that share a store but not the refresh key: a refresh routed to
// the other one is `invalid_token` (indistinguishable from a guessed secret),
// and that process says, once, in its log that the keys may differ.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SessionManager } from '../../src/index.ts';
import { SqliteStore } from '../../src/stores/sqlite.ts';
import { recordingLogger, rejectsWith, signingKey, type TestUser, Users } from './support.ts';

const MESSAGE =
  'refresh tokens for existing sessions fail authentication: do all processes share the same refreshKey?';

describe('refresh keys that differ between processes on one store', () => {
  let dir: string;
  const managers: SessionManager<TestUser>[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'baton-refresh-key-'));
  });
  after(async () => {
    for (const manager of managers) await manager.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function startProcess(refreshKey: string, logger = recordingLogger().logger) {
    const users = new Users();
    const manager = new SessionManager<TestUser>({
      issuer: 'https://baton.test',
      audience: 'baton-api',
      keys: [await signingKey()],
      refreshKey,
      store: new SqliteStore({ path: join(dir, 'shared.db') }),
      loadUser: users.load,
      verifyCredentials: users.verify,
      logger,
    });
    managers.push(manager);
    await manager.ready;
    return manager;
  }

  it('answers invalid_token, changes nothing, and warns once in the log of the process with the other key', async () => {
    const a = await startProcess('a'.repeat(32));
    const { logger, lines } = recordingLogger();
    const b = await startProcess('b'.repeat(32), logger);
    const warnings = () => lines.filter((line) => line.level === 'warn' && line.message?.includes(MESSAGE));

    const pair = await a.login('thedude', 'abides');
    const error = await rejectsWith(b.refresh(pair.refreshToken), 'invalid_token');
    // The same answer as a token of no session at all.
    const unknown = await rejectsWith(
      b.refresh(`${'x'.repeat(22)}.${pair.refreshToken.split('.')[1]}`),
      'invalid_token',
    );
    assert.equal(error.message, unknown.message);
    assert.equal(warnings().length, 1);
    assert.equal(warnings()[0]!.object.sessionId, pair.claims.sid);
    assert.equal(warnings()[0]!.object.component, 'baton');
    // Nothing secret in the line.
    assert.ok(!JSON.stringify(warnings()[0]).includes(pair.refreshToken.split('.')[1]!));

    // More mismatches (another session, a logout with the refresh token): still one line.
    const other = await a.login('walter', 'calmerthanyouare');
    await rejectsWith(b.refresh(other.refreshToken), 'invalid_token');
    await rejectsWith(b.logout(pair.refreshToken), 'invalid_token');
    assert.equal(warnings().length, 1);

    // The session was not disturbed: its own process still rotates it.
    const next = await a.refresh(pair.refreshToken);
    assert.ok(next.refreshToken);
  });

  it('a process with the same key answers and logs nothing', async () => {
    const a = await startProcess('c'.repeat(32));
    const { logger, lines } = recordingLogger();
    const b = await startProcess('c'.repeat(32), logger);
    const pair = await a.login('thedude', 'abides');
    await b.refresh(pair.refreshToken);
    // A token of no session: invalid_token, no warning (nothing points at the key).
    await rejectsWith(b.refresh(`${'y'.repeat(22)}.${pair.refreshToken.split('.')[1]}`), 'invalid_token');
    assert.equal(lines.filter((line) => line.message?.includes(MESSAGE)).length, 0);
  });
});
