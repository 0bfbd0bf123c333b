import assert from 'node:assert/strict';
import { createPublicKey, createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { calculateJwkThumbprint, createLocalJWKSet, jwtVerify } from 'jose';
import { BatonError } from '../../src/index.ts';
import {
  ALGORITHMS,
  type Algorithm,
  exportSigningKey,
  generateSigningKey,
  importSigningKey,
  KeySet,
  publicJwk,
  type SigningKey,
  signJws,
  verifyJws,
} from '../../src/tokens/index.ts';

const KEYGEN = { timeout: 20000 };
const ASYMMETRIC: readonly Algorithm[] = ['ES256', 'EdDSA', 'RS256', 'PS256'];
const SYMMETRIC: readonly Algorithm[] = ['HS256', 'HS384', 'HS512'];
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

function rejects(code: string, pattern?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof BatonError, `expected BatonError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (pattern) assert.match(error.message, pattern);
    return true;
  };
}

/** Signs with `signer` and verifies against a set holding only `verifier`. */
function roundTrip(signer: SigningKey, verifier: SigningKey): void {
  const token = signJws({ typ: 'JWT' }, { hello: 'world' }, signer);
  const keys = new KeySet([verifier], { verifyOnly: true });
  const { payload } = verifyJws(token, { keys, algorithms: [verifier.alg] });
  assert.deepEqual(payload, { hello: 'world' });
}

describe('generateSigningKey', () => {
  for (const alg of ALGORITHMS) {
    it(`${alg}: generates a usable key`, KEYGEN, async () => {
      const key = await generateSigningKey(alg);
      assert.equal(key.alg, alg);
      assert.ok(key.kid.length > 0);
      roundTrip(key, key);
    });
  }

  it('sizes keys as the algorithms require', KEYGEN, async () => {
    assert.equal((await generateSigningKey('HS256')).secretKey?.symmetricKeySize, 32);
    assert.equal((await generateSigningKey('HS384')).secretKey?.symmetricKeySize, 48);
    assert.equal((await generateSigningKey('HS512')).secretKey?.symmetricKeySize, 64);
    const rsa = await generateSigningKey('RS256');
    assert.equal(rsa.publicKey?.asymmetricKeyDetails?.modulusLength, 2048);
    const ec = await generateSigningKey('ES256');
    assert.equal(ec.publicKey?.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal((await generateSigningKey('EdDSA')).publicKey?.asymmetricKeyType, 'ed25519');
  });

  it('uses the RFC 7638 thumbprint as default kid of asymmetric keys', KEYGEN, async () => {
    for (const alg of ASYMMETRIC) {
      const key = await generateSigningKey(alg);
      const { kid: _kid, alg: _alg, use: _use, ...jwk } = publicJwk(key);
      assert.equal(key.kid, await calculateJwkThumbprint(jwk));
    }
  });

  it('takes a kid, and rejects unknown algorithms', async () => {
    assert.equal((await generateSigningKey('HS256', { kid: 'k1' })).kid, 'k1');
    await assert.rejects(generateSigningKey('none' as Algorithm), rejects('invalid_options', /unsupported/));
    await assert.rejects(generateSigningKey('HS256', { kid: '' }), rejects('invalid_options', /kid/));
  });
});

describe('import / export round trips', () => {
  for (const alg of ALGORITHMS) {
    it(`${alg}: JWK round trip keeps kid and material`, KEYGEN, async () => {
      const key = await generateSigningKey(alg);
      const jwk = exportSigningKey(key, 'jwk');
      assert.equal(jwk.kid, key.kid);
      assert.equal(jwk.alg, alg);
      assert.equal(jwk.use, 'sig');
      const imported = await importSigningKey({ alg, jwk });
      assert.equal(imported.kid, key.kid);
      roundTrip(imported, key);
      roundTrip(key, imported);
    });
  }

  for (const alg of ASYMMETRIC) {
    it(`${alg}: PEM round trip (private and public)`, KEYGEN, async () => {
      const key = await generateSigningKey(alg);
      const pem = exportSigningKey(key, 'pem');
      assert.match(pem, /-----BEGIN PRIVATE KEY-----/);
      const imported = await importSigningKey({ alg, pem });
      // No kid travels with PEM; the thumbprint brings the same one back.
      assert.equal(imported.kid, key.kid);
      roundTrip(imported, key);
      roundTrip(key, imported);

      const publicPem = key.publicKey!.export({ format: 'pem', type: 'spki' }) as string;
      const verifier = await importSigningKey({ alg, pem: publicPem });
      assert.equal(verifier.privateKey, undefined);
      assert.equal(verifier.kid, key.kid);
      roundTrip(key, verifier);
      assert.match(exportSigningKey(verifier, 'pem'), /-----BEGIN PUBLIC KEY-----/);
      assert.throws(() => signJws({}, {}, verifier), rejects('invalid_options'));

      const fromPublicJwk = await importSigningKey({ alg, jwk: publicJwk(key) });
      assert.equal(fromPublicJwk.privateKey, undefined);
      roundTrip(key, fromPublicJwk);
    });
  }

  for (const alg of SYMMETRIC) {
    it(`${alg}: raw secrets import (string and bytes) with a stable derived kid`, async () => {
      const size = Number(alg.slice(2)) / 8;
      const bytes = randomBytes(size);
      const a = await importSigningKey({ alg, secret: bytes });
      const b = await importSigningKey({ alg, secret: new Uint8Array(bytes) });
      assert.equal(a.kid, b.kid);
      assert.ok(!a.kid.includes(bytes.toString('base64url').slice(0, 8)));
      roundTrip(a, b);
      const text = 'x'.repeat(size);
      const fromString = await importSigningKey({ alg, secret: text });
      assert.deepEqual(fromString.secretKey?.export(), Buffer.from(text));
      assert.throws(() => exportSigningKey(a, 'pem'), rejects('invalid_options', /no PEM form/));
      assert.equal(exportSigningKey(a, 'jwk').k, bytes.toString('base64url'));
    });
  }
});

describe('import rejects what does not fit', () => {
  it('rejects HS secrets shorter than the hash', async () => {
    for (const [alg, size] of [
      ['HS256', 32],
      ['HS384', 48],
      ['HS512', 64],
    ] as const) {
      await assert.rejects(
        importSigningKey({ alg, secret: randomBytes(size - 1) }),
        rejects('invalid_options', new RegExp(`at least ${size} bytes`)),
      );
      await assert.rejects(
        importSigningKey({ alg, jwk: { kty: 'oct', k: randomBytes(size - 1).toString('base64url') } }),
        rejects('invalid_options', /at least/),
      );
    }
    await assert.rejects(
      importSigningKey({ alg: 'HS256', secret: 'changeme' }),
      rejects('invalid_options', /32 bytes/),
    );
  });

  it('rejects key types that do not fit the algorithm', KEYGEN, async () => {
    const rsa = exportSigningKey(await generateSigningKey('RS256'), 'pem');
    const ec = exportSigningKey(await generateSigningKey('ES256'), 'pem');
    const ed = exportSigningKey(await generateSigningKey('EdDSA'), 'pem');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({
      format: 'pem',
      type: 'pkcs8',
    }) as string;
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
      format: 'pem',
      type: 'pkcs8',
    }) as string;
    const cases: [Algorithm, string, RegExp][] = [
      ['ES256', rsa, /ES256 needs an EC P-256 key, got rsa/],
      ['ES256', p384, /curve P-256, got secp384r1/],
      ['ES256', ed, /got ed25519/],
      ['RS256', ec, /RS256 needs an RSA key, got ec/],
      ['PS256', ed, /PS256 needs an RSA key/],
      ['RS256', rsa1024, /at least 2048 bits, got 1024/],
      ['EdDSA', ec, /EdDSA needs an Ed25519 key, got ec/],
      ['EdDSA', rsa, /got rsa/],
    ];
    for (const [alg, pem, message] of cases) {
      await assert.rejects(importSigningKey({ alg, pem }), rejects('invalid_options', message));
    }
    await assert.rejects(
      importSigningKey({ alg: 'HS256', pem: rsa }),
      rejects('invalid_options', /shared secret/),
    );
    await assert.rejects(
      importSigningKey({ alg: 'ES256', secret: randomBytes(32) }),
      rejects('invalid_options', /asymmetric/),
    );
    await assert.rejects(
      importSigningKey({ alg: 'ES256', jwk: { kty: 'oct', k: randomBytes(32).toString('base64url') } }),
      rejects('invalid_options', /asymmetric/),
    );
    const ecJwk = exportSigningKey(await generateSigningKey('ES256'), 'jwk');
    await assert.rejects(
      importSigningKey({ alg: 'RS256', jwk: ecJwk }),
      rejects('invalid_options', /for alg ES256/),
    );
    const { alg: _alg, ...ecJwkNoAlg } = ecJwk;
    await assert.rejects(
      importSigningKey({ alg: 'RS256', jwk: ecJwkNoAlg }),
      rejects('invalid_options', /RSA key/),
    );
    await assert.rejects(
      importSigningKey({ alg: 'ES256', jwk: { ...ecJwk, use: 'enc' } }),
      rejects('invalid_options', /use/),
    );
    await assert.rejects(
      importSigningKey({ alg: 'ES256', pem: 'not a key' }),
      rejects('invalid_options', /import/),
    );
    await assert.rejects(
      importSigningKey({ alg: 'ES256', pem: ec, jwk: ecJwk }),
      rejects('invalid_options', /exactly one/),
    );
    await assert.rejects(importSigningKey({ alg: 'ES256' }), rejects('invalid_options', /exactly one/));
  });
});

describe('KeySet', () => {
  it('validates its keys with readable messages', KEYGEN, async () => {
    const hs = await generateSigningKey('HS256', { kid: 'a' });
    const es = await generateSigningKey('ES256', { kid: 'a' });
    assert.throws(() => new KeySet([]), rejects('invalid_options', /at least one key/));
    assert.throws(() => new KeySet([hs, es]), rejects('invalid_options', /duplicate key id "a"/));
    assert.throws(() => new KeySet([{ ...hs, retired: true }]), rejects('invalid_options', /retired/));
    const { privateKey: _p, ...publicOnly } = es;
    assert.throws(() => new KeySet([publicOnly]), rejects('invalid_options', /can sign.*verifyOnly/));
    const verifyOnly = new KeySet([publicOnly], { verifyOnly: true });
    assert.equal(verifyOnly.canSign, false);
    assert.throws(() => verifyOnly.signingKey, rejects('invalid_options', /only verifies/));
    assert.throws(
      () => new KeySet([{ kid: 'x', alg: 'ES256', secretKey: hs.secretKey! }]),
      rejects('invalid_options', /keys\[0\] \(x\): ES256 needs publicKey/),
    );
    assert.throws(
      () => new KeySet([{ ...es, alg: 'RS256' }]),
      rejects('invalid_options', /RS256 needs an RSA key/),
    );
    assert.throws(() => new KeySet([{ ...hs, kid: '' }]), rejects('invalid_options', /kid/));
  });

  it('rotates: newest key signs, older keys verify until retired', KEYGEN, async () => {
    const old = await generateSigningKey('EdDSA');
    const next = await generateSigningKey('ES256');
    const before = new KeySet([old]);
    const oldToken = signJws({ typ: 'JWT' }, { n: 1 }, before.signingKey);

    const during = new KeySet([old, next]);
    assert.equal(during.signingKey, next);
    assert.deepEqual(during.algorithms, ['EdDSA', 'ES256']);
    const newToken = signJws({ typ: 'JWT' }, { n: 2 }, during.signingKey);
    const algorithms = during.algorithms;
    assert.deepEqual(verifyJws(oldToken, { keys: during, algorithms }).payload, { n: 1 });
    assert.deepEqual(verifyJws(newToken, { keys: during, algorithms }).payload, { n: 2 });
    assert.equal(verifyJws(newToken, { keys: during, algorithms }).header.kid, next.kid);

    const after = new KeySet([{ ...old, retired: true }, next]);
    assert.equal(after.get(old.kid), undefined);
    assert.throws(
      () => verifyJws(oldToken, { keys: after, algorithms }),
      rejects('invalid_token', /unknown kid/),
    );
    assert.deepEqual(verifyJws(newToken, { keys: after, algorithms }).payload, { n: 2 });
    assert.deepEqual(
      after.toJWKS().keys.map((jwk) => jwk.kid),
      [next.kid],
    );
  });

  it('signs with the newest key that can sign, skipping verify-only and retired ones', KEYGEN, async () => {
    const a = await generateSigningKey('ES256');
    const b = await generateSigningKey('ES256');
    const c = await generateSigningKey('ES256');
    const { privateKey: _p, ...bPublic } = b;
    const set = new KeySet([a, bPublic, { ...c, retired: true }]);
    assert.equal(set.signingKey, a);
    assert.equal(set.size, 2);
    assert.ok(set.get(b.kid));
  });

  it('publishes a JWKS with public keys only, usable by a standard verifier', KEYGEN, async () => {
    const keys = await Promise.all(ALGORITHMS.map((alg) => generateSigningKey(alg)));
    const set = new KeySet(keys);
    const jwks = set.toJWKS();
    assert.deepEqual(
      jwks.keys.map((jwk) => jwk.alg),
      ASYMMETRIC,
    );
    for (const jwk of jwks.keys) {
      assert.equal(jwk.use, 'sig');
      assert.ok(jwk.kid);
      for (const member of PRIVATE_MEMBERS)
        assert.equal(member in jwk, false, `${jwk.alg} JWKS leaks ${member}`);
    }
    const serialized = JSON.stringify(jwks);
    for (const key of keys.filter((k) => k.secretKey)) {
      assert.ok(!serialized.includes(key.secretKey!.export().toString('base64url')));
    }
    // Editing one answer does not change the next.
    jwks.keys[0]!.kid = 'tampered';
    assert.notEqual(set.toJWKS().keys[0]!.kid, 'tampered');

    const remote = createLocalJWKSet(set.toJWKS());
    for (const key of keys.filter((k) => k.privateKey)) {
      const token = signJws({ typ: 'at+jwt' }, { sub: 'u' }, key);
      const { payload } = await jwtVerify(token, remote, { algorithms: [key.alg], typ: 'at+jwt' });
      assert.equal(payload.sub, 'u');
    }
  });

  it('publicJwk refuses HS keys, and never exposes private members', KEYGEN, async () => {
    assert.throws(() => publicJwk(new KeySet([generateHs()]).signingKey), rejects('invalid_options'));
    const rsa = await generateSigningKey('RS256');
    const jwk = publicJwk(rsa);
    for (const member of PRIVATE_MEMBERS) assert.equal(member in jwk, false);
    assert.deepEqual(createPublicKey({ key: jwk as never, format: 'jwk' }).export({ format: 'jwk' }), {
      kty: 'RSA',
      n: jwk.n,
      e: jwk.e,
    });
  });
});

function generateHs(): SigningKey {
  return { kid: 'hs', alg: 'HS256', secretKey: createSecretKey(randomBytes(32)) };
}
