// Shared by the race and fault tests: the shared stores, the key material every
// process uses, and child processes driven line by line.
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { exportSigningKey, generateSigningKey } from '../../src/index.ts';
import { PostgresStore } from '../../src/stores/postgres.ts';
import {
  ENV_GRACE,
  ENV_JWK,
  ENV_REFRESH_KEY,
  type ManagerSettings,
  type SharedStoreKind,
  type StoreLocation,
} from '../fixtures/race-env.ts';
import {
  DATABASE_URL,
  deleteRedisKeys,
  dropSchema,
  postgresSkip,
  REDIS_URL,
  redisSkip,
  type Skip,
  uniqueName,
} from '../support/services.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Grace window of every process in these tests. Generous on purpose: the tests
 * are about atomicity, and a loaded CI machine must not push a caller past the
 * window (its edges are covered with a manual clock in test/sessions).
 */
export const GRACE_SECONDS = 60;

/** One key set for the parent and all its children. */
export async function sharedSettings(): Promise<ManagerSettings> {
  return {
    key: await generateSigningKey('HS256', { kid: 'races' }),
    refreshKey: randomBytes(32).toString('base64url'),
    graceWindow: GRACE_SECONDS,
  };
}

function childEnv(settings: ManagerSettings): Record<string, string> {
  return {
    [ENV_JWK]: JSON.stringify(exportSigningKey(settings.key, 'jwk')),
    [ENV_REFRESH_KEY]: settings.refreshKey,
    [ENV_GRACE]: String(settings.graceWindow),
  };
}

export interface SharedBackend {
  name: string;
  kind: SharedStoreKind;
  skip: Skip;
  /** Fresh shared data (a file, a key prefix, a schema), removed by `cleanup`. */
  create(): Promise<{ where: StoreLocation; cleanup(): Promise<void> }>;
}

/** The stores several processes can share. */
export async function sharedBackends(): Promise<SharedBackend[]> {
  const [redis, postgres] = await Promise.all([redisSkip(), postgresSkip()]);
  return [
    {
      name: 'SQLite',
      kind: 'sqlite',
      skip: false,
      async create() {
        const dir = mkdtempSync(join(tmpdir(), 'baton-races-'));
        return {
          where: { kind: 'sqlite', location: join(dir, 'baton.db'), namespace: '' },
          async cleanup() {
            rmSync(dir, { recursive: true, force: true });
          },
        };
      },
    },
    {
      name: 'Redis',
      kind: 'redis',
      skip: redis,
      async create() {
        const prefix = `${uniqueName('baton-races')}:`;
        return {
          where: { kind: 'redis', location: REDIS_URL, namespace: prefix },
          cleanup: () => deleteRedisKeys(prefix),
        };
      },
    },
    {
      name: 'PostgreSQL',
      kind: 'postgres',
      skip: postgres,
      async create() {
        const schema = uniqueName('baton_races');
        // Migrated once here, so that no child's first request includes the migration.
        const store = new PostgresStore({ connectionString: DATABASE_URL, schema });
        try {
          await store.migrate();
        } finally {
          await store.close();
        }
        return {
          where: { kind: 'postgres', location: DATABASE_URL, namespace: schema },
          cleanup: () => dropSchema(schema),
        };
      },
    },
  ];
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

  constructor(fixture: string, args: readonly string[], settings: ManagerSettings) {
    const path = fileURLToPath(new URL(`../fixtures/${fixture}`, import.meta.url));
    this.#process = spawn(process.execPath, ['--import', 'tsx', path, ...args], {
      cwd: root,
      env: { ...process.env, ...childEnv(settings) },
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

/** Bounded polling: `probe` until it returns a value (its errors end the wait), or throws after `ms`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}
