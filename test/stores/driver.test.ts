/** Store drivers are optional peer dependencies: a missing one is named, with the command to install it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BatonError,
  isBatonError,
  openStore,
  parseStoreUrl,
  StoreOpenError,
  StoreUrlError,
} from '../../src/index.ts';
import { loadDriver } from '../../src/stores/driver.ts';
import { runWithout } from '../support/hidden-packages.ts';

describe('store drivers', () => {
  it('a package that is not installed: store_driver_missing, naming it and how to install it', () => {
    assert.throws(
      () => loadDriver('SQLite', 'baton-no-such-driver'),
      (error: unknown) =>
        error instanceof BatonError &&
        error.code === 'store_driver_missing' &&
        error.message ===
          'the SQLite store needs the "baton-no-such-driver" package: npm install baton-no-such-driver',
    );
  });

  it('an installed one is loaded', () => {
    assert.equal(typeof loadDriver<{ Pool: unknown }>('PostgreSQL', 'pg').Pool, 'function');
  });

  it('importing a store entry point without its driver throws store_driver_missing, not ERR_MODULE_NOT_FOUND', () => {
    for (const [entry, driver, name] of [
      ['baton-auth/stores/sqlite', 'better-sqlite3', 'SQLite'],
      ['baton-auth/stores/redis', 'ioredis', 'Redis'],
      ['baton-auth/stores/postgres', 'pg', 'PostgreSQL'],
    ] as const) {
      const result = runWithout(
        [driver],
        `try { await import(${JSON.stringify(entry)}); console.log('loaded'); }
         catch (error) { console.log(JSON.stringify({ code: error.code, message: error.message })); }`,
      );
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), {
        code: 'store_driver_missing',
        message: `the ${name} store needs the "${driver}" package: npm install ${driver}`,
      });
    }
  });

  it('openStore loads only the driver its URL names: memory and redis work without better-sqlite3 and pg', () => {
    const result = runWithout(
      ['better-sqlite3', 'pg'],
      `const { openStore } = await import('baton-auth');
       const memory = await openStore('memory'); await memory.close();
       try { await openStore('sqlite:/tmp/never-created.db'); } catch (error) { console.log(error.code); }
       const { RedisStore } = await import('baton-auth/stores/redis');
       console.log(typeof RedisStore);`,
    );
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split('\n'), ['store_driver_missing', 'function']);
  });

  it('openStore: a file that cannot be opened is a StoreOpenError, a BatonError store_unavailable', async () => {
    await assert.rejects(openStore('sqlite:/proc/no/such/dir.db'), (error: unknown) => {
      assert.ok(error instanceof StoreOpenError && error instanceof BatonError);
      assert.deepEqual([error.name, error.code], ['StoreOpenError', 'store_unavailable']);
      assert.match(error.message, /^cannot open SQLite store \/proc\/no\/such\/dir\.db: /);
      assert.ok(isBatonError(error.cause), "the store's own error is the cause");
      return true;
    });
  });

  it('a store URL Baton cannot use is a StoreUrlError, a BatonError invalid_store_url', async () => {
    for (const url of ['ftp://example.com/x', 'sqlite:', 'redis://:6379']) {
      const check = (error: unknown) => {
        assert.ok(error instanceof StoreUrlError && error instanceof BatonError, url);
        assert.deepEqual([error.name, error.code], ['StoreUrlError', 'invalid_store_url'], url);
        return true;
      };
      assert.throws(() => parseStoreUrl(url), check);
      await assert.rejects(openStore(url), check);
    }
  });
});
