/**
 * The one password hash both sides of the better-auth comparison use, so that
 * login speed compares the auth code and not two hash settings: scrypt from
 * node:crypto (as better-auth's default and Baton's demo both use), awaited on
 * the libuv thread pool as theirs are, in better-auth's storage format
 * (`salt:hex`), but at a cost so low (N=16, r=1, p=1: a few microseconds)
 * that hashing is left out of the figures. With real costs (better-auth's
 * default N=2^14, r=16; the Baton demo's N=2^17, r=8: tens of milliseconds)
 * a login is the hash and nothing else, whichever library calls it.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export const BENCH_SCRYPT = { N: 16, r: 1, p: 1, keyLength: 32 } as const;

function derive(password: string, salt: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize('NFKC'),
      salt,
      BENCH_SCRYPT.keyLength,
      { N: BENCH_SCRYPT.N, r: BENCH_SCRYPT.r, p: BENCH_SCRYPT.p },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16).toString('hex');
  return `${salt}:${(await derive(password, salt)).toString('hex')}`;
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  const [salt, key] = hash.split(':');
  if (!salt || !key) return false;
  const expected = Buffer.from(key, 'hex');
  const actual = await derive(password, salt);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
