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

  /** Revoked sessions held (expired ones included until met or swept). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Revoked access-token ids held (expired ones included until met or swept). */
  get tokenCount(): number {
    return this.#tokens.size;
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

/** 32-bit words per filter block: 512 bits, one 64-byte cache line. */
const BLOCK_WORDS = 16;
/** Bits set per id, all in its block. */
const BITS_PER_ID = 8;
/** Filter bits per id at full load (16 to 32 per id held): at most about 0.1% false positives. */
const FILTER_BITS_PER_ID = 16;
/** Smallest size the filter is built for. */
const MIN_CAPACITY = 1024;

/**
 * Ids with the instant (ms) they can be forgotten. The Map is the truth; in
 * front of it, a blocked Bloom filter answers "certainly not here" for
 * almost every lookup without touching the Map.
 *
 * Why: nearly every id looked up is not revoked, and the id is a string V8
 * has never seen (it comes out of the token's JSON). With a million entries,
 * a Map lookup hashes it and then walks memory the CPU caches no longer hold
 * (bucket, entry, the candidate key string): a third of a microsecond, 5% of
 * a whole HMAC verify, measured. A first version put a table of 32-bit
 * fingerprints in front (16 MiB at 1M entries): one cache line per lookup,
 * but in a VM a random read over 16 MiB also misses the TLB, and nested
 * paging makes that walk slow; it still cost 13% of a verify. The filter
 * is 16 bits per entry (2 MiB at 1M), and every bit an id sets lies in one
 * 64-byte block: one cache line, over few enough pages for the TLB.
 *
 * A seeded 32-bit hash of the id, mixed two ways: one picks the block, the
 * other the 8 bits in it. A lookup whose 8 bits are all set goes
 * on to the Map, so an answer is always exact; a false positive (about one
 * lookup in a thousand at full load) only costs that Map lookup.
 *
 * Entries that expire are deleted from the Map when met; their bits stay
 * until the next sweep or growth rebuilds the filter from the Map.
 */
class ExpiringIds {
  readonly #expiry = new Map<string, number>();
  #filter = new Int32Array((MIN_CAPACITY * FILTER_BITS_PER_ID) / 32);
  #blockMask = (MIN_CAPACITY * FILTER_BITS_PER_ID) / 512 - 1;

  get size(): number {
    return this.#expiry.size;
  }

  add(id: string, expiresAt: number): void {
    const known = this.#expiry.get(id);
    if (known !== undefined && known >= expiresAt) return;
    this.#expiry.set(id, expiresAt);
    if (known !== undefined) return;
    // Past the ids the filter is sized for, it is rebuilt twice as large.
    if (this.#expiry.size > (this.#filter.length * 32) / FILTER_BITS_PER_ID) this.#rebuild();
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

  /** Drops every entry that expired at or before `now`, and their bits. */
  sweep(now: number): void {
    for (const [id, expiresAt] of this.#expiry) if (expiresAt <= now) this.#expiry.delete(id);
    this.#rebuild();
  }

  #mayHold(id: string): boolean {
    return this.#bits(id, false);
  }

  #insert(id: string): void {
    this.#bits(id, true);
  }

  /** Whether all 8 bits of the id are set in its block; with `set`, sets them. */
  #bits(id: string, set: boolean): boolean {
    const filter = this.#filter;
    const hash = idHash(id);
    const block = (finalMix(hash ^ BLOCK_SEED) & this.#blockMask) * BLOCK_WORDS;
    const bits = finalMix(hash ^ BIT_SEED);
    // Double hashing: 8 bit positions in 0..511 from one 32-bit hash.
    const step = (bits >>> 9) | 1;
    for (let i = 0, position = bits; i < BITS_PER_ID; i++, position += step) {
      const word = block + ((position & 511) >>> 5);
      const mask = 1 << (position & 31);
      if (set) filter[word]! |= mask;
      else if ((filter[word]! & mask) === 0) return false;
    }
    return true;
  }

  /** A filter sized for the entries (a power of two, at least MIN_CAPACITY), refilled from the Map. */
  #rebuild(): void {
    let capacity = MIN_CAPACITY;
    while (capacity < this.#expiry.size) capacity *= 2;
    const words = (capacity * FILTER_BITS_PER_ID) / 32;
    if (words === this.#filter.length) this.#filter.fill(0);
    else this.#filter = new Int32Array(words);
    this.#blockMask = words / BLOCK_WORDS - 1;
    for (const id of this.#expiry.keys()) this.#insert(id);
  }
}

/** Per-process seeds: which ids share a block or bits is not predictable from outside. */
const SEEDS = randomBytes(12);
const ID_SEED = SEEDS.readInt32LE(0);
const BLOCK_SEED = SEEDS.readInt32LE(4);
const BIT_SEED = SEEDS.readInt32LE(8);

/**
 * FNV-1a over UTF-16 code units, one pass over the id; the block and the bits
 * each come from it through murmur3's finaliser with a seed of their own. Two
 * ids with the same 32-bit hash share block and bits: a false positive, which
 * the Map answers.
 */
function idHash(id: string): number {
  let hash = ID_SEED;
  for (let index = 0; index < id.length; index++) hash = Math.imul(hash ^ id.charCodeAt(index), 0x01000193);
  return hash;
}

/** murmur3's 32-bit finaliser: every input bit moves every output bit. */
function finalMix(value: number): number {
  let hash = value ^ (value >>> 16);
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  return hash ^ (hash >>> 16);
}
