import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import type {
  Revocation,
  RevocationReason,
  RevokeSessionsRequest,
  RotateRequest,
  SessionRecord,
  SessionStore,
} from '../stores/types.ts';

type Body = () => void | Promise<void>;

/**
 * The test functions of your runner. node:test: pass `{ describe, it, after }`
 * as imported; vitest and jest: `{ describe, it, after: afterAll }`.
 *
 * The suite opens a store inside every test and closes it at the end, so it
 * needs no per-test hooks; `after`, when given, closes any store a timed-out
 * test left open. `before`, `beforeEach` and `afterEach` are accepted so the
 * whole node:test module object can be passed, and are not used.
 */
export interface ConformanceTestFunctions {
  describe: (name: string, fn: () => void) => unknown;
  it: (name: string, fn: Body) => unknown;
  before?: (fn: Body) => unknown;
  after?: (fn: Body) => unknown;
  beforeEach?: (fn: Body) => unknown;
  afterEach?: (fn: Body) => unknown;
}

/** Fixed instants, so results never depend on the machine's clock. */
const NOW = Date.UTC(2030, 0, 1);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * Proves that `makeStore()` yields a correct `SessionStore`.
 *
 * @example
 * ```ts
 * // test/my-store.test.ts, run with `node --test`
 * import { after, describe, it } from 'node:test';
 * import { MemoryStore } from 'baton-auth';
 * import { storeConformanceSuite } from 'baton-auth/testing';
 *
 * storeConformanceSuite('MemoryStore', () => new MemoryStore(), { describe, it, after });
 * ```
 *
 * Stores from separate `makeStore()` calls may share their data (one database,
 * one Redis): every test uses fresh random ids, and the `deleteExpired` tests
 * work in the year 2001 while all others work in 2030 and later, so tests
 * cannot see or delete each other's rows.
 */
