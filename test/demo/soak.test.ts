/**
 * Soak: the demo under CPU contention while access tokens and sessions
 * expire, on every adapter. Issue 14 saw an intermittent 500 on a non-admin's
 * `POST /api/admin/disable-user` (expected 403) on a loaded machine once the
 * first tokens had expired; the cause was the verified-token cache's index
 * (an entry indexed twice at growth), which any route verifying a token hit.
 * Bounded by rounds, not by real time: time moves on a manual clock, a second
 * per answered request, so expiry passes many times within the run however
 * loaded the machine is.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { DEMO_ADAPTERS, type DemoAdapter } from '../../demo/app.ts';
import { call, type Harness, startHarness } from './helpers.ts';

/** Rounds per client (login or refresh, admin route, protected route, refresh): four requests each. */
const ROUNDS = Number(process.env.BATON_SOAK_ROUNDS ?? 12);
const CLIENTS = 6;
/**
 * Manual-clock time each answered request moves on: 6 clients x 12 rounds x
 * 4 requests cross about 290 s of token (20 s) and session (45 s) lives,
 * however slowly a loaded machine answers. Real time only bounds the run.
 */
const STEP_MS = 1000;
const REAL_LIMIT_MS = 60_000;
/** The combinations first: Hono on SQLite, Fastify on memory. */
const STORE: Record<DemoAdapter, string> = {
  hono: 'sqlite:./baton.db',
  fastify: 'memory',
  express: 'sqlite:./baton.db',
};

/** A thread spinning for the whole run: the event loop gets half a core, as on a loaded machine. */
function busyThread(): Worker {
  return new Worker('for (;;) {}', { eval: true });
}

interface Tally {
  statuses: Map<string, number>;
  fiveHundreds: string[];
  clock: Harness['clock'];
}

function note(tally: Tally, label: string, status: number, text: string): void {
  tally.clock.set(tally.clock.now() + STEP_MS);
  const key = `${label} ${status}`;
  tally.statuses.set(key, (tally.statuses.get(key) ?? 0) + 1);
  if (status >= 500) tally.fiveHundreds.push(`${key} ${text.slice(0, 200)}`);
}

/** One client: logs in, calls the admin route and a protected route, refreshes, and logs in again once its session is gone. */
async function client(h: Harness, deadline: number, tally: Tally): Promise<void> {
  const base = h.demo.url;
  let tokens: { access: string; refresh: string } | undefined;
  /** Earlier access tokens, presented again later as a client holding a stale one would. */
  const earlier: string[] = [];
  for (let round = 0; round < ROUNDS && Date.now() < deadline; round++) {
    if (tokens === undefined) {
      const reply = await call(base, '/auth/login', { json: { username: 'thedude', password: 'abides' } });
      note(tally, 'login', reply.status, reply.text);
      if (reply.status !== 200) continue;
      tokens = { access: String(reply.json.access_token), refresh: String(reply.json.refresh_token) };
    }
    const disable = await call(base, '/api/admin/disable-user', {
      token: tokens.access,
      json: { username: 'walter' },
    });
    note(tally, 'disable-user', disable.status, disable.text);
    assert.ok(
      disable.status === 403 || disable.status === 401,
      `a non-admin's disable-user: ${disable.status} ${disable.text}`,
    );
    earlier.push(tokens.access);
    if (earlier.length > 20) earlier.shift();
    const presented = earlier[Math.floor(Math.random() * earlier.length)] ?? tokens.access;
    const protectedReply = await call(base, '/api/protected', { token: presented });
    note(tally, 'protected', protectedReply.status, protectedReply.text);
    const refreshed = await call(base, '/auth/refresh', { json: { refresh_token: tokens.refresh } });
    note(tally, 'refresh', refreshed.status, refreshed.text);
    tokens =
      refreshed.status === 200
        ? { access: String(refreshed.json.access_token), refresh: String(refreshed.json.refresh_token) }
        : undefined;
  }
}

for (const adapter of DEMO_ADAPTERS) {
  describe(`soak on ${adapter} (${STORE[adapter]}): CPU contention across access and session expiry`, () => {
    let h: Harness;
    before(async () => {
      // Short lives on the manual clock: access tokens 20 s, sessions 45 s; the cache sweeps every 60 s.
      h = await startHarness({ adapter, store: STORE[adapter], accessTtl: 20, refreshTtl: 45, grace: 1 });
    });
    after(() => h.close());

    it('answers a non-admin 403 (or 401 once expired), never a 5xx, and reports no unexpected error', async () => {
      const busy = busyThread();
      const tally: Tally = { statuses: new Map(), fiveHundreds: [], clock: h.clock };
      try {
        const deadline = Date.now() + REAL_LIMIT_MS;
        await Promise.all(Array.from({ length: CLIENTS }, () => client(h, deadline, tally)));
      } finally {
        await busy.terminate();
      }
      assert.deepEqual(tally.fiveHundreds, [], 'no 5xx');
      assert.deepEqual(h.unexpected, [], 'no unexpected error');
      // The run did what it is for: many tokens, and expiry on the way.
      assert.ok((tally.statuses.get('disable-user 403') ?? 0) >= 10, JSON.stringify([...tally.statuses]));
      assert.ok((tally.statuses.get('protected 401') ?? 0) > 0, JSON.stringify([...tally.statuses]));
      assert.ok((tally.statuses.get('refresh 401') ?? 0) > 0, JSON.stringify([...tally.statuses]));
    });
  });
}
