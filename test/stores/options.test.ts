/**
 * Store options are strict and read like the managers': an unknown or
 * misspelled option, a bad value, or options that are not an object throw
 * `invalid_options` naming the option, in the constructor, before any
 * connection is made or any file is created.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pg from 'pg';
import { BatonError, MemoryStore } from '../../src/index.ts';
import { PostgresStore } from '../../src/stores/postgres.ts';
import { RedisStore } from '../../src/stores/redis.ts';
import { SqliteStore } from '../../src/stores/sqlite.ts';

/** The message of the `invalid_options` error `build` throws; fails when it builds. */
function refusal(build: () => unknown): string {
  try {
    build();
  } catch (error) {
    assert.ok(error instanceof BatonError, `a BatonError, got ${String(error)}`);
    assert.equal(error.code, 'invalid_options', error.message);
    return error.message;
  }
  assert.fail('the options were accepted');
}

/** A TCP server that counts the connections it gets (and drops them): where a store would connect. */
let server: Server;
let connections = 0;
let port = 0;
before(async () => {
  server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Runs `attempt`, waits a moment, and reports how many connections the server got meanwhile. */
async function connectionsDuring(attempt: () => void): Promise<number> {
  const before = connections;
  attempt();
  await sleep(150);
  return connections - before;
}

describe('MemoryStore options', () => {
  it('takes none, and refuses any', async () => {
    await new MemoryStore().close();
    assert.equal(
      refusal(() => new MemoryStore({ max: 100 } as never)),
      'Invalid MemoryStore options: max: unknown option; MemoryStore takes no options',
    );
  });
});

describe('SqliteStore options', () => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-store-options-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const store = (options: unknown) => () => new SqliteStore(options as never);

  it('refuses an unknown option, listing those it takes', () => {
    assert.equal(
      refusal(store({ journal: 'wal' })),
      'Invalid SqliteStore options: journal: unknown option; SqliteStore takes path, database and timeout',
    );
  });

  it('refuses a misspelled option with a did-you-mean, and other names for path with its name', () => {
    assert.equal(
      refusal(store({ timeOut: 100 })),
      'Invalid SqliteStore options: timeOut: unknown option; did you mean timeout?',
    );
    assert.equal(
      refusal(store({ busyTimeoutMs: 100 })),
      "Invalid SqliteStore options: busyTimeoutMs: unknown option; SqliteStore's is timeout (milliseconds: the deadline of every call, lock waits included)",
    );
    assert.equal(
      refusal(store({ Path: ':memory:' })),
      'Invalid SqliteStore options: Path: unknown option; did you mean path?',
    );
    assert.match(refusal(store({ filename: 'x.db' })), /filename: unknown option; SqliteStore's is path/);
  });

  it('names a bad value and what the option takes', () => {
    assert.equal(
      refusal(store({ timeout: -1 })),
      'Invalid SqliteStore options: timeout: must be milliseconds, an integer from 100 to 600000 (default 5000)',
    );
    assert.equal(
      refusal(store({ path: 42 })),
      "Invalid SqliteStore options: path: must be a file path, or ':memory:' (the default)",
    );
    assert.equal(
      refusal(store('x.db')),
      'Invalid SqliteStore options: the options must be an object, got a string',
    );
  });

  it('throws before creating the file', () => {
    const path = join(dir, 'never.db');
    assert.match(refusal(store({ path, timeoutMS: 10, timeout: 1 })), /timeoutMS: unknown option/);
    assert.equal(existsSync(path), false);
  });

  it('keeps its defaults and accepted types', async () => {
    const opened = new SqliteStore({ path: join(dir, 'ok.db'), timeout: 100 });
    await opened.close();
    await new SqliteStore().close();
  });
});

describe('RedisStore options', () => {
  const url = () => `redis://127.0.0.1:${port}`;

  it('refuses an unknown or misspelled option before connecting', async () => {
    let message = '';
    const made = await connectionsDuring(() => {
      message = refusal(() => new RedisStore({ url: url(), prefx: 'app:' } as never));
    });
    assert.equal(message, 'Invalid RedisStore options: prefx: unknown option; did you mean prefix?');
    assert.equal(made, 0, 'no connection was attempted');
    assert.equal(
      refusal(() => new RedisStore({ url: url(), tls: true } as never)),
      'Invalid RedisStore options: tls: unknown option; RedisStore takes url, client, prefix, timeout and natMap',
    );
    assert.match(
      refusal(() => new RedisStore({ host: '127.0.0.1', port } as never)),
      /host: unknown option; RedisStore takes it in url: 'redis:\/\/user:password@host:port\/db'/,
    );
  });

  it('refuses a bad value before connecting, never echoing the URL', async () => {
    let message = '';
    const made = await connectionsDuring(() => {
      message = refusal(() => new RedisStore({ url: url(), prefix: 'my app:' }));
    });
    assert.equal(
      message,
      "Invalid RedisStore options: prefix: must be 1 to 100 printable ASCII characters without spaces (default 'baton:')",
    );
    assert.equal(made, 0);
    const secret = refusal(() => new RedisStore({ url: 'http://user:hunter2@localhost:6379' }));
    assert.equal(
      secret,
      'Invalid RedisStore options: url: must be a redis://, rediss://, redis-cluster:// or redis-sentinel:// URL',
    );
  });

  it('leaves a given client unconnected when its other options are wrong', () => {
    const client = new Redis(url(), { lazyConnect: true });
    try {
      assert.match(
        refusal(() => new RedisStore({ client, keyprefix: 'x' } as never)),
        /keyprefix: unknown option; RedisStore's is prefix/,
      );
      assert.equal(client.status, 'wait');
    } finally {
      client.disconnect();
    }
  });

  it('(control: a valid url does connect, so the checks above would see it)', async () => {
    let store: RedisStore | undefined;
    const made = await connectionsDuring(() => {
      store = new RedisStore({ url: url() });
    });
    await store?.close();
    assert.ok(made > 0);
  });
});

describe('PostgresStore options', () => {
  const connectionString = () => `postgres://baton@127.0.0.1:${port}/baton`;

  it('refuses an unknown or misspelled option before connecting', async () => {
    let message = '';
    const made = await connectionsDuring(() => {
      message = refusal(
        () => new PostgresStore({ connectionString: connectionString(), tabelPrefix: 'app_' } as never),
      );
    });
    assert.equal(
      message,
      'Invalid PostgresStore options: tabelPrefix: unknown option; did you mean tablePrefix?',
    );
    assert.equal(made, 0);
    assert.equal(
      refusal(() => new PostgresStore({ ssl: true } as never)),
      'Invalid PostgresStore options: ssl: unknown option; PostgresStore takes connectionString, pool, schema, tablePrefix and timeout',
    );
    assert.match(
      refusal(() => new PostgresStore({ url: connectionString() } as never)),
      /url: unknown option; PostgresStore's is connectionString/,
    );
    assert.match(
      refusal(() => new PostgresStore({ connection_string: connectionString() } as never)),
      /connection_string: unknown option; did you mean connectionString\?/,
    );
  });

  it('refuses a bad value before connecting, never echoing the connection string', async () => {
    let message = '';
    const made = await connectionsDuring(() => {
      message = refusal(
        () => new PostgresStore({ connectionString: connectionString(), schema: 'my-schema' }),
      );
    });
    assert.equal(
      message,
      "Invalid PostgresStore options: schema: must be a plain identifier of at most 63 characters (default 'public')",
    );
    assert.equal(made, 0);
    assert.equal(
      refusal(() => new PostgresStore({ connectionString: connectionString(), timeout: 50 })),
      'Invalid PostgresStore options: timeout: must be milliseconds, an integer from 100 to 600000 (default 5000)',
    );
    assert.match(
      refusal(
        () => new PostgresStore({ connectionString: connectionString(), statement_timeout: 1000 } as never),
      ),
      /statement_timeout: unknown option; PostgresStore's is timeout/,
    );
    assert.equal(
      refusal(() => new PostgresStore({ connectionString: 'mysql://root:hunter2@localhost/db' })),
      "Invalid PostgresStore options: connectionString: must be a postgres:// or postgresql:// URL (default: pg's PG* environment variables)",
    );
  });

  it('leaves a given pool unused when its other options are wrong', async () => {
    const pool = new pg.Pool({ connectionString: connectionString() });
    try {
      assert.match(
        refusal(() => new PostgresStore({ pool, prefix: 'x_' } as never)),
        /PostgresStore's is tablePrefix/,
      );
      assert.equal(pool.totalCount, 0);
    } finally {
      await pool.end();
    }
  });

  it('(control: a valid store connects when used, so the checks above would see it)', async () => {
    const store = new PostgresStore({ connectionString: connectionString() });
    const before = connections;
    await assert.rejects(store.migrate(), { code: 'store_unavailable' });
    await store.close();
    assert.ok(connections > before);
  });
});
