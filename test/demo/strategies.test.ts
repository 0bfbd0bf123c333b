/**
 * The demo on every strategy (BATON_STRATEGY) and every adapter: login ->
 * protected -> refresh -> logout with each strategy's own shapes and rules,
 * and the admin disable-user route. In-process, memory store, ManualClock.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEMO_ADAPTERS } from '../../demo/app.ts';
import type { DemoStrategy } from '../../demo/config.ts';
import { JWT_BEARER_GRANT } from '../../src/http/oauth.ts';
import { assertError, call, type Harness, login, startHarness } from './helpers.ts';

type Walk = (h: Harness<DemoStrategy>, base: string) => Promise<void>;

const ACCESS_TTL = 60;

/** Walter disables thedude through the demo's admin route. */
async function disable(base: string): Promise<Record<string, unknown>> {
  const admin = await login(base, 'walter', 'calmerthanyouare');
  const reply = await call(base, '/api/admin/disable-user', {
    token: admin.access_token,
    json: { username: 'thedude' },
  });
  assert.equal(reply.status, 200, reply.text);
  assert.equal(reply.json.disabled, true);
  return reply.json;
}

const walks: Record<DemoStrategy, Walk> = {
  async rotating(_h, base) {
    const tokens = await login(base);
    assert.equal((await call(base, '/api/protected', { token: tokens.access_token })).status, 200);
    const refreshed = await call(base, '/auth/refresh', { json: { refresh_token: tokens.refresh_token } });
    assert.equal(refreshed.status, 200, refreshed.text);
    const next = refreshed.json.refresh_token as string;
    assert.ok(next && next !== tokens.refresh_token, 'rotated');
    const access = refreshed.json.access_token as string;
    assert.equal((await call(base, '/api/protected', { token: access })).status, 200);
    assert.equal((await call(base, '/auth/logout', { token: access, method: 'POST' })).status, 204);
    assertError(await call(base, '/api/protected', { token: access }), 401, 'token_revoked');
    assertError(await call(base, '/auth/refresh', { json: { refresh_token: next } }), 401, 'token_revoked');
    // disable-user revokes at once (revokeUser).
    const other = await login(base);
    const disabled = await disable(base);
    assert.equal(disabled.revoked_sessions, 1);
    assertError(await call(base, '/api/protected', { token: other.access_token }), 401, 'token_revoked');
  },

  async jwt(_h, base) {
    const tokens = await login(base);
    assert.equal((await call(base, '/api/protected', { token: tokens.access_token })).status, 200);
    assert.equal((await call(base, '/api/sensitive', { token: tokens.access_token, json: {} })).status, 200);
    // `http POST :5000/refresh Authorization:"Bearer $REFRESH_TOKEN"`
    const refreshed = await call(base, '/auth/refresh', { token: tokens.refresh_token, method: 'POST' });
    assert.equal(refreshed.status, 200, refreshed.text);
    assert.equal(refreshed.json.refresh_token, undefined, 'no rotation by default');
    const access = refreshed.json.access_token as string;
    assert.equal((await call(base, '/api/protected', { token: access })).status, 200);
    assertError(await call(base, '/api/sensitive', { token: access, json: {} }), 401, 'fresh_token_required');
    assertError(
      await call(base, '/auth/refresh', { token: tokens.access_token, method: 'POST' }),
      401,
      'wrong_token_type',
    );
    assert.equal((await call(base, '/auth/logout', { token: access, method: 'POST' })).status, 204);
    assertError(await call(base, '/api/protected', { token: access }), 401, 'token_revoked');
    assertError(
      await call(base, '/auth/refresh', { token: tokens.refresh_token, method: 'POST' }),
      401,
      'token_revoked',
    );
    // disable-user: no per-user index, so it takes effect at the next refresh.
    const other = await login(base);
    assert.equal((await disable(base)).revoked_sessions, null);
    assertError(
      await call(base, '/auth/refresh', { token: other.refresh_token, method: 'POST' }),
      403,
      'user_disabled',
    );
    assertError(await call(base, '/api/protected', { token: other.access_token }), 401, 'token_revoked');
  },

  async 'single-token'(h, base) {
    const tokens = await login(base);
    const token = tokens.access_token;
    assert.equal(tokens.refresh_token, token, 'one token does both jobs');
    assert.equal((await call(base, '/api/protected', { token })).status, 200);
    assertError(await call(base, '/auth/refresh', { token, method: 'POST' }), 425, 'early_refresh');
    h.clock.advance(ACCESS_TTL + 1);
    assertError(await call(base, '/api/protected', { token }), 401, 'token_expired');
    const refreshed = await call(base, '/auth/refresh', { token, method: 'POST' });
    assert.equal(refreshed.status, 200, refreshed.text);
    const copy = refreshed.json.access_token as string;
    assert.equal((await call(base, '/api/protected', { token: copy })).status, 200);
    assert.equal((await call(base, '/auth/logout', { token: copy, method: 'POST' })).status, 204);
    assertError(await call(base, '/api/protected', { token: copy }), 401, 'token_revoked');
    // disable-user keeps the seed's behaviour: access continues until it expires, then no refresh.
    const other = (await login(base)).access_token;
    assert.equal((await disable(base)).revoked_sessions, null);
    assert.equal((await call(base, '/api/protected', { token: other })).status, 200);
    h.clock.advance(ACCESS_TTL + 1);
    assertError(await call(base, '/auth/refresh', { token: other, method: 'POST' }), 403, 'user_disabled');
    assertError(
      await call(base, '/auth/login', { json: { username: 'thedude', password: 'abides' } }),
      403,
      'user_disabled',
    );
  },

  async 'per-client'(_h, base) {
    const tokens = await login(base);
    assert.equal(tokens.refresh_expires_in, null, 'long-running tokens never expire by default');
    const jwt = tokens.access_token;
    assert.equal((await call(base, '/api/protected', { token: jwt })).status, 200);
    const created = await call(base, '/auth/refresh-tokens', { token: jwt, json: { app: 'app' } });
    assert.equal(created.status, 201, created.text);
    const key = created.json.key as string;
    const fields = { client_id: 'app', grant_type: JWT_BEARER_GRANT, refresh_token: key, api_type: 'app' };
    const delegated = await call(base, '/delegate/', { form: fields });
    assert.equal(delegated.status, 200, delegated.text);
    assert.deepEqual(Object.keys(delegated.json).sort(), ['refresh_token', 'token']);
    assert.equal((await call(base, '/api/protected', { token: delegated.json.token as string })).status, 200);
    const refreshed = await call(base, '/auth/refresh', { json: { refresh_token: tokens.refresh_token } });
    assert.equal(refreshed.status, 200, refreshed.text);
    assert.equal(refreshed.json.refresh_token, tokens.refresh_token, 'long-running: no rotation');
    const listed = await call(base, '/auth/refresh-tokens', { token: jwt });
    assert.equal((listed.json.refresh_tokens as unknown[]).length, 2);
    const walter = await login(base, 'walter', 'calmerthanyouare');
    const path = `/auth/refresh-tokens/${created.json.id as string}`;
    assertError(await call(base, path, { token: walter.access_token, method: 'DELETE' }), 404, 'not_found');
    assert.equal((await call(base, path, { token: jwt, method: 'DELETE' })).status, 204);
    assertError(await call(base, '/delegate/', { json: fields }), 401, 'token_revoked');
    assert.equal((await call(base, '/auth/logout', { token: jwt, method: 'POST' })).status, 204);
    assertError(await call(base, '/api/protected', { token: jwt }), 401, 'token_revoked');
    // disable-user: the next refresh is refused and the user's tokens die.
    const other = await login(base);
    await disable(base);
    assertError(
      await call(base, '/auth/refresh', { json: { refresh_token: other.refresh_token } }),
      403,
      'user_disabled',
    );
  },

  async callbacks(h, base) {
    const tokens = await login(base);
    assert.deepEqual([...h.demo.refreshTokens.values()], [tokens.refresh_token], 'storeRefreshToken');
    assert.equal((await call(base, '/api/protected', { token: tokens.access_token })).status, 200);
    const refreshed = await call(base, '/auth/refresh', { json: { refresh_token: tokens.refresh_token } });
    assert.equal(refreshed.status, 200, refreshed.text);
    assert.equal(refreshed.json.refresh_token, undefined, 'the stored token stays');
    const access = refreshed.json.access_token as string;
    assert.equal((await call(base, '/api/protected', { token: access })).status, 200);
    // One token per user: a later login replaces the earlier one.
    const second = await login(base);
    assertError(
      await call(base, '/auth/refresh', { json: { refresh_token: tokens.refresh_token } }),
      401,
      'invalid_token',
    );
    assert.equal(
      (await call(base, '/auth/logout', { json: { refresh_token: second.refresh_token } })).status,
      204,
    );
    assert.equal(h.demo.refreshTokens.size, 0, 'revokeRefreshToken forgot it');
    assert.notEqual(
      (await call(base, '/auth/refresh', { json: { refresh_token: second.refresh_token } })).status,
      200,
    );
    const other = await login(base);
    await disable(base);
    assertError(
      await call(base, '/auth/refresh', { json: { refresh_token: other.refresh_token } }),
      403,
      'user_disabled',
    );
  },
};

