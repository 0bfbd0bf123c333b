// The HTTP layer logs through the manager's logger: unexpected errors at
// `error` (unless onUnexpectedError takes them), a client that went away at
// `debug` (never as an error), and one `debug` line per auth request that
// names method, path, status and time, never the query string.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { errorResponse, isClientAbort } from '../../src/http/errors.ts';
import type { HttpRequest } from '../../src/http/index.ts';
import { createBatonHttp, readNodeBodyLimited } from '../../src/http/index.ts';
import type { SessionManagerOptions } from '../../src/index.ts';
import { harness, recordingLogger, storeKinds, type TestUser } from '../sessions/support.ts';

const memory = storeKinds.find((kind) => kind.name === 'memory')!;

function post(path: string, json: unknown, query = ''): HttpRequest {
  return {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json' },
    query: new URLSearchParams(query),
    body: JSON.stringify(json),
    ip: '192.0.2.1',
  };
}

describe('HTTP logging through the manager’s logger', () => {
  const closing: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closing) await close();
  });
  const make = async (overrides: Partial<SessionManagerOptions<TestUser>> = {}) => {
    const recorded = recordingLogger();
    const h = await harness(memory, { logger: recorded.logger, ...overrides });
    closing.push(() => h.close());
    return { ...h, ...recorded };
  };

  it('one debug line per auth request: method, path, status, ms, the error code; never the query', async () => {
    const h = await make();
    const http = createBatonHttp(h.manager);
    const ok = await http.handler(
      post('/auth/login', { username: 'thedude', password: 'abides' }, 'jwt=secret-in-query'),
    );
    const bad = await http.handler(post('/auth/login', { username: 'thedude', password: 'nope' }));
    assert.equal(ok?.status, 200);
    assert.equal(bad?.status, 401);
    const requests = h.lines.filter((line) => line.message === 'baton: request');
    assert.equal(requests.length, 2);
    for (const line of requests) {
      assert.equal(line.level, 'debug');
      assert.equal(line.object.method, 'POST');
      assert.equal(line.object.path, '/auth/login');
      assert.equal(typeof line.object.ms, 'number');
      assert.equal(line.object.component, 'baton');
    }
    assert.equal(requests[0]?.object.status, 200);
    assert.equal(requests[0]?.object.code, undefined);
    assert.equal(requests[1]?.object.status, 401);
    assert.equal(requests[1]?.object.code, 'invalid_credentials');
    assert.doesNotMatch(JSON.stringify(h.lines), /secret-in-query/);
  });

  it('an unexpected error is logged at error with the error, and answers a generic 500', async () => {
    const h = await make({
      verifyCredentials: () => {
        throw new Error('users database is on fire');
      },
    });
    const http = createBatonHttp(h.manager);
    const response = await http.handler(post('/auth/login', { username: 'thedude', password: 'abides' }));
    assert.equal(response?.status, 500);
    assert.doesNotMatch(response?.body ?? '', /fire/);
    const errors = h.lines.filter((line) => line.level === 'error');
    assert.equal(errors.length, 1);
    assert.equal((errors[0]?.object.err as Error | undefined)?.message, 'users database is on fire');
    assert.match(errors[0]?.message ?? '', /unexpected error/);
  });

  it('onUnexpectedError, when given, takes the unexpected errors instead of the logger', async () => {
    const h = await make({
      verifyCredentials: () => {
        throw new Error('boom');
      },
    });
    const taken: unknown[] = [];
    const http = createBatonHttp(h.manager, { onUnexpectedError: (error) => taken.push(error) });
    await http.handler(post('/auth/login', { username: 'thedude', password: 'abides' }));
    assert.equal(taken.length, 1);
    assert.deepEqual(
      h.lines.filter((line) => line.level === 'error'),
      [],
    );
  });

  it('a client that went away mid-body: debug, never error nor onUnexpectedError', async () => {
    const h = await make();
    const taken: unknown[] = [];
    const http = createBatonHttp(h.manager, { onUnexpectedError: (error) => taken.push(error) });
    const stream = new PassThrough();
    const reading = readNodeBodyLimited(stream, 1000);
    stream.write('{"username":"thedude","pass');
    stream.destroy();
    const error = await reading.then(
      () => assert.fail('the body read succeeded'),
      (e: unknown) => e,
    );
    assert.ok(isClientAbort(error));
    const cutShort = http.errorResponse(error);
    assert.equal(cutShort.status, 400);
    // Errors of the frameworks and of node itself that say the same.
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const bodyParser = Object.assign(new Error('request aborted'), { type: 'request.aborted', status: 400 });
    const abortError = Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
    for (const aborted of [reset, bodyParser, abortError]) {
      assert.equal(http.errorResponse(aborted).status, 400);
      assert.equal(errorResponse(aborted, { logger: h.logger }).status, 400);
    }
    assert.deepEqual(taken, []);
    assert.deepEqual(
      h.lines.filter((line) => line.level === 'error'),
      [],
    );
    const debug = h.lines.filter((line) => line.message === 'baton: the client went away mid-request');
    assert.equal(debug.length, 7);
    assert.ok(debug.every((line) => line.level === 'debug'));
  });

  it('without a logger option, unexpected errors still reach console.error, and nothing else is printed', async () => {
    const h = await harness(memory, {
      verifyCredentials: () => {
        throw new Error('kaboom');
      },
    });
    closing.push(() => h.close());
    const http = createBatonHttp(h.manager);
    const printed: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void printed.push(args);
    try {
      await http.handler(post('/auth/login', { username: 'thedude', password: 'wrong' }, 'x=1'));
      assert.equal(printed.length, 1);
      assert.match(String(printed[0]?.[0]), /^baton: unexpected error while handling a request:/);
      assert.equal((printed[0]?.[1] as Error | undefined)?.message, 'kaboom');
      http.errorResponse(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      assert.equal(printed.length, 1, 'an aborted request prints nothing');
    } finally {
      console.error = original;
    }
  });
});
