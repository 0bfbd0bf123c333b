/** The demo server in-process, for its lifecycle tests. The HTTP contract suite lives in test/adapters. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DemoStrategy } from '../../demo/config.ts';
import { type DemoManagerFor, type DemoOptions, type RunningDemo, startDemo } from '../../demo/server.ts';
import { ManualClock } from '../../src/index.ts';
import { FAST_SCRYPT } from '../adapters/targets.ts';

export { assertError, call, type Reply } from '../adapters/client.ts';
export { FAST_SCRYPT };

export interface Harness<S extends DemoStrategy = 'rotating'> {
  demo: RunningDemo<DemoManagerFor<S>>;
  /** Errors that reached the generic 500 path; a test expects none. */
  unexpected: unknown[];
  clock: ManualClock;
  dataDir: string;
  close(): Promise<void>;
}

/** A demo on port 0 with a temp data dir, a manual clock, short TTLs and a cheap password hash. */
export async function startHarness<S extends DemoStrategy = 'rotating'>(
  options: DemoOptions & { strategy?: S } = {},
): Promise<Harness<S>> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'baton-demo-'));
  const clock = (options.clock as ManualClock | undefined) ?? new ManualClock(Date.UTC(2030, 0, 1));
  const unexpected: unknown[] = [];
  const demo = await startDemo<S>({
    port: 0,
    dataDir,
    clock,
    store: 'memory',
    accessTtl: 60,
    refreshTtl: 3600,
    grace: 10,
    cookies: false,
    passwordCost: FAST_SCRYPT,
    onUnexpectedError: (error) => {
      console.error('unexpected error:', error);
      unexpected.push(error);
    },
    ...options,
  });
  return {
    demo,
    unexpected,
    clock,
    dataDir,
    async close() {
      await demo.close();
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function login(base: string, username = 'thedude', password = 'abides') {
  const { HEADER_MODE, login: signIn } = await import('../adapters/client.ts');
  return signIn(base, HEADER_MODE, username, password);
}
