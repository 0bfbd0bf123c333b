import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  assertOk,
  assertOneErrorLine,
  baton,
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

test('decode: header, claims and human times, not verified', async () => {
  const result = await baton(['decode', fixture.token]);
  assertOk(result);
  assert.match(result.stdout, /^Header:\n\{\n {2}"alg": "EdDSA"/);
  assert.match(result.stdout, /"typ": "at\+jwt"/);
  assert.match(result.stdout, /Claims:\n\{[\s\S]*"sub": "u1"/);
  assert.match(result.stdout, /Issued: +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \((now|\d+s ago)\)/);
  assert.match(result.stdout, /Expires: +\d{4}-\d\d-\d\dT[\d:.]+Z \(expires in 1[45]m( \d+s)?\)/);
  assert.match(result.stdout, /Signature: +not verified/);
  assert.equal(result.stderr, '');
});

test('decode: an expired token says how long ago', async () => {
  const now = Math.floor(Date.now() / 1000);
  const result = await baton(['decode', fixture.sign({ iat: now - 3600, nbf: now - 3600, exp: now - 185 })]);
  assertOk(result);
  assert.match(result.stdout, /\(expired 3m \d+s ago\)/);
});

test('decode --json parses, with times', async () => {
  const result = await baton(['decode', fixture.token, '--json']);
  assertOk(result);
  const out = parseJson(result.stdout);
  assert.equal((out.header as Record<string, unknown>).kid, 'cli-key');
  assert.equal((out.claims as Record<string, unknown>).sid, 'session-1');
  const times = out.times as Record<string, unknown>;
  assert.equal(times.expired, false);
  assert.ok(typeof times.expires_in === 'number' && times.expires_in > 800);
  assert.match(String(times.expires_at), /Z$/);
  assert.deepEqual(out.verification, { checked: false });
});

test('decode - reads the token from stdin (Bearer prefix allowed)', async () => {
  const result = await baton(['decode', '-', '--json'], { input: `Bearer ${fixture.token}\n` });
  assertOk(result);
  assert.equal((parseJson(result.stdout).claims as Record<string, unknown>).sub, 'u1');
});

test('decode garbage: exit 1, one line, nothing on stdout', async () => {
  const garbage = ['not-a-token', 'a.b.c', 'eyJhbGciOiJub25lIn0.bm90IGpzb24.'];
  const results = await Promise.all(garbage.map((token) => baton(['decode', token])));
  for (const result of results) {
    assertOneErrorLine(result, 1, /^baton: not a JWT: malformed/);
    assert.equal(result.stdout, '');
  }
});

test('decode --jwks / --key: valid 0; tampered or expired 1 with the code', async () => {
  const now = Math.floor(Date.now() / 1000);
  const [valid, withKey, bad, expired] = await Promise.all([
    baton(['decode', fixture.token, '--jwks', fixture.jwksFile]),
    baton(['decode', fixture.token, '--key', fixture.keyFile, '--json']),
    baton(['decode', tamper(fixture.token), '--jwks', fixture.jwksFile]),
    baton(['decode', fixture.sign({ iat: now - 100, exp: now - 10 }), '--key', fixture.keyFile, '--json']),
  ]);
  assertOk(valid);
  assert.match(valid.stdout, /Signature: +valid/);
  assertOk(withKey);
  assert.deepEqual(parseJson(withKey.stdout).verification, { checked: true, valid: true });
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /Signature: +invalid: invalid_token \(bad signature\)/);
  assert.equal(expired.code, 1);
  assert.equal((parseJson(expired.stdout).verification as Record<string, unknown>).error, 'token_expired');
});

test('decode with a missing key file: exit 1, one line', async () => {
  const result = await baton(['decode', fixture.token, '--key', fixture.dir.file('nope.json')]);
  assertOneErrorLine(result, 1, /no such file/);
});

test('decode escapes control, C1 and bidi characters of claims, in text and in --json', async () => {
  const hostile = 'a\u001b[31m\u009b31m\u007f\u0085\u202e\u2028b';
  const token = fixture.sign({ name: hostile, 'k\u009bey': 1 });
  const text = await baton(['decode', token]);
  assertOk(text);
  const json = await baton(['decode', token, '--json']);
  assertOk(json);
  for (const output of [text.stdout, json.stdout]) {
    // The only raw control character left is the newline.
    const raw = [...output].filter((char) => {
      const code = char.codePointAt(0) ?? 0;
      return (
        (code < 0x20 && code !== 0x0a) || (code >= 0x7f && code <= 0x9f) || (code >= 0x2028 && code <= 0x202e)
      );
    });
    assert.deepEqual(raw, []);
    assert.match(output, /a\\u001b\[31m\\u009b31m\\u007f\\u0085\\u202e\\u2028b/);
  }
  // Still JSON, of the same value.
  const claims = parseJson(json.stdout).claims as Record<string, unknown>;
  assert.equal(claims.name, hostile);
  assert.equal(claims['k\u009bey'], 1);
});
