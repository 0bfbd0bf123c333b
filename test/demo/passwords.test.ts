/** The demo's password hashing: OWASP's scrypt minimum by default, verified with the stored parameters. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SCRYPT_COST, DemoUsers, hashPassword, verifyPassword } from '../../demo/users.ts';
import { FAST_SCRYPT } from './helpers.ts';

describe('demo password hashing', () => {
  it('defaults to scrypt N=2^17, r=8, p=1 (OWASP minimum), and a login at that cost succeeds', async () => {
    assert.deepEqual(DEFAULT_SCRYPT_COST, { N: 2 ** 17, r: 8, p: 1 });
    const users = await DemoUsers.create();
    assert.deepEqual(users.passwordHash('thedude')?.cost, { N: 2 ** 17, r: 8, p: 1 });
    assert.equal((await users.verify('thedude', 'abides'))?.id, '1');
    assert.equal(await users.verify('thedude', 'wrong'), null);
  });

  it('verifies a hash with the parameters stored beside it, whatever the current default', async () => {
    const stored = await hashPassword('abides', FAST_SCRYPT);
    assert.deepEqual(stored.cost, FAST_SCRYPT);
    assert.equal(await verifyPassword('abides', stored), true);
    assert.equal(await verifyPassword('abide', stored), false);
    const stronger = await hashPassword('abides', { N: 2 ** 11, r: 8, p: 2 });
    assert.equal(await verifyPassword('abides', stronger), true);
  });
});
