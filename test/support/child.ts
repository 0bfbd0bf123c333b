// A child process running a test fixture (test/fixtures/*.ts, under tsx),
// driven line by line over stdin and stdout, and always stopped by its PID:
// what the cross-process, race and fault tests spawn. The parent's keys
// reach it in the environment that test/fixtures/race-env.ts reads.
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { exportSigningKey } from '../../src/index.ts';
import { ENV_GRACE, ENV_JWK, ENV_REFRESH_KEY, type ManagerSettings } from '../fixtures/race-env.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

export function childEnv(settings: ManagerSettings): Record<string, string> {
  return {
    [ENV_JWK]: JSON.stringify(exportSigningKey(settings.key, 'jwk')),
    [ENV_REFRESH_KEY]: settings.refreshKey,
    [ENV_GRACE]: String(settings.graceWindow),
  };
}

/** A child process running a fixture, read line by line; always stopped by PID. */
export class Child {
  readonly #process: ChildProcessByStdio<Writable, Readable, Readable>;
  readonly #lines: string[] = [];
  readonly #exited: Promise<void>;
  /** Callers waiting for a line (several may wait at once, for different answers). */
  readonly #waiters = new Set<() => void>();
  #closed = false;
  #stderr = '';

  /** `fixture`: a file of test/fixtures; `settings`: the parent's keys, in the child's environment (race-env.ts). */
  constructor(fixture: string, args: readonly string[], settings?: ManagerSettings) {
    const path = fileURLToPath(new URL(`../fixtures/${fixture}`, import.meta.url));
    this.#process = spawn(process.execPath, ['--import', 'tsx', path, ...args], {
      cwd: root,
      env: { ...process.env, ...(settings ? childEnv(settings) : {}) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // 'close', not 'exit': by then stdout is drained, so every line the child wrote has been read.
    this.#exited = new Promise((resolve) =>
      this.#process.once('close', () => {
        this.#closed = true;
        this.#wake();
        resolve();
      }),
    );
    this.#process.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      // Bounded: a chatty child must not grow the parent's memory.
      if (this.#stderr.length < 20_000) this.#stderr += chunk;
    });
    // A child that died cannot read what we send; its exit is reported by take().
    this.#process.stdin.on('error', () => {});
    createInterface({ input: this.#process.stdout }).on('line', (line) => {
      this.#lines.push(line);
      this.#wake();
    });
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  get stderr(): string {
    return this.#stderr;
  }

  get running(): boolean {
    return this.#process.exitCode === null && this.#process.signalCode === null;
  }

  get signalCode(): NodeJS.Signals | null {
    return this.#process.signalCode;
  }

  send(line: string): void {
    this.#process.stdin.write(`${line}\n`);
  }

  /**
   * The first line matching `pattern` (other lines stay for other callers), within
   * `ms`. A "failed ..." line from the child fails every wait.
   */
  async take(pattern: RegExp, ms = 20_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    for (let round = 0; round < 1_000_000; round++) {
      const index = this.#lines.findIndex((line) => pattern.test(line));
      if (index >= 0) return pattern.exec(this.#lines.splice(index, 1)[0]!)!;
      const failure = this.#lines.find((line) => line.startsWith('failed '));
      if (failure) throw new Error(`the child ${failure}; stderr: ${this.#stderr}`);
      if (this.#closed) {
        throw new Error(
          `the child exited (${this.#process.exitCode ?? this.#process.signalCode}) before ${pattern}: ${this.#stderr}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line matching ${pattern} within ${ms} ms; stderr: ${this.#stderr}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.#waiters.add(wake);
      });
    }
    throw new Error(`no line matching ${pattern}`);
  }

  /** The next line, whatever it says, within `ms`. */
  async next(ms = 20_000): Promise<string> {
    return (await this.take(/^/, ms)).input;
  }

  /** Nothing printed within `ms` (nothing left untaken either). */
  async quietFor(ms: number): Promise<boolean> {
    await sleep(ms);
    return this.#lines.length === 0;
  }

  /** Every line not taken yet; after `kill()` or `stop()` that is all the child ever wrote. */
  drain(): string[] {
    return this.#lines.splice(0);
  }

  /** SIGKILL by PID, then wait (bounded) for the exit. */
  async kill(): Promise<void> {
    const pid = this.#process.pid;
    if (pid !== undefined && this.running) process.kill(pid, 'SIGKILL');
    await Promise.race([this.#exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  }

  /** Closes stdin (the child exits by itself); SIGKILL if it has not within `ms`. */
  async stop(ms = 5000): Promise<void> {
    if (!this.running) return;
    this.#process.stdin.end();
    const exited = await Promise.race([
      this.#exited.then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), ms).unref()),
    ]);
    if (!exited) await this.kill();
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}
