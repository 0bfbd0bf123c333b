/**
 * `baton-auth/stores/postgres`: `PostgresStore`, for any number of processes,
 * with the revocation feed over LISTEN/NOTIFY. Needs the `pg` package.
 *
 * @module baton-auth/stores/postgres
 */
import { createHash } from 'node:crypto';
import type * as Pg from 'pg';
import { BatonError } from '../core/errors.ts';
import { loadDriver } from './driver.ts';
import {
  DEFAULT_TIMEOUT_MS,
  IDENTIFIER,
  MAX_PREFIX_LENGTH,
  parsePostgresOptions,
} from './postgres-options.ts';
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

const PgDriver = loadDriver<typeof Pg>('PostgreSQL', 'pg');

export interface PostgresStoreOptions {
  /** `postgres://` URL. Without it (and without `pool`), pg's PG* environment variables apply. */
  connectionString?: string;
  /**
   * A pool to use instead of `connectionString`. The store never ends it, and
   * `subscribeRevocations` holds one of its connections for as long as the store is open.
   */
  pool?: Pg.Pool;
  /** Schema of Baton's tables; created by the migration when missing. Default `'public'`. */
  schema?: string;
  /** Prefix of Baton's table names, so they never clash with the application's. Default `'baton_'`. */
  tablePrefix?: string;
  /**
   * The deadline of every call, in ms (default 5000), waiting for a pooled
   * connection included: past it the call fails with `store_unavailable` and
   * its connection is closed. Also the server-side `statement_timeout` of the
   * store's own pool, and the revocation feed's heartbeat.
   */
  timeout?: number;
}

export interface MigrateOptions {
  schema?: string;
  tablePrefix?: string;
}

interface Names {
  schema: string;
  sessions: string;
  revocations: string;
  proofIds: string;
  versions: string;
  /** Quoted index name for `suffix`. */
  index: (suffix: string) => string;
  /** NOTIFY channel: per schema and prefix, as channels are per database. */
  channel: string;
}

const BATCH_SIZE = 1000;
/** rememberProofId deletes a batch of expired proof ids once per this many calls. */
const PROOF_SWEEP_EVERY = 256;
/** NOTIFY payloads must stay under 8000 bytes; leave room for the brackets. */
const MAX_PAYLOAD_BYTES = 7900;

/**
 * Schema migrations, applied in order; entry i brings the schema to version i + 1.
 * Never edit a released entry: append a new one. Times are BIGINT milliseconds.
 */
const MIGRATIONS: readonly ((n: Names) => string)[] = [
  (n) => `
  CREATE TABLE ${n.sessions} (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    client_id TEXT,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at BIGINT,
    user_agent TEXT,
    ip TEXT,
    secret_salt TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    generation INTEGER NOT NULL CHECK (generation >= 0),
    rotated_at BIGINT,
    revoked_at BIGINT,
    revoked_reason TEXT
  );
  CREATE INDEX ${n.index('sessions_user_id')} ON ${n.sessions} (user_id, created_at DESC);
  CREATE INDEX ${n.index('sessions_expires_at')} ON ${n.sessions} (expires_at);
  CREATE INDEX ${n.index('sessions_revoked_at')} ON ${n.sessions} (revoked_at);
  CREATE TABLE ${n.revocations} (
    kind TEXT NOT NULL CHECK (kind IN ('session', 'token')),
    id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
  );
  CREATE INDEX ${n.index('revocations_expires_at')} ON ${n.revocations} (expires_at);
  `,
  // 2: the DPoP replay cache (rememberProofId).
  (n) => `
  CREATE TABLE ${n.proofIds} (
    id TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
  );
  CREATE INDEX ${n.index('proof_ids_expires_at')} ON ${n.proofIds} (expires_at);
  `,
  // 3: DPoP session binding (SessionRecord.jkt).
  (n) => `
  ALTER TABLE ${n.sessions} ADD COLUMN jkt TEXT;
  `,
];

/**
 * The schema version this build of Baton writes and expects.
 *
 * @example
 * ```ts
 * import { SCHEMA_VERSION } from 'baton-auth/stores/postgres';
 * import pg from 'pg';
 *
 * // A readiness probe for a service whose role may not migrate: false until the deploy step ran migrate().
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const { rows } = await pool.query('SELECT max(version) AS version FROM auth.baton_schema_version');
 * const ready = rows[0]?.version === SCHEMA_VERSION;
 * ```
 */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings Baton's tables to `SCHEMA_VERSION` and returns it. Safe to call any
 * number of times and from many processes at once: migrating runs in one
 * transaction under an advisory lock of the schema, so exactly one caller
 * migrates and the others then find the work done. When the schema is current
 * it only reads the version table, so a runtime role needs no CREATE privilege
 * (run `migrate()` with an owner role at deploy time). `PostgresStore` calls it
 * before its first query.
 *
 * @example
 * ```ts
 * import { migrate } from 'baton-auth/stores/postgres';
 * import pg from 'pg';
 *
 * // The deploy step, as the schema's owner; the service then runs as a role without CREATE.
 * const owner = new pg.Pool({ connectionString: process.env.MIGRATION_DATABASE_URL });
 * await migrate(owner, { schema: 'auth' });
 * await owner.end();
 * ```
 */
