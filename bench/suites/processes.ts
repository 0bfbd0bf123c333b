/**
 * Scaling out: N worker processes (bench/processes/worker.ts), each its own
 * SessionManager behind its own port, over one store (SQLite file, Redis,
 * a Redis Cluster this suite starts itself, PostgreSQL), with the same
 * signing and refresh keys. This process is the load generator: `clients`
 * closed loops, client i's j-th request going to worker (i + j) mod N, so
 * that with N = 2 every refresh lands on the other process than the last
 * one did (no stickiness: what a round-robin load balancer does).
 *
 * Both workers run for both cases; N = 1 loads the first only. The rounds
 * alternate N = 1 and N = 2 (the order reversed every other round) and each
 * round's ratio N=2 / N=1 compares neighbours in time. Per store also the
 * cross-process revocation delay (bench/revocation/follower.ts on the same
 * store URL: a logout made here, the other process's first `token_revoked`).
 *
 * On a 2-core machine the load generator and the N workers (and the store's
 * server) share the same cores: a ratio is what a second process buys on
 * this host, not what a second host would.
 */
import { randomBytes } from 'node:crypto';
import { type ChildServer, startChildServer } from '../lib/child-server.ts';
import { hsFixtureFromText, managerFor } from '../lib/fixtures.ts';
import { type Answer, closedLoop, HttpClient, type Step } from '../lib/http-client.ts';
import { latencyUs, type Spread, spread } from '../lib/measure.ts';
import { type BenchStore, DATABASE_URL, openStore, REDIS_URL } from '../lib/stores.ts';
import { revocationDelays } from './revocation.ts';

export type ProcessStoreName = 'sqlite' | 'redis' | 'redis-cluster' | 'postgres';

export interface ProcessesConfig {
  stores: readonly ProcessStoreName[];
  /** Concurrent clients (closed loops), the same total for N = 1 and N = 2. */
  clients: number;
  runMs: number;
  warmupMs: number;
  rounds: number;
  /** Logouts timed for the revocation delay, per store (0: not measured). */
  revocationSamples: number;
}

export interface ProcessLoadFigure {
  /** Requests/s through one worker and spread over two. */
  n1: Spread;
  n2: Spread;
  /** Per round, N=2 / N=1. */
  ratio: Spread;
  p99Ms: { n1: number; n2: number };
}

export interface ProcessFigure {
  store: ProcessStoreName;
  refresh: ProcessLoadFigure;
  protected: ProcessLoadFigure;
  revocation: { samples: number; p50Ms: number; p99Ms: number; maxMs: number } | null;
  /** What bounds this store's refreshes, in a line. */
  limit: string;
}

export interface ProcessesResult {
  workers: number;
  clients: number;
  figures: ProcessFigure[];
  skipped: { store: ProcessStoreName; reason: string }[];
}

const LIMITS: Record<ProcessStoreName, string> = {
  sqlite:
    'one write lock per file: every rotation of every process is serialized through it (a waiting process retries on a timer); reads and verifies are per process',
  redis:
    'one single-threaded server: a read and one Lua script per rotation, from every process; the server and the workers share these cores',
  'redis-cluster':
    "scripts run on the user's slot, so rotations spread over the masters; on one host the masters share the same cores as the workers",
  postgres:
    'a row lock and a commit (WAL flush) per rotation, a pool of 10 connections per process; the server shares these cores',
};

interface Hello {
  port: number;
}

interface ClientState {
  user: string;
  refreshToken: string;
  accessToken: string;
}

function json(answer: Answer): Record<string, string> {
  return JSON.parse(answer.body) as Record<string, string>;
}

function withQuery(url: string, name: string, value: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set(name, value);
  return parsed.href;
}

