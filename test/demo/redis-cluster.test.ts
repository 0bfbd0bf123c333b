/**
 * The demo on a Redis Cluster (BATON_STORE=redis-cluster://...) that this test
 * starts itself (test/support/redis-servers.ts: 3 masters on free 127.0.0.1
 * ports, every process stopped by its PID): login, refresh, logout, and the
 * logged-out session refused. Skipped, saying why, without redis-server 7+
 * (a failure under BATON_REQUIRE_SERVICES=1).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { configFromEnv } from '../../demo/config.ts';
import { startCluster, type TestCluster } from '../support/redis-servers.ts';
import { redisServerSkip } from '../support/services.ts';
import { assertError, call, login, startHarness } from './helpers.ts';

const skip = await redisServerSkip();

describe('BATON_STORE=redis-cluster://...', { skip }, () => {
  let cluster: TestCluster;
  before(
    async () => {
      cluster = await startCluster({ masters: 3, replicas: 0 });
    },
    { timeout: 60_000 },
  );
  after(async () => {
    await cluster?.stop();
  });

  it('logs in, refreshes and logs out; the session is then refused', async () => {
    const { store } = configFromEnv({ BATON_STORE: `${cluster.url}?prefix=baton-demo-cluster:` });
    const h = await startHarness({ store });
    try {
      const base = h.demo.url;
      const tokens = await login(base);
      const refreshed = await call(base, '/auth/refresh', { json: { refresh_token: tokens.refresh_token } });
      assert.equal(refreshed.status, 200, refreshed.text);
      const access = refreshed.json.access_token as string;
      const next = refreshed.json.refresh_token as string;
      assert.ok(next && next !== tokens.refresh_token, 'rotated');
      assert.equal((await call(base, '/api/protected', { token: access })).status, 200);

      const logout = await call(base, '/auth/logout', { method: 'POST', token: access });
      assert.equal(logout.status, 204, logout.text);
      assertError(await call(base, '/api/protected', { token: access }), 401, 'token_revoked');
      assertError(await call(base, '/auth/refresh', { json: { refresh_token: next } }), 401, 'token_revoked');
      assert.deepEqual(h.unexpected, []);
    } finally {
      await h.close();
    }
  });
});
