/** Demo server lifecycle: rate limiting, restarts, configuration from the environment. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { configFromEnv, DemoConfigError, parseRefreshKey } from '../../demo/config.ts';
import { type BatonLogger, ManualClock } from '../../src/index.ts';
import { assertError, call, login, startHarness } from './helpers.ts';

describe('rate limiting', () => {
  it('past the limit: 429 with Retry-After, before any password hashing, until failures age out', async () => {
    const h = await startHarness({ rateLimit: { perUsername: 3, perIp: 5, window: '1m' } });
    const attempt = (username: string, password: string) =>
      call(h.demo.url, '/auth/login', { json: { username, password } });
    try {
      const base = h.demo.url;
      for (let i = 0; i < 3; i++) assertError(await attempt('thedude', 'x'), 401, 'invalid_credentials');
      const hashed = h.demo.users.verifications;
      const limited = await attempt('thedude', 'abides');
      assertError(limited, 429, 'too_many_attempts');
      const retryAfter = Number(limited.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      const grant = await call(base, '/auth/token', {
        form: { grant_type: 'password', username: 'thedude', password: 'abides' },
      });
      assert.equal(grant.status, 429);
      assert.ok(grant.headers.get('retry-after'));
      assert.equal(h.demo.users.verifications, hashed, 'no password was hashed while limited');
      // Another user behind the same IP is not locked out by thedude's failures...
      assert.equal((await attempt('walter', 'calmerthanyouare')).status, 200);
      // ...until the IP itself reaches its own (higher) limit, whatever the usernames.
      assertError(await attempt('walter', 'x'), 401, 'invalid_credentials');
      assertError(await attempt('donny', 'x'), 401, 'invalid_credentials');
      assertError(await attempt('walter', 'calmerthanyouare'), 429, 'too_many_attempts');

      h.clock.advance(61);
      assert.equal((await attempt('thedude', 'abides')).status, 200);
    } finally {
      await h.close();
    }
  });
});

describe('restarts', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'baton-restart-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keys are generated once (mode 0600) and reused, so sessions survive a restart', async () => {
    const clock = new ManualClock();
    const first = await startHarness({ dataDir, clock, store: 'sqlite:./baton.db' });
    const tokens = await login(first.demo.url);
    await first.close();
    for (const file of ['signing-key.EdDSA.jwk.json', 'refresh-key']) {
      assert.equal(statSync(join(dataDir, file)).mode & 0o777, 0o600, file);
    }
    const second = await startHarness({ dataDir, clock, store: 'sqlite:./baton.db' });
    try {
      const base = second.demo.url;
      assert.equal((await call(base, '/api/protected', { token: tokens.access_token })).status, 200);
      const refreshed = await call(base, '/auth/refresh', { json: { refresh_token: tokens.refresh_token } });
      assert.equal(refreshed.status, 200, refreshed.text);
    } finally {
      await second.close();
    }
  });

  it('revocations survive a restart', async () => {
    const clock = new ManualClock();
    const first = await startHarness({ dataDir, clock, store: 'sqlite:./baton.db' });
    const tokens = await login(first.demo.url);
    assert.equal(
      (await call(first.demo.url, '/auth/logout', { method: 'POST', token: tokens.access_token })).status,
      204,
    );
    await first.close();
    const second = await startHarness({ dataDir, clock, store: 'sqlite:./baton.db' });
    try {
      assertError(
        await call(second.demo.url, '/api/protected', { token: tokens.access_token }),
        401,
        'token_revoked',
      );
    } finally {
      await second.close();
    }
  });

  it('other algorithms and a key given directly', async () => {
    for (const alg of ['HS256', 'ES256', 'RS256'] as const) {
      const h = await startHarness({ alg });
      try {
        const t = await login(h.demo.url);
        assert.equal((await call(h.demo.url, '/api/protected', { token: t.access_token })).status, 200, alg);
        const jwks = await call(h.demo.url, '/.well-known/jwks.json');
        assert.equal((jwks.json.keys as unknown[]).length, alg === 'HS256' ? 0 : 1, alg);
      } finally {
        await h.close();
      }
    }
    const h = await startHarness({ alg: 'HS256', signingKey: 'a-shared-secret-that-is-long-enough-32b' });
    try {
      assert.equal(
        (
          await call(h.demo.url, '/auth/login', {
            json: { username: 'walter', password: 'calmerthanyouare' },
          })
        ).status,
        200,
      );
    } finally {
      await h.close();
    }
  });
});

describe('processes that share a store (BATON_REFRESH_KEY)', () => {
  const shared = mkdtempSync(join(tmpdir(), 'baton-shared-'));
  after(() => rmSync(shared, { recursive: true, force: true }));
  const signingKey = 'a-shared-secret-that-is-long-enough-32b';
  const store = `sqlite:${join(shared, 'baton.db')}`;

  it('with the same refresh key, either process refreshes the other one’s sessions', async () => {
    const refreshKey = 'ab'.repeat(32);
    const a = await startHarness({ alg: 'HS256', signingKey, refreshKey, store });
    const b = await startHarness({ alg: 'HS256', signingKey, refreshKey, store });
    try {
      const tokens = await login(a.demo.url);
      const refreshed = await call(b.demo.url, '/auth/refresh', {
        json: { refresh_token: tokens.refresh_token },
      });
      assert.equal(refreshed.status, 200, refreshed.text);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('with different refresh keys: 401 invalid_token, and the other process’s log says why it may be', async () => {
    const lines: string[] = [];
    const logger = recordingLogger(lines);
    const a = await startHarness({ alg: 'HS256', signingKey, store });
    const b = await startHarness({ alg: 'HS256', signingKey, store, logger });
    try {
      const tokens = await login(a.demo.url);
      for (let i = 0; i < 2; i++) {
        assertError(
          await call(b.demo.url, '/auth/refresh', { json: { refresh_token: tokens.refresh_token } }),
          401,
          'invalid_token',
        );
      }
      assert.equal(
        lines.filter((line) => line.includes('do all processes share the same refreshKey?')).length,
        1,
      );
    } finally {
      await a.close();
      await b.close();
    }
  });
});

function recordingLogger(lines: string[]): BatonLogger {
  const at = (object: unknown, message?: string) => {
    lines.push(typeof object === 'string' ? object : `${message ?? ''} ${JSON.stringify(object)}`);
  };
  const logger: BatonLogger = { debug: at, info: at, warn: at, error: at, child: () => logger };
  return logger;
}

describe('configuration from the environment', () => {
  it('defaults', () => {
    const config = configFromEnv({});
    assert.equal(config.port, 3000);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.alg, 'EdDSA');
    assert.equal(config.store, 'sqlite:./baton.db');
    assert.equal(config.dataDir, './.baton');
    assert.equal(config.cookies, true);
    assert.equal(config.adapter, 'hono');
    assert.equal(config.implicitRefresh, undefined);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.audit, 'memory');
  });

  it('reads every setting', () => {
    const config = configFromEnv({
      PORT: '8080',
      HOST: '0.0.0.0',
      BATON_ACCESS_TTL: '5m',
      BATON_REFRESH_TTL: '7d',
      BATON_GRACE: '0',
      BATON_ALG: 'ES256',
      BATON_STORE: 'memory',
      BATON_DATA_DIR: '/tmp/x',
      BATON_COOKIES: '0',
      BATON_SIGNING_KEY: 'secret',
      BATON_REFRESH_KEY: 'ab'.repeat(32),
      BATON_ADAPTER: 'Fastify',
      BATON_IMPLICIT_REFRESH: '2m',
      BATON_STRATEGY: 'Single-Token',
      BATON_LOG_LEVEL: 'Debug',
      BATON_AUDIT: 'store',
      BATON_DPOP: 'Allowed',
      BATON_PUBLIC_URL: 'https://demo.example.com',
    });
    assert.deepEqual(
      { ...config },
      {
        port: 8080,
        host: '0.0.0.0',
        accessTtl: 300,
        refreshTtl: 604800,
        grace: 0,
        alg: 'ES256',
        store: 'memory',
        dataDir: '/tmp/x',
        cookies: false,
        signingKey: 'secret',
        refreshKey: 'ab'.repeat(32),
        adapter: 'fastify',
        strategy: 'single-token',
        logLevel: 'debug',
        audit: 'store',
        implicitRefresh: 120,
        dpop: 'allowed',
        publicUrl: 'https://demo.example.com',
      },
    );
    assert.equal(configFromEnv({ BATON_REFRESH_TTL: 'never' }).refreshTtl, null);
    assert.equal(configFromEnv({}).strategy, 'rotating');
    for (const strategy of ['rotating', 'jwt', 'single-token', 'per-client', 'callbacks']) {
      assert.equal(configFromEnv({ BATON_STRATEGY: strategy }).strategy, strategy);
    }
  });

  it('refuses bad values with a message naming the variable', () => {
    for (const [name, value] of [
      ['PORT', 'eighty'],
      ['PORT', '70000'],
      ['BATON_ACCESS_TTL', '15 minutes'],
      ['BATON_ACCESS_TTL', '0'],
      ['BATON_GRACE', '-1'],
      ['BATON_ALG', 'none'],
      ['BATON_STORE', 'mongodb://x'],
      ['BATON_STORE', 'redis://'],
      ['BATON_STORE', 'postgres://[bad'],
      ['BATON_STORE', 'sqlite:'],
      ['BATON_COOKIES', 'maybe'],
      ['BATON_ADAPTER', 'koa'],
      ['BATON_STRATEGY', 'stateless'],
      ['BATON_STRATEGY', 'per_client'],
      ['BATON_IMPLICIT_REFRESH', 'soon'],
      ['BATON_LOG_LEVEL', 'verbose'],
      ['BATON_AUDIT', 'mongodb://x'],
      ['BATON_REFRESH_KEY', 'ab'.repeat(31)],
      ['BATON_REFRESH_KEY', 'too short'],
      ['BATON_REFRESH_KEY', 'c2hvcnQ'],
    ] as const) {
      assert.throws(
        () => configFromEnv({ [name]: value }),
        (error: unknown) => error instanceof DemoConfigError && error.message.includes(name),
        `${name}=${value}`,
      );
    }
  });

  it('npm start with a bad value: one line on stderr, exit code 2', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'demo/server.ts'], {
      env: { ...process.env, BATON_ALG: 'none', PORT: '0' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(result.status, 2, result.stderr);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /BATON_ALG/);
    assert.equal(result.stdout, '');
  });

  it('an unusable data dir: exit code 2', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'demo/server.ts'], {
      env: { ...process.env, BATON_DATA_DIR: '/etc/passwd/not-a-dir', PORT: '0' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /BATON_DATA_DIR/);
  });

  it('a data dir under /proc: one line and exit code 2 at once, no hang', async () => {
    const child = spawn(
      process.execPath,
      ['--conditions=baton-source', '--import', 'tsx', 'demo/server.ts'],
      {
        env: { ...process.env, BATON_DATA_DIR: '/proc/baton-test/x', PORT: '0', BATON_STORE: 'memory' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.stdout.resume();
    const killer = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    }, 20_000);
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    clearTimeout(killer);
    assert.equal(signal, null, `the demo hung and was killed: ${stderr}`);
    assert.equal(code, 2, stderr);
    assert.match(stderr, /^baton demo: BATON_DATA_DIR \/proc\/baton-test\/x cannot be created: [^\n]+\n$/);
  });

  it('refresh keys in hex and base64url; a bad one: one line without the value, exit code 2', () => {
    const bytes = Buffer.alloc(32, 7);
    for (const text of [bytes.toString('hex'), bytes.toString('base64url'), bytes.toString('base64')]) {
      assert.deepEqual(Buffer.from(parseRefreshKey(text)), bytes, text);
    }
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'demo/server.ts'], {
      env: { ...process.env, BATON_REFRESH_KEY: 'not-long-enough', PORT: '0' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(result.status, 2, result.stderr);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /BATON_REFRESH_KEY must be at least 32 random bytes/);
    assert.ok(!result.stderr.includes('not-long-enough'), result.stderr);
    assert.equal(result.stdout, '');
  });

  it('a signing key that does not fit the algorithm: exit code 2', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'baton-badkey-'));
    try {
      const result = spawnSync(process.execPath, ['--import', 'tsx', 'demo/server.ts'], {
        env: {
          ...process.env,
          BATON_ALG: 'EdDSA',
          BATON_SIGNING_KEY: 'short',
          BATON_DATA_DIR: dataDir,
          PORT: '0',
        },
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, /BATON_SIGNING_KEY/);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('BATON_ADAPTER', () => {
  /** Starts `npm start`'s script on a free port and waits for its banner. */
  async function startProcess(env: Record<string, string>) {
    const dataDir = mkdtempSync(join(tmpdir(), 'baton-adapter-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'demo/server.ts'], {
      env: { ...process.env, PORT: '0', BATON_STORE: 'memory', BATON_DATA_DIR: dataDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /listening on (http:\/\/\S+)[\s\S]*Running on (\w+)/.exec(out);
        if (match?.[1]) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      setTimeout(() => reject(new Error(`no banner within 45 s: ${out}`)), 45_000).unref();
    }).catch((error: unknown) => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid, 'SIGKILL');
      }
      rmSync(dataDir, { recursive: true, force: true });
      throw error;
    });
    return {
      url,
      out: () => out,
      async stop() {
        if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          process.kill(child.pid, 'SIGTERM');
          await exited;
        }
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }

  it('BATON_ADAPTER=express and =fastify: the demo runs on that framework', async () => {
    const started = await Promise.allSettled(
      (['express', 'fastify'] as const).map(async (adapter) => ({
        adapter,
        demo: await startProcess({ BATON_ADAPTER: adapter }),
      })),
    );
    const demos = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    try {
      for (const result of started) if (result.status === 'rejected') throw result.reason;
      for (const { adapter, demo } of demos) {
        assert.match(demo.out(), new RegExp(`Running on ${adapter}`));
        const t = await call(demo.url, '/auth/login', {
          json: { username: 'walter', password: 'calmerthanyouare' },
        });
        assert.equal(t.status, 200, t.text);
        assert.deepEqual(t.headers.getSetCookie(), [], 'without Baton-Transfer: the body only');
        const browser = await call(demo.url, '/auth/login', {
          json: { username: 'walter', password: 'calmerthanyouare' },
          headers: { 'baton-transfer': 'cookie' },
        });
        assert.equal(browser.headers.getSetCookie().length, 3, 'cookie transfer offered by default');
        assert.equal(browser.json.refresh_token, undefined, 'and then no token in the body');
        const token = String(t.json.access_token);
        assert.equal((await call(demo.url, '/api/protected', { token })).status, 200);
      }
    } finally {
      await Promise.all(demos.map(({ demo }) => demo.stop()));
    }
  });
});

describe('BATON_COOKIES', () => {
  it('0: tokens in the body only; a login asking for cookie transfer is refused', async () => {
    const h = await startHarness({ cookies: false });
    try {
      const body = await call(h.demo.url, '/auth/login', {
        json: { username: 'thedude', password: 'abides' },
      });
      assert.equal(body.status, 200, body.text);
      assert.deepEqual(body.headers.getSetCookie(), []);
      const asked = await call(h.demo.url, '/auth/login', {
        json: { username: 'thedude', password: 'abides' },
        headers: { 'baton-transfer': 'cookie' },
      });
      assertError(asked, 400, 'invalid_request');
      assert.deepEqual(asked.headers.getSetCookie(), []);
    } finally {
      await h.close();
    }
  });
});