export async function migrate(db: Pg.Pool | Pg.ClientBase, options: MigrateOptions = {}): Promise<number> {
  const schema = options.schema ?? 'public';
  const tablePrefix = options.tablePrefix ?? 'baton_';
  assertNames(schema, tablePrefix, (message) => new BatonError('invalid_options', `migrate: ${message}`));
  const names = namesFor(schema, tablePrefix);
  const pool = isPool(db) ? db : undefined;
  const where = whereOf(db);
  const client: Pg.ClientBase = pool
    ? await pool.connect().catch((error: unknown) => Promise.reject(translate(error, where)))
    : (db as Pg.ClientBase);
  let failure: unknown;
  try {
    if (checkVersion(schema, await readVersion(client, names)) === MIGRATIONS.length)
      return MIGRATIONS.length;
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey(schema)]);
    // CREATE SCHEMA IF NOT EXISTS still demands the CREATE privilege: ask only when missing.
    const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (found.rowCount === 0) await client.query(`CREATE SCHEMA ${quote(schema)}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${names.versions} (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`,
    );
    // Read again under the lock: another process may have migrated while we waited.
    const current = checkVersion(schema, await readVersion(client, names));
    for (let version = current + 1; version <= MIGRATIONS.length; version++) {
      await client.query(MIGRATIONS[version - 1]!(names));
      await client.query(`INSERT INTO ${names.versions} (version, applied_at) VALUES ($1, $2)`, [
        version,
        Date.now(),
      ]);
    }
    await client.query('COMMIT');
    return MIGRATIONS.length;
  } catch (error) {
    failure = error;
    await client.query('ROLLBACK').catch(() => {});
    throw translate(error, where);
  } finally {
    if (pool) (client as Pg.PoolClient).release(isConnectionFailure(failure));
  }
}

/** The applied schema version; 0 when the version table does not exist yet. */
async function readVersion(client: Pg.ClientBase, names: Names): Promise<number> {
  const exists = await client.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [
    names.versions,
  ]);
  if (!exists.rows[0]?.found) return 0;
  const { rows } = await client.query<{ version: number }>(
    `SELECT coalesce(max(version), 0)::int AS version FROM ${names.versions}`,
  );
  return rows[0]?.version ?? 0;
}

function checkVersion(schema: string, version: number): number {
  if (version > MIGRATIONS.length) {
    throw new BatonError(
      'invalid_options',
      `PostgreSQL schema ${schema} has Baton schema version ${version}, newer than this Baton supports (${MIGRATIONS.length}); upgrade Baton`,
    );
  }
  return version;
}

interface SessionRow {
  id: string;
  user_id: string;
  client_id: string | null;
  created_at: unknown;
  last_used_at: unknown;
  expires_at: unknown;
  user_agent: string | null;
  ip: string | null;
  secret_salt: string;
  token_hash: string;
  generation: unknown;
  rotated_at: unknown;
  revoked_at: unknown;
  revoked_reason: string | null;
  jkt?: string | null;
}

