/**
 * `baton-auth/stores/redis`: `RedisStore`, for any number of processes, with
 * the revocation feed over pub/sub. Needs the `ioredis` package.
 *
 * @module baton-auth/stores/redis
 */
import { createHash } from 'node:crypto';
import type * as IoRedis from 'ioredis';
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import { z } from 'zod';
import { BatonError } from '../core/errors.ts';
import { connectionUrlSchema, explainAliases, parseOptions } from '../core/options.ts';
import { loadDriver } from './driver.ts';
import { parseRevocations } from './revocation-payload.ts';
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

const { Redis } = loadDriver<typeof IoRedis>('Redis', 'ioredis');
type Redis = RedisClient;

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
/** Startup: how long a command waits for the first connection before answering 503. */
const FIRST_CONNECT_WAIT_MS = 5000;
/** After a connection loss: a short wait smooths a blip; beyond it the caller gets a 503 at once. */
const RECONNECT_WAIT_MS = 500;

export interface RedisStoreOptions {
  /** `redis://` or `rediss://` URL. Default: ioredis's default, 127.0.0.1:6379. */
  url?: string;
  /**
   * A connection to use instead of `url`. The store never closes it (close it
   * yourself after `store.close()`) and keeps its options: for fast 503s while
   * Redis is down, create it with `enableOfflineQueue: false` and
   * `maxRetriesPerRequest: 0`. Must not use ioredis's `keyPrefix` (use `prefix`).
   */
  client?: Redis;
  /** Prefix of every key and of the revocation channel. Default `'baton:'`. */
  prefix?: string;
}

// Messages never echo the URL: it may carry a password.
const optionsSchema = z
  .strictObject({
    url: connectionUrlSchema(/^rediss?:\/\//)
      .optional()
      .meta({ accepts: 'a redis:// or rediss:// URL (default: 127.0.0.1:6379)' }),
    client: z
      // Duck-typed: the application's ioredis may be another copy than Baton's.
      .custom<Redis>((client) => {
        const candidate = client as Partial<Redis> | null;
        return (
          typeof candidate === 'object' &&
          candidate !== null &&
          typeof candidate.evalsha === 'function' &&
          typeof candidate.duplicate === 'function' &&
          candidate.isCluster !== true
        );
      })
      .optional()
      .meta({ accepts: 'an ioredis Redis instance (not a Cluster)' }),
    prefix: z
      .string()
      .regex(/^[!-~]{1,100}$/)
      .optional()
      .meta({ accepts: "1 to 100 printable ASCII characters without spaces (default 'baton:')" }),
  })
  .superRefine(({ url, client }, ctx) => {
    const fail = (option: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [option], message });
    if (url !== undefined && client !== undefined) fail('client', 'give either url or client, not both');
    if (client?.status === 'end') fail('client', 'must be an open ioredis connection: this one is closed');
    if (client?.options?.keyPrefix) {
      fail('client', 'has a keyPrefix, which scripts and SCAN would not see; use the prefix option instead');
    }
  });

const IN_THE_URL = "RedisStore takes it in url: 'redis://user:password@host:port/db'";
const explainUnknown = explainAliases({
  host: IN_THE_URL,
  port: IN_THE_URL,
  username: IN_THE_URL,
  password: IN_THE_URL,
  db: IN_THE_URL,
  connectionString: "RedisStore's is url (a redis:// or rediss:// URL)",
  keyPrefix: "RedisStore's is prefix (a client with ioredis's keyPrefix is refused)",
  redis: "RedisStore's is client (an ioredis Redis instance)",
  connection: "RedisStore's is client (an ioredis Redis instance)",
});

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

// ------------------------------------------------------------------ scripts
// Each script is one atomic step on the server: nothing interleaves with it.
// Keys built inside a script (from a prefix passed in ARGV) are not declared,
// which standalone Redis and Sentinel accept; on a Cluster, put a hash tag in
// the prefix (e.g. '{baton}:') so that every key lives in one slot.

