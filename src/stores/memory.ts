import { z } from 'zod';
import { BatonError } from '../core/errors.ts';
import { parseOptions } from '../core/options.ts';
import type {
  Revocation,
  RevokeSessionsRequest,
  RotateRequest,
  RotateResult,
  SessionRecord,
  SessionStore,
} from './types.ts';

const PROOF_SWEEP_MIN = 1024;

/**
 * A store for tests, demos and single-process services that can lose their
 * sessions on restart.
 *
 * Every method does its work synchronously before its promise settles, so no
 * other call can interleave with it: that is what makes `rotateSession` an
 * atomic compare-and-set here without any locking.
 *
 * @example
 * ```ts
 * import { MemoryStore } from 'baton-auth';
 *
 * const store = new MemoryStore(); // SessionManager's `store`; lost when the process ends
 * await store.close();
 * ```
 */
export class MemoryStore implements SessionStore {
  readonly #sessions = new Map<string, SessionRecord>();
  readonly #sessionIdsByUser = new Map<string, Set<string>>();
  readonly #revocations = new Map<string, Revocation>();
  /** DPoP proof id -> expiresAt. */
  readonly #proofIds = new Map<string, number>();
  /** Expired proof ids are swept when the map reaches this size, so it stays bounded without deleteExpired. */
  #proofSweepAt = PROOF_SWEEP_MIN;
  #closed = false;

  /** Takes no options; any given is refused (`new MemoryStore({ max })` would otherwise be silently ignored). */
  constructor(options: Record<string, never> = {}) {
    parseOptions(z.strictObject({}), options, 'MemoryStore');
  }

  async createSession(session: SessionRecord): Promise<void> {
    this.#assertOpen();
    if (this.#sessions.has(session.id)) {
      throw new BatonError('internal_error', `session id ${session.id} already exists`);
    }
    // Copies in and out: a caller mutating its object must not change what is stored.
    this.#sessions.set(session.id, { ...session });
    let ids = this.#sessionIdsByUser.get(session.userId);
    if (!ids) {
      ids = new Set();
      this.#sessionIdsByUser.set(session.userId, ids);
    }
    ids.add(session.id);
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    this.#assertOpen();
    return copy(this.#sessions.get(id));
  }

  async rotateSession(request: RotateRequest): Promise<RotateResult> {
    this.#assertOpen();
    const session = this.#sessions.get(request.id);
    if (
      !session ||
      session.revokedAt !== null ||
      session.generation !== request.expectedGeneration ||
      session.tokenHash !== request.expectedTokenHash
    ) {
      return { rotated: false, session: copy(session) };
    }
    session.tokenHash = request.newTokenHash;
    session.generation += 1;
    session.rotatedAt = request.now;
    session.lastUsedAt = request.now;
    return { rotated: true, session: { ...session } };
  }

  async touchSession(id: string, now: number): Promise<void> {
    this.#assertOpen();
    const session = this.#sessions.get(id);
    if (session) session.lastUsedAt = now;
  }

  async revokeSessions(request: RevokeSessionsRequest): Promise<SessionRecord[]> {
    this.#assertOpen();
    const { sessionId, userId } = request;
    let candidates: Iterable<string>;
    if (sessionId !== undefined) candidates = [sessionId];
    else if (userId !== undefined) candidates = this.#sessionIdsByUser.get(userId) ?? [];
    else throw new BatonError('internal_error', 'revokeSessions needs a sessionId or a userId');

    const revoked: SessionRecord[] = [];
    for (const id of candidates) {
      const session = this.#sessions.get(id);
      if (!session || session.revokedAt !== null) continue;
      if (userId !== undefined && session.userId !== userId) continue;
      session.revokedAt = request.now;
      session.revokedReason = request.reason;
      this.#recordRevocation({ kind: 'session', id, expiresAt: request.revocationExpiresAt });
      revoked.push({ ...session });
    }
    return revoked;
  }

  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    this.#assertOpen();
    const live: SessionRecord[] = [];
    for (const id of this.#sessionIdsByUser.get(userId) ?? []) {
      const session = this.#sessions.get(id);
      if (session && session.revokedAt === null && (session.expiresAt === null || session.expiresAt > now)) {
        live.push({ ...session });
      }
    }
    return live.sort((a, b) => b.createdAt - a.createdAt);
  }

  async addRevocation(revocation: Revocation): Promise<void> {
    this.#assertOpen();
    this.#recordRevocation(revocation);
  }

  async listRevocations(now: number): Promise<Revocation[]> {
    this.#assertOpen();
    return [...this.#revocations.values()].filter((r) => r.expiresAt > now).map((r) => ({ ...r }));
  }

  async deleteExpired(request: { now: number; revokedBefore: number }): Promise<number> {
    this.#assertOpen();
    // No batching: nothing else can run while this loop does, and it is only a Map walk.
    let deleted = 0;
    for (const session of this.#sessions.values()) {
      const expired = session.expiresAt !== null && session.expiresAt <= request.now;
      const revokedLongAgo = session.revokedAt !== null && session.revokedAt <= request.revokedBefore;
      if (!expired && !revokedLongAgo) continue;
      this.#sessions.delete(session.id);
      const ids = this.#sessionIdsByUser.get(session.userId);
      ids?.delete(session.id);
      if (ids?.size === 0) this.#sessionIdsByUser.delete(session.userId);
      deleted += 1;
    }
    for (const [key, revocation] of this.#revocations) {
      if (revocation.expiresAt <= request.now) this.#revocations.delete(key);
    }
    this.#sweepProofIds(request.now);
    return deleted;
  }

  async rememberProofId(id: string, expiresAt: number, now: number): Promise<boolean> {
    this.#assertOpen();
    const known = this.#proofIds.get(id);
    if (known !== undefined && known > now) return false;
    this.#proofIds.set(id, expiresAt);
    if (this.#proofIds.size >= this.#proofSweepAt) {
      this.#sweepProofIds(now);
      // Sweep again only once the map has doubled: amortised O(1) per call.
      this.#proofSweepAt = Math.max(PROOF_SWEEP_MIN, this.#proofIds.size * 2);
    }
    return true;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #sweepProofIds(now: number): void {
    for (const [id, expiresAt] of this.#proofIds) {
      if (expiresAt <= now) this.#proofIds.delete(id);
    }
  }

  #recordRevocation(revocation: Revocation): void {
    // `kind` never contains ':', so the key is unambiguous.
    const key = `${revocation.kind}:${revocation.id}`;
    const existing = this.#revocations.get(key);
    if (!existing || existing.expiresAt < revocation.expiresAt) {
      this.#revocations.set(key, {
        kind: revocation.kind,
        id: revocation.id,
        expiresAt: revocation.expiresAt,
      });
    }
  }

  #assertOpen(): void {
    if (this.#closed)
      throw new BatonError('store_unavailable', 'the memory store is closed', { retryAfter: 1 });
  }
}

function copy(session: SessionRecord | undefined): SessionRecord | null {
  return session ? { ...session } : null;
}