function queriesFor(n: Names) {
  const revoke = (where: string) => `
    WITH revoked AS (
      UPDATE ${n.sessions} SET revoked_at = $1, revoked_reason = $2
      WHERE revoked_at IS NULL AND ${where}
      RETURNING *
    ), recorded AS (
      INSERT INTO ${n.revocations} AS r (kind, id, expires_at)
      SELECT 'session', id, $3 FROM revoked
      ON CONFLICT (kind, id) DO UPDATE SET expires_at = GREATEST(r.expires_at, excluded.expires_at)
      RETURNING id, expires_at
    )
    SELECT revoked.*, recorded.expires_at AS revocation_expires_at FROM revoked JOIN recorded USING (id)`;
  return {
    insert: `INSERT INTO ${n.sessions} (id, user_id, client_id, created_at, last_used_at, expires_at, user_agent,
        ip, secret_salt, token_hash, generation, rotated_at, revoked_at, revoked_reason, jkt)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
    get: `SELECT * FROM ${n.sessions} WHERE id = $1`,
    // One statement is the whole compare-and-set. Under READ COMMITTED a racer
    // blocked on the row lock re-checks the WHERE against the winner's committed
    // row, finds the generation moved on, and updates nothing.
    rotate: `UPDATE ${n.sessions}
        SET token_hash = $4, generation = generation + 1, rotated_at = $5, last_used_at = $5
      WHERE id = $1 AND generation = $2 AND token_hash = $3 AND revoked_at IS NULL
      RETURNING *`,
    touch: `UPDATE ${n.sessions} SET last_used_at = $2 WHERE id = $1`,
    revokeById: revoke('id = $4'),
    revokeByUser: revoke('user_id = $4'),
    revokeByIdAndUser: revoke('id = $4 AND user_id = $5'),
    list: `SELECT * FROM ${n.sessions}
      WHERE user_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
      ORDER BY created_at DESC`,
    // Notifies only when the entry is new or now lasts longer, in the same statement as the write.
    addRevocation: `
      WITH recorded AS (
        INSERT INTO ${n.revocations} AS r (kind, id, expires_at) VALUES ($1, $2, $3)
        ON CONFLICT (kind, id) DO UPDATE SET expires_at = excluded.expires_at
          WHERE r.expires_at < excluded.expires_at
        RETURNING kind, id, expires_at
      )
      SELECT pg_notify($4, json_build_array(json_build_object('kind', kind, 'id', id, 'expiresAt', expires_at))::text)
      FROM recorded`,
    listRevocations: `SELECT kind, id, expires_at FROM ${n.revocations} WHERE expires_at > $1`,
    // SKIP LOCKED: two processes sweeping at once take different rows instead of waiting on each other.
    deleteExpiredSessions: `DELETE FROM ${n.sessions} WHERE id IN
      (SELECT id FROM ${n.sessions} WHERE expires_at <= $1 LIMIT ${BATCH_SIZE} FOR UPDATE SKIP LOCKED)`,
    deleteRevokedSessions: `DELETE FROM ${n.sessions} WHERE id IN
      (SELECT id FROM ${n.sessions} WHERE revoked_at <= $1 LIMIT ${BATCH_SIZE} FOR UPDATE SKIP LOCKED)`,
    deleteExpiredRevocations: `DELETE FROM ${n.revocations} WHERE (kind, id) IN
      (SELECT kind, id FROM ${n.revocations} WHERE expires_at <= $1 LIMIT ${BATCH_SIZE} FOR UPDATE SKIP LOCKED)`,
    // One statement: a new id is inserted, an expired one re-armed, an unexpired one left alone
    // (no row returned). A racer blocked on the winner's insert re-checks the WHERE against the
    // committed row, finds it unexpired, and returns nothing.
    rememberProofId: `INSERT INTO ${n.proofIds} AS p (id, expires_at) VALUES ($1, $2)
      ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at WHERE p.expires_at <= $3
      RETURNING 1`,
    deleteExpiredProofIds: `DELETE FROM ${n.proofIds} WHERE id IN
      (SELECT id FROM ${n.proofIds} WHERE expires_at <= $1 LIMIT ${BATCH_SIZE} FOR UPDATE SKIP LOCKED)`,
  };
}

/**
 * Sessions in PostgreSQL, shared by any number of processes.
 *
 * Atomicity: rotation is one conditional UPDATE; revocation is one statement
 * (UPDATE + INSERT of the revocation entries) plus its NOTIFYs in one
 * transaction, so other processes hear of exactly what was committed, when it
 * was committed. Durability is PostgreSQL's: a returned write is committed.
 *
 * Tables are created or upgraded by `migrate()` before the first query (or
 * call `await store.migrate()` at startup to fail early).
 *
 * @example
 * ```ts
 * import { PostgresStore } from 'baton-auth/stores/postgres'; // npm install pg
 *
 * const store = new PostgresStore({ connectionString: 'postgres://app@127.0.0.1/app', schema: 'auth' });
 * await store.migrate(); // optional: fail at startup rather than at the first request
 * // ... new SessionManager({ store, ... }): revocations reach every process over LISTEN/NOTIFY
 * await store.close();
 * ```
 */
export class PostgresStore implements SessionStore {
  readonly #pool: Pg.Pool;
  readonly #ownsPool: boolean;
  readonly #schema: string;
  readonly #tablePrefix: string;
  readonly #names: Names;
  readonly #sql: ReturnType<typeof queriesFor>;
  readonly #timeoutMs: number;
  readonly #connections: Connections;
  #migration: Promise<number> | undefined;
  #feed: ListenFeed | undefined;
  #closed = false;
  #proofIdsSinceSweep = 0;
  /** `host:port/database`, for messages (never the password). */
  readonly #where: string;

  constructor(options: PostgresStoreOptions = {}) {
    const {
      connectionString,
      pool,
      schema = 'public',
      tablePrefix = 'baton_',
      timeout = DEFAULT_TIMEOUT_MS,
    } = parsePostgresOptions(options);
    this.#schema = schema;
    this.#tablePrefix = tablePrefix;
    this.#names = namesFor(schema, tablePrefix);
    this.#sql = queriesFor(this.#names);
    this.#timeoutMs = timeout;
    if (pool) {
      this.#pool = pool;
      this.#ownsPool = false;
    } else {
      this.#pool = new PgDriver.Pool({
        connectionString,
        fallback_application_name: 'baton',
        // A connection that cannot be made, or waited for, within the deadline fails.
        connectionTimeoutMillis: timeout,
        // The server gives up on what the store gave up on: a statement past the
        // deadline, a transaction whose client went silent (and holds row locks).
        statement_timeout: timeout,
        idle_in_transaction_session_timeout: timeout,
        // TCP keepalive probes after 10 s idle (Node's default leaves the OS's two hours),
        // so that the OS notices some dead peers of idle connections by itself.
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
      });
      this.#ownsPool = true;
      // An idle connection dropped by the server emits here; without a listener it would crash the process.
      this.#pool.on('error', () => {});
    }
    this.#connections = new Connections(this.#pool, this.#ownsPool);
    this.#where = whereOf(this.#pool);
  }

  /** The NOTIFY channel revocations are published on. */
  get channel(): string {
    return this.#names.channel;
  }

  /** Creates or upgrades the tables (once per store; a failure is retried by the next call). */
  migrate(): Promise<number> {
    if (this.#closed) return Promise.reject(unavailable('the store is closed', this.#where));
    this.#migration ??= this.#withClient((client) =>
      migrate(client, { schema: this.#schema, tablePrefix: this.#tablePrefix }),
    ).catch((error: unknown) => {
      this.#migration = undefined;
      throw error;
    });
    return this.#migration;
  }

  async createSession(session: SessionRecord): Promise<void> {
    try {
      await this.#query(this.#sql.insert, [
        session.id,
        session.userId,
        session.clientId,
        session.createdAt,
        session.lastUsedAt,
        session.expiresAt,
        session.userAgent,
        session.ip,
        session.secretSalt,
        session.tokenHash,
        session.generation,
        session.rotatedAt,
        session.revokedAt,
        session.revokedReason,
        session.jkt ?? null,
      ]);
    } catch (error) {
      if (sqlState(error) === '23505') {
        throw new BatonError('internal_error', `session id ${session.id} already exists`, { cause: error });
      }
      throw error;
    }
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    const { rows } = await this.#query<SessionRow>(this.#sql.get, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async rotateSession(request: RotateRequest): Promise<RotateResult> {
    const { rows } = await this.#query<SessionRow>(this.#sql.rotate, [
      request.id,
      request.expectedGeneration,
      request.expectedTokenHash,
      request.newTokenHash,
      request.now,
    ]);
    if (rows[0]) return { rotated: true, session: toRecord(rows[0]) };
    return { rotated: false, session: await this.getSession(request.id) };
  }

  async touchSession(id: string, now: number): Promise<void> {
    await this.#query(this.#sql.touch, [id, now]);
  }

  async revokeSessions(request: RevokeSessionsRequest): Promise<SessionRecord[]> {
    const { sessionId, userId } = request;
    const head = [request.now, request.reason, request.revocationExpiresAt];
    let text: string;
    let values: unknown[];
    if (sessionId !== undefined && userId !== undefined) {
      [text, values] = [this.#sql.revokeByIdAndUser, [...head, sessionId, userId]];
    } else if (sessionId !== undefined) {
      [text, values] = [this.#sql.revokeById, [...head, sessionId]];
    } else if (userId !== undefined) {
      [text, values] = [this.#sql.revokeByUser, [...head, userId]];
    } else {
      throw new BatonError('internal_error', 'revokeSessions needs a sessionId or a userId');
    }
    return this.#transaction(async (client) => {
      const { rows } = await client.query<SessionRow & { revocation_expires_at: unknown }>(text, values);
      const revocations = rows.map(
        (row): Revocation => ({
          kind: 'session',
          id: row.id,
          expiresAt: toNumber(row.revocation_expires_at),
        }),
      );
      // Delivered to listeners at COMMIT, and only if it commits.
      for (const payload of payloads(revocations)) {
        await client.query('SELECT pg_notify($1, $2)', [this.#names.channel, payload]);
      }
      return rows.map(toRecord);
    });
  }

  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    const { rows } = await this.#query<SessionRow>(this.#sql.list, [userId, now]);
    return rows.map(toRecord);
  }

  async addRevocation(revocation: Revocation): Promise<void> {
    await this.#query(this.#sql.addRevocation, [
      revocation.kind,
      revocation.id,
      revocation.expiresAt,
      this.#names.channel,
    ]);
  }

  async listRevocations(now: number): Promise<Revocation[]> {
    const { rows } = await this.#query<{ kind: Revocation['kind']; id: string; expires_at: unknown }>(
      this.#sql.listRevocations,
      [now],
    );
    return rows.map((row) => ({ kind: row.kind, id: row.id, expiresAt: toNumber(row.expires_at) }));
  }

  async deleteExpired(request: { now: number; revokedBefore: number }): Promise<number> {
    // Each batch is its own short statement (and call, with its own deadline), so no
    // sweep holds many row locks for long.
    const sweep = async (text: string, bound: number): Promise<number> => {
      let total = 0;
      for (;;) {
        const { rowCount } = await this.#query(text, [bound]);
        total += rowCount ?? 0;
        if ((rowCount ?? 0) < BATCH_SIZE) return total;
      }
    };
    const expired = await sweep(this.#sql.deleteExpiredSessions, request.now);
    const revoked = await sweep(this.#sql.deleteRevokedSessions, request.revokedBefore);
    await sweep(this.#sql.deleteExpiredRevocations, request.now);
    await sweep(this.#sql.deleteExpiredProofIds, request.now);
    return expired + revoked;
  }

  async rememberProofId(id: string, expiresAt: number, now: number): Promise<boolean> {
    const { rowCount } = await this.#query(this.#sql.rememberProofId, [id, expiresAt, now]);
    // Every proof adds a row: one batch of expired ones goes every so often, in the
    // background, so the table stays bounded even where deleteExpired never runs.
    if (++this.#proofIdsSinceSweep >= PROOF_SWEEP_EVERY) {
      this.#proofIdsSinceSweep = 0;
      this.#query(this.#sql.deleteExpiredProofIds, [now]).catch(() => {});
    }
    return rowCount === 1;
  }

  /**
   * Delivers revocations committed by any process on this schema. One pooled
   * connection LISTENs for every listener of this store; whenever it
   * (re)connects it LISTENs, then hands the listeners the whole list from
   * `listRevocations`, so a revocation committed while it was away still arrives.
   * A heartbeat (every `timeout`, with a deadline of `timeout`) replaces a
   * connection that went silent, such as one whose peer vanished without a FIN.
   */
  subscribeRevocations(listener: RevocationListener): () => void {
    if (this.#closed) throw unavailable('the store is closed', this.#where);
    this.#feed ??= new ListenFeed({
      checkout: () => this.#connections.checkout(this.#pool, this.#where),
      channel: this.#names.channel,
      reload: () => this.listRevocations(Date.now()),
      timeoutMs: this.#timeoutMs,
      onLost: () => this.#connections.suspectAll(),
    });
    return this.#feed.add(listener);
  }

  /** Stops listening and ends the store's pool; a `pool` you passed in stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#feed?.close();
    this.#feed = undefined;
    if (!this.#ownsPool) {
      this.#connections.detach();
      return;
    }
    const ending = this.#pool.end().catch(() => {});
    // A connection whose peer vanished never answers the goodbye: its socket is closed instead.
    const settled = await Promise.race([
      ending.then(() => true),
      delay(Math.min(this.#timeoutMs, 1000), false),
    ]);
    if (!settled) {
      this.#connections.destroyAll();
      await Promise.race([ending, delay(1000, undefined)]);
    }
  }

  #query<R extends Pg.QueryResultRow = Pg.QueryResultRow>(
    text: string,
    values: unknown[],
  ): Promise<Pg.QueryResult<R>> {
    return this.#call((client) => client.query<R>(text, values));
  }

  #transaction<T>(work: (client: Pg.PoolClient) => Promise<T>): Promise<T> {
    return this.#call(async (client) => {
      await client.query('BEGIN');
      try {
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          // A connection that cannot even roll back must not go back to the pool.
          broken.add(client);
        });
        throw error;
      }
    });
  }

  /** One store call: the migration (once), then `work` on a pooled connection, all within `timeout`. */
  async #call<T>(work: (client: Pg.PoolClient) => Promise<T>): Promise<T> {
    return this.#withClient(
      async (client) => work(client),
      () => this.migrate(),
    );
  }

  /**
   * Runs `work` on a pooled connection within the deadline. Past it the call
   * fails with `store_unavailable`, and the connection, still busy with a query
   * that may never answer (a silent network, a stuck server), is closed rather
   * than left to hold a pool slot; the connections opened before it are not
   * trusted any more either (see Connections). A connection that failed is
   * closed too; one that only saw an SQL error goes back to the pool.
   */
  #withClient<T>(work: (client: Pg.PoolClient) => Promise<T>, before?: () => Promise<unknown>): Promise<T> {
    if (this.#closed) return Promise.reject(unavailable('the store is closed', this.#where));
    let over = false;
    let held: Held | undefined;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        over = true;
        this.#connections.suspectAll();
        const stuck = held;
        held = undefined;
        if (stuck) {
          stuck.client.off('error', stuck.onError);
          discard(stuck.client);
        }
        reject(unavailable(`no answer within ${this.#timeoutMs} ms`, this.#where));
      }, this.#timeoutMs);
    });
    const running = (async (): Promise<T> => {
      await before?.();
      const client = await this.#connections.checkout(this.#pool, this.#where);
      if (over) {
        client.release();
        throw unavailable(`no answer within ${this.#timeoutMs} ms`, this.#where);
      }
      // A connection that breaks while no query of ours is running on it (between
      // the statements of a transaction, say) emits 'error': unheard, it would
      // crash the process. Heard, it marks the connection broken.
      const onError = () => broken.add(client);
      client.on('error', onError);
      const mine: Held = { client, onError };
      held = mine;
      let failure: unknown;
      try {
        return await work(client);
      } catch (error) {
        failure = error;
        throw translate(error, this.#where);
      } finally {
        if (held === mine) {
          held = undefined;
          client.off('error', onError);
          if (isConnectionFailure(failure) || broken.has(client)) {
            this.#connections.suspectAll();
            discard(client);
          } else {
            client.release();
          }
        }
      }
    })();
    running.catch(() => {});
    return Promise.race([running, expired]).finally(() => clearTimeout(timer));
  }
}