/** KEYS: session, user index. ARGV: ttl (0 = none), createdAt, id, field/value pairs... */
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
local ttl = tonumber(ARGV[1])
local indexIsNew = redis.call('EXISTS', KEYS[2]) == 0
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
if ttl == 0 then
  redis.call('PERSIST', KEYS[2])
else
  redis.call('PEXPIRE', KEYS[1], ttl)
  -- The index lives as long as its longest-lived session (-1: one never expires).
  local current = redis.call('PTTL', KEYS[2])
  if indexIsNew or (current >= 0 and current < ttl) then redis.call('PEXPIRE', KEYS[2], ttl) end
end
return 1`;

/** KEYS: session. ARGV: expected generation, expected hash, new hash, now. */
const ROTATE = `
local current = redis.call('HMGET', KEYS[1], 'generation', 'tokenHash', 'revokedAt')
if not current[1] then return {0} end
local rotated = 0
if current[1] == ARGV[1] and current[2] == ARGV[2] and not current[3] then
  redis.call('HINCRBY', KEYS[1], 'generation', 1)
  redis.call('HSET', KEYS[1], 'tokenHash', ARGV[3], 'rotatedAt', ARGV[4], 'lastUsedAt', ARGV[4])
  rotated = 1
end
return {rotated, redis.call('HGETALL', KEYS[1])}`;

/** KEYS: session. ARGV: now. (A plain HSET would create a stray partial hash for an unknown id.) */
const TOUCH = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'lastUsedAt', ARGV[1]) end
return 0`;

/**
 * KEYS: revocations, user index (or the session key when revoking by id).
 * ARGV: session id ('' = every session in the index), user id ('' = any), now,
 * reason, revocation expiry, retention ms, session key prefix, channel.
 */
const REVOKE = `
local ids
if ARGV[1] ~= '' then ids = {ARGV[1]} else ids = redis.call('ZRANGE', KEYS[2], 0, -1) end
local keepUntil = tonumber(ARGV[5])
local revoked, notices = {}, {}
for _, id in ipairs(ids) do
  local key = ARGV[7] .. id
  local f = redis.call('HMGET', key, 'userId', 'revokedAt')
  if not f[1] then
    if ARGV[1] == '' then redis.call('ZREM', KEYS[2], id) end
  elseif not f[2] and (ARGV[2] == '' or f[1] == ARGV[2]) then
    redis.call('HSET', key, 'revokedAt', ARGV[3], 'revokedReason', ARGV[4])
    -- Kept for the retention after revocation, so that a late refresh answers token_revoked.
    redis.call('PEXPIRE', key, ARGV[6])
    local member = 'session:' .. id
    local kept = keepUntil
    local old = redis.call('ZSCORE', KEYS[1], member)
    if old and tonumber(old) > kept then kept = tonumber(old) else redis.call('ZADD', KEYS[1], kept, member) end
    revoked[#revoked + 1] = redis.call('HGETALL', key)
    notices[#notices + 1] = '{"kind":"session","id":' .. cjson.encode(id) .. ',"expiresAt":' .. string.format('%.0f', kept) .. '}'
  end
end
-- Published by the same atomic step that writes: no subscriber can miss a revocation
-- that the store already reports, even if this process dies right after.
if #notices > 0 then redis.call('PUBLISH', ARGV[8], '[' .. table.concat(notices, ',') .. ']') end
return revoked`;

/** KEYS: revocations. ARGV: member, expiresAt, channel, JSON payload. */
const ADD_REVOCATION = `
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
if old and tonumber(old) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`;

/** KEYS: user index. ARGV: session key prefix. Drops index entries whose session Redis expired. */
const LIST = `
local rows = {}
for _, id in ipairs(redis.call('ZREVRANGE', KEYS[1], 0, -1)) do
  local row = redis.call('HGETALL', ARGV[1] .. id)
  if #row == 0 then redis.call('ZREM', KEYS[1], id) else rows[#rows + 1] = row end
end
return rows`;

