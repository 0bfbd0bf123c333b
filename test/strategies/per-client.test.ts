/**
 * Seed 004 (djangorestframework-jwt-refresh-token), through the HTTP layer:
 * long-running per-(user, app) tokens that never expire, the management
 * endpoints (list, create, delete; another user's -> 404), the delegate
 * endpoint (form or JSON, `{token, refresh_token}`), and the
 * JWT_RESPONSE_PAYLOAD_HANDLER hook.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JWT_BEARER_GRANT } from '../../src/http/oauth.ts';
import { createPerClientHandler } from '../../src/http/per-client-routes.ts';
import { expectError, sender, storeKinds, strategyHarness } from './support.ts';

for (const kind of storeKinds) {
  describe(`per-client strategy (${kind.name})`, () => {
    const harness = () =>
      strategyHarness(kind, (base) => ({
        ...base,
        strategy: 'per-client' as const,
        refreshKey: 'k'.repeat(32),
      }));

    it('manages long-running tokens and delegates JWTs with them, as the seed describes', async () => {
      const h = await harness();
      try {
        const handler = createPerClientHandler(h.manager);
        const send = sender(h.manager, {}, handler);
        const login = await send('POST', '/auth/login', {
          json: { username: 'thedude', password: 'abides' },
        });
        const jwt = login.json.access_token as string;
        assert.equal(login.json.refresh_expires_in, null, 'never expires by default');

        // Create a refresh token for app "app" (the management router).
        const created = await send('POST', '/auth/refresh-tokens', { token: jwt, json: { app: 'app' } });
        assert.equal(created.status, 201);
        assert.equal(created.json.app, 'app');
        const key = created.json.key as string;
        assert.ok(key);

        // `http POST client_id=app grant_type=... refresh_token=<KEY> api_type=app /delegate/` (form and JSON).
        const fields = {
          client_id: 'app',
          grant_type: JWT_BEARER_GRANT,
          refresh_token: key,
          api_type: 'app',
        };
        const byForm = await send('POST', '/delegate/', { form: fields });
        assert.equal(byForm.status, 200, JSON.stringify(byForm.json));
        assert.deepEqual(Object.keys(byForm.json).sort(), ['refresh_token', 'token']);
        assert.equal(byForm.json.refresh_token, key, 'the long-running token does not rotate');
        assert.equal((await send('GET', '/protected', { token: byForm.json.token as string })).status, 200);
        const byJson = await send('POST', '/auth/delegate', { json: fields });
        assert.equal(byJson.status, 200);

        // Years later it still works: no expiry unless configured.
        h.clock.advance(5 * 365 * 86400);
        assert.equal((await send('POST', '/delegate/', { json: fields })).status, 200);
        const fresh = (
          await send('POST', '/auth/login', { json: { username: 'thedude', password: 'abides' } })
        ).json.access_token as string;

        // Wrong client, wrong grant, missing fields: clear 4xx.
        expectError(
          await send('POST', '/delegate/', { json: { ...fields, client_id: 'other' } }),
          400,
          'invalid_request',
        );
        expectError(
          await send('POST', '/delegate/', { json: { ...fields, grant_type: 'password' } }),
          400,
          'invalid_request',
        );
        expectError(await send('POST', '/delegate/', { json: { client_id: 'app' } }), 400, 'invalid_request');
        expectError(
          await send('POST', '/delegate/', { json: { ...fields, refresh_token: 'x.y' } }),
          401,
          'invalid_token',
        );

        // List shows the tokens without their values.
        const list = await send('GET', '/auth/refresh-tokens', { token: fresh });
        const tokens = list.json.refresh_tokens as Array<Record<string, unknown>>;
        assert.deepEqual(tokens.map((t) => t.app).sort(), ['app', 'https://baton.test']);
        assert.ok(tokens.every((t) => t.key === undefined));

        // Creating again for the same app replaces (revokes) the old token.
        const replaced = await send('POST', '/auth/refresh-tokens', {
          token: fresh,
          json: { client_id: 'app' },
        });
        expectError(await send('POST', '/delegate/', { json: fields }), 401, 'token_revoked');
        const newFields = { ...fields, refresh_token: replaced.json.key as string };
        assert.equal((await send('POST', '/delegate/', { json: newFields })).status, 200);

        // Another user cannot delete it: 404. The owner can, and it is dead.
        const walter = (
          await send('POST', '/auth/login', { json: { username: 'walter', password: 'calmerthanyouare' } })
        ).json.access_token as string;
        const path = `/auth/refresh-tokens/${replaced.json.id as string}`;
        expectError(await send('DELETE', path, { token: walter }), 404, 'not_found');
        assert.equal((await send('DELETE', path, { token: fresh })).status, 204);
        expectError(await send('POST', '/delegate/', { json: newFields }), 401, 'token_revoked');
        expectError(await send('GET', '/auth/refresh-tokens'), 401, 'missing_token');
      } finally {
        await h.close();
      }
    });

    it('JWT_RESPONSE_PAYLOAD_HANDLER: login answers {token, refresh_token} of app "test"', async () => {
      const h = await harness();
      try {
        const handler = createPerClientHandler(h.manager, {
          loginResponse: async ({ token, refreshTokenFor }) => ({
            token,
            refresh_token: await refreshTokenFor('test'),
          }),
        });
        const send = sender(h.manager, {}, handler);
        const first = await send('POST', '/auth/login', {
          json: { username: 'thedude', password: 'abides' },
        });
        assert.deepEqual(Object.keys(first.json).sort(), ['refresh_token', 'token']);
        assert.equal(first.json.refresh_token, null, 'no token for app "test" yet');
        // The hook's body carries tokens: a browser asking for cookie transfer is refused, not answered in it.
        const browser = await handler({
          method: 'POST',
          path: '/auth/login',
          headers: { 'content-type': 'application/json', 'baton-transfer': 'cookie' },
          query: new URLSearchParams(),
          body: JSON.stringify({ username: 'thedude', password: 'abides' }),
        });
        assert.equal(browser?.status, 400);
        assert.equal(browser?.headers['set-cookie'], undefined);
        const created = await send('POST', '/auth/refresh-tokens', {
          token: first.json.token as string,
          json: { app: 'test' },
        });
        const second = await send('POST', '/auth/login', {
          json: { username: 'thedude', password: 'abides' },
        });
        assert.equal(second.json.refresh_token, created.json.key);
        // Login for a client gives that client's token, the same one each time.
        const a = await send('POST', '/auth/refresh', { json: { refresh_token: created.json.key } });
        assert.equal(a.json.refresh_token, created.json.key);
      } finally {
        await h.close();
      }
    });

    it('a disabled user loses the tokens; the standard session routes work', async () => {
      const h = await harness();
      try {
        const send = sender(h.manager, {}, createPerClientHandler(h.manager));
        const login = await send('POST', '/auth/login', {
          json: { username: 'thedude', password: 'abides', client_id: 'mobile' },
        });
        const again = await send('POST', '/auth/login', {
          json: { username: 'thedude', password: 'abides', client_id: 'mobile' },
        });
        assert.equal(again.json.refresh_token, login.json.refresh_token, 'one token per (user, client)');
        const sessions = await send('GET', '/auth/sessions', { token: login.json.access_token as string });
        assert.equal((sessions.json.sessions as unknown[]).length, 1);
        const dude = h.users.byId.get('u1');
        assert.ok(dude);
        dude.disabled = true;
        expectError(
          await send('POST', '/auth/refresh', { json: { refresh_token: login.json.refresh_token } }),
          403,
          'user_disabled',
        );
        dude.disabled = false;
        expectError(
          await send('POST', '/auth/refresh', { json: { refresh_token: login.json.refresh_token } }),
          401,
          'token_revoked',
        );
      } finally {
        await h.close();
      }
    });
  });
}