// ------------------------------------------------------------ connections

/** Connections that failed under a call, or whose transaction could not be rolled back: closed, never reused. */
const broken = new WeakSet<Pg.PoolClient>();

/** The connection a call holds, and its 'error' listener. */
interface Held {
  client: Pg.PoolClient;
  onError: () => void;
}

/**
 * Which pooled connections to trust. A connection failure (a call past its
 * deadline, a dropped socket) makes every connection opened before it
 * suspect: the network or the server that broke one probably broke the idle
 * ones too, and a silent one would cost a whole deadline to find out. So a
 * suspect connection handed out by the pool is closed and another taken; those
 * opened afterwards are trusted. After an outage the first call runs on a new
 * connection instead of on each dead idle one in turn.
 */
class Connections {
  #epoch = 0;
  readonly #openedIn = new WeakMap<object, number>();
  /** Open connections of the store's own pool, for closing their sockets when the pool cannot end. */
  readonly #open = new Set<Pg.PoolClient>();
  readonly #pool: Pg.Pool;
  readonly #onConnect: (client: Pg.PoolClient) => void;
  readonly #onRemove: (client: Pg.PoolClient) => void;

  constructor(pool: Pg.Pool, owned: boolean) {
    this.#pool = pool;
    this.#onConnect = (client) => {
      this.#openedIn.set(client, this.#epoch);
      if (owned) this.#open.add(client);
    };
    this.#onRemove = (client) => {
      this.#open.delete(client);
    };
    pool.on('connect', this.#onConnect);
    pool.on('remove', this.#onRemove);
  }

  /** Stops following the pool (a given one outlives the store). */
  detach(): void {
    this.#pool.off('connect', this.#onConnect);
    this.#pool.off('remove', this.#onRemove);
  }

  suspectAll(): void {
    this.#epoch += 1;
  }

  /** A trusted connection from the pool (suspect ones it hands out are closed on the way). */
  async checkout(pool: Pg.Pool, where: string): Promise<Pg.PoolClient> {
    for (let discarded = 0; ; discarded++) {
      let client: Pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        if (isConnectionFailure(error)) this.suspectAll();
        throw translate(error, where);
      }
      // Connections the store did not see open (a given pool's) count as opened at the start.
      // Bounded: a pool that keeps handing out old ones is used as it is.
      if ((this.#openedIn.get(client) ?? 0) >= this.#epoch || discarded >= 100) return client;
      discard(client);
    }
  }

  destroyAll(): void {
    for (const client of this.#open) destroySocket(client);
    this.#open.clear();
  }
}

/**
 * Closes a pooled connection for good: out of the pool, and its socket
 * destroyed, since a connection whose peer vanished would never answer the
 * goodbye (pg only destroys the socket itself when a query is active).
 */
function discard(client: Pg.PoolClient): void {
  try {
    client.release(true);
  } catch {
    // Released already.
  }
  destroySocket(client);
}

function destroySocket(client: Pg.ClientBase): void {
  (
    client as unknown as { connection?: { stream?: { destroy?: () => void } } }
  ).connection?.stream?.destroy?.();
}

/** Resolves with `value` after `ms` (unref'd: never keeps the process alive). */
function delay<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms).unref());
}

