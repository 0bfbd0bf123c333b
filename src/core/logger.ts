/**
 * The logger Baton writes to: pino's interface (`debug`, `info`, `warn`,
 * `error`, `child`), so a pino logger (or anything shaped like one: bunyan,
 * a `console` wrapper) is passed as it is. Nothing in the library writes to
 * the console except the default logger below, which prints errors only.
 */

/**
 * One level of a pino-style logger: a merging object then a message, or a
 * message alone. Baton always calls it as `(object, message)`; errors are
 * under `err` (pino's convention, which its serializers render with the stack).
 */
export interface LogFn {
  (object: Record<string, unknown>, message?: string): void;
  (message: string): void;
}

/**
 * What Baton logs through (the `logger` option). A pino logger satisfies it:
 * `logger: pino()`. Baton logs unexpected errors (`error`), event-listener
 * failures (`error`), its events (`info`; `warn` for theft, rate limiting and
 * store outages), and each auth request (`debug`: method, path, status, time;
 * never a query string, a header or a body).
 */
export interface BatonLogger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** A logger whose lines also carry `bindings` (Baton binds `{ component: 'baton' }`). */
  child(bindings: Record<string, unknown>): BatonLogger;
}

const ignore = (): void => {};

/**
 * The logger when none is given: silent, except errors, which go to
 * `console.error` as they always have (an unexpected error must never vanish).
 */
export const defaultLogger: BatonLogger = Object.freeze({
  debug: ignore,
  info: ignore,
  warn: ignore,
  error(object: Record<string, unknown> | string, message?: string): void {
    if (typeof object === 'string') {
      console.error(object);
      return;
    }
    const { err, ...rest } = object;
    const details = [...(err === undefined ? [] : [err]), ...(Object.keys(rest).length > 0 ? [rest] : [])];
    if (details.length === 0) console.error(message ?? 'baton: error');
    else console.error(`${message ?? 'baton: error'}:`, ...details);
  },
  child: () => defaultLogger,
});

/** Whether a value has the methods Baton calls on a logger (for the options' validation). */
export function isLogger(value: unknown): value is BatonLogger {
  if (typeof value !== 'object' || value === null) return false;
  const logger = value as Record<string, unknown>;
  return ['debug', 'info', 'warn', 'error', 'child'].every((method) => typeof logger[method] === 'function');
}

/**
 * Logs without ever throwing: a broken logger must not turn a request, or
 * the report of a failure, into another failure.
 */
export function safeLog(
  logger: BatonLogger,
  level: 'debug' | 'info' | 'warn' | 'error',
  object: Record<string, unknown>,
  message: string,
): void {
  try {
    logger[level](object, message);
  } catch {
    // Nothing sensible is left to report it to.
  }
}
