/**
 * `baton-auth/stores/redis`: `RedisStore`, for any number of processes, on one
 * Redis server, a Sentinel-managed master or a Redis Cluster, with the
 * revocation feed over pub/sub (sharded pub/sub on a cluster). Needs the
 * `ioredis` package.
 *
 * @module baton-auth/stores/redis
 */
import type { Cluster, Redis } from 'ioredis';
import { BatonError } from '../core/errors.ts';
import { parseOptions } from '../core/options.ts';
import {
  clusterNodeAdvice,
  createClient,
  isCluster,
  notClusterAdvice,
  sentinelAdvice,
  translate,
  unavailable,
  waitForReady,
  whereOf,
  withDeadline,
} from './redis-connection.ts';
import { ClusterFeed, type Feed, FeedListeners, NodeFeed } from './redis-feed.ts';
import { BUCKETS, type BucketKeys, KeyLayout } from './redis-keys.ts';
import { explainUnknown, type RedisStoreOptions, redisStoreOptionsSchema } from './redis-options.ts';
import {
  ADD_REVOCATION,
  CLAIM,
  CREATE,
  DELETE_REVOCATIONS,
  DELETE_SESSIONS,
  LIST,
  PRUNE_INDEXES,
  REVOKE,
  ROTATE,
  ScriptRunner,
  TOUCH,
} from './redis-scripts.ts';
import { DEFAULT_TIMEOUT_MS, parseRedisTarget } from './redis-url.ts';
import type {
  Revocation,
  RevocationListener,
  RevocationReason,
  RevokeSessionsRequest,
  RotateRequest,
  RotateResult,
  SessionRecord,
  SessionStore,
} from './types.ts';

export type { RedisStoreOptions } from './redis-options.ts';

/**
 * How long a session's key outlives the moment it stopped being usable (its
 * revocation or absolute expiry, whichever came first), and the least time it
 * lives after any write that sets its TTL. Matches the day the SessionManager
 * keeps revoked sessions: a late refresh still answers `token_revoked` /
 * `session_expired`, and logout-all still finds a session whose access tokens
 * may outlive it. After that Redis drops the key itself.
 *
 * @example
 * ```ts
 * import { SESSION_RETENTION_MS } from 'baton-auth/stores/redis';
 *
 * // Sizing Redis: every session that ends stays this long (a day) before Redis drops it.
 * const endedPerDay = 50_000;
 * const endedHeld = endedPerDay * (SESSION_RETENTION_MS / 86_400_000); // 50000 keys on top of the live ones
 * ```
 */
export const SESSION_RETENTION_MS = 86_400_000;
const SCAN_BATCH = 1000;
/** After a connection loss: a short wait smooths a blip; beyond it the caller gets a 503 at once. */
const RECONNECT_WAIT_MS = 500;
/** Cluster: session id → bucket entries a process remembers (they never change). */
const BUCKET_CACHE_SIZE = 10_000;
/** Cluster: how long a revoked session's id lookup is kept, past the retention of its session key. */
const LOOKUP_MARGIN_MS = 60_000;

/** Session hash fields; a `null` field is simply absent from the hash. */
const FIELDS = [
  'id',
  'userId',
  'clientId',
  'createdAt',
  'lastUsedAt',
  'expiresAt',
  'userAgent',
  'ip',
  'secretSalt',
  'tokenHash',
  'generation',
  'rotatedAt',
  'revokedAt',
  'revokedReason',
  'jkt',
] as const satisfies readonly (keyof SessionRecord)[];

/** A session id's bucket, and whether it came from this process's memory (then it may need a fresh look). */
interface Located {
  bucket: number;
  cached: boolean;
}

// -------------------------------------------------------------------- store

