import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatonError } from '../../src/core/errors.ts';
import type { Fields } from '../../src/http/body.ts';
import { parseCookies, serializeCookie } from '../../src/http/cookies.ts';
import {
  basicCredentials,
  bearerToken,
  extractAccessToken,
  extractRefreshToken,
  extractSessionToken,
} from '../../src/http/extract.ts';
import type { HttpRequest } from '../../src/http/types.ts';

function req(headers: Record<string, string>): HttpRequest {
  return { method: 'POST', path: '/auth/refresh', headers, query: new URLSearchParams() };
}

function fields(value: Record<string, unknown> = {}): Fields {
  return Object.assign(Object.create(null) as Fields, value);
}

const names = { access: 'baton_access', refresh: 'baton_refresh' };

function status(fn: () => unknown): number {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof BatonError);
    return error.status;
  }
  return 0;
}

describe('bearerToken', () => {
  it('reads the token, scheme case-insensitive', () => {
    assert.equal(bearerToken(req({ authorization: 'Bearer abc.def-_~+/=' })), 'abc.def-_~+/=');
    assert.equal(bearerToken(req({ authorization: 'bearer   xyz' })), 'xyz');
    assert.equal(bearerToken(req({ authorization: 'BEARER xyz' })), 'xyz');
  });

  it('ignores other schemes and absent headers', () => {
    assert.equal(bearerToken(req({})), undefined);
    assert.equal(bearerToken(req({ authorization: 'Basic Zm9vOmJhcg==' })), undefined);
    assert.equal(bearerToken(req({ authorization: 'Bearerxyz' })), undefined);
  });

  it('400 for several tokens, junk characters, an empty token, or an oversized header', () => {
    assert.equal(
      status(() => bearerToken(req({ authorization: 'Bearer a b' }))),
      400,
    );
    assert.equal(
      status(() => bearerToken(req({ authorization: 'Bearer a,b' }))),
      400,
    );
    assert.equal(
      status(() => bearerToken(req({ authorization: 'Bearer <script>' }))),
      400,
    );
    assert.equal(
      status(() => bearerToken(req({ authorization: 'Bearer' }))),
      400,
    );
    assert.equal(
      status(() => bearerToken(req({ authorization: `Bearer ${'a'.repeat(9000)}` }))),
      400,
    );
  });
});

describe('basicCredentials', () => {
  const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
  it('decodes id and secret, form-decoding them (RFC 6749 §2.3.1)', () => {
    assert.deepEqual(basicCredentials(req({ authorization: basic('demo-client:demo-secret') })), {
      id: 'demo-client',
      secret: 'demo-secret',
    });
    assert.deepEqual(basicCredentials(req({ authorization: basic('a%3Ab:c:d') })), {
      id: 'a:b',
      secret: 'c:d',
    });
  });
  it('malformed vs. not Basic', () => {
    assert.equal(basicCredentials(req({ authorization: basic('nocolon') })), 'malformed');
    assert.equal(basicCredentials(req({ authorization: 'Basic !!!' })), 'malformed');
    assert.equal(basicCredentials(req({ authorization: basic('a:%zz') })), 'malformed');
    assert.equal(basicCredentials(req({ authorization: 'Bearer x' })), undefined);
  });
});

describe('token extraction', () => {
  it('access: header beats cookie; cookie only in cookie mode', () => {
    const r = req({ authorization: 'Bearer head', cookie: 'baton_access=cook' });
    assert.deepEqual(extractAccessToken(r, names), { token: 'head', source: 'header' });
    assert.deepEqual(extractAccessToken(req({ cookie: 'baton_access=cook' }), names), {
      token: 'cook',
      source: 'cookie',
    });
    assert.equal(extractAccessToken(req({ cookie: 'baton_access=cook' })), undefined);
  });

  it('refresh: body, then Authorization, then cookie', () => {
    const all = req({ authorization: 'Bearer head', cookie: 'baton_refresh=cook' });
    assert.deepEqual(extractRefreshToken(all, fields({ refresh_token: 'body' }), names), {
      token: 'body',
      source: 'body',
    });
    assert.equal(extractRefreshToken(all, fields(), names)?.source, 'header');
    assert.equal(
      extractRefreshToken(req({ cookie: 'baton_refresh=cook' }), fields(), names)?.source,
      'cookie',
    );
    assert.equal(extractRefreshToken(req({}), fields(), names), undefined);
  });

  it('refresh: a wrong-typed body value is a 400, not a fall-through', () => {
    assert.equal(
      status(() => extractRefreshToken(req({}), fields({ refresh_token: 5 }), names)),
      400,
    );
    assert.equal(
      status(() => extractRefreshToken(req({}), fields({ refresh_token: '' }), names)),
      400,
    );
  });

  it('session token (logout) falls back to the access cookie', () => {
    assert.deepEqual(extractSessionToken(req({ cookie: 'baton_access=a' }), fields(), names), {
      token: 'a',
      source: 'cookie',
    });
  });

  it('ignores junk cookie values', () => {
    assert.equal(extractAccessToken(req({ cookie: 'baton_access=<x>' }), names), undefined);
  });
});

describe('cookies', () => {
  it('parses robustly', () => {
    const c = parseCookies('a=1; b="two"; junk; =x; c=%E2%82%AC; d=%zz; a=ignored;;  e = 5 ');
    assert.equal(c.a, '1');
    assert.equal(c.b, 'two');
    assert.equal(c.c, '€');
    assert.equal(c.d, '%zz');
    assert.equal(c.e, '5');
    assert.equal(Object.getPrototypeOf(c), null);
    assert.deepEqual(Object.keys(parseCookies(undefined)), []);
    assert.equal(Object.getPrototypeOf(parseCookies('__proto__=x')), null);
  });

  it('serializes with attributes and refuses injection', () => {
    assert.equal(
      serializeCookie('n', 'v', { maxAge: 60, path: '/auth', httpOnly: true, secure: true, sameSite: 'Lax' }),
      'n=v; Max-Age=60; Path=/auth; HttpOnly; Secure; SameSite=Lax',
    );
    assert.match(serializeCookie('n', '', { maxAge: 0 }), /Max-Age=0; Expires=Thu, 01 Jan 1970/);
    assert.equal(serializeCookie('n', 'a;b'), 'n=a%3Bb; Path=/');
    assert.throws(() => serializeCookie('n;x', 'v'));
    assert.throws(() => serializeCookie('n', 'v', { path: '/; Domain=evil' }));
  });
});
