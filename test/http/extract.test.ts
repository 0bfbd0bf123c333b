import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { httpStatusOf, wireCodeOf } from '../../src/http/errors.ts';
import {
  basicCredentials,
  bearerToken,
  DEFAULT_TOKEN_LOOKUP,
  extractAccessToken,
  extractRefreshToken,
  extractSessionToken,
  headerToken,
  resolveTokenLookup,
} from '../../src/http/extract.ts';
import type { Fields, HttpRequest } from '../../src/http/index.ts';
import { parseCookies, serializeCookie } from '../../src/http/index.ts';
import { BatonError } from '../../src/index.ts';

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
    return httpStatusOf(error.code);
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

describe('headerToken: the exact `Bearer <token>` form and its near misses', () => {
  /** The token, `undefined`, or the error code. */
  const outcome = (authorization: string, limit?: number): string | undefined => {
    try {
      return bearerToken(req({ authorization }), limit);
    } catch (error) {
      assert.ok(error instanceof BatonError);
      return `error:${wireCodeOf(error.code)}`;
    }
  };

  it('reads the token however the scheme and the space around it are spelt', () => {
    assert.equal(outcome('Bearer abc.def'), 'abc.def');
    assert.equal(outcome('bearer abc.def'), 'abc.def');
    assert.equal(outcome('bEaReR abc.def'), 'abc.def');
    assert.equal(outcome('Bearer   abc.def'), 'abc.def');
    assert.equal(outcome('  Bearer abc.def  '), 'abc.def');
    assert.equal(outcome('Bearer abc.def\t'), 'abc.def');
    assert.equal(outcome('Bearer abc=='), 'abc==');
  });

  it('a tab is not the separator: the header then names another scheme', () => {
    assert.equal(outcome('Bearer\tabc'), undefined);
    assert.equal(outcome('Bearerabc'), undefined);
  });

  it('400 invalid_request for an empty token, junk or a misplaced "=", with or without the exact form', () => {
    for (const header of ['Bearer ', 'Bearer    ', 'Bearer', 'bearer ']) {
      assert.equal(outcome(header), 'error:invalid_request', JSON.stringify(header));
    }
    for (const token of ['a b', 'a,b', 'a=b', '=abc', 'abc\u00e9', 'a"b', 'a\tb']) {
      assert.equal(outcome(`Bearer ${token}`), 'error:invalid_request', JSON.stringify(token));
    }
  });

  it('the header limit comes first, and a token is at most 8 KiB', () => {
    const token = 'a'.repeat(200);
    assert.equal(outcome(`Bearer ${token}`, 100), 'error:invalid_request');
    assert.equal(outcome(`Bearer ${token}`, 207), token);
    assert.equal(outcome(`Bearer ${'a'.repeat(8 * 1024)}`, 16 * 1024), 'a'.repeat(8 * 1024));
    assert.equal(outcome(`Bearer ${'a'.repeat(8 * 1024 + 1)}`, 16 * 1024), 'error:invalid_request');
    assert.equal(
      outcome(`Bearer ${'a'.repeat(8 * 1024)}`),
      'error:invalid_request',
      'the header is over 8 KiB',
    );
  });

  it('a custom scheme or a bare token decides alike', () => {
    const custom = (value: string, scheme: string) => {
      try {
        return headerToken(req({ 'x-token': value }), 'x-token', scheme);
      } catch (error) {
        assert.ok(error instanceof BatonError);
        return `error:${wireCodeOf(error.code)}`;
      }
    };
    assert.equal(custom('JWT abc', 'JWT'), 'abc');
    assert.equal(custom('jwt abc', 'JWT'), 'abc');
    assert.equal(custom('JWT a b', 'JWT'), 'error:invalid_request');
    assert.equal(custom('Bearer abc', 'JWT'), undefined);
    assert.equal(custom('abc', ''), 'abc');
    assert.equal(custom(' abc ', ''), 'abc');
    assert.equal(custom('Bearer abc', ''), 'error:invalid_request');
  });
});

describe('headerToken: the fast path never changes a decision', () => {
  /** headerToken as it was before its fast path: the oracle. */
  function reference(value: string, scheme: string, limit: number): string | undefined {
    if (value === '') return undefined;
    if (value.length > limit) throw new BatonError('invalid_request', 'too long');
    const header = value.trim();
    if (header === '') return undefined;
    const checked = (token: string) => {
      if (token.length > 8 * 1024 || !/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) {
        throw new BatonError('invalid_request', 'not one token');
      }
      return token;
    };
    if (scheme === '') return checked(header);
    const space = header.indexOf(' ');
    const given = space < 0 ? header : header.slice(0, space);
    if (given.toLowerCase() !== scheme.toLowerCase()) return undefined;
    const token = space < 0 ? '' : header.slice(space + 1).trimStart();
    if (token === '') throw new BatonError('invalid_request', 'no token');
    return checked(token);
  }
  const decision = (fn: () => string | undefined) => {
    try {
      return fn();
    } catch (error) {
      assert.ok(error instanceof BatonError);
      return `error:${wireCodeOf(error.code)}`;
    }
  };

  it('on headers made of schemes, spaces, token characters and junk', () => {
    const piece = fc.constantFrom(
      'Bearer',
      'bearer',
      'JWT',
      ' ',
      '  ',
      '\t',
      'a',
      'Z9',
      '.',
      '-_~+/',
      '=',
      ',',
      'é',
      '"',
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 8 }),
        fc.constantFrom('Bearer', 'JWT', ''),
        fc.constantFrom(8, 64, 8 * 1024),
        (pieces, scheme, limit) => {
          const value = pieces.join('');
          assert.equal(
            decision(() => headerToken(req({ authorization: value }), 'authorization', scheme, limit)),
            decision(() => reference(value, scheme, limit)),
          );
        },
      ),
      { numRuns: 3000 },
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
      cookie: 'access',
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
      cookie: 'access',
    });
    assert.deepEqual(
      extractSessionToken(req({ cookie: 'baton_access=a; baton_refresh=r' }), fields(), names),
      {
        token: 'r',
        source: 'cookie',
        cookie: 'refresh',
      },
    );
  });

  it('ignores junk cookie values', () => {
    assert.equal(extractAccessToken(req({ cookie: 'baton_access=<x>' }), names), undefined);
  });
});

