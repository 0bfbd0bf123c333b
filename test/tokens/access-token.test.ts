import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { BatonError, ManualClock } from '../../src/index.ts';
import {
  AccessTokenCodec,
  type AccessTokenCodecOptions,
  type AccessTokenInput,
  decodeUnverified,
  generateSigningKey,
  isFresh,
  KeySet,
  type SigningKey,
  signJws,
  toSubject,
} from '../../src/tokens/index.ts';

const ISSUER = 'https://auth.example';
const AUDIENCE = 'https://api.example';
const START = Date.UTC(2030, 0, 1);
const NOW = START / 1000;

let hs: SigningKey;
let ed: SigningKey;

before(
  async () => {
    hs = await generateSigningKey('HS256');
    ed = await generateSigningKey('EdDSA');
  },
  { timeout: 20000 },
);

function setup(overrides: Partial<AccessTokenCodecOptions> = {}) {
  const clock = new ManualClock(START);
  const codec = new AccessTokenCodec({
    keys: new KeySet([ed]),
    issuer: ISSUER,
    audience: AUDIENCE,
    clock,
    ...overrides,
  });
  return { clock, codec };
}

const INPUT: AccessTokenInput = { sub: 'user-1', sid: 'sess-1', client_id: 'web' };

function fails(code: string, pattern?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof BatonError, `expected BatonError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (pattern) assert.match(error.message, pattern);
    return true;
  };
}

/** Signs arbitrary claims with the codec's key, bypassing sign()'s checks. */
function forge(
  codec: AccessTokenCodec,
  claims: Record<string, unknown>,
  typ: string | null = 'at+jwt',
): string {
  const base = decodeUnverified(codec.sign(INPUT)).payload;
  return signJws(typ === null ? {} : { typ }, { ...base, ...claims }, codec.keys.signingKey);
}

describe('AccessTokenCodec.sign', () => {
  it('produces an RFC 9068 token with defaults filled in', () => {
    const { codec } = setup({ ttl: '10m' });
    const { token, claims } = codec.issue({ ...INPUT, roles: ['user'], scope: 'read', custom: { a: 1 } });
    const { header, payload } = decodeUnverified(token);
    assert.deepEqual(header, { alg: 'EdDSA', typ: 'at+jwt', kid: ed.kid });
    assert.deepEqual(payload, claims);
    assert.equal(claims.iss, ISSUER);
    assert.equal(claims.aud, AUDIENCE);
    assert.equal(claims.type, 'access');
    assert.equal(claims.iat, NOW);
    assert.equal(claims.nbf, NOW);
    assert.equal(claims.exp, NOW + 600);
    assert.equal(claims.fresh, false);
    assert.match(claims.jti, /^[A-Za-z0-9_-]{22}$/);
    assert.notEqual(codec.issue(INPUT).claims.jti, claims.jti);
    assert.deepEqual(codec.verify(token), claims);
  });

  it('verifies with a standard RFC 9068 resource server (jose + JWKS)', async () => {
    const { codec } = setup();
    const token = codec.sign(INPUT);
    const { payload } = await jwtVerify(token, createLocalJWKSet(codec.keys.toJWKS()), {
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: 'at+jwt',
      algorithms: ['EdDSA'],
      currentDate: new Date(START),
      requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id'],
    });
    assert.equal(payload.sub, 'user-1');
  });

  it('signs for every configured audience', () => {
    const { codec } = setup({ audience: ['a', 'b'] });
    const { claims } = codec.issue(INPUT);
    assert.deepEqual(claims.aud, ['a', 'b']);
    assert.ok(codec.verify(codec.sign(INPUT)));
  });

  it('keeps explicit times, jti and fresh', () => {
    const { codec } = setup();
    const { claims } = codec.issue({
      ...INPUT,
      jti: 'j',
      iat: NOW - 5,
      nbf: NOW - 4,
      exp: NOW + 5,
      fresh: NOW + 3,
    });
    assert.deepEqual(
      [claims.jti, claims.iat, claims.nbf, claims.exp, claims.fresh],
      ['j', NOW - 5, NOW - 4, NOW + 5, NOW + 3],
    );
  });

  it('converts integer subjects and refuses bad input', () => {
    const { codec } = setup();
    assert.equal(codec.issue({ ...INPUT, sub: 42 }).claims.sub, '42');
    assert.throws(
      () => codec.sign({ ...INPUT, sub: {} as unknown as string }),
      fails('invalid_options', /subject/),
    );
    assert.throws(() => codec.sign({ ...INPUT, sid: '' }), fails('invalid_options', /sid/));
    assert.throws(
      () => codec.sign({ ...INPUT, client_id: undefined as unknown as string }),
      fails('invalid_options'),
    );
    assert.throws(() => codec.sign({ ...INPUT, exp: Number.NaN }), fails('invalid_options', /exp/));
    assert.throws(
      () => codec.sign({ ...INPUT, fresh: 'yes' as unknown as boolean }),
      fails('invalid_options', /fresh/),
    );
    assert.throws(
      () => codec.sign({ ...INPUT, roles: 'admin' as unknown as string[] }),
      fails('invalid_options', /roles/),
    );
    for (const claim of ['iss', 'aud', 'type']) {
      assert.throws(
        () => codec.sign({ ...INPUT, [claim]: 'x' }),
        fails('invalid_options', /set by the codec/),
      );
    }
  });
});

describe('AccessTokenCodec.verify', () => {
  it('exp and nbf with leeway 0', () => {
    const { codec, clock } = setup({ ttl: 60 });
    const token = codec.sign(INPUT);
    clock.advance(59);
    assert.ok(codec.verify(token));
    clock.advance(1); // now == exp: expired (RFC 7519 4.1.4 "on or after")
    assert.throws(() => codec.verify(token), fails('token_expired'));

    clock.set(START);
    const later = codec.sign({ ...INPUT, nbf: NOW + 10, exp: NOW + 100 });
    clock.advance(9);
    assert.throws(() => codec.verify(later), fails('invalid_token', /not yet valid/));
    clock.advance(1);
    assert.ok(codec.verify(later));
  });

  it('exp and nbf with leeway', () => {
    const { codec, clock } = setup({ ttl: 60, leeway: '30s' });
    assert.equal(codec.leeway, 30);
    const token = codec.sign(INPUT);
    clock.advance(60 + 29);
    assert.ok(codec.verify(token));
    clock.advance(1);
    assert.throws(() => codec.verify(token), fails('token_expired'));

    clock.set(START);
    const later = codec.sign({ ...INPUT, nbf: NOW + 40, exp: NOW + 100 });
    clock.advance(9);
    assert.throws(() => codec.verify(later), fails('invalid_token', /not yet valid/));
    clock.advance(1);
    assert.ok(codec.verify(later));
  });

  it('rejects another issuer or audience', () => {
    const { codec } = setup();
    const other = setup({ issuer: 'https://evil.example' }).codec;
    assert.throws(() => codec.verify(other.sign(INPUT)), fails('invalid_token', /issuer/));
    const otherAudience = setup({ audience: 'https://other.example' }).codec;
    assert.throws(() => codec.verify(otherAudience.sign(INPUT)), fails('invalid_token', /audience/));
    assert.ok(codec.verify(forge(codec, { aud: ['x', AUDIENCE] })));
    assert.throws(() => codec.verify(forge(codec, { aud: ['x', 'y'] })), fails('invalid_token', /audience/));
    assert.throws(
      () => codec.verify(forge(codec, { aud: [AUDIENCE, 1] })),
      fails('invalid_token', /audience/),
    );
    assert.throws(() => codec.verify(forge(codec, { aud: undefined })), fails('invalid_token', /audience/));
    const multi = setup({ audience: ['a', AUDIENCE] }).codec;
    assert.ok(multi.verify(codec.sign(INPUT)));
  });

  it('rejects a refresh token with wrong_token_type', () => {
    const { codec } = setup();
    assert.throws(() => codec.verify(forge(codec, { type: 'refresh' })), fails('wrong_token_type'));
    // Even when the refresh token carries another typ: it is still a refresh token.
    assert.throws(() => codec.verify(forge(codec, { type: 'refresh' }, 'JWT')), fails('wrong_token_type'));
    assert.throws(() => codec.verify(forge(codec, { type: undefined })), fails('invalid_token', /type/));
  });

  it('requires typ at+jwt', () => {
    const { codec } = setup();
    assert.ok(codec.verify(forge(codec, {}, 'application/at+jwt')));
    assert.throws(() => codec.verify(forge(codec, {}, 'JWT')), fails('invalid_token', /typ/));
    assert.throws(() => codec.verify(forge(codec, {}, null)), fails('invalid_token', /typ/));
  });

  it('requires well-formed claims', () => {
    const { codec } = setup();
    const bad: Record<string, unknown>[] = [
      { exp: '2030-01-01' },
      { exp: undefined },
      { nbf: null },
      { iat: undefined },
      { sub: '' },
      { sub: 42 },
      { sid: undefined },
      { jti: '' },
      { client_id: undefined },
      { fresh: 'true' },
      { fresh: undefined },
      { roles: 'admin' },
      { scope: ['read'] },
    ];
    for (const claims of bad) {
      assert.throws(() => codec.verify(forge(codec, claims)), fails('invalid_token'), JSON.stringify(claims));
    }
  });

  it('pins algorithms and keys', async () => {
    const { codec } = setup();
    const hsCodec = setup({ keys: new KeySet([hs]) }).codec;
    assert.throws(() => codec.verify(hsCodec.sign(INPUT)), fails('invalid_token', /algorithm/));
    assert.throws(() => codec.verify('not a token'), fails('invalid_token'));
    const stranger = setup({ keys: new KeySet([await generateSigningKey('EdDSA')]) }).codec;
    assert.throws(() => codec.verify(stranger.sign(INPUT)), fails('invalid_token', /kid/));
  });

  it('verifies tokens of the previous key during rotation', async () => {
    const next = await generateSigningKey('ES256');
    const before = setup().codec;
    const token = before.sign(INPUT);
    const during = setup({ keys: new KeySet([ed, next]) }).codec;
    assert.deepEqual(during.algorithms, ['EdDSA', 'ES256']);
    assert.equal(decodeUnverified(during.sign(INPUT)).header.kid, next.kid);
    assert.ok(during.verify(token));
    const after = setup({ keys: new KeySet([{ ...ed, retired: true }, next]) }).codec;
    assert.throws(() => after.verify(token), fails('invalid_token'));
  });
});

describe('AccessTokenCodec options', () => {
  it('validates them', () => {
    const keys = new KeySet([ed]);
    const base = { keys, issuer: ISSUER, audience: AUDIENCE };
    assert.throws(() => new AccessTokenCodec({ ...base, issuer: '' }), fails('invalid_options', /issuer/));
    assert.throws(
      () => new AccessTokenCodec({ ...base, audience: [] }),
      fails('invalid_options', /audience/),
    );
    assert.throws(
      () => new AccessTokenCodec({ ...base, audience: [''] }),
      fails('invalid_options', /audience/),
    );
    assert.throws(
      () => new AccessTokenCodec({ ...base, algorithms: [] }),
      fails('invalid_options', /algorithms/),
    );
    assert.throws(
      () => new AccessTokenCodec({ ...base, algorithms: ['none' as 'HS256'] }),
      fails('invalid_options', /unsupported/),
    );
    assert.throws(
      () => new AccessTokenCodec({ ...base, algorithms: ['ES256'] }),
      fails('invalid_options', /signing key's algorithm/),
    );
    assert.throws(() => new AccessTokenCodec({ ...base, leeway: -1 }), fails('invalid_options', /leeway/));
    assert.throws(
      () => new AccessTokenCodec({ ...base, leeway: 'soon' }),
      fails('invalid_options', /leeway/),
    );
    assert.throws(
      () => new AccessTokenCodec({ ...base, keys: [ed] as unknown as KeySet }),
      fails('invalid_options', /KeySet/),
    );
    assert.deepEqual(new AccessTokenCodec(base).algorithms, ['EdDSA']);
  });
});

describe('freshness', () => {
  it('true, false, or fresh until a NumericDate', () => {
    assert.equal(isFresh({ fresh: true }, NOW), true);
    assert.equal(isFresh({ fresh: false }, NOW), false);
    assert.equal(isFresh({ fresh: NOW + 1 }, NOW), true);
    assert.equal(isFresh({ fresh: NOW }, NOW), false);
    assert.equal(isFresh({ fresh: NOW - 1 }, NOW), false);
    assert.equal(isFresh({ fresh: 'true' as unknown as boolean }, NOW), false);

    const { codec, clock } = setup();
    const claims = codec.verify(codec.sign({ ...INPUT, fresh: NOW + 300 }));
    assert.equal(codec.isFresh(claims), true);
    clock.advance(300);
    assert.equal(codec.isFresh(claims), false);
    assert.equal(codec.isFresh(codec.verify(codec.sign({ ...INPUT, fresh: true }))), true);
    assert.equal(codec.isFresh(codec.verify(codec.sign(INPUT))), false);
  });
});

describe('toSubject', () => {
  it('passes strings and converts integers', () => {
    assert.equal(toSubject('alice'), 'alice');
    assert.equal(toSubject('x'.repeat(255)), 'x'.repeat(255));
    assert.equal(toSubject(42), '42');
    assert.equal(toSubject(0), '0');
    assert.equal(toSubject(-7), '-7');
    assert.equal(toSubject(Number.MAX_SAFE_INTEGER), '9007199254740991');
    assert.equal(toSubject(12345678901234567890n), '12345678901234567890');
  });

  it('rejects everything else with invalid_options', () => {
    for (const value of [
      '',
      'x'.repeat(256),
      1.5,
      Number.NaN,
      Infinity,
      2 ** 60,
      null,
      undefined,
      {},
      [1],
      true,
      Symbol('s'),
    ]) {
      assert.throws(() => toSubject(value), fails('invalid_options', /subject/), String(value));
    }
    assert.throws(() => toSubject({ id: 1 }), fails('invalid_options', /String\(user\.id\)/));
  });
});
