import { BatonError } from '../core/errors.ts';
import { isExpired, isTimeValid } from './claims.ts';
import type { AccessClaims } from './types.ts';

export interface VerifiedTokenCacheOptions {
  /** Most tokens kept. Default 10 000. */
  max?: number;
  /** Seconds of clock skew allowed on `exp` and `nbf`: the same leeway the codec uses. Default 0. */
  leeway?: number;
}

export const DEFAULT_VERIFY_CACHE_MAX = 10_000;
/** The index for this many entries is 16 MiB; a bigger cache would only hold tokens nobody presents twice. */
export const MAX_VERIFY_CACHE_MAX = 1 << 21;

/** How often expired entries are swept out, at most (in seconds of the clock passed in). */
const SWEEP_INTERVAL_SECONDS = 60;

/** Value of each base64url character by char code (ASCII), 0 for anything else. */
const VALUE = new Uint8Array(128);
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
for (let index = 0; index < ALPHABET.length; index++) VALUE[ALPHABET.charCodeAt(index)] = index;

interface Entry {
  /** The whole token: a hit needs the exact same string, not just the same key. */
  token: string;
  key: number;
  claims: AccessClaims;
  exp: number;
  nbf: number;
  /** Second-chance bit: set by a hit, cleared when the clock hand passes over the entry. */
  hot: boolean;
  /** The caller's note on the entry (see `set`). */
  stamp: number;
  /** Index in the ring. */
  slot: number;
}

/** Smallest index table: 64 positions. */
const MIN_INDEX_BITS = 6;

/**
 * Remembers access tokens that passed full verification, so that a client
 * reusing its token skips the signature check and the JSON parse: a hit is
 * a probe of a small integer table, one string comparison and the time checks.
 *
 * What a hit does NOT skip, and must not: the caller still checks the
 * revoked-session set and the jti denylist on every call (the cache knows
 * nothing of revocation), and `get` itself checks `exp` and `nbf` with the
 * leeway against the time it is given. An entry that fails them is dropped
 * and `get` answers undefined, so the caller runs the full verification,
 * which throws the same error it would have thrown without a cache. Entries
 * are therefore never used past `exp`, and expired ones are swept out.
 *
 * A hit requires the exact token string that verified. Entries are found by
 * a 30-bit key read from five characters at the end of the token, which are
 * signature: unpredictable without the key, so they spread evenly, and far
 * cheaper than hashing the whole token (V8 hashes every character of a
 * string it has not seen) or slicing it. The entry then holds the whole
 * token, which must be equal; two tokens sharing a key are both kept.
 *
 * The index is an open-addressing table (linear probing, at most half full,
 * backward-shift deletion) of ring slots in an Int32Array, not a Map: every
 * miss on a full cache deletes one entry and adds another, and a Map's
 * deleted entries pile up until it rehashes, which made the miss path cost
 * 4% more than with this table.
 *
 * Only tokens that verified are stored, so a client cannot fill the cache
 * with garbage; the size is bounded by `max`, with CLOCK (second-chance)
 * eviction over a ring of slots: a hit only sets a bit, so hits cost no
 * reordering, and eviction is O(1) amortised.
 *
 * Cached claims are deep-frozen: one object answers every request that
 * presents the same token.
 *
 * The cache is for one verifier (one KeySet, issuer, audience): a token that
 * verified once verifies again as long as those do not change, and a KeySet
 * never changes.
 */
export class VerifiedTokenCache {
  readonly max: number;
  readonly leeway: number;
  /** Ring of slots for the clock hand; a free slot holds undefined. */
  readonly #ring: (Entry | undefined)[] = [];
  /** Slots freed by deletions, reused before the hand evicts anything. */
  readonly #free: number[] = [];
  /** Open-addressing index: ring slot + 1 at the entry's position, 0 where empty. Grows by doubling. */
  #index = new Int32Array(1 << MIN_INDEX_BITS);
  #mask = (1 << MIN_INDEX_BITS) - 1;
  #size = 0;
  #hand = 0;
  /** Clock value (ms) at or after which set() sweeps expired entries. */
  #nextSweepMs = 0;
  /** The entry last evicted by the clock hand, for set() to reuse. */
  #spare: Entry | undefined;
  /** The token get() last missed: set() for it, right after its verification, need not look again. */
  #missed: string | undefined;
  /** The entry get() last answered, for `lastStamp` and `restamp`. */
  #hit: Entry | undefined;

