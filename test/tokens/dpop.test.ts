/**
 * DPoP proofs (RFC 9449): each check of section 4.3, with real keys, and the
 * code each refused proof gets; server nonces (section 8); proofs made by
 * other implementations (jose, oauth4webapi) are accepted.
 */
import assert from 'node:assert/strict';
import {
  constants,
  createHash,
  createHmac,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  sign as nodeSign,
  webcrypto,
} from 'node:crypto';
import { before, describe, it } from 'node:test';
import { calculateJwkThumbprint, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import { errorResponse } from '../../src/http/index.ts';
import type { JWK } from '../../src/index.ts';
import { BatonError, type ErrorCode, ManualClock, MemoryStore } from '../../src/index.ts';
import { SqliteStore } from '../../src/stores/sqlite.ts';
import {
  DPOP_ALGORITHMS,
  type DpopProofInput,
  DpopVerifier,
  type DpopVerifierOptions,
  jwkThumbprint,
  normalizeHtu,
  type ProofReplayCache,
} from '../../src/tokens/dpop.ts';

const KEYGEN = { timeout: 60_000 };
const URL_ = 'https://api.example.com/orders';
const START = Date.UTC(2030, 0, 1);

interface ProofKey {
  alg: string;
  privateKey: KeyObject;
  /** Public members only. */
  jwk: JWK;
}

/**
 * A key pair through PEM: exporting a JWK from KeyObjects made by
 * generateKeyPairSync was once seen to hang on Node 20; from a key read back
 * from PEM it never did.
 */
function keyPair(alg: string, type: 'ec' | 'ed25519' | 'ed448' | 'rsa', options: object = {}): ProofKey {
  const { privateKey } = generateKeyPairSync(type as 'ec', {
    ...(options as { namedCurve: string }),
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const key = createPrivateKey(privateKey);
  const { d, p, q, dp, dq, qi, ...jwk } = key.export({ format: 'jwk' });
  return { alg, privateKey: key, jwk: jwk as JWK };
}

const keys = {} as Record<
  'es256' | 'ed25519' | 'ps256' | 'rs256' | 'other' | 'p384' | 'ed448' | 'rsa1024',
  ProofKey
>;

before(() => {
  keys.es256 = keyPair('ES256', 'ec', { namedCurve: 'P-256' });
  keys.ed25519 = keyPair('EdDSA', 'ed25519');
  keys.ps256 = keyPair('PS256', 'rsa', { modulusLength: 2048 });
  keys.rs256 = { ...keys.ps256, alg: 'RS256' };
  keys.other = keyPair('ES256', 'ec', { namedCurve: 'P-256' });
  keys.p384 = keyPair('ES256', 'ec', { namedCurve: 'P-384' });
  keys.ed448 = keyPair('EdDSA', 'ed448');
  keys.rsa1024 = keyPair('PS256', 'rsa', { modulusLength: 1024 });
}, KEYGEN);

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Signs any header and payload, so that tests can put anything in them. */
function signWith(key: ProofKey, alg: string, input: string): string {
  const data = Buffer.from(input);
  switch (alg) {
    case 'ES256':
      return nodeSign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString(
        'base64url',
      );
    case 'EdDSA':
    case 'Ed25519':
      return nodeSign(null, data, key.privateKey).toString('base64url');
    case 'PS256':
      return nodeSign('sha256', data, {
        key: key.privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      }).toString('base64url');
    case 'RS256':
      return nodeSign('sha256', data, key.privateKey).toString('base64url');
    default:
      throw new Error(`cannot sign ${alg}`);
  }
}

let jtiCounter = 0;

interface Craft {
  key?: ProofKey;
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  /** Claims left out. */
  without?: string[];
  clock?: ManualClock;
}

/** A proof for GET URL_ now, by `key` (ES256 by default), with overrides. */
function proof(options: Craft = {}): string {
  const key = options.key ?? keys.es256;
  const header = { typ: 'dpop+jwt', alg: key.alg, jwk: key.jwk, ...options.header };
  const claims: Record<string, unknown> = {
    jti: `jti-${++jtiCounter}-${Math.random().toString(36).slice(2)}`,
    htm: 'GET',
    htu: URL_,
    iat: Math.floor((options.clock ?? clock).now() / 1000),
    ...options.claims,
  };
  for (const name of options.without ?? []) delete claims[name];
  const input = `${b64(header)}.${b64(claims)}`;
  // Signed as the key's algorithm, whatever the header says: a header with another alg is refused before.
  return `${input}.${signWith(key, key.alg, input)}`;
}

let clock = new ManualClock(START);

function verifier(options: Partial<DpopVerifierOptions> = {}): DpopVerifier {
  return new DpopVerifier({ replay: new MemoryStore(), clock, ...options });
}

function check(v: DpopVerifier, proofText: string | undefined, extra: Partial<DpopProofInput> = {}) {
  return v.verify({ method: 'GET', url: URL_, proof: proofText, ...extra });
}

function refused(code: ErrorCode, pattern?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof BatonError, `expected a BatonError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (pattern) assert.match(error.message, pattern);
    return true;
  };
}
const invalid = (pattern?: RegExp) => refused('invalid_dpop_proof', pattern);

describe('DpopVerifier: a valid proof', () => {
  it('is accepted with its key thumbprint (RFC 7638, as jose computes it), key and claims', async () => {
    clock = new ManualClock(START);
    const v = verifier();
    const text = proof();
    const result = await check(v, text);
    assert.equal(result.jkt, await calculateJwkThumbprint(keys.es256.jwk));
    assert.equal(result.alg, 'ES256');
    assert.deepEqual(result.jwk, {
      crv: 'P-256',
      kty: 'EC',
      x: keys.es256.jwk.x,
      y: keys.es256.jwk.y,
    });
    assert.equal(result.claims.htm, 'GET');
    assert.equal(result.claims.htu, URL_);
    assert.equal(result.nonce, undefined);
  });

  it('is accepted signed with Ed25519 (EdDSA), and with RSA when PS256 or RS256 is listed', async () => {
    const v = verifier({ algorithms: ['ES256', 'EdDSA', 'PS256', 'RS256'] });
    assert.equal(
      (await check(v, proof({ key: keys.ed25519 }))).jkt,
      await calculateJwkThumbprint(keys.ed25519.jwk),
    );
    assert.equal((await check(v, proof({ key: keys.ps256 }))).alg, 'PS256');
    assert.equal((await check(v, proof({ key: keys.rs256 }))).alg, 'RS256');
  });

  it('is accepted again and again with the same key (its header is remembered), each proof once', async () => {
    const v = verifier();
    const proofs = Array.from({ length: 20 }, () => proof());
    for (const text of proofs) await check(v, text);
    for (const text of proofs) await assert.rejects(check(v, text), invalid(/used before/));
  });

  it('is accepted with typ in any case, or as application/dpop+jwt (RFC 7515 4.1.9)', async () => {
    const v = verifier();
    await check(v, proof({ header: { typ: 'DPoP+JWT' } }));
    await check(v, proof({ header: { typ: 'application/dpop+jwt' } }));
  });

  it('may name a kid besides its jwk', async () => {
    await check(verifier(), proof({ header: { kid: 'device-1' } }));
  });
});

describe('DpopVerifier: RFC 9449 section 4.3, each check', () => {
  it('1. one DPoP header: repeated headers (joined by a comma) are refused', async () => {
    const v = verifier();
    await assert.rejects(check(v, `${proof()}, ${proof()}`), invalid(/more than once/));
  });

  it('2. a single well-formed JWT: missing, empty, not three segments, too long, not base64url', async () => {
    const v = verifier();
    await assert.rejects(check(v, undefined), invalid(/missing/));
    await assert.rejects(check(v, ''), invalid(/missing/));
    const [h, p, s] = proof().split('.');
    for (const bad of [
      `${h}.${p}`,
      `${h}.${p}.${s}.${s}`,
      `${h}..${s}`,
      `${h}.${p}.`,
      'not-a-jwt',
      `.${p}.${s}`,
    ]) {
      await assert.rejects(check(v, bad), invalid(), bad);
    }
    await assert.rejects(check(v, `${h}.${p}.${s}${'A'.repeat(9000)}`), invalid(/too long/));
    await assert.rejects(check(v, `${h}.${p}!.${s}`), invalid());
    await assert.rejects(check(v, `${b64('not an object')}.${p}.${s}`), invalid(/malformed header/));
    await assert.rejects(
      check(v, `${Buffer.from('{').toString('base64url')}.${p}.${s}`),
      invalid(/malformed header/),
    );
  });

  it('3. every required claim: jti, htm, htu, iat (a number); a jti of bounded length', async () => {
    const v = verifier();
    for (const claim of ['jti', 'htm', 'htu', 'iat']) {
      await assert.rejects(check(v, proof({ without: [claim] })), invalid(new RegExp(claim)), claim);
    }
    await assert.rejects(check(v, proof({ claims: { iat: String(START / 1000) } })), invalid(/iat/));
    await assert.rejects(check(v, proof({ claims: { jti: '' } })), invalid(/jti/));
    await assert.rejects(check(v, proof({ claims: { jti: 42 } })), invalid(/jti/));
    await assert.rejects(check(v, proof({ claims: { jti: 'x'.repeat(257) } })), invalid(/jti is longer/));
    await check(v, proof({ claims: { jti: 'y'.repeat(256) } }));
    await assert.rejects(check(v, proof({ claims: { htm: ['GET'] } })), invalid(/htm/));
  });

  it('4. typ dpop+jwt', async () => {
    const v = verifier();
    for (const typ of [undefined, 'JWT', 'at+jwt', 'dpop', 42]) {
      await assert.rejects(check(v, proof({ header: { typ } })), invalid(/typ/), String(typ));
    }
  });

  it('5. alg asymmetric, not none, accepted by policy', async () => {
    const v = verifier();
    const claims = { jti: 'x', htm: 'GET', htu: URL_, iat: START / 1000 };
    const none = `${b64({ typ: 'dpop+jwt', alg: 'none', jwk: keys.es256.jwk })}.${b64(claims)}.`;
    await assert.rejects(check(v, none), invalid());
    const noneSigned = `${b64({ typ: 'dpop+jwt', alg: 'none', jwk: keys.es256.jwk })}.${b64(claims)}.c2ln`;
    await assert.rejects(check(v, noneSigned), invalid(/algorithm not accepted/));
    const input = `${b64({ typ: 'dpop+jwt', alg: 'HS256', jwk: { kty: 'oct', k: 'c2VjcmV0' } })}.${b64(claims)}`;
    const hs256 = `${input}.${createHmac('sha256', 'secret').update(input).digest('base64url')}`;
    await assert.rejects(
      check(v, hs256),
      invalid(/algorithm not accepted; use one of ES256, EdDSA, Ed25519/),
    );
    // RSA is a policy choice: off by default.
    await assert.rejects(check(v, proof({ key: keys.ps256 })), invalid(/algorithm not accepted/));
    await assert.rejects(
      check(verifier({ algorithms: ['EdDSA'] }), proof()),
      invalid(/algorithm not accepted/),
    );
    await assert.rejects(check(v, proof({ header: { alg: 'ES384' } })), invalid(/algorithm not accepted/));
  });

  it('6. the signature verifies with the header jwk', async () => {
    const v = verifier();
    const [h, p, s] = proof().split('.');
    const flipped = Buffer.from(s!, 'base64url');
    flipped[10]! ^= 1;
    await assert.rejects(check(v, `${h}.${p}.${flipped.toString('base64url')}`), invalid(/bad signature/));
    // Signed by another key than the one it names.
    const forged = `${h}.${p}.${signWith(keys.other, 'ES256', `${h}.${p}`)}`;
    await assert.rejects(check(v, forged), invalid(/bad signature/));
    // A payload changed under a known header: the remembered header verifies nothing by itself.
    await check(v, proof());
    const other = b64({ jti: 'changed', htm: 'GET', htu: URL_, iat: START / 1000 });
    await assert.rejects(check(v, `${h}.${other}.${s}`), invalid(/bad signature/));
    // A DER signature where JWS wants r||s.
    const der = nodeSign('sha256', Buffer.from(`${h}.${p}`), keys.es256.privateKey).toString('base64url');
    await assert.rejects(check(v, `${h}.${p}.${der}`), invalid(/bad signature/));
  });

  it('6. the jwk fits alg: curve, key type, RSA size, a point on the curve', async () => {
    const v = verifier({ algorithms: ['ES256', 'EdDSA', 'PS256'] });
    await assert.rejects(check(v, proof({ key: keys.p384 })), invalid(/does not fit ES256/));
    await assert.rejects(check(v, proof({ key: keys.ed448 })), invalid(/does not fit EdDSA/));
    await assert.rejects(
      check(v, proof({ header: { alg: 'EdDSA' } })),
      invalid(/does not fit EdDSA: it needs kty OKP and crv Ed25519/),
    );
    await assert.rejects(check(v, proof({ key: keys.rsa1024 })), invalid(/not a valid PS256 public key/));
    const offCurve = { ...keys.es256.jwk, y: keys.other.jwk.y };
    await assert.rejects(
      check(v, proof({ header: { jwk: offCurve } })),
      invalid(/not a valid ES256 public key/),
    );
    await assert.rejects(
      check(v, proof({ header: { jwk: { kty: 'EC', crv: 'P-256', x: 'AA' } } })),
      invalid(/x and y/),
    );
    await assert.rejects(
      check(v, proof({ header: { jwk: { ...keys.es256.jwk, alg: 'ES384' } } })),
      invalid(/another algorithm/),
    );
    await assert.rejects(check(v, proof({ header: { jwk: undefined } })), invalid(/has no jwk/));
    await assert.rejects(check(v, proof({ header: { jwk: 'key' } })), invalid(/has no jwk/));
    await assert.rejects(check(v, proof({ header: { kid: 42 } })), invalid(/kid/));
  });

  it('7. the jwk holds no private key', async () => {
    const v = verifier({ algorithms: ['ES256', 'EdDSA', 'PS256'] });
    const withPrivate = (key: ProofKey) => key.privateKey.export({ format: 'jwk' });
    for (const key of [keys.es256, keys.ed25519, keys.ps256]) {
      await assert.rejects(
        check(v, proof({ key, header: { jwk: withPrivate(key) } })),
        invalid(/private key/),
        key.alg,
      );
    }
    await assert.rejects(
      check(v, proof({ header: { jwk: { ...keys.es256.jwk, d: '' } } })),
      invalid(/private key/),
    );
    await assert.rejects(
      check(v, proof({ header: { jwk: { kty: 'oct', k: 'c2VjcmV0' } } })),
      invalid(/private key/),
    );
  });

  it('8. htm is the request method, exactly', async () => {
    const v = verifier();
    await assert.rejects(check(v, proof({ claims: { htm: 'POST' } })), invalid(/htm/));
    await assert.rejects(check(v, proof({ claims: { htm: 'get' } })), invalid(/htm/));
    await check(v, proof({ claims: { htm: 'POST' } }), { method: 'POST' });
  });

  it('9. htu is the request URL, query and fragment ignored, normalised as RFC 3986 6.2.2 and 6.2.3 say', async () => {
    const v = verifier();
    const url = 'https://api.example.com/a/~user/orders';
    for (const htu of [
      url,
      `${url}?page=2`,
      `${url}#top`,
      'HTTPS://API.Example.COM/a/~user/orders',
      'https://api.example.com:443/a/~user/orders',
      'https://api.example.com/a/%7Euser/orders',
      'https://api.example.com/a/%7euser/orders',
      'https://api.example.com/a/./b/../~user/orders',
    ]) {
      await check(v, proof({ claims: { htu } }), { url });
    }
    // Percent-encoded reserved characters stay encoded, in either case.
    await check(v, proof({ claims: { htu: 'https://api.example.com/a%2fb' } }), {
      url: 'https://api.example.com/a%2Fb',
    });
    for (const htu of [
      'http://api.example.com/a/~user/orders',
      'https://api.example.com:8443/a/~user/orders',
      'https://evil.example.com/a/~user/orders',
      'https://api.example.com/a/~user/orders/',
      'https://api.example.com/a/~user',
      'https://api.example.com/a%2F~user/orders',
      'https://user@api.example.com/a/~user/orders',
      'wss://api.example.com/a/~user/orders',
      '/a/~user/orders',
      'not a url',
    ]) {
      await assert.rejects(check(v, proof({ claims: { htu } }), { url }), invalid(/htu/), htu);
    }
  });

  it('9. the request URL may be a URL object; one that is not absolute http(s) is a bug, not a bad proof', async () => {
    const v = verifier();
    await check(v, proof(), { url: new URL(URL_) });
    await assert.rejects(check(v, proof(), { url: '/orders' }), refused('internal_error'));
    assert.equal(normalizeHtu('ftp://api.example.com/x'), undefined);
    assert.equal(normalizeHtu('https://api.example.com'), 'https://api.example.com/');
  });

  it('11. iat within maxAge (60 s) and clockSkew (30 s): too old and too far ahead are refused', async () => {
    const v = verifier();
    const at = (seconds: number) => ({ claims: { iat: START / 1000 + seconds } });
    await check(v, proof(at(-90)));
    await assert.rejects(check(v, proof(at(-91))), invalid(/too old/));
    await check(v, proof(at(30)));
    await assert.rejects(check(v, proof(at(31))), invalid(/future/));
    const strict = verifier({ maxAge: '10s', clockSkew: 0 });
    await check(strict, proof(at(-10)));
    await assert.rejects(check(strict, proof(at(-11))), invalid(/too old/));
    await assert.rejects(check(strict, proof(at(1))), invalid(/future/));
  });

  it('11. a jti is used once: remembered, as a digest of key and jti, until the proof would be too old', async () => {
    const calls: [string, number, number][] = [];
    const store = new MemoryStore();
    const replay: ProofReplayCache = {
      rememberProofId: (id, expiresAt, now) => {
        calls.push([id, expiresAt, now]);
        return store.rememberProofId(id, expiresAt, now);
      },
    };
    const v = verifier({ replay });
    const text = proof({ claims: { jti: 'the-jti', iat: START / 1000 - 10 } });
    await check(v, text);
    await assert.rejects(check(v, text), invalid(/used before/));
    const [[id, expiresAt, now]] = calls as [[string, number, number]];
    const jkt = await calculateJwkThumbprint(keys.es256.jwk);
    assert.equal(id, createHash('sha256').update(`${jkt}.the-jti`).digest('base64url'));
    assert.equal(now, START);
    // Accepted until iat + 60 s + 30 s; remembered 30 s more for processes whose clocks run behind.
    assert.equal(expiresAt, START - 10_000 + 60_000 + 2 * 30_000 + 1);
    // The same jti from another key is another proof.
    await check(v, proof({ key: keys.other, claims: { jti: 'the-jti' } }));
    // A replay after the entry expired is refused all the same: the proof is too old by then.
    clock.set(expiresAt);
    await assert.rejects(check(v, text), invalid(/too old/));
    clock = new ManualClock(START);
  });

  it('11. hands the replay cache whole milliseconds, whatever the iat and clock fractions (SQL stores keep integers)', async () => {
    const fractional = new ManualClock(START + 0.75);
    const store = new SqliteStore();
    try {
      const v = verifier({ replay: store, clock: fractional });
      const text = proof({ clock: fractional, claims: { iat: START / 1000 - 1.5 } });
      await check(v, text);
      await assert.rejects(check(v, text), invalid(/used before/));
    } finally {
      await store.close();
    }
  });

  it('11. a proof refused by another check is not remembered: the same proof may then pass', async () => {
    const v = verifier();
    const text = proof();
    await assert.rejects(check(v, text, { method: 'POST' }), invalid(/htm/));
    await assert.rejects(check(v, text, { jkt: 'someone-else' }), invalid(/another key/));
    await check(v, text);
  });

  it('11. the replay cache failing fails the proof check (a store outage is a 503, never a pass)', async () => {
    const down: ProofReplayCache = {
      rememberProofId: async () => {
        throw new BatonError('store_unavailable', 'Redis 127.0.0.1:6379: connection refused', {
          retryAfter: 1,
        });
      },
    };
    await assert.rejects(check(verifier({ replay: down }), proof()), refused('store_unavailable'));
  });

  it('12. with an access token: ath is its SHA-256, base64url', async () => {
    const v = verifier();
    const accessToken = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.c2ln';
    const ath = createHash('sha256').update(accessToken).digest('base64url');
    await check(v, proof({ claims: { ath } }), { accessToken });
    await assert.rejects(check(v, proof(), { accessToken }), invalid(/has no ath/));
    await assert.rejects(
      check(v, proof({ claims: { ath: ath.slice(1) } }), { accessToken }),
      invalid(/ath does not match/),
    );
    await assert.rejects(
      check(v, proof({ claims: { ath: 42 } }), { accessToken }),
      invalid(/ath must be a string/),
    );
    // Without an access token, an ath is not looked at.
    await check(v, proof({ claims: { ath: 'whatever' } }));
  });

  it('12. with a bound key (cnf.jkt): the proof is signed by that key', async () => {
    const v = verifier();
    const jkt = await calculateJwkThumbprint(keys.es256.jwk);
    await check(v, proof(), { jkt });
    await assert.rejects(check(v, proof({ key: keys.other }), { jkt }), invalid(/another key/));
  });

  it('refuses a critical header it does not understand (RFC 7515 4.1.11)', async () => {
    await assert.rejects(
      check(verifier(), proof({ header: { crit: ['exp'], exp: 1 } })),
      invalid(/critical/),
    );
  });
});

