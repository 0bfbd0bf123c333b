// Shared by the race and fault tests: the shared stores, the key material every
// process uses, and child processes driven line by line (test/support/child.ts).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SessionManager } from '../../src/index.ts';
import { generateSigningKey, isBatonError } from '../../src/index.ts';
import { PostgresStore } from '../../src/stores/postgres.ts';
import type { ManagerSettings, SharedStoreKind, StoreLocation } from '../fixtures/race-env.ts';
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

/** Refresh chains that run until stopped, retrying the same token after store_unavailable. */
export class Load {
  readonly tokens: string[];
  successes = 0;
  unavailable = 0;
  /** When the first and the last store_unavailable happened (0: none yet). */
  firstUnavailableAt = 0;
  lastUnavailableAt = 0;
  readonly errors: string[] = [];
  #stopped = false;
  readonly #done: Promise<void>;

  constructor(manager: SessionManager, tokens: readonly string[], maxMs: number) {
    this.tokens = [...tokens];
    const deadline = Date.now() + maxMs;
    this.#done = Promise.all(
      this.tokens.map(async (_, i) => {
        for (let n = 0; n < 100_000 && !this.#stopped && Date.now() < deadline; n++) {
          try {
            this.tokens[i] = (await manager.refresh(this.tokens[i]!)).refreshToken;
            this.successes += 1;
          } catch (error) {
            if (!isBatonError(error) || error.code !== 'store_unavailable') {
              this.errors.push(`chain ${i}: ${isBatonError(error) ? error.code : String(error)}`);
              return;
            }
            this.unavailable += 1;
            this.lastUnavailableAt = Date.now();
            this.firstUnavailableAt ||= this.lastUnavailableAt;
            // The same token again: if the lost call had rotated, the grace window answers it.
            await sleep(100);
          }
        }
      }),
    ).then(() => {});
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }
}
