// Differential testing of verifyJws against jose as the oracle: for random
// payloads and random damage to valid tokens, Baton must accept exactly what
// jose (configured with the same pinned algorithm, typ and key) accepts, and
// return the same payload. The one allowed difference is deliberate: Baton
// insists on canonical unpadded base64url (jose tolerates padding, whitespace
// and non-zero trailing bits in the signature segment), so Baton may reject a
// token jose accepts only when that token is not canonical.
import assert from 'node:assert/strict';
import { constants, createHmac, sign as nodeSign } from 'node:crypto';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { type JWTHeaderParameters, jwtVerify, SignJWT } from 'jose';
import { BatonError } from '../../src/index.ts';
import {
  ALGORITHMS,
  type Algorithm,
  generateSigningKey,
  KeySet,
  type SigningKey,
  signJws,
  verifyJws,
} from '../../src/tokens/index.ts';

const NUM_RUNS = 200;
const TYP = 'at+jwt';
// jwtVerify checks these claims itself; the JWS layer under test does not.
const JWT_TIME_CLAIMS = new Set(['exp', 'nbf', 'iat']);
const CHARS = [
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
  '=',
  '+',
  '/',
  '.',
  ' ',
  '*',
];

/** A signer written apart from src/tokens/jws.ts, so the oracle path shares no code with the code under test. */
function rawSign(key: SigningKey, input: string): string {
  const data = Buffer.from(input);
  switch (key.alg) {
    case 'HS256':
    case 'HS384':
    case 'HS512':
      return createHmac(`sha${key.alg.slice(2)}`, key.secretKey!)
        .update(data)
        .digest('base64url');
    case 'RS256':
      return nodeSign('sha256', data, key.privateKey!).toString('base64url');
    case 'PS256':
      return nodeSign('sha256', data, {
        key: key.privateKey!,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      }).toString('base64url');
    case 'ES256':
      return nodeSign('sha256', data, { key: key.privateKey!, dsaEncoding: 'ieee-p1363' }).toString(
        'base64url',
      );
    case 'EdDSA':
      return nodeSign(null, data, key.privateKey!).toString('base64url');
  }
}

const b64 = (text: string) => Buffer.from(text).toString('base64url');

function isCanonical(token: string): boolean {
  const parts = token.split('.');
  return (
    parts.length === 3 &&
    parts.every(
      (part) =>
        /^[A-Za-z0-9_-]+$/.test(part) && Buffer.from(part, 'base64url').toString('base64url') === part,
    )
  );
}

type Mutation =
  | { kind: 'none' }
  | { kind: 'replace'; at: number; char: string }
  | { kind: 'insert'; at: number; char: string }
  | { kind: 'delete'; at: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'swap'; a: number; b: number }
  | { kind: 'extra-segment'; segment: string }
  | {
      kind: 'resign';
      alg: string;
      typ: string | undefined;
      kid: 'same' | 'none' | 'other';
      crit: boolean;
      payload: string | undefined;
    };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'none' as const }), weight: 2 },
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), char: fc.constantFrom(...CHARS) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), char: fc.constantFrom(...CHARS) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), a: fc.nat(2), b: fc.nat(2) }),
  fc.record({ kind: fc.constant('extra-segment' as const), segment: fc.constantFrom('', 'e30', 'AAAA') }),
  {
    arbitrary: fc.record({
      kind: fc.constant('resign' as const),
      alg: fc.constantFrom(...ALGORITHMS, 'none', 'hs256'),
      typ: fc.constantFrom(TYP, 'AT+JWT', 'application/at+jwt', 'JWT', 'at+jwt ', undefined),
      kid: fc.constantFrom('same' as const, 'none' as const, 'other' as const),
      crit: fc.boolean(),
      payload: fc.constantFrom(undefined, undefined, '[1]', '"text"', 'null', '{"a":1', '{"a":1}'),
    }),
    weight: 3,
  },
);

