/**
 * The audit trail's types: what `recent()` answers and asks, the targets a
 * trail writes to, and the backend contract each store kind implements
 * (internal: memory, SQLite, PostgreSQL, Redis).
 */
import type { AuthEvent } from '../sessions/events.ts';
import type { StoreUrl } from '../stores/store-url.ts';

/** One stored event, as `recent()` answers it. */
export interface AuditEntry {
  /**
   * The entry's id in its backend: the row id (SQLite, PostgreSQL), the
   * stream entry id (Redis, `<ms>-<seq>`), a counter (memory). Unique within
   * one stream or table; an opaque string.
   */
  readonly id: string;
  /** The event exactly as the manager emitted it (no token or secret: events carry none). */
  readonly event: AuthEvent;
}

/** What `recent()` reads. */
export interface AuditQuery {
  /** Only this user's events (the event's `userId`). Default: every event, users or not. */
  userId?: string;
  /** At most this many, newest first. Default 50; at most 1000. */
  limit?: number;
  /**
   * Only events at or after this time (ms since the epoch). Default: the
   * retention's start (`now - retention`), so that entries due for deletion
   * never show, even before a prune removed them. `0` reads everything stored.
   */
  since?: number;
}

/**
 * A better-sqlite3 database (or a `SqliteStore`, whose `database` it is).
 * Only the shape the trail uses, so this type names no driver.
 */
export interface SqliteDatabaseLike {
  readonly open: boolean;
  readonly readonly: boolean;
  prepare(source: string): unknown;
  exec(source: string): unknown;
}

/** A pg `Pool`. Only the shape the trail uses. */
export interface PgPoolLike {
  query(text: string, values?: unknown[]): Promise<unknown>;
  connect(): Promise<unknown>;
}

/** An ioredis connection (not a Cluster). Only the shape the trail uses. */
export interface RedisClientLike {
  call(command: string, args: (string | number)[]): Promise<unknown>;
}

/**
 * Where a trail writes:
 * - a store URL, as `openStore` takes it: `memory` (a ring buffer in this
 *   process), `sqlite:./sessions.db`, `redis://host:6379?prefix=baton:`,
 *   `postgres://user@host/db?schema=auth&tablePrefix=baton_`; the trail opens
 *   (and closes) its own connection; or such a URL parsed by `parseStoreUrl`;
 * - `{ database }`: a better-sqlite3 database, or a `SqliteStore` itself
 *   (the trail uses its connection and never closes it);
 * - `{ pool, schema?, tablePrefix? }`: a pg Pool (never ended by the trail);
 * - `{ client, prefix? }`: an ioredis connection (never closed by the trail).
 */
export type AuditTarget =
  | string
  | StoreUrl
  | { readonly database: SqliteDatabaseLike }
  | { readonly pool: PgPoolLike; readonly schema?: string; readonly tablePrefix?: string }
  | { readonly client: RedisClientLike; readonly prefix?: string };

/** Internal: what one backend does. Every call may throw; the trail decides what a failure means. */
export interface AuditBackend {
  /** `SQLite /path/sessions.db`, `PostgreSQL host:port/db (schema auth)`, ...: for messages, never a password. */
  readonly where: string;
  /** Appends the events in order. `limits` lets a backend trim while it writes (Redis). */
  write(events: readonly AuthEvent[], limits: PruneLimits): Promise<void>;
  /** Newest first, `time >= since`, at most `limit`. */
  recent(query: { userId: string | undefined; limit: number; since: number }): Promise<AuditEntry[]>;
  /** Deletes entries older than `cutoff` and beyond the newest `maxEntries`; answers how many went. */
  prune(limits: PruneLimits): Promise<number>;
  /** Closes what the backend opened itself; a connection it was given stays open. */
  close(): Promise<void>;
}

export interface PruneLimits {
  /** Entries with a time before this (ms) are past retention. */
  cutoff: number;
  /** The most entries kept (per stream in Redis). */
  maxEntries: number;
  /** The retention, in ms (Redis gives each user stream this TTL). */
  retentionMs: number;
}
