/**
 * Scaling:
 * - verify with 0, 10k and 1M revoked sessions in the in-memory set (cache
 *   off, and a cache hit, which is little more than the set lookups);
 * - refresh with 1k, 100k (and 1M in full mode) sessions in the store, one
 *   store per size, all measured in interleaved rounds;
 * - heap bytes per revoked-session entry and per memory-store session, each
 *   in a child process with --expose-gc (bench/scaling/heap.ts).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { SessionManager } from '../../src/index.ts';
import type { BatonUser } from '../../src/sessions/types.ts';
import { MemoryStore } from '../../src/stores/memory.ts';
import type { Revocation } from '../../src/stores/types.ts';
import { algFixture, benchUser, codecFor, freshCopy, managerFor, tokenPool } from '../lib/fixtures.ts';
import { type Budget, type Case, compare, type Spread, spread } from '../lib/measure.ts';
import { type BenchStore, openStore, type StoreName } from '../lib/stores.ts';

const run = promisify(execFile);

export interface ScalingConfig {
  budget: Budget;
  revokedSizes: readonly number[];
  sessionSizes: readonly number[];
  refreshStores: readonly StoreName[];
  refreshConcurrency: number;
  refreshRunMs: number;
  refreshRounds: number;
  heapCount: number;
}

export interface VerifyScaling {
  revoked: number;
  /** Wall clock ops/s. */
  cold: Spread;
  hit: Spread;
  /** Per round, against the empty set measured right next to it (CPU time when known). */
  coldVsEmpty: Spread;
  hitVsEmpty: Spread;
}

export interface RefreshScaling {
  store: StoreName;
  sessions: number;
  fillSeconds: number;
  perSec: Spread;
  vsSmallest: Spread;
}

export interface HeapFigure {
  kind: 'revoked' | 'sessions';
  count: number;
  heapBytes: number;
  bytesPerEntry: number;
}

export interface ScalingResult {
  verify: VerifyScaling[];
  refresh: RefreshScaling[];
  heap: HeapFigure[];
  skipped: { store: StoreName; reason: string }[];
}

/** `count` session revocations with distinct 22-character ids (cheaper to make than random ones). */
function revokedSessions(count: number, now: number): Revocation[] {
  const prefix = randomBytes(8).toString('base64url').slice(0, 10);
  const list: Revocation[] = new Array(count);
  for (let i = 0; i < count; i++) {
    list[i] = {
      kind: 'session',
      id: `${prefix}${i.toString(36).padStart(12, '0')}`,
      expiresAt: now + 3_600_000 + i,
    };
  }
  return list;
}

async function verifyScaling(config: ScalingConfig): Promise<VerifyScaling[]> {
  const fixture = await algFixture('HS256');
  const codec = codecFor(fixture);
  const pool = tokenPool(codec, 1024);
  const copies = Array.from({ length: 1024 }, () => freshCopy(pool[0]!));
  const managers: { cold: SessionManager<BatonUser>; cached: SessionManager<BatonUser> }[] = [];
  const now = Date.now();
  for (const size of config.revokedSizes) {
    // The manager loads the revoked set from the store at start, as a process does; the
    // store hands over `size` revocations (ids shaped like session ids, each its own expiry).
    let revocations: Revocation[] | null = revokedSessions(size, now);
    const store = new MemoryStore();
    // Handed over once per manager, then dropped: only the managers' sets stay in the heap.
    let loads = 0;
    store.listRevocations = async () => {
      const list = revocations ?? [];
      if (++loads === 2) revocations = null;
      return list;
    };
    const cold = managerFor(fixture, { verifyCache: false }, store);
    const cached = managerFor(fixture, {}, store);
    await Promise.all([cold.ready, cached.ready]);
    managers.push({ cold, cached });
  }
  // Colds paired with the cold empty-set case, hits with the hit one.
  const coldCases: Case[] = [];
  const hitCases: Case[] = [];
  managers.forEach(({ cold, cached }, index) => {
    let next = 0;
    coldCases.push({
      kind: 'sync',
      name: `cold ${config.revokedSizes[index]}`,
      run: () => cold.verifyAccessToken(pool[next++ & 1023]!),
    });
    let nextCopy = 0;
    hitCases.push({
      kind: 'sync',
      name: `hit ${config.revokedSizes[index]}`,
      run: () => cached.verifyAccessToken(copies[nextCopy++ & 1023]!),
    });
  });
  const colds = await compare(coldCases, config.budget, 0);
  const hits = await compare(hitCases, config.budget, 0);
  const figures = config.revokedSizes.map((revoked, index) => ({
    revoked,
    cold: colds[index]!.opsPerSec,
    hit: hits[index]!.opsPerSec,
    coldVsEmpty: colds[index]!.vsBaseline!,
    hitVsEmpty: hits[index]!.vsBaseline!,
  }));
  // Closing the managers would close the stores they share; dropping them is enough.
  return figures;
}

