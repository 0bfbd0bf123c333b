/** Milliseconds since the epoch. Injected everywhere time matters, so tests can move it. */
export interface Clock {
  now(): number;
}

/**
 * The real time, `Date.now()`: the default `clock` of every option that takes one.
 *
 * @example
 * ```ts
 * import { type Clock, ManualClock, systemClock } from 'baton-auth';
 *
 * // The SessionManager's or the resource verifier's `clock`: a ManualClock in tests only.
 * const clock: Clock = process.env.NODE_ENV === 'test' ? new ManualClock() : systemClock;
 * ```
 */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * A clock that only moves when told to. For tests and simulations.
 *
 * @example
 * ```ts
 * import { randomBytes } from 'node:crypto';
 * import { generateSigningKey, ManualClock, MemoryStore, SessionManager } from 'baton-auth';
 *
 * const clock = new ManualClock(); // starts at 2030-01-01T00:00:00Z
 * const sessions = new SessionManager({
 *   issuer: 'https://api.example.com',
 *   audience: 'example-api',
 *   keys: [await generateSigningKey('EdDSA')],
 *   refreshKey: randomBytes(32),
 *   store: new MemoryStore(),
 *   loadUser: (id) => ({ id }),
 *   clock,
 * });
 * const pair = await sessions.issueSession({ id: '1' });
 * clock.advance(16 * 60); // past the access token's 15 minutes
 * sessions.verifyAccessToken(pair.accessToken); // throws BatonError('token_expired')
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  constructor(start: number = Date.UTC(2030, 0, 1)) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  /** Moves time forward by `seconds` (may be fractional). */
  advance(seconds: number): void {
    this.#now += seconds * 1000;
  }
  set(ms: number): void {
    this.#now = ms;
  }
}

/** Whole seconds since the epoch, the unit of JWT NumericDate. */
export function epochSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}