/** `promise`, or a rejection after `ms`. */
function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  promise.catch(() => {});
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

// ------------------------------------------------------------ revocation feed

interface ListenFeedOptions {
  checkout: () => Promise<Pg.PoolClient>;
  channel: string;
  reload: () => Promise<Revocation[]>;
  /** The deadline of connecting, of LISTEN, and of each heartbeat; also the heartbeat's period. */
  timeoutMs: number;
  /** The connection was lost or went silent. */
  onLost: () => void;
}

/** The LISTEN connection behind `subscribeRevocations`, shared by a store's listeners. */
class ListenFeed {
  readonly #listeners = new Set<RevocationListener>();
  readonly #options: ListenFeedOptions;
  readonly #stopped: Promise<void>;
  #stop: () => void = () => {};
  readonly #running: Promise<void>;

  constructor(options: ListenFeedOptions) {
    this.#options = options;
    this.#stopped = new Promise((resolve) => {
      this.#stop = resolve;
    });
    this.#running = this.#run();
  }

  add(listener: RevocationListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    this.#stop();
    await this.#running;
  }

  async #run(): Promise<void> {
    let stopped = false;
    void this.#stopped.then(() => {
      stopped = true;
    });
    // Reconnection backs off to 5 s, or to the deadline when it is shorter.
    const longest = Math.min(5000, this.#options.timeoutMs);
    for (let attempt = 0; !stopped; attempt++) {
      const lost = await this.#listenUntilLost(() => {
        attempt = 0;
      });
      if (stopped || lost === 'stopped') return;
      this.#options.onLost();
      const wait = Math.min(100 * 2 ** attempt, longest) * (0.8 + Math.random() * 0.4);
      await Promise.race([this.#stopped, delay(wait, undefined)]);
    }
  }

  /** One connection's life: LISTEN, reload, deliver notifications until it breaks, goes silent or the feed stops. */
  async #listenUntilLost(onHealthy: () => void): Promise<'lost' | 'stopped'> {
    const { checkout, channel, reload, timeoutMs } = this.#options;
    let client: Pg.PoolClient | undefined;
    let heartbeat: NodeJS.Timeout | undefined;
    let lose: () => void = () => {};
    const lost = new Promise<'lost'>((resolve) => {
      lose = () => resolve('lost');
    });
    const stopped = this.#stopped.then(() => 'stopped' as const);
    try {
      const connecting = checkout();
      const first = await Promise.race([connecting, stopped, delay(timeoutMs, 'late' as const)]).catch(
        () => 'lost' as const,
      );
      if (typeof first === 'string') {
        // A connection that arrives after all is not needed any more.
        connecting.then(discard, () => {});
        return first === 'stopped' ? 'stopped' : 'lost';
      }
      client = first;
      const connection = first;
      connection.on('error', lose);
      connection.on('end', lose);
      connection.on('notification', (message: Pg.Notification) => {
        if (message.channel !== channel || message.payload === undefined) return;
        const revocations = parseRevocations(message.payload);
        if (revocations.length > 0) this.#deliver(revocations);
      });
      // LISTEN first, reload second: whatever commits in between is in one or the other.
      await withDeadline(connection.query(`LISTEN ${quote(channel)}`), timeoutMs, 'LISTEN');
      this.#deliver(await reload());
      onHealthy();
      // The heartbeat proves the connection still answers; a silent one (a peer
      // gone without a FIN, a dropped NAT entry) would otherwise never tell. One at
      // a time, each with its own deadline: never queued behind a query that hangs.
      let beating = false;
      heartbeat = setInterval(() => {
        if (beating) return;
        beating = true;
        withDeadline(connection.query('SELECT 1'), timeoutMs, 'heartbeat').then(() => {
          beating = false;
        }, lose);
      }, timeoutMs);
      heartbeat.unref();
      return await Promise.race([lost, stopped]);
    } catch {
      return 'lost';
    } finally {
      clearInterval(heartbeat);
      // Never back to the pool: it is LISTENing, and may be broken or silent.
      if (client) discard(client);
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

function namesFor(schema: string, tablePrefix: string): Names {
  const table = (name: string) => `${quote(schema)}.${quote(`${tablePrefix}${name}`)}`;
  const readable = `${schema}.${tablePrefix}revocations`;
  return {
    schema,
    sessions: table('sessions'),
    revocations: table('revocations'),
    proofIds: table('proof_ids'),
    versions: table('schema_version'),
    index: (suffix) => quote(`${tablePrefix}${suffix}`),
    // Channel names are identifiers (at most 63 bytes); a long schema gets a stable digest instead.
    channel:
      readable.length <= 63
        ? readable
        : `baton_revocations_${createHash('sha256').update(readable).digest('hex').slice(0, 24)}`,
  };
}

/** Duck-typed: the application's pg may be another copy than Baton's. */
function isPool(db: Pg.Pool | Pg.ClientBase): db is Pg.Pool {
  return 'totalCount' in db && 'idleCount' in db;
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** A signed 64-bit advisory lock key per schema: migrations of one schema serialise, others do not. */
function lockKey(schema: string): string {
  const digest = createHash('sha256').update(`baton:migrate:${schema}`).digest();
  return digest.readBigInt64BE(0).toString();
}

/** JSON arrays of revocations, each under PostgreSQL's NOTIFY payload limit. */
function payloads(revocations: readonly Revocation[]): string[] {
  const chunks: string[] = [];
  let current: string[] = [];
  let bytes = 2;
  for (const revocation of revocations) {
    const json = JSON.stringify(revocation);
    const size = Buffer.byteLength(json) + 1;
    if (current.length > 0 && bytes + size > MAX_PAYLOAD_BYTES) {
      chunks.push(`[${current.join(',')}]`);
      current = [];
      bytes = 2;
    }
    current.push(json);
    bytes += size;
  }
  if (current.length > 0) chunks.push(`[${current.join(',')}]`);
  return chunks;
}

/** BIGINT arrives as a string (pg's default), or a number / bigint if the application changed the parser. */
function toNumber(value: unknown): number {
  const parsed = typeof value === 'number' ? value : Number(value);
  if (typeof value === 'object' || !Number.isSafeInteger(parsed)) {
    throw new BatonError('internal_error', `PostgreSQL: expected an integer, got ${String(value)}`);
  }
  return parsed;
}

function toNullableNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : toNumber(value);
}

function toRecord(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    clientId: row.client_id,
    createdAt: toNumber(row.created_at),
    lastUsedAt: toNumber(row.last_used_at),
    expiresAt: toNullableNumber(row.expires_at),
    userAgent: row.user_agent,
    ip: row.ip,
    secretSalt: row.secret_salt,
    tokenHash: row.token_hash,
    generation: toNumber(row.generation),
    rotatedAt: toNullableNumber(row.rotated_at),
    revokedAt: toNullableNumber(row.revoked_at),
    revokedReason: row.revoked_reason as RevocationReason | null,
    jkt: row.jkt ?? null,
  };
}

