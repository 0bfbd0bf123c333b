/**
 * The Lua scripts of `RedisStore` (internal to `baton-auth/stores/redis`).
 *
 * Each script is one atomic step on the server: nothing interleaves with it.
 * Every key a script touches is in one slot (see redis-keys.ts): the keys it
 * builds from a prefix passed in ARGV (a user's sessions, from the index) are
 * in the same bucket as its declared keys, which a Redis Cluster accepts for
 * scripts without flags, and the channel it publishes on is the bucket's
 * shard channel (SPUBLISH) on a cluster, the store's channel (PUBLISH) on
 * one node.
 */
import { createHash } from 'node:crypto';

/** KEYS: session, user index. ARGV: ttl (0 = none), createdAt, id, field/value pairs... */
export const CREATE = `
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

/**
 * Cluster: claims a session id for a bucket before the session is written.
 * KEYS: the id's lookup key. ARGV: bucket, ttl (0 = none). 0 when the id is
 * already another bucket's (a duplicate id); 1 otherwise (the same bucket
 * again: CREATE then finds any duplicate).
 */
export const CLAIM = `
local current = redis.call('GET', KEYS[1])
local ttl = tonumber(ARGV[2])
if current then
  if current ~= ARGV[1] then return 0 end
  -- Claimed before for this bucket: never shorten it (it may be another session's).
  local left = redis.call('PTTL', KEYS[1])
  if ttl == 0 then redis.call('PERSIST', KEYS[1]) elseif left >= 0 and left < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
elseif ttl == 0 then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
end
return 1`;

/** KEYS: session. ARGV: expected generation, expected hash, new hash, now. */
export const ROTATE = `
local current = redis.call('HMGET', KEYS[1], 'generation', 'tokenHash', 'revokedAt')
if not current[1] then return {0} end
local rotated = 0
if current[1] == ARGV[1] and current[2] == ARGV[2] and not current[3] then
  redis.call('HINCRBY', KEYS[1], 'generation', 1)
  redis.call('HSET', KEYS[1], 'tokenHash', ARGV[3], 'rotatedAt', ARGV[4], 'lastUsedAt', ARGV[4])
  rotated = 1
end
return {rotated, redis.call('HGETALL', KEYS[1])}`;

/** KEYS: session. ARGV: now. 1 if the session exists. (A plain HSET would create a stray partial hash for an unknown id.) */
export const TOUCH = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'lastUsedAt', ARGV[1])
  return 1
end
return 0`;

/**
 * KEYS: revocations, user index (or the session key when revoking by id).
 * ARGV: session id ('' = every session in the index), user id ('' = any), now,
 * reason, revocation expiry, retention ms, session key prefix, channel,
 * publish command (PUBLISH, or SPUBLISH on a cluster).
 */
export const REVOKE = `
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
if #notices > 0 then redis.call(ARGV[9], ARGV[8], '[' .. table.concat(notices, ',') .. ']') end
return revoked`;

/** KEYS: revocations. ARGV: member, expiresAt, channel, JSON payload, publish command. */
export const ADD_REVOCATION = `
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
if old and tonumber(old) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call(ARGV[5], ARGV[3], ARGV[4])
return 1`;

/** KEYS: user index. ARGV: session key prefix. Drops index entries whose session Redis expired. */
export const LIST = `
local rows = {}
for _, id in ipairs(redis.call('ZREVRANGE', KEYS[1], 0, -1)) do
  local row = redis.call('HGETALL', ARGV[1] .. id)
  if #row == 0 then redis.call('ZREM', KEYS[1], id) else rows[#rows + 1] = row end
end
return rows`;

/**
 * KEYS: session keys from SCAN (one bucket's, on a cluster). ARGV: now,
 * revokedBefore, session key prefix, user index prefix. Returns the ids deleted.
 */
export const DELETE_SESSIONS = `
local now, cutoff = tonumber(ARGV[1]), tonumber(ARGV[2])
local deleted = {}
for _, key in ipairs(KEYS) do
  local f = redis.call('HMGET', key, 'id', 'userId', 'expiresAt', 'revokedAt')
  -- The key must be exactly ours: a store with a longer prefix ('baton:s:') matches the pattern too.
  if f[1] and f[2] and key == ARGV[3] .. f[1] then
    local expired = f[3] and tonumber(f[3]) <= now
    local revoked = f[4] and tonumber(f[4]) <= cutoff
    if expired or revoked then
      if redis.call('DEL', key) == 1 then deleted[#deleted + 1] = f[1] end
      redis.call('ZREM', ARGV[4] .. f[2], f[1])
    end
  end
end
return deleted`;

/** KEYS: user index keys from SCAN (one bucket's, on a cluster). ARGV: session key prefix. */
export const PRUNE_INDEXES = `
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
export const DELETE_REVOCATIONS = `
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #members > 0 then redis.call('ZREM', KEYS[1], unpack(members)) end
return #members`;

/** What running a script needs of a connection (an ioredis Redis or Cluster). */
export interface ScriptClient {
  evalsha(sha: string, numberOfKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  eval(script: string, numberOfKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
}

/** EVALSHA with a fallback to EVAL when the server does not know the script (restart, SCRIPT FLUSH, a new node). */
export class ScriptRunner {
  readonly #shas = new Map<string, string>();

  async run(
    client: ScriptClient,
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