/** KEYS: session keys from SCAN. ARGV: now, revokedBefore, session key prefix, user index prefix. */
const DELETE_SESSIONS = `
local now, cutoff = tonumber(ARGV[1]), tonumber(ARGV[2])
local deleted = 0
for _, key in ipairs(KEYS) do
  local f = redis.call('HMGET', key, 'id', 'userId', 'expiresAt', 'revokedAt')
  -- The key must be exactly ours: a store with a longer prefix ('baton:s:') matches the pattern too.
  if f[1] and f[2] and key == ARGV[3] .. f[1] then
    local expired = f[3] and tonumber(f[3]) <= now
    local revoked = f[4] and tonumber(f[4]) <= cutoff
    if expired or revoked then
      deleted = deleted + redis.call('DEL', key)
      redis.call('ZREM', ARGV[4] .. f[2], f[1])
    end
  end
end
return deleted`;

/** KEYS: user index keys from SCAN. ARGV: session key prefix. */
const PRUNE_INDEXES = `
local removed = 0
for _, key in ipairs(KEYS) do
  if redis.call('TYPE', key).ok == 'zset' then
    for _, id in ipairs(redis.call('ZRANGE', key, 0, -1)) do
      if redis.call('EXISTS', ARGV[1] .. id) == 0 then removed = removed + redis.call('ZREM', key, id) end
    end
  end
end
return removed`;

/** KEYS: revocations. ARGV: now, batch size. */
const DELETE_REVOCATIONS = `
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #members > 0 then redis.call('ZREM', KEYS[1], unpack(members)) end
return #members`;

// -------------------------------------------------------------------- store

/**
 * Sessions in Redis, shared by any number of processes.
 *
 * Layout under `prefix`: `s:<id>` a hash per session, with a TTL so Redis drops
 * dead sessions by itself; `u:<userId>` a sorted set of the user's session ids
 * by `createdAt`; `r` a sorted set of revocations (`kind:id`) by `expiresAt`;
 * channel `revocations` carries new revocations as JSON arrays.
 *
 * Atomicity: every write is one Lua script, so rotation is a true
 * compare-and-set and revocation, its revocation entries and its PUBLISH are
 * one step. Durability is Redis's: with the default snapshotting a crash of
 * Redis can lose the last writes (clients whose latest refresh was lost sign in
 * again); use `appendonly yes` if that matters.
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
 * // ... new SessionManager({ store, ... }): revocations reach every process over pub/sub
 * await store.close();
 * ```
 */
export class RedisStore implements SessionStore {
  readonly #client: Redis;
  readonly #ownsClient: boolean;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #scripts = new ScriptRunner();
  #feed: RevocationFeed | undefined;
  /** Only the first connection gets the long wait; once it was up, or never came, waits are short. */
  #startupOver: boolean;
  #readyWait: Promise<boolean> | undefined;
  #closed = false;
  /** `host:port/db` of the server, for messages (never the password). */
  readonly #where: string;
  /** Why the last connection attempt failed, for messages while not connected. */
  #lastConnectionError: string | undefined;