for (const adapter of DEMO_ADAPTERS) {
  describe(`demo strategies on ${adapter}`, () => {
    for (const [strategy, walk] of Object.entries(walks) as [DemoStrategy, Walk][]) {
      it(`BATON_STRATEGY=${strategy}: login, protected, refresh, logout, disable-user`, async () => {
        const h = await startHarness<DemoStrategy>({
          adapter,
          strategy,
          accessTtl: ACCESS_TTL,
          // The seed's long-running tokens never expire (the harness's default is 1 h).
          ...(strategy === 'per-client' ? { refreshTtl: null } : {}),
        });
        try {
          await walk(h, h.demo.url);
          assert.deepEqual(h.unexpected, []);
        } finally {
          await h.close();
        }
      });
    }
  });
}

describe('BATON_STRATEGY from the environment', () => {
  it('an unknown strategy: one line on stderr naming the variable, exit code 2', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'demo/server.ts'], {
      env: { ...process.env, BATON_STRATEGY: 'stateless', BATON_STORE: 'memory', PORT: '0' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(result.status, 2, result.stderr);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /BATON_STRATEGY/);
    assert.equal(result.stdout, '');
  });

  it('a strategy refusing the settings (jwt with BATON_REFRESH_TTL=never): exit code 2', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'baton-strategy-'));
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'demo/server.ts'], {
      env: {
        ...process.env,
        BATON_STRATEGY: 'jwt',
        BATON_REFRESH_TTL: 'never',
        BATON_STORE: 'memory',
        BATON_DATA_DIR: dataDir,
        PORT: '0',
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    rmSync(dataDir, { recursive: true, force: true });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /refreshTokenTtl/);
  });
});
