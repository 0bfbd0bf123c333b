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
  /** CPU/memory cost, a power of two. The demo uses 2^17; only tests lower it (`passwordCost`). */
  N: number;
  r: number;
  p: number;
}

/** OWASP's minimum for scrypt (Password Storage Cheat Sheet): N=2^17, r=8, p=1, 128 MiB per hash. */
export const DEFAULT_SCRYPT_COST: ScryptCost = { N: 2 ** 17, r: 8, p: 1 };

/** A stored hash keeps the parameters it was made with, so raising the cost never breaks old hashes. */
export interface PasswordHash {
  salt: Buffer;
  hash: Buffer;
  cost: ScryptCost;
}

const KEY_LENGTH = 32;

/**
 * scrypt needs 128 * r * (N + p + 2) bytes; Node's default limit (32 MiB) is
 * below OWASP's minimum cost, so the bound is given explicitly, exactly.
 */
function scryptMemory(cost: ScryptCost): number {
  return 128 * cost.r * (cost.N + cost.p + 2);
}

function derive(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password,
      salt,
      KEY_LENGTH,
      { N: cost.N, r: cost.r, p: cost.p, maxmem: scryptMemory(cost) },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

export async function hashPassword(password: string, cost: ScryptCost): Promise<PasswordHash> {
  const salt = randomBytes(16);
  return { salt, hash: await derive(password, salt, cost), cost: { ...cost } };
}

/** Checks a password against a stored hash with the parameters stored beside it. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const actual = await derive(password, stored.salt, stored.cost);
  return timingSafeEqual(actual, stored.hash);
}

const DEMO_ACCOUNTS = [
  { id: '1', username: 'thedude', password: 'abides', roles: ['user'] },
  { id: '2', username: 'walter', password: 'calmerthanyouare', roles: ['user', 'admin'] },
] as const;

export class DemoUsers {
  readonly #byName = new Map<string, { user: DemoUser; password: PasswordHash }>();
  readonly #byId = new Map<string, DemoUser>();
  readonly #dummy: PasswordHash;
  /** Password hashes computed by `verify`, so tests can see that rate limiting comes first. */
  verifications = 0;

  private constructor(dummy: PasswordHash) {
    this.#dummy = dummy;
  }

  static async create(cost: ScryptCost = DEFAULT_SCRYPT_COST): Promise<DemoUsers> {
    // One hash at a time: at the default cost each takes 128 MiB.
    const users = new DemoUsers(await hashPassword(randomBytes(16).toString('hex'), cost));
    for (const account of DEMO_ACCOUNTS) {
      const user: DemoUser = { id: account.id, username: account.username, roles: [...account.roles] };
      users.#byName.set(account.username, { user, password: await hashPassword(account.password, cost) });
      users.#byId.set(account.id, user);
    }
    return users;
  }

  /** The stored hash of a user's password (its salt and scrypt parameters), for inspection. */
  passwordHash(username: string): Readonly<PasswordHash> | undefined {
    return this.#byName.get(username)?.password;
  }

  static readonly accounts = DEMO_ACCOUNTS;

  /** `verifyCredentials` for the SessionManager. */
  verify = async (username: string, password: string): Promise<DemoUser | null> => {
    const entry = this.#byName.get(username);
    const expected = entry?.password ?? this.#dummy;
    this.verifications++;
    const ok = await verifyPassword(password, expected);
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