/** The store every process opens, by URL, and what to stop afterwards. */
async function openShared(
  name: ProcessStoreName,
  log: (line: string) => void,
): Promise<{ url: string; cleanup(): Promise<void> } | { skipped: string }> {
  if (name === 'redis-cluster') {
    let support: typeof import('../../test/support/redis-servers.ts');
    try {
      support = await import('../../test/support/redis-servers.ts');
      support.checkRedisBinaries();
    } catch (error) {
      return { skipped: `no Redis Cluster: ${error instanceof Error ? error.message : String(error)}` };
    }
    const t0 = Date.now();
    let cluster: Awaited<ReturnType<typeof support.startCluster>>;
    try {
      cluster = await support.startCluster({ masters: 3, replicas: 0 });
    } catch (error) {
      return {
        skipped: `a Redis Cluster could not start: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
    log(`  redis-cluster: 3 masters on 127.0.0.1 started in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return { url: `${cluster.url}?prefix=baton-bench:`, cleanup: () => cluster.stop() };
  }
  const bench: BenchStore | { skipped: string } = await openStore(name);
  if ('skipped' in bench) return bench;
  const location = bench.location!;
  const url =
    name === 'sqlite'
      ? `sqlite:${location}`
      : name === 'redis'
        ? withQuery(REDIS_URL, 'prefix', location)
        : withQuery(DATABASE_URL, 'schema', location);
  // The bench store stays open until the end: it created the schema / file and removes them.
  return { url, cleanup: () => bench.cleanup() };
}

async function measureStore(
  name: ProcessStoreName,
  url: string,
  config: ProcessesConfig,
  log: (line: string) => void,
): Promise<ProcessFigure> {
  const secret = randomBytes(32).toString('hex');
  const script = new URL('../processes/worker.ts', import.meta.url);
  const started = await Promise.allSettled(
    [0, 1].map((index) => startChildServer<Hello>(script, [url, secret], null, `worker ${index} on ${name}`)),
  );
  const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const http: HttpClient[] = [];
  try {
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    for (const worker of workers) http.push(new HttpClient(worker.hello.port, config.clients));

    // One session per client, each for its own user (on a cluster: spread over the shards).
    const clients: ClientState[] = [];
    for (let i = 0; i < config.clients; i++) {
      const user = `user-${i}`;
      const body = json(await http[0]!.expect({ method: 'POST', path: '/session', body: { user } }));
      clients.push({ user, refreshToken: body.refresh_token!, accessToken: body.access_token! });
    }
    const refreshSteps = (n: number): Step[] =>
      clients.map((client, i) => {
        let j = i;
        return async () => {
          const to = http[j++ % n]!;
          const body = json(
            await to.expect({
              method: 'POST',
              path: '/refresh',
              body: { refresh_token: client.refreshToken },
            }),
          );
          client.refreshToken = body.refresh_token!;
          client.accessToken = body.access_token!;
        };
      });
    const protectedSteps = (n: number): Step[] =>
      clients.map((client, i) => {
        let j = i;
        return async () => {
          await http[j++ % n]!.expect({
            method: 'GET',
            path: '/protected',
            headers: { authorization: `Bearer ${client.accessToken}` },
          });
        };
      });

    for (const n of [1, 2]) {
      await closedLoop(refreshSteps(n), config.warmupMs);
      await closedLoop(protectedSteps(n), config.warmupMs);
    }
    const rates = {
      refresh: { 1: [] as number[], 2: [] as number[] },
      protected: { 1: [] as number[], 2: [] as number[] },
    };
    const latencies = {
      refresh: { 1: [] as number[], 2: [] as number[] },
      protected: { 1: [] as number[], 2: [] as number[] },
    };
    for (let round = 0; round < config.rounds; round++) {
      for (const n of round % 2 === 0 ? ([1, 2] as const) : ([2, 1] as const)) {
        const refresh = await closedLoop(refreshSteps(n), config.runMs);
        rates.refresh[n].push(refresh.perSec);
        latencies.refresh[n].push(...refresh.latencies);
        const guarded = await closedLoop(protectedSteps(n), config.runMs);
        rates.protected[n].push(guarded.perSec);
        latencies.protected[n].push(...guarded.latencies);
      }
    }
    const figure = (kind: 'refresh' | 'protected'): ProcessLoadFigure => ({
      n1: spread(rates[kind][1]),
      n2: spread(rates[kind][2]),
      ratio: spread(rates[kind][2].map((value, r) => value / rates[kind][1][r]!)),
      p99Ms: {
        n1: latencyUs(latencies[kind][1]).p99 / 1000,
        n2: latencyUs(latencies[kind][2]).p99 / 1000,
      },
    });
    const result: ProcessFigure = {
      store: name,
      refresh: figure('refresh'),
      protected: figure('protected'),
      revocation: null,
      limit: LIMITS[name],
    };
    if (config.revocationSamples > 0) {
      const { openStore: openByUrl } = await import('../../src/stores/open.ts');
      const manager = managerFor(await hsFixtureFromText(secret), {}, await openByUrl(url));
      try {
        await manager.ready;
        const delays = await revocationDelays(manager, ['url', url, secret], config.revocationSamples);
        result.revocation = { samples: config.revocationSamples, ...delays };
      } finally {
        await manager.close();
      }
    }
    log(
      `  ${name}: refresh ${Math.round(result.refresh.n1.median)}/s -> ${Math.round(result.refresh.n2.median)}/s (${result.refresh.ratio.median.toFixed(2)}x), ` +
        `protected ${Math.round(result.protected.n1.median)}/s -> ${Math.round(result.protected.n2.median)}/s (${result.protected.ratio.median.toFixed(2)}x)` +
        (result.revocation
          ? `, revocation p50 ${result.revocation.p50Ms.toFixed(1)} ms p99 ${result.revocation.p99Ms.toFixed(1)} ms`
          : ''),
    );
    return result;
  } finally {
    for (const client of http) client.close();
    await Promise.all(workers.map((worker: ChildServer<Hello>) => worker.stop()));
  }
}

export async function runProcesses(
  config: ProcessesConfig,
  log: (line: string) => void,
): Promise<ProcessesResult> {
  const figures: ProcessFigure[] = [];
  const skipped: ProcessesResult['skipped'] = [];
  for (const name of config.stores) {
    const shared = await openShared(name, log);
    if ('skipped' in shared) {
      skipped.push({ store: name, reason: shared.skipped });
      log(`  ${name}: skipped (${shared.skipped})`);
      continue;
    }
    try {
      figures.push(await measureStore(name, shared.url, config, log));
    } finally {
      await shared.cleanup();
    }
  }
  return { workers: 2, clients: config.clients, figures, skipped };
}
