/** A security history made by a real manager, shared by the audit trail's tests and `baton audit`'s. */
import assert from 'node:assert/strict';
import { type BatonLogger, ManualClock, SessionManager, type SessionStore } from 'baton-auth';
import type { AuditEntry, AuditTrail } from 'baton-auth/audit';
import { rejectsWith, type TestUser, testManagerOptions, Users } from '../sessions/support.ts';

export const FIREFOX = 'Mozilla/5.0 Firefox/130.0';
export const HOSTILE_AGENT = 'evil\u001b[31m\u202eagent';
export const DAY = 86_400;

/** u1's events, newest first, as `recent({ userId: 'u1' })` answers them after `makeHistory`. */
export const U1_HISTORY = ['logout', 'login', 'refresh_token_reused', 'refresh', 'login'] as const;

/** Everyone's, newest first, as `recent()` answers them after `makeHistory`: [type, userId]. */
export const ALL_HISTORY = [
  ['logout', 'u1'],
  ['login', 'u1'],
  ['login', 'u2'],
  ['refresh_token_reused', 'u1'],
  ['refresh', 'u1'],
  ['login', 'u1'],
  ['login_failed', null],
] as const;

export interface Scenario {
  manager: SessionManager<TestUser>;
  clock: ManualClock;
  close(): Promise<void>;
}

export async function scenario(
  store: SessionStore,
  options: { logger?: BatonLogger; clock?: ManualClock } = {},
): Promise<Scenario> {
  const clock = options.clock ?? new ManualClock();
  const users = new Users();
  const manager = new SessionManager<TestUser>({
    ...(await testManagerOptions(store, clock, users)),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  await manager.ready;
  return { manager, clock, close: () => manager.close() };
}

/**
 * A failed login of an unknown user; then thedude (u1): login, refresh, the first refresh token replayed after the
 * grace window (theft: the session is revoked), a second login, its logout;
 * walter (u2) logs in in between. One second apart, so every event has its own time.
 */
export async function makeHistory({ manager, clock }: Scenario): Promise<{ sessions: string[] }> {
  const firefox = { ip: '203.0.113.7', userAgent: FIREFOX };
  // Nobody's: an unknown username is no user (userId null), in the stream of all events only.
  await rejectsWith(manager.login('donny', 'x', { ip: '192.0.2.66' }), 'invalid_credentials');
  clock.advance(1);
  const first = await manager.login('thedude', 'abides', firefox);
  clock.advance(1);
  await manager.refresh(first.refreshToken, firefox);
  clock.advance(11); // past the 10 s grace window
  await rejectsWith(
    manager.refresh(first.refreshToken, { ip: '198.51.100.9', userAgent: HOSTILE_AGENT }),
    'refresh_token_reused',
  );
  clock.advance(1);
  await manager.login('walter', 'calmerthanyouare', { ip: '192.0.2.1' });
  clock.advance(1);
  const second = await manager.login('thedude', 'abides', { ...firefox, clientId: 'cli-test' });
  clock.advance(1);
  await manager.logout(second.accessToken, firefox);
  await manager.events.flush();
  return { sessions: [first.sessionId, second.sessionId] };
}

/** Checks what `recent({ userId: 'u1' })` answers after `makeHistory`. */
export function assertHistory(entries: readonly AuditEntry[], sessions: readonly string[]): void {
  assert.deepEqual(
    entries.map((entry) => entry.event.type),
    [...U1_HISTORY],
  );
  const times = entries.map((entry) => entry.event.time);
  assert.deepEqual(
    times,
    [...times].sort((a, b) => b - a),
    'newest first',
  );
  assert.equal(new Set(entries.map((entry) => entry.id)).size, entries.length, 'distinct ids');
  const [logout, login, reused, refresh, firstLogin] = entries.map((entry) => entry.event);
  assert.equal(firstLogin?.sessionId, sessions[0]);
  assert.equal(firstLogin?.ip, '203.0.113.7');
  assert.equal(firstLogin?.userAgent, FIREFOX);
  assert.equal(firstLogin?.reason, 'password');
  assert.equal(refresh?.sessionId, sessions[0]);
  assert.equal(reused?.sessionId, sessions[0]);
  assert.equal(reused?.userAgent, HOSTILE_AGENT, 'stored as it came; printing escapes it');
  assert.ok(
    reused?.type === 'refresh_token_reused' && reused.generation === 0 && reused.currentGeneration === 1,
  );
  assert.equal(login?.sessionId, sessions[1]);
  assert.equal(login?.clientId, 'cli-test');
  assert.equal(logout?.sessionId, sessions[1]);
  for (const entry of entries) assert.equal(entry.event.userId, 'u1');
}

/** No stored event carries a token or a secret: only the event's own fields. */
export function assertNoSecrets(entries: readonly AuditEntry[], secrets: readonly string[]): void {
  const text = JSON.stringify(entries);
  for (const secret of secrets) assert.ok(!text.includes(secret), 'a token reached the audit trail');
}

/** Retention: a month later, u1's history is gone; walter's new login is there. */
export async function assertRetention(trail: AuditTrail, { manager, clock }: Scenario): Promise<void> {
  assert.equal((await trail.recent({ userId: 'u1', since: 0 })).length, U1_HISTORY.length);
  clock.advance(31 * DAY);
  // Nothing is read past retention, even before a prune deletes it.
  assert.deepEqual(await trail.recent({ userId: 'u1' }), []);
  await manager.login('walter', 'calmerthanyouare');
  await manager.events.flush(); // the write, then the prune it found due
  assert.deepEqual(await trail.recent({ userId: 'u1', since: 0 }), [], 'deleted, not only hidden');
  const everyone = await trail.recent({ since: 0 });
  assert.deepEqual(
    everyone.map((entry) => [entry.event.type, entry.event.userId]),
    [['login', 'u2']],
  );
  assert.equal(await trail.prune(), 0);
}
