// No token, secret, password or hash in any event or log line. Every
// strategy runs login, a failed login, refresh, reuse (theft, where the
// strategy detects it), reauth, revocation, logout and logout-all with real
// tokens through the HTTP routes, with a real pino logger at debug level
// (events, request lines, errors) and a listener; then every event and
// every line, serialized, is searched for each token, each refresh secret
// and its stored hash and salt, the JWT signatures, the passwords and the
// refresh key.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { createAuthHandler } from '../../src/http/index.ts';
import type { AuthEvent, StrategyName } from '../../src/index.ts';
import { type BaseOptions, strategyHarness } from '../strategies/support.ts';
import { strategyDesigns } from '../support/designs.ts';
import { recordingClient, Secrets } from '../support/secrets.ts';
import { storeKinds } from './support.ts';

const REFRESH_KEY = 'refresh-key-that-must-never-be-logged';
const WRONG_PASSWORD = 'not-his-password-either';

const designs = strategyDesigns(REFRESH_KEY, { jwt: { rotateRefreshTokens: true } });

for (const [name, design] of Object.entries(designs) as [StrategyName, (typeof designs)[StrategyName]][]) {
  describe(`no secret in events or logs: the ${name} strategy`, () => {
    const closing: (() => Promise<void>)[] = [];
    after(async () => {
      for (const close of closing) await close();
    });

    it('login, failed login, refresh, reuse, reauth, revoke, logout, logout-all: every event and line is clean', async () => {
      const chunks: string[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          chunks.push(chunk.toString('utf8'));
          done();
        },
      });
      const events: AuthEvent[] = [];
      const memory = storeKinds.find((kind) => kind.name === 'memory')!;
      const h = await strategyHarness(
        memory,
        (base) =>
          design({
            ...base,
            logger: pino({ level: 'debug' }, sink),
            onEvent: (event: AuthEvent) => void events.push(event),
          } as BaseOptions) as never,
      );
      closing.push(() => h.close());
      const manager = h.manager as unknown as Parameters<typeof createAuthHandler>[0];
      const secrets = new Secrets(['abides', WRONG_PASSWORD, REFRESH_KEY]);
      const handler = createAuthHandler(manager);
      const { send, login } = recordingClient(handler, secrets, h.store, 'secrets-test/1.0');

      assert.equal(
        (await send('/auth/login', { username: 'thedude', password: WRONG_PASSWORD })).status,
        401,
      );
      const first = await login();
      const refreshed = await send('/auth/refresh', { refresh_token: first.refresh });
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
      if (name === 'rotating') {
        h.clock.advance(11);
        const reused = await send('/auth/refresh', { refresh_token: first.refresh });
        assert.equal(reused.body.error, 'refresh_token_reused');
      }
      const second = await login();
      // A token in the query string: request lines carry the path only.
      await send('/auth/me', undefined, second.access, `jwt=${second.access}`);
      assert.equal((await send('/auth/reauth', { password: 'abides' }, second.access)).status, 200);
      assert.equal((await send('/auth/reauth', { password: WRONG_PASSWORD }, second.access)).status, 401);
      assert.equal((await send('/auth/revoke', { token: second.access })).status, 200);
      const third = await login();
      await send('/auth/logout', { refresh_token: third.refresh });
      const fourth = await login();
      await send('/auth/logout-all', {}, fourth.access);
      await manager.events.flush();

      const types = new Set(events.map((event) => event.type));
      for (const type of ['login', 'login_failed', 'refresh', 'reauth', 'token_revoked', 'logout']) {
        assert.ok(types.has(type as AuthEvent['type']), `${type} was emitted`);
      }
      if (name === 'rotating') assert.ok(types.has('refresh_token_reused'));
      const lines = chunks.join('').trim().split('\n');
      assert.ok(
        lines.some((line) => line.includes('"msg":"baton: request"')),
        'request lines at debug',
      );
      assert.ok(
        lines.some((line) => line.includes('"msg":"baton: login"')),
        'event lines at info',
      );

      const written = [...events.map((event) => JSON.stringify(event)), ...lines];
      secrets.assertNoneIn(written, 11);
    });
  });
}