/** The SQLSTATE of a server error (duck-typed: the application's pg may be another copy). */
function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  return typeof code === 'string' && typeof severity === 'string' ? code : undefined;
}

/**
 * SQLSTATEs that mean "not now": connection exceptions (08), insufficient
 * resources (53), shutdowns (57P), serialization failures and deadlocks (40),
 * lock and statement timeouts.
 */
const TRANSIENT_STATE = /^(08|53|57P|40001|40P01|55P03|57014)/;

/** Errors without a SQLSTATE come from the network or the pool: the server is unreachable. */
function isConnectionFailure(error: unknown): boolean {
  if (error === undefined || error instanceof BatonError) return false;
  const state = sqlState(error);
  return state === undefined || /^(08|57P)/.test(state);
}

/**
 * SQLSTATEs of a connection the server refused: a database that does not
 * exist (3D000), a failed login (28). Nothing a query can fix, but the store
 * is unusable until an operator fixes it, like an outage.
 */
const REFUSED_CONNECTION_STATE = /^(3D000|28)/;

function translate(error: unknown, where: string): unknown {
  if (error instanceof BatonError) return error;
  const state = sqlState(error);
  if (state !== undefined && !TRANSIENT_STATE.test(state) && !REFUSED_CONNECTION_STATE.test(state)) {
    return error;
  }
  return unavailable(error instanceof Error ? error.message : String(error), where, error);
}