export function storeConformanceSuite(
  name: string,
  makeStore: () => Promise<SessionStore> | SessionStore,
  t: ConformanceTestFunctions,
): void {
  const open = new Set<SessionStore>();

  /** Runs `body` with a new store and closes it, whatever happens. */
  const test = (title: string, body: (store: SessionStore) => Promise<void>): void => {
    t.it(title, async () => {
      const store = await makeStore();
      open.add(store);
      try {
        await body(store);
      } finally {
        open.delete(store);
        await store.close();
      }
    });
  };

  t.describe(`${name}: SessionStore conformance`, () => {
    t.after?.(async () => {
      for (const store of open) await store.close();
      open.clear();
    });

    t.describe('createSession / getSession', () => {
      test('round-trips every field, set or null', async (store) => {
        const full = session({
          clientId: 'client-1',
          expiresAt: NOW + 30 * DAY,
          userAgent: 'Mozilla/5.0 (X11; Linux x86_64) "quoted" ünïcode',
          ip: '2001:db8::1',
          generation: 7,
          rotatedAt: NOW + 5 * MINUTE,
          lastUsedAt: NOW + 6 * MINUTE,
          revokedAt: NOW + 7 * MINUTE,
          revokedReason: 'refresh_token_reused',
          jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I',
        });
        const bare = session({ clientId: null, expiresAt: null, userAgent: null, ip: null });
        await store.createSession(full);
        await store.createSession(bare);
        assert.deepEqual(await store.getSession(full.id), full);
        assert.deepEqual(await store.getSession(bare.id), bare);
      });

      test('rejects a duplicate id and keeps the first row', async (store) => {
        const first = session();
        await store.createSession(first);
        await assert.rejects(store.createSession(session({ id: first.id, userId: uid('intruder') })));
        assert.deepEqual(await store.getSession(first.id), first);
      });

      test('getSession of an unknown id is null', async (store) => {
        assert.equal(await store.getSession(uid('missing')), null);
      });

      test('hands out copies: mutating inputs or results does not change stored rows', async (store) => {
        const input = session();
        const expected = { ...input };
        await store.createSession(input);
        input.tokenHash = hash('mutated-input');
        input.generation = 99;
        const fetched = (await store.getSession(expected.id))!;
        fetched.revokedAt = NOW;
        fetched.userId = 'someone-else';
        const [listed] = await store.listSessions(expected.userId, NOW);
        listed!.tokenHash = hash('mutated-listed');
        assert.deepEqual(await store.getSession(expected.id), expected);
      });
    });

    t.describe('rotateSession', () => {
      test('rotates: generation + 1, new hash, rotatedAt and lastUsedAt = now, rest unchanged', async (store) => {
        // A DPoP-bound session (jkt) stays bound through rotations.
        const s = session({ jkt: hash('dpop key') });
        await store.createSession(s);
        const at = NOW + 90_000;
        const result = await store.rotateSession(rotation(s, 'next', at));
        const expected: SessionRecord = {
          ...s,
          generation: 1,
          tokenHash: hash('next'),
          rotatedAt: at,
          lastUsedAt: at,
        };
        assert.deepEqual(result, { rotated: true, session: expected });
        assert.deepEqual(await store.getSession(s.id), expected);
      });

      test('a stale generation does not rotate and returns the current row', async (store) => {
        const s = session({ generation: 3, tokenHash: hash('g3'), rotatedAt: NOW });
        await store.createSession(s);
        const result = await store.rotateSession({ ...rotation(s, 'next'), expectedGeneration: 2 });
        assert.deepEqual(result, { rotated: false, session: s });
        const ahead = await store.rotateSession({ ...rotation(s, 'next'), expectedGeneration: 4 });
        assert.deepEqual(ahead, { rotated: false, session: s });
        assert.deepEqual(await store.getSession(s.id), s);
      });

      test('a wrong token hash does not rotate and returns the current row', async (store) => {
        const s = session();
        await store.createSession(s);
        const result = await store.rotateSession({
          ...rotation(s, 'next'),
          expectedTokenHash: hash('guess'),
        });
        assert.deepEqual(result, { rotated: false, session: s });
        assert.deepEqual(await store.getSession(s.id), s);
      });

      test('a revoked session is not rotated', async (store) => {
        const s = session({ revokedAt: NOW + MINUTE, revokedReason: 'logout' });
        await store.createSession(s);
        const result = await store.rotateSession(rotation(s, 'next', NOW + 2 * MINUTE));
        assert.deepEqual(result, { rotated: false, session: s });
        assert.deepEqual(await store.getSession(s.id), s);
      });

      test('a session revoked through revokeSessions is not rotated', async (store) => {
        const s = session();
        await store.createSession(s);
        await store.revokeSessions(revokeRequest({ sessionId: s.id }));
        const result = await store.rotateSession(rotation(s, 'next', NOW + 2 * MINUTE));
        assert.equal(result.rotated, false);
        assert.equal(result.session?.tokenHash, s.tokenHash);
        assert.equal(result.session?.generation, s.generation);
        assert.equal(result.session?.revokedReason, 'logout');
      });

      test('an unknown id gives { rotated: false, session: null }', async (store) => {
        const ghost = session();
        assert.deepEqual(await store.rotateSession(rotation(ghost, 'next')), {
          rotated: false,
          session: null,
        });
        assert.equal(await store.getSession(ghost.id), null);
      });

      test('50 concurrent rotations with the same expectation: exactly one wins', async (store) => {
        const s = session();
        await store.createSession(s);
        const at = NOW + MINUTE;
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => store.rotateSession(rotation(s, `racer-${i}`, at))),
        );
        const winners = results.flatMap((r, i) => (r.rotated ? [i] : []));
        assert.equal(winners.length, 1, `expected one winner, got ${winners.length}`);
        const winnerHash = hash(`racer-${winners[0]}`);
        const final = await store.getSession(s.id);
        assert.equal(final?.generation, s.generation + 1);
        assert.equal(final?.tokenHash, winnerHash);
        for (const result of results) {
          // Losers see the winner's write, which is what the grace window builds on.
          assert.equal(result.session?.generation, s.generation + 1);
          assert.equal(result.session?.tokenHash, winnerHash);
        }
      });

      test('a chain of sequential rotations advances one generation each; old tokens stay dead', async (store) => {
        let current = session();
        await store.createSession(current);
        const history: SessionRecord[] = [];
        for (let i = 1; i <= 10; i++) {
          history.push(current);
          const result = await store.rotateSession(rotation(current, `link-${i}`, NOW + i * MINUTE));
          assert.equal(result.rotated, true, `rotation ${i}`);
          current = result.session!;
          assert.equal(current.generation, i);
          assert.equal(current.tokenHash, hash(`link-${i}`));
          assert.equal(current.rotatedAt, NOW + i * MINUTE);
        }
        for (const old of history) {
          const replay = await store.rotateSession(rotation(old, 'replay', NOW + HOUR));
          assert.deepEqual(replay, { rotated: false, session: current });
        }
        assert.deepEqual(await store.getSession(current.id), current);
      });
    });

    t.describe('touchSession', () => {
      test('updates lastUsedAt and nothing else', async (store) => {
        const s = session();
        await store.createSession(s);
        await store.touchSession(s.id, NOW + 3 * MINUTE);
        assert.deepEqual(await store.getSession(s.id), { ...s, lastUsedAt: NOW + 3 * MINUTE });
      });

      test('an unknown id is a no-op', async (store) => {
        const id = uid('missing');
        await store.touchSession(id, NOW);
        assert.equal(await store.getSession(id), null);
      });
    });

    t.describe('revokeSessions', () => {
      test('by sessionId: revokes that session only, records its revocation, once', async (store) => {
        const user = uid('user');
        const target = session({ userId: user, jkt: hash('dpop key') });
        const sibling = session({ userId: user });
        await store.createSession(target);
        await store.createSession(sibling);
        const at = NOW + MINUTE;
        const keepUntil = at + 15 * MINUTE;
        const revoked = await store.revokeSessions(
          revokeRequest({ sessionId: target.id, now: at, revocationExpiresAt: keepUntil }),
        );
        const expected: SessionRecord = { ...target, revokedAt: at, revokedReason: 'logout' };
        assert.deepEqual(revoked, [expected]);
        assert.deepEqual(await store.getSession(target.id), expected);
        assert.deepEqual(await store.getSession(sibling.id), sibling);
        assert.deepEqual(await revocationsOf(store, [target.id, sibling.id], at), [
          { kind: 'session', id: target.id, expiresAt: keepUntil },
        ]);
        const again = await store.revokeSessions(
          revokeRequest({ sessionId: target.id, now: at + MINUTE, reason: 'admin' }),
        );
        assert.deepEqual(again, []);
        assert.deepEqual(await store.getSession(target.id), expected, 'a second revocation changes nothing');
      });

      test('by userId: revokes every live session of that user and no one else', async (store) => {
        const user = uid('user');
        const other = uid('other');
        const live = [session({ userId: user }), session({ userId: user, expiresAt: null })];
        const already = session({ userId: user, revokedAt: NOW - MINUTE, revokedReason: 'logout' });
        const stranger = session({ userId: other });
        for (const s of [...live, already, stranger]) await store.createSession(s);
        const at = NOW + MINUTE;
        const keepUntil = at + 15 * MINUTE;
        const revoked = await store.revokeSessions(
          revokeRequest({ userId: user, reason: 'logout_all', now: at, revocationExpiresAt: keepUntil }),
        );
        const expected = live.map((s) => ({ ...s, revokedAt: at, revokedReason: 'logout_all' as const }));
        assert.deepEqual(byId(revoked), byId(expected));
        for (const s of expected) assert.deepEqual(await store.getSession(s.id), s);
        assert.deepEqual(await store.getSession(already.id), already, 'already revoked: left as it was');
        assert.deepEqual(await store.getSession(stranger.id), stranger);
        assert.deepEqual(
          await revocationsOf(
            store,
            live.map((s) => s.id),
            at,
          ),
          byId(live.map((s) => ({ kind: 'session' as const, id: s.id, expiresAt: keepUntil }))),
        );
        assert.deepEqual(await revocationsOf(store, [stranger.id], at), []);
        assert.deepEqual(await store.revokeSessions(revokeRequest({ userId: user, now: at + MINUTE })), []);
      });

      test('also revokes a session past its expiry, whose access tokens may still be valid', async (store) => {
        const s = session({ expiresAt: NOW - MINUTE });
        await store.createSession(s);
        const revoked = await store.revokeSessions(revokeRequest({ userId: s.userId }));
        assert.deepEqual(
          revoked.map((r) => r.id),
          [s.id],
        );
      });

      test('with sessionId and userId, a session of another user is left alone', async (store) => {
        const victim = session();
        await store.createSession(victim);
        const attacker = uid('attacker');
        const revoked = await store.revokeSessions(revokeRequest({ sessionId: victim.id, userId: attacker }));
        assert.deepEqual(revoked, []);
        assert.deepEqual(await store.getSession(victim.id), victim);
        assert.deepEqual(await revocationsOf(store, [victim.id], NOW), []);
        const own = await store.revokeSessions(
          revokeRequest({ sessionId: victim.id, userId: victim.userId }),
        );
        assert.deepEqual(
          own.map((r) => r.id),
          [victim.id],
        );
      });

      test('an unknown session id revokes nothing', async (store) => {
        const id = uid('missing');
        assert.deepEqual(await store.revokeSessions(revokeRequest({ sessionId: id })), []);
        assert.deepEqual(await revocationsOf(store, [id], NOW), []);
      });

      test('without sessionId and userId it fails instead of revoking everything', async (store) => {
        const s = session();
        await store.createSession(s);
        await assert.rejects(store.revokeSessions(revokeRequest({})));
        assert.deepEqual(await store.getSession(s.id), s);
      });
    });

    t.describe('listSessions', () => {
      test('only live sessions of the user, newest first', async (store) => {
        const user = uid('user');
        const oldest = session({ userId: user, createdAt: NOW - 3 * DAY });
        const middle = session({ userId: user, createdAt: NOW - 2 * DAY, expiresAt: null });
        const newest = session({ userId: user, createdAt: NOW - DAY });
        const excluded = [
          session({ userId: user, createdAt: NOW - 4 * DAY, expiresAt: NOW - 1 }),
          session({ userId: user, createdAt: NOW - 5 * DAY, expiresAt: NOW }), // expires exactly now
          session({ userId: user, createdAt: NOW - 6 * DAY, revokedAt: NOW - DAY, revokedReason: 'logout' }),
          session({ userId: uid('other'), createdAt: NOW - 12 * HOUR }),
        ];
        // Inserted out of order, so insertion order cannot pass for sorting.
        for (const s of [middle, ...excluded, oldest, newest]) await store.createSession(s);
        assert.deepEqual(await store.listSessions(user, NOW), [newest, middle, oldest]);
      });

      test('a session revoked through revokeSessions disappears from the list', async (store) => {
        const user = uid('user');
        const a = session({ userId: user, createdAt: NOW - 2 * HOUR });
        const b = session({ userId: user, createdAt: NOW - HOUR });
        await store.createSession(a);
        await store.createSession(b);
        await store.revokeSessions(revokeRequest({ sessionId: b.id }));
        assert.deepEqual(
          (await store.listSessions(user, NOW)).map((s) => s.id),
          [a.id],
        );
      });

      test('reflects rotations and the passing of time', async (store) => {
        const user = uid('user');
        const s = session({ userId: user, expiresAt: NOW + HOUR });
        await store.createSession(s);
        const rotated = (await store.rotateSession(rotation(s, 'next', NOW + MINUTE))).session;
        assert.deepEqual(await store.listSessions(user, NOW + MINUTE), [rotated]);
        assert.deepEqual(await store.listSessions(user, NOW + HOUR), []);
      });

      test('an unknown user has no sessions', async (store) => {
        assert.deepEqual(await store.listSessions(uid('nobody'), NOW), []);
      });
    });

    t.describe('addRevocation / listRevocations', () => {
      test('lists entries that expire after now, not those at or before', async (store) => {
        const live: Revocation = { kind: 'token', id: uid('jti'), expiresAt: NOW + MINUTE };
        const atNow: Revocation = { kind: 'token', id: uid('jti'), expiresAt: NOW };
        const past: Revocation = { kind: 'session', id: uid('sid'), expiresAt: NOW - MINUTE };
        for (const r of [live, atNow, past]) await store.addRevocation(r);
        const ids = [live.id, atNow.id, past.id];
        assert.deepEqual(await revocationsOf(store, ids, NOW), [live]);
        assert.deepEqual(await revocationsOf(store, ids, NOW - 2 * MINUTE), byId([live, atNow, past]));
      });

      test('the same (kind, id) twice keeps the later expiry, whatever the order', async (store) => {
        const rising = uid('jti');
        const falling = uid('jti');
        await store.addRevocation({ kind: 'token', id: rising, expiresAt: NOW + MINUTE });
        await store.addRevocation({ kind: 'token', id: rising, expiresAt: NOW + HOUR });
        await store.addRevocation({ kind: 'token', id: falling, expiresAt: NOW + HOUR });
        await store.addRevocation({ kind: 'token', id: falling, expiresAt: NOW + MINUTE });
        assert.deepEqual(
          await revocationsOf(store, [rising, falling], NOW),
          byId([
            { kind: 'token', id: rising, expiresAt: NOW + HOUR },
            { kind: 'token', id: falling, expiresAt: NOW + HOUR },
          ]),
        );
      });

      test('kinds are separate: a session and a token with the same id are two entries', async (store) => {
        const id = uid('shared');
        await store.addRevocation({ kind: 'session', id, expiresAt: NOW + MINUTE });
        await store.addRevocation({ kind: 'token', id, expiresAt: NOW + HOUR });
        const found = (await store.listRevocations(NOW)).filter((r) => r.id === id);
        assert.deepEqual(
          found.sort((a, b) => a.kind.localeCompare(b.kind)),
          [
            { kind: 'session', id, expiresAt: NOW + MINUTE },
            { kind: 'token', id, expiresAt: NOW + HOUR },
          ],
        );
      });

      test('revokeSessions does not shorten a longer revocation of the same session', async (store) => {
        const s = session();
        await store.createSession(s);
        await store.addRevocation({ kind: 'session', id: s.id, expiresAt: NOW + DAY });
        await store.revokeSessions(revokeRequest({ sessionId: s.id, revocationExpiresAt: NOW + HOUR }));
        assert.deepEqual(await revocationsOf(store, [s.id], NOW), [
          { kind: 'session', id: s.id, expiresAt: NOW + DAY },
        ]);
      });
    });

    // Optional (DPoP's replay cache): these pass on a store without the method.
    t.describe('rememberProofId', () => {
      /** The store's rememberProofId, or undefined when it has none. */
      const proofIds = (store: SessionStore) =>
        store.rememberProofId === undefined
          ? undefined
          : (id: string, expiresAt: number, now: number) => store.rememberProofId!(id, expiresAt, now);

      test('is true for a new id, then false while it is unexpired', async (store) => {
        const remember = proofIds(store);
        if (remember === undefined) return;
        const id = proofId();
        assert.equal(await remember(id, NOW + MINUTE, NOW), true);
        assert.equal(await remember(id, NOW + 2 * MINUTE, NOW), false);
        assert.equal(await remember(id, NOW + 2 * MINUTE, NOW + MINUTE - 1), false);
        assert.equal(await remember(proofId(), NOW + MINUTE, NOW), true, 'another id is another entry');
      });

      test('50 concurrent uses of one id: exactly one is true', async (store) => {
        const remember = proofIds(store);
        if (remember === undefined) return;
        const id = proofId();
        const results = await Promise.all(Array.from({ length: 50 }, () => remember(id, NOW + MINUTE, NOW)));
        assert.equal(results.filter(Boolean).length, 1, `expected one true, got ${results.join(', ')}`);
      });

      test('an id counts as new again from its expiresAt on, and is then remembered anew', async (store) => {
        const remember = proofIds(store);
        if (remember === undefined) return;
        const id = proofId();
        assert.equal(await remember(id, NOW + MINUTE, NOW), true);
        assert.equal(await remember(id, NOW + 3 * MINUTE, NOW + MINUTE), true, 'at expiresAt it is expired');
        assert.equal(
          await remember(id, NOW + 5 * MINUTE, NOW + 2 * MINUTE),
          false,
          'remembered until the new expiry',
        );
      });

      test('a replay neither extends nor shortens the entry', async (store) => {
        const remember = proofIds(store);
        if (remember === undefined) return;
        const id = proofId();
        assert.equal(await remember(id, NOW + MINUTE, NOW), true);
        assert.equal(await remember(id, NOW + HOUR, NOW + 1000), false);
        assert.equal(await remember(id, NOW + 1001, NOW + 1000), false);
        assert.equal(
          await remember(id, NOW + 2 * MINUTE, NOW + MINUTE),
          true,
          'expired at the first expiresAt',
        );
      });

      test('deleteExpired forgets expired ids and keeps unexpired ones', async (store) => {
        const remember = proofIds(store);
        if (remember === undefined) return;
        // Year 2001, as the deleteExpired tests below: no other test's rows are that old.
        const THEN = Date.UTC(2001, 0, 1);
        const [expired, live] = [proofId(), proofId()];
        assert.equal(await remember(expired, THEN, THEN - MINUTE), true);
        assert.equal(await remember(live, THEN + HOUR, THEN - MINUTE), true);
        await store.deleteExpired({ now: THEN, revokedBefore: THEN - DAY });
        assert.equal(await remember(expired, THEN + MINUTE, THEN), true);
        assert.equal(await remember(live, THEN + 2 * HOUR, THEN), false);
      });
    });

    t.describe('deleteExpired', () => {
      // Year 2001: far before every row the other tests write, should they share a store.
      const THEN = Date.UTC(2001, 0, 1);

      test('deletes expired and long-revoked sessions and expired revocations, keeps the rest', async (store) => {
        const user = uid('user');
        const gone = {
          expired: session({ userId: user, createdAt: THEN - DAY, expiresAt: THEN - MINUTE }),
          expiringNow: session({ userId: user, createdAt: THEN - DAY, expiresAt: THEN }),
          revokedLongAgo: session({
            userId: user,
            createdAt: THEN - DAY,
            expiresAt: THEN + DAY,
            revokedAt: THEN - HOUR,
            revokedReason: 'logout',
          }),
          revokedAtCutoff: session({
            userId: user,
            createdAt: THEN - DAY,
            expiresAt: null,
            revokedAt: THEN - 30 * MINUTE,
            revokedReason: 'admin',
          }),
        };
        const kept = {
          live: session({ userId: user, createdAt: THEN - DAY, expiresAt: THEN + 1 }),
          immortal: session({ userId: user, createdAt: THEN - DAY, expiresAt: null }),
          revokedRecently: session({
            userId: user,
            createdAt: THEN - DAY,
            expiresAt: THEN + DAY,
            revokedAt: THEN - 29 * MINUTE,
            revokedReason: 'logout',
          }),
        };
        for (const s of [...Object.values(gone), ...Object.values(kept)]) await store.createSession(s);
        const expiredRevocations: Revocation[] = [
          { kind: 'token', id: uid('jti'), expiresAt: THEN - MINUTE },
          { kind: 'session', id: uid('sid'), expiresAt: THEN },
        ];
        const liveRevocation: Revocation = { kind: 'token', id: uid('jti'), expiresAt: THEN + 1 };
        for (const r of [...expiredRevocations, liveRevocation]) await store.addRevocation(r);

        const deleted = await store.deleteExpired({ now: THEN, revokedBefore: THEN - 30 * MINUTE });

        assert.equal(deleted, Object.keys(gone).length);
        for (const [label, s] of Object.entries(gone))
          assert.equal(await store.getSession(s.id), null, label);
        for (const [label, s] of Object.entries(kept))
          assert.deepEqual(await store.getSession(s.id), s, label);
        // Listing as of long ago would show the expired entries had they survived.
        assert.deepEqual(
          await revocationsOf(
            store,
            [...expiredRevocations, liveRevocation].map((r) => r.id),
            THEN - DAY,
          ),
          [liveRevocation],
        );
        assert.equal(await store.deleteExpired({ now: THEN, revokedBefore: THEN - 30 * MINUTE }), 0);
      });

      test('removes more rows than one batch and counts them all', async (store) => {
        const user = uid('user');
        const count = 2_345;
        for (let i = 0; i < count; i++) {
          await store.createSession(session({ userId: user, createdAt: THEN - DAY, expiresAt: THEN - i }));
        }
        const survivor = session({ userId: user, createdAt: THEN - DAY, expiresAt: THEN + HOUR });
        await store.createSession(survivor);
        assert.equal(await store.deleteExpired({ now: THEN, revokedBefore: THEN - DAY }), count);
        assert.deepEqual(await store.listSessions(user, THEN - 2 * DAY), [survivor]);
      });
    });
  });
}

