import type { Clock } from '../core/clock.ts';

/**
 * Counts failed password checks per key (a username, or an IP) in a sliding
 * window, allowing `max` of them. Checked before any password hashing, so a
 * locked-out caller costs the server nothing; successes do not count.
 */
export class AttemptLimiter {
  readonly #failures = new Map<string, number[]>();
  readonly #max: number;
  readonly #windowMs: number;

  constructor(
    max: number,
    windowSeconds: number,
    private readonly clock: Clock,
  ) {
    this.#max = max;
    this.#windowMs = windowSeconds * 1000;
  }

  /** Seconds until `key` may try again: 0 when it is under the limit. */
  retryAfter(key: string): number {
    const now = this.clock.now();
    const failures = this.#recent(key, now);
    if (failures.length < this.#max) return 0;
    // Allowed again once enough of the oldest failures have left the window.
    const freeingFailure = failures[failures.length - this.#max] ?? now;
    return Math.max(1, Math.ceil((freeingFailure + this.#windowMs - now) / 1000));
  }

  recordFailure(key: string): void {
    const now = this.clock.now();
    const failures = this.#recent(key, now);
    failures.push(now);
    // Only the newest `max` failures decide anything; keep memory bounded per key.
    if (failures.length > this.#max) failures.splice(0, failures.length - this.#max);
    this.#failures.set(key, failures);
    if (this.#failures.size > 100_000) this.#sweep(now);
  }

  #recent(key: string, now: number): number[] {
    const failures = this.#failures.get(key);
    if (!failures) return [];
    const cutoff = now - this.#windowMs;
    const firstLive = failures.findIndex((at) => at > cutoff);
    if (firstLive === -1) {
      this.#failures.delete(key);
      return [];
    }
    return firstLive === 0 ? failures : failures.slice(firstLive);
  }

  #sweep(now: number): void {
    for (const key of [...this.#failures.keys()]) this.#recent(key, now);
  }
}
