/**
 * baton/client in Node, bearer mode, against the real demo server (in
 * process, memory store, manual server clock). Refresh requests are counted
 * at the server, by wrapping the SessionManager the routes call.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  type AuthClientOptions,
  type BatonClaims,
  createAuthClient,
  type SessionEndReason,
  type TokenResponse,
  webStorage,
} from '../../src/client/index.ts';
import { call, type Harness, startHarness } from '../demo/helpers.ts';

interface DemoClaims extends BatonClaims {
  roles: string[];
}

let h: Harness;
let refreshes = 0;
/** Every request the clients sent, as `METHOD path`. */
let sent: string[] = [];

const ACCESS_TTL = 60;
const GRACE = 10;

before(async () => {
  h = await startHarness({ accessTtl: ACCESS_TTL, refreshTtl: 3600, grace: GRACE });
  const manager = h.demo.manager;
  const original = manager.refresh.bind(manager);
  manager.refresh = (...args: Parameters<typeof original>) => {
    refreshes++;
    return original(...args);
  };
});
after(() => h.close());
beforeEach(() => {
  refreshes = 0;
  sent = [];
});

/** A fetch that records requests; `/api/app-401` answers as an app's own 401 would. */
const recordingFetch: AuthClientOptions['fetch'] = async (input, init) => {
  const request = new Request(input, init);
  const path = new URL(request.url).pathname;
  sent.push(`${request.method} ${path}`);
  if (path === '/api/app-401') {
    return new Response(JSON.stringify({ error: 'wrong_pin', message: 'The PIN is wrong' }), {
      status: 401,
      headers: { 'content-type': 'application/json' },
    });
  }
  if (!request.url.startsWith(h.demo.url)) {
    return new Response('{}', {
      headers: { 'x-saw-authorization': request.headers.has('authorization') ? 'yes' : 'no' },
    });
  }
  return fetch(request);
};

/** A client whose local clock is the server's plus `offsetMs` (and moves only when the test says). */
function client(offsetMs = 0, extra: Partial<AuthClientOptions> = {}) {
  const ends: SessionEndReason[] = [];
  const tokens: TokenResponse[] = [];
  const local = { offset: offsetMs };
  const c = createAuthClient<DemoClaims>({
    baseUrl: h.demo.url,
    mode: 'bearer',
    fetch: recordingFetch,
    now: () => h.clock.now() + local.offset,
    onSessionEnd: (reason) => ends.push(reason),
    onTokens: (body) => tokens.push(body),
    ...extra,
  });
  return { c, ends, local, tokens };
}

