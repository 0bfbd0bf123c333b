/**
 * The demo's logger: one JSON line per entry on stdout, in pino's format
 * (`level` as pino's number, `time` in ms, `pid`, `hostname`, the bindings
 * and the object's fields, `msg`; an error under `err` as `{ type, message,
 * stack }`), so `pino-pretty` and log pipelines read it as pino's. It is not
 * pino itself because the demo runs from the installed package (`baton
 * serve`), where pino would have to be a runtime dependency of Baton; an
 * app passes its own pino logger to the `logger` option instead.
 *
 * BATON_LOG_LEVEL: `info` (default: one line per security event),
 * `debug` (also one line per request), `warn`, `error`, `silent`.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type { BatonLogger } from 'baton-auth';

export const DEMO_LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type DemoLogLevel = (typeof DEMO_LOG_LEVELS)[number];

/** pino's numbers for its levels. */
const LEVEL_VALUES: Record<DemoLogLevel, number> = {
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  silent: Number.POSITIVE_INFINITY,
};

type Write = (line: string) => void;

const toStdout: Write = (line) => {
  process.stdout.write(line);
};

/** pino's `err` serializer: the error's type, message and stack, and its own fields (a `code`). */
function serializeError(error: Error): Record<string, unknown> {
  const own = Object.fromEntries(Object.entries(error).filter(([, value]) => typeof value !== 'object'));
  return { type: error.name, message: error.message, stack: error.stack, ...own };
}

function lineOf(
  level: number,
  bindings: Record<string, unknown>,
  object: Record<string, unknown>,
  message: string | undefined,
): string {
  const entry: Record<string, unknown> = {
    level,
    time: Date.now(),
    pid: process.pid,
    hostname: hostname(),
    ...bindings,
    ...object,
  };
  if (message !== undefined) entry.msg = message;
  try {
    return `${JSON.stringify(entry, (_key, value: unknown) => {
      if (value instanceof Error) return serializeError(value);
      if (typeof value === 'bigint') return value.toString();
      return value;
    })}\n`;
  } catch {
    // A circular object: the line still goes out, without it.
    return `${JSON.stringify({ level, time: entry.time, pid: process.pid, hostname: entry.hostname, msg: message })}\n`;
  }
}

/** A pino-compatible logger writing JSON lines at `level` and above. */
export function jsonLogger(
  level: DemoLogLevel,
  write: Write = toStdout,
  bindings: Record<string, unknown> = {},
): BatonLogger {
  const threshold = LEVEL_VALUES[level];
  const at = (name: Exclude<DemoLogLevel, 'silent'>) => {
    const value = LEVEL_VALUES[name];
    if (value < threshold) return () => {};
    return (object: Record<string, unknown> | string, message?: string) => {
      if (typeof object === 'string') write(lineOf(value, bindings, {}, object));
      else write(lineOf(value, bindings, object, message));
    };
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => jsonLogger(level, write, { ...bindings, ...more }),
  };
}

/** Paths whose requests Baton logs itself (`baton: request`, at debug). */
function batonLogs(path: string): boolean {
  return path.startsWith('/auth/') || path === '/.well-known/jwks.json' || path === '/delegate/';
}

/**
 * One debug line per request the demo serves itself (the API routes, the
 * page), in pino-http's shape: method, path (never the query string, where
 * a token may travel), status, milliseconds. Baton logs its own routes.
 */
export function logRequests(server: Server, logger: BatonLogger): void {
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (batonLogs(path)) return;
    res.once('finish', () => {
      const ms = Math.round((performance.now() - started) * 10) / 10;
      logger.debug({ req: { method: req.method, path }, res: { statusCode: res.statusCode }, ms }, 'request');
    });
  });
}