/**
 * Sessions in Redis, shared by any number of processes.
 *
 * Layout under `prefix` on one server (or a Sentinel-managed master):
 * `s:<id>` a hash per session, with a TTL so Redis drops dead sessions by
 * itself; `u:<userId>` a sorted set of the user's session ids by `createdAt`;
 * `r` a sorted set of revocations (`kind:id`) by `expiresAt`; channel
 * `revocations` carries new revocations as JSON arrays.
 *
 * On a Redis Cluster (`redis-cluster://` or a `Cluster` client) the same keys
 * sit in 1024 buckets, each a hash tag (`<prefix>{b<k>}:s:<id>`, `…:u:<userId>`,
 * `…:r`, shard channel `…:revocations`); a user's sessions, index and
 * revocations share their bucket, so each script below runs on one slot, and
 * users spread over every shard. A session id finds its bucket through
 * `<prefix>i:<id>`, written at login before the session and cached by each
 * process. The feed is one SSUBSCRIBE connection per master.
 *
 * Atomicity: every write is one Lua script on one slot, so rotation is a true
 * compare-and-set and revocation (of one session or all of a user's), its
 * revocation entries and its PUBLISH (SPUBLISH) are one step. Durability is
 * Redis's: with the default snapshotting a crash of Redis can lose the last
 * writes (clients whose latest refresh was lost sign in again), and so can a
 * failover (Cluster, Sentinel), since replication is asynchronous; use
 * `appendonly yes` if that matters.
 *
 * Every call has a deadline (`timeout`, default 5 s): past it the call is
 * `store_unavailable`, and a connection that went silent is replaced.
 *
 * TTLs are computed from the times Baton passes in (`now`, `createdAt`...), not
 * from Redis's clock, so an injected or skewed clock never makes Redis drop a
 * live session early.
 *
 * @example
 * ```ts
 * import { RedisStore } from 'baton-auth/stores/redis'; // npm install ioredis
 *
 * const store = new RedisStore({ url: 'redis://127.0.0.1:6379', prefix: 'myapp:baton:' });
 * // Or: url: 'redis-cluster://10.0.0.1:7000,10.0.0.2:7000'
 * //     url: 'redis-sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster'
 * // ... new SessionManager({ store, ... }): revocations reach every process over pub/sub
 * await store.close();
 * ```
 */
export class RedisStore implements SessionStore {
  readonly #client: Redis;
  /** The same client, when it is a Cluster. */
  readonly #cluster: Cluster | undefined;
  readonly #ownsClient: boolean;
  readonly #prefix: string;
  readonly #layout: KeyLayout;
  readonly #publish: 'PUBLISH' | 'SPUBLISH';
  readonly #timeoutMs: number;
  readonly #scripts = new ScriptRunner();
  readonly #listeners = new FeedListeners();
  #feed: Feed | undefined;
  /** Cluster: session id → bucket, oldest first. */
  readonly #buckets = new Map<string, number>();
  /** Only the first connection gets the long wait; once it was up, or never came, waits are short. */
  #startupOver: boolean;
  #readyWait: Promise<boolean> | undefined;
  #closed = false;
  /** The servers, for messages (never the password). */
  readonly #where: string;
  /** Why the last connection attempt failed, for messages while not connected. */
  #lastConnectionError: string | undefined;
  /** Whether the connection was ready once (a cluster that never was may announce addresses not reachable here). */
  #wasReady: boolean;
  readonly #natMapped: boolean;
  /** A URL that cannot work (a Sentinel given as redis://): every call says so. */
  #misconfigured: string | undefined;
  /** The check of what the server is, after each connect of an owned client. */
  #modeCheck: Promise<void> | undefined;
  #warnedClusterNode = false;

