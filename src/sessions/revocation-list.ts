import type { Clock } from '../core/clock.ts';
import type { Revocation } from '../stores/types.ts';

/**
 * The in-memory set of revoked sessions and access-token ids that
 * `verifyAccessToken` consults on every request: O(1), no I/O.
 *
 * An entry lives until no access token it covers can still be valid, so the
 * set stays as small as the number of revocations in the last access-token
 * lifetime. Expired entries are dropped when met and swept in bulk as the
 * set grows.
 */
export class RevocationList {
  readonly #sessions = new Map<string, number>();
  readonly #tokens = new Map<string, number>();
  #nextSweepAt = 1024;

  constructor(private readonly clock: Clock) {}

  add(revocation: Revocation): void {
    const map = revocation.kind === 'session' ? this.#sessions : this.#tokens;
    const known = map.get(revocation.id);
    if (known === undefined || known < revocation.expiresAt) map.set(revocation.id, revocation.expiresAt);
    if (this.size >= this.#nextSweepAt) this.#sweepAfterGrowth();
  }

  addAll(revocations: Iterable<Revocation>): void {
    for (const revocation of revocations) this.add(revocation);
  }

  isSessionRevoked(sessionId: string, now: number): boolean {
    return RevocationList.#live(this.#sessions, sessionId, now);
  }

  isTokenRevoked(jti: string, now: number): boolean {
    return RevocationList.#live(this.#tokens, jti, now);
  }

  get size(): number {
    return this.#sessions.size + this.#tokens.size;
  }

  /** Drops every entry that expired at or before `now`. */
  sweep(now: number): void {
    for (const map of [this.#sessions, this.#tokens]) {
      for (const [id, expiresAt] of map) if (expiresAt <= now) map.delete(id);
    }
  }

  #sweepAfterGrowth(): void {
    this.sweep(this.clock.now());
    // Sweep again only once the set has doubled, so sweeping stays amortised O(1) per add.
    this.#nextSweepAt = Math.max(1024, this.size * 2);
  }

  static #live(map: Map<string, number>, id: string, now: number): boolean {
    const expiresAt = map.get(id);
    if (expiresAt === undefined) return false;
    if (expiresAt > now) return true;
    map.delete(id);
    return false;
  }
}