describe('DpopVerifier: server nonces (RFC 9449 section 8)', () => {
  const nonce = { secret: 'a-nonce-secret-of-at-least-32-bytes!', lifetime: '5m' };

  it('10. a proof without the nonce gets use_dpop_nonce, carrying the nonce to retry with', async () => {
    clock = new ManualClock(START);
    const v = verifier({ nonce });
    const current = v.nonce();
    assert.match(current ?? '', /^[A-Za-z0-9_-]{43}$/);
    await assert.rejects(check(v, proof()), (error: unknown) => {
      assert.ok(error instanceof BatonError);
      assert.equal(error.code, 'use_dpop_nonce');
      assert.equal(error.dpopNonce, current);
      return true;
    });
    const result = await check(v, proof({ claims: { nonce: current } }));
    assert.equal(result.nonce, undefined, 'the client holds the current nonce: nothing new to send');
  });

  it('10. a nonce is accepted during its slot, the one after (handing out the newer one) and the one before', async () => {
    clock = new ManualClock(START);
    const v = verifier({ nonce });
    const first = v.nonce()!;
    clock.advance(300);
    const second = v.nonce()!;
    assert.notEqual(first, second);
    const result = await check(v, proof({ claims: { nonce: first } }));
    assert.equal(result.nonce, second, 'the response should carry the new nonce');
    // A process whose clock is a slot behind takes the newer nonce too.
    clock.advance(-300);
    assert.equal((await check(v, proof({ claims: { nonce: second } }))).nonce, first);
    clock.advance(600);
    await assert.rejects(check(v, proof({ claims: { nonce: first } })), refused('use_dpop_nonce', /stale/));
  });

  it('10. a nonce no process made is refused with a fresh one; a nonce that is not a string is invalid', async () => {
    clock = new ManualClock(START);
    const v = verifier({ nonce });
    const other = verifier({ nonce: { secret: 'another-secret-of-at-least-32-bytes!!' } });
    await assert.rejects(check(v, proof({ claims: { nonce: other.nonce() } })), refused('use_dpop_nonce'));
    await assert.rejects(check(v, proof({ claims: { nonce: 'made-up' } })), refused('use_dpop_nonce'));
    await assert.rejects(check(v, proof({ claims: { nonce: 42 } })), invalid(/nonce must be a string/));
  });

  it('processes with the same secret agree on nonces, without storage', async () => {
    clock = new ManualClock(START + 123_456);
    const [a, b] = [verifier({ nonce }), verifier({ nonce })];
    assert.equal(a.nonce(), b.nonce());
    await check(b, proof({ claims: { nonce: a.nonce() } }));
  });

  it("11. with a valid nonce the proof's age is the nonce's, whatever its iat (a client's clock may be off)", async () => {
    clock = new ManualClock(START);
    const calls: number[] = [];
    const store = new MemoryStore();
    const v = verifier({
      nonce,
      replay: {
        rememberProofId: (id, expiresAt, now) => {
          calls.push(expiresAt);
          return store.rememberProofId(id, expiresAt, now);
        },
      },
    });
    await check(v, proof({ claims: { nonce: v.nonce(), iat: START / 1000 - 86_400 } }));
    // Slot [START, START + 5 min) is accepted until the next slot ends, plus the skew.
    assert.deepEqual(calls, [START + 600_000 + 30_000]);
  });

  it('requireNonce: false takes proofs without one, by their iat, and hands out none', async () => {
    clock = new ManualClock(START);
    const v = verifier({ nonce });
    const result = await check(v, proof(), { requireNonce: false });
    assert.equal(result.nonce, undefined);
    await assert.rejects(
      check(v, proof({ claims: { iat: START / 1000 - 3600, nonce: v.nonce() } }), { requireNonce: false }),
      invalid(/too old/),
    );
  });

  it('without nonces configured, a nonce claim is ignored and nonce() is undefined', async () => {
    const v = verifier();
    assert.equal(v.nonce(), undefined);
    assert.equal(v.noncesRequired, false);
    await check(v, proof({ claims: { nonce: 'from-elsewhere' } }));
  });
});