  constructor(options: RedisStoreOptions = {}) {
    const { url, client, prefix = 'baton:' } = validateOptions(options);
    this.#prefix = prefix;
    this.#channel = `${prefix}revocations`;
    if (client) {
      this.#client = client;
      this.#ownsClient = false;
    } else {
      const failFast: RedisOptions = {
        // Commands are sent only once connected (see #whenReady) and are never
        // queued or replayed: a queued request would hang while Redis is away,
        // and a write replayed after a reconnect may already have been applied
        // (a replayed createSession would report its own session as a duplicate).
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        commandTimeout: 5000,
        connectTimeout: 5000,
        retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
      };
      this.#client = url === undefined ? new Redis(failFast) : new Redis(url, failFast);
      this.#ownsClient = true;
      // Failures reach callers as store_unavailable (with the last one's reason); the event would only be noise.
      this.#client.on('error', (error: unknown) => {
        this.#lastConnectionError = error instanceof Error ? error.message : String(error);
      });
      this.#client.on('ready', () => {
        this.#lastConnectionError = undefined;
      });
    }
    this.#where = whereOf(this.#client);
    this.#startupOver = this.#client.status === 'ready';
  }

  /** The channel revocations are published on. */
  get channel(): string {
    return this.#channel;
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
    const created = await this.#eval(
      CREATE,
      [this.#sessionKey(session.id), this.#userKey(session.userId)],
      [
        String(keyLifetime(session, reference) ?? 0),
        String(session.createdAt),
        session.id,
        ...toHash(session),
      ],
    );
    if (created !== 1) throw new BatonError('internal_error', `session id ${session.id} already exists`);
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    const hash = await this.#run(() => this.#client.hgetall(this.#sessionKey(id)));
    return Object.keys(hash).length === 0 ? null : fromFields(hash);
  }

  async rotateSession(request: RotateRequest): Promise<RotateResult> {
    const reply = await this.#eval(
      ROTATE,
      [this.#sessionKey(request.id)],
      [
        String(request.expectedGeneration),
        request.expectedTokenHash,
        request.newTokenHash,
        String(request.now),
      ],
    );
    if (!Array.isArray(reply) || reply.length === 0) throw unexpectedReply('rotate', reply);
    if (reply.length === 1) return { rotated: false, session: null };
    const session = fromFlatHash(reply[1]);
    return reply[0] === 1 ? { rotated: true, session } : { rotated: false, session };
  }

  async touchSession(id: string, now: number): Promise<void> {
    await this.#eval(TOUCH, [this.#sessionKey(id)], [String(now)]);
  }

  async revokeSessions(request: RevokeSessionsRequest): Promise<SessionRecord[]> {
    const { sessionId, userId } = request;
    if (sessionId === undefined && userId === undefined) {
      throw new BatonError('internal_error', 'revokeSessions needs a sessionId or a userId');
    }
    const reply = await this.#eval(
      REVOKE,
      [
        this.#revocationsKey(),
        sessionId === undefined ? this.#userKey(userId!) : this.#sessionKey(sessionId),
      ],
      [
        sessionId ?? '',
        userId ?? '',
        String(request.now),
        request.reason,
        String(request.revocationExpiresAt),
        String(SESSION_RETENTION_MS),
        this.#sessionKey(''),
        this.#channel,
      ],
    );
    if (!Array.isArray(reply)) throw unexpectedReply('revoke', reply);
    return reply.map(fromFlatHash);
  }

  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    const reply = await this.#eval(LIST, [this.#userKey(userId)], [this.#sessionKey('')]);
    if (!Array.isArray(reply)) throw unexpectedReply('list', reply);
    // The index is ordered by createdAt already; only liveness is left to check.
    return reply
      .map(fromFlatHash)
      .filter((s) => s.revokedAt === null && (s.expiresAt === null || s.expiresAt > now));
  }

  async addRevocation(revocation: Revocation): Promise<void> {
    const entry: Revocation = { kind: revocation.kind, id: revocation.id, expiresAt: revocation.expiresAt };
    await this.#eval(
      ADD_REVOCATION,
      [this.#revocationsKey()],
      [`${entry.kind}:${entry.id}`, String(entry.expiresAt), this.#channel, JSON.stringify([entry])],
    );
  }

  async listRevocations(now: number): Promise<Revocation[]> {
    const flat = await this.#run(() =>
      this.#client.zrangebyscore(this.#revocationsKey(), `(${now}`, '+inf', 'WITHSCORES'),
    );
    const revocations: Revocation[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const revocation = parseMember(flat[i]!, Number(flat[i + 1]));
      if (revocation) revocations.push(revocation);
    }
    return revocations;
  }

  /**
   * Redis expires dead sessions by itself; this sweep also applies `now` and
   * `revokedBefore` exactly, drops index entries of sessions Redis expired,
   * and trims the revocation set. It SCANs the keyspace in batches of 1000, each
   * batch one short script, so an hourly run is plenty.
   */
  async deleteExpired(request: { now: number; revokedBefore: number }): Promise<number> {
    let deleted = 0;
    await this.#scan(`${this.#sessionKey('')}*`, async (keys) => {
      const count = await this.#eval(DELETE_SESSIONS, keys, [
        String(request.now),
        String(request.revokedBefore),
        this.#sessionKey(''),
        this.#userKey(''),
      ]);
      deleted += Number(count);
    });
    await this.#scan(`${this.#userKey('')}*`, async (keys) => {
      await this.#eval(PRUNE_INDEXES, keys, [this.#sessionKey('')]);
    });
    for (;;) {
      const removed = await this.#eval(
        DELETE_REVOCATIONS,
        [this.#revocationsKey()],
        [String(request.now), String(SCAN_BATCH)],
      );
      if (Number(removed) < SCAN_BATCH) break;
    }
    return deleted;
  }

  /**
   * Delivers revocations published by any process on this prefix. One extra
   * connection (in subscriber mode) serves every listener of this store; each
   * time it (re)connects it subscribes and then hands the listeners the whole
   * list from `listRevocations`, so a revocation made while it was disconnected
   * still arrives.
   */
  subscribeRevocations(listener: RevocationListener): () => void {
    if (this.#closed) throw unavailable('the store is closed', this.#where);
    this.#feed ??= new RevocationFeed(this.#client, this.#channel, this.#prefix, () =>
      this.listRevocations(Date.now()),
    );
    return this.#feed.add(listener);
  }

  /** Closes the store's connections; a `client` you passed in stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#feed?.close();
    this.#feed = undefined;
    if (!this.#ownsClient) return;
    try {
      await this.#client.quit();
    } catch {
      // Not connected: nothing to say goodbye to.
      this.#client.disconnect();
    }
  }

  #sessionKey(id: string): string {
    return `${this.#prefix}s:${id}`;
  }

  #userKey(userId: string): string {
    return `${this.#prefix}u:${userId}`;
  }

  #revocationsKey(): string {
    return `${this.#prefix}r`;
  }

  async #scan(pattern: string, onBatch: (keys: string[]) => Promise<void>): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.#run(() =>
        this.#client.scan(cursor, 'MATCH', escapeGlob(pattern), 'COUNT', SCAN_BATCH),
      );
      cursor = next;
      if (keys.length > 0) await onBatch(keys);
    } while (cursor !== '0');
  }

  #eval(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return this.#run(() => this.#scripts.run(this.#client, script, keys, args));
  }

  /** Runs a command once connected; connection trouble becomes a retryable 503. */
  async #run<T>(command: () => Promise<T>): Promise<T> {
    if (this.#closed) throw unavailable('the store is closed', this.#where);
    await this.#whenReady();
    try {
      return await command();
    } catch (error) {
      throw translate(error, this.#where);
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
      this.#startupOver ? RECONNECT_WAIT_MS : FIRST_CONNECT_WAIT_MS,
    ).finally(() => {
      this.#readyWait = undefined;
      this.#startupOver = true;
    });
    if (await this.#readyWait) return;
    const reason = this.#lastConnectionError === undefined ? '' : `: ${this.#lastConnectionError}`;
    throw unavailable(`not connected (${client.status})${reason}`, this.#where);
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

// ------------------------------------------------------------ revocation feed

/** The subscriber connection behind `subscribeRevocations`, shared by a store's listeners. */
class RevocationFeed {
  readonly #listeners = new Set<RevocationListener>();
  readonly #subscriber: Redis;
  readonly #channel: string;
  readonly #reload: () => Promise<Revocation[]>;
  /** Bumped on every (re)connect, so the retries of an older reload give up. */
  #epoch = 0;
  #closed = false;

  constructor(source: Redis, channel: string, prefix: string, reload: () => Promise<Revocation[]>) {
    this.#channel = channel;
    this.#reload = reload;
    const overrides: Partial<RedisOptions> = {
      // RESP2 makes it a classic subscriber connection (CLIENT LIST TYPE pubsub),
      // named so that operators can tell it apart.
      protocol: 2,
      connectionName: `baton-revocations:${prefix}`.replace(/[^!-~]/g, '_').slice(0, 120),
      // Resubscribing is done by hand on 'ready', so that the reload can follow it.
      autoResubscribe: false,
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      lazyConnect: false,
      // Unlike commands, the feed must come back however long Redis is away.
      retryStrategy: (attempt: number) => Math.min(100 * 2 ** (attempt - 1), 5000),
    };
    this.#subscriber = source.duplicate(overrides);
    this.#subscriber.on('error', () => {});
    this.#subscriber.on('ready', () => void this.#resync());
    this.#subscriber.on('message', (from: string, message: string) => {
      if (from !== this.#channel) return;
      const revocations = parseRevocations(message);
      if (revocations.length > 0) this.#deliver(revocations);
    });
  }

  add(listener: RevocationListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    this.#subscriber.disconnect();
  }

  /** Subscribe, then reload: in that order nothing published in between is lost. */
  async #resync(): Promise<void> {
    const epoch = ++this.#epoch;
    for (let attempt = 0; !this.#closed && epoch === this.#epoch; attempt++) {
      try {
        await this.#subscriber.subscribe(this.#channel);
        const revocations = await this.#reload();
        if (epoch === this.#epoch) this.#deliver(revocations);
        return;
      } catch {
        // The main connection may still be down while this one is back: try again.
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 5000)).unref());
      }
    }
  }

  #deliver(revocations: readonly Revocation[]): void {
    for (const listener of this.#listeners) {
      try {
        listener(revocations);
      } catch {
        // One listener's bug must not stop the others, nor the feed.
      }
    }
  }
}