function mutate(token: string, m: Mutation, key: SigningKey): string {
  const at = (n: number, length: number) => (length === 0 ? 0 : n % length);
  switch (m.kind) {
    case 'none':
      return token;
    case 'replace': {
      const i = at(m.at, token.length);
      return token.slice(0, i) + m.char + token.slice(i + 1);
    }
    case 'insert': {
      const i = at(m.at, token.length + 1);
      return token.slice(0, i) + m.char + token.slice(i);
    }
    case 'delete': {
      const i = at(m.at, token.length);
      return token.slice(0, i) + token.slice(i + 1);
    }
    case 'truncate':
      return token.slice(0, at(m.at, token.length));
    case 'swap': {
      const parts = token.split('.');
      [parts[m.a], parts[m.b]] = [parts[m.b]!, parts[m.a]!];
      return parts.join('.');
    }
    case 'extra-segment':
      return `${token}.${m.segment}`;
    case 'resign': {
      const header: Record<string, unknown> = { alg: m.alg === 'none' ? 'none' : m.alg };
      if (m.typ !== undefined) header.typ = m.typ;
      if (m.kid === 'same') header.kid = key.kid;
      if (m.kid === 'other') header.kid = `${key.kid}x`;
      if (m.crit) header.crit = ['exp'];
      const payload =
        m.payload ?? JSON.stringify(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()));
      const input = `${b64(JSON.stringify(header))}.${b64(payload)}`;
      // The real key signs, whatever the header claims; alg none gets no signature.
      return `${input}.${m.alg === 'none' ? '' : rawSign(key, input)}`;
    }
  }
}

type Outcome = { ok: true; payload: unknown } | { ok: false; error: unknown };

function batonVerify(token: string, keys: KeySet, alg: Algorithm): Outcome {
  try {
    return { ok: true, payload: verifyJws(token, { keys, algorithms: [alg], typ: TYP }).payload };
  } catch (error) {
    assert.ok(
      error instanceof BatonError && error.code === 'invalid_token',
      `unexpected error ${String(error)}`,
    );
    return { ok: false, error };
  }
}

async function joseVerify(token: string, key: SigningKey, alg: Algorithm): Promise<Outcome> {
  const verifier = key.secretKey ?? key.publicKey!;
  // Same key-selection policy as a one-key KeySet: kid may be absent, else it must match.
  const resolve = (header: JWTHeaderParameters) => {
    if (header.kid !== undefined && header.kid !== key.kid) throw new Error('unknown kid');
    return verifier;
  };
  try {
    const { payload } = await jwtVerify(token, resolve, { algorithms: [alg], typ: TYP });
    return { ok: true, payload };
  } catch (error) {
    return { ok: false, error };
  }
}

const payloadArbitrary = fc
  .dictionary(
    fc.string({ maxLength: 8 }).filter((name) => !JWT_TIME_CLAIMS.has(name)),
    fc.jsonValue({ maxDepth: 2 }),
    { maxKeys: 6 },
  )
  .filter((payload) => JSON.stringify(payload).length < 3000);

const keys = new Map<Algorithm, SigningKey>();

before(
  async () => {
    for (const key of await Promise.all(ALGORITHMS.map((alg) => generateSigningKey(alg))))
      keys.set(key.alg, key);
  },
  { timeout: 20000 },
);

describe('verifyJws agrees with jose', () => {
  for (const alg of ALGORITHMS) {
    it(`${alg}: same accept/reject decisions and payloads (${NUM_RUNS} runs)`, {
      timeout: 60000,
    }, async () => {
      const key = keys.get(alg)!;
      const set = new KeySet([key]);
      const stats = { bothAccept: 0, bothReject: 0, stricter: 0 };
      await fc.assert(
        fc.asyncProperty(payloadArbitrary, fc.boolean(), mutation, async (payload, joseSigns, m) => {
          const original = joseSigns
            ? await new SignJWT(payload)
                .setProtectedHeader({ alg, typ: TYP, kid: key.kid })
                .sign(key.secretKey ?? key.privateKey!)
            : signJws({ typ: TYP }, payload, key);
          const token = mutate(original, m, key);
          const baton = batonVerify(token, set, alg);
          const jose = await joseVerify(token, key, alg);
          if (baton.ok && jose.ok) {
            stats.bothAccept++;
            assert.deepEqual(baton.payload, jose.payload);
            if (token === original) assert.deepEqual(baton.payload, JSON.parse(JSON.stringify(payload)));
          } else if (!baton.ok && !jose.ok) {
            stats.bothReject++;
          } else {
            assert.ok(
              !baton.ok && jose.ok && !isCanonical(token),
              `Baton ${baton.ok ? 'accepted' : 'rejected'} and jose ${jose.ok ? 'accepted' : 'rejected'} ${token} (${JSON.stringify(m)})`,
            );
            stats.stricter++;
          }
          // Every unmutated token must verify on both sides.
          if (m.kind === 'none') assert.ok(baton.ok && jose.ok);
        }),
        { numRuns: NUM_RUNS },
      );
      // Guard against a vacuous pass: both outcomes must actually occur.
      assert.ok(stats.bothAccept > 10, JSON.stringify(stats));
      assert.ok(stats.bothReject > 10, JSON.stringify(stats));
    });
  }
});
