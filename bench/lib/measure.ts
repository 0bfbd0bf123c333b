/**
 * The timing harness: tight loops timed with process.hrtime.bigint(), run in
 * batches so the clock is read rarely, warmed up before the first timed
 * round, with every result consumed so that V8 cannot drop the work.
 *
 * Cases are measured in interleaved rounds (case A, B, C, then C, B, A...),
 * so a burst of noise from other processes hits every case of a comparison
 * alike; the figure reported is the median of the rounds, with min, max and
 * the interquartile range as the spread.
 *
 * Each batch is also timed in CPU time of the whole process
 * (process.cpuUsage: every thread, so the work jose hands to WebCrypto's
 * thread pool and the GC's helper threads count). On a machine shared with
 * other work, wall time also counts the slices the scheduler gave to other
 * processes; CPU time does not, so ratios are computed from it (the
 * wall-clock figures are reported next to it).
 */

/** What each call returns is stored here, so no call is dead code. */
let sink: unknown;
let sinkCount = 0;

function consume(value: unknown): void {
  sink = value;
  sinkCount++;
}

/** Call once at the end of a run: reading the sink keeps it alive. */
export function sinkChecksum(): string {
  return `${sinkCount}:${typeof sink}`;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
  /** Every round's figure, in round order. */
  samples: number[];
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  const a = sorted[low]!;
  const b = sorted[high]!;
  return a + (b - a) * (position - low);
}

export function spread(samples: readonly number[]): Spread {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    median: quantile(sorted, 0.5),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    q1: quantile(sorted, 0.25),
    q3: quantile(sorted, 0.75),
    samples: [...samples],
  };
}

/** A synchronous case: `run()` is called once per operation (it picks its own input, e.g. from a pool). */
export interface SyncCase {
  kind: 'sync';
  name: string;
  run: () => unknown;
}

/** An asynchronous case (jose): awaited one call at a time, as a request handler would. */
export interface AsyncCase {
  kind: 'async';
  name: string;
  run: () => Promise<unknown>;
}

export type Case = SyncCase | AsyncCase;

export interface Budget {
  /** Untimed calls before the first round, in ms. */
  warmupMs: number;
  /** Timed work per case per round, in ms. */
  roundMs: number;
  rounds: number;
}

/** CPU time of the whole process (every thread: WebCrypto's thread pool and GC helpers count), in ns. */
function cpuNow(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) * 1000;
}

interface Timing {
  /** Operations per wall-clock second (hrtime). */
  wall: number;
  /** Operations per CPU second of the process. */
  cpu: number;
}

/** Runs batches until `ms` of timed work; returns operations per second. */
async function timeCase(c: Case, ms: number): Promise<Timing> {
  const budget = BigInt(Math.max(1, Math.round(ms * 1e6)));
  let elapsed = 0n;
  let cpuElapsed = 0;
  let ops = 0;
  let batch = 1;
  while (elapsed < budget) {
    let start: bigint;
    let end: bigint;
    const cpuStart = cpuNow();
    if (c.kind === 'sync') {
      const run = c.run;
      start = process.hrtime.bigint();
      for (let i = 0; i < batch; i++) consume(run());
      end = process.hrtime.bigint();
    } else {
      const run = c.run;
      start = process.hrtime.bigint();
      for (let i = 0; i < batch; i++) consume(await run());
      end = process.hrtime.bigint();
    }
    cpuElapsed += cpuNow() - cpuStart;
    const took = end - start;
    elapsed += took;
    ops += batch;
    // Aim at batches of about 2 ms: the clock is read rarely, and a round still ends close to its budget.
    if (took < 2_000_000n && batch < 1 << 20) batch *= 2;
  }
  return {
    wall: (ops * 1e9) / Number(elapsed),
    cpu: cpuElapsed <= 0 ? Number.NaN : (ops * 1e9) / cpuElapsed,
  };
}

export interface CaseResult {
  name: string;
  /** Wall clock (hrtime). */
  opsPerSec: Spread;
  /** Per CPU second of the process; null if the platform reports no CPU time. */
  cpuOpsPerSec: Spread | null;
}

/** The samples ratios are computed from: CPU time when measured, else wall clock. */
export function rateSamples(result: Pick<CaseResult, 'opsPerSec' | 'cpuOpsPerSec'>): number[] {
  return (result.cpuOpsPerSec ?? result.opsPerSec).samples;
}

/**
 * Measures every case in interleaved rounds. A case that throws is reported
 * as an error for the whole comparison, never as a fast number.
 */
export async function compare(cases: readonly Case[], budget: Budget): Promise<CaseResult[]> {
  for (const c of cases) await timeCase(c, budget.warmupMs);
  const wall = cases.map(() => [] as number[]);
  const cpu = cases.map(() => [] as number[]);
  for (let round = 0; round < budget.rounds; round++) {
    // Alternate the order, so no case always runs right after the same neighbour.
    const order = cases.map((_, index) => index);
    if (round % 2 === 1) order.reverse();
    for (const index of order) {
      const timing = await timeCase(cases[index]!, budget.roundMs);
      wall[index]!.push(timing.wall);
      cpu[index]!.push(timing.cpu);
    }
  }
  return cases.map((c, index) => ({
    name: c.name,
    opsPerSec: spread(wall[index]!),
    cpuOpsPerSec: cpu[index]!.every(Number.isFinite) ? spread(cpu[index]!) : null,
  }));
}

/** Latency percentiles from a list of durations in ns; returns microseconds. */
export function latencyUs(durationsNs: readonly number[]): { p50: number; p99: number; max: number } {
  const sorted = [...durationsNs].sort((a, b) => a - b);
  return {
    p50: quantile(sorted, 0.5) / 1000,
    p99: quantile(sorted, 0.99) / 1000,
    max: (sorted[sorted.length - 1] ?? Number.NaN) / 1000,
  };
}

export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
