/**
 * Refresh: refreshes/s and latency at 1, 8 and 64 concurrent clients for
 * every store that is available, next to the store's floor (bench/lib/stores.ts)
 * measured in the same run, in alternating rounds.
 *
 * Each client is an async loop that refreshes its own session again and
 * again (every call rotates: that is the work a real refresh does, including
 * loading the user and signing a new HS256 access token). The floor clients
 * do one read + one compare-and-set of their own row with the driver.
 */
import type { SessionManager } from '../../src/index.ts';
import type { BatonUser } from '../../src/sessions/types.ts';
import { algFixture, benchUser, managerFor } from '../lib/fixtures.ts';
import { latencyUs, type Spread, spread } from '../lib/measure.ts';
import { type BenchStore, type FloorOp, openStore, type StoreName } from '../lib/stores.ts';

export interface RefreshConfig {
  stores: readonly StoreName[];
  concurrency: readonly number[];
  /** Milliseconds per run (Baton or floor) per round. */
  runMs: number;
  warmupMs: number;
  rounds: number;
}

export interface RefreshFigure {
  concurrency: number;
  baton: { perSec: Spread; p50Us: number; p99Us: number };
  floor: { perSec: Spread; p50Us: number; p99Us: number };
  /** Per round: Baton refreshes/s divided by floor operations/s. */
  vsFloor: Spread;
}

export interface RefreshStoreResult {
  store: StoreName;
  floor: string;
  figures: RefreshFigure[];
}

export interface RefreshResult {
  alg: 'HS256';
  stores: RefreshStoreResult[];
  skipped: { store: StoreName; reason: string }[];
}

const FLOOR_DESCRIPTION: Record<StoreName, string> = {
  memory: 'MemoryStore.getSession + rotateSession (no driver under it)',
  sqlite: 'better-sqlite3: SELECT by id + UPDATE ... RETURNING compare-and-set, same file and pragmas',
  redis: 'ioredis: HGETALL + EVALSHA of the same compare-and-set Lua',
  postgres: 'pg Pool (10): SELECT by id + UPDATE ... RETURNING compare-and-set, same table',
};

type Op = () => Promise<void>;

/** Runs `clients` loops for `ms`; returns ops/s and every latency (ns). */
async function drive(clients: readonly Op[], ms: number): Promise<{ perSec: number; latencies: number[] }> {
  const latencies: number[] = [];
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(ms * 1e6));
  await Promise.all(
    clients.map(async (op) => {
      for (;;) {
        const t0 = process.hrtime.bigint();
        if (t0 >= deadline) return;
        await op();
        latencies.push(Number(process.hrtime.bigint() - t0));
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - start);
  return { perSec: (latencies.length * 1e9) / elapsed, latencies };
}

async function batonClients(manager: SessionManager<BatonUser>, count: number): Promise<Op[]> {
  const clients: Op[] = [];
  for (let i = 0; i < count; i++) {
    let token = (await manager.issueSession(benchUser)).refreshToken;
    clients.push(async () => {
      token = (await manager.refresh(token)).refreshToken;
    });
  }
  return clients;
}

async function floorClients(bench: BenchStore, count: number): Promise<FloorOp[]> {
  const clients: FloorOp[] = [];
  for (let i = 0; i < count; i++) clients.push(await bench.floorClient());
  return clients;
}

export async function runRefresh(config: RefreshConfig, log: (line: string) => void): Promise<RefreshResult> {
  const fixture = await algFixture('HS256');
  const stores: RefreshStoreResult[] = [];
  const skipped: RefreshResult['skipped'] = [];
  const most = Math.max(...config.concurrency);
  for (const name of config.stores) {
    const opened = await openStore(name);
    if ('skipped' in opened) {
      skipped.push({ store: name, reason: opened.skipped });
      log(`  ${name}: skipped (${opened.skipped})`);
      continue;
    }
    const manager = managerFor(fixture, {}, opened.store);
    try {
      await manager.ready;
      const allBaton = await batonClients(manager, most);
      const allFloor = await floorClients(opened, most);
      const figures: RefreshFigure[] = [];
      for (const concurrency of config.concurrency) {
        const baton = allBaton.slice(0, concurrency);
        const floor = allFloor.slice(0, concurrency);
        await drive(baton, config.warmupMs);
        await drive(floor, config.warmupMs);
        const batonRates: number[] = [];
        const floorRates: number[] = [];
        const batonLatencies: number[] = [];
        const floorLatencies: number[] = [];
        for (let round = 0; round < config.rounds; round++) {
          const pair = round % 2 === 0 ? ([baton, floor] as const) : ([floor, baton] as const);
          for (const clients of pair) {
            const run = await drive(clients, config.runMs);
            const isBaton = clients === baton;
            (isBaton ? batonRates : floorRates).push(run.perSec);
            const into = isBaton ? batonLatencies : floorLatencies;
            for (const value of run.latencies) into.push(value);
          }
        }
        const b = latencyUs(batonLatencies);
        const f = latencyUs(floorLatencies);
        figures.push({
          concurrency,
          baton: { perSec: spread(batonRates), p50Us: b.p50, p99Us: b.p99 },
          floor: { perSec: spread(floorRates), p50Us: f.p50, p99Us: f.p99 },
          vsFloor: spread(batonRates.map((rate, index) => rate / floorRates[index]!)),
        });
      }
      stores.push({ store: name, floor: FLOOR_DESCRIPTION[name], figures });
      log(
        `  ${name}: ${figures
          .map(
            (f) =>
              `${f.concurrency}c ${Math.round(f.baton.perSec.median)}/s (${f.vsFloor.median.toFixed(2)}x floor)`,
          )
          .join(', ')}`,
      );
    } finally {
      await manager.close();
      await opened.cleanup();
    }
  }
  return { alg: 'HS256', stores, skipped };
}
