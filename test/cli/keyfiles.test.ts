import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Algorithm } from '../../src/index.ts';
import { importSigningKey, type JWK } from '../../src/index.ts';
import { assertOk, assertOneErrorLine, baton, type KeyFixture, keyFixture, parseJson } from './support.ts';

const KEY_TIMEOUT = { timeout: 20000 };

let fixture: KeyFixture;
before(async () => {
  fixture = await keyFixture();
});
after(() => fixture.dir.remove());

describe('baton keygen formats', () => {
  test('--format pem prints a PKCS#8 key (asymmetric algorithms)', { timeout: 30000 }, async () => {
    const algs: Algorithm[] = ['EdDSA', 'ES256', 'RS256'];
    const results = await Promise.all(algs.map((alg) => baton(['keygen', '--alg', alg, '--format', 'pem'])));
    for (const [index, alg] of algs.entries()) {
      const result = results[index]!;
      assertOk(result);
      assert.match(result.stdout, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+-----END PRIVATE KEY-----\n$/);
      await importSigningKey({ alg, pem: result.stdout });
    }
  });

  test('--format secret prints a base64url text secret (HS*)', { timeout: 30000 }, async () => {
    const cases = [
      ['HS256', 43],
      ['HS384', 64],
      ['HS512', 86],
    ] as const;
    const results = await Promise.all(
      cases.map(([alg]) => baton(['keygen', '--alg', alg, '--format', 'secret'])),
    );
    for (const [index, [alg, length]] of cases.entries()) {
      const result = results[index]!;
      assertOk(result);
      assert.match(result.stdout, new RegExp(`^[A-Za-z0-9_-]{${length}}\\n$`));
      await importSigningKey({ alg, secret: result.stdout.trim() });
    }
  });

  test('--out writes the key with mode 0600 and never overwrites', KEY_TIMEOUT, async () => {
    assert.equal(statSync(fixture.keyFile).mode & 0o777, 0o600);
    const again = await baton(['keygen', '--out', fixture.keyFile]);
    assertOneErrorLine(again, 1, /exists/);
    assert.equal(parseJson(readFileSync(fixture.keyFile, 'utf8')).kid, 'cli-key');
  });
});

describe('baton jwks', () => {
  test('prints only public keys', () => {
    const jwks = parseJson(readFileSync(fixture.jwksFile, 'utf8'));
    const keys = jwks.keys as JWK[];
    assert.equal(keys.length, 1);
    assert.equal(keys[0]?.kid, 'cli-key');
    assert.equal(keys[0]?.d, undefined);
  });

  test('refuses HS keys, which have no public part', KEY_TIMEOUT, async () => {
    const secret = fixture.dir.file('hs.jwk.json');
    assertOk(await baton(['keygen', '--alg', 'HS256', '--out', secret]));
    assertOneErrorLine(await baton(['jwks', secret]), 1, /no public JWK/);
  });
});

describe('key and JWKS files are read only up to 1 MiB', () => {
  test('an endless file (/dev/zero) as a key file or a --jwks file: exit 1 at once, one line', async () => {
    const results = await Promise.all([
      baton(['jwks', '/dev/zero'], { timeoutMs: 20_000 }),
      baton(['verify', fixture.token, '--jwks', '/dev/zero'], { timeoutMs: 20_000 }),
    ]);
    for (const result of results) assertOneErrorLine(result, 1, /\/dev\/zero is too large/);
  });
});
