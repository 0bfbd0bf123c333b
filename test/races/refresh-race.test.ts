// Two processes x 50 concurrent refreshes of one refresh token, on every store
// that processes can share (and, for the memory store, two managers in one
// process): exactly one rotation happens, every caller gets the same successor
// and a valid access token, the successor works, and the user's sessions are
// neither duplicated nor lost.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { SessionManager, SessionStore, TokenPair } from '../../src/index.ts';
import { MemoryStore } from '../../src/index.ts';
import { hashSecret, parseRefreshToken } from '../../src/sessions/refresh-token.ts';
import { locationArgs, openStore, raceManager } from '../fixtures/race-env.ts';
import type { BurstReport, RefreshOutcome } from '../fixtures/race-refresher.ts';
import { Child } from '../support/child.ts';
import { sharedBackends, sharedSettings } from './support.ts';

const PROCESSES = 2;
const PER_PROCESS = 50;
const USER = 'racer';

const settings = await sharedSettings();
const backends = await sharedBackends();

interface Initial {
  pair: TokenPair;
  bystander: TokenPair;
  sessionIds: string[];
}

/** The session that will be raced, and a second one of the same user that must not be disturbed. */
async function prepare(manager: SessionManager): Promise<Initial> {
  await manager.ready;
  const pair = await manager.issueSession({ id: USER });
  const bystander = await manager.issueSession({ id: USER });
  const sessionIds = (await manager.listSessions(USER)).map((s) => s.id).sort();
  assert.equal(sessionIds.length, 2);
  return { pair, bystander, sessionIds };
}

async function checkOutcome(
  manager: SessionManager,
  store: SessionStore,
  initial: Initial,
  outcomes: readonly RefreshOutcome[],
): Promise<void> {
  assert.equal(outcomes.length, PROCESSES * PER_PROCESS);
  const failures = outcomes.filter((o) => !o.ok);
  assert.deepEqual(failures, [], 'no caller gets an error');
  const successes = outcomes.filter((o): o is Extract<RefreshOutcome, { ok: true }> => o.ok);

  const successors = new Set(successes.map((o) => o.refreshToken));
  assert.equal(successors.size, 1, 'every caller got the same successor refresh token');
  const successor = [...successors][0]!;
  assert.notEqual(successor, initial.pair.refreshToken);
  assert.equal(parseRefreshToken(successor).generation, 1);

  const sid = initial.pair.sessionId;
  const row = await store.getSession(sid);
  assert.ok(row, 'the session is still there');
  assert.equal(row.generation, 1, 'exactly one rotation happened');
  assert.equal(row.tokenHash, hashSecret(parseRefreshToken(successor).secret), 'it stored that successor');
  assert.equal(row.revokedAt, null, 'no reuse alarm inside the grace window');
  assert.notEqual(row.rotatedAt, null);

  const jtis = new Set<string>();
  for (const outcome of successes) {
    assert.equal(outcome.sessionId, sid);
    const claims = manager.verifyAccessToken(outcome.accessToken);
    assert.equal(claims.sid, sid);
    assert.equal(claims.sub, USER);
    assert.equal(claims.fresh, false, 'refreshed tokens are never fresh');
    jtis.add(claims.jti);
  }
  assert.equal(jtis.size, successes.length, 'each caller got its own access token');

  const next = await manager.refresh(successor);
  assert.equal(parseRefreshToken(next.refreshToken).generation, 2, 'the successor rotates afterwards');
  assert.equal((await store.getSession(sid))?.generation, 2);

  const later = (await manager.listSessions(USER)).map((s) => s.id).sort();
  assert.deepEqual(later, initial.sessionIds, 'no session duplicated or lost');
  const bystander = await store.getSession(initial.bystander.sessionId);
  assert.equal(bystander?.generation, 0, 'the other session is untouched');
  assert.equal(bystander?.revokedAt, null);
}

describe('refresh race: 2 x 50 concurrent refreshes of one token', () => {
  it('memory store: two managers in one process', { timeout: 60_000 }, async () => {
    const store = new MemoryStore();
    const managers = [raceManager(store, settings), raceManager(store, settings)];
    try {
      const initial = await prepare(managers[0]!);
      await managers[1]!.ready;
      const burst = (manager: SessionManager) =>
        Promise.all(
          Array.from({ length: PER_PROCESS }, async (): Promise<RefreshOutcome> => {
            try {
              const pair = await manager.refresh(initial.pair.refreshToken);
              return {
                ok: true,
                refreshToken: pair.refreshToken,
                accessToken: pair.accessToken,
                sessionId: pair.sessionId,
              };
            } catch (error) {
              return { ok: false, code: 'error', message: String(error) };
            }
          }),
        );
      const outcomes = (await Promise.all(managers.map(burst))).flat();
      await checkOutcome(managers[0]!, store, initial, outcomes);
    } finally {
      await Promise.all(managers.map((manager) => manager.close()));
    }
  });

  // Two processes serve every store: each opens one manager per store it is told of.
  let children: Child[] = [];
  before(async () => {
    children = Array.from({ length: PROCESSES }, () => new Child('race-refresher.ts', [], settings));
    await Promise.all(children.map((child) => child.take(/^ready$/, 45_000)));
  });
  after(async () => {
    await Promise.all(children.map((child) => child.stop()));
  });

  for (const backend of backends) {
    it(`${backend.name}: two processes`, { skip: backend.skip, timeout: 60_000 }, async (t: TestContext) => {
      const { where, cleanup } = await backend.create();
      const store = openStore(where);
      const manager = raceManager(store, settings);
      const tag = backend.kind;
      try {
        const initial = await prepare(manager);
        for (const child of children) child.send(`open ${tag} ${locationArgs(where).join(' ')}`);
        await Promise.all(children.map((child) => child.take(new RegExp(`^opened ${tag}$`), 30_000)));
        // Both children are idle and listening: one write each, back to back, starts them together.
        for (const child of children) child.send(`go ${tag} ${initial.pair.refreshToken} ${PER_PROCESS}`);
        const reports = await Promise.all(
          children.map(async (child) => {
            const [, json] = await child.take(new RegExp(`^outcomes ${tag} (.*)$`), 30_000);
            return JSON.parse(json!) as BurstReport;
          }),
        );
        const overlap =
          Math.min(...reports.map((r) => r.finished)) - Math.max(...reports.map((r) => r.started));
        t.diagnostic(`the two bursts overlapped for ${overlap} ms (negative: they did not)`);
        await checkOutcome(
          manager,
          store,
          initial,
          reports.flatMap((report) => report.outcomes),
        );
      } finally {
        await manager.close();
        await cleanup();
      }
    });
  }
});
