/**
 * `npm run bench [-- --quick] [-- --out <dir>] [-- --only tokens,http,refresh,scaling,processes,revocation,better-auth,observability,dpop] [-- --render]`
 *
 * Runs every comparison in one process run (HTTP servers and heap
 * measurements in child processes), then writes <out>/latest.json,
 * latest.md and latest.svg (default out: bench/results). With
 * BATON_BENCH_SMOKE=1 every case gets a few milliseconds: that mode only
 * proves that each benchmark still works (the CI smoke test uses it).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onOneCore } from './lib/affinity.ts';
import { machineInfo } from './lib/machine.ts';
import { sinkChecksum } from './lib/measure.ts';
import { type BenchMode, modeConfig } from './lib/modes.ts';
import { renderMarkdown, renderSvg, renderTargets, spliceTargets } from './lib/report.ts';
import type { BenchResult } from './lib/result.ts';
import { evaluateTargets } from './lib/targets.ts';
import { runBetterAuth } from './suites/better-auth.ts';
import { runDpop } from './suites/dpop.ts';
import { runHttp } from './suites/http.ts';
import { runObservability } from './suites/observability.ts';
import { runProcesses } from './suites/processes.ts';
import { runRefresh } from './suites/refresh.ts';
import { runRevocation } from './suites/revocation.ts';
import { runScaling } from './suites/scaling.ts';
import { runTokens } from './suites/tokens.ts';

const PINNED_NOTE =
  'tokens, refresh, scaling, observability and dpop ran with this process pinned to core 0 (taskset)';
const SECTIONS = [
  'tokens',
  'http',
  'refresh',
  'scaling',
  'processes',
  'revocation',
  'better-auth',
  'observability',
  'dpop',
] as const;
type Section = (typeof SECTIONS)[number];

interface Args {
  mode: BenchMode;
  out: string;
  only: Set<Section>;
  /** Re-render latest.md/.svg (and the targets) from <out>/latest.json instead of measuring. */
  render: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  let mode: BenchMode = process.env.BATON_BENCH_SMOKE === '1' ? 'smoke' : 'full';
  let out = COMMITTED;
  let only = new Set<Section>(SECTIONS);
  let render = false;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--quick') {
      if (mode !== 'smoke') mode = 'quick';
    } else if (arg === '--render') {
      render = true;
    } else if (arg === '--smoke') {
      mode = 'smoke';
    } else if (arg === '--out') {
      const value = argv[++index];
      if (!value) throw new Error('--out needs a directory');
      out = resolve(value);
    } else if (arg === '--only') {
      const value = argv[++index] ?? '';
      const wanted = value.split(',').filter(Boolean);
      for (const name of wanted) {
        if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`unknown section ${name}`);
      }
      only = new Set(wanted as Section[]);
    } else {
      throw new Error(
        `unknown argument ${arg}; use --quick, --out <dir>, --only ${SECTIONS.join(',')}, --render`,
      );
    }
  }
  return { mode, out, only, render };
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

const HERE = dirname(fileURLToPath(import.meta.url));
/** The committed results, which README.md and bench/README.md quote. */
const COMMITTED = join(HERE, 'results');
const QUOTING = [join(HERE, '..', 'README.md'), join(HERE, 'README.md')];

function write(out: string, result: BenchResult): void {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(out, 'latest.md'), renderMarkdown(result));
  writeFileSync(join(out, 'latest.svg'), renderSvg(result));
  // A full run written to bench/results is the one the READMEs quote: their targets tables follow it.
  if (resolve(out) !== COMMITTED || result.mode !== 'full') return;
  for (const file of QUOTING) {
    const spliced = spliceTargets(readFileSync(file, 'utf8'), renderTargets(result));
    if (spliced === null) throw new Error(`${file} lacks the <!-- bench-targets:start/end --> markers`);
    writeFileSync(file, spliced);
    log(`[bench] quoted the targets in ${file}`);
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.render) {
    const result = JSON.parse(readFileSync(join(args.out, 'latest.json'), 'utf8')) as BenchResult;
    result.targets = evaluateTargets(result);
    write(args.out, result);
    log(`[bench] re-rendered ${args.out}/latest.{json,md,svg}`);
    return;
  }
  const config = modeConfig(args.mode);
  const started = Date.now();
  const result: BenchResult = {
    version: 1,
    mode: args.mode,
    startedAt: new Date(started).toISOString(),
    durationSeconds: 0,
    machine: machineInfo(),
    config,
    tokens: null,
    http: null,
    refresh: null,
    scaling: null,
    processes: null,
    revocation: null,
    betterAuth: null,
    observability: null,
    dpop: null,
    targets: [],
    notes: [],
  };
  const section = async <T>(name: Section, run: () => Promise<T>): Promise<T | null> => {
    if (!args.only.has(name)) return null;
    const t0 = Date.now();
    log(`[bench] ${name}...`);
    const value = await run();
    log(`[bench] ${name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return value;
  };

  // In-process comparisons run pinned to one core (see lib/affinity.ts); the HTTP suite pins its own way.
  const pinned = async <T>(run: () => Promise<T>) => {
    const { value, pinned: core } = await onOneCore(run);
    if (core !== null && !result.notes.includes(PINNED_NOTE)) result.notes.push(PINNED_NOTE);
    return value;
  };
  result.tokens = await section('tokens', () => pinned(() => runTokens(config.tokens, log)));
  result.http = await section('http', () => runHttp(config.http, log));
  result.refresh = await section('refresh', () => pinned(() => runRefresh(config.refresh, log)));
  result.scaling = await section('scaling', () => pinned(() => runScaling(config.scaling, log)));
  // Not pinned: the workers, this load generator and the stores' servers share every core.
  result.processes = await section('processes', () => runProcesses(config.processes, log));
  result.revocation = await section('revocation', () => runRevocation(config.revocation, log));
  result.betterAuth = await section('better-auth', () => runBetterAuth(config.betterAuth, log));
  result.observability = await section('observability', () =>
    pinned(() => runObservability(config.observability, log)),
  );
  result.dpop = await section('dpop', () => pinned(() => runDpop(config.dpop, log)));

  result.durationSeconds = Math.round((Date.now() - started) / 100) / 10;
  result.targets = evaluateTargets(result);
  result.notes.push(`sink ${sinkChecksum()}`);

  write(args.out, result);
  log(`[bench] ${args.mode} run took ${result.durationSeconds} s; wrote ${args.out}/latest.{json,md,svg}`);
  for (const target of result.targets) {
    log(`  ${target.pass === null ? 'n/a ' : target.pass ? 'PASS' : 'MISS'} ${target.id}: ${target.detail}`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