function uid(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

/** Shaped like the ids Baton passes to rememberProofId: a SHA-256 in base64url. */
function proofId(): string {
  return createHash('sha256').update(randomUUID()).digest('base64url');
}

/** Shaped like what a store keeps: SHA-256 in base64url. */
function hash(label: string): string {
  return createHash('sha256').update(label).digest('base64url');
}

function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const id = overrides.id ?? uid('sid');
  return {
    id,
    userId: uid('user'),
    clientId: 'web',
    createdAt: NOW,
    lastUsedAt: NOW,
    expiresAt: NOW + 30 * DAY,
    userAgent: 'conformance-suite',
    ip: '203.0.113.7',
    secretSalt: Buffer.from(id).toString('base64url'),
    tokenHash: hash(`initial ${id}`),
    generation: 0,
    rotatedAt: null,
    revokedAt: null,
    revokedReason: null,
    jkt: null,
    ...overrides,
  };
}

function rotation(from: SessionRecord, next: string, now = NOW + MINUTE): RotateRequest {
  return {
    id: from.id,
    expectedGeneration: from.generation,
    expectedTokenHash: from.tokenHash,
    newTokenHash: hash(next),
    now,
  };
}

function revokeRequest(overrides: {
  sessionId?: string;
  userId?: string;
  reason?: RevocationReason;
  now?: number;
  revocationExpiresAt?: number;
}): RevokeSessionsRequest {
  const now = overrides.now ?? NOW + MINUTE;
  return {
    ...overrides,
    reason: overrides.reason ?? 'logout',
    now,
    revocationExpiresAt: overrides.revocationExpiresAt ?? now + 15 * MINUTE,
  };
}

function byId<T extends { id: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => a.id.localeCompare(b.id));
}

/** This test's entries only: a shared store may hold other tests' revocations. */
async function revocationsOf(store: SessionStore, ids: string[], now: number): Promise<Revocation[]> {
  const wanted = new Set(ids);
  return byId((await store.listRevocations(now)).filter((r) => wanted.has(r.id)));
}
