/** How much time each benchmark gets in each mode. */
import type { BetterAuthConfig } from '../suites/better-auth.ts';
import type { DpopConfig } from '../suites/dpop.ts';
import type { HttpConfig } from '../suites/http.ts';
import type { ObservabilityConfig } from '../suites/observability.ts';
import type { ProcessesConfig } from '../suites/processes.ts';
import type { RefreshConfig } from '../suites/refresh.ts';
import type { RevocationConfig } from '../suites/revocation.ts';
import type { ScalingConfig } from '../suites/scaling.ts';
import type { TokensConfig } from '../suites/tokens.ts';
import { BENCH_ALGS } from './fixtures.ts';
import type { StoreName } from './stores.ts';

/** full: the published figures (about 10 min). quick: 2–3 min (at most 5). smoke: proves each benchmark still runs (CI). */
export type BenchMode = 'full' | 'quick' | 'smoke';

export interface ModeConfig {
  tokens: TokensConfig;
  http: HttpConfig;
  refresh: RefreshConfig;
  scaling: ScalingConfig;
  processes: ProcessesConfig;
  revocation: RevocationConfig;
  betterAuth: BetterAuthConfig;
  observability: ObservabilityConfig;
  dpop: DpopConfig;
}

const ALL_STORES: readonly StoreName[] = ['memory', 'sqlite', 'redis', 'postgres'];
const DPOP_ALGS: DpopConfig['algs'] = ['ES256', 'EdDSA'];
const PROCESS_STORES: ProcessesConfig['stores'] = ['sqlite', 'redis', 'redis-cluster', 'postgres'];

export function modeConfig(mode: BenchMode): ModeConfig {
  switch (mode) {
    case 'full':
      return {
        tokens: {
          budget: { warmupMs: 200, roundMs: 40, rounds: 11 },
          poolSize: 2048,
          missCacheMax: 1024,
          algs: BENCH_ALGS,
        },
        http: {
          frameworks: ['hono', 'fastify', 'express'],
          seconds: 2.5,
          warmupSeconds: 0.8,
          rounds: 3,
          connections: 10,
        },
        refresh: { stores: ALL_STORES, concurrency: [1, 8, 64], runMs: 700, warmupMs: 200, rounds: 3 },
        scaling: {
          budget: { warmupMs: 150, roundMs: 40, rounds: 11 },
          revokedSizes: [0, 10_000, 1_000_000],
          sessionSizes: [1_000, 100_000, 1_000_000],
          refreshStores: ['memory', 'sqlite'],
          refreshConcurrency: 8,
          refreshRunMs: 700,
          refreshRounds: 3,
          heapCount: 1_000_000,
        },
        processes: {
          stores: PROCESS_STORES,
          clients: 16,
          runMs: 1500,
          warmupMs: 400,
          rounds: 3,
          revocationSamples: 100,
        },
        revocation: { stores: ['sqlite', 'redis', 'postgres'], samples: 100 },
        betterAuth: {
          frameworks: ['hono', 'fastify'],
          seconds: 1.5,
          warmupSeconds: 0.5,
          rounds: 3,
          connections: 10,
          users: 16,
          revocation: { cacheMaxAgeSeconds: 5, samples: 3, pollMs: 10 },
          footprintSessions: 100_000,
        },
        observability: {
          budget: { warmupMs: 200, roundMs: 40, rounds: 11 },
          poolSize: 2048,
          algs: BENCH_ALGS,
          sessions: 256,
        },
        dpop: { budget: { warmupMs: 200, roundMs: 40, rounds: 11 }, algs: DPOP_ALGS, stores: ALL_STORES },
      };
    case 'quick':
      return {
        tokens: {
          budget: { warmupMs: 60, roundMs: 15, rounds: 5 },
          poolSize: 256,
          missCacheMax: 128,
          algs: BENCH_ALGS,
        },
        http: {
          frameworks: ['hono', 'fastify', 'express'],
          seconds: 0.6,
          warmupSeconds: 0.15,
          rounds: 1,
          connections: 10,
        },
        refresh: { stores: ALL_STORES, concurrency: [1, 8, 64], runMs: 100, warmupMs: 30, rounds: 2 },
        scaling: {
          budget: { warmupMs: 60, roundMs: 15, rounds: 5 },
          revokedSizes: [0, 10_000, 100_000],
          sessionSizes: [1_000, 100_000],
          refreshStores: ['memory', 'sqlite'],
          refreshConcurrency: 8,
          refreshRunMs: 100,
          refreshRounds: 2,
          heapCount: 100_000,
        },
        processes: {
          stores: PROCESS_STORES,
          clients: 16,
          runMs: 500,
          warmupMs: 150,
          rounds: 2,
          revocationSamples: 30,
        },
        revocation: { stores: ['sqlite', 'redis', 'postgres'], samples: 30 },
        betterAuth: {
          frameworks: ['hono', 'fastify'],
          seconds: 0.5,
          warmupSeconds: 0.15,
          rounds: 2,
          connections: 10,
          users: 16,
          revocation: { cacheMaxAgeSeconds: 2, samples: 2, pollMs: 10 },
          footprintSessions: 20_000,
        },
        observability: {
          budget: { warmupMs: 60, roundMs: 15, rounds: 5 },
          poolSize: 256,
          algs: BENCH_ALGS,
          sessions: 256,
        },
        dpop: { budget: { warmupMs: 60, roundMs: 15, rounds: 5 }, algs: DPOP_ALGS, stores: ALL_STORES },
      };
    case 'smoke':
      return {
        tokens: {
          budget: { warmupMs: 3, roundMs: 5, rounds: 2 },
          poolSize: 32,
          missCacheMax: 16,
          algs: BENCH_ALGS,
        },
        http: {
          frameworks: ['hono', 'fastify', 'express'],
          seconds: 0.2,
          warmupSeconds: 0.05,
          rounds: 1,
          connections: 4,
        },
        refresh: { stores: ALL_STORES, concurrency: [1, 8, 64], runMs: 30, warmupMs: 5, rounds: 1 },
        scaling: {
          budget: { warmupMs: 3, roundMs: 5, rounds: 2 },
          revokedSizes: [0, 1_000],
          sessionSizes: [100, 1_000],
          refreshStores: ['memory', 'sqlite'],
          refreshConcurrency: 8,
          refreshRunMs: 30,
          refreshRounds: 1,
          heapCount: 2_000,
        },
        // SQLite only (a file: nothing to start), so that the smoke run stays seconds.
        processes: {
          stores: ['sqlite'],
          clients: 4,
          runMs: 40,
          warmupMs: 10,
          rounds: 1,
          revocationSamples: 2,
        },
        revocation: { stores: ['sqlite', 'redis', 'postgres'], samples: 2 },
        betterAuth: {
          frameworks: ['hono', 'fastify'],
          seconds: 0.1,
          warmupSeconds: 0.03,
          rounds: 1,
          connections: 4,
          users: 4,
          revocation: { cacheMaxAgeSeconds: 1, samples: 1, pollMs: 20 },
          footprintSessions: 500,
        },
        observability: {
          budget: { warmupMs: 3, roundMs: 5, rounds: 2 },
          poolSize: 32,
          algs: BENCH_ALGS,
          sessions: 16,
        },
        dpop: { budget: { warmupMs: 3, roundMs: 5, rounds: 2 }, algs: DPOP_ALGS, stores: ALL_STORES },
      };
  }
}
