import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { httpStatusOf, wireCodeOf } from '../../src/http/errors.ts';
import type { HttpRequest } from '../../src/http/index.ts';
import { optionalString, parseBody, readBodyLimited, requiredString } from '../../src/http/index.ts';
import { BatonError } from '../../src/index.ts';

function req(body: string | Uint8Array | undefined, contentType?: string): HttpRequest {
  return {
    method: 'POST',
    path: '/auth/login',
    headers: contentType === undefined ? {} : { 'content-type': contentType },
    query: new URLSearchParams(),
    ...(body === undefined ? {} : { body }),
  };
}

function code(fn: () => unknown): { code: string; status: number; wire: string; message: string } {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof BatonError, `expected a BatonError, got ${String(error)}`);
    return {
      code: error.code,
      status: httpStatusOf(error.code),
      wire: wireCodeOf(error.code),
      message: error.message,
    };
  }
  assert.fail('expected a throw');
}

const json = { accept: ['json'] } as const;

describe('parseBody', () => {
  it('parses a JSON object into a null-prototype object', () => {
    const fields = parseBody(req('{"a":"b","n":{"c":1}}', 'application/json'), json);
    assert.equal(Object.getPrototypeOf(fields), null);
    assert.equal(Object.getPrototypeOf(fields.n), null);
    assert.equal(fields.a, 'b');
  });

  it('accepts a charset parameter, in any case, but only UTF-8', () => {
    assert.equal(parseBody(req('{"a":1}', 'Application/JSON; Charset=UTF-8'), json).a, 1);
    assert.equal(code(() => parseBody(req('{}', 'application/json; charset=latin1'), json)).status, 415);
  });

  it('refuses other content types with 415 invalid_request', () => {
    for (const type of [undefined, 'text/plain', 'application/jsonx', 'application/x-www-form-urlencoded']) {
      const e = code(() => parseBody(req('{"a":1}', type), json));
      assert.equal(e.status, 415, String(type));
      assert.equal(e.code, 'unsupported_media_type');
      assert.equal(e.wire, 'invalid_request');
    }
  });

  it('parses forms where allowed, refusing repeated parameters', () => {
    const form = { accept: ['json', 'form'] } as const;
    const fields = parseBody(
      req('grant_type=password&username=a%20b', 'application/x-www-form-urlencoded'),
      form,
    );
    assert.equal(fields.username, 'a b');
    assert.equal(Object.getPrototypeOf(fields), null);
    assert.equal(
      code(() => parseBody(req('a=1&a=2', 'application/x-www-form-urlencoded'), form)).status,
      400,
    );
    assert.equal(
      code(() => parseBody(req('__proto__=1', 'application/x-www-form-urlencoded'), form)).status,
      400,
    );
  });

  it('413 above the limit, counting bytes not characters', () => {
    const big = JSON.stringify({ a: 'x'.repeat(17 * 1024) });
    const e = code(() => parseBody(req(big, 'application/json'), json));
    assert.deepEqual([e.status, e.code, e.wire], [413, 'payload_too_large', 'invalid_request']);
    const utf = JSON.stringify({ a: 'é'.repeat(600) });
    assert.equal(code(() => parseBody(req(utf, 'application/json'), { ...json, limit: 1000 })).status, 413);
  });

  it('400 for malformed JSON, non-objects, invalid UTF-8 and empty bodies', () => {
    for (const body of ['{', '[]', '"x"', '1', 'null', '{"a":1}x', '\uFEFF{}']) {
      const e = code(() => parseBody(req(body, 'application/json'), json));
      assert.deepEqual([e.status, e.code], [400, 'invalid_request'], body);
    }
    assert.equal(
      code(() => parseBody(req(new Uint8Array([0x7b, 0xff, 0x7d]), 'application/json'), json)).status,
      400,
    );
    assert.equal(code(() => parseBody(req('', 'application/json'), json)).status, 400);
  });

  it('rejects __proto__, constructor and prototype keys at any depth', () => {
    for (const body of [
      '{"__proto__":{"admin":true}}',
      '{"a":{"constructor":{"prototype":{}}}}',
      '{"a":[{"prototype":1}]}',
      '{"a":1,"constructor":2}',
    ]) {
      const e = code(() => parseBody(req(body, 'application/json'), json));
      assert.equal(e.status, 400, body);
      assert.match(e.message, /must not contain/);
    }
    assert.equal(({} as Record<string, unknown>).admin, undefined);
  });

  it('optional bodies: empty is {} whatever the content type', () => {
    const fields = parseBody(req(undefined), { ...json, optional: true });
    assert.deepEqual(Object.keys(fields), []);
    assert.deepEqual(Object.keys(parseBody(req('', 'text/plain'), { ...json, optional: true })), []);
    assert.equal(code(() => parseBody(req('x', 'text/plain'), { ...json, optional: true })).status, 415);
  });

  it('survives deeply nested JSON with a 400 or a parse, never a crash', () => {
    const deep = `${'['.repeat(8000)}${']'.repeat(8000)}`;
    const e = code(() => parseBody(req(`{"a":${deep}}`, 'application/json'), { ...json, limit: 64 * 1024 }));
    assert.equal(e.status, 400);
  });
});

describe('field helpers', () => {
  const fields = Object.assign(Object.create(null) as Record<string, unknown>, {
    s: 'abc',
    n: 5,
    e: '',
    nil: null,
  });

  it('requiredString names the field', () => {
    assert.equal(requiredString(fields, 's'), 'abc');
    assert.match(code(() => requiredString(fields, 'missing')).message, /"missing" is required/);
    assert.match(code(() => requiredString(fields, 'n')).message, /"n" must be a string/);
    assert.match(code(() => requiredString(fields, 'e')).message, /"e" must not be empty/);
    assert.match(code(() => requiredString(fields, 's', { maxLength: 2 })).message, /"s" must be at most 2/);
  });

  it('optionalString: absent or null is undefined', () => {
    assert.equal(optionalString(fields, 'missing'), undefined);
    assert.equal(optionalString(fields, 'nil'), undefined);
    assert.equal(code(() => optionalString(fields, 'n')).status, 400);
  });

  it('does not read inherited properties', () => {
    const plain: Record<string, unknown> = {};
    assert.match(code(() => requiredString(plain, 'toString')).message, /is required/);
  });
});

describe('readBodyLimited', () => {
  function stream(chunks: number[]): ReadableStream<Uint8Array> {
    return new ReadableStream({
      start(controller) {
        for (const size of chunks) controller.enqueue(new Uint8Array(size).fill(97));
        controller.close();
      },
    });
  }

  it('reads everything under the limit', async () => {
    assert.equal((await readBodyLimited(stream([10, 20]), 100)).byteLength, 30);
    assert.equal((await readBodyLimited(null, 100)).byteLength, 0);
  });

  it('stops at limit + 1 bytes', async () => {
    assert.equal((await readBodyLimited(stream([60, 60, 60, 60]), 100)).byteLength, 101);
  });
});
