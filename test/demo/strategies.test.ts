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
import {
  assertOAuthError,
  basic,
  COOKIE,
  COOKIE_MODE,
  COOKIE_TRANSFER,
  cookieHeader,
  cookieValue,
  decodeClaims,
  merge,
  type Reply,
  setCookies,
  login as signIn,
} from '../adapters/client.ts';
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
    // Login answers a disabled account's right password as a wrong one (no password oracle).
    assertError(
      await call(base, '/auth/login', { json: { username: 'thedude', password: 'abides' } }),
      401,
      'invalid_credentials',
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
    // disable-user revokes at once (revokeUser): the user's tokens die with the sessions.
    const other = await login(base);
    assert.equal((await disable(base)).revoked_sessions, 1);
    assertError(await call(base, '/api/protected', { token: other.access_token }), 401, 'token_revoked');
    assertError(
      await call(base, '/auth/refresh', { json: { refresh_token: other.refresh_token } }),
      401,
      'token_revoked',
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

// ------------------------------------------- session integrity, on every strategy and adapter

const SESSION_TTL = 3600;
const DEMO_BASIC = basic('demo-client', 'demo-secret');

interface DeadToken {
  why: string;
  token: string;
  /** The 401 code it gets wherever it tries to act for its session. */
  error: string;
}

/** Refresh tokens that must act for nothing, and tokens of the same user that must survive them. */
interface DeadTokens {
  dead: DeadToken[];
  alive: string[];
}

function refused(reply: Reply, error: string, why: string): void {
  assert.equal(reply.status, 401, `${why}: ${reply.text}`);
  assert.equal(reply.json.error, error, `${why}: ${reply.text}`);
}

async function logIn(base: string, json: Record<string, string>): Promise<Record<string, unknown>> {
  const reply = await call(base, '/auth/login', {
    json: { username: 'thedude', password: 'abides', ...json },
  });
  assert.equal(reply.status, 200, reply.text);
  return reply.json;
}

async function logOut(base: string, refreshToken: string): Promise<void> {
  const reply = await call(base, '/auth/logout', { json: { refresh_token: refreshToken } });
  assert.equal(reply.status, 204, reply.text);
}

/** A login whose session has expired by the end of the setup (which advances SESSION_TTL - 30, then 31 s). */
async function soonExpired(h: Harness<DemoStrategy>, base: string, json: Record<string, string> = {}) {
  const token = String((await logIn(base, json)).refresh_token);
  h.clock.advance(SESSION_TTL - 30);
  return token;
}

const deadTokens: Record<DemoStrategy, (h: Harness<DemoStrategy>, base: string) => Promise<DeadTokens>> = {
  async rotating(h, base) {
    const expired = await soonExpired(h, base);
    const survivor = (await login(base)).refresh_token;
    const rotatedOut = (await login(base)).refresh_token;
    const successor = await call(base, '/auth/refresh', { json: { refresh_token: rotatedOut } });
    assert.equal(successor.status, 200, successor.text);
    const loggedOut = (await login(base)).refresh_token;
    await logOut(base, loggedOut);
    const stolen = (await login(base)).refresh_token;
    const stolenNext = await call(base, '/auth/refresh', { json: { refresh_token: stolen } });
    h.clock.advance(11);
    refused(
      await call(base, '/auth/refresh', { json: { refresh_token: stolen } }),
      'refresh_token_reused',
      'reuse',
    );
    h.clock.advance(20);
    return {
      dead: [
        { why: 'rotated out, past the grace window', token: rotatedOut, error: 'invalid_token' },
        { why: 'logged out', token: loggedOut, error: 'token_revoked' },
        { why: 'reused after rotation', token: stolen, error: 'token_revoked' },
        {
          why: 'the successor of a reused token',
          token: String(stolenNext.json.refresh_token),
          error: 'token_revoked',
        },
        { why: 'of an expired session', token: expired, error: 'session_expired' },
      ],
      alive: [survivor, String(successor.json.refresh_token)],
    };
  },

  async jwt(h, base) {
    const expired = await soonExpired(h, base);
    const survivor = (await login(base)).refresh_token;
    const loggedOut = (await login(base)).refresh_token;
    await logOut(base, loggedOut);
    h.clock.advance(31);
    return {
      dead: [
        { why: 'logged out (denylisted)', token: loggedOut, error: 'token_revoked' },
        { why: 'expired', token: expired, error: 'session_expired' },
      ],
      alive: [survivor],
    };
  },

  async 'single-token'(h, base) {
    return deadTokens.jwt(h, base);
  },

  async 'per-client'(h, base) {
    const expired = await soonExpired(h, base, { client_id: 'tablet' });
    const survivor = await login(base);
    const loggedOut = String((await logIn(base, { client_id: 'phone' })).refresh_token);
    await logOut(base, loggedOut);
    const created = await call(base, '/auth/refresh-tokens', {
      token: survivor.access_token,
      json: { app: 'watch' },
    });
    assert.equal(created.status, 201, created.text);
    const deleted = await call(base, `/auth/refresh-tokens/${String(created.json.id)}`, {
      token: survivor.access_token,
      method: 'DELETE',
    });
    assert.equal(deleted.status, 204, deleted.text);
    h.clock.advance(31);
    return {
      dead: [
        { why: 'logged out', token: loggedOut, error: 'token_revoked' },
        { why: 'deleted', token: String(created.json.key), error: 'token_revoked' },
        { why: 'expired', token: expired, error: 'session_expired' },
      ],
      alive: [survivor.refresh_token],
    };
  },

  async callbacks(_h, base) {
    const survivor = (await login(base, 'walter', 'calmerthanyouare')).refresh_token;
    const replaced = (await login(base)).refresh_token;
    const loggedOut = (await login(base)).refresh_token;
    await logOut(base, loggedOut);
    return {
      dead: [
        { why: 'replaced by a later login', token: replaced, error: 'invalid_token' },
        { why: 'logged out', token: loggedOut, error: 'invalid_token' },
      ],
      alive: [survivor],
    };
  },
};

type Scenario = (h: Harness<DemoStrategy>, base: string, strategy: DemoStrategy) => Promise<void>;

const integrity: Record<string, Scenario> = {
  async 'a dead refresh token acts for nothing: logout and logout-all are 401, revoke is a no-op'(
    h,
    base,
    strategy,
  ) {
    const { dead, alive } = await deadTokens[strategy](h, base);
    for (const { why, token, error } of dead) {
      refused(
        await call(base, '/auth/logout-all', { json: { refresh_token: token } }),
        error,
        `logout-all, ${why}`,
      );
      refused(
        await call(base, '/auth/logout-all', { token, method: 'POST' }),
        error,
        `logout-all by header, ${why}`,
      );
      refused(await call(base, '/auth/logout', { json: { refresh_token: token } }), error, `logout, ${why}`);
      for (const hint of ['refresh_token', 'access_token']) {
        const revoked = await call(base, '/auth/revoke', { form: { token, token_type_hint: hint } });
        assert.equal(revoked.status, 200, `revoke, ${why}: ${revoked.text}`);
      }
      assert.equal((await call(base, '/auth/sessions', { token })).status, 401, `sessions, ${why}`);
    }
    h.clock.advance(ACCESS_TTL + 1); // single-token refreshes only an expired token
    for (const token of alive) {
      const refreshed = await call(base, '/auth/refresh', { json: { refresh_token: token } });
      assert.equal(refreshed.status, 200, `the user's other sessions live on: ${refreshed.text}`);
    }
  },

  async 'revoke searches every token type: a false token_type_hint still revokes'(h, base, strategy) {
    const t = await login(base);
    const revoked = await call(base, '/auth/revoke', {
      form: { token: t.refresh_token, token_type_hint: 'access_token' },
    });
    assert.equal(revoked.status, 200, revoked.text);
    assertError(await call(base, '/api/protected', { token: t.access_token }), 401, 'token_revoked');
    h.clock.advance(ACCESS_TTL + 1);
    const refresh = await call(base, '/auth/refresh', { json: { refresh_token: t.refresh_token } });
    assert.equal(refresh.status, 401, refresh.text);
    assert.ok(['token_revoked', 'invalid_token'].includes(String(refresh.json.error)), refresh.text);
    if (strategy === 'single-token') return; // one token: revoking it as either type is the same

    // The reverse: an access token hinted as a refresh token is denied by jti; its session lives on.
    const u = await login(base);
    const access = await call(base, '/auth/revoke', {
      form: { token: u.access_token, token_type_hint: 'refresh_token' },
    });
    assert.equal(access.status, 200, access.text);
    assertError(await call(base, '/api/protected', { token: u.access_token }), 401, 'token_revoked');
    const lives = await call(base, '/auth/refresh', { json: { refresh_token: u.refresh_token } });
    assert.equal(lives.status, 200, lives.text);
  },

  async "a confidential client's session refreshes only with that client's secret, and failures do not rotate"(
    h,
    base,
  ) {
    const issued = await call(base, '/auth/token', {
      form: { grant_type: 'password', username: 'thedude', password: 'abides' },
      headers: { authorization: DEMO_BASIC },
    });
    assert.equal(issued.status, 200, issued.text);
    const refreshToken = String(issued.json.refresh_token);
    h.clock.advance(ACCESS_TTL + 1);
    const grant = (form: Record<string, string>, headers: Record<string, string> = {}) =>
      call(base, '/auth/token', { form, headers });
    const refreshGrant = { grant_type: 'refresh_token', refresh_token: refreshToken };
    const missing = await grant(refreshGrant);
    assertOAuthError(missing, 401, 'invalid_client');
    assert.match(missing.headers.get('www-authenticate') ?? '', /^Basic realm="baton"/);
    assertOAuthError(
      await grant(refreshGrant, { authorization: basic('demo-client', 'nope') }),
      401,
      'invalid_client',
    );
    assertOAuthError(
      await grant({ grant_type: JWT_BEARER_GRANT, refresh_token: refreshToken, client_id: 'demo-client' }),
      401,
      'invalid_client',
    );
    assertError(
      await call(base, '/auth/refresh', { json: { refresh_token: refreshToken } }),
      401,
      'invalid_client',
    );
    assertError(
      await call(base, '/auth/refresh', {
        json: { refresh_token: refreshToken, client_id: 'demo-client', client_secret: 'nope' },
      }),
      401,
      'invalid_client',
    );
    // Past the grace window: had any refusal rotated the token, using it now would be reuse.
    h.clock.advance(11);
    const ok = await call(base, '/auth/refresh', {
      json: { refresh_token: refreshToken, client_id: 'demo-client', client_secret: 'demo-secret' },
    });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(decodeClaims(String(ok.json.access_token)).client_id, 'demo-client');
    const next = typeof ok.json.refresh_token === 'string' ? ok.json.refresh_token : refreshToken;
    h.clock.advance(ACCESS_TTL + 1);
    const viaToken = await grant(
      { grant_type: 'refresh_token', refresh_token: next },
      { authorization: DEMO_BASIC },
    );
    assert.equal(viaToken.status, 200, viaToken.text);
    assert.equal(decodeClaims(String(viaToken.json.access_token)).client_id, 'demo-client');
  },

  async "the token endpoint answers another client's refresh token with invalid_grant"(h, base) {
    const pub = String((await logIn(base, { client_id: 'mobile-app' })).refresh_token);
    h.clock.advance(ACCESS_TTL + 1);
    const grant = (form: Record<string, string>) => call(base, '/auth/token', { form });
    assertOAuthError(
      await grant({ grant_type: 'refresh_token', refresh_token: pub, client_id: 'web' }),
      400,
      'invalid_grant',
    );
    assertOAuthError(
      await grant({ grant_type: JWT_BEARER_GRANT, refresh_token: pub, client_id: 'web' }),
      400,
      'invalid_grant',
    );
    const same = await grant({ grant_type: 'refresh_token', refresh_token: pub, client_id: 'mobile-app' });
    assert.equal(same.status, 200, same.text);
    assert.equal(decodeClaims(String(same.json.access_token)).client_id, 'mobile-app');
  },

  async 'a disabled account answers its right password exactly as a wrong one'(_h, base) {
    await disable(base);
    const attempt = async (password: string) => ({
      login: await call(base, '/auth/login', { json: { username: 'thedude', password } }),
      grant: await call(base, '/auth/token', {
        form: { grant_type: 'password', username: 'thedude', password },
      }),
    });
    const right = await attempt('abides');
    const wrong = await attempt('not-the-password');
    assertError(right.login, 401, 'invalid_credentials');
    assert.equal(right.login.text, wrong.login.text);
    assertOAuthError(right.grant, 400, 'invalid_grant');
    assert.equal(right.grant.text, wrong.grant.text);
  },

  async 'login limits: 10 failures per username and 100 per IP, a minute, before any hashing'(h, base) {
    const attempt = (username: string, password: string) =>
      call(base, '/auth/login', { json: { username, password } });
    for (let i = 0; i < 10; i++) assertError(await attempt('thedude', 'wrong'), 401, 'invalid_credentials');
    const hashed = h.demo.users.verifications;
    const limited = await attempt('thedude', 'abides');
    assertError(limited, 429, 'too_many_attempts');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1, 'Retry-After');
    assert.equal(h.demo.users.verifications, hashed, 'refused before hashing');
    assert.equal((await attempt('walter', 'calmerthanyouare')).status, 200, 'the IP is not locked out');
    for (let i = 0; i < 90; i++)
      assertError(await attempt(`guess-${i}`, 'wrong'), 401, 'invalid_credentials');
    assertError(await attempt('walter', 'calmerthanyouare'), 429, 'too_many_attempts');
    h.clock.advance(61);
    assert.equal((await attempt('thedude', 'abides')).status, 200);
  },
};

for (const adapter of DEMO_ADAPTERS) {
  describe(`session integrity on ${adapter}`, () => {
    for (const strategy of Object.keys(walks) as DemoStrategy[]) {
      for (const [name, scenario] of Object.entries(integrity)) {
        it(`BATON_STRATEGY=${strategy}: ${name}`, async () => {
          const h = await startHarness<DemoStrategy>({
            adapter,
            strategy,
            accessTtl: ACCESS_TTL,
            refreshTtl: SESSION_TTL,
          });
          try {
            await scenario(h, h.demo.url, strategy);
            assert.deepEqual(h.unexpected, []);
          } finally {
            await h.close();
          }
        });
      }
    }
  });
}

for (const adapter of DEMO_ADAPTERS) {
  describe(`per-client management routes on ${adapter}`, () => {
    it('binding a token to a confidential client needs its secret, and a long-running token a fresh access token', async () => {
      const h = await startHarness<'per-client'>({ adapter, strategy: 'per-client', accessTtl: ACCESS_TTL });
      try {
        const base = h.demo.url;
        const t = await login(base);
        const create = (token: string, json: Record<string, string>, headers: Record<string, string> = {}) =>
          call(base, '/auth/refresh-tokens', { token, json, headers });
        assertError(await create(t.access_token, { app: 'demo-client' }), 401, 'invalid_client');
        assertError(
          await create(t.access_token, { app: 'demo-client', client_secret: 'nope' }),
          401,
          'invalid_client',
        );
        const created = await create(t.access_token, { app: 'demo-client', client_secret: 'demo-secret' });
        assert.equal(created.status, 201, created.text);
        assert.equal(created.json.app, 'demo-client');

        // The delegate route is a refresh: the confidential client authenticates there too.
        const fields = {
          grant_type: JWT_BEARER_GRANT,
          client_id: 'demo-client',
          refresh_token: String(created.json.key),
        };
        assertError(await call(base, '/delegate/', { form: fields }), 401, 'invalid_client');
        const delegated = await call(base, '/delegate/', {
          form: { ...fields, client_secret: 'demo-secret' },
        });
        assert.equal(delegated.status, 200, delegated.text);

        const refreshed = await call(base, '/auth/refresh', { json: { refresh_token: t.refresh_token } });
        assert.equal(refreshed.status, 200, refreshed.text);
        const stale = String(refreshed.json.access_token);
        assertError(await create(stale, { app: 'app' }), 401, 'fresh_token_required');
        const listed = await call(base, '/auth/refresh-tokens', { token: stale });
        assert.deepEqual(
          (listed.json.refresh_tokens as { app: string }[]).map((token) => token.app).sort(),
          ['baton-demo', 'demo-client'],
          'nothing was created by the refused calls',
        );
        assert.deepEqual(h.unexpected, []);
      } finally {
        await h.close();
      }
    });
  });
}

/** The strategies that can renew an access cookie without the refresh token (reissueAccessToken). */
const IMPLICIT_REFRESH: readonly DemoStrategy[] = ['rotating', 'jwt', 'per-client'];
const IMPLICIT_WITHIN = 30;
const COOKIE_SESSION_TTL = 200;

/**
 * Browser mode on every strategy: tokens as cookies only, never in the body;
 * the OAuth routes set no cookie; a cookie refresh answers cookies only with
 * a new CSRF value, never a planted one; implicit refresh bound to the
 * session; logout clears cookies only when CSRF-checked.
 */
async function cookieWalk(strategy: DemoStrategy, h: Harness<DemoStrategy>, base: string): Promise<void> {
  const t = await signIn(base, COOKIE_MODE);
  assert.equal((await call(base, '/api/protected', COOKIE_MODE.auth(t))).status, 200);
  const oauth = await call(base, '/auth/token', {
    // Walter: the callbacks strategy keeps one refresh token per user, which a second login replaces.
    form: { grant_type: 'password', username: 'walter', password: 'calmerthanyouare' },
    headers: { ...COOKIE_MODE.auth(t).headers, ...COOKIE_TRANSFER },
  });
  assert.equal(oauth.status, 200, oauth.text);
  assert.equal(oauth.headers.get('set-cookie'), null, 'the token endpoint sets no cookie');
  assert.equal(typeof oauth.json.access_token, 'string');

  if (strategy === 'single-token') h.clock.advance(ACCESS_TTL + 1); // refresh before expiry is refused
  const planted = 'P'.repeat(43);
  const refreshCookies = cookieHeader({ [COOKIE.refresh]: t.refresh_token, [COOKIE.csrf]: t.csrf ?? '' });
  const refreshed = await call(base, '/auth/refresh', {
    method: 'POST',
    headers: {
      cookie: `${COOKIE.csrf}=${planted}; ${refreshCookies}`,
      'x-csrf-token': planted,
      'baton-transfer': 'body',
    },
  });
  let current = COOKIE_MODE.tokens(refreshed, t);
  assert.notEqual(current.csrf, planted, 'a planted CSRF value is never adopted');
  assert.notEqual(current.csrf, t.csrf, 'a cookie refresh draws a new CSRF value');

  if (IMPLICIT_REFRESH.includes(strategy)) {
    if (strategy === 'rotating') {
      const stolen = current;
      current = COOKIE_MODE.tokens(await call(base, '/auth/refresh', COOKIE_MODE.refresh(current)), current);
      h.clock.advance(ACCESS_TTL - IMPLICIT_WITHIN + 1);
      const replay = await call(base, '/api/protected', COOKIE_MODE.auth(stolen));
      assert.equal(replay.status, 200);
      assert.equal(replay.headers.get('set-cookie'), null, 'a rotated-out generation mints no successor');
      const own = await call(base, '/api/protected', COOKIE_MODE.auth(current));
      const line = setCookies(own).get(COOKIE.access);
      assert.ok(line, "the victim's current generation is renewed");
      current = { ...current, access_token: cookieValue(line) };
    }
    const end = Number(decodeClaims(t.access_token).iat) + COOKIE_SESSION_TTL;
    let renewals = 0;
    let access = current.access_token;
    for (let i = 0; i < 10; i++) {
      h.clock.advance(ACCESS_TTL - 1);
      const reply = await call(
        base,
        '/api/protected',
        COOKIE_MODE.auth({ ...current, access_token: access }),
      );
      if (reply.status !== 200) {
        assertError(reply, 401, 'token_expired');
        break;
      }
      const line = setCookies(reply).get(COOKIE.access);
      if (line !== undefined) {
        renewals++;
        access = cookieValue(line);
      }
      assert.ok(Number(decodeClaims(access).exp) <= end, 'never past the session end');
    }
    assert.ok(renewals > 0, 'implicit refresh renewed the cookie');
    assertError(
      await call(base, '/api/protected', COOKIE_MODE.auth({ ...current, access_token: access })),
      401,
      'token_expired',
    );
    current = await signIn(base, COOKIE_MODE);
  }

  const crossSite = await call(base, '/auth/logout', { method: 'POST' });
  assertError(crossSite, 401, 'missing_token');
  assert.equal(crossSite.headers.get('set-cookie'), null, 'a cross-site logout clears nothing');
  const noCsrf = await call(base, '/auth/logout', {
    method: 'POST',
    headers: { cookie: cookieHeader({ [COOKIE.access]: current.access_token }) },
  });
  assertError(noCsrf, 401, 'csrf_failed');
  assert.equal(noCsrf.headers.get('set-cookie'), null);
  const out = await call(base, '/auth/logout', merge({ method: 'POST' }, COOKIE_MODE.auth(current)));
  assert.equal(out.status, 204, out.text);
  assert.deepEqual([...setCookies(out).keys()].sort(), [COOKIE.access, COOKIE.csrf, COOKIE.refresh].sort());
  assertError(await call(base, '/api/protected', { token: current.access_token }), 401, 'token_revoked');
}

for (const adapter of DEMO_ADAPTERS) {
  describe(`demo strategies in cookie mode on ${adapter}`, () => {
    for (const strategy of Object.keys(walks) as DemoStrategy[]) {
      it(`BATON_STRATEGY=${strategy}: cookie transfer, CSRF, implicit refresh, logout`, async () => {
        const h = await startHarness<DemoStrategy>({
          adapter,
          strategy,
          accessTtl: ACCESS_TTL,
          refreshTtl: COOKIE_SESSION_TTL,
          cookies: true,
          ...(IMPLICIT_REFRESH.includes(strategy) ? { implicitRefresh: IMPLICIT_WITHIN } : {}),
        });
        try {
          await cookieWalk(strategy, h, h.demo.url);
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
