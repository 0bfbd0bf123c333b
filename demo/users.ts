/**
 * The demo's user directory: two users with scrypt-hashed passwords. Unknown
 * users are checked against a dummy hash so they take as long as wrong passwords.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { BatonUser } from 'baton-auth';

export interface DemoUser extends BatonUser {
  id: string;
  username: string;
  roles: string[];
}

export interface ScryptCost {
  /** CPU/memory cost, a power of two. The demo uses 2^15; tests may lower it. */
  N: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT_COST: ScryptCost = { N: 2 ** 15, r: 8, p: 1 };

interface PasswordHash {
  salt: Buffer;
  hash: Buffer;
}

const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, { ...cost, maxmem: 256 * cost.N * cost.r }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

async function hashPassword(password: string, cost: ScryptCost): Promise<PasswordHash> {
  const salt = randomBytes(16);
  return { salt, hash: await derive(password, salt, cost) };
}

const DEMO_ACCOUNTS = [
  { id: '1', username: 'thedude', password: 'abides', roles: ['user'] },
  { id: '2', username: 'walter', password: 'calmerthanyouare', roles: ['user', 'admin'] },
] as const;

export class DemoUsers {
  readonly #byName = new Map<string, { user: DemoUser; password: PasswordHash }>();
  readonly #byId = new Map<string, DemoUser>();
  readonly #dummy: PasswordHash;
  readonly #cost: ScryptCost;
  /** Password hashes computed by `verify`, so tests can see that rate limiting comes first. */
  verifications = 0;

  private constructor(cost: ScryptCost, dummy: PasswordHash) {
    this.#cost = cost;
    this.#dummy = dummy;
  }

  static async create(cost: ScryptCost = DEFAULT_SCRYPT_COST): Promise<DemoUsers> {
    const users = new DemoUsers(cost, await hashPassword(randomBytes(16).toString('hex'), cost));
    for (const account of DEMO_ACCOUNTS) {
      const user: DemoUser = { id: account.id, username: account.username, roles: [...account.roles] };
      users.#byName.set(account.username, { user, password: await hashPassword(account.password, cost) });
      users.#byId.set(account.id, user);
    }
    return users;
  }

  static readonly accounts = DEMO_ACCOUNTS;

  /** `verifyCredentials` for the SessionManager. */
  verify = async (username: string, password: string): Promise<DemoUser | null> => {
    const entry = this.#byName.get(username);
    const expected = entry?.password ?? this.#dummy;
    this.verifications++;
    const actual = await derive(password, expected.salt, this.#cost);
    const ok = timingSafeEqual(actual, expected.hash);
    return entry !== undefined && ok ? { ...entry.user } : null;
  };

  /** `loadUser` for the SessionManager: reports `disabled` once an admin disabled the user. */
  load = (id: string): DemoUser | null => {
    const user = this.#byId.get(id);
    return user === undefined ? null : { ...user };
  };

  byUsername(username: string): DemoUser | undefined {
    return this.#byName.get(username)?.user;
  }

  disable(username: string): DemoUser | undefined {
    const user = this.byUsername(username);
    if (user) user.disabled = true;
    return user;
  }
}
