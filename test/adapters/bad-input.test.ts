/**
 * Bad input on every target (the demo and a minimal app on each adapter):
 * a client's doing is a 4xx with a stable code and never a 5xx, a stack
 * trace or a call to onUnexpectedError (DESIGN "Errors", README "Bad input").
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Hono } from 'hono';
import { createBaton } from '../../src/adapters/hono.ts';
import { assertError, call, HEADER_MODE, login } from './client.ts';
import { abortMidBody, rawRequest } from './raw.ts';
import { type Running, TARGETS } from './targets.ts';

/** Runs `action` with stderr captured; returns what was written. */
async function capturingStderr(action: () => Promise<void>): Promise<string> {
  const written: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof process.stderr.write;
  try {
    await action();
  } finally {
    process.stderr.write = original;
  }
  return written.join('');
}

const BEARER_INVALID_REQUEST =
  /^Bearer realm="baton", error="invalid_request"(, error_description="[^"]*")?$/;

for (const target of Object.values(TARGETS)) {
  describe(`bad input on ${target.name} (${target.store} store)`, () => {
    const h = {} as Running;
    before(async () => {
      Object.assign(h, await target.start({ cookies: false }));
    });
    after(async () => {
      await h.close();
    });

    it('a malformed Authorization header is 400 invalid_request with the RFC 6750 challenge', async () => {
      const malformed = {
        'Bearer and no token': 'Bearer',
        'Bearer and spaces': 'Bearer    ',
        'two tokens': 'Bearer a b',
        'junk token': 'Bearer a,b',
        'over the size limit': `Bearer ${'a'.repeat(9000)}`,
      };
      for (const [label, authorization] of Object.entries(malformed)) {
        for (const path of ['/api/protected', '/auth/me', '/auth/sessions']) {
          const reply = await call(h.url, path, { headers: { authorization } });
          assertError(reply, 400, 'invalid_request');
          assert.match(
            reply.headers.get('www-authenticate') ?? '',
            BEARER_INVALID_REQUEST,
            `${label} on ${path}`,
          );
        }
      }
      assert.deepEqual(h.unexpected, []);
    });

    // The demo hands node:http's clientError to answerClientError; the minimal apps keep Node's default.
    if (target.name.startsWith('demo/')) {
      it('headers over the size limit (refused by Node before any framework) are 431 in the Baton shape', async () => {
        const reply = await rawRequest(h.url, 'GET', '/api/protected', { cookie: 'x'.repeat(20_000) });
        assert.equal(reply.status, 431);
        assert.equal(reply.headers['content-type'], 'application/json');
        assert.deepEqual(JSON.parse(reply.body), {
          error: 'invalid_request',
          message: 'The request headers are too large',
        });
        // An answer to HEAD has no body (found by the fuzzer: node's client read one as data
        // after the response); a client that sends a body with it is answered the same.
        for (const body of ['', 'L']) {
          const head = await rawRequest(h.url, 'HEAD', '/auth/revoke', { cookie: 'x'.repeat(20_000) }, body);
          assert.equal(head.status, 431);
          assert.equal(head.body, '', `HEAD with body ${JSON.stringify(body)}`);
        }
      });
    }

    it('a client that goes away mid-body is no server error: no onUnexpectedError, no stack trace', async () => {
      const admin = await login(h.url, HEADER_MODE, 'walter', 'calmerthanyouare');
      const json = { 'content-type': 'application/json' };
      const stderr = await capturingStderr(async () => {
        await abortMidBody(h.url, '/auth/login', json, 1000, '{"username":"thedude","pass');
        await abortMidBody(
          h.url,
          '/auth/token',
          { 'content-type': 'application/x-www-form-urlencoded' },
          500,
          'grant_type=pa',
        );
        await abortMidBody(
          h.url,
          '/api/admin/disable-user',
          { ...json, authorization: `Bearer ${admin.access_token}` },
          1000,
          '{"username":',
        );
        // The server noticed each one before we look.
        await new Promise((resolve) => setTimeout(resolve, 300));
      });
      assert.deepEqual(h.unexpected, [], 'no unexpected error');
      assert.doesNotMatch(stderr, /\n\s+at |Error: aborted|ECONNRESET/, stderr);
      // And it serves the next client as before.
      const reply = await call(h.url, '/api/protected', { token: admin.access_token });
      assert.equal(reply.status, 200, reply.text);
    });
  });
}

describe('Hono: the app reading a bad body itself', () => {
  it("a JSON parse error from the app's own c.req.json() is 400 invalid_request, not a 500", async () => {
    const unexpected: unknown[] = [];
    const target = TARGETS['app/hono'];
    assert.ok(target);
    const h = await target.start({ cookies: false });
    try {
      const baton = createBaton(h.manager, { onUnexpectedError: (error) => unexpected.push(error) });
      const app = new Hono();
      app.post('/echo', async (c) => c.json(await c.req.json()));
      app.post('/broken', async (c) => {
        // The body read fine; a parse failure of the server's own data is still the server's: 500.
        await c.req.text();
        JSON.parse('{');
        return c.text('unreachable');
      });
      app.onError(baton.errorHandler);
      const bad = await app.request('/echo', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"a":',
      });
      assert.equal(bad.status, 400);
      assert.deepEqual(await bad.json(), {
        error: 'invalid_request',
        message: 'The request body is not valid JSON',
      });
      assert.deepEqual(unexpected, []);
      const good = await app.request('/echo', { method: 'POST', body: '{"a":1}' });
      assert.deepEqual(await good.json(), { a: 1 });
      const broken = await app.request('/broken', { method: 'POST', body: '{"a":1}' });
      assert.equal(broken.status, 500);
      assert.equal(unexpected.length, 1);
    } finally {
      await h.close();
    }
  });
});
