/**
 * CPU pinning with taskset (Linux). On the machine these figures come from,
 * a process that migrates between the two vCPUs runs at two speeds (one
 * core's sibling is busy with other work): pinning the measuring process to
 * one core keeps every slice of a comparison on the same kind of core.
 * BATON_BENCH_PIN=0 turns pinning off.
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

let available: boolean | undefined;

export function canPin(): boolean {
  if (available !== undefined) return available;
  available = false;
  if (process.env.BATON_BENCH_PIN === '0' || cpus().length < 2 || process.platform !== 'linux') return false;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    available = true;
  } catch {
    available = false;
  }
  return available;
}

/** Pins every thread of this process to `list` (taskset syntax, e.g. "0" or "0-2"). */
export function pinSelf(list: string): void {
  execFileSync('taskset', ['-a', '-cp', list, String(process.pid)], { stdio: 'ignore' });
}

/** The current affinity list of this process, e.g. "0-1". */
export function currentAffinity(): string | null {
  try {
    const text = execFileSync('taskset', ['-cp', String(process.pid)], { encoding: 'utf8' });
    return /:\s*(\S+)\s*$/.exec(text.trim())?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Runs `fn` with this process pinned to core 0 (when pinning is possible), then restores the affinity. */
export async function onOneCore<T>(fn: () => Promise<T>): Promise<{ value: T; pinned: string | null }> {
  const before = canPin() ? currentAffinity() : null;
  if (before === null) return { value: await fn(), pinned: null };
  pinSelf('0');
  try {
    return { value: await fn(), pinned: '0' };
  } finally {
    pinSelf(before);
  }
}
