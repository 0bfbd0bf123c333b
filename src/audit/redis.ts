/**
 * The Redis audit trail: streams under the session store's prefix.
 * `<prefix>audit` holds every event; `<prefix>audit:u:<userId>` a user's own,
 * for `recent({ userId })`. Loaded only for a `redis:` target.
 */
import { createHash } from 'node:crypto';
import type * as IoRedis from 'ioredis';
import { BatonError } from '../core/errors.ts';
import type { AuthEvent } from '../sessions/events.ts';
import { loadDriver } from '../stores/driver.ts';
import { redact } from '../stores/store-url.ts';
import { eventJson, parseEvent } from './entry.ts';
import type { AuditBackend, AuditEntry, PruneLimits, RedisClientLike } from './types.ts';

/**
 * KEYS[1]: the stream of every event; KEYS[1 + i]: event i's user stream.
 * ARGV: cutoff ms, max entries, user stream TTL ms, then per event: time,
 * has a user (1/0), type, JSON.
 *
 * An entry's id is `<time>-<seq>`, from the event's time (the manager's
 * clock), so that MINID trims by event time. A time at or before the
 * stream's last id (another process's clock, a clock set back) gets
 * `<last ms>-<seq + 1>` instead: ids only grow.
 */
const ADD = `
local function lastMs(key)
  if redis.call('EXISTS', key) == 0 then return 0 end
  local info = redis.call('XINFO', 'STREAM', key)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then return tonumber(string.match(info[i + 1], '^(%d+)')) end
  end
  return 0
end
local function add(key, time, cutoff, maxEntries, kind, json)
  local ok = redis.pcall('XADD', key, 'MINID', '~', cutoff, time .. '-*', 'type', kind, 'event', json)
  if type(ok) == 'table' and ok.err then
    redis.call('XADD', key, 'MINID', '~', cutoff, lastMs(key) .. '-*', 'type', kind, 'event', json)
  end
  redis.call('XTRIM', key, 'MAXLEN', '~', maxEntries)
end
local cutoff, maxEntries, userTtl = ARGV[1], ARGV[2], ARGV[3]
for i = 0, (#ARGV - 3) / 4 - 1 do
  local time, hasUser, kind, json = ARGV[4 + i * 4], ARGV[5 + i * 4], ARGV[6 + i * 4], ARGV[7 + i * 4]
  add(KEYS[1], time, cutoff, maxEntries, kind, json)
  if hasUser == '1' then
    add(KEYS[2 + i], time, cutoff, maxEntries, kind, json)
    -- A user's stream goes once its newest entry is past retention.
    redis.call('PEXPIRE', KEYS[2 + i], userTtl)
  end
end
return 0`;

const ADD_SHA = createHash('sha1').update(ADD).digest('hex');
const BATCH_SIZE = 200;
const SCAN_BATCH = 1000;

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A stream entry from XRANGE/XREVRANGE: `[id, [field, value, ...]]`. */
function toEntry(raw: unknown): AuditEntry {
  const [id, fields] = raw as [string, string[]];
  const at = fields.indexOf('event');
  if (at < 0 || at % 2 !== 0) throw new BatonError('internal_error', `audit entry ${id} has no event`);
  return { id, event: parseEvent(String(fields[at + 1]), id) };
}

export class RedisAuditBackend implements AuditBackend {
  readonly where: string;
  readonly #client: RedisClientLike;
  readonly #own: IoRedis.Redis | undefined;
  readonly #prefix: string;
  #lastError: string | undefined;

  /** A connection of its own for a `redis://` URL. */
  static open(url: string, prefix: string): RedisAuditBackend {
    const { Redis } = loadDriver<typeof IoRedis>('Redis', 'ioredis');
    const client = new Redis(url, {
      // Writes wait (bounded) while connecting; the trail is asynchronous, nobody waits on it but a reader.
      maxRetriesPerRequest: 1,
      commandTimeout: 5000,
      connectTimeout: 5000,
      retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    });
    const backend = new RedisAuditBackend(client, prefix, `Redis ${redact(url)}`, client);
    // Failures reach the trail's logger with the last connection error; the event itself would only be noise.
    client.on('error', (error: unknown) => backend.#noteError(error));
    return backend;
  }

  /** On the application's connection, which stays open. */
  static on(client: RedisClientLike, prefix: string): RedisAuditBackend {
    return new RedisAuditBackend(client, prefix, 'Redis', undefined);
  }

  private constructor(
    client: RedisClientLike,
    prefix: string,
    where: string,
    own: IoRedis.Redis | undefined,
  ) {
    this.#client = client;
    this.#own = own;
    this.#prefix = prefix;
    this.where = `${where} (prefix ${prefix})`;
  }

  #noteError(error: unknown): void {
    this.#lastError = reasonOf(error);
  }

