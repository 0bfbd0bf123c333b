import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { withoutPackages } from '../support/hidden-packages.ts';
import { deleteRedisKeys, REDIS_URL, redisSkip } from '../support/services.ts';
import {
  assertOk,
  assertOneErrorLine,
  BIN,
  baton,
  childEnv,
  parseJson,
  type TempDir,
  tempDir,
} from './support.ts';

let dir: TempDir;
let child: ChildProcess | undefined;
let stderr = '';

before(() => {
  dir = tempDir('baton-cli-serve-');
});

after(() => {
  // Only if a test failed before stopping it: ours, by PID.
  if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    process.kill(child.pid, 'SIGKILL');
  }
  dir.remove();
});

/** Starts `baton serve` and resolves with its URL once it prints its "listening" line. */
function startServe(args: string[], env: Record<string, string>): Promise<string> {
  const started = spawn(process.execPath, [BIN, 'serve', ...args], {
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = started;
  started.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(
      () => reject(new Error(`no "listening" line within 30s\n${stdout}\n${stderr}`)),
      30000,
    );
    started.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    started.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`baton serve exited with ${code}\n${stdout}\n${stderr}`));
    });
  });
}

test('baton serve runs the demo; the JWKS it publishes verifies its tokens; it stops on SIGTERM', {
  timeout: 90000,
}, async () => {
  const url = await startServe(['--port', '0'], { BATON_DATA_DIR: dir.path });

  const jwksResponse = await fetch(`${url}/.well-known/jwks.json`);
  assert.equal(jwksResponse.status, 200);
  const jwks = (await jwksResponse.json()) as { keys: { alg: string; d?: string }[] };
  assert.equal(jwks.keys.length, 1);
  assert.equal(jwks.keys[0]?.alg, 'EdDSA');
  assert.equal(jwks.keys[0]?.d, undefined);

  const login = await fetch(`${url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'thedude', password: 'abides' }),
  });
  assert.equal(login.status, 200);
  const { access_token: accessToken, session_id: sessionId } = (await login.json()) as {
    access_token: string;
    session_id: string;
  };

  // The other commands against the running demo: its JWKS URL and its SQLite file.
  const [verified, decoded, listed] = await Promise.all([
    baton([
      'verify',
      accessToken,
      '--jwks',
      `${url}/.well-known/jwks.json`,
      '--iss',
      'baton-demo',
      '--aud',
      'baton-demo-api',
    ]),
    baton(['decode', accessToken, '--json']),
    baton(['sessions', 'list', '--user', '1', '--store', `sqlite:${dir.file('baton.db')}`, '--json']),
  ]);
  assertOk(verified);
  assert.match(verified.stdout, /^valid access token/);
  assertOk(decoded);
  assert.equal((parseJson(decoded.stdout).claims as Record<string, unknown>).sid, sessionId);
  assertOk(listed);
  assert.deepEqual(
    (parseJson(listed.stdout).sessions as { id: string }[]).map((session) => session.id),
    [sessionId],
  );

  const running = child;
  assert.ok(running?.pid !== undefined);
  const exited = new Promise<number | null>((resolve) => running.once('exit', (code) => resolve(code)));
  process.kill(running.pid, 'SIGTERM');
  assert.equal(await exited, 0);
  assert.match(stderr, /SIGTERM: demo server stopped/);
});

test('serve: a taken port is exit 1, a bad environment variable exit 2', { timeout: 60000 }, async () => {
  const [badEnv, badAlg] = await Promise.all([
    baton(['serve'], { env: { BATON_DATA_DIR: dir.path, BATON_ACCESS_TTL: 'soon' } }),
    baton(['serve', '--alg', 'PS512'], { env: { BATON_DATA_DIR: dir.path } }),
  ]);
  assertOneErrorLine(badEnv, 2, /BATON_ACCESS_TTL/);
  assertOneErrorLine(badAlg, 2, /--alg must be one of/);

  const url = await startServe(['--port', '0', '--store', 'memory'], { BATON_DATA_DIR: dir.path });
  const port = new URL(url).port;
  const taken = await baton(['serve', '--port', port, '--store', 'memory'], {
    env: { BATON_DATA_DIR: dir.path },
  });
  assertOneErrorLine(taken, 1, /cannot start/);
  const running = child;
  assert.ok(running?.pid !== undefined);
  const exited = new Promise<number | null>((resolve) => running.once('exit', (code) => resolve(code)));
  process.kill(running.pid, 'SIGTERM');
  assert.equal(await exited, 0);
});

test('serve on Redis never loads better-sqlite3; serve on SQLite without it: one line, exit 2', {
  timeout: 90000,
  skip: await redisSkip(),
}, async () => {
  const prefix = `baton-test:serve-${Date.now().toString(36)}:`;
  const store = `${REDIS_URL}?prefix=${encodeURIComponent(prefix)}`;
  try {
    const url = await startServe(['--port', '0', '--store', store], {
      BATON_DATA_DIR: dir.path,
      ...withoutPackages(['better-sqlite3']),
    });
    const login = await fetch(`${url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'thedude', password: 'abides' }),
    });
    assert.equal(login.status, 200);
    const running = child;
    assert.ok(running?.pid !== undefined);
    const exited = new Promise<number | null>((resolve) => running.once('exit', (code) => resolve(code)));
    process.kill(running.pid, 'SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    await deleteRedisKeys(prefix);
  }
  const sqlite = await baton(['serve', '--port', '0'], {
    env: { BATON_DATA_DIR: dir.path, ...withoutPackages(['better-sqlite3']) },
  });
  assert.equal(sqlite.code, 2, sqlite.stderr);
  assert.equal(
    sqlite.stderr,
    'baton: the SQLite store needs the "better-sqlite3" package: npm install better-sqlite3\n',
  );
});
