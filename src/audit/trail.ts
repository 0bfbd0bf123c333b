/**
 * The audit trail: a listener of `manager.events` that writes every event to
 * a store (memory, SQLite, PostgreSQL, Redis) and reads a user's history.
 *
 * Writing never delays a request: the manager calls listeners after the
 * answer has gone out; the listener only queues the event, and one writer
 * per trail drains the queue in batches, in order. A batch that cannot be
 * written is retried twice, then dropped and reported to the logger of the
 * manager it came from. The queue is bounded: while the store is away the
 * oldest queued events make room for new ones (and are counted in the report).
 */
import { z } from 'zod';
import { type Clock, systemClock } from '../core/clock.ts';
import type { Duration } from '../core/duration.ts';
import { BatonError } from '../core/errors.ts';
import { type BatonLogger, defaultLogger, isLogger, safeLog } from '../core/logger.ts';
import { durationSchema, explainAliases, parseOptions } from '../core/options.ts';
import {
  AUTH_EVENT_TYPES,
  type AuthEvent,
  type AuthEvents,
  type AuthEventType,
  type Unsubscribe,
} from '../sessions/events.ts';
import { parseStoreUrl, StoreOpenError, type StoreUrl } from '../stores/store-url.ts';
import type {
  AuditBackend,
  AuditEntry,
  AuditQuery,
  AuditTarget,
  PgPoolLike,
  PruneLimits,
  RedisClientLike,
  SqliteDatabaseLike,
} from './types.ts';

export interface AuditTrailOptions {
  /**
   * How long entries are kept: older ones are deleted (SQL) or trimmed
   * (Redis) and never read. Default `'90d'`.
   */
  retention?: Duration;
  /**
   * The most entries kept, oldest removed first even within the retention
   * (in Redis: per stream, so also per user). Default 1,000,000; 10,000 for `memory`.
   */
  maxEntries?: number;
  /** Only these event types are written (e.g. leave out `refresh`, the most frequent). Default: every type. */
  types?: readonly AuthEventType[];
  /** The clock retention is measured on: give the manager's `ManualClock` in tests. Default: the system clock. */
  clock?: Clock;
  /** Where write failures go. Default: the logger of the manager each event came from. */
  logger?: BatonLogger;
  /** Resolves a relative `sqlite:` path. Default: the working directory. */
  baseDir?: string;
}

/** What `manager.events` and the manager's logger offer: any Baton manager is one. */
export interface AuditSource {
  readonly events: AuthEvents;
  readonly logger?: BatonLogger;
}

/**
 * An audit trail (`createAuditTrail`). Attach it to a manager to record its
 * events; read a user's history with `recent`.
 */
export interface AuditTrail {
  /** `memory`, `sqlite`, `postgres` or `redis`. */
  readonly kind: AuditKind;
  /**
   * Records every event of `manager` from now on (those `types` allows).
   * Answers a function that stops it. A trail may record several managers.
   */
  attach(manager: AuditSource): Unsubscribe;
  /** Entries, newest first (by the events' time). Throws `store_unavailable` when the store cannot answer. */
  recent(query?: AuditQuery): Promise<AuditEntry[]>;
  /**
   * Deletes the entries past retention or beyond `maxEntries` now and answers
   * how many went. The trail also does it by itself, at most once a minute
   * (on its clock), after a write.
   */
  prune(): Promise<number>;
  /** Resolves once every event queued so far is written (or dropped and reported). */
  flush(): Promise<void>;
  /** Detaches from every manager, writes what is queued, and closes what the trail opened. */
  close(): Promise<void>;
}

export type AuditKind = 'memory' | 'sqlite' | 'postgres' | 'redis';

const DEFAULT_RETENTION = 90 * 86_400;
const DEFAULT_MAX_ENTRIES = 1_000_000;
const DEFAULT_MEMORY_MAX_ENTRIES = 10_000;
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;
/** Events waiting while a write is under way; beyond it the oldest are dropped (and reported). */
const MAX_QUEUE = 10_000;
const PRUNE_EVERY_MS = 60_000;
const RETRY_DELAYS_MS = [200, 1000];