  get #all(): string {
    return `${this.#prefix}audit`;
  }

  #userKey(userId: string): string {
    return `${this.#prefix}audit:u:${userId}`;
  }

  async write(events: readonly AuthEvent[], limits: PruneLimits): Promise<void> {
    for (let start = 0; start < events.length; start += BATCH_SIZE) {
      const batch = events.slice(start, start + BATCH_SIZE);
      const keys = [
        this.#all,
        ...batch.map((event) => (event.userId === null ? this.#all : this.#userKey(event.userId))),
      ];
      const args = [
        String(limits.cutoff),
        String(limits.maxEntries),
        String(limits.retentionMs),
        ...batch.flatMap((event) => [
          String(event.time),
          event.userId === null ? '0' : '1',
          event.type,
          eventJson(event),
        ]),
      ];
      await this.#script(keys, args);
    }
  }

  async recent(query: { userId: string | undefined; limit: number; since: number }): Promise<AuditEntry[]> {
    const key = query.userId === undefined ? this.#all : this.#userKey(query.userId);
    const start = query.since <= 0 ? '-' : String(Math.floor(query.since));
    const reply = await this.#call('XREVRANGE', [key, '+', start, 'COUNT', query.limit]);
    const entries = (reply as unknown[]).map(toEntry);
    // Ids follow the event times, except where a clock went back (see ADD): order by the events' own time.
    return entries
      .filter((entry) => entry.event.time >= query.since)
      .sort((a, b) => b.event.time - a.event.time);
  }

  async prune({ cutoff, maxEntries }: PruneLimits): Promise<number> {
    // Exact trimming here (writes trim approximately, by whole macro nodes).
    const trim = async (key: string) =>
      Number(await this.#call('XTRIM', [key, 'MINID', cutoff])) +
      Number(await this.#call('XTRIM', [key, 'MAXLEN', maxEntries]));
    let removed = await trim(this.#all);
    const pattern = `${this.#prefix.replace(/[*?[\]\\]/g, '\\$&')}audit:u:*`;
    let cursor = '0';
    do {
      const [next, keys] = (await this.#call('SCAN', [
        cursor,
        'MATCH',
        pattern,
        'COUNT',
        SCAN_BATCH,
        'TYPE',
        'stream',
      ])) as [string, string[]];
      cursor = next;
      for (const key of keys) removed += await trim(key);
    } while (cursor !== '0');
    return removed;
  }

  async close(): Promise<void> {
    if (this.#own === undefined) return;
    await this.#own.quit().catch(() => this.#own?.disconnect());
  }

  async #script(keys: readonly string[], args: readonly string[]): Promise<void> {
    try {
      await this.#call('EVALSHA', [ADD_SHA, keys.length, ...keys, ...args], true);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.includes('NOSCRIPT')) throw error;
      await this.#call('EVAL', [ADD, keys.length, ...keys, ...args]);
    }
  }

  /** A command; a connection failure is `store_unavailable` (a script's NOSCRIPT passes through when `raw`). */
  async #call(command: string, args: (string | number)[], raw = false): Promise<unknown> {
    try {
      return await this.#client.call(command, args);
    } catch (error) {
      if (raw && error instanceof Error && error.message.includes('NOSCRIPT')) throw error;
      if (error instanceof Error && error.name === 'ReplyError') throw error;
      const last = this.#lastError === undefined ? '' : ` (${this.#lastError})`;
      throw new BatonError('store_unavailable', `${this.where}: ${reasonOf(error)}${last}`, {
        retryAfter: 1,
        cause: error,
      });
    }
  }
}