/** `PostgreSQL host:port/database: message`: says which server and database, never the password. */
function unavailable(message: string, where: string, cause?: unknown): BatonError {
  return new BatonError('store_unavailable', `PostgreSQL ${where}: ${message}`, { retryAfter: 1, cause });
}

interface ConnectionSettings {
  host?: unknown;
  port?: unknown;
  database?: unknown;
  user?: unknown;
  connectionString?: unknown;
}

/** The server and database a pool or client connects to, as libpq would pick them. */
function whereOf(db: Pg.Pool | Pg.ClientBase): string {
  // A pool keeps its settings in `options`; a client has them as fields.
  const settings = ((db as { options?: ConnectionSettings }).options ?? db) as ConnectionSettings;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  let host = text(settings.host);
  let port = typeof settings.port === 'number' ? String(settings.port) : text(settings.port);
  let database = text(settings.database);
  let user = text(settings.user);
  const connectionString = text(settings.connectionString);
  if (connectionString !== undefined) {
    try {
      const url = new URL(connectionString);
      host ??= text(decodeURIComponent(url.hostname)) ?? text(url.searchParams.get('host'));
      port ??= text(url.port);
      database ??= text(decodeURIComponent(url.pathname.slice(1)));
      user ??= text(decodeURIComponent(url.username));
    } catch {
      // validateOptions checked our own; a pool's is the application's business.
    }
  }
  host ??= text(process.env.PGHOST) ?? 'localhost';
  port ??= text(process.env.PGPORT) ?? '5432';
  database ??= text(process.env.PGDATABASE) ?? user ?? text(process.env.PGUSER) ?? '?';
  return `${host}:${port}/${database}`;
}

function assertNames(schema: unknown, tablePrefix: unknown, error: (message: string) => BatonError): void {
  if (typeof schema !== 'string' || !IDENTIFIER.test(schema) || schema.length > 63) {
    throw error(`schema must be a plain identifier of at most 63 characters, got ${JSON.stringify(schema)}`);
  }
  if (
    typeof tablePrefix !== 'string' ||
    tablePrefix.length > MAX_PREFIX_LENGTH ||
    (tablePrefix !== '' && !IDENTIFIER.test(tablePrefix))
  ) {
    throw error(
      `tablePrefix must be '' or an identifier of at most ${MAX_PREFIX_LENGTH} characters, got ${JSON.stringify(tablePrefix)}`,
    );
  }
}
