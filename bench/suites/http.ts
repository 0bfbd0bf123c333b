/**
 * HTTP: a protected GET route on Hono, Fastify and Express, served from one
 * child process (bench/http/server.ts, a port per framework), loaded with
 * autocannon from this process over 127.0.0.1. Routes are measured in
 * interleaved rounds against the same server, so every ratio compares
 * neighbours in time.
 *
 * Besides req/s (wall clock) the server's CPU time is read around every run
 * (/proc/<pid>/schedstat: on-CPU ns of its main thread, where all of its HTTP
 * work happens), giving requests per server CPU-second. On a machine shared
 * with other work that figure does not move when the scheduler runs someone
 * else, so the costs (share of the no-auth throughput lost) are computed
 * from it when it is available.
 *
 * With two or more cores and `taskset` available, the server is pinned to
 * the last core and this process (the load generator) to the others while
 * the suite runs (BATON_BENCH_PIN=0 turns that off).
 */

import { cpus } from 'node:os';
import autocannon from 'autocannon';
import { canPin, currentAffinity, pinSelf } from '../lib/affinity.ts';
import { startChildServer } from '../lib/child-server.ts';
import { type Spread, spread } from '../lib/measure.ts';

export type Framework = 'hono' | 'fastify' | 'express';

export interface HttpConfig {
  frameworks: readonly Framework[];
  /** Seconds of load per case per round. */
  seconds: number;
  /** Seconds of untimed load per case before the first round. */
  warmupSeconds: number;
  rounds: number;
  connections: number;
}

export interface HttpCase {
  route: string;
  label: string;
  /** Wall clock. */
  reqPerSec: Spread;
  /** Requests per CPU-second of the server's main thread; null where the kernel does not say. */
  reqPerCpuSec: Spread | null;
  p99Ms: Spread;
  /** Per round: 1 - throughput of this route / throughput of /noauth in the same round (per CPU-second when known). */
  cost: Spread;
  /** The same against /header: the cost of verifying, the framework's cost of reading a header left out. */
  costOverHeader: Spread;
  /**
   * The same against /noop (a middleware or hook that does nothing): what a guard costs over
   * what the framework charges for mounting any. Absent from results written before /noop existed.
   */
  costOverNoop?: Spread;
}

export interface HttpFramework {
  framework: Framework;
  cases: HttpCase[];
}

export interface HttpResult {
  pinned: boolean;
  /** Whether costs are per server CPU-second (else per wall-clock second). */
  costBasis: 'server-cpu' | 'wall';
  connections: number;
  frameworks: HttpFramework[];
  notes: string[];
}

const LABELS: Record<string, string> = {
  '/noauth': 'no auth',
  '/noop': 'a middleware or hook that does nothing (the framework alone)',
  '/header': 'reads the Authorization header, verifies nothing',
  '/floor': 'node:crypto floor verify',
  '/baton': 'Baton (verify cache on, token reused)',
  '/baton-nocache': 'Baton (verify cache off)',
  '/adapter': "Baton's adapter: createBaton().requireAuth() (cache on, token reused)",
  '/nocache/adapter': "Baton's adapter (verify cache off)",
};
const LIBRARY: Record<Framework, string> = {
  hono: 'hono/jwt',
  fastify: '@fastify/jwt',
  express: 'express-jwt',
};

interface Server {
  ports: Partial<Record<Framework, number>>;
  token: string;
  /** On-CPU ns of the server's main thread so far, or null. */
  cpuNs(): number | null;
  stop(): Promise<void>;
}

async function startServer(frameworks: readonly Framework[], serverCore: string | null): Promise<Server> {
  const child = await startChildServer<{ ports: Partial<Record<Framework, number>>; token: string }>(
    new URL('../http/server.ts', import.meta.url),
    [frameworks.join(',')],
    serverCore,
    'the HTTP server process',
  );
  return { ...child.hello, cpuNs: () => child.cpuNs(), stop: child.stop };
}

async function load(
  server: Server,
  url: string,
  seconds: number,
  connections: number,
  warmup = false,
): Promise<{ reqPerSec: number; reqPerCpuSec: number; p99Ms: number }> {
  const figure = await loadOnce(server, url, seconds, connections, warmup);
  // A very short run on a starved machine can end before any answer arrives: that is
  // speed, not breakage, so measure once more for a full second before calling it broken.
  if (figure === null)
    return (await loadOnce(server, url, Math.max(seconds, 1), connections, warmup)) ?? broken(url);
  return figure;
}