const optionsSchema = z.strictObject({
  retention: durationSchema({ positive: true, example: '90d' }).optional(),
  maxEntries: z
    .number()
    .int()
    .positive()
    .optional()
    .meta({ accepts: 'a whole number of entries, 1 or more' }),
  types: z
    .array(z.enum(AUTH_EVENT_TYPES))
    .min(1)
    .optional()
    .meta({ accepts: `a non-empty list of event types (${AUTH_EVENT_TYPES.join(', ')})` }),
  clock: z
    .custom<Clock>((clock) => typeof (clock as Clock | undefined)?.now === 'function')
    .optional()
    .meta({ accepts: 'a clock: an object with now() answering milliseconds' }),
  logger: z.custom<BatonLogger>(isLogger).optional().meta({
    accepts: 'a logger with debug, info, warn, error and child methods (pino, or one shaped like it)',
  }),
  baseDir: z.string().min(1).optional().meta({ accepts: 'a directory path' }),
});

const explainUnknown = explainAliases({
  ttl: 'the audit trail keeps entries for retention (a duration, e.g. "90d")',
  maxAge: 'the audit trail keeps entries for retention (a duration, e.g. "90d")',
  keep: 'the audit trail keeps entries for retention (a duration, e.g. "90d")',
  maxLen: 'the audit trail caps its entries with maxEntries',
  maxLength: 'the audit trail caps its entries with maxEntries',
  limit: 'the audit trail caps its entries with maxEntries; recent({ limit }) limits a read',
  events: 'the audit trail records the event types in types (a list)',
  prefix:
    "give the Redis key prefix in the target: createAuditTrail('redis://host:6379?prefix=app:') or { client, prefix }",
  schema:
    "give the PostgreSQL schema in the target: createAuditTrail('postgres://...?schema=auth') or { pool, schema }",
});