  constructor(options: RedisStoreOptions = {}) {
    const { url, client, prefix = 'baton:', timeout = DEFAULT_TIMEOUT_MS, natMap } = validateOptions(options);
    this.#prefix = prefix;
    this.#timeoutMs = timeout;
    let connection: Redis | Cluster;
    if (client) {
      connection = client;
      this.#ownsClient = false;
    } else {
      const target = parseRedisTarget(url ?? 'redis://127.0.0.1:6379');
      // Validated above; a string here would be a bug.
      if (typeof target === 'string') throw new BatonError('invalid_options', `RedisStore url ${target}`);
      connection = createClient(target, timeout, natMap);
      this.#ownsClient = true;
    }
    this.#cluster = isCluster(connection) ? connection : undefined;
    // Both speak the same commands; the Cluster routes each by its key.
    this.#client = connection as Redis;
    this.#layout = new KeyLayout(prefix, this.#cluster !== undefined);
    this.#publish = this.#cluster ? 'SPUBLISH' : 'PUBLISH';
    this.#where = whereOf(connection);
    if (this.#ownsClient) {
      // Failures reach callers as store_unavailable (with the last one's reason); the event would only be noise.
      connection.on('error', (error: unknown) => {
        const inner = (error as { lastNodeError?: unknown }).lastNodeError;
        const message = [error, inner]
          .map((e) => (e instanceof Error ? e.message : String(e ?? '')))
          .join(' ');
        this.#lastConnectionError = /cluster support disabled/i.test(message)
          ? notClusterAdvice(this.#where)
          : error instanceof Error
            ? error.message
            : String(error);
      });
      connection.on('ready', () => {
        this.#lastConnectionError = undefined;
        this.#wasReady = true;
        // Calls wait for it (once per connection): a wrong kind of server is named before anything else.
        if (!this.#cluster) this.#modeCheck = this.#checkServerMode();
      });
    }
    this.#startupOver = connection.status === 'ready';
    this.#wasReady = this.#startupOver;
    this.#natMapped = natMap !== undefined;
  }

  /**
   * The channel revocations are published on (one server, Sentinel). On a
   * cluster, the pattern of the 1024 shard channels, `<prefix>{b<k>}:revocations`.
   */
  get channel(): string {
    return this.#layout.cluster ? `${this.#prefix}{b*}:revocations` : this.#layout.keys(null).channel;
  }

  async createSession(session: SessionRecord): Promise<void> {
    // The newest instant the record mentions stands for "now" (for the manager it
    // is createdAt); for an imported record it errs towards a longer TTL.
    const reference = Math.max(
      session.createdAt,
      session.lastUsedAt,
      session.rotatedAt ?? -Infinity,
      session.revokedAt ?? -Infinity,
    );
    const lifetime = keyLifetime(session, reference);
    const bucket = this.#layout.userBucket(session.userId);
    const keys = this.#layout.keys(bucket);
    const duplicate = () => new BatonError('internal_error', `session id ${session.id} already exists`);
    await this.#call(async () => {
      if (bucket !== null) {
        // The id's lookup first: it makes the id unique across buckets, and a session is
        // never there without it (a lookup left without its session is harmless).
        const lookupTtl = lifetime === null ? 0 : lifetime + SESSION_RETENTION_MS;
        const claimed = await this.#eval(
          CLAIM,
          [this.#layout.lookupKey(session.id)],
          [String(bucket), String(lookupTtl)],
        );
        if (claimed !== 1) throw duplicate();
      }
      const created = await this.#eval(
        CREATE,
        [keys.sessionPrefix + session.id, keys.userPrefix + session.userId],
        [String(lifetime ?? 0), String(session.createdAt), session.id, ...toHash(session)],
      );
      if (created !== 1) throw duplicate();
      if (bucket !== null) this.#remember(session.id, bucket);
    });
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    const hash = await this.#call(() =>
      this.#inSessionBucket(
        id,
        (keys) => this.#run(() => this.#client.hgetall(keys.sessionPrefix + id)),
        (found) => Object.keys(found).length > 0,
        {},
      ),
    );
    return Object.keys(hash).length === 0 ? null : fromFields(hash);
  }

  async rotateSession(request: RotateRequest): Promise<RotateResult> {
    const reply = await this.#call(() =>
      this.#inSessionBucket(
        request.id,
        (keys) =>
          this.#eval(
            ROTATE,
            [keys.sessionPrefix + request.id],
            [
              String(request.expectedGeneration),
              request.expectedTokenHash,
              request.newTokenHash,
              String(request.now),
            ],
          ),
        (found) => Array.isArray(found) && found.length > 1,
        [0] as unknown,
      ),
    );
    if (!Array.isArray(reply) || reply.length === 0) throw unexpectedReply('rotate', reply);
    if (reply.length === 1) return { rotated: false, session: null };
    const session = fromFlatHash(reply[1]);
    return reply[0] === 1 ? { rotated: true, session } : { rotated: false, session };
  }

  async touchSession(id: string, now: number): Promise<void> {
    await this.#call(() =>
      this.#inSessionBucket(
        id,
        (keys) => this.#eval(TOUCH, [keys.sessionPrefix + id], [String(now)]),
        (found) => found === 1,
        0 as unknown,
      ),
    );
  }

  async revokeSessions(request: RevokeSessionsRequest): Promise<SessionRecord[]> {
    const { sessionId, userId } = request;
    if (sessionId === undefined && userId === undefined) {
      throw new BatonError('internal_error', 'revokeSessions needs a sessionId or a userId');
    }
    const revoke = (keys: BucketKeys) =>
      this.#eval(
        REVOKE,
        [
          keys.revocations,
          sessionId === undefined ? keys.userPrefix + userId : keys.sessionPrefix + sessionId,
        ],
        [
          sessionId ?? '',
          userId ?? '',
          String(request.now),
          request.reason,
          String(request.revocationExpiresAt),
          String(SESSION_RETENTION_MS),
          keys.sessionPrefix,
          keys.channel,
          this.#publish,
        ],
      );
    const reply = await this.#call(() =>
      userId !== undefined
        ? // A user's sessions are all in the user's bucket: no lookup needed, with or without sessionId.
          revoke(this.#layout.keys(this.#layout.userBucket(userId)))
        : this.#inSessionBucket(sessionId!, revoke, (found) => Array.isArray(found) && found.length > 0, []),
    );
    if (!Array.isArray(reply)) throw unexpectedReply('revoke', reply);
    const revoked = reply.map(fromFlatHash);
    if (this.#layout.cluster && revoked.length > 0) this.#shortenLookups(revoked.map((s) => s.id));
    return revoked;
  }

  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    const keys = this.#layout.keys(this.#layout.userBucket(userId));
    const reply = await this.#eval(LIST, [keys.userPrefix + userId], [keys.sessionPrefix]);
    if (!Array.isArray(reply)) throw unexpectedReply('list', reply);
    // The index is ordered by createdAt already; only liveness is left to check.
    return reply
      .map(fromFlatHash)
      .filter((s) => s.revokedAt === null && (s.expiresAt === null || s.expiresAt > now));
  }

  async addRevocation(revocation: Revocation): Promise<void> {
    const entry: Revocation = { kind: revocation.kind, id: revocation.id, expiresAt: revocation.expiresAt };
    const member = `${entry.kind}:${entry.id}`;
    await this.#call(async () => {
      let bucket = this.#layout.revocationBucket(member);
      if (this.#layout.cluster && entry.kind === 'session') {
        // Next to the entry revokeSessions writes for that session, if the session is known.
        bucket = (await this.#locate(entry.id))?.bucket ?? bucket;
      }
      const keys = this.#layout.keys(bucket);
      await this.#eval(
        ADD_REVOCATION,
        [keys.revocations],
        [member, String(entry.expiresAt), keys.channel, JSON.stringify([entry]), this.#publish],
      );
    });
  }

  async listRevocations(now: number): Promise<Revocation[]> {
    const buckets = this.#layout.all().map(({ bucket }) => bucket);
    return this.#call(() => this.#listRevocationsIn(buckets, now));
  }

  /**
   * Redis expires dead sessions by itself; this sweep also applies `now` and
   * `revokedBefore` exactly, drops index entries of sessions Redis expired,
   * and trims the revocation set. It SCANs the keyspace (every master's, on a
   * cluster) in batches of 1000, each batch one short script per bucket, so an
   * hourly run is plenty. Each step has the store's deadline, not the sweep.
   */
  async deleteExpired(request: { now: number; revokedBefore: number }): Promise<number> {
    const patterns = this.#layout.scanPatterns();
    let deleted = 0;
    await this.#scan(patterns.sessions, async (keys, bucket) => {
      const { sessionPrefix, userPrefix } = this.#layout.keys(bucket);
      const ids = await this.#eval(DELETE_SESSIONS, keys, [
        String(request.now),
        String(request.revokedBefore),
        sessionPrefix,
        userPrefix,
      ]);
      if (!Array.isArray(ids)) throw unexpectedReply('delete', ids);
      deleted += ids.length;
      if (this.#layout.cluster) {
        // Each id's lookup is in a slot of its own: one DEL each, sent together.
        await Promise.all(
          ids.map((id) => {
            this.#buckets.delete(String(id));
            return this.#run(() => this.#client.del(this.#layout.lookupKey(String(id))));
          }),
        );
      }
    });
    await this.#scan(patterns.indexes, async (keys, bucket) => {
      await this.#eval(PRUNE_INDEXES, keys, [this.#layout.keys(bucket).sessionPrefix]);
    });
    for (const { keys } of this.#layout.all()) {
      for (;;) {
        const removed = await this.#eval(
          DELETE_REVOCATIONS,
          [keys.revocations],
          [String(request.now), String(SCAN_BATCH)],
        );
        if (Number(removed) < SCAN_BATCH) break;
      }
    }
    return deleted;
  }

  /**
   * Delivers revocations published by any process on this prefix. One extra
   * connection (in subscriber mode; on a cluster one per master) serves every
   * listener of this store; each time it (re)connects it subscribes and then
   * hands the listeners the revocations it serves, reloaded from the store,
   * so a revocation made while it was disconnected still arrives. A heartbeat
   * (PING, every `timeout`) replaces a connection that went silent.
   */
  subscribeRevocations(listener: RevocationListener): () => void {
    if (this.#closed) throw unavailable('the store is closed', this.#where);
    const options = { prefix: this.#prefix, timeoutMs: this.#timeoutMs, heartbeatMs: this.#timeoutMs };
    this.#feed ??= this.#cluster
      ? new ClusterFeed(
          this.#cluster,
          this.#layout,
          this.#listeners,
          (buckets) => this.#call(() => this.#listRevocationsIn(buckets, Date.now())),
          options,
        )
      : new NodeFeed(
          this.#client,
          this.#layout.keys(null).channel,
          this.#listeners,
          () => this.listRevocations(Date.now()),
          options,
        );
    return this.#listeners.add(listener);
  }

  /** Closes the store's connections; a `client` you passed in stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#feed?.close();
    this.#feed = undefined;
    this.#listeners.clear();
    if (!this.#ownsClient) return;
    try {
      await withDeadline(this.#client.quit(), this.#timeoutMs, () => new Error('quit timed out'));
    } catch {
      // Not connected: nothing to say goodbye to.
    }
    this.#client.disconnect();
  }

  /** Revocations of the given buckets (null: the one set of a standalone store), the later expiry per entry. */
  async #listRevocationsIn(buckets: readonly (number | null)[], now: number): Promise<Revocation[]> {
    const read = (bucket: number | null) =>
      this.#client.zrangebyscore(this.#layout.keys(bucket).revocations, `(${now}`, '+inf', 'WITHSCORES');
    const lists = await this.#command(async () => {
      const cluster = this.#cluster;
      if (!cluster) return Promise.all(buckets.map(read));
      // One pipeline per master (a round trip each, not one per bucket); a bucket whose
      // slot moved meanwhile is read on its own, where the cluster client follows it.
      const byNode = new Map<string, number[]>();
      for (const bucket of buckets) {
        if (bucket === null) continue;
        const node = cluster.slots[this.#layout.slot(bucket)]?.join(';') ?? '';
        byNode.set(node, [...(byNode.get(node) ?? []), bucket]);
      }
      const groups = await Promise.all(
        [...byNode.values()].map(async (group) => {
          const pipeline = cluster.pipeline();
          for (const bucket of group) {
            pipeline.zrangebyscore(this.#layout.keys(bucket).revocations, `(${now}`, '+inf', 'WITHSCORES');
          }
          const results = await pipeline.exec().catch(() => null);
          return Promise.all(
            group.map((bucket, i) => {
              const [error, list] = results?.[i] ?? [new Error('not read')];
              return error || !Array.isArray(list) ? read(bucket) : (list as string[]);
            }),
          );
        }),
      );
      return groups.flat();
    });
    const latest = new Map<string, Revocation>();
    for (const flat of lists) {
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const revocation = parseMember(flat[i]!, Number(flat[i + 1]));
        if (!revocation) continue;
        const key = `${revocation.kind}:${revocation.id}`;
        const known = latest.get(key);
        if (!known || known.expiresAt < revocation.expiresAt) latest.set(key, revocation);
      }
    }
    return [...latest.values()];
  }

  /**
   * Runs `attempt` on the keys of session `id`'s bucket: the one set on one
   * server; on a cluster the bucket its lookup names. An answer that does not
   * find the session (`found` false) from a remembered bucket is checked
   * against a fresh lookup once.
   */
  async #inSessionBucket<T>(
    id: string,
    attempt: (keys: BucketKeys) => Promise<T>,
    found: (result: T) => boolean,
    missing: T,
  ): Promise<T> {
    if (!this.#layout.cluster) return attempt(this.#layout.keys(null));
    const located = await this.#locate(id);
    if (!located) return missing;
    const result = await attempt(this.#layout.keys(located.bucket));
    if (!located.cached || found(result)) return result;
    const fresh = await this.#locate(id, true);
    if (!fresh) return missing;
    return fresh.bucket === located.bucket ? result : attempt(this.#layout.keys(fresh.bucket));
  }

  /** Cluster: the bucket of session `id` (remembered, or from its lookup key), null if there is none. */
  async #locate(id: string, fresh = false): Promise<Located | null> {
    if (!fresh) {
      const bucket = this.#buckets.get(id);
      if (bucket !== undefined) return { bucket, cached: true };
    }
    const value = await this.#run(() => this.#client.get(this.#layout.lookupKey(id)));
    const bucket = Number(value);
    if (value === null || !Number.isInteger(bucket) || bucket < 0 || bucket >= BUCKETS) {
      this.#buckets.delete(id);
      return null;
    }
    this.#remember(id, bucket);
    return { bucket, cached: false };
  }

  #remember(id: string, bucket: number): void {
    this.#buckets.delete(id);
    this.#buckets.set(id, bucket);
    if (this.#buckets.size > BUCKET_CACHE_SIZE) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
  }

  /**
   * Cluster: a revoked session's key now lives for the retention; its lookup must
   * not outlive it by much (one of a session that never expired had no TTL).
   * Best effort: a lookup left behind only costs its few bytes.
   */
  #shortenLookups(ids: readonly string[]): void {
    for (const id of ids) {
      this.#run(() =>
        this.#client.pexpire(this.#layout.lookupKey(id), SESSION_RETENTION_MS + LOOKUP_MARGIN_MS),
      ).catch(() => {});
    }
  }

  /** SCANs every master (one server: that one) for `pattern`; batches are split by bucket. */
  async #scan(
    pattern: string,
    onBatch: (keys: string[], bucket: number | null) => Promise<void>,
  ): Promise<void> {
    const nodes = this.#cluster ? this.#cluster.nodes('master') : [this.#client];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await this.#run(() => node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_BATCH));
        cursor = next;
        if (keys.length === 0) continue;
        if (!this.#layout.cluster) {
          await onBatch(keys, null);
          continue;
        }
        const byBucket = new Map<number, string[]>();
        for (const key of keys) {
          const bucket = this.#layout.bucketOfKey(key);
          if (bucket !== null) byBucket.set(bucket, [...(byBucket.get(bucket) ?? []), key]);
        }
        for (const [bucket, inBucket] of byBucket) await onBatch(inBucket, bucket);
      } while (cursor !== '0');
    }
  }

  /** One logical call (possibly several round trips) within the store's deadline. */
  #call<T>(operation: () => Promise<T>): Promise<T> {
    return withDeadline(operation(), this.#timeoutMs, () => this.#timedOut());
  }

  #eval(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return this.#run(() => this.#scripts.run(this.#client, script, keys, args));
  }

  /**
   * Runs a command once connected, within the store's deadline; connection
   * trouble and a missed deadline become a retryable 503.
   */
  #run<T>(command: () => Promise<T>): Promise<T> {
    return withDeadline(this.#command(command), this.#timeoutMs, () => this.#timedOut());
  }

  /** The 503 of a missed deadline: why, when the connection is the reason. */
  #timedOut(): BatonError {
    const status = this.#client.status;
    if (status === 'ready') return unavailable(`no answer within ${this.#timeoutMs} ms`, this.#where);
    return unavailable(`not connected (${status})${this.#notConnectedReason()}`, this.#where);
  }

  async #command<T>(command: () => Promise<T>): Promise<T> {
    if (this.#closed) throw unavailable('the store is closed', this.#where);
    if (this.#misconfigured) throw unavailable(this.#misconfigured, this.#where);
    await this.#whenReady();
    if (this.#modeCheck) await this.#modeCheck;
    if (this.#misconfigured) throw unavailable(this.#misconfigured, this.#where);
    try {
      return await command();
    } catch (error) {
      throw translate(error, this.#where, this.#layout.cluster);
    }
  }

  /**
   * A redis:// URL that names a cluster node or a Sentinel: say which URL to
   * use. A Sentinel cannot serve anything (every call says so); a cluster node
   * may serve some keys, so it is a warning, and each MOVED reply then
   * answers a 503 that repeats the advice.
   */
  async #checkServerMode(): Promise<void> {
    let info: string;
    try {
      info = await this.#client.info('server');
    } catch {
      return;
    } finally {
      this.#modeCheck = undefined;
    }
    const mode = /^redis_mode:(\w+)/m.exec(info)?.[1];
    if (mode === 'sentinel' && !this.#misconfigured) {
      this.#misconfigured = sentinelAdvice(this.#where);
      process.emitWarning(`baton: RedisStore at ${this.#where}: ${this.#misconfigured}`, {
        code: 'BATON_REDIS_URL',
      });
    } else if (mode === 'cluster' && !this.#warnedClusterNode) {
      this.#warnedClusterNode = true;
      process.emitWarning(
        `baton: RedisStore at ${this.#where}: ${clusterNodeAdvice(this.#where, 'redis_mode:cluster')}`,
        { code: 'BATON_REDIS_URL' },
      );
    }
  }

  async #whenReady(): Promise<void> {
    const client = this.#client;
    if (client.status === 'ready') return;
    if (client.status === 'end') throw unavailable('the connection is closed', this.#where);
    if (client.status === 'wait') client.connect().catch(() => {});
    // One shared wait: a burst of requests during a reconnect adds one listener, not hundreds.
    this.#readyWait ??= waitForReady(
      client,
      this.#startupOver ? Math.min(RECONNECT_WAIT_MS, this.#timeoutMs) : this.#timeoutMs,
    ).finally(() => {
      this.#readyWait = undefined;
      this.#startupOver = true;
    });
    if (await this.#readyWait) return;
    throw unavailable(`not connected (${client.status})${this.#notConnectedReason()}`, this.#where);
  }

  /**
   * Why the store is not connected, for its 503s: the last connection error; for a
   * cluster that answered the seeds but never became ready, the node addresses it
   * announced, which did not answer here (behind NAT, Docker, Kubernetes: natMap).
   */
  #notConnectedReason(): string {
    const reasons = this.#lastConnectionError === undefined ? [] : [this.#lastConnectionError];
    const cluster = this.#cluster;
    if (cluster && this.#ownsClient && !this.#wasReady) {
      const nodes = new Set<string>();
      for (const owners of cluster.slots) if (owners?.[0]) nodes.add(owners[0]);
      if (nodes.size > 0) {
        const list = [...nodes].sort().join(',');
        reasons.push(
          this.#natMapped
            ? `the masters, as natMap maps them (${list}), did not answer: check natMap`
            : `the cluster announces its masters as ${list} (CLUSTER SLOTS), and they did not answer: if this process reaches them at other addresses (Docker, Kubernetes, a NAT), give natMap`,
        );
      }
    }
    return reasons.length === 0 ? '' : `: ${reasons.join('; ')}`;
  }

  /**
   * KEYS: the proof id's key. ARGV: expiresAt, now, TTL ms. Like SET NX PX, but an entry
   * whose expiresAt has passed by Baton's clock counts as gone even before Redis drops it,
   * as in every store (the TTL, too, comes from Baton's times, not Redis's clock).
   */
  static readonly #REMEMBER_PROOF_ID = `
local seen = redis.call('GET', KEYS[1])
if seen and tonumber(seen) > tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`;

  /**
   * The DPoP replay cache: a key per proof id, `p:<id>` under the prefix (no
   * shared structure that every request would hit), holding its expiresAt and
   * dropped by Redis at that time. The id is a digest, never client input.
   */
  async rememberProofId(id: string, expiresAt: number, now: number): Promise<boolean> {
    const ttl = Math.max(1, Math.ceil(expiresAt - now));
    const reply = await this.#eval(
      RedisStore.#REMEMBER_PROOF_ID,
      [`${this.#prefix}p:${id}`],
      [String(expiresAt), String(now), String(ttl)],
    );
    return Number(reply) === 1;
  }
}

// ----------------------------------------------------------------- helpers

function unexpectedReply(what: string, reply: unknown): BatonError {
  return new BatonError('internal_error', `Redis: unexpected ${what} reply ${JSON.stringify(reply)}`);
}

/**
 * How long a session's key must live from `now`, or null for no expiry. Never
 * less than the retention: a record that is already dead (an import, a test)
 * must still be there for the caller, and for deleteExpired to count.
 */
function keyLifetime(session: Pick<SessionRecord, 'expiresAt' | 'revokedAt'>, now: number): number | null {
  const ends = [session.expiresAt, session.revokedAt].filter((t): t is number => t !== null);
  if (ends.length === 0) return null;
  return Math.max(SESSION_RETENTION_MS, Math.min(...ends) + SESSION_RETENTION_MS - now);
}

function toHash(session: SessionRecord): string[] {
  const args: string[] = [];
  for (const field of FIELDS) {
    const value = session[field];
    if (value !== null && value !== undefined) args.push(field, String(value));
  }
  return args;
}

function fromFlatHash(reply: unknown): SessionRecord {
  if (!Array.isArray(reply)) throw unexpectedReply('session', reply);
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) fields[String(reply[i])] = String(reply[i + 1]);
  return fromFields(fields);
}

function fromFields(fields: Record<string, string>): SessionRecord {
  const text = (name: keyof SessionRecord): string => {
    const value = fields[name];
    if (value === undefined) throw corrupt(fields, name);
    return value;
  };
  const optionalText = (name: keyof SessionRecord): string | null => fields[name] ?? null;
  const optionalNumber = (name: keyof SessionRecord): number | null => {
    const value = fields[name];
    if (value === undefined) return null;
    const parsed = Number(value);
    if (!Number.isFinite(parsed)) throw corrupt(fields, name);
    return parsed;
  };
  const number = (name: keyof SessionRecord): number => optionalNumber(name) ?? corrupt(fields, name);
  return {
    id: text('id'),
    userId: text('userId'),
    clientId: optionalText('clientId'),
    createdAt: number('createdAt'),
    lastUsedAt: number('lastUsedAt'),
    expiresAt: optionalNumber('expiresAt'),
    userAgent: optionalText('userAgent'),
    ip: optionalText('ip'),
    secretSalt: text('secretSalt'),
    tokenHash: text('tokenHash'),
    generation: number('generation'),
    rotatedAt: optionalNumber('rotatedAt'),
    revokedAt: optionalNumber('revokedAt'),
    revokedReason: optionalText('revokedReason') as RevocationReason | null,
    jkt: optionalText('jkt'),
  };
}

function corrupt(fields: Record<string, string>, name: string): never {
  throw new BatonError('internal_error', `Redis: session ${fields.id ?? '?'} has a missing or bad ${name}`);
}

/** `kind:id`; the kind never contains ':', so the first one splits. */
function parseMember(member: string, expiresAt: number): Revocation | null {
  const colon = member.indexOf(':');
  const kind = member.slice(0, colon);
  if ((kind !== 'session' && kind !== 'token') || !Number.isFinite(expiresAt)) return null;
  return { kind, id: member.slice(colon + 1), expiresAt };
}

function validateOptions(options: RedisStoreOptions): RedisStoreOptions {
  return parseOptions(redisStoreOptionsSchema, options, 'RedisStore', { explainUnknown });
}
