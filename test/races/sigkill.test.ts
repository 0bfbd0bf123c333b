// A process SIGKILLed in the middle of a refresh burst leaves every session
// consistent: no session lost or duplicated, none half-rotated (the stored hash
// always belongs to the stored generation), none revoked, no acknowledged
// rotation lost, and the token each client last received still refreshes
// (the grace window answers it when the killed process had already rotated past it).
//
// One child process runs the burst on every store under test at once (one
// process start instead of three), so a single SIGKILL lands among writes to
// SQLite, Redis and PostgreSQL alike.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { SessionManager } from '../../src/index.ts';
import { hashSecret, RefreshTokenDeriver } from '../../src/sessions/refresh-token.ts';
import { locationArgs, openStore, raceManager, type StoreLocation } from '../fixtures/race-env.ts';
import { Child } from '../support/child.ts';
import { type SharedBackend, sharedBackends, sharedSettings } from './support.ts';

const SESSIONS = 24;
/** Steps every chain has taken (on average) before the kill, so that it lands in a busy stream of writes. */
const STEPS_BEFORE_KILL = 2;
const USER = 'burst-user';

const settings = await sharedSettings();
const backends = await sharedBackends();
const deriver = new RefreshTokenDeriver(settings.refreshKey);
const ROTATED = /^rotated (\w+) (\S+) (\d+)$/;

interface Burst {
  where: StoreLocation;
  cleanup(): Promise<void>;
  /** The newest generation the child reported per session: it had that answer in hand. */
  reported: Map<string, number>;
}

describe('SIGKILL in the middle of a refresh burst', { concurrency: true }, () => {
  const bursts = new Map<SharedBackend, Burst>();
  let killed: Promise<void> = Promise.resolve();

  before(async () => {
    for (const backend of backends.filter((b) => b.skip === false)) {
      const { where, cleanup } = await backend.create();
      bursts.set(backend, { where, cleanup, reported: new Map() });
    }
    const byKind = new Map([...bursts.values()].map((burst) => [burst.where.kind as string, burst]));
    const record = (line: string): boolean => {
      const match = ROTATED.exec(line);
      if (!match) return false;
      const reported = byKind.get(match[1]!)!.reported;
      reported.set(match[2]!, Math.max(reported.get(match[2]!) ?? 0, Number(match[3])));
      return true;
    };
    const child = new Child(
      'fault-refresh-burst.ts',
      [String(SESSIONS), USER, ...[...bursts.values()].flatMap((burst) => locationArgs(burst.where))],
      settings,
    );
    // The checks wait for this, so that a failure here fails each of them with the reason.
    killed = (async () => {
      try {
        await child.take(/^ready$/, 45_000);
        const target = SESSIONS * (STEPS_BEFORE_KILL + Math.random() * 2);
        const steps = () => Math.min(...[...bursts.values()].map((burst) => sum(burst.reported)));
        for (let i = 0; i < 1_000_000 && steps() < target; i++) {
          record((await child.take(ROTATED, 30_000))[0]);
        }
        // Lines arrive in bursts; a random delay spreads the kill over the child's next stretch of work.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 40));
      } finally {
        await child.kill();
      }
      assert.equal(child.signalCode, 'SIGKILL', `the child was killed, not done: ${child.stderr}`);
      for (const line of child.drain()) {
        if (!record(line)) assert.doesNotMatch(line, /^failed/, `the child failed before the kill: ${line}`);
      }
    })();
    killed.catch(() => {});
  });

  after(async () => {
    await Promise.all([...bursts.values()].map((burst) => burst.cleanup()));
  });

  for (const backend of backends) {
    it(`${backend.name}: every session stays consistent`, {
      skip: backend.skip,
      timeout: 60_000,
    }, async (t: TestContext) => {
      await killed;
      const { where, reported } = bursts.get(backend)!;
      const store = openStore(where);
      let manager: SessionManager | undefined;
      try {
        manager = raceManager(store, settings);
        await manager.ready;
        const live = await store.listSessions(USER, Date.now());
        assert.equal(live.length, SESSIONS, 'no session lost or duplicated');
        let inFlight = 0;
        for (const listed of live) {
          const session = await store.getSession(listed.id);
          assert.ok(session);
          const g = session.generation;
          const acknowledged = reported.get(session.id) ?? 0;
          // One step of a chain is in flight at a time: its rotation is either applied or not.
          assert.ok(
            g === acknowledged || g === acknowledged + 1,
            `${session.id}: generation ${g}, the child had the answer for ${acknowledged}`,
          );
          if (g > acknowledged) inFlight += 1;
          assert.equal(
            session.tokenHash,
            hashSecret(deriver.secret(session.id, session.secretSalt, g)),
            `${session.id}: the stored hash is that of generation ${g}`,
          );
          assert.equal(session.rotatedAt !== null, g > 0, `${session.id}: rotatedAt set iff rotated`);
          assert.equal(session.revokedAt, null, `${session.id}: not revoked`);

          // The client holds the last answer it got. If the killed process had rotated past
          // it, the grace window hands that client the same successor: it is not logged out.
          const held = deriver.token(session.id, session.secretSalt, acknowledged);
          const answer = await manager.refresh(held);
          assert.equal(
            answer.refreshToken,
            deriver.token(session.id, session.secretSalt, acknowledged + 1),
            `${session.id}: the token the client held gets generation ${acknowledged + 1}`,
          );
          const settled = await store.getSession(session.id);
          assert.equal(settled?.generation, acknowledged + 1, `${session.id}: one rotation, not two`);
          assert.equal(settled?.revokedAt, null);
          await manager.refresh(answer.refreshToken);
          assert.equal((await store.getSession(session.id))?.generation, acknowledged + 2, 'and on it goes');
        }
        t.diagnostic(
          `${inFlight} of ${SESSIONS} sessions had a rotation applied but unacknowledged at the kill`,
        );
      } finally {
        await (manager ?? store).close();
      }
    });
  }
});

function sum(reported: Map<string, number>): number {
  let total = 0;
  for (const generation of reported.values()) total += generation;
  return total;
}