describe('DpopVerifier: options', () => {
  const bad: [string, unknown, RegExp][] = [
    ['no replay cache', {}, /replay: required/],
    ['a replay cache without rememberProofId', { replay: {} }, /replay/],
    ['none', { algorithms: ['none'] }, /algorithms/],
    ['an HMAC algorithm', { algorithms: ['HS256'] }, /algorithms/],
    ['an empty list', { algorithms: [] }, /algorithms/],
    ['a short nonce secret', { nonce: { secret: 'short' } }, /nonce\.secret/],
    ['a negative maxAge', { maxAge: -1 }, /maxAge/],
    ['an unknown option', { leeway: 5 }, /leeway: unknown option/],
  ];
  for (const [label, options, message] of bad) {
    it(`refuses ${label} with invalid_options`, () => {
      const given = label === 'no replay cache' ? {} : { replay: new MemoryStore(), ...(options as object) };
      assert.throws(
        () => new DpopVerifier(given as DpopVerifierOptions),
        refused('invalid_options', message),
      );
    });
  }

  it('lists its algorithms, for challenges and metadata', () => {
    assert.deepEqual(verifier().algorithms, ['ES256', 'EdDSA', 'Ed25519']);
    assert.deepEqual(verifier({ algorithms: ['PS256'] }).algorithms, ['PS256']);
    assert.deepEqual(DPOP_ALGORITHMS, ['ES256', 'EdDSA', 'Ed25519', 'PS256', 'RS256']);
  });
});

