/**
 * PostgresStore's options: the strict schema (each field's `meta` feeds the
 * messages and the README's options table, scripts/options-table.ts) and the
 * names people reach for instead. Internal: no entry point exports it, and it
 * imports no driver, so the options table can read it without pg.
 */
import type * as Pg from 'pg';
import { z } from 'zod';
import { connectionUrlSchema, explainAliases, parseOptions } from '../core/options.ts';
import { storeTimeoutSchema } from './deadline.ts';

/** The deadline of a call when `timeout` is not given, in ms (as RedisStore's and SqliteStore's). */
export { DEFAULT_TIMEOUT_MS } from './deadline.ts';

export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const MAX_PREFIX_LENGTH = 40;

// Messages never echo the connection string: it may carry a password.
const schema = z
  .strictObject({
    connectionString: connectionUrlSchema(/^postgres(ql)?:\/\//)
      .optional()
      .meta({
        accepts: "a postgres:// or postgresql:// URL (default: pg's PG* environment variables)",
        description:
          "the server, database and login (`postgres://user:password@host:port/database`); without it (and without `pool`), pg's `PG*` environment variables",
        default: '`PG*` variables',
      }),
    pool: z
      .custom<Pg.Pool>((pool) => {
        const candidate = pool as Partial<Pg.Pool> | null;
        return (
          typeof candidate === 'object' &&
          candidate !== null &&
          typeof candidate.query === 'function' &&
          typeof candidate.connect === 'function'
        );
      })
      .optional()
      .meta({
        accepts: 'a pg Pool',
        description:
          'a pg `Pool` to use instead of `connectionString`; never ended by the store, and one of its connections LISTENs while the revocation feed is subscribed. Its own timeouts stay as you set them; the store still ends each call at `timeout`',
      }),
    schema: z.string().max(63).regex(IDENTIFIER).optional().meta({
      accepts: "a plain identifier of at most 63 characters (default 'public')",
      description: "the schema of Baton's tables, created by the migration when missing",
      default: "`'public'`",
    }),
    tablePrefix: z
      .string()
      .max(MAX_PREFIX_LENGTH)
      .refine((prefix) => prefix === '' || IDENTIFIER.test(prefix))
      .optional()
      .meta({
        accepts: `'' or an identifier of at most ${MAX_PREFIX_LENGTH} characters (default 'baton_')`,
        description: "prefix of Baton's table names, so they never clash with the application's",
        default: "`'baton_'`",
      }),
    timeout: storeTimeoutSchema(
      ' (waiting for a pooled connection included); past it the call is `store_unavailable` (503, `Retry-After: 1`) and its connection is closed, never reused. Also the server-side `statement_timeout`, and the revocation feed heartbeat: a LISTEN connection silent for longer is replaced, and the revoked set reloaded',
    ),
  })
  .superRefine(({ connectionString, pool }, ctx) => {
    const fail = (option: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [option], message });
    if (connectionString !== undefined && pool !== undefined) {
      fail('pool', 'give either connectionString or pool, not both');
    }
    if (pool?.ending || pool?.ended) fail('pool', 'must be a pg Pool in use: this one has been ended');
  });

const CONNECTION_STRING = "PostgresStore's is connectionString (a postgres:// or postgresql:// URL)";
const IN_THE_URL =
  "PostgresStore takes it in connectionString ('postgres://user:password@host:port/database'), from pg's PG* environment variables, or through a pool";
const TIMEOUT = "PostgresStore's is timeout (milliseconds: the deadline of every call)";
const explainUnknown = explainAliases({
  url: CONNECTION_STRING,
  uri: CONNECTION_STRING,
  databaseUrl: CONNECTION_STRING,
  connection: CONNECTION_STRING,
  host: IN_THE_URL,
  port: IN_THE_URL,
  user: IN_THE_URL,
  password: IN_THE_URL,
  database: IN_THE_URL,
  client: "PostgresStore's is pool (a pg Pool)",
  prefix: "PostgresStore's is tablePrefix ('' or an identifier)",
  statementTimeout: TIMEOUT,
  statement_timeout: TIMEOUT,
  queryTimeout: TIMEOUT,
  query_timeout: TIMEOUT,
  connectionTimeoutMillis: TIMEOUT,
});

/** The schema, for the README's options table (scripts/options-table.ts). */
export const postgresOptionsSchema: z.ZodObject = schema;

export interface ParsedPostgresOptions {
  connectionString?: string | undefined;
  pool?: Pg.Pool | undefined;
  schema?: string | undefined;
  tablePrefix?: string | undefined;
  timeout?: number | undefined;
}

/** `PostgresStore`'s options, checked: every problem is one `invalid_options` naming the option. */
export function parsePostgresOptions(options: unknown): ParsedPostgresOptions {
  return parseOptions(schema, options, 'PostgresStore', { explainUnknown });
}
