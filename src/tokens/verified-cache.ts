import { BatonError } from '../core/errors.ts';
import type { AccessClaims } from './types.ts';

export interface VerifiedTokenCacheOptions {
  /** Most tokens kept. Default 10 000. */
  max?: number;
  /** Seconds of clock skew allowed on `exp` and `nbf`: the same leeway the codec uses. Default 0. */
  leeway?: number;
}

export const DEFAULT_VERIFY_CACHE_MAX = 10_000;

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
  /** Index in the ring. */
  slot: number;
}

/**
 * Remembers access tokens that passed full verification, so that a client
 * reusing its token skips the signature check and the JSON parse: a hit is
 * one Map lookup, one string comparison and the time checks.
 *
 * What a hit does NOT skip, and must not: the caller still checks the
 * revoked-session set and the jti denylist on every call (the cache knows
 * nothing of revocation), and `get` itself checks `exp` and `nbf` with the
 * leeway against the time it is given. An entry that fails them is dropped
 * and `get` answers undefined, so the caller runs the full verification,
 * which throws the same error it would have thrown without a cache. Entries
 * are therefore never used past `exp`, and expired ones are swept out.
 *
 * A hit requires the exact token string that verified. The Map is keyed by a
 * 30-bit number read from five characters at the end of the token, which are
 * signature: unpredictable without the key, and far cheaper than hashing the
 * whole token (V8 hashes every character of a string it has not seen) or
 * slicing it. The entry then holds the whole token, which must be equal. A
 * key shared by two tokens only costs a miss.
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
  readonly #entries = new Map<number, Entry>();
  /** Ring of slots for the clock hand; a free slot holds undefined. */
  readonly #ring: (Entry | undefined)[] = [];
  /** Slots freed by deletions, reused before the hand evicts anything. */
  readonly #free: number[] = [];
  #hand = 0;
  /** Clock value (ms) at or after which set() sweeps expired entries. */
  #nextSweepMs = 0;
  /** The entry last evicted by the clock hand, for set() to reuse. */
  #spare: Entry | undefined;
  // What get() found for the token it missed last, so that the set() that follows needs no second lookup.
  #missedToken: string | undefined;
  #missedKey = 0;
  #missedEntry: Entry | undefined;

  constructor(options: VerifiedTokenCacheOptions = {}) {
    const max = options.max ?? DEFAULT_VERIFY_CACHE_MAX;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new BatonError('invalid_options', 'verify cache max must be an integer >= 1');
    }
    const leeway = options.leeway ?? 0;
    if (!Number.isFinite(leeway) || leeway < 0) {
      throw new BatonError('invalid_options', 'verify cache leeway must be a number of seconds >= 0');
    }
    this.max = max;
    this.leeway = leeway;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The claims of a token verified before, if it is still within `exp` and
   * `nbf` (with the leeway) at `nowMs`; undefined otherwise.
   */
  get(token: string, nowMs: number): AccessClaims | undefined {
    if (typeof token !== 'string') return undefined;
    const key = keyOf(token);
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.token !== token) {
      this.#missedToken = token;
      this.#missedKey = key;
      this.#missedEntry = entry;
      return undefined;
    }
    const now = Math.floor(nowMs / 1000);
    // The same comparisons as AccessTokenCodec.verify.
    if (entry.exp <= now - this.leeway || entry.nbf > now + this.leeway) {
      this.#remove(entry);
      return undefined;
    }
    entry.hot = true;
    return entry.claims;
  }

  /** Stores the claims of a token that has just passed full verification. Returns them, frozen. */
  set(token: string, claims: AccessClaims, nowMs: number): AccessClaims {
    if (typeof token !== 'string') return claims;
    if (nowMs >= this.#nextSweepMs) this.sweep(nowMs);
    deepFreeze(claims);
    let key: number;
    let existing: Entry | undefined;
    if (token === this.#missedToken) {
      // Nothing ran between that get() and this set() but the verification itself.
      key = this.#missedKey;
      existing = this.#missedEntry;
    } else {
      key = keyOf(token);
      existing = this.#entries.get(key);
    }
    this.#missedToken = undefined;
    this.#missedEntry = undefined;
    if (existing !== undefined && this.#entries.get(key) === existing) this.#remove(existing);
    const slot = this.#freeSlot();
    // An evicted entry object is reused, so a miss allocates nothing here.
    let entry = this.#spare;
    if (entry === undefined) {
      entry = { token, key, claims, exp: claims.exp, nbf: claims.nbf, hot: false, slot };
    } else {
      this.#spare = undefined;
      entry.token = token;
      entry.key = key;
      entry.claims = claims;
      entry.exp = claims.exp;
      entry.nbf = claims.nbf;
      entry.hot = false;
      entry.slot = slot;
    }
    this.#ring[slot] = entry;
    this.#entries.set(key, entry);
    return claims;
  }

  /** Drops the entry of one token, if any. */
  delete(token: string): boolean {
    if (typeof token !== 'string') return false;
    const entry = this.#entries.get(keyOf(token));
    if (entry === undefined || entry.token !== token) return false;
    this.#remove(entry);
    return true;
  }

  /** Drops every entry whose `exp` (plus leeway) has passed at `nowMs`. */
  sweep(nowMs: number): void {
    const now = Math.floor(nowMs / 1000);
    this.#nextSweepMs = nowMs + SWEEP_INTERVAL_SECONDS * 1000;
    const expiredAtOrBefore = now - this.leeway;
    for (const entry of this.#entries.values()) {
      if (entry.exp <= expiredAtOrBefore) this.#remove(entry);
    }
  }

  clear(): void {
    this.#entries.clear();
    this.#ring.length = 0;
    this.#free.length = 0;
    this.#hand = 0;
    this.#spare = undefined;
    this.#missedToken = undefined;
    this.#missedEntry = undefined;
  }

  #remove(entry: Entry): void {
    this.#entries.delete(entry.key);
    this.#ring[entry.slot] = undefined;
    this.#free.push(entry.slot);
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
      this.#entries.delete(entry.key);
      ring[slot] = undefined;
      entry.claims = EVICTED;
      entry.token = '';
      this.#spare = entry;
      return slot;
    }
  }
}

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
