/**
 * `GET /api/events`: the caller's own security events, from the demo's audit
 * trail (memory by default, the session store's database with BATON_AUDIT=store),
 * alike on every adapter.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ManualClock } from 'baton-auth';
import { DEMO_ADAPTERS } from '../../demo/app.ts';
import { assertError, call, type Harness, login, startHarness } from './helpers.ts';

interface EventsBody {
  events: {
    id: string;
    time: string;
    type: string;
    session_id: string | null;
    current: boolean;
    ip: string | null;
  }[];
}

async function events(h: Harness, token: string): Promise<EventsBody['events']> {
  await h.demo.manager.events.flush(); // the trail writes after the answer
  const reply = await call(h.demo.url, '/api/events', { token });
  assert.equal(reply.status, 200, reply.text);
  return (reply.json as unknown as EventsBody).events;
}

for (const adapter of DEMO_ADAPTERS) {
  describe(`GET /api/events on ${adapter}`, () => {
    it("answers the caller's own events, newest first, and nobody else's", async () => {
      const h = await startHarness({ adapter });
      try {
        assertError(await call(h.demo.url, '/api/events'), 401, 'missing_token');
        const dude = await login(h.demo.url);
        h.clock.advance(1);
        const refreshed = await call(h.demo.url, '/auth/refresh', {
          json: { refresh_token: dude.refresh_token },
        });
        assert.equal(refreshed.status, 200, refreshed.text);
        const next = refreshed.json as { access_token: string; refresh_token: string };
        h.clock.advance(1);
        const walter = await login(h.demo.url, 'walter', 'calmerthanyouare');

        const mine = await events(h, next.access_token);
        assert.deepEqual(
          mine.map((event) => event.type),
          ['refresh', 'login'],
        );
        assert.ok(mine.every((event) => event.session_id === dude.session_id && event.current));
        assert.equal(mine[1]?.time, new Date(h.clock.now() - 2000).toISOString());
        assert.deepEqual(Object.keys(mine[0] ?? {}).sort(), [
          'client_id',
          'current',
          'id',
          'ip',
          'reason',
          'session_id',
          'time',
          'type',
          'user_agent',
        ]);
        const text = JSON.stringify(mine);
        for (const token of [dude.access_token, dude.refresh_token, next.access_token, next.refresh_token]) {
          assert.ok(!text.includes(token), 'no token in the events');
        }
        assert.deepEqual(
          (await events(h, walter.access_token)).map((event) => event.type),
          ['login'],
        );
        // Another session of thedude's sees the history, with the first session no longer current.
        const again = await login(h.demo.url);
        const seen = await events(h, again.access_token);
        assert.deepEqual(
          seen.map((event) => [event.type, event.current]),
          [
            ['login', true],
            ['refresh', false],
            ['login', false],
          ],
        );
      } finally {
        await h.close();
      }
    });
  });
}

describe('BATON_AUDIT=store', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'baton-demo-audit-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it("keeps the events in the session store's database, across restarts", async () => {
    const clock = new ManualClock();
    const options = { dataDir, clock, store: 'sqlite:./baton.db', audit: 'store' };
    const first = await startHarness(options);
    const tokens = await login(first.demo.url);
    await first.demo.manager.events.flush();
    await first.close();
    const second = await startHarness(options);
    try {
      assert.equal(second.demo.audit.kind, 'sqlite');
      assert.deepEqual(
        (await events(second, tokens.access_token)).map((event) => event.type),
        ['login'],
      );
    } finally {
      await second.close();
    }
  });
});
