/** The memory audit trail: a ring buffer in this process (demos, tests, one process). */
import type { AuthEvent } from '../sessions/events.ts';
import type { AuditBackend, AuditEntry, PruneLimits } from './types.ts';

export class MemoryAuditBackend implements AuditBackend {
  readonly where = 'memory';
  /** Oldest first. */
  #entries: AuditEntry[] = [];
  #next = 1;

  async write(events: readonly AuthEvent[], limits: PruneLimits): Promise<void> {
    for (const event of events) this.#entries.push({ id: String(this.#next++), event });
    // Cheap on the hot path: a full pass only when the oldest entry is past retention or the buffer is full.
    const oldest = this.#entries[0];
    if (this.#entries.length > limits.maxEntries || (oldest && oldest.event.time < limits.cutoff)) {
      this.#trim(limits);
    }
  }

  async recent(query: { userId: string | undefined; limit: number; since: number }): Promise<AuditEntry[]> {
    const found: AuditEntry[] = [];
    for (let index = this.#entries.length - 1; index >= 0 && found.length < query.limit; index--) {
      const entry = this.#entries[index]!;
      if (entry.event.time < query.since) continue;
      if (query.userId !== undefined && entry.event.userId !== query.userId) continue;
      found.push(entry);
    }
    // Newest first by time, then by id (the order they were written in), as the other backends answer.
    return found.sort((a, b) => b.event.time - a.event.time || Number(b.id) - Number(a.id));
  }

  async prune(limits: PruneLimits): Promise<number> {
    return this.#trim(limits);
  }

  async close(): Promise<void> {
    this.#entries = [];
  }

  #trim({ cutoff, maxEntries }: PruneLimits): number {
    const before = this.#entries.length;
    const kept = this.#entries.filter((entry) => entry.event.time >= cutoff);
    this.#entries = kept.length > maxEntries ? kept.slice(kept.length - maxEntries) : kept;
    return before - this.#entries.length;
  }
}
