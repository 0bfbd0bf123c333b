/**
 * A benchmark server in a child process: started (optionally pinned to a
 * core with taskset), its first stdout line read as JSON, its CPU time read
 * from /proc, stopped with SIGTERM (SIGKILL after 5 s).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface ChildServer<Hello> {
  /** The server's first stdout line, parsed. */
  hello: Hello;
  pid: number;
  /**
   * On-CPU ns so far: of the main thread (where a Node server's HTTP work
   * happens), or with `allThreads` of every thread of the process (the libuv
   * pool too, where WebCrypto and scrypt run); null where the kernel does not say.
   */
  cpuNs(allThreads?: boolean): number | null;
  stop(): Promise<void>;
}

function schedstatNs(path: string): number | null {
  try {
    const value = Number(readFileSync(path, 'latin1').split(' ')[0]);
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

/** On-CPU ns of every thread of `pid` (threads that exited meanwhile are not counted). */
function allThreadsNs(pid: number): number | null {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  let total = 0;
  for (const task of tasks) total += schedstatNs(`/proc/${pid}/task/${task}/schedstat`) ?? 0;
  return total;
}

export async function startChildServer<Hello>(
  script: URL,
  args: readonly string[],
  core: string | null,
  what = 'the server process',
  startSeconds = 60,
): Promise<ChildServer<Hello>> {
  const nodeArgs = ['--import', 'tsx', script.pathname, ...args];
  const child =
    core === null
      ? spawn(process.execPath, nodeArgs, { stdio: ['ignore', 'pipe', 'inherit'] })
      : spawn('taskset', ['-c', core, process.execPath, ...nodeArgs], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${what}`);
  const lines = createInterface({ input: child.stdout! });
  let timer: NodeJS.Timeout | undefined;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    process.kill(pid, 'SIGTERM');
    const kill = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
    }, 5000);
    await exited;
    clearTimeout(kill);
    lines.close();
  };
  let first: string;
  try {
    first = await Promise.race([
      once(lines, 'line').then(([line]) => String(line)),
      once(child, 'exit').then(([code]) => {
        throw new Error(`${what} exited with ${String(code)} before listening`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what} did not start within ${startSeconds} s`)),
          startSeconds * 1000,
        );
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    hello: JSON.parse(first) as Hello,
    pid,
    cpuNs: (allThreads = false) => (allThreads ? allThreadsNs(pid) : schedstatNs(`/proc/${pid}/schedstat`)),
    stop,
  };
}
