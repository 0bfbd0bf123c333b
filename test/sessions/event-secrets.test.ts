// No token, secret, password or hash in any event or log line. Every
// strategy runs login, a failed login, refresh, reuse (theft, where the
// strategy detects it), reauth, revocation, logout and logout-all with real
// tokens through the HTTP routes, with a real pino logger at debug level
// (events, request lines, errors) and a listener; then every event and
// every line, serialized, is searched for each token, each refresh secret
// and its stored hash and salt, the JWT signatures, the passwords and the
// refresh key.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import type { HttpRequest } from '../../src/http/index.ts';
import { createAuthHandler } from '../../src/http/index.ts';
import type { AuthEvent, SessionStore, StrategyName } from '../../src/index.ts';
import { type BaseOptions, strategyHarness } from '../strategies/support.ts';
import { storeKinds } from './support.ts';

const REFRESH_KEY = 'refresh-key-that-must-never-be-logged';
const WRONG_PASSWORD = 'not-his-password-either';

const designs: Record<StrategyName, (base: BaseOptions) => object> = {
  rotating: (base) => ({ ...base, strategy: 'rotating', refreshKey: REFRESH_KEY }),
  jwt: (base) => ({ ...base, strategy: 'jwt', rotateRefreshTokens: true }),
  'single-token': (base) => ({ ...base, strategy: 'single-token', allowEarlyRefresh: true }),
  'per-client': (base) => ({ ...base, strategy: 'per-client', refreshKey: REFRESH_KEY }),
  callbacks: (base) => {
    const stored = new Map<string, string>();
    return {
      ...base,
      strategy: 'callbacks',
      storeRefreshToken: (id: string, token: string) => void stored.set(id, token),
      retrieveRefreshToken: (id: string) => stored.get(id),
    };
  },
};

/** What must never be written: a token, its parts that are secrets, what the store keeps of them. */
class Secrets {
  readonly values = new Set<string>(['abides', WRONG_PASSWORD, REFRESH_KEY]);

  async addToken(token: unknown, store: SessionStore): Promise<void> {
    if (typeof token !== 'string' || token === '') return;
    this.values.add(token);
    const parts = token.split('.');
    if (parts.length === 3) {
      // A JWT: its signature is the secret part (the claims are no secret).
      this.values.add(parts[2]!);
      return;
    }
    // An opaque refresh token: `<sessionId>.<secret>` (callbacks: `<user>.<secret>[.<client>]`).
    const secret = parts[1]!;
    this.values.add(secret);
    this.values.add(createHash('sha256').update(secret).digest('base64url'));
    const session = await store.getSession(parts[0]!);
    if (session) {
      this.values.add(session.tokenHash);
      this.values.add(session.secretSalt);
    }
  }
}

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
      const secrets = new Secrets();
      const handler = createAuthHandler(manager);
      const send = async (
        path: string,
        json: Record<string, unknown> | undefined,
        token?: string,
        query = '',
      ): Promise<{ status: number; body: Record<string, unknown> }> => {
        const req: HttpRequest = {
          method: json === undefined ? 'GET' : 'POST',
          path,
          headers: {
            ...(json === undefined ? {} : { 'content-type': 'application/json' }),
            ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
            'user-agent': 'secrets-test/1.0',
          },
          query: new URLSearchParams(query),
          ...(json === undefined ? {} : { body: JSON.stringify(json) }),
          ip: '192.0.2.10',
        };
        const response = await handler(req);
        assert.ok(response, path);
        const body = response.body ? (JSON.parse(response.body) as Record<string, unknown>) : {};
        for (const field of ['access_token', 'refresh_token']) await secrets.addToken(body[field], h.store);
        return { status: response.status, body };
      };
      const login = async () => {
        const { status, body } = await send('/auth/login', { username: 'thedude', password: 'abides' });
        assert.equal(status, 200, JSON.stringify(body));
        return { access: body.access_token as string, refresh: body.refresh_token as string };
      };

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
      assert.ok(secrets.values.size > 10, `${secrets.values.size} secrets collected`);
      for (const secret of secrets.values) {
        const found = written.filter((text) => text.includes(secret));
        assert.deepEqual(found, [], `a secret (${secret.slice(0, 12)}…) was written`);
      }
    });
  });
}