  constructor(options: VerifiedTokenCacheOptions = {}) {
    const max = options.max ?? DEFAULT_VERIFY_CACHE_MAX;
    if (!Number.isSafeInteger(max) || max < 1 || max > MAX_VERIFY_CACHE_MAX) {
      throw new BatonError(
        'invalid_options',
        `verify cache max must be an integer from 1 to ${MAX_VERIFY_CACHE_MAX}`,
      );
    }
    const leeway = options.leeway ?? 0;
    if (!Number.isFinite(leeway) || leeway < 0) {
      throw new BatonError('invalid_options', 'verify cache leeway must be a number of seconds >= 0');
    }
    this.max = max;
    this.leeway = leeway;
  }

  get size(): number {
    return this.#size;
  }

  /**
   * The claims of a token verified before, if it is still within `exp` and
   * `nbf` (with the leeway) at `nowMs`; undefined otherwise.
   */
  get(token: string, nowMs: number): AccessClaims | undefined {
    this.#hit = undefined;
    if (typeof token !== 'string') return undefined;
    const entry = this.#find(token, keyOf(token));
    if (entry === undefined) {
      this.#missed = token;
      return undefined;
    }
    // The time rule of AccessTokenCodec.verify (validateClaims), at this call's clock.
    if (!isTimeValid(entry.exp, entry.nbf, Math.floor(nowMs / 1000), this.leeway)) {
      this.#remove(entry);
      this.#missed = token;
      return undefined;
    }
    entry.hot = true;
    this.#hit = entry;
    return entry.claims;
  }

  /** The stamp of the entry the last get() answered. */
  get lastStamp(): number {
    return this.#hit === undefined ? NO_STAMP : this.#hit.stamp;
  }