describe('configurable lookup (flask-jwt-extended style)', () => {
  const get = (headers: Record<string, string>, query = '') => ({
    method: 'GET',
    path: '/api',
    headers,
    query: new URLSearchParams(query),
  });

  it('defaults: header then cookie; no body, no query', () => {
    assert.deepEqual(DEFAULT_TOKEN_LOOKUP.locations, ['header', 'cookie']);
    assert.equal(extractAccessToken(get({}, 'jwt=q'), names), undefined);
    assert.equal(
      extractAccessToken(get({}), names, undefined, undefined, fields({ access_token: 'b' })),
      undefined,
    );
  });

  it('follows the configured order, first found wins', () => {
    const lookup = resolveTokenLookup({ locations: ['query', 'body', 'cookie', 'header'] });
    const all = get({ authorization: 'Bearer h', cookie: 'baton_access=c' }, 'jwt=q');
    const body = fields({ access_token: 'b' });
    assert.deepEqual(extractAccessToken(all, names, undefined, lookup, body), {
      token: 'q',
      source: 'query',
    });
    const noQuery = get({ authorization: 'Bearer h', cookie: 'baton_access=c' });
    assert.equal(extractAccessToken(noQuery, names, undefined, lookup, body)?.source, 'body');
    assert.equal(extractAccessToken(noQuery, names, undefined, lookup, fields())?.source, 'cookie');
    assert.equal(extractAccessToken(noQuery, undefined, undefined, lookup, fields())?.source, 'header');
  });

  it('header name and scheme are configurable; an empty scheme takes the bare value', () => {
    const custom = resolveTokenLookup({ headerName: 'X-Api-Token', headerScheme: 'JWT' });
    assert.equal(
      extractAccessToken(get({ 'x-api-token': 'jwt abc' }), undefined, undefined, custom)?.token,
      'abc',
    );
    assert.equal(
      extractAccessToken(get({ authorization: 'Bearer abc' }), undefined, undefined, custom),
      undefined,
    );
    assert.equal(
      extractAccessToken(get({ 'x-api-token': 'Bearer abc' }), undefined, undefined, custom),
      undefined,
    );
    const bare = resolveTokenLookup({ headerName: 'x-token', headerScheme: '' });
    assert.equal(extractAccessToken(get({ 'x-token': 'abc' }), undefined, undefined, bare)?.token, 'abc');
    assert.equal(
      status(() => extractAccessToken(get({ 'x-token': 'a b' }), undefined, undefined, bare)),
      400,
    );
  });

  it('query and body values are checked: repeated, wrong type or junk is a 400', () => {
    const lookup = resolveTokenLookup({ locations: ['query', 'body'], queryParam: 'token', bodyKey: 'jwt' });
    assert.equal(extractAccessToken(get({}, 'token=abc'), undefined, undefined, lookup)?.token, 'abc');
    assert.equal(
      status(() => extractAccessToken(get({}, 'token=a&token=b'), undefined, undefined, lookup)),
      400,
    );
    assert.equal(
      status(() => extractAccessToken(get({}, 'token=%3Cx%3E'), undefined, undefined, lookup)),
      400,
    );
    assert.equal(
      status(() => extractAccessToken(get({}), undefined, undefined, lookup, fields({ jwt: 5 }))),
      400,
    );
    assert.equal(
      extractAccessToken(get({}), undefined, undefined, lookup, fields({ jwt: 'x' }))?.source,
      'body',
    );
  });

  it('refresh tokens: the configured header, never the query string', () => {
    const lookup = resolveTokenLookup({
      locations: ['query', 'header'],
      headerName: 'x-token',
      headerScheme: '',
    });
    const r = get({ 'x-token': 'r1', authorization: 'Bearer r2' }, 'jwt=q');
    assert.deepEqual(extractRefreshToken(r, fields(), undefined, undefined, lookup), {
      token: 'r1',
      source: 'header',
    });
    const cookieOnly = resolveTokenLookup({ locations: ['cookie'] });
    assert.equal(extractRefreshToken(r, fields(), undefined, undefined, cookieOnly), undefined);
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
