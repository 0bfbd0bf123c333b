// The benchmark as a CI smoke test: every benchmark must still run and write
// every section. It never fails on speed (the figures of a smoke run, a few
// milliseconds per case, mean nothing), only when a benchmark breaks.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { BenchResult } from '../bench/lib/result.ts';

const REQUIRE_SERVICES = process.env.BATON_REQUIRE_SERVICES === '1';

function finitePositive(value: number, what: string): void {
  assert.ok(Number.isFinite(value) && value > 0, `${what}: ${value}`);
}

describe('npm run bench (smoke mode)', () => {
  it('runs every benchmark and writes latest.json, latest.md and latest.svg with every section', {
    timeout: 180_000,
  }, () => {
    const out = mkdtempSync(join(tmpdir(), 'baton-bench-smoke-'));
    try {
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out], {
        env: { ...process.env, BATON_BENCH_SMOKE: '1' },
        encoding: 'utf8',
        timeout: 170_000,
      });
      assert.equal(
        run.status,
        0,
        `bench failed (status ${run.status}, signal ${run.signal}):\n${run.stderr}`,
      );

      const result = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchResult;
      assert.equal(result.mode, 'smoke');
      assert.ok(result.machine.cpuModel && result.machine.cores > 0 && result.machine.node.startsWith('v'));
      for (const name of ['jose', 'fast-jwt', 'jsonwebtoken', 'fastify', 'hono', 'express', 'better-auth']) {
        assert.ok(result.machine.packages[name], `package version of ${name}`);
      }

      const tokens = result.tokens;
      assert.ok(tokens, 'tokens section');
      assert.deepEqual(
        tokens.algs.map((a) => a.alg),
        ['HS256', 'ES256', 'EdDSA', 'RS256'],
      );
      for (const alg of tokens.algs) {
        const verify = alg.verify.map((c) => c.name);
        for (const name of [
          'floor',
          'baton verifyAccessToken (cache off)',
          'baton AccessTokenCodec.verify',
          'baton verifyAccessToken (cache miss)',
          'baton verifyAccessToken (cache hit)',
          'jose jwtVerify',
          'fast-jwt (cache off)',
          'fast-jwt (cache hit)',
        ]) {
          assert.ok(verify.includes(name), `${alg.alg} verify case ${name}`);
        }
        assert.ok(alg.sign.some((c) => c.name === 'baton AccessTokenCodec.sign'));
        for (const c of [...alg.verify, ...alg.sign]) {
          finitePositive(c.opsPerSec.median, `${alg.alg} ${c.name}`);
          finitePositive(c.vsFloor.median, `${alg.alg} ${c.name} vs floor`);
        }
      }

      const http = result.http;
      assert.ok(http, 'http section');
      assert.deepEqual(
        http.frameworks.map((f) => f.framework),
        ['hono', 'fastify', 'express'],
      );
      for (const fw of http.frameworks) {
        const routes = fw.cases.map((c) => c.route);
        for (const route of [
          '/noauth',
          '/noop',
          '/header',
          '/floor',
          '/baton',
          '/baton-nocache',
          '/adapter',
          '/nocache/adapter',
          '/lib',
        ]) {
          assert.ok(routes.includes(route), `${fw.framework} ${route}`);
        }
        for (const c of fw.cases) finitePositive(c.reqPerSec.median, `${fw.framework} ${c.route}`);
      }

      const refresh = result.refresh;
      assert.ok(refresh, 'refresh section');
      const stores = refresh.stores.map((s) => s.store);
      for (const store of REQUIRE_SERVICES
        ? ['memory', 'sqlite', 'redis', 'postgres']
        : ['memory', 'sqlite']) {
        assert.ok(stores.includes(store as (typeof stores)[number]), `refresh on ${store}`);
      }
      for (const store of refresh.stores) {
        assert.deepEqual(
          store.figures.map((f) => f.concurrency),
          [1, 8, 64],
        );
        for (const f of store.figures) {
          finitePositive(f.baton.perSec.median, `${store.store} ${f.concurrency} clients`);
          finitePositive(f.floor.perSec.median, `${store.store} floor ${f.concurrency} clients`);
        }
      }

      const scaling = result.scaling;
      assert.ok(scaling, 'scaling section');
      assert.ok(scaling.verify.length >= 2 && scaling.verify[0]!.revoked === 0);
      for (const v of scaling.verify) finitePositive(v.cold.median, `verify with ${v.revoked} revoked`);
      assert.ok(
        scaling.refresh.some((r) => r.store === 'memory') &&
          scaling.refresh.some((r) => r.store === 'sqlite'),
      );
      assert.deepEqual(scaling.heap.map((h) => h.kind).sort(), ['revoked', 'sessions']);
      for (const h of scaling.heap) finitePositive(h.bytesPerEntry, `heap per ${h.kind} entry`);

      const processes = result.processes;
      assert.ok(processes, 'processes section');
      assert.ok(
        processes.figures.some((f) => f.store === 'sqlite'),
        'sqlite over 1 and 2 worker processes',
      );
      for (const f of processes.figures) {
        for (const kind of ['refresh', 'protected'] as const) {
          finitePositive(f[kind].n1.median, `${f.store} ${kind} N=1`);
          finitePositive(f[kind].n2.median, `${f.store} ${kind} N=2`);
          finitePositive(f[kind].ratio.median, `${f.store} ${kind} N=2 / N=1`);
        }
        assert.ok(f.revocation, `${f.store} revocation delay`);
        finitePositive(f.revocation.p50Ms, `${f.store} revocation delay`);
        assert.ok(f.limit.length > 0);
      }

      const revocation = result.revocation;
      assert.ok(revocation, 'revocation section');
      assert.equal(
        revocation.figures.length + revocation.skipped.length,
        3,
        'sqlite, redis and postgres measured or skipped',
      );
      assert.ok(
        revocation.figures.some((f) => f.store === 'sqlite'),
        'sqlite (a file: never skipped)',
      );
      if (REQUIRE_SERVICES) assert.equal(revocation.figures.length, 3);
      for (const f of revocation.figures) finitePositive(f.p50Ms, `${f.store} revocation delay`);

      const betterAuth = result.betterAuth;
      assert.ok(betterAuth, 'better-auth section');
      assert.deepEqual(
        betterAuth.frameworks.map((f) => f.framework),
        ['hono', 'fastify'],
      );
      for (const fw of betterAuth.frameworks) {
        assert.deepEqual(
          fw.cases.map((c) => c.id),
          [
            'noauth',
            'baton',
            'baton-cold',
            'ba',
            'ba-cache',
            'baton-login',
            'ba-login',
            'baton-refresh',
            'ba-renew',
          ],
        );
        for (const c of fw.cases) finitePositive(c.reqPerSec.median, `${fw.framework} ${c.id}`);
        assert.equal(fw.ratios.length, 6);
        for (const r of fw.ratios) finitePositive(r.value.median, `${fw.framework} ${r.id} ratio`);
      }
      const afterLogout = betterAuth.revocation;
      assert.ok(afterLogout, 'logout-then-request figures');
      assert.deepEqual(
        afterLogout.figures.map((f) => f.system),
        ['baton', 'better-auth', 'better-auth-cookie-cache'],
      );
      // Not a speed figure: Baton refuses a logged-out session's token on the next request.
      const baton = afterLogout.figures.find((f) => f.system === 'baton')!;
      assert.equal(baton.acceptedRequests.max, 0, 'Baton accepted a token after logout');
      assert.equal(baton.neverRejected, 0);
      assert.deepEqual(
        betterAuth.footprint.map((f) => f.system),
        ['baton', 'better-auth'],
      );
      for (const f of betterAuth.footprint)
        finitePositive(f.bytesPer100k, `${f.system} bytes per 100k sessions`);
      for (const id of [
        'better-auth-auth-vs-nocache-hono',
        'better-auth-auth-vs-cookiecache-fastify',
        'better-auth-refresh-hono',
        'better-auth-baton-revocation-immediate',
      ]) {
        assert.ok(
          result.targets.some((t) => t.id === id && t.value !== null),
          `target ${id}`,
        );
      }

      const observability = result.observability;
      assert.ok(observability, 'observability section');
      assert.deepEqual(
        observability.groups.map((g) => g.group),
        ['HS256', 'ES256', 'EdDSA', 'RS256', 'refresh'],
      );
      for (const g of observability.groups) {
        assert.ok(g.cases.length > 0, `${g.group} cases`);
        for (const c of g.cases) finitePositive(c.vsBaseline.median, `${g.group} ${c.name}`);
      }
      assert.ok(result.targets.some((t) => t.id === 'verify-observability-idle-HS256'));
      assert.ok(result.targets.some((t) => t.id === 'revocation-p99-sqlite' && t.value !== null));

      const dpop = result.dpop;
      assert.ok(dpop, 'dpop section');
      const dpopStores = REQUIRE_SERVICES ? ['memory', 'sqlite', 'redis', 'postgres'] : ['memory', 'sqlite'];
      for (const store of dpopStores) {
        for (const alg of ['ES256', 'EdDSA']) {
          const group = dpop.groups.find((g) => g.store === store && g.alg === alg);
          assert.ok(group, `dpop ${store} ${alg}`);
          finitePositive(group.dpop.median, `dpop ${store} ${alg} req/s`);
          finitePositive(group.signatureUs, `dpop ${store} ${alg} signature`);
        }
      }

      assert.ok(result.targets.length > 10, 'targets were evaluated');
      assert.ok(statSync(join(out, 'latest.md')).size > 1000, 'latest.md');
      const svg = readFileSync(join(out, 'latest.svg'), 'utf8');
      assert.match(svg, /^<svg[\s\S]*<\/svg>\s*$/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