  /** Changes the stamp of the entry the last get() answered. */
  restamp(stamp: number): void {
    if (this.#hit !== undefined) this.#hit.stamp = stamp;
  }

  /**
   * Stores the claims of a token that has just passed full verification.
   * Returns them, frozen. The stamp is the caller's own note on the entry,
   * read back after a hit with `lastStamp` (SessionManager keeps the revoked
   * set's addition count there, to skip lookups while nothing was revoked).
   */
  set(token: string, claims: AccessClaims, nowMs: number, stamp = NO_STAMP): AccessClaims {
    this.#hit = undefined;
    if (typeof token !== 'string') return claims;
    if (nowMs >= this.#nextSweepMs) this.sweep(nowMs);
    deepFreeze(claims);
    const key = keyOf(token);
    // Only the verification ran since get() missed this token: it is still absent.
    const existing = token === this.#missed ? undefined : this.#find(token, key);
    this.#missed = undefined;
    if (existing !== undefined) this.#remove(existing);
    const slot = this.#freeSlot();
    // An evicted entry object is reused, so a miss allocates nothing here.
    let entry = this.#spare;
    if (entry === undefined) {
      entry = { token, key, claims, exp: claims.exp, nbf: claims.nbf, hot: false, stamp, slot };
    } else {
      this.#spare = undefined;
      entry.token = token;
      entry.key = key;
      entry.claims = claims;
      entry.exp = claims.exp;
      entry.nbf = claims.nbf;
      entry.hot = false;
      entry.stamp = stamp;
      entry.slot = slot;
    }
    // Grown before the entry is in the ring: #grow indexes every entry of the ring, and an entry
    // indexed twice outlives its removal as a position pointing at a freed slot.
    if ((this.#size + 1) * 2 > this.#index.length) this.#grow();
    this.#ring[slot] = entry;
    this.#insert(entry);
    return claims;
  }

  /** Drops the entry of one token, if any. */
  delete(token: string): boolean {
    if (typeof token !== 'string') return false;
    const entry = this.#find(token, keyOf(token));
    if (entry === undefined) return false;
    this.#remove(entry);
    return true;
  }

  /** Drops every entry whose `exp` (plus leeway) has passed at `nowMs`. */
  sweep(nowMs: number): void {
    const now = Math.floor(nowMs / 1000);
    this.#nextSweepMs = nowMs + SWEEP_INTERVAL_SECONDS * 1000;
    const leeway = this.leeway;
    for (const entry of this.#ring) {
      if (entry !== undefined && isExpired(entry.exp, now, leeway)) this.#remove(entry);
    }
  }

  clear(): void {
    this.#index = new Int32Array(1 << MIN_INDEX_BITS);
    this.#mask = (1 << MIN_INDEX_BITS) - 1;
    this.#size = 0;
    this.#ring.length = 0;
    this.#free.length = 0;
    this.#hand = 0;
    this.#spare = undefined;
    this.#missed = undefined;
    this.#hit = undefined;
  }

  #find(token: string, key: number): Entry | undefined {
    const index = this.#index;
    const mask = this.#mask;
    for (let position = key & mask; ; position = (position + 1) & mask) {
      const slot = index[position]!;
      if (slot === 0) return undefined;
      const entry = this.#ring[slot - 1]!;
      if (entry.key === key && entry.token === token) return entry;
    }
  }

  #insert(entry: Entry): void {
    const index = this.#index;
    const mask = this.#mask;
    let position = entry.key & mask;
    while (index[position] !== 0) position = (position + 1) & mask;
    index[position] = entry.slot + 1;
    this.#size++;
  }

  /** Takes the entry out of the index and the ring (the slot goes to the free list). */
  #remove(entry: Entry): void {
    if (entry === this.#hit) this.#hit = undefined;
    this.#unindex(entry);
    this.#ring[entry.slot] = undefined;
    this.#free.push(entry.slot);
  }

  /**
   * Backward-shift deletion (Knuth's Algorithm R): later entries of the same
   * probe run move up into the hole, so lookups never need tombstones.
   */
  #unindex(entry: Entry): void {
    const index = this.#index;
    const mask = this.#mask;
    let hole = entry.key & mask;
    while (index[hole] !== entry.slot + 1) hole = (hole + 1) & mask;
    for (let position = (hole + 1) & mask; index[position] !== 0; position = (position + 1) & mask) {
      const home = this.#ring[index[position]! - 1]!.key & mask;
      // Movable unless its home lies cyclically in (hole, position].
      const stays = hole <= position ? hole < home && home <= position : hole < home || home <= position;
      if (!stays) {
        index[hole] = index[position]!;
        hole = position;
      }
    }
    index[hole] = 0;
    this.#size--;
  }

  #grow(): void {
    const length = this.#index.length * 2;
    this.#index = new Int32Array(length);
    this.#mask = length - 1;
    this.#size = 0;
    for (const entry of this.#ring) if (entry !== undefined) this.#insert(entry);
  }

  /** A free slot: a released one, a new one while below max, else CLOCK picks a victim. */
  #freeSlot(): number {
    const released = this.#free.pop();
    if (released !== undefined) return released;
    const ring = this.#ring;
    if (ring.length < this.max) return ring.push(undefined) - 1;
    // Every slot is taken. Terminates: each step over a hot entry clears its bit.
    for (;;) {
      const slot = this.#hand;
      this.#hand = slot + 1 === ring.length ? 0 : slot + 1;
      const entry = ring[slot]!;
      if (entry.hot) {
        entry.hot = false;
        continue;
      }
      if (entry === this.#hit) this.#hit = undefined;
      this.#unindex(entry);
      ring[slot] = undefined;
      entry.claims = EVICTED;
      entry.token = '';
      this.#spare = entry;
      return slot;
    }
  }
}

/** The stamp of an entry given none. */
const NO_STAMP = -1;

/** A placeholder, so an entry waiting for reuse keeps no claims alive. */
const EVICTED = Object.freeze({}) as AccessClaims;

/**
 * Five base64url characters before the last one (whose low bits may be fixed
 * padding), 6 bits each. Anything that is not base64url reads as 0: such a
 * token can only miss, then fail verification.
 */
function keyOf(token: string): number {
  const end = token.length - 1;
  return (
    (VALUE[token.charCodeAt(end - 1) & 127]! << 24) |
    (VALUE[token.charCodeAt(end - 2) & 127]! << 18) |
    (VALUE[token.charCodeAt(end - 3) & 127]! << 12) |
    (VALUE[token.charCodeAt(end - 4) & 127]! << 6) |
    VALUE[token.charCodeAt(end - 5) & 127]!
  );
}

/**
 * Freezes a JSON value all the way down (JSON has no cycles). Children first:
 * freezing an object changes its hidden class, which would take a for-in over
 * it off V8's fast path.
 */
function deepFreeze(value: object): void {
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index];
      if (typeof item === 'object' && item !== null) deepFreeze(item);
    }
  } else {
    const record = value as Record<string, unknown>;
    for (const name in record) {
      const child = record[name];
      if (typeof child === 'object' && child !== null) deepFreeze(child);
    }
  }
  Object.freeze(value);
}
