import { z } from 'zod';

/** Every store's deadline per call (option `timeout`) unless set, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 5000;

/**
 * The `timeout` option every store takes (one name and meaning for SQLite,
 * Redis and PostgreSQL): the deadline of every call, in milliseconds.
 * `covers` says what it bounds in that store, for the README's table.
 */
export function storeTimeoutSchema(covers: string) {
  return z
    .number()
    .int()
    .min(100)
    .max(600_000)
    .optional()
    .meta({
      accepts: `milliseconds, an integer from 100 to 600000 (default ${DEFAULT_TIMEOUT_MS})`,
      description: `milliseconds: the deadline of every call${covers}`,
      default: `\`${DEFAULT_TIMEOUT_MS}\``,
    });
}
