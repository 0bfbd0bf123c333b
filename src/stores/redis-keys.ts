/**
 * Where `RedisStore` keeps what, on one Redis (standalone, Sentinel) and on a
 * Redis Cluster. Internal to `baton-auth/stores/redis`.
 *
 * Standalone (and Sentinel), under `prefix`, as it always was:
 * `s:<sessionId>` a hash per session, `u:<userId>` the user's index (a sorted
 * set of session ids by `createdAt`), `r` the revocations (a sorted set of
 * `kind:id` by `expiresAt`), and the channel `revocations`.
 *
 * Cluster: the same keys, each inside one of {@link BUCKETS} buckets, a bucket
 * being a hash tag: `<prefix>{b<k>}:s:<sessionId>`, `<prefix>{b<k>}:u:<userId>`,
 * `<prefix>{b<k>}:r`, shard channel `<prefix>{b<k>}:revocations`. A user's
 * bucket is a hash of the user id, so a user's sessions, index, revocation
 * entries and feed channel share one slot: every script (create, rotate,
 * revoke one or all, list) runs on one slot, atomically, as on one node. Users
 * spread over the buckets, and the buckets (1024 hash tags, ~341 per shard of
 * three) over the slots, so every shard holds its share, and no key is global:
 * the revocation log is 1024 sorted sets, the feed 1024 shard channels.
 *
 * A refresh token carries only the session id, so on a cluster a session id
 * maps to its bucket through one more key, `<prefix>i:<sessionId>` (no hash
 * tag: these spread by their own slot), holding the bucket number. It is
 * written before the session (and makes ids unique across buckets), lives at
 * least as long, and never changes, so each process caches it: a refresh costs
 * one extra round trip only the first time a process sees the session.
 *
 * The bucket function and the tags are part of the stored data's format: every
 * process sharing a cluster must compute the same ones, so they never change.
 */
import { createHash } from 'node:crypto';

/** How many buckets a cluster store spreads users and revocations over. Part of the data format. */
export const BUCKETS = 1024;

/** The keys of one bucket (cluster) or of the whole store (standalone). */
export interface BucketKeys {
  /** `sessionPrefix + id` is a session's hash. */
  readonly sessionPrefix: string;
  /** `userPrefix + userId` is a user's index. */
  readonly userPrefix: string;
  readonly revocations: string;
  readonly channel: string;
}

export class KeyLayout {
  readonly cluster: boolean;
  readonly #prefix: string;
  readonly #standalone: BucketKeys;
  readonly #buckets: BucketKeys[] = [];
  /** Cluster: the slot of each bucket. */
  readonly #slots: number[] = [];

  constructor(prefix: string, cluster: boolean) {
    this.#prefix = prefix;
    this.cluster = cluster;
    this.#standalone = {
      sessionPrefix: `${prefix}s:`,
      userPrefix: `${prefix}u:`,
      revocations: `${prefix}r`,
      channel: `${prefix}revocations`,
    };
    if (cluster) {
      for (let k = 0; k < BUCKETS; k++) {
        const tagged = `${prefix}{b${k}}:`;
        this.#buckets.push({
          sessionPrefix: `${tagged}s:`,
          userPrefix: `${tagged}u:`,
          revocations: `${tagged}r`,
          channel: `${tagged}revocations`,
        });
        this.#slots.push(keySlot(`${tagged}r`));
      }
    }
  }

  /** Standalone: the one set of keys. Cluster: bucket `k`'s. */
  keys(bucket: number | null): BucketKeys {
    if (!this.cluster || bucket === null) return this.#standalone;
    const keys = this.#buckets[bucket];
    if (!keys) throw new RangeError(`no bucket ${bucket}`);
    return keys;
  }

  /** Cluster: the slot every key of bucket `k` is in. */
  slot(bucket: number): number {
    const slot = this.#slots[bucket];
    if (slot === undefined) throw new RangeError(`no bucket ${bucket}`);
    return slot;
  }

  /** Every bucket's keys (cluster), or the one set (standalone), with the bucket number. */
  all(): { bucket: number | null; keys: BucketKeys }[] {
    if (!this.cluster) return [{ bucket: null, keys: this.#standalone }];
    return this.#buckets.map((keys, bucket) => ({ bucket, keys }));
  }

  /** Cluster: the bucket of a user's sessions. Standalone: null. */
  userBucket(userId: string): number | null {
    return this.cluster ? bucketOf(`u:${userId}`) : null;
  }

  /** Cluster: where a revocation not tied to a known session lives (a token's `jti`). */
  revocationBucket(member: string): number | null {
    return this.cluster ? bucketOf(`r:${member}`) : null;
  }

  /** Cluster only: the key mapping a session id to its bucket. */
  lookupKey(sessionId: string): string {
    return `${this.#prefix}i:${sessionId}`;
  }

  /** `SCAN MATCH` patterns (unescaped prefix already escaped) of session and index keys. */
  scanPatterns(): { sessions: string; indexes: string } {
    const prefix = escapeGlob(this.#prefix);
    if (!this.cluster) return { sessions: `${prefix}s:*`, indexes: `${prefix}u:*` };
    return { sessions: `${prefix}{b*}:s:*`, indexes: `${prefix}{b*}:u:*` };
  }

  /** The bucket a scanned session or index key is in (cluster), null if none or standalone. */
  bucketOfKey(key: string): number | null {
    if (!this.cluster || !key.startsWith(`${this.#prefix}{b`)) return null;
    const rest = key.slice(this.#prefix.length + 2);
    const close = rest.indexOf('}');
    const bucket = Number(rest.slice(0, close));
    return close > 0 && Number.isInteger(bucket) && bucket >= 0 && bucket < BUCKETS ? bucket : null;
  }
}

/** A stable bucket for any string: the first 4 bytes of its SHA-256, modulo {@link BUCKETS}. */
export function bucketOf(value: string): number {
  return createHash('sha256').update(value).digest().readUInt32BE(0) % BUCKETS;
}

/** SCAN MATCH is a glob: a prefix with `*?[]\` must not act as a wildcard. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

// ------------------------------------------------------------- cluster slots

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

/** The Redis Cluster slot of a key or shard channel: CRC16 (XMODEM) of its hash tag, or of the whole key, mod 16384. */
export function keySlot(key: string): number {
  let bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf(0x7b); // {
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1); // }
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc % 16384;
}
