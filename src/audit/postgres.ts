/**
 * The PostgreSQL audit trail: table `<schema>.<tablePrefix>audit_events`
 * beside the session store's tables. Loaded only for a `postgres:` target.
 */
import { createHash } from 'node:crypto';
import type * as Pg from 'pg';
import { BatonError } from '../core/errors.ts';
import type { AuthEvent } from '../sessions/events.ts';
import { loadDriver } from '../stores/driver.ts';
import { redact } from '../stores/store-url.ts';
import { eventJson, parseEvent } from './entry.ts';
import type { AuditBackend, AuditEntry, PgPoolLike, PruneLimits } from './types.ts';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_PREFIX_LENGTH = 40;
const BATCH_SIZE = 1000;

interface Names {
  schema: string;
  events: string;
  versions: string;
  index: (suffix: string) => string;
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

function namesFor(schema: string, tablePrefix: string): Names {
  const table = (name: string) => `${quote(schema)}.${quote(`${tablePrefix}${name}`)}`;
  return {
    schema,
    events: table('audit_events'),
    versions: table('audit_schema_version'),
    index: (suffix) => quote(`${tablePrefix}${suffix}`),
  };
}

/** Never edit a released entry: append one. Times are BIGINT milliseconds, the event JSONB. */
const MIGRATIONS: readonly ((n: Names) => string)[] = [
  (n) => `
  CREATE TABLE ${n.events} (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time BIGINT NOT NULL,
    type TEXT NOT NULL,
    user_id TEXT,
    session_id TEXT,
    event JSONB NOT NULL
  );
  CREATE INDEX ${n.index('audit_events_user_time')} ON ${n.events} (user_id, time DESC);
  CREATE INDEX ${n.index('audit_events_time')} ON ${n.events} (time);
  `,
];

/** Checks a schema and table prefix as the session store does; throws `invalid_options`. */
export function checkNames(schema: string, tablePrefix: string): void {
  if (!IDENTIFIER.test(schema) || schema.length > 63) {
    throw new BatonError(
      'invalid_options',
      `audit trail: schema must be a plain identifier of at most 63 characters, got ${JSON.stringify(schema)}`,
    );
  }
  if (tablePrefix.length > MAX_PREFIX_LENGTH || (tablePrefix !== '' && !IDENTIFIER.test(tablePrefix))) {
    throw new BatonError(
      'invalid_options',
      `audit trail: tablePrefix must be '' or an identifier of at most ${MAX_PREFIX_LENGTH} characters, got ${JSON.stringify(tablePrefix)}`,
    );
  }
}

/** A signed 64-bit advisory lock key per schema, apart from the session store's. */
function lockKey(schema: string): string {
  return createHash('sha256').update(`baton:audit:migrate:${schema}`).digest().readBigInt64BE(0).toString();
}

/** `host:port/database` of a connection URL, for messages (never the password). */
function whereOfUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const database = decodeURIComponent(parsed.pathname.slice(1));
    return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}/${database || '?'}`;
  } catch {
    return redact(url);
  }
}

/** Errors without a SQLSTATE, and connection-class ones, mean the server is away: retryable. */
function translate(error: unknown, where: string): unknown {
  if (error instanceof BatonError) return error;
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  const state = typeof code === 'string' && typeof severity === 'string' ? code : undefined;
  if (state !== undefined && !/^(08|53|57P|40001|40P01|55P03|57014|3D000|28)/.test(state)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new BatonError('store_unavailable', `${where}: ${message}`, { retryAfter: 1, cause: error });
}

interface PgClientLike {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[]; rowCount?: number | null }>;
  release(destroy?: boolean): void;
}

export class PostgresAuditBackend implements AuditBackend {
  readonly where: string;
  readonly #pool: Pg.Pool;
  readonly #owns: boolean;
  readonly #names: Names;
  #migration: Promise<void> | undefined;

  /** A pool of its own for a `postgres://` URL (2 connections: the trail writes one batch at a time). */
  static open(url: string, schema: string, tablePrefix: string): PostgresAuditBackend {
    checkNames(schema, tablePrefix);
    const pg = loadDriver<typeof Pg>('PostgreSQL', 'pg');
    const pool = new pg.Pool({
      connectionString: url,
      max: 2,
      fallback_application_name: 'baton-audit',
      connectionTimeoutMillis: 5000,
      statement_timeout: 10_000,
      keepAlive: true,
    });
    // An idle connection dropped by the server emits here; without a listener it would crash the process.
    pool.on('error', () => {});
    return new PostgresAuditBackend(pool, true, schema, tablePrefix, `PostgreSQL ${whereOfUrl(url)}`);
  }

  /** On the application's pool, which stays open. */
  static on(pool: PgPoolLike, schema: string, tablePrefix: string): PostgresAuditBackend {
    checkNames(schema, tablePrefix);
    return new PostgresAuditBackend(pool as Pg.Pool, false, schema, tablePrefix, 'PostgreSQL pool');
  }

  private constructor(pool: Pg.Pool, owns: boolean, schema: string, tablePrefix: string, where: string) {
    this.#pool = pool;
    this.#owns = owns;
    this.#names = namesFor(schema, tablePrefix);
    this.where = `${where} (schema ${schema})`;
  }

  async write(events: readonly AuthEvent[]): Promise<void> {
    for (let start = 0; start < events.length; start += BATCH_SIZE) {
      const batch = events.slice(start, start + BATCH_SIZE);
      // One statement per batch; WITH ORDINALITY keeps the ids in the order the events happened.
      await this.#query(
        `INSERT INTO ${this.#names.events} (time, type, user_id, session_id, event)
         SELECT time, type, user_id, session_id, event
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::jsonb[])
           WITH ORDINALITY AS e (time, type, user_id, session_id, event, n)
         ORDER BY n`,
        [
          batch.map((event) => event.time),
          batch.map((event) => event.type),
          batch.map((event) => event.userId),
          batch.map((event) => event.sessionId),
          batch.map(eventJson),
        ],
      );
    }
  }

  async recent(query: { userId: string | undefined; limit: number; since: number }): Promise<AuditEntry[]> {
    const byUser = query.userId !== undefined;
    const { rows } = await this.#query<{ id: string; event: string }>(
      `SELECT id::text AS id, event::text AS event FROM ${this.#names.events}
       WHERE ${byUser ? 'user_id = $3 AND ' : ''}time >= $1
       ORDER BY time DESC, id DESC LIMIT $2`,
      byUser ? [query.since, query.limit, query.userId] : [query.since, query.limit],
    );
    return rows.map((row) => ({ id: row.id, event: parseEvent(row.event, row.id) }));
  }

  async prune({ cutoff, maxEntries }: PruneLimits): Promise<number> {
    const table = this.#names.events;
    // Short statements; SKIP LOCKED lets two processes pruning at once take different rows.
    const sweep = async (text: string, bound: number | string): Promise<number> => {
      let total = 0;
      for (;;) {
        const { rowCount } = await this.#query(text, [bound]);
        total += rowCount ?? 0;
        if ((rowCount ?? 0) < BATCH_SIZE) return total;
      }
    };
    let deleted = await sweep(
      `DELETE FROM ${table} WHERE id IN
         (SELECT id FROM ${table} WHERE time < $1 LIMIT ${BATCH_SIZE} FOR UPDATE SKIP LOCKED)`,
      cutoff,
    );
    const { rows } = await this.#query<{ id: string }>(
      `SELECT id::text AS id FROM ${table} ORDER BY id DESC LIMIT 1 OFFSET $1`,
      [maxEntries],
    );
    const overflow = rows[0]?.id;
    if (overflow !== undefined) {
      deleted += await sweep(
        `DELETE FROM ${table} WHERE id IN
           (SELECT id FROM ${table} WHERE id <= $1 LIMIT ${BATCH_SIZE} FOR UPDATE SKIP LOCKED)`,
        overflow,
      );
    }
    return deleted;
  }

  async close(): Promise<void> {
    if (this.#owns) await this.#pool.end().catch(() => {});
  }

  /** Creates the table once (a failure is retried by the next call). */
  #migrate(): Promise<void> {
    this.#migration ??= this.#runMigrations().catch((error: unknown) => {
      this.#migration = undefined;
      throw translate(error, this.where);
    });
    return this.#migration;
  }

  async #runMigrations(): Promise<void> {
    const n = this.#names;
    const client = (await this.#pool.connect()) as unknown as PgClientLike;
    let broken = false;
    try {
      const version = async () => {
        const { rows } = await client.query('SELECT to_regclass($1) IS NOT NULL AS found', [n.versions]);
        if (!(rows[0] as { found?: boolean } | undefined)?.found) return 0;
        const result = await client.query(`SELECT coalesce(max(version), 0)::int AS v FROM ${n.versions}`);
        return (result.rows[0] as { v: number } | undefined)?.v ?? 0;
      };
      const check = (current: number) => {
        if (current > MIGRATIONS.length) {
          throw new BatonError(
            'invalid_options',
            `PostgreSQL schema ${n.schema} has Baton audit schema version ${current}, newer than this Baton supports (${MIGRATIONS.length}); upgrade Baton`,
          );
        }
        return current;
      };
      // Current: only read, so a runtime role without CREATE works once the table exists.
      if (check(await version()) === MIGRATIONS.length) return;
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey(n.schema)]);
        const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [n.schema]);
        if (found.rows.length === 0) await client.query(`CREATE SCHEMA ${quote(n.schema)}`);
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${n.versions} (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`,
        );
        // Again under the lock: another process may have migrated while this one waited.
        for (let next = check(await version()) + 1; next <= MIGRATIONS.length; next++) {
          await client.query(MIGRATIONS[next - 1]!(n));
          await client.query(`INSERT INTO ${n.versions} (version, applied_at) VALUES ($1, $2)`, [
            next,
            Date.now(),
          ]);
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw error;
      }
    } catch (error) {
      if (!(error instanceof BatonError) && translate(error, this.where) !== error) broken = true;
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async #query<R>(text: string, values: unknown[]): Promise<{ rows: R[]; rowCount: number | null }> {
    await this.#migrate();
    try {
      return (await this.#pool.query(text, values)) as unknown as { rows: R[]; rowCount: number | null };
    } catch (error) {
      throw translate(error, this.where);
    }
  }
}
