/** Password checks: the two rate limits (per username, per IP) and the answer a disabled account gets. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock, MemoryStore, SessionManager } from '../../src/index.ts';
import { harness, rejectsWith, storeKinds, testManagerOptions, Users } from './support.ts';

const memory = storeKinds[0]!;

describe('login rate limits (defaults: 10 failures per username, 100 per IP, per minute)', () => {
  it('11 failures for one username lock that username out, not the other users behind the same IP', async () => {
    const h = await harness(memory);
    try {
      const x = { ip: '203.0.113.7' };
      for (let i = 0; i < 10; i++) {
        await rejectsWith(h.manager.login('thedude', 'wrong', x), 'invalid_credentials');
      }
      const limited = await rejectsWith(h.manager.login('thedude', 'abides', x), 'too_many_attempts');
      assert.ok(limited.retryAfter !== undefined && limited.retryAfter <= 60);
      await rejectsWith(h.manager.login('thedude', 'abides', { ip: '198.51.100.1' }), 'too_many_attempts');
      assert.ok(await h.manager.login('walter', 'calmerthanyouare', x), 'B from the same IP logs in');
    } finally {
      await h.close();
    }
  });

  it('100 failures from one IP, across many usernames, lock that IP out; other IPs are unaffected', async () => {
    const h = await harness(memory);
    try {
      const x = { ip: '203.0.113.8' };
      for (let i = 0; i < 100; i++) {
        await rejectsWith(h.manager.login(`guess-${i % 40}`, 'wrong', x), 'invalid_credentials');
      }
      await rejectsWith(h.manager.login('walter', 'calmerthanyouare', x), 'too_many_attempts');
      assert.ok(await h.manager.login('walter', 'calmerthanyouare', { ip: '203.0.113.9' }));
      h.clock.advance(60);
      assert.ok(await h.manager.login('walter', 'calmerthanyouare', x), 'the window slides');
    } finally {
      await h.close();
    }
  });

  it('successes do not count', async () => {
    const h = await harness(memory, { rateLimit: { perUsername: 2, perIp: 2 } });
    try {
      for (let i = 0; i < 5; i++) assert.ok(await h.manager.login('thedude', 'abides', { ip: '192.0.2.1' }));
    } finally {
      await h.close();
    }
  });

  it('either limit can be turned off', async () => {
    const h = await harness(memory, { rateLimit: { perUsername: false, perIp: 2 } });
    try {
      for (const ip of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) {
        await rejectsWith(h.manager.login('thedude', 'wrong', { ip }), 'invalid_credentials');
      }
      assert.ok(await h.manager.login('thedude', 'abides', { ip: '192.0.2.4' }));
    } finally {
      await h.close();
    }
  });

  it('bad rateLimit options fail at construction with a readable message', async () => {
    const base = await testManagerOptions(new MemoryStore(), new ManualClock(), new Users());
    const refused = (rateLimit: unknown) => {
      try {
        new SessionManager({ ...base, rateLimit } as never);
      } catch (error) {
        assert.equal((error as { code?: string }).code, 'invalid_options');
        return (error as Error).message;
      }
      assert.fail(`rateLimit ${JSON.stringify(rateLimit)} was accepted`);
    };
    assert.match(refused({ max: 3 }), /rateLimit\.max: unknown option; rateLimit takes perUsername, perIp/);
    assert.match(refused({ perIp: 0 }), /rateLimit\.perIp/);
    assert.match(refused({ perUsername: 2.5 }), /rateLimit\.perUsername/);
    assert.match(refused({ window: 'soon' }), /rateLimit\.window/);
    assert.match(refused({ window: 0 }), /rateLimit\.window: must be a positive duration/);
  });
});

describe('a disabled account', () => {
  it('answers its right password exactly as a wrong one (same code, message, hashing), counted as a failure', async () => {
    const h = await harness(memory, { rateLimit: { perUsername: 3, perIp: 100 } });
    let checks = 0;
    const users = new Users();
    users.add({ id: 'u3', username: 'donny', password: 'bowling', disabled: true });
    const manager = new SessionManager({
      ...h.manager.options,
      verifyCredentials: (u: string, p: string) => {
        checks++;
        return users.verify(u, p);
      },
    });
    try {
      await manager.ready;
      const right = await rejectsWith(manager.login('donny', 'bowling'), 'invalid_credentials');
      const wrong = await rejectsWith(manager.login('donny', 'gutter'), 'invalid_credentials');
      assert.equal(right.message, wrong.message);
      assert.equal(checks, 2, 'both paths ran the password check');
      await rejectsWith(manager.login('donny', 'bowling'), 'invalid_credentials');
      await rejectsWith(manager.login('donny', 'bowling'), 'too_many_attempts');
    } finally {
      await manager.close();
    }
  });

  it('with revealDisabledAccounts: user_disabled after the right password only', async () => {
    const h = await harness(memory, { revealDisabledAccounts: true });
    try {
      h.users.add({ id: 'u3', username: 'donny', password: 'bowling', disabled: true });
      await rejectsWith(h.manager.login('donny', 'bowling'), 'user_disabled');
      await rejectsWith(h.manager.login('donny', 'gutter'), 'invalid_credentials');
    } finally {
      await h.close();
    }
  });
});
