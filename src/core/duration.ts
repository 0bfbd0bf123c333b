import { BatonError } from './errors.ts';

/** A number of seconds, or a string such as `90s`, `15m`, `12h`, `30d`, `2w`. */
export type Duration = number | string;

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const DURATION = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?$/;

/**
 * A Duration in whole seconds, or `undefined` when it is not one (a negative
 * or non-finite number, text that is not `<number><unit>`). The options
 * schemas build their messages on it; `parseDuration` throws instead.
 */
export function durationSeconds(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
  }
  if (typeof value === 'string') {
    const match = DURATION.exec(value.trim());
    if (match) {
      const seconds = Number(match[1]) * (UNIT_SECONDS[match[2] ?? 's'] ?? 1);
      if (Number.isFinite(seconds)) return Math.floor(seconds);
    }
  }
  return undefined;
}

/**
 * Parses a Duration to whole seconds. Throws `invalid_options` with the offending name.
 *
 * @example
 * ```ts
 * import { parseDuration } from 'baton-auth';
 *
 * parseDuration('15m'); // 900
 * parseDuration(90); // 90
 * // A bad value throws BatonError('invalid_options'): "SESSION_TTL must be seconds or a string like ..."
 * const sessionTtl = parseDuration(process.env.SESSION_TTL ?? '30d', 'SESSION_TTL'); // 2592000
 * ```
 */
export function parseDuration(value: Duration, name = 'duration'): number {
  const seconds = durationSeconds(value);
  if (seconds !== undefined) return seconds;
  if (typeof value === 'number') {
    throw new BatonError('invalid_options', `${name} must be a non-negative number of seconds, got ${value}`);
  }
  throw new BatonError(
    'invalid_options',
    `${name} must be seconds or a string like "90s", "15m", "12h", "30d", got ${JSON.stringify(value)}`,
  );
}
