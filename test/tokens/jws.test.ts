import assert from 'node:assert/strict';
import { createHmac, sign as nodeSign } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { compactVerify, jwtVerify, SignJWT } from 'jose';
import { BatonError } from '../../src/index.ts';
import {
  ALGORITHMS,
  type Algorithm,
  DEFAULT_MAX_TOKEN_LENGTH,
  decodeUnverified,
  exportSigningKey,
  generateSigningKey,
  KeySet,
  publicJwk,
  type SigningKey,
  signJws,
  typMatches,
  verifyJws,
} from '../../src/tokens/index.ts';

const KEYGEN = { timeout: 20000 };
const keys = new Map<Algorithm, SigningKey>();

before(async () => {
  for (const key of await Promise.all(ALGORITHMS.map((alg) => generateSigningKey(alg))))
    keys.set(key.alg, key);
}, KEYGEN);

function keyOf(alg: Algorithm): SigningKey {
  return keys.get(alg)!;
}

/** The key jose verifies with: the secret for HS*, else the public key. */
function joseKey(key: SigningKey) {
  return key.secretKey ?? key.publicKey!;
}

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Builds a token by hand, so attacks can put anything in the header. */
function craft(header: unknown, payload: unknown, sign: (input: string) => string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign(input)}`;
}

function hmac(secret: string | Buffer, input: string, hash = 'sha256'): string {
  return createHmac(hash, secret).update(input).digest('base64url');
}

function invalidToken(pattern?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof BatonError, `expected BatonError, got ${String(error)}`);
    assert.equal(error.code, 'invalid_token');
    if (pattern) assert.match(error.message, pattern);
    return true;
  };
}

function verifyWith(key: SigningKey, token: string, extra: { typ?: string; algorithms?: Algorithm[] } = {}) {
  return verifyJws(token, { keys: new KeySet([key]), algorithms: extra.algorithms ?? [key.alg], ...extra });
}

const PAYLOAD = { sub: 'user-1', n: 42, nested: { list: [1, 'two', null, true] }, text: 'héllo ✓' };

describe('interoperability with jose', () => {
  for (const alg of ALGORITHMS) {
    it(`${alg}: Baton-signed tokens verify with jose`, async () => {
      const key = keyOf(alg);
      const token = signJws({ typ: 'at+jwt' }, PAYLOAD, key);
      const { payload, protectedHeader } = await jwtVerify(token, joseKey(key), {
        algorithms: [alg],
        typ: 'at+jwt',
      });
      assert.deepEqual(payload, PAYLOAD);
      assert.deepEqual(protectedHeader, { alg, typ: 'at+jwt', kid: key.kid });
      const compact = await compactVerify(token, joseKey(key), { algorithms: [alg] });
      assert.deepEqual(JSON.parse(new TextDecoder().decode(compact.payload)), PAYLOAD);
    });

    it(`${alg}: jose-signed tokens verify with Baton`, async () => {
      const key = keyOf(alg);
      const token = await new SignJWT(PAYLOAD)
        .setProtectedHeader({ alg, typ: 'at+jwt', kid: key.kid })
        .sign(key.secretKey ?? key.privateKey!);
      const { header, payload } = verifyWith(key, token, { typ: 'at+jwt' });
      assert.deepEqual(payload, PAYLOAD);
      assert.deepEqual({ ...header }, { alg, typ: 'at+jwt', kid: key.kid });
    });
  }

  it('alg and kid always come from the key', () => {
    const key = keyOf('HS256');
    const token = signJws({ alg: 'none', kid: 'other', typ: 'JWT' }, {}, key);
    assert.deepEqual(decodeUnverified(token).header, { alg: 'HS256', kid: key.kid, typ: 'JWT' });
  });

  it('refuses to sign with a retired key', () => {
    assert.throws(() => signJws({}, {}, { ...keyOf('HS256'), retired: true }), /retired/);
  });
});

describe('verifyJws attacks', () => {
  it('rejects alg none, with or without a signature', () => {
    for (const alg of ALGORITHMS) {
      const key = keyOf(alg);
      for (const none of ['none', 'None', 'NONE']) {
        const unsigned = craft({ alg: none, kid: key.kid }, PAYLOAD, () => '');
        assert.throws(() => verifyWith(key, unsigned), invalidToken());
        const signed = craft({ alg: none, kid: key.kid }, PAYLOAD, () => 'c2lnbmF0dXJl');
        assert.throws(() => verifyWith(key, signed), invalidToken(/algorithm not allowed/));
        const real = signJws({}, PAYLOAD, key).split('.')[2]!;
        const withRealSignature = craft({ alg: none, kid: key.kid }, PAYLOAD, () => real);
        assert.throws(
          () => verifyJws(withRealSignature, { keys: new KeySet([key]), algorithms: ALGORITHMS }),
          invalidToken(/algorithm not allowed/),
        );
      }
    }
  });

  it('rejects HS256 "signed" with an RSA or EC public key as the HMAC secret', () => {
    for (const alg of ['RS256', 'PS256', 'ES256', 'EdDSA'] as const) {
      const key = keyOf(alg);
      const pem = key.publicKey!.export({ format: 'pem', type: 'spki' }) as string;
      const der = key.publicKey!.export({ format: 'der', type: 'spki' });
      const jwkText = JSON.stringify(publicJwk(key));
      for (const secret of [
        pem,
        pem.trim(),
        der,
        jwkText,
        JSON.stringify(key.publicKey!.export({ format: 'jwk' })),
      ]) {
        for (const hs of ['HS256', 'HS384', 'HS512'] as const) {
          const hash = `sha${hs.slice(2)}`;
          const token = craft({ alg: hs, kid: key.kid, typ: 'at+jwt' }, PAYLOAD, (input) =>
            hmac(secret, input, hash),
          );
          // Pinned to the key's algorithm: the HS alg is not even considered.
          assert.throws(() => verifyWith(key, token), invalidToken(/algorithm not allowed/));
          // Even with HS algorithms allowed, the key is bound to its own algorithm.
          assert.throws(
            () => verifyJws(token, { keys: new KeySet([key, keyOf('HS256')]), algorithms: ALGORITHMS }),
            invalidToken(/does not match key/),
          );
        }
      }
    }
  });

  it('rejects an alg outside the pinned list, even with a valid signature', () => {
    const key = keyOf('HS256');
    const token = signJws({}, PAYLOAD, key);
    assert.throws(
      () => verifyWith(key, token, { algorithms: ['HS512', 'RS256'] }),
      invalidToken(/not allowed/),
    );
    assert.throws(() => verifyWith(key, token, { algorithms: [] }), invalidToken(/not allowed/));
  });

  it('rejects an unknown kid, and a missing kid when several keys could verify', () => {
    const a = keyOf('ES256');
    const b = keyOf('EdDSA');
    const set = new KeySet([a, b]);
    const token = signJws({}, PAYLOAD, a);
    assert.deepEqual(verifyJws(token, { keys: set, algorithms: ALGORITHMS }).payload, PAYLOAD);
    const otherKid = craft({ alg: 'ES256', kid: 'nope' }, PAYLOAD, () => token.split('.')[2]!);
    assert.throws(
      () => verifyJws(otherKid, { keys: set, algorithms: ALGORITHMS }),
      invalidToken(/unknown kid/),
    );
    assert.throws(() => verifyWith(a, otherKid), invalidToken(/unknown kid/));
    const noKid = craft({ alg: 'ES256' }, PAYLOAD, (input) =>
      nodeSign('sha256', Buffer.from(input), { key: a.privateKey!, dsaEncoding: 'ieee-p1363' }).toString(
        'base64url',
      ),
    );
    assert.deepEqual(verifyWith(a, noKid).payload, PAYLOAD);
    assert.throws(() => verifyJws(noKid, { keys: set, algorithms: ALGORITHMS }), invalidToken(/missing kid/));
    const numericKid = craft({ alg: 'ES256', kid: 1 }, PAYLOAD, () => 'AAAA');
    assert.throws(() => verifyWith(a, numericKid), invalidToken(/kid/));
  });

  it('rejects tampered payloads and signatures', () => {
    for (const alg of ALGORITHMS) {
      const key = keyOf(alg);
      const [header, payload, signature] = signJws({}, PAYLOAD, key).split('.') as [string, string, string];
      const forged = b64({ ...PAYLOAD, sub: 'admin' });
      assert.throws(() => verifyWith(key, `${header}.${forged}.${signature}`), invalidToken(/bad signature/));
      const flipped = (signature[5] === 'A' ? 'B' : 'A') as string;
      const badSignature = signature.slice(0, 5) + flipped + signature.slice(6);
      assert.throws(
        () => verifyWith(key, `${header}.${payload}.${badSignature}`),
        invalidToken(/bad signature/),
      );
      assert.throws(() => verifyWith(key, `${header}.${payload}.${signature.slice(0, -4)}`), invalidToken());
      assert.throws(() => verifyWith(key, `${header}.${payload}.`), invalidToken(/malformed/));
    }
  });

  it('rejects anything but three canonical unpadded base64url segments', () => {
    const key = keyOf('HS256');
    const token = signJws({}, PAYLOAD, key);
    const [h, p, s] = token.split('.') as [string, string, string];
    const cases = [
      `${token}.`,
      `${token}.${s}`,
      `${h}.${p}`,
      `${h}..${s}`,
      `.${p}.${s}`,
      `${h}.${p}.${s}=`,
      `${h}.${p}.${s}==`,
      `${h}=.${p}.${s}`,
      `${h}.${p}.${s.replace(/-|_/, '+')}x`,
      `${h}.${p}.${s.slice(0, 10)}/${s.slice(11)}`,
      `${h}.${p}.${s.slice(0, 10)} ${s.slice(11)}`,
      `${h}.${p}.${s}\n`,
      ` ${token}`,
      `${h}.${p}.${s}%`,
      `${h}.${p}.${s.slice(0, 10)}*${s.slice(11)}`,
      '',
      '...',
      'a.b.c',
    ];
    for (const bad of cases) assert.throws(() => verifyWith(key, bad), invalidToken(), JSON.stringify(bad));
    // HS256 signatures are 43 chars: the last one carries 2 unused bits that must be zero.
    const last = s.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[alphabet.indexOf(last) | 1]!;
    assert.notEqual(twin, last);
    assert.deepEqual(Buffer.from(s.slice(0, -1) + twin, 'base64url'), Buffer.from(s, 'base64url'));
    assert.throws(() => verifyWith(key, `${h}.${p}.${s.slice(0, -1)}${twin}`), invalidToken(/malformed/));
  });

  it('checks the length first', () => {
    const key = keyOf('HS256');
    const big = signJws({}, { blob: 'x'.repeat(DEFAULT_MAX_TOKEN_LENGTH) }, key);
    assert.throws(() => verifyWith(key, big), invalidToken(/too long/));
    assert.throws(
      () => verifyWith(key, `${'!'.repeat(DEFAULT_MAX_TOKEN_LENGTH + 1)}`),
      invalidToken(/too long/),
    );
    const small = signJws({}, { blob: 'x'.repeat(100) }, key);
    assert.ok(verifyWith(key, small));
    assert.throws(
      () => verifyJws(small, { keys: new KeySet([key]), algorithms: ['HS256'], maxLength: 100 }),
      invalidToken(/too long/),
    );
    assert.throws(() => verifyWith(key, 42 as unknown as string), invalidToken(/string/));
  });

  it('requires JSON objects for header and payload', () => {
    const key = keyOf('HS256');
    const secret = key.secretKey!.export();
    const sign = (input: string) => hmac(secret, input);
    for (const header of [['HS256'], 'HS256', null, 1]) {
      assert.throws(() => verifyWith(key, craft(header, PAYLOAD, sign)), invalidToken(/malformed header/));
    }
    const notJson = `${b64('{"alg":"HS256"')}.${b64(PAYLOAD)}`;
    assert.throws(() => verifyWith(key, `${notJson}.${sign(notJson)}`), invalidToken(/malformed header/));
    const badUtf8 = `${Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]).toString('base64url')}.${b64(PAYLOAD)}`;
    assert.throws(() => verifyWith(key, `${badUtf8}.${sign(badUtf8)}`), invalidToken(/malformed header/));
    for (const payload of [[1, 2], 'text', null, 7, true]) {
      assert.throws(
        () => verifyWith(key, craft({ alg: 'HS256' }, payload, sign)),
        invalidToken(/malformed payload/),
      );
    }
  });

  it('rejects any crit header', () => {
    const key = keyOf('HS256');
    const secret = key.secretKey!.export();
    for (const crit of [['exp'], ['b64'], [], 'b64']) {
      const token = craft({ alg: 'HS256', b64: true, crit }, PAYLOAD, (input) => hmac(secret, input));
      assert.throws(() => verifyWith(key, token), invalidToken(/critical/));
    }
  });

  it('compares typ case-insensitively, with application/ optional, and rejects others', () => {
    const key = keyOf('EdDSA');
    for (const typ of ['at+jwt', 'AT+JWT', 'application/at+jwt', 'Application/At+JWT']) {
      assert.ok(verifyWith(key, signJws({ typ }, PAYLOAD, key), { typ: 'at+jwt' }));
    }
    for (const typ of ['JWT', 'at+jwt ', 'text/at+jwt', 'jwt', 'application/jwt', 1, null]) {
      assert.throws(
        () => verifyWith(key, signJws({ typ }, PAYLOAD, key), { typ: 'at+jwt' }),
        invalidToken(/typ/),
      );
    }
    assert.throws(() => verifyWith(key, signJws({}, PAYLOAD, key), { typ: 'at+jwt' }), invalidToken(/typ/));
    assert.equal(typMatches('AT+JWT', 'application/at+jwt'), true);
    assert.equal(typMatches(undefined, 'at+jwt'), false);
  });

  it('rejects an ES256 signature in DER form', () => {
    const key = keyOf('ES256');
    const token = craft({ alg: 'ES256', kid: key.kid }, PAYLOAD, (input) =>
      nodeSign('sha256', Buffer.from(input), { key: key.privateKey!, dsaEncoding: 'der' }).toString(
        'base64url',
      ),
    );
    assert.throws(() => verifyWith(key, token), invalidToken(/bad signature/));
  });

  it('rejects PS256 with a salt length other than the hash length, and RS256/PS256 confusion', async () => {
    const key = keyOf('PS256');
    const { constants } = await import('node:crypto');
    const token = craft({ alg: 'PS256', kid: key.kid }, PAYLOAD, (input) =>
      nodeSign('sha256', Buffer.from(input), {
        key: key.privateKey!,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 20,
      }).toString('base64url'),
    );
    assert.throws(() => verifyWith(key, token), invalidToken(/bad signature/));
    const rs = craft({ alg: 'RS256', kid: key.kid }, PAYLOAD, (input) =>
      nodeSign('sha256', Buffer.from(input), key.privateKey!).toString('base64url'),
    );
    assert.throws(
      () => verifyJws(rs, { keys: new KeySet([key]), algorithms: ['RS256', 'PS256'] }),
      invalidToken(),
    );
  });

  it('gives __proto__ no power', () => {
    const key = keyOf('HS256');
    const secret = key.secretKey!.export();
    const header = '{"alg":"HS256","__proto__":{"polluted":true}}';
    const payload = '{"sub":"x","__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}}}';
    const input = `${b64(header)}.${b64(payload)}`;
    const result = verifyWith(key, `${input}.${hmac(secret, input)}`);
    assert.equal(Object.getPrototypeOf(result.payload), Object.prototype);
    assert.equal((result.payload as { admin?: unknown }).admin, undefined);
    assert.equal(({} as { admin?: unknown; polluted?: unknown }).admin, undefined);
    assert.equal(({} as { polluted?: unknown }).polluted, undefined);
    assert.ok(Object.hasOwn(result.payload, '__proto__'));
  });

  it('returns a frozen header, safe to share', () => {
    const key = keyOf('HS256');
    const token = signJws({ typ: 'JWT' }, PAYLOAD, key);
    const first = verifyWith(key, token).header;
    assert.ok(Object.isFrozen(first));
    assert.throws(() => {
      (first as { alg: string }).alg = 'none';
    });
    assert.equal(verifyWith(key, token).header.alg, 'HS256');
  });
});

describe('decodeUnverified', () => {
  it('decodes without checking the signature', () => {
    const key = keyOf('HS256');
    const token = signJws({ typ: 'at+jwt' }, PAYLOAD, key);
    assert.deepEqual(decodeUnverified(token), {
      header: { alg: 'HS256', typ: 'at+jwt', kid: key.kid },
      payload: PAYLOAD,
    });
    assert.deepEqual(decodeUnverified(craft({ alg: 'none' }, { a: 1 }, () => '')).payload, { a: 1 });
  });

  it('throws invalid_token on malformed input', () => {
    for (const bad of [
      '',
      'abc',
      'a.b',
      'a.b.c.d',
      `${b64({})}.${b64([])}.x`,
      `${b64('x')}.${b64({})}.x`,
      `${b64({})}.${b64({})}.x=`,
    ]) {
      assert.throws(() => decodeUnverified(bad), invalidToken(), bad);
    }
  });

  it('keeps private material out of exported public keys', KEYGEN, () => {
    const jwk = exportSigningKey(keyOf('ES256'), 'jwk');
    assert.ok(jwk.d);
    assert.equal(publicJwk(keyOf('ES256')).d, undefined);
  });
});
