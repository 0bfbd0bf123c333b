/**
 * Cross-process revocation delay: how long after a logout starts in one
 * process another process (a child, with its own SessionManager on the same
 * SQLite file, Redis or PostgreSQL store) rejects the session's access token,
 * which it had in its verify cache. Measured on process.hrtime.bigint(), which is
 * CLOCK_MONOTONIC and so comparable between the two processes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { SessionManager } from '../../src/index.ts';
import type { BatonUser } from '../../src/sessions/types.ts';
import { benchUser, hsFixtureFromText, managerFor } from '../lib/fixtures.ts';
import { latencyUs } from '../lib/measure.ts';
import { openStore } from '../lib/stores.ts';

export type SharedStoreName = 'sqlite' | 'redis' | 'postgres';

export interface RevocationConfig {
  stores: readonly SharedStoreName[];
  samples: number;
}

export interface RevocationFigure {
  store: SharedStoreName;
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface RevocationResult {
  figures: RevocationFigure[];
  skipped: { store: string; reason: string }[];
}

type Message = { started?: true; ready?: true; rejectedAt?: string; error?: string };

function nextMessage(child: ChildProcess, what: keyof Message): Promise<Message> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`follower: no ${what} within 30 s`)), 30_000);
    const onMessage = (message: Message) => {
      if (message.error) {
        cleanup();
        reject(new Error(`follower: ${message.error}`));
      } else if (message[what] !== undefined) {
        cleanup();
        resolve(message);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`follower exited with ${code}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/**
 * Starts a follower (bench/revocation/follower.ts with `followerArgs`: a store
 * name and location, or `url <store-url>`, then the HS256 secret of
 * `manager`'s key) and times `samples` logouts made through `manager` until
 * the follower rejects each session's access token; stops the follower.
 */
export async function revocationDelays(
  manager: SessionManager<BatonUser>,
  followerArgs: readonly string[],
  samples: number,
): Promise<{ p50Ms: number; p99Ms: number; maxMs: number }> {
  const script = fileURLToPath(new URL('../revocation/follower.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...followerArgs], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    await nextMessage(child, 'started');
    const delays: number[] = [];
    for (let i = 0; i < samples; i++) {
      const pair = await manager.issueSession(benchUser);
      const ready = nextMessage(child, 'ready');
      child.send({ token: pair.accessToken });
      await ready;
      const rejected = nextMessage(child, 'rejectedAt');
      const start = process.hrtime.bigint();
      await manager.logout(pair.accessToken);
      const { rejectedAt } = await rejected;
      delays.push(Number(BigInt(rejectedAt!) - start));
    }
    const l = latencyUs(delays);
    return { p50Ms: l.p50 / 1000, p99Ms: l.p99 / 1000, maxMs: l.max / 1000 };
  } finally {
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = once(child, 'exit');
      child.send({ stop: true });
      const pid = child.pid;
      const timer = setTimeout(() => child.exitCode === null && process.kill(pid, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  }
}

export async function runRevocation(
  config: RevocationConfig,
  log: (line: string) => void,
): Promise<RevocationResult> {
  const figures: RevocationFigure[] = [];
  const skipped: RevocationResult['skipped'] = [];
  const secret = randomBytes(32).toString('hex');
  const fixture = await hsFixtureFromText(secret);
  for (const name of config.stores) {
    const bench = await openStore(name);
    if ('skipped' in bench) {
      skipped.push({ store: name, reason: bench.skipped });
      log(`  ${name}: skipped (${bench.skipped})`);
      continue;
    }
    const manager = managerFor(fixture, {}, bench.store);
    try {
      await manager.ready;
      const l = await revocationDelays(manager, [name, bench.location!, secret], config.samples);
      figures.push({ store: name, samples: config.samples, p50Ms: l.p50Ms, p99Ms: l.p99Ms, maxMs: l.maxMs });
      log(
        `  ${name}: revocation seen by the other process after p50 ${l.p50Ms.toFixed(2)} ms, p99 ${l.p99Ms.toFixed(2)} ms`,
      );
    } finally {
      await manager.close();
      await bench.cleanup();
    }
  }
  return { figures, skipped };
}
