/**
 * What observability costs (issue 17), each case measured in pairs with the
 * same work without it, in interleaved rounds:
 *
 * - cold verify (cache off), for every algorithm: a manager with a logger,
 *   its event hub and `@opentelemetry/api` loaded in the process (this file
 *   imports it) but nothing instrumented (the target: under 2%), and one
 *   `instrument()`ed on the OpenTelemetry SDK (a MeterProvider whose reader
 *   is never read, a TracerProvider without processors: the SDK's own cost,
 *   no export);
 * - cache-hit verify, plain, instrumented, and instrumented with
 *   `verifyDuration: false` (counted, not timed): where the timing and the
 *   histogram record weigh most, next to a verify that costs well under a
 *   microsecond;
 * - refresh on the memory store (HS256), plain and instrumented: its event
 *   counted by the listener, three spans (the refresh, getSession,
 *   rotateSession) and four histogram records per call.
 *
 * Verification emits no event, so a listener does not change its cost;
 * refresh emits one per call, delivered by `setImmediate`: both refresh
 * cases yield to the event loop every 16 calls, so that the listener runs
 * inside the timed slices.
 */
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { BatonLogger, SessionManager } from '../../src/index.ts';
import { instrument } from '../../src/otel/index.ts';
import type { BatonUser } from '../../src/sessions/types.ts';
import type { FloorAlg } from '../floor.ts';
import { algFixture, benchUser, codecFor, freshCopy, managerFor, tokenPool } from '../lib/fixtures.ts';
import { type Budget, type Case, compare, type Spread } from '../lib/measure.ts';

export interface ObservabilityConfig {
  budget: Budget;
  /** Distinct tokens the cold cases cycle through. */
  poolSize: number;
  algs: readonly FloorAlg[];
  /** Sessions the refresh cases cycle through. */
  sessions: number;
}

export interface ObservabilityCase {
  name: string;
  /** The case it was measured in pairs with. */
  baseline: string;
  opsPerSec: Spread;
  /** Per round: this case's throughput over its baseline's. */
  vsBaseline: Spread;
}

export interface ObservabilityFigures {
  /** `HS256`, ...; `refresh` for the refresh group. */
  group: string;
  cases: ObservabilityCase[];
}

export interface ObservabilityResult {
  groups: ObservabilityFigures[];
}

export const NOT_INSTRUMENTED =
  'verify, cache off: logger, events, OpenTelemetry API loaded, not instrumented';
export const COLD_INSTRUMENTED = 'verify, cache off: instrument()ed, OpenTelemetry SDK';
export const HIT_INSTRUMENTED = 'verify, cache hit: instrument()ed, OpenTelemetry SDK';
export const HIT_UNTIMED = 'verify, cache hit: instrument()ed with verifyDuration: false';
export const REFRESH_INSTRUMENTED = 'refresh, memory store: instrument()ed, OpenTelemetry SDK';

/** A logger that drops everything, shaped like pino (what an app passes). */
const silent: BatonLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silent,
};

/** The OpenTelemetry SDK as an app runs it, minus the export: metrics aggregated, spans made and dropped. */
function sdk() {
  const reader = new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: 3_600_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const tracerProvider = new BasicTracerProvider();
  return {
    providers: { meterProvider, tracerProvider },
    shutdown: () => Promise.all([meterProvider.shutdown(), tracerProvider.shutdown()]),
  };
}

function cycle(list: readonly string[]): () => string {
  let index = 0;
  const mask = list.length - 1;
  return () => list[index++ & mask]!;
}

function figures(cases: readonly Case[], results: Awaited<ReturnType<typeof compare>>): ObservabilityCase[] {
  const baseline = cases[0]!.name;
  return results.slice(1).map((result) => ({
    name: result.name,
    baseline,
    opsPerSec: result.opsPerSec,
    vsBaseline: result.vsBaseline!,
  }));
}

