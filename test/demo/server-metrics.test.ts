// BATON_METRICS=1: the demo serves GET /metrics in Prometheus' text format
// (baton-auth/otel through the Prometheus exporter's serializer), on every
// adapter; without it there is no such route; and without the OpenTelemetry
// packages it does not start, saying what to install.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEMO_ADAPTERS } from '../../demo/app.ts';
import { configFromEnv, DemoConfigError } from '../../demo/config.ts';
import { runWithout } from '../support/hidden-packages.ts';
import { assertError, call, login, startHarness } from './helpers.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus' text format: one sample per line that is not a comment. */
function parse(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      assert.ok(match, `a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
        labels[key!] = value!;
      }
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

/** The sum of the samples of `name` whose labels include `match`. */
function total(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([key, value]) => s.labels[key] === value))
    .reduce((sum, s) => sum + s.value, 0);
}

describe('the demo’s GET /metrics (BATON_METRICS=1)', () => {
  for (const adapter of DEMO_ADAPTERS) {
    it(`${adapter}: login, refresh, a replayed refresh token: the counts, latencies and the revoked set in Prometheus' format`, async () => {
      const h = await startHarness({ adapter, metrics: true });
      try {
        const tokens = await login(h.demo.url);
        const refreshed = await call(h.demo.url, '/auth/refresh', {
          json: { refresh_token: tokens.refresh_token },
        });
        assert.equal(refreshed.status, 200);
        h.clock.advance(11); // past the grace window
        const replayed = await call(h.demo.url, '/auth/refresh', {
          json: { refresh_token: tokens.refresh_token },
        });
        assertError(replayed, 401, 'refresh_token_reused');
        await h.demo.manager.events.flush();

        const response = await fetch(`${h.demo.url}/metrics`);
        assert.equal(response.status, 200);
        assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
        const text = await response.text();
        assert.match(text, /^# TYPE baton_events_total counter$/m);
        const samples = parse(text);
        const events = (type: string) => total(samples, 'baton_events_total', { type });
        assert.equal(events('login'), 1);
        assert.equal(events('refresh'), 1);
        assert.equal(events('refresh_token_reused'), 1);
        assert.equal(events('logout'), 0);
        assert.equal(
          total(samples, 'baton_events_total', { type: 'login', reason: 'password', strategy: 'rotating' }),
          1,
        );
        const refreshes = (outcome: string) => total(samples, 'baton_refresh_duration_count', { outcome });
        assert.equal(refreshes('success'), 1);
        assert.equal(refreshes('refresh_token_reused'), 1);
        assert.equal(total(samples, 'baton_login_duration_count', { outcome: 'success' }), 1);
        assert.equal(total(samples, 'baton_revoked_set_size', { kind: 'session' }), 1);
        assert.ok(total(samples, 'baton_store_duration_count', { operation: 'rotateSession' }) >= 1);
        const tokenParts = [tokens.access_token, tokens.refresh_token].map(String);
        for (const secret of [...tokenParts, tokenParts[0]!.split('.')[2]!, 'abides']) {
          assert.ok(!text.includes(secret), 'a token or password in /metrics');
        }
      } finally {
        await h.close();
      }
    });
  }

  it('without BATON_METRICS there is no /metrics', async () => {
    const h = await startHarness();
    try {
      assertError(await call(h.demo.url, '/metrics'), 404, 'not_found');
    } finally {
      await h.close();
    }
  });

  it('BATON_METRICS is a flag', () => {
    assert.equal(configFromEnv({ BATON_METRICS: '1' }).metrics, true);
    assert.equal(configFromEnv({ BATON_METRICS: '0' }).metrics, undefined);
    assert.equal(configFromEnv({}).metrics, undefined);
    assert.throws(() => configFromEnv({ BATON_METRICS: 'maybe' }), DemoConfigError);
  });

  for (const missing of ['@opentelemetry/exporter-prometheus', '@opentelemetry/api']) {
    it(`without ${missing}: the demo does not start, and says what to install`, () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'baton-demo-metrics-'));
      const server = new URL('../../demo/server.ts', import.meta.url).href;
      const source = `
        const { startDemo } = await import(${JSON.stringify(server)});
        try {
          const demo = await startDemo({ port: 0, store: 'memory', dataDir: ${JSON.stringify(dataDir)}, metrics: true });
          await demo.close();
          console.log('started');
        } catch (error) {
          console.log(error.name, error.message);
        }
      `;
      try {
        const result = runWithout([missing], source);
        assert.equal(result.status, 0, result.stderr);
        assert.equal(
          result.stdout.trim(),
          `DemoConfigError BATON_METRICS=1 needs ${missing}, which baton-auth does not install: npm install @opentelemetry/api@1.9 @opentelemetry/sdk-metrics@2.12.0 @opentelemetry/exporter-prometheus@0.223.0`,
        );
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }
});