describe('jwkThumbprint', () => {
  it('is the RFC 7638 section 3.1 example', () => {
    const jwk = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    assert.equal(jwkThumbprint(jwk), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it("is jose's calculateJwkThumbprint for EC, OKP and RSA keys", async () => {
    for (const key of [keys.es256, keys.ed25519, keys.ps256]) {
      assert.equal(jwkThumbprint(key.jwk), await calculateJwkThumbprint(key.jwk), key.alg);
    }
    assert.throws(() => jwkThumbprint({ kty: 'oct', k: 'AA' }), refused('invalid_request'));
  });
});

describe('DpopVerifier: proofs made by other implementations', () => {
  it("accepts jose's SignJWT proofs (ES256 and EdDSA)", async () => {
    clock = new ManualClock(Date.now());
    const v = verifier();
    for (const key of [keys.es256, keys.ed25519]) {
      const text = await new SignJWT({ htm: 'POST', htu: 'https://api.example.com/auth/token' })
        .setProtectedHeader({ alg: key.alg, typ: 'dpop+jwt', jwk: key.jwk })
        .setJti(crypto.randomUUID())
        .setIssuedAt()
        .sign(key.privateKey);
      const result = await v.verify({
        method: 'POST',
        url: 'https://api.example.com/auth/token',
        proof: text,
      });
      assert.equal(result.jkt, await calculateJwkThumbprint(key.jwk));
    }
  });

  it(
    "accepts oauth4webapi's proofs on a resource request, and its retry after use_dpop_nonce",
    KEYGEN,
    async () => {
      clock = new ManualClock(Date.now());
      const v = verifier({ nonce: { secret: 'a-nonce-secret-of-at-least-32-bytes!' } });
      const accessToken = 'an-access-token';
      const url = new URL('https://api.example.com/orders?page=1');
      for (const algorithm of [{ name: 'ECDSA', namedCurve: 'P-256' }, { name: 'Ed25519' }] as const) {
        const pair = (await webcrypto.subtle.generateKey(algorithm, false, [
          'sign',
          'verify',
        ])) as CryptoKeyPair;
        const handle = oauth.DPoP({}, pair);
        /** Answers as Baton would: the proof checked, errors mapped by errorResponse. */
        const server = async (_url: string, init: { method?: string; headers?: HeadersInit }) => {
          const headers = new Headers(init.headers);
          try {
            const proofText = headers.get('dpop') ?? undefined;
            assert.equal(headers.get('authorization'), `DPoP ${accessToken}`);
            const result = await v.verify({
              method: init.method ?? 'GET',
              url: 'https://api.example.com/orders',
              proof: proofText,
              accessToken,
            });
            assert.equal(result.jkt, await handle.calculateThumbprint());
            return new Response('{}', { status: 200 });
          } catch (error) {
            const mapped = errorResponse(error, { dpopAlgorithms: v.algorithms });
            return new Response(mapped.body, {
              status: mapped.status,
              headers: mapped.headers as Record<string, string>,
            });
          }
        };
        const request = () =>
          oauth.protectedResourceRequest(accessToken, 'GET', url, undefined, undefined, {
            DPoP: handle,
            [oauth.customFetch]: server,
          });
        // No nonce yet: the server asks for one, and the client retries with it.
        const first = await request().then(
          () => assert.fail('the first request has no nonce'),
          (error: unknown) => error,
        );
        assert.ok(
          oauth.isDPoPNonceError(first),
          `${String(first)} ${JSON.stringify((first as Error).cause)}`,
        );
        const response = await request();
        assert.equal(response.status, 200, algorithm.name);
      }
    },
  );
});
