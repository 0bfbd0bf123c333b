import { randomBytes } from 'node:crypto';
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
  readonly #sessions = new ExpiringIds();
  readonly #tokens = new ExpiringIds();
  #nextSweepAt = 1024;
  #additions = 0;

  constructor(private readonly clock: Clock) {}

  add(revocation: Revocation): void {
    this.#additions++;
    (revocation.kind === 'session' ? this.#sessions : this.#tokens).add(revocation.id, revocation.expiresAt);
    if (this.size >= this.#nextSweepAt) this.#sweepAfterGrowth();
  }

  addAll(revocations: Iterable<Revocation>): void {
    for (const revocation of revocations) this.add(revocation);
  }

  isSessionRevoked(sessionId: string, now: number): boolean {
    return this.#sessions.has(sessionId, now);
  }

  isTokenRevoked(jti: string, now: number): boolean {
    return this.#tokens.has(jti, now);
  }

  get size(): number {
    return this.#sessions.size + this.#tokens.size;
  }

  /**
   * How many revocations were ever added. Entries leave only by expiring, so
   * an id found not revoked while this count was n is still not revoked while
   * it is n: the verify cache keeps it per token to skip the lookups.
   */
  get additions(): number {
    return this.#additions;
  }

  /** Drops every entry that expired at or before `now`. */
  sweep(now: number): void {
    this.#sessions.sweep(now);
    this.#tokens.sweep(now);
  }

  #sweepAfterGrowth(): void {
    this.sweep(this.clock.now());
    // Sweep again only once the set has doubled, so sweeping stays amortised O(1) per add.
    this.#nextSweepAt = Math.max(1024, this.size * 2);
  }
}

/** Smallest fingerprint table: 1024 positions (4 KiB). */
const MIN_TABLE_BITS = 10;

/**
 * Ids with the instant (ms) they can be forgotten. The Map is the truth; in
 * front of it, a table of 32-bit fingerprints answers "certainly not here"
 * for almost every lookup without touching the Map.
 *
 * Why: nearly every id looked up is not revoked, and the id is a string V8
 * has never seen (it comes out of the token's JSON). With a million entries,
 * a Map lookup hashes it and then walks memory the CPU caches no longer hold
 * (bucket, entry, the candidate key string): a third of a microsecond, 5% of
 * a whole HMAC verify, measured. The fingerprint table is one Int32Array,
 * probed linearly from one position: usually a single cache line.
 *
 * Two independent 32-bit hashes of the id, seeded per process: one picks the
 * position, the other is the fingerprint stored there (0 marks an empty
 * position). A lookup whose fingerprint matches goes on to the Map, so an
 * answer is always exact; a chance match (about one lookup in 2^32 per
 * probe) only costs that Map lookup.
 *
 * Entries that expire are deleted from the Map when met; their fingerprints
 * stay until the next sweep or growth rebuilds the table from the Map (a
 * stale fingerprint only sends its own id to the Map).
 */
class ExpiringIds {
  readonly #expiry = new Map<string, number>();
  #table = new Int32Array(1 << MIN_TABLE_BITS);
  #mask = (1 << MIN_TABLE_BITS) - 1;
  /** Fingerprints in the table, stale ones included. */
  #filled = 0;

  get size(): number {
    return this.#expiry.size;
  }

  add(id: string, expiresAt: number): void {
    const known = this.#expiry.get(id);
    if (known !== undefined && known >= expiresAt) return;
    this.#expiry.set(id, expiresAt);
    if (known !== undefined) return;
    if ((this.#filled + 1) * 2 > this.#table.length) this.#rebuild(this.#expiry.size);
    else this.#insert(id);
  }

  has(id: string, now: number): boolean {
    if (this.#expiry.size === 0 || !this.#mayHold(id)) return false;
    const expiresAt = this.#expiry.get(id);
    if (expiresAt === undefined) return false;
    if (expiresAt > now) return true;
    this.#expiry.delete(id);
    return false;
  }

  /** Drops every entry that expired at or before `now`, and every stale fingerprint. */
  sweep(now: number): void {
    for (const [id, expiresAt] of this.#expiry) if (expiresAt <= now) this.#expiry.delete(id);
    this.#rebuild(this.#expiry.size);
  }

  #mayHold(id: string): boolean {
    const table = this.#table;
    const mask = this.#mask;
    let position = positionHash(id) & mask;
    const fingerprint = fingerprintOf(id);
    for (let held = table[position]!; held !== 0; held = table[position]!) {
      if (held === fingerprint) return true;
      position = (position + 1) & mask;
    }
    return false;
  }

  #insert(id: string): void {
    const table = this.#table;
    const mask = this.#mask;
    let position = positionHash(id) & mask;
    while (table[position] !== 0) position = (position + 1) & mask;
    table[position] = fingerprintOf(id);
    this.#filled++;
  }

  /** A table at most a quarter full for `entries`, refilled from the Map. */
  #rebuild(entries: number): void {
    let bits = MIN_TABLE_BITS;
    while (1 << bits < entries * 4) bits++;
    if (bits !== 31 - Math.clz32(this.#table.length)) this.#table = new Int32Array(1 << bits);
    else this.#table.fill(0);
    this.#mask = (1 << bits) - 1;
    this.#filled = 0;
    for (const id of this.#expiry.keys()) this.#insert(id);
  }
}

/** Per-process seeds: which ids share a position or a fingerprint is not predictable from outside. */
const SEEDS = randomBytes(8);
const POSITION_SEED = SEEDS.readInt32LE(0);
const FINGERPRINT_SEED = SEEDS.readInt32LE(4);

/** FNV-1a over UTF-16 code units, then murmur3's finaliser so the low bits mix well. */
function positionHash(id: string): number {
  let hash = POSITION_SEED;
  for (let index = 0; index < id.length; index++) hash = Math.imul(hash ^ id.charCodeAt(index), 0x01000193);
  return finalMix(hash);
}

/** Like positionHash with another seed and multiplier; never 0, which marks an empty position. */
function fingerprintOf(id: string): number {
  let hash = FINGERPRINT_SEED;
  for (let index = 0; index < id.length; index++) hash = Math.imul(hash ^ id.charCodeAt(index), 0x5bd1e995);
  return finalMix(hash) || 1;
}

function finalMix(value: number): number {
  let hash = value ^ (value >>> 16);
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  return hash ^ (hash >>> 16);
}
