/**
 * The timing harness: tight loops timed with process.hrtime.bigint(), run in
 * batches so the clock is read rarely, warmed up before the first timed
 * round, with every result consumed so that V8 cannot drop the work.
 *
 * Cases are measured in interleaved rounds (case A, B, C, then C, B, A...),
 * so a burst of noise from other processes hits every case of a comparison
 * alike; the figure reported is the median of the rounds, with min, max and
 * the interquartile range as the spread. Each timed slice is preceded by an
 * untimed quarter-slice of the same case, so that no case pays for the
 * caches and branch predictors its predecessor left behind.
 *
 * CPU time of the whole process (process.cpuUsage: every thread, so the work
 * jose hands to WebCrypto's thread pool counts) is added up over each case's
 * timed batches and reported next to the wall-clock figures; it is too coarse
 * over one 40 ms slice to time a slice by, so ratios use wall time, from
 * slices measured in pairs (see compare).
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
  ops: number;
  /** CPU time of the process during the timed batches, ns. */
  cpuNs: number;
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
  return { wall: (ops * 1e9) / Number(elapsed), ops, cpuNs: cpuElapsed };
}

export interface CaseResult {
  name: string;
  /** Wall clock (hrtime). */
  opsPerSec: Spread;
  /**
   * Operations per CPU second of the process over all the case's timed slices
   * together (process.cpuUsage is too coarse to time one slice by itself).
   */
  cpuOpsPerSec: number | null;
  /**
   * With a baseline: this case's throughput over the baseline's (wall clock), one
   * sample per round, each from a pair measured back to back. 1 for the baseline.
   */
  vsBaseline: Spread | null;
}

const WARMUP_CALLS = 500;

/** One timed slice, preceded by an untimed quarter-slice of the same case. */
async function slice(c: Case, ms: number): Promise<Timing> {
  // The case that ran before left its own code and data in the CPU's caches and branch
  // predictors; without this, whichever case runs second in a pair looks slower.
  await timeCase(c, Math.max(1, ms / 4));
  return timeCase(c, ms);
}

/**
 * Measures every case in interleaved rounds. Without a baseline, each round
 * runs every case once (alternating the order). With `baseline` (an index),
 * each round runs every other case as a pair with the baseline, back to back
 * (alternating which goes first), and the ratio of each pair is kept: on a
 * noisy machine two slices measured next to each other agree far better than
 * two slices a whole round apart. A case that throws fails the comparison;
 * it can never look fast.
 */
export async function compare(
  cases: readonly Case[],
  budget: Budget,
  baseline?: number,
): Promise<CaseResult[]> {
  // Warm-up: long enough in time, and in calls, for V8 to have optimized the whole path.
  for (const c of cases) {
    let calls = 0;
    do calls += (await timeCase(c, budget.warmupMs)).ops;
    while (calls < WARMUP_CALLS);
  }
  const wall = cases.map(() => [] as number[]);
  const cpu = cases.map(() => ({ ops: 0, ns: 0 }));
  const ratios = cases.map(() => [] as number[]);
  const record = (index: number, timing: Timing) => {
    wall[index]!.push(timing.wall);
    cpu[index]!.ops += timing.ops;
    cpu[index]!.ns += timing.cpuNs;
  };
  for (let round = 0; round < budget.rounds; round++) {
    const order = cases.map((_, index) => index);
    if (round % 2 === 1) order.reverse();
    if (baseline === undefined) {
      for (const index of order) record(index, await slice(cases[index]!, budget.roundMs));
      continue;
    }
    for (const index of order) {
      if (index === baseline) continue;
      const baseFirst = (round + index) % 2 === 0;
      const first = await slice(cases[baseFirst ? baseline : index]!, budget.roundMs);
      const second = await slice(cases[baseFirst ? index : baseline]!, budget.roundMs);
      const [base, other] = baseFirst ? [first, second] : [second, first];
      record(baseline, base);
      record(index, other);
      ratios[index]!.push(other.wall / base.wall);
    }
  }
  return cases.map((c, index) => ({
    name: c.name,
    opsPerSec: spread(wall[index]!),
    cpuOpsPerSec: cpu[index]!.ns > 0 ? (cpu[index]!.ops * 1e9) / cpu[index]!.ns : null,
    vsBaseline: baseline === undefined ? null : index === baseline ? spread([1]) : spread(ratios[index]!),
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
