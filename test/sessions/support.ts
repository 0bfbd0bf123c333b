import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  BatonLogger,
  BatonUser,
  SessionManagerOptions,
  SessionStore,
  SigningKey,
} from '../../src/index.ts';
import { BatonError, generateSigningKey, ManualClock, MemoryStore, SessionManager } from '../../src/index.ts';
import { SqliteStore } from '../../src/stores/sqlite.ts';
import { openStore } from '../fixtures/race-env.ts';
import { sharedBackends } from '../races/support.ts';
import type { Skip } from '../support/services.ts';

export interface TestUser extends BatonUser {
  id: string;
  username: string;
  password: string;
}

/** A tiny user directory the tests can change (disable a user, delete one). */
export class Users {
  readonly byId = new Map<string, TestUser>();
  constructor() {
    this.add({ id: 'u1', username: 'thedude', password: 'abides', roles: ['user'] });
    this.add({ id: 'u2', username: 'walter', password: 'calmerthanyouare', roles: ['user', 'admin'] });
  }
  add(user: TestUser): void {
    this.byId.set(user.id, user);
  }
  load = (id: string): TestUser | null => this.byId.get(id) ?? null;
  verify = async (username: string, password: string): Promise<TestUser | null> => {
    const user = [...this.byId.values()].find((candidate) => candidate.username === username);
    return user && user.password === password ? user : null;
  };
}

/** A store just made for one harness, and how to remove what it left (files, keys, a schema). */
export interface MadeStore {
  store: SessionStore;
  cleanup(): void | Promise<void>;
  /** Another store over the same data, as a second process would open it (shared stores only). */
  reopen?(): SessionStore;
}

export interface StoreKind {
  name: string;
  /** `describe(name, { skip })`: why the store cannot be used here (a service is unreachable). */
  skip?: Skip;
  make(): MadeStore | Promise<MadeStore>;
}

export const storeKinds: StoreKind[] = [
  { name: 'memory', make: () => ({ store: new MemoryStore(), cleanup() {} }) },
  {
    name: 'sqlite',
    make() {
      const dir = mkdtempSync(join(tmpdir(), 'baton-sessions-'));
      const path = join(dir, 'baton.db');
      return {
        store: new SqliteStore({ path }),
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
        reopen: () => new SqliteStore({ path }),
      };
    },
  },
];

/**
 * `storeKinds` plus the real Redis and PostgreSQL (the races' shared backends),
 * each harness under a key prefix or schema of its own that its close()
 * removes. A service that does not answer is skipped with the reason, or fails
 * the file under BATON_REQUIRE_SERVICES=1 (test/support/services.ts). For the
 * tests that must run on every store (DPoP, issue 18); the others stay on the
 * quick two.
 */
export async function storeKindsWithServices(): Promise<StoreKind[]> {
  const services = (await sharedBackends()).filter((backend) => backend.kind !== 'sqlite');
  return [
    ...storeKinds,
    ...services.map(
      (backend): StoreKind => ({
        name: backend.kind,
        skip: backend.skip,
        async make() {
          const { where, cleanup } = await backend.create();
          const open = () => openStore(where);
          return { store: open(), cleanup, reopen: open };
        },
      }),
    ),
  ];
}

let sharedKey: Promise<SigningKey> | undefined;
export function signingKey(): Promise<SigningKey> {
  sharedKey ??= generateSigningKey('HS256', { kid: 'test-hs' });
  return sharedKey;
}

export interface Harness {
  manager: SessionManager<TestUser>;
  clock: ManualClock;
  users: Users;
  store: SessionStore;
  /** Another store over the harness's data, as a second process would open it (shared stores only). */
  reopen: (() => SessionStore) | undefined;
  close(): Promise<void>;
}

/** The options every test manager shares: the test issuer, key and users, over `store` on `clock`. */
export async function testManagerOptions(store: SessionStore, clock: ManualClock, users: Users) {
  return {
    issuer: 'https://baton.test',
    audience: 'baton-api',
    keys: [await signingKey()],
    refreshKey: 'r'.repeat(32),
    store,
    clock,
    loadUser: users.load,
    verifyCredentials: users.verify,
  } satisfies SessionManagerOptions<TestUser>;
}

export async function harness(
  kind: StoreKind,
  overrides: Partial<SessionManagerOptions<TestUser>> = {},
): Promise<Harness> {
  const clock = new ManualClock();
  const users = new Users();
  const { store, cleanup, reopen } = await kind.make();
  const manager = await builtOrCleaned(cleanup, async () => {
    const built = new SessionManager<TestUser>({
      ...(await testManagerOptions(store, clock, users)),
      ...overrides,
    });
    await built.ready;
    return built;
  });
  return {
    manager,
    clock,
    users,
    store,
    reopen,
    async close() {
      await manager.close();
      await cleanup();
    },
  };
}

/** Builds a manager over a store just made; if that throws (a test of bad options), removes the store's data. */
export async function builtOrCleaned<M>(
  cleanup: () => void | Promise<void>,
  build: () => Promise<M>,
): Promise<M> {
  try {
    return await build();
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** Asserts that `promise` (or `fn`) fails with a BatonError of this code. */
export async function rejectsWith(
  action: Promise<unknown> | (() => unknown),
  code: string,
): Promise<BatonError> {
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (error) {
    if (error instanceof BatonError && error.code === code) return error;
    throw new Error(
      `expected BatonError ${code}, got ${error instanceof BatonError ? error.code : String(error)}`,
    );
  }
  throw new Error(`expected BatonError ${code}, but it succeeded`);
}

/** A pino-shaped logger that keeps every call. */
export function recordingLogger() {
  const lines: { level: string; object: Record<string, unknown>; message: string | undefined }[] = [];
  const make = (bindings: Record<string, unknown>): BatonLogger => {
    const at =
      (level: string) =>
      (object: Record<string, unknown> | string, message?: string): void => {
        if (typeof object === 'string') lines.push({ level, object: { ...bindings }, message: object });
        else lines.push({ level, object: { ...bindings, ...object }, message });
      };
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return { logger: make({}), lines };
}
