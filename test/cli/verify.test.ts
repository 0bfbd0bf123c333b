import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { AccessTokenCodec } from '../../src/tokens/access-token.ts';
import { importSigningKey, type JWK, KeySet } from '../../src/tokens/keys.ts';
import {
  AUDIENCE,
  assertOk,
  baton,
  ISSUER,
  type KeyFixture,
  keyFixture,
  parseJson,
  tamper,
} from './support.ts';

let fixture: KeyFixture;
before(async () => {
  fixture = await keyFixture();
});
after(() => fixture.dir.remove());

test('verify: a valid token against a JWKS file made by keygen -> 0', async () => {
  const result = await baton(['verify', fixture.token, '--jwks', fixture.jwksFile]);
  assertOk(result);
  assert.match(result.stdout, /^valid access token\n/);
  assert.match(result.stdout, /sub: +u1/);
  assert.match(result.stdout, /expires: .+\(expires in \d+m/);
  assert.match(result.stdout, /note: iss and aud not checked/);
});

test('verify checks --iss and --aud', async () => {
  const [ok, wrongAud, wrongIss] = await Promise.all([
    baton([
      'verify',
      fixture.token,
      '--jwks',
      fixture.jwksFile,
      '--iss',
      ISSUER,
      '--aud',
      'other',
      '--aud',
      AUDIENCE,
    ]),
    baton(['verify', fixture.token, '--jwks', fixture.jwksFile, '--aud', 'other']),
    baton(['verify', fixture.token, '--jwks', fixture.jwksFile, '--iss', 'https://evil.test', '--json']),
  ]);
  assertOk(ok);
  assert.doesNotMatch(ok.stdout, /not checked/);
  assert.equal(wrongAud.code, 1);
  assert.equal(wrongAud.stdout, 'invalid: invalid_token (unexpected audience)\n');
  assert.equal(wrongIss.code, 1);
  assert.deepEqual(parseJson(wrongIss.stdout), {
    valid: false,
    error: 'invalid_token',
    message: 'unexpected issuer',
  });
});

test('verify: tampered -> 1 with the code; expired -> token_expired; garbage -> invalid_token', async () => {
  const now = Math.floor(Date.now() / 1000);
  const [tampered, expired, garbage] = await Promise.all([
    baton(['verify', tamper(fixture.token), '--jwks', fixture.jwksFile]),
    baton(['verify', fixture.sign({ iat: now - 100, exp: now - 10 }), '--jwks', fixture.jwksFile]),
    baton(['verify', 'garbage', '--jwks', fixture.jwksFile, '--json']),
  ]);
  assert.equal(tampered.code, 1);
  assert.equal(tampered.stdout, 'invalid: invalid_token (bad signature)\n');
  assert.equal(expired.code, 1);
  assert.match(expired.stdout, /^invalid: token_expired/);
  assert.equal(garbage.code, 1);
  assert.equal(parseJson(garbage.stdout).error, 'invalid_token');
});

test('verify --json for a valid token', async () => {
  const result = await baton([
    'verify',
    fixture.token,
    '--jwks',
    fixture.jwksFile,
    '--iss',
    ISSUER,
    '--aud',
    AUDIENCE,
    '--json',
  ]);
  assertOk(result);
  const out = parseJson(result.stdout);
  assert.equal(out.valid, true);
  assert.equal((out.claims as Record<string, unknown>).client_id, 'cli-test');
  assert.deepEqual(out.unchecked, []);
});

test('verify an HS256 token with --key (an oct JWK)', { timeout: 20000 }, async () => {
  const hsFile = fixture.dir.file('verify-hs.jwk.json');
  assertOk(await baton(['keygen', '--alg', 'HS256', '--out', hsFile]));
  const jwk = parseJson(readFileSync(hsFile, 'utf8')) as JWK;
  const hs = new AccessTokenCodec({
    keys: new KeySet([await importSigningKey({ alg: 'HS256', jwk })]),
    issuer: ISSUER,
    audience: AUDIENCE,
  });
  const hsToken = hs.sign({ sub: 'u9', sid: 's9', client_id: 'c9' });
  const [ok, other] = await Promise.all([
    baton(['verify', hsToken, '--key', hsFile]),
    baton(['verify', hsToken, '--jwks', fixture.jwksFile]),
  ]);
  assertOk(ok);
  assert.equal(other.code, 1, 'the EdDSA JWKS does not know this kid');
  assert.match(other.stdout, /invalid_token/);
});