function broken(url: string): never {
  throw new Error(`${url}: no 2xx answer in a full second`);
}

async function loadOnce(server: Server, url: string, seconds: number, connections: number, warmup: boolean) {
  const cpuBefore = server.cpuNs();
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    // The run ends at the first sample after `duration`; the default 1 s sampling would stretch short runs.
    sampleInt: 50,
    headers: { authorization: `Bearer ${server.token}` },
  });
  const cpuAfter = server.cpuNs();
  // autocannon counts timeouts among errors; on a starved machine they are speed, not breakage.
  const failed = result.errors - result.timeouts + result.non2xx;
  if (result['2xx'] === 0 && !warmup && failed === 0) return null;
  if (failed > 0) {
    throw new Error(
      `${url}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx answers`,
    );
  }
  const cpuSeconds = cpuBefore === null || cpuAfter === null ? Number.NaN : (cpuAfter - cpuBefore) / 1e9;
  return {
    reqPerSec: result['2xx'] / Math.max(result.duration, 1e-3),
    reqPerCpuSec: cpuSeconds > 0 ? result['2xx'] / cpuSeconds : Number.NaN,
    p99Ms: result.latency.p99,
  };
}

export async function runHttp(config: HttpConfig, log: (line: string) => void): Promise<HttpResult> {
  const pinned = canPin();
  const cores = cpus().length;
  const serverCore = pinned ? String(cores - 1) : null;
  const before = pinned ? currentAffinity() : null;
  if (pinned) pinSelf(cores === 2 ? '0' : `0-${cores - 2}`);
  const frameworks: HttpFramework[] = [];
  const notes: string[] = [
    "`/baton` is a minimal middleware (bearerToken() from src/http, SessionManager.verifyAccessToken, errorResponse()); `/adapter` is Baton's adapter for the framework (src/adapters), which also builds the neutral request, handles cookies/CSRF options and maps errors.",
  ];
  const server = await startServer(config.frameworks, serverCore);
  try {
    for (const framework of config.frameworks) {
      const routes = [
        '/noauth',
        '/noop',
        '/header',
        '/floor',
        '/baton',
        '/baton-nocache',
        '/adapter',
        '/nocache/adapter',
        '/lib',
      ];
      const url = (route: string) => `http://127.0.0.1:${server.ports[framework]}${route}`;
      for (const route of routes)
        await load(server, url(route), config.warmupSeconds, config.connections, true);
      const rps = routes.map(() => [] as number[]);
      const perCpu = routes.map(() => [] as number[]);
      const p99 = routes.map(() => [] as number[]);
      for (let round = 0; round < config.rounds; round++) {
        const order = routes.map((_, index) => index);
        if (round % 2 === 1) order.reverse();
        for (const index of order) {
          const figure = await load(server, url(routes[index]!), config.seconds, config.connections);
          rps[index]!.push(figure.reqPerSec);
          perCpu[index]!.push(figure.reqPerCpuSec);
          p99[index]!.push(figure.p99Ms);
        }
      }
      const cpuKnown = perCpu.every((list) => list.every(Number.isFinite));
      const basis = cpuKnown ? perCpu : rps;
      const noauth = basis[0]!;
      const cases = routes.map((route, index) => ({
        route,
        label: route === '/lib' ? LIBRARY[framework] : LABELS[route]!,
        reqPerSec: spread(rps[index]!),
        reqPerCpuSec: cpuKnown ? spread(perCpu[index]!) : null,
        p99Ms: spread(p99[index]!),
        cost: spread(basis[index]!.map((value, r) => 1 - value / noauth[r]!)),
        costOverHeader: spread(
          basis[index]!.map((value, r) => 1 - value / basis[routes.indexOf('/header')]![r]!),
        ),
        costOverNoop: spread(
          basis[index]!.map((value, r) => 1 - value / basis[routes.indexOf('/noop')]![r]!),
        ),
      }));
      frameworks.push({ framework, cases });
      const baton = cases.find((c) => c.route === '/baton')!;
      log(
        `  ${framework}: no auth ${Math.round(cases[0]!.reqPerSec.median)} req/s, Baton (cache) costs ${(baton.cost.median * 100).toFixed(1)}%`,
      );
    }
  } finally {
    await server.stop();
    if (pinned) pinSelf(before ?? `0-${cores - 1}`);
  }
  const costBasis = frameworks.every((fw) => fw.cases.every((c) => c.reqPerCpuSec !== null))
    ? 'server-cpu'
    : 'wall';
  return { pinned, costBasis, connections: config.connections, frameworks, notes };
}