async function verifyGroup(alg: FloorAlg, config: ObservabilityConfig): Promise<ObservabilityFigures> {
  const fixture = await algFixture(alg);
  const pool = tokenPool(codecFor(fixture), config.poolSize);
  const copies = Array.from({ length: 1024 }, () => freshCopy(pool[0]!));
  const telemetry = sdk();
  const cold = managerFor(fixture, { verifyCache: false });
  const observed = managerFor(fixture, { verifyCache: false, logger: silent });
  const coldInstrumented = managerFor(fixture, { verifyCache: false });
  const hit = managerFor(fixture);
  const hitInstrumented = managerFor(fixture);
  const hitUntimed = managerFor(fixture);
  const managers = [cold, observed, coldInstrumented, hit, hitInstrumented, hitUntimed];
  await Promise.all(managers.map((m) => m.ready));
  instrument(coldInstrumented, telemetry.providers);
  instrument(hitInstrumented, telemetry.providers);
  instrument(hitUntimed, { ...telemetry.providers, verifyDuration: false });
  const verifying = (name: string, manager: SessionManager<BatonUser>, tokens: readonly string[]): Case => {
    const next = cycle(tokens);
    return { kind: 'sync', name, run: () => manager.verifyAccessToken(next()) };
  };
  try {
    const coldCases = [
      verifying('verify, cache off', cold, pool),
      verifying(NOT_INSTRUMENTED, observed, pool),
      verifying(COLD_INSTRUMENTED, coldInstrumented, pool),
    ];
    const hitCases = [
      verifying('verify, cache hit', hit, copies),
      verifying(HIT_INSTRUMENTED, hitInstrumented, copies),
      verifying(HIT_UNTIMED, hitUntimed, copies),
    ];
    for (const c of [...coldCases, ...hitCases]) {
      if ((c.run() as { sub?: string }).sub !== benchUser.id) throw new Error(`${c.name} did not verify`);
    }
    const coldResults = await compare(coldCases, config.budget, 0);
    const hitResults = await compare(hitCases, config.budget, 0);
    return { group: alg, cases: [...figures(coldCases, coldResults), ...figures(hitCases, hitResults)] };
  } finally {
    await Promise.all(managers.map((m) => m.close()));
    await telemetry.shutdown();
  }
}

/** Refreshes sessions in turn, each with its current token; yields every 16 calls so that events are delivered. */
async function refreshing(name: string, manager: SessionManager<BatonUser>, count: number): Promise<Case> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) tokens.push((await manager.issueSession(benchUser)).refreshToken);
  const mask = count - 1;
  let index = 0;
  return {
    kind: 'async',
    name,
    async run() {
      const slot = index++ & mask;
      if ((index & 15) === 0) await new Promise((resolve) => setImmediate(resolve));
      const pair = await manager.refresh(tokens[slot]!);
      tokens[slot] = pair.refreshToken;
      return pair;
    },
  };
}

async function refreshGroup(config: ObservabilityConfig): Promise<ObservabilityFigures> {
  const fixture = await algFixture('HS256');
  const telemetry = sdk();
  const plain = managerFor(fixture);
  const instrumented = managerFor(fixture);
  await Promise.all([plain.ready, instrumented.ready]);
  instrument(instrumented, telemetry.providers);
  try {
    const cases = [
      await refreshing('refresh, memory store', plain, config.sessions),
      await refreshing(REFRESH_INSTRUMENTED, instrumented, config.sessions),
    ];
    const results = await compare(cases, config.budget, 0);
    return { group: 'refresh', cases: figures(cases, results) };
  } finally {
    await Promise.all([plain.close(), instrumented.close()]);
    await telemetry.shutdown();
  }
}

export async function runObservability(
  config: ObservabilityConfig,
  log: (line: string) => void,
): Promise<ObservabilityResult> {
  const groups: ObservabilityFigures[] = [];
  for (const alg of config.algs) {
    const group = await verifyGroup(alg, config);
    groups.push(group);
    log(
      `  ${alg}: ${group.cases.map((c) => `${c.name.replace(/^verify, /, '')} ${c.vsBaseline.median.toFixed(3)}x`).join('; ')}`,
    );
  }
  const refresh = await refreshGroup(config);
  groups.push(refresh);
  log(`  refresh: instrumented ${refresh.cases[0]!.vsBaseline.median.toFixed(3)}x`);
  return { groups };
}
