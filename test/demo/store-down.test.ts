/**
 * A store that is away when the process starts: the demo starts anyway with
 * one warning line naming the store (host:port/database, never a password),
 * answers 503 store_unavailable with Retry-After meanwhile, and recovers by
 * itself once the store is reachable.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DATABASE_URL,
  deleteRedisKeys,
  dropSchema,
  postgresSkip,
  REDIS_URL,
  redisSkip,
  uniqueName,
} from '../support/services.ts';
import { assertError, call, startHarness } from './helpers.ts';

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Makes the store reachable on `port`: a TCP relay to the real server. */
async function relay(port: number, target: URL): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const LOGIN = { json: { username: 'thedude', password: 'abides' } };

/** Logs in until it works (the store came back), for at most `seconds`. */
async function loginEventually(base: string, seconds: number) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const reply = await call(base, '/auth/login', LOGIN);
    if (reply.status === 200 || Date.now() > deadline) return reply;
    await sleep(250);
  }
}

/** Starts the demo on `store`; checks the warning, the 503 meanwhile, and recovery through a relay. */
async function startsDownThenRecovers(store: string, port: number, target: URL, where: RegExp) {
  const warnings: string[] = [];
  const h = await startHarness({ store, onWarning: (line) => warnings.push(line) });
  let relayed: { close(): Promise<void> } | undefined;
  try {
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0] ?? '', /^the session store is unavailable \(/);
    assert.match(warnings[0] ?? '', where);
    assert.doesNotMatch(warnings[0] ?? '', /sekret/);
    assert.doesNotMatch(warnings[0] ?? '', /\n/);

    const down = await call(h.demo.url, '/auth/login', LOGIN);
    assertError(down, 503, 'store_unavailable');
    assert.equal(down.headers.get('retry-after'), '1');
    // Clients are not told where the store lives.
    assert.doesNotMatch(down.text, new RegExp(String(port)));

    relayed = await relay(port, target);
    const back = await loginEventually(h.demo.url, 20);
    assert.equal(back.status, 200, back.text);
    const token = String(back.json.access_token);
    assert.equal((await call(h.demo.url, '/api/protected', { token })).status, 200);
  } finally {
    await h.close();
    await relayed?.close();
  }
}

describe('the demo started while its store is away', async () => {
  const redisSkipped = await redisSkip();
  const postgresSkipped = await postgresSkip();

  it('Redis on a closed port: starts, one warning naming 127.0.0.1:port, 503 meanwhile, recovers', {
    skip: redisSkipped,
    timeout: 60_000,
  }, async () => {
    const port = await closedPort();
    const prefix = `baton-test:${uniqueName('down')}:`;
    try {
      await startsDownThenRecovers(
        `redis://127.0.0.1:${port}?prefix=${encodeURIComponent(prefix)}`,
        port,
        new URL(REDIS_URL),
        new RegExp(`Redis 127\\.0\\.0\\.1:${port}: not connected \\(\\w+\\): connect ECONNREFUSED`),
      );
    } finally {
      await deleteRedisKeys(prefix);
    }
  });

  it('PostgreSQL on a closed port: starts, one warning naming 127.0.0.1:port/test, no password, recovers', {
    skip: postgresSkipped,
    timeout: 60_000,
  }, async () => {
    const port = await closedPort();
    const schema = uniqueName('down');
    const target = new URL(DATABASE_URL);
    try {
      await startsDownThenRecovers(
        `postgres://${target.username}:sekret@127.0.0.1:${port}${target.pathname}?schema=${schema}`,
        port,
        target,
        new RegExp(`PostgreSQL 127\\.0\\.0\\.1:${port}${target.pathname}: connect ECONNREFUSED`),
      );
    } finally {
      await dropSchema(schema);
    }
  });

  it('a PostgreSQL database that does not exist: the warning says which and why, without the password', {
    skip: postgresSkipped,
    timeout: 60_000,
  }, async () => {
    const target = new URL(DATABASE_URL);
    const database = uniqueName('baton_no_such_db');
    const warnings: string[] = [];
    const h = await startHarness({
      store: `postgres://${target.username}:sekret@${target.host}/${database}`,
      onWarning: (line) => warnings.push(line),
    });
    try {
      assert.equal(warnings.length, 1);
      assert.ok(
        warnings[0]?.includes(`PostgreSQL ${target.host}/${database}: database "${database}" does not exist`),
        warnings[0],
      );
      assert.doesNotMatch(warnings[0] ?? '', /sekret/);
      assertError(await call(h.demo.url, '/auth/login', LOGIN), 503, 'store_unavailable');
    } finally {
      await h.close();
    }
  });

  it('npm start: one warning line on stderr, then the banner; it keeps serving', {
    skip: postgresSkipped,
    timeout: 60_000,
  }, async () => {
    const port = await closedPort();
    const dataDir = mkdtempSync(join(tmpdir(), 'baton-down-'));
    const child = spawn(
      process.execPath,
      ['--conditions=baton-source', '--import', 'tsx', 'demo/server.ts'],
      {
        env: {
          ...process.env,
          PORT: '0',
          BATON_DATA_DIR: dataDir,
          BATON_STORE: `postgres://postgres:sekret@127.0.0.1:${port}/test`,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const killer = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    }, 45_000);
    try {
      let stdout = '';
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          stdout += chunk;
          const match = /listening on (http:\/\/\S+)/.exec(stdout);
          if (match?.[1]) resolve(match[1]);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
      });
      assert.equal(stderr.split('\n').filter(Boolean).length, 1, stderr);
      assert.match(
        stderr,
        new RegExp(
          `^baton demo: warning: the session store is unavailable \\(PostgreSQL 127\\.0\\.0\\.1:${port}/test: `,
        ),
      );
      assert.doesNotMatch(stderr, /sekret/);
      assertError(await call(url, '/auth/login', LOGIN), 503, 'store_unavailable');
    } finally {
      clearTimeout(killer);
      if (child.pid !== undefined && child.exitCode === null) {
        const exited = once(child, 'exit');
        process.kill(child.pid, 'SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