async function refreshScaling(
  config: ScalingConfig,
  log: (line: string) => void,
): Promise<{ figures: RefreshScaling[]; skipped: ScalingResult['skipped'] }> {
  const fixture = await algFixture('HS256');
  const figures: RefreshScaling[] = [];
  const skipped: ScalingResult['skipped'] = [];
  for (const name of config.refreshStores) {
    const opened: {
      size: number;
      bench: BenchStore;
      manager: SessionManager<BatonUser>;
      fillSeconds: number;
    }[] = [];
    try {
      for (const size of config.sessionSizes) {
        const bench = await openStore(name);
        if ('skipped' in bench) {
          skipped.push({ store: name, reason: bench.skipped });
          break;
        }
        const t0 = Date.now();
        await bench.fill(size - config.refreshConcurrency, 'filler-');
        const manager = managerFor(fixture, {}, bench.store);
        await manager.ready;
        opened.push({ size, bench, manager, fillSeconds: (Date.now() - t0) / 1000 });
      }
      if (opened.length === 0) continue;
      const clients = await Promise.all(
        opened.map(async ({ manager }) => {
          const tokens: string[] = [];
          for (let i = 0; i < config.refreshConcurrency; i++)
            tokens.push((await manager.issueSession(benchUser)).refreshToken);
          return tokens;
        }),
      );
      const drive = async (index: number, ms: number): Promise<number> => {
        const { manager } = opened[index]!;
        const tokens = clients[index]!;
        let done = 0;
        const start = process.hrtime.bigint();
        const deadline = start + BigInt(Math.round(ms * 1e6));
        await Promise.all(
          tokens.map(async (_, slot) => {
            while (process.hrtime.bigint() < deadline) {
              tokens[slot] = (await manager.refresh(tokens[slot]!)).refreshToken;
              done++;
            }
          }),
        );
        return (done * 1e9) / Number(process.hrtime.bigint() - start);
      };
      for (let index = 0; index < opened.length; index++) await drive(index, config.refreshRunMs / 2);
      const rates = opened.map(() => [] as number[]);
      for (let round = 0; round < config.refreshRounds; round++) {
        const order = opened.map((_, index) => index);
        if (round % 2 === 1) order.reverse();
        for (const index of order) rates[index]!.push(await drive(index, config.refreshRunMs));
      }
      opened.forEach(({ size, fillSeconds }, index) => {
        figures.push({
          store: name,
          sessions: size,
          fillSeconds,
          perSec: spread(rates[index]!),
          vsSmallest: spread(rates[index]!.map((value, r) => value / rates[0]![r]!)),
        });
      });
      log(
        `  refresh on ${name}: ${opened.map(({ size }, index) => `${size} sessions ${Math.round(spread(rates[index]!).median)}/s`).join(', ')}`,
      );
    } finally {
      for (const { manager, bench } of opened) {
        await manager.close();
        await bench.cleanup();
      }
    }
  }
  return { figures, skipped };
}

async function heap(count: number): Promise<HeapFigure[]> {
  const script = fileURLToPath(new URL('../scaling/heap.ts', import.meta.url));
  const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', script, String(count)], {
    maxBuffer: 1 << 20,
  });
  return stdout
    .trim()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as HeapFigure);
}

export async function runScaling(config: ScalingConfig, log: (line: string) => void): Promise<ScalingResult> {
  const verify = await verifyScaling(config);
  const last = verify[verify.length - 1]!;
  log(
    `  verify with ${last.revoked} revoked: cold ${last.coldVsEmpty.median.toFixed(2)}x, hit ${last.hitVsEmpty.median.toFixed(2)}x the empty set`,
  );
  const { figures: refresh, skipped } = await refreshScaling(config, log);
  const heapFigures = await heap(config.heapCount);
  log(
    `  heap: ${heapFigures.map((h) => `${h.kind} ${Math.round(h.bytesPerEntry)} B/entry`).join(', ')} (${config.heapCount} entries)`,
  );
  return { verify, refresh, heap: heapFigures, skipped };
}
