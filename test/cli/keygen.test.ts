import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ALGORITHMS, importSigningKey, type JWK } from '../../src/index.ts';
import { assertOk, baton, parseJson } from './support.ts';

const KEY_TIMEOUT = { timeout: 20000 };

describe('baton keygen', () => {
  test('--alg ALG (every algorithm) prints a private JWK that imports', { timeout: 45000 }, async () => {
    const results = await Promise.all(ALGORITHMS.map((alg) => baton(['keygen', '--alg', alg])));
    for (const [index, alg] of ALGORITHMS.entries()) {
      const result = results[index]!;
      assertOk(result);
      const jwk = parseJson(result.stdout) as JWK;
      assert.equal(jwk.alg, alg);
      assert.equal(typeof jwk.kid, 'string');
      if (alg.startsWith('HS')) assert.equal(jwk.kty, 'oct');
      else assert.equal(typeof jwk.d, 'string', 'the private part is printed');
      const key = await importSigningKey({ alg, jwk });
      assert.equal(key.kid, jwk.kid);
    }
  });

  test('the default is an EdDSA JWK', KEY_TIMEOUT, async () => {
    const result = await baton(['keygen']);
    assertOk(result);
    const jwk = parseJson(result.stdout) as JWK;
    assert.equal(jwk.alg, 'EdDSA');
    assert.equal(jwk.crv, 'Ed25519');
  });

  test('--json gives alg, kid, format, key and the public JWK', KEY_TIMEOUT, async () => {
    const [asymmetric, secret] = await Promise.all([
      baton(['keygen', '--alg', 'ES256', '--json']),
      baton(['keygen', '--alg', 'HS256', '--format', 'secret', '--json']),
    ]);
    assertOk(asymmetric);
    const out = parseJson(asymmetric.stdout);
    assert.equal(out.alg, 'ES256');
    assert.equal(out.format, 'jwk');
    const key = out.key as JWK;
    const pub = out.public_jwk as JWK;
    assert.equal(typeof key.d, 'string');
    assert.equal(pub.d, undefined);
    assert.equal(pub.kid, out.kid);
    assertOk(secret);
    const hs = parseJson(secret.stdout);
    assert.equal(hs.public_jwk, null);
    assert.equal(typeof hs.key, 'string');
  });
});
