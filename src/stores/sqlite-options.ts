/**
 * SqliteStore's options: the strict schema (each field's `meta` feeds the
 * messages and the README's options table, scripts/options-table.ts) and the
 * names people reach for instead. Internal: no entry point exports it, and it
 * imports no driver, so the options table can read it without better-sqlite3.
 */
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { explainAliases, parseOptions } from '../core/options.ts';
import { storeTimeoutSchema } from './deadline.ts';

/** The deadline of a call when `timeout` is not given, in ms (as RedisStore's and PostgresStore's). */
export { DEFAULT_TIMEOUT_MS } from './deadline.ts';

const schema = z
  .strictObject({
    path: z
      .string()
      .min(1)
      .refine((path) => !path.includes('\0'))
      .optional()
      .meta({
        accepts: "a file path, or ':memory:' (the default)",
        description:
          'the database file, created (mode 0600) and migrated when missing; processes on one host that open the same file share its sessions and revocations',
        default: "`':memory:'` (this process only)",
      }),
    database: z
      .custom<Database.Database>(
        (database) =>
          typeof database === 'object' &&
          database !== null &&
          typeof (database as { prepare?: unknown }).prepare === 'function',
      )
      .optional()
      .meta({
        accepts: 'an open, writable better-sqlite3 Database',
        description:
          'an open better-sqlite3 `Database` to use instead of `path`: migrated, its pragmas and its closing left to you (set its `busy_timeout` to 0 or a few ms, or a lock wait blocks the event loop for that long)',
      }),
    timeout: storeTimeoutSchema(
      ". A call that finds another process holding the file's write lock waits for it without blocking the event loop (only store calls wait); past the deadline it is `store_unavailable` (503, `Retry-After: 1`)",
    ),
  })
  .superRefine(({ path, database }, ctx) => {
    const fail = (option: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [option], message });
    if (path !== undefined && database !== undefined)
      fail('database', 'give either path or database, not both');
    if (database !== undefined && !database.open) {
      fail('database', 'must be an open better-sqlite3 Database: this one is closed');
    }
    if (database?.readonly)
      fail('database', 'must be a writable better-sqlite3 Database: this one is read-only');
  });

const TIMEOUT = "SqliteStore's is timeout (milliseconds: the deadline of every call, lock waits included)";

const explainUnknown = explainAliases({
  file: "SqliteStore's is path (a file path, or ':memory:')",
  filename: "SqliteStore's is path (a file path, or ':memory:')",
  url: "SqliteStore's is path (a file path, or ':memory:'); for a URL use RedisStore or PostgresStore",
  db: "SqliteStore's is database (an open better-sqlite3 Database)",
  busyTimeoutMs: TIMEOUT,
  busyTimeout: TIMEOUT,
  busy_timeout: TIMEOUT,
});

/** The schema, for the README's options table (scripts/options-table.ts). */
export const sqliteOptionsSchema: z.ZodObject = schema;

export interface ParsedSqliteOptions {
  path?: string | undefined;
  database?: Database.Database | undefined;
  timeout?: number | undefined;
}

/** `SqliteStore`'s options, checked: every problem is one `invalid_options` naming the option. */
export function parseSqliteOptions(options: unknown): ParsedSqliteOptions {
  return parseOptions(schema, options, 'SqliteStore', { explainUnknown });
}