describe('baton-auth/client (bearer, Node)', () => {
  it('logs in, exposes typed claims, and authFetch sends the access token', async () => {
    const { c } = client();
    const state = await c.login('thedude', 'abides');
    assert.equal(state.claims.sub, '1');
    assert.deepEqual(c.claims()?.roles, ['user']);
    assert.equal(state.accessExpiresAt - h.clock.now() <= ACCESS_TTL * 1000 + 1000, true);
    const res = await c.authFetch('/api/protected');
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { sub: string }).sub, '1');
    const sessions = await c.sessions();
    assert.equal(sessions.filter((s) => s.current).length, 1);
    assert.equal(refreshes, 0);
  });

  it('on 401 token_expired refreshes once and retries once', async () => {
    const { c, ends, local } = client();
    await c.login('thedude', 'abides');
    const before = c.state()!;
    // The server's clock moves on; the client's does not, so it only learns of expiry from the 401.
    h.clock.advance(ACCESS_TTL + 1);
    local.offset -= (ACCESS_TTL + 1) * 1000;
    sent = [];
    const res = await c.authFetch('/api/protected');
    assert.equal(res.status, 200);
    assert.deepEqual(sent, ['GET /api/protected', 'POST /auth/refresh', 'GET /api/protected']);
    assert.equal(refreshes, 1);
    assert.notEqual(c.state()!.claims.jti, before.claims.jti);
    assert.deepEqual(ends, []);
  });

  it('10 concurrent authFetch calls needing a refresh cause exactly one refresh request', async () => {
    const { c, local } = client();
    await c.login('thedude', 'abides');
    // Only the server's clock moves: all ten get 401 token_expired and wait for one refresh.
    h.clock.advance(ACCESS_TTL + 1);
    local.offset -= (ACCESS_TTL + 1) * 1000;
    sent = [];
    const responses = await Promise.all(Array.from({ length: 10 }, () => c.authFetch('/api/protected')));
    assert.deepEqual(
      responses.map((r) => r.status),
      Array(10).fill(200),
    );
    assert.equal(refreshes, 1);
    assert.equal(sent.filter((s) => s === 'POST /auth/refresh').length, 1);
    assert.equal(sent.filter((s) => s === 'GET /api/protected').length, 20, '10 tries, 10 retries');
  });

  it("returns an app's own 401 to the caller without refreshing or retrying", async () => {
    const { c, ends } = client();
    await c.login('thedude', 'abides');
    sent = [];
    const res = await c.authFetch('/api/app-401', { method: 'POST', body: '{}' });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: string }).error, 'wrong_pin');
    assert.deepEqual(sent, ['POST /api/app-401']);
    assert.equal(refreshes, 0);
    assert.deepEqual(ends, []);
  });

  it('refresh token reuse ends the session once (reused), with no refresh loop', async () => {
    const { c, ends, tokens } = client();
    await c.login('thedude', 'abides');
    const stolen = tokens.at(-1)?.refresh_token;
    // The thief rotates first; the client's token is now an earlier generation.
    const thief = await call(h.demo.url, '/auth/refresh', { json: { refresh_token: stolen } });
    assert.equal(thief.status, 200, thief.text);
    h.clock.advance(Math.max(ACCESS_TTL, GRACE) + 1);
    refreshes = 0;
    const first = await c.authFetch('/api/protected');
    assert.equal(first.status, 401);
    assert.deepEqual(ends, ['reused']);
    assert.equal(refreshes, 1);
    for (let i = 0; i < 3; i++) assert.equal((await c.authFetch('/api/protected')).status, 401);
    assert.equal(refreshes, 1, 'no further refresh attempts');
    assert.deepEqual(ends, ['reused']);
    assert.equal(c.state(), null);
  });

  it('a revoked session ends once (revoked), with no refresh loop', async () => {
    const { c, ends } = client();
    await c.login('thedude', 'abides');
    const other = client();
    await other.c.login('thedude', 'abides');
    assert.ok((await other.c.logoutAll()) >= 2);
    assert.deepEqual(other.ends, ['logged_out']);
    refreshes = 0;
    for (let i = 0; i < 3; i++) assert.equal((await c.authFetch('/api/protected')).status, 401);
    assert.deepEqual(ends, ['revoked']);
    assert.equal(refreshes, 1);
  });

  it('a disabled user ends the session once (disabled)', async () => {
    // A fresh harness: disabling a demo user is permanent.
    const own = await startHarness({ accessTtl: ACCESS_TTL });
    try {
      const ends: SessionEndReason[] = [];
      const c = createAuthClient({
        baseUrl: own.demo.url,
        mode: 'bearer',
        onSessionEnd: (r) => ends.push(r),
      });
      await c.login('thedude', 'abides');
      own.demo.users.disable('thedude');
      own.clock.advance(ACCESS_TTL + 1);
      assert.equal((await c.authFetch('/api/protected')).status, 401);
      assert.equal((await c.authFetch('/api/protected')).status, 401);
      assert.deepEqual(ends, ['disabled']);
    } finally {
      await own.close();
    }
  });

  it('refreshes proactively before expiry on the server clock, with the client clock an hour ahead', async () => {
    const { c } = client(3600_000);
    const state = await c.login('thedude', 'abides');
    assert.ok(Math.abs(state.skewMs + 3600_000) < 1500, `skew ${state.skewMs}`);
    // Uncorrected, the token would look long expired and every call would refresh first.
    sent = [];
    assert.equal((await c.authFetch('/api/protected')).status, 200);
    assert.deepEqual(sent, ['GET /api/protected']);
    // 50 s later (both clocks), 10 s are left: inside the margin (min(30, 60/5) = 12 s).
    h.clock.advance(50);
    sent = [];
    assert.equal((await c.authFetch('/api/protected')).status, 200);
    assert.deepEqual(sent, ['POST /auth/refresh', 'GET /api/protected'], 'refresh first, no 401');
    assert.equal(refreshes, 1);
  });

  it('refreshes proactively with the client clock days behind', async () => {
    const { c } = client(-3 * 86400_000);
    await c.login('thedude', 'abides');
    h.clock.advance(50);
    sent = [];
    assert.equal((await c.authFetch('/api/protected')).status, 200);
    assert.deepEqual(sent, ['POST /auth/refresh', 'GET /api/protected']);
  });

  it('logout revokes the session and emits logged_out; later calls carry no token', async () => {
    const { c, ends } = client();
    await c.login('walter', 'calmerthanyouare');
    assert.deepEqual(c.claims()?.roles, ['user', 'admin']);
    await c.logout();
    assert.deepEqual(ends, ['logged_out']);
    assert.equal(c.claims(), null);
    const res = await c.authFetch('/api/protected');
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: string }).error, 'missing_token');
    assert.equal(refreshes, 0);
  });

  it('reauth gives a fresh token for /api/sensitive; refresh() rotates on demand', async () => {
    const { c } = client();
    await c.login('thedude', 'abides');
    await c.refresh();
    const stale = await c.authFetch('/api/sensitive', { method: 'POST', body: '{}' });
    assert.equal(stale.status, 401);
    assert.equal(((await stale.json()) as { error: string }).error, 'fresh_token_required');
    assert.equal(refreshes, 1, 'fresh_token_required is not a refresh reason');
    await c.reauth('abides');
    const fresh = await c.authFetch('/api/sensitive', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(fresh.status, 200);
  });

  it('shares tokens through a shared storage (two clients, one store)', async () => {
    const map = new Map<string, string>();
    const fake = {
      getItem: (k: string) => map.get(k) ?? null,
      setItem: (k: string, v: string) => void map.set(k, v),
      removeItem: (k: string) => void map.delete(k),
    } as unknown as Storage;
    const a = client(0, { storage: webStorage(fake) });
    await a.c.login('thedude', 'abides');
    const b = client(0, { storage: webStorage(fake) });
    assert.equal(b.c.claims()?.sub, '1');
    h.clock.advance(ACCESS_TTL + 1);
    await a.c.refresh();
    // B sees A's rotation in the storage instead of refreshing with a rotated token.
    assert.equal((await b.c.authFetch('/api/protected')).status, 200);
    assert.equal(refreshes, 1);
  });

  it('does not send tokens to other origins', async () => {
    const { c } = client();
    await c.login('thedude', 'abides');
    const res = await c.authFetch('https://elsewhere.example/api');
    assert.equal(res.headers.get('x-saw-authorization'), 'no');
  });
});
