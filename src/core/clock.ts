/** Milliseconds since the epoch. Injected everywhere time matters, so tests can move it. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to. For tests and simulations. */
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