// ----------------------------------------------------------------- helpers

/** EVALSHA with a fallback to EVAL when the server does not know the script (restart, SCRIPT FLUSH). */
class ScriptRunner {
  readonly #shas = new Map<string, string>();

  async run(
    client: Redis,
    script: string,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<unknown> {
    let sha = this.#shas.get(script);
    if (sha === undefined) {
      sha = createHash('sha1').update(script).digest('hex');
      this.#shas.set(script, sha);
    }
    try {
      return await client.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(script, keys.length, ...keys, ...args);
    }
  }
}

/** Resolves true once `client` is ready, false after `timeoutMs` or if it gives up. */
function waitForReady(client: Redis, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('end', onEnd);
      resolve(ready);
    };
    const onReady = () => done(true);
    const onEnd = () => done(false);
    const timer = setTimeout(() => done(false), timeoutMs);
    timer.unref();
    client.once('ready', onReady);
    client.once('end', onEnd);
  });
}

/** Reply errors that mean "not now" rather than "wrong command". */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|NOREPLICAS|OOM)\b/;

function translate(error: unknown, where: string): unknown {
  if (error instanceof BatonError) return error;
  if (error instanceof Error && error.name === 'ReplyError' && !TRANSIENT_REPLY.test(error.message)) {
    return error;
  }
  return unavailable(error instanceof Error ? error.message : String(error), where, error);
}

/** `Redis host:port/db: message`: says which server, so an operator can tell a wrong address from an outage. */
function unavailable(message: string, where: string, cause?: unknown): BatonError {
  return new BatonError('store_unavailable', `Redis ${where}: ${message}`, { retryAfter: 1, cause });
}

/** The server a client talks to: `host:port/db`, or the socket path. Never the password. */
function whereOf(client: Redis): string {
  const { host, port, db, path } = client.options;
  const server = path ? String(path) : `${host ?? 'localhost'}:${port ?? 6379}`;
  return db ? `${server}/${db}` : server;
}

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

/** SCAN MATCH is a glob: a prefix with `*?[]\` must not act as a wildcard. */
function escapeGlob(pattern: string): string {
  return pattern.slice(0, -1).replace(/[*?[\]\\]/g, '\\$&') + pattern.slice(-1);
}

function validateOptions(options: RedisStoreOptions): RedisStoreOptions {
  return parseOptions(optionsSchema, options, 'RedisStore', { explainUnknown });
}
