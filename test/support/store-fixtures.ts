import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SessionRecord, SessionStore } from '../../src/index.ts';
import { BatonError } from '../../src/index.ts';
import { fixtureTokenHash } from '../fixtures/token-hash.ts';

/** A fresh generation-0 session created at `now`, living `lifetimeMs`; overrides win. */
export function sessionRecord(
  now: number,
  lifetimeMs: number,
  overrides: Partial<SessionRecord> = {},
): SessionRecord {
  const id = overrides.id ?? `sid-${randomUUID()}`;
  return {
    id,
    userId: `user-${randomUUID()}`,
    clientId: null,
    createdAt: now,
    lastUsedAt: now,
    expiresAt: now + lifetimeMs,
    userAgent: null,
    ip: null,
    secretSalt: 'salt',
    tokenHash: fixtureTokenHash(id, 0),
    generation: 0,
    rotatedAt: null,
    revokedAt: null,
    revokedReason: null,
    jkt: null,
    ...overrides,
  };
}

/** An `assert.rejects`/`assert.throws` matcher for a BatonError of `code` (and message). */
export function isBatonError(code: string, message?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof BatonError, `expected a BatonError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  };
}

/** While its feed is cut off, `store` must not learn of revocation `id` for `ms`. */
export async function assertUnawareWhileCut(store: SessionStore, id: string, ms = 500): Promise<void> {
  let early = false;
  const unsubscribe = store.subscribeRevocations?.((list) => {
    early ||= list.some((revocation) => revocation.id === id);
  });
  await sleep(ms);
  unsubscribe?.();
  assert.equal(early, false, 'cut off, the reader cannot know yet');
}

/** Two stores over the same data race 50 uses of one DPoP proof id: exactly one is new. Closes both. */
export async function assertOneProofIdWins(
  a: Required<Pick<SessionStore, 'rememberProofId' | 'close'>>,
  b: Required<Pick<SessionStore, 'rememberProofId' | 'close'>>,
  now: number,
  lifetimeMs: number,
): Promise<void> {
  try {
    const id = `race-${randomUUID()}`;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).rememberProofId(id, now + lifetimeMs, now)),
    );
    assert.equal(results.filter(Boolean).length, 1);
  } finally {
    await a.close();
    await b.close();
  }
}