interface Queued {
  event: AuthEvent;
  logger: BatonLogger | undefined;
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class Trail implements AuditTrail {
  readonly kind: AuditKind;
  readonly #backend: AuditBackend;
  readonly #retentionMs: number;
  readonly #maxEntries: number;
  readonly #types: ReadonlySet<AuthEventType> | undefined;
  readonly #clock: Clock;
  readonly #logger: BatonLogger | undefined;
  readonly #detach = new Set<Unsubscribe>();
  #queue: Queued[] = [];
  /** Settles when the events now in the queue are written (or dropped). */
  #queued: Deferred = deferred();
  #writing: Promise<void> | undefined;
  #dropped = 0;
  #lastPrune = Number.NEGATIVE_INFINITY;
  #closing: Promise<void> | undefined;

  constructor(kind: AuditKind, backend: AuditBackend, options: ResolvedOptions) {
    this.kind = kind;
    this.#backend = backend;
    this.#retentionMs = options.retention * 1000;
    this.#maxEntries = options.maxEntries;
    this.#types = options.types === undefined ? undefined : new Set(options.types);
    this.#clock = options.clock;
    this.#logger = options.logger;
  }

  attach(manager: AuditSource): Unsubscribe {
    if (this.#closing) throw new BatonError('invalid_options', 'the audit trail is closed');
    const events = (manager as Partial<AuditSource> | null)?.events;
    if (typeof events?.on !== 'function') {
      throw new BatonError('invalid_options', 'attach(manager): expected a Baton manager (with events.on)');
    }
    const logger = this.#logger ?? (isLogger(manager.logger) ? manager.logger : undefined);
    const stop = events.on((event) => this.#enqueue(event, logger));
    const detach = () => {
      stop();
      this.#detach.delete(detach);
    };
    this.#detach.add(detach);
    return detach;
  }

  async recent(query: AuditQuery = {}): Promise<AuditEntry[]> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new BatonError('invalid_request', `recent: limit must be a whole number from 1 to ${MAX_LIMIT}`);
    }
    if (query.userId !== undefined && (typeof query.userId !== 'string' || query.userId === '')) {
      throw new BatonError('invalid_request', 'recent: userId must be a non-empty string');
    }
    const since = query.since ?? this.#limits().cutoff;
    if (typeof since !== 'number' || !Number.isFinite(since)) {
      throw new BatonError('invalid_request', 'recent: since must be a time in milliseconds');
    }
    return this.#backend.recent({ userId: query.userId, limit, since });
  }

  async prune(): Promise<number> {
    this.#lastPrune = this.#clock.now();
    return this.#backend.prune(this.#limits());
  }

  async flush(): Promise<void> {
    while (this.#writing || this.#queue.length > 0) {
      if (this.#writing) await this.#writing;
      else this.#startWriting();
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const detach of [...this.#detach]) detach();
      await this.flush();
      await this.#backend.close();
    })();
    return this.#closing;
  }

  #limits(): PruneLimits {
    return {
      cutoff: this.#clock.now() - this.#retentionMs,
      maxEntries: this.#maxEntries,
      retentionMs: this.#retentionMs,
    };
  }

  /** The listener: queue, start the writer if idle, answer when this event's batch is done (never rejects). */
  #enqueue(event: AuthEvent, logger: BatonLogger | undefined): Promise<void> | undefined {
    if (this.#types !== undefined && !this.#types.has(event.type)) return undefined;
    if (this.#queue.length >= MAX_QUEUE) {
      this.#queue.shift();
      this.#dropped++;
    }
    this.#queue.push({ event, logger });
    const done = this.#queued.promise;
    if (!this.#writing) this.#startWriting();
    return done;
  }

  #startWriting(): void {
    this.#writing = this.#drain().finally(() => {
      this.#writing = undefined;
    });
  }

  /** The one writer: batch after batch, in the order the events came, until the queue is empty. */
  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      const done = this.#queued;
      this.#queue = [];
      this.#queued = deferred();
      try {
        // A store that refused the write would refuse the prune too: no second report of one outage.
        if (await this.#write(batch)) await this.#pruneWhenDue(batch);
      } finally {
        done.resolve();
      }
    }
  }

  /** Writes a batch, retrying twice; answers whether it was written (if not, it is reported). */
  async #write(batch: readonly Queued[]): Promise<boolean> {
    const events = batch.map((item) => item.event);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#backend.write(events, this.#limits());
        if (this.#dropped > 0) this.#reportDropped(batch);
        return true;
      } catch (error) {
        const delay = RETRY_DELAYS_MS[attempt];
        if (delay === undefined || this.#closing) {
          this.#report(batch, error);
          return false;
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  async #pruneWhenDue(batch: readonly Queued[]): Promise<void> {
    if (this.#clock.now() - this.#lastPrune < PRUNE_EVERY_MS) return;
    try {
      await this.prune();
    } catch (error) {
      this.#log(
        batch,
        'warn',
        { err: error },
        `baton: the audit trail could not prune ${this.#backend.where}`,
      );
    }
  }

  #report(batch: readonly Queued[], error: unknown): void {
    const dropped = this.#dropped;
    this.#dropped = 0;
    this.#log(
      batch,
      'error',
      { err: error, events: batch.length + dropped },
      `baton: the audit trail lost ${batch.length + dropped} event(s): ${this.#failure(error)}`,
    );
  }

  /** `<where>: <reason>`, naming the store once (a backend's own errors already name it). */
  #failure(error: unknown): string {
    const reason = reasonOf(error);
    return reason.startsWith(this.#backend.where) ? reason : `${this.#backend.where}: ${reason}`;
  }

  #reportDropped(batch: readonly Queued[]): void {
    const dropped = this.#dropped;
    this.#dropped = 0;
    this.#log(
      batch,
      'error',
      { events: dropped },
      `baton: the audit trail lost ${dropped} event(s): more than ${MAX_QUEUE} waited for ${this.#backend.where}`,
    );
  }

  /** One line per logger among the batch's managers (the trail's own `logger` when given). */
  #log(
    batch: readonly Queued[],
    level: 'warn' | 'error',
    object: Record<string, unknown>,
    message: string,
  ): void {
    const loggers = new Set(batch.map((item) => item.logger ?? this.#logger ?? defaultLogger));
    for (const logger of loggers) safeLog(logger, level, object, message);
  }
}

interface ResolvedOptions {
  retention: number;
  maxEntries: number;
  types: readonly AuthEventType[] | undefined;
  clock: Clock;
  logger: BatonLogger | undefined;
  baseDir: string | undefined;
}

function resolveOptions(options: AuditTrailOptions): Omit<ResolvedOptions, 'maxEntries'> & {
  maxEntries: number | undefined;
} {
  const parsed = parseOptions(optionsSchema, options, 'audit trail', { explainUnknown });
  return {
    retention: parsed.retention ?? DEFAULT_RETENTION,
    maxEntries: parsed.maxEntries,
    types: parsed.types,
    clock: parsed.clock ?? systemClock,
    logger: parsed.logger,
    baseDir: parsed.baseDir,
  };
}

type ObjectTarget = Exclude<AuditTarget, string | StoreUrl>;

function isStoreUrl(target: unknown): target is StoreUrl {
  const url = target as Partial<StoreUrl> | null;
  return (
    typeof url === 'object' &&
    url !== null &&
    typeof url.kind === 'string' &&
    ['memory', 'sqlite', 'redis', 'postgres'].includes(url.kind) &&
    typeof url.url === 'string'
  );
}

function has<K extends string>(value: object, key: K): value is Record<K, unknown> {
  return key in value && (value as Record<K, unknown>)[key] !== undefined;
}

/** Which store an object target names, checked by its shape (the drivers may be other copies than Baton's). */
function kindOfObject(target: ObjectTarget): Exclude<AuditKind, 'memory'> {
  const named = ['database', 'pool', 'client'].filter((key) => has(target, key));
  if (named.length === 1)
    return { database: 'sqlite', pool: 'postgres', client: 'redis' }[named[0]!] as never;
  if (named.length > 1) {
    throw new BatonError(
      'invalid_options',
      `createAuditTrail: give one of database, pool or client, not ${named.join(' and ')}`,
    );
  }
  if (has(target, 'subscribeRevocations') || has(target, 'rotateSession')) {
    throw new BatonError(
      'invalid_options',
      "createAuditTrail: this store does not share its connection; pass its URL (createAuditTrail('redis://...?prefix=...')), { client } (ioredis) or { pool } (pg)",
    );
  }
  throw new BatonError(
    'invalid_options',
    'createAuditTrail: expected a store URL, a SqliteStore or { database }, { pool } (pg) or { client } (ioredis)',
  );
}

async function openBackend(
  target: AuditTarget,
  baseDir: string | undefined,
): Promise<{ kind: AuditKind; backend: AuditBackend }> {
  if (typeof target === 'string' || isStoreUrl(target)) {
    const url =
      typeof target === 'string'
        ? parseStoreUrl(target, { label: 'audit trail URL', ...(baseDir === undefined ? {} : { baseDir }) })
        : target;
    switch (url.kind) {
      case 'memory':
        return { kind: 'memory', backend: new (await import('./memory.ts')).MemoryAuditBackend() };
      case 'sqlite': {
        const { SqliteAuditBackend } = await import('./sqlite.ts');
        return { kind: 'sqlite', backend: await opening(url.path, () => SqliteAuditBackend.open(url.path)) };
      }
      case 'postgres': {
        const { PostgresAuditBackend } = await import('./postgres.ts');
        const { schema = 'public', tablePrefix = 'baton_' } = url.options;
        return { kind: 'postgres', backend: PostgresAuditBackend.open(url.url, schema, tablePrefix) };
      }
      case 'redis': {
        const { RedisAuditBackend } = await import('./redis.ts');
        return { kind: 'redis', backend: RedisAuditBackend.open(url.url, prefixOf(url.options.prefix)) };
      }
    }
  }
  if (typeof target !== 'object' || target === null) {
    throw new BatonError('invalid_options', 'createAuditTrail: expected a store URL or a store connection');
  }
  const kind = kindOfObject(target);
  switch (kind) {
    case 'sqlite': {
      const { database } = target as { database: SqliteDatabaseLike };
      if (typeof database?.prepare !== 'function' || typeof database.exec !== 'function') {
        throw new BatonError(
          'invalid_options',
          'createAuditTrail: database must be a better-sqlite3 Database',
        );
      }
      if (!database.open || database.readonly) {
        throw new BatonError('invalid_options', 'createAuditTrail: database must be open and writable');
      }
      const { SqliteAuditBackend } = await import('./sqlite.ts');
      return { kind, backend: SqliteAuditBackend.on(database) };
    }
    case 'postgres': {
      const {
        pool,
        schema = 'public',
        tablePrefix = 'baton_',
      } = target as {
        pool: PgPoolLike;
        schema?: string;
        tablePrefix?: string;
      };
      if (typeof pool?.query !== 'function' || typeof pool.connect !== 'function') {
        throw new BatonError('invalid_options', 'createAuditTrail: pool must be a pg Pool');
      }
      const { PostgresAuditBackend } = await import('./postgres.ts');
      return { kind, backend: PostgresAuditBackend.on(pool, schema, tablePrefix) };
    }
    case 'redis': {
      const { client, prefix } = target as { client: RedisClientLike; prefix?: string };
      const redis = client as RedisClientLike & { isCluster?: boolean; options?: { keyPrefix?: string } };
      if (typeof redis?.call !== 'function' || redis.isCluster === true) {
        throw new BatonError(
          'invalid_options',
          'createAuditTrail: client must be an ioredis connection (not a Cluster)',
        );
      }
      if (redis.options?.keyPrefix) {
        throw new BatonError(
          'invalid_options',
          'createAuditTrail: the client has a keyPrefix, which scripts and SCAN would not see; use prefix instead',
        );
      }
      const { RedisAuditBackend } = await import('./redis.ts');
      return { kind, backend: RedisAuditBackend.on(client, prefixOf(prefix)) };
    }
  }
}

function prefixOf(prefix: string | undefined): string {
  const value = prefix ?? 'baton:';
  if (!/^[!-~]{1,100}$/.test(value)) {
    throw new BatonError(
      'invalid_options',
      'audit trail: prefix must be 1 to 100 printable ASCII characters without spaces',
    );
  }
  return value;
}

async function opening<T>(path: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (error) {
    if (error instanceof BatonError && error.code !== 'store_unavailable') throw error;
    throw new StoreOpenError(`cannot open the SQLite audit trail ${path}: ${reasonOf(error)}`, {
      cause: error,
    });
  }
}

/**
 * Creates an audit trail: a listener of `manager.events` that writes every
 * event (as JSON; events carry no token or secret) to the session store's
 * database, a Redis stream, or memory, deletes what is older than
 * `retention`, and reads a user's security history.
 *
 * Only the driver the target needs is loaded. Throws `StoreUrlError` for a
 * bad URL, `store_driver_missing` for a driver that is not installed,
 * `invalid_options` for bad options, `StoreOpenError` for a SQLite file it
 * cannot open. A PostgreSQL or Redis server that is away is not an error
 * here: the trail connects on its first write (its table is created then),
 * and reports what it could not write to the logger.
 *
 * @example
 * ```ts
 * import { createAuditTrail } from 'baton-auth/audit';
 *
 * // The session store's own database: here table baton_audit_events in the SQLite file.
 * const audit = await createAuditTrail('sqlite:./sessions.db', { retention: '90d' });
 * audit.attach(sessions); // every event from now on; failures go to the manager's logger
 *
 * // A user's security history, newest first:
 * for (const { event } of await audit.recent({ userId: '42', limit: 20 })) {
 *   console.log(new Date(event.time).toISOString(), event.type, event.ip, event.userAgent);
 * }
 * // Shutdown: the manager's listeners settled, then what is queued written.
 * await sessions.events.flush();
 * await audit.close();
 * ```
 */
export async function createAuditTrail(
  target: AuditTarget,
  options: AuditTrailOptions = {},
): Promise<AuditTrail> {
  // Options first: a bad option must not leave a connection open behind it.
  const resolved = resolveOptions(options);
  const { kind, backend } = await openBackend(target, resolved.baseDir);
  const maxEntries =
    resolved.maxEntries ?? (kind === 'memory' ? DEFAULT_MEMORY_MAX_ENTRIES : DEFAULT_MAX_ENTRIES);
  return new Trail(kind, backend, { ...resolved, maxEntries });
}
