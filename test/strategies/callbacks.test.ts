/**
 * Seed 000 (sanic-jwt): the application stores and retrieves the refresh
 * token through callbacks, sync or async, here "a Redis key per user"
 * (`refresh_token_<user_id>`) kept in a Map. Through the HTTP layer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MaybePromise } from '../../src/index.ts';
import { expectError, sender, storeKinds, strategyHarness } from './support.ts';

type Callbacks = {
  storeRefreshToken(userId: string, token: string): MaybePromise<unknown>;
  retrieveRefreshToken(userId: string): MaybePromise<string | null | undefined>;
};

function redisLike(async: boolean): { redis: Map<string, string>; callbacks: Callbacks } {
  const redis = new Map<string, string>();
  const key = (userId: string) => `refresh_token_${userId}`;
  const callbacks: Callbacks = async
    ? {
        storeRefreshToken: async (userId, token) => {
          await new Promise((resolve) => setImmediate(resolve));
          redis.set(key(userId), token);
        },
        retrieveRefreshToken: async (userId) => redis.get(key(userId)),
      }
    : {
        storeRefreshToken: (userId, token) => {
          redis.set(key(userId), token);
        },
        retrieveRefreshToken: (userId) => redis.get(key(userId)) ?? null,
      };
  return { redis, callbacks };
}

for (const kind of storeKinds) {
  for (const mode of ['sync', 'async'] as const) {
    describe(`callbacks strategy, ${mode} callbacks (${kind.name})`, () => {
      it('stores at login, retrieves at refresh, one token per user', async () => {
        const { redis, callbacks } = redisLike(mode === 'async');
        const h = await strategyHarness(kind, (base) => ({
          ...base,
          strategy: 'callbacks' as const,
          ...callbacks,
        }));
        try {
          const send = sender(h.manager);
          const login = await send('POST', '/auth/login', {
            json: { username: 'thedude', password: 'abides' },
          });
          const refreshToken = login.json.refresh_token as string;
          assert.equal(
            redis.get('refresh_token_u1'),
            refreshToken,
            'store_refresh_token(user_id, refresh_token)',
          );

          const refreshed = await send('POST', '/auth/refresh', { json: { refresh_token: refreshToken } });
          assert.equal(refreshed.status, 200);
          assert.equal(
            refreshed.json.refresh_token,
            undefined,
            'the stored token stays; only an access token',
          );
          assert.equal(
            (await send('GET', '/protected', { token: refreshed.json.access_token as string })).status,
            200,
          );
          assert.equal((await send('POST', '/auth/refresh', { token: refreshToken })).status, 200);

          // A later login replaces the stored token: the earlier one is dead.
          const second = await send('POST', '/auth/login', {
            json: { username: 'thedude', password: 'abides' },
          });
          expectError(await send('POST', '/auth/refresh', { token: refreshToken }), 401, 'invalid_token');
          const current = second.json.refresh_token as string;
          assert.equal((await send('POST', '/auth/refresh', { token: current })).status, 200);

          // Deleting the key (the app's own revocation) kills the token.
          redis.delete('refresh_token_u1');
          expectError(await send('POST', '/auth/refresh', { token: current }), 401, 'invalid_token');
        } finally {
          await h.close();
        }
      });

      it('rejects forged, malformed and wrong-type tokens with 4xx; logout denies the token', async () => {
        const { callbacks } = redisLike(mode === 'async');
        const h = await strategyHarness(kind, (base) => ({
          ...base,
          strategy: 'callbacks' as const,
          ...callbacks,
        }));
        try {
          const send = sender(h.manager);
          const login = await send('POST', '/auth/login', {
            json: { username: 'walter', password: 'calmerthanyouare' },
          });
          const token = login.json.refresh_token as string;
          const [userPart] = token.split('.');
          const forged = `${userPart}.${'A'.repeat(43)}`;
          expectError(await send('POST', '/auth/refresh', { token: forged }), 401, 'invalid_token');
          const otherUser = `${Buffer.from('u1').toString('base64url')}.${token.split('.')[1]}`;
          expectError(await send('POST', '/auth/refresh', { token: otherUser }), 401, 'invalid_token');
          expectError(await send('POST', '/auth/refresh', { token: 'garbage' }), 401, 'invalid_token');
          expectError(
            await send('POST', '/auth/refresh', { token: login.json.access_token as string }),
            401,
            'wrong_token_type',
          );
          expectError(
            await send('GET', '/auth/sessions', { token: login.json.access_token as string }),
            400,
            'invalid_request',
          );
          assert.equal((await send('POST', '/auth/logout', { json: { refresh_token: token } })).status, 204);
          expectError(await send('POST', '/auth/refresh', { token }), 401, 'token_revoked');
          expectError(
            await send('GET', '/protected', { token: login.json.access_token as string }),
            401,
            'token_revoked',
          );
        } finally {
          await h.close();
        }
      });
    });
  }

  describe(`callbacks strategy options (${kind.name})`, () => {
    it('needs both callbacks; a failing callback is a 503, not a 500', async () => {
      await assert.rejects(
        strategyHarness(
          kind,
          (base) =>
            ({
              ...base,
              strategy: 'callbacks' as const,
              retrieveRefreshToken: () => null,
            }) as never,
        ),
        { code: 'invalid_options' },
      );
      const h = await strategyHarness(kind, (base) => ({
        ...base,
        strategy: 'callbacks' as const,
        storeRefreshToken: () => {
          throw new Error('redis down');
        },
        retrieveRefreshToken: () => null,
      }));
      try {
        const send = sender(h.manager);
        expectError(
          await send('POST', '/auth/login', { json: { username: 'thedude', password: 'abides' } }),
          503,
          'store_unavailable',
        );
      } finally {
        await h.close();
      }
    });
  });
}
