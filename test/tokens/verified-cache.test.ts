import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { BatonError, ManualClock } from '../../src/index.ts';
import {
  type AccessClaims,
  AccessTokenCodec,
  generateSigningKey,
  KeySet,
  type SigningKey,
} from '../../src/tokens/index.ts';
import { VerifiedTokenCache } from '../../src/tokens/verified-cache.ts';

const START = Date.UTC(2030, 0, 1);
const NOW = START / 1000;

let key: SigningKey;
before(async () => {
  key = await generateSigningKey('HS256');
});

function codec(clock = new ManualClock(START)) {
  return new AccessTokenCodec({ keys: new KeySet([key]), issuer: 'https://iss', audience: 'api', clock });
}

/** A verified token and its claims, `ttl` seconds long from NOW. */
function verified(c: AccessTokenCodec, ttl = 900, extra: Record<string, unknown> = {}) {
  const token = c.sign({
    sub: 'u1',
    sid: `s-${Math.random()}`,
    client_id: 'web',
    roles: ['user'],
    exp: NOW + ttl,
    ...extra,
  });
  return { token, claims: c.verify(token) };
}

/** Claims for a fake token: the cache trusts its caller to hand it verified claims only. */
function fakeClaims(exp: number, nbf = NOW - 10): AccessClaims {
  return {
    iss: 'https://iss',
    sub: 'u1',
    aud: 'api',
    exp,
    nbf,
    iat: nbf,
    jti: 'j',
    sid: 's',
    client_id: 'web',
    type: 'access',
    fresh: false,
    roles: ['user'],
  };
}

describe('VerifiedTokenCache', () => {
  it('answers a token it was given, with the same deep-frozen claims', () => {
    const c = codec();
    const cache = new VerifiedTokenCache();
    const { token, claims } = verified(c);
    assert.equal(cache.get(token, START), undefined);
    assert.equal(cache.set(token, claims, START), claims);
    const hit = cache.get(token, START);
    assert.equal(hit, claims);
    assert.ok(Object.isFrozen(hit));
    assert.ok(Object.isFrozen(hit?.roles));
    assert.throws(() => {
      (hit as { sub: string }).sub = 'admin';
    }, TypeError);
    assert.throws(() => hit?.roles?.push('admin'), TypeError);
    // A copy of the string (as read off another request) hits too.
    assert.equal(cache.get(Buffer.from(token).toString(), START), claims);
  });

  it('needs the exact token: same key characters, different token, is a miss', () => {
    const c = codec();
    const cache = new VerifiedTokenCache();
    const { token, claims } = verified(c);
    cache.set(token, claims, START);
    // The key is read near the end; change the start, keep the end.
    const forged = `${token[0] === 'e' ? 'f' : 'e'}${token.slice(1)}`;
    assert.equal(cache.get(forged, START), undefined);
    assert.equal(cache.get(`${token}x`, START), undefined);
    assert.equal(cache.get(token.slice(0, -1), START), undefined);
    assert.equal(cache.get('', START), undefined);
    assert.equal(cache.get('short', START), undefined);
    assert.equal(cache.get(undefined as unknown as string, START), undefined);
    assert.equal(cache.get(token, START), claims);
  });

  it('two tokens with the same key are both kept, each answered only for itself', () => {
    const cache = new VerifiedTokenCache();
    const tail = 'ABCDEFGHIJ';
    const a = `aaaa.bbbb.${tail}`;
    const b = `cccc.dddd.${tail}`;
    const claimsA = fakeClaims(NOW + 60);
    const claimsB = fakeClaims(NOW + 60);
    cache.set(a, claimsA, START);
    cache.set(b, claimsB, START);
    assert.equal(cache.size, 2);
    assert.equal(cache.get(a, START), claimsA);
    assert.equal(cache.get(b, START), claimsB);
    cache.delete(a);
    assert.equal(cache.get(a, START), undefined);
    assert.equal(cache.get(b, START), claimsB, 'deleting one left the other findable');
  });

  it('keeps a stamp per entry for the caller: read after a hit, changed with restamp', () => {
    const cache = new VerifiedTokenCache({ max: 2 });
    const a = 'aaaa.bbbb.ABCDEFGHIJ';
    const b = 'cccc.dddd.KLMNOPQRST';
    cache.set(a, fakeClaims(NOW + 60), START, 7);
    cache.set(b, fakeClaims(NOW + 60), START);
    assert.ok(cache.get(a, START));
    assert.equal(cache.lastStamp, 7);
    cache.restamp(8);
    assert.ok(cache.get(b, START));
    assert.equal(cache.lastStamp, -1, 'no stamp given');
    assert.ok(cache.get(a, START));
    assert.equal(cache.lastStamp, 8);
    assert.equal(cache.get('eeee.ffff.UVWXYZabcd', START), undefined);
    assert.equal(cache.lastStamp, -1, 'after a miss there is no entry to read');
    cache.restamp(9);
    assert.ok(cache.get(a, START));
    assert.equal(cache.lastStamp, 8, 'restamp after a miss changed nothing');
  });

  it('giving a token again replaces its claims', () => {
    const cache = new VerifiedTokenCache();
    const token = 'aaaa.bbbb.ABCDEFGHIJ';
    const first = fakeClaims(NOW + 60);
    const second = fakeClaims(NOW + 120);
    cache.set(token, first, START);
    cache.set(token, second, START);
    assert.equal(cache.size, 1);
    assert.equal(cache.get(token, START), second);
  });

  it('never answers at or after exp, and drops the entry', () => {
    const cache = new VerifiedTokenCache();
    const claims = fakeClaims(NOW + 60);
    cache.set('t.t.token-one', claims, START);
    assert.equal(cache.get('t.t.token-one', START + 59_999), claims);
    assert.equal(cache.get('t.t.token-one', START + 60_000), undefined);
    assert.equal(cache.size, 0);
  });

  it('applies the leeway exactly as the codec does', () => {
    const cache = new VerifiedTokenCache({ leeway: 30 });
    const claims = fakeClaims(NOW + 60, NOW + 20);
    // nbf NOW+20 is acceptable from NOW-10 on with 30 s of leeway.
    cache.set('t.t.token-two', claims, START);
    assert.equal(cache.get('t.t.token-two', START + 89_999), claims);
    assert.equal(cache.get('t.t.token-two', START + 90_000), undefined);
    cache.set('t.t.token-two', claims, START);
    // A clock moved back before nbf - leeway: not valid yet, so no answer either.
    assert.equal(cache.get('t.t.token-two', START - 10_001), undefined);
    assert.equal(cache.size, 0);
  });

  it('is bounded, and gives recently hit entries a second chance (CLOCK)', () => {
    const cache = new VerifiedTokenCache({ max: 3 });
    const claims = () => fakeClaims(NOW + 600);
    cache.set('x.x.token-aaaaa', claims(), START);
    cache.set('x.x.token-bbbbb', claims(), START);
    cache.set('x.x.token-ccccc', claims(), START);
    assert.ok(cache.get('x.x.token-aaaaa', START));
    cache.set('x.x.token-ddddd', claims(), START);
    assert.equal(cache.size, 3);
    assert.ok(cache.get('x.x.token-aaaaa', START), 'the hit entry survives');
    assert.equal(cache.get('x.x.token-bbbbb', START), undefined, 'the oldest cold entry goes');
    assert.ok(cache.get('x.x.token-ccccc', START));
    assert.ok(cache.get('x.x.token-ddddd', START));
    for (let i = 0; i < 50; i++) cache.set(`x.x.token-${String(i).padStart(5, '0')}`, claims(), START);
    assert.equal(cache.size, 3);
  });

  it('reuses the slot of a deleted or expired entry before evicting', () => {
    const cache = new VerifiedTokenCache({ max: 2 });
    cache.set('x.x.token-aaaaa', fakeClaims(NOW + 10), START);
    cache.set('x.x.token-bbbbb', fakeClaims(NOW + 600), START);
    assert.equal(cache.delete('x.x.token-aaaaa'), true);
    assert.equal(cache.delete('x.x.token-aaaaa'), false);
    cache.set('x.x.token-ccccc', fakeClaims(NOW + 600), START);
    assert.ok(cache.get('x.x.token-bbbbb', START));
    assert.ok(cache.get('x.x.token-ccccc', START));
  });

  it('sweeps expired entries out, at most once a minute from set(), or when asked', () => {
    const cache = new VerifiedTokenCache();
    cache.set('x.x.token-aaaaa', fakeClaims(NOW + 10), START);
    cache.set('x.x.token-bbbbb', fakeClaims(NOW + 600), START);
    cache.sweep(START + 10_000);
    assert.equal(cache.size, 1);
    cache.set('x.x.token-ccccc', fakeClaims(NOW + 20), START + 10_000);
    cache.set('x.x.token-ddddd', fakeClaims(NOW + 600), START + 80_000);
    assert.equal(cache.size, 2, 'the set() more than a minute later swept the expired entry');
    cache.clear();
    assert.equal(cache.size, 0);
    assert.equal(cache.get('x.x.token-bbbbb', START), undefined);
  });

  it('keeps its index exact across growth: every entry is indexed once, so removing one leaves no trace', () => {
    // The index grows at 33 entries. An entry indexed twice there outlived its removal as a
    // position pointing at a freed slot, and the next probe through it threw a TypeError:
    // a 500 on whatever route verified a token then (issue 14's intermittent disable-user 500).
    const cache = new VerifiedTokenCache();
    const tokens = Array.from({ length: 80 }, (_, i) => `h${i}.p.${(i * 7919).toString(36)}sigx`);
    for (const [i, token] of tokens.entries()) cache.set(token, fakeClaims(NOW + 60 + (i % 2) * 600), START);
    assert.equal(cache.size, tokens.length);
    for (const token of tokens) cache.delete(token);
    assert.equal(cache.size, 0);
    for (const [i, token] of tokens.entries()) cache.set(token, fakeClaims(NOW + 60 + (i % 2) * 600), START);
    // Half expire: get() drops them, the sweep drops them, and probes run over the freed slots.
    const later = START + 120_000;
    for (const token of tokens) cache.get(token, later);
    cache.sweep(later);
    for (let i = 0; i < 2000; i++) assert.equal(cache.get(`z${i}.p.${i.toString(36)}qx`, later), undefined);
    assert.equal(cache.size, tokens.length / 2);
  });

  it('refuses bad options', () => {
    for (const options of [{ max: 0 }, { max: 1.5 }, { max: -1 }, { leeway: -1 }, { leeway: Number.NaN }]) {
      assert.throws(
        () => new VerifiedTokenCache(options),
        (error: unknown) => error instanceof BatonError && error.code === 'invalid_options',
      );
    }
  });

  it('property: never answers a token it was not given, an expired one, or beyond max', () => {
    // Pairs of tokens share the characters the key is read from, so collisions happen too.
    const tokens = Array.from(
      { length: 12 },
      (_, i) => `h${i}.p.sig${String.fromCharCode(65 + (i >> 1))}xyzw`,
    );
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('set' as const),
        token: fc.nat(tokens.length - 1),
        ttl: fc.integer({ min: 1, max: 120 }),
      }),
      fc.record({ kind: fc.constant('get' as const), token: fc.nat(tokens.length - 1) }),
      fc.record({ kind: fc.constant('tick' as const), seconds: fc.integer({ min: -5, max: 90 }) }),
      fc.record({ kind: fc.constant('delete' as const), token: fc.nat(tokens.length - 1) }),
    );
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 80 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 20 }),
        (ops, max, leeway) => {
          const cache = new VerifiedTokenCache({ max, leeway });
          // The model: what was given last for each token, and when it was given.
          const given = new Map<string, AccessClaims>();
          let now = START;
          for (const o of ops) {
            if (o.kind === 'tick') now += o.seconds * 1000;
            else if (o.kind === 'set') {
              const claims = fakeClaims(Math.floor(now / 1000) + o.ttl, Math.floor(now / 1000));
              cache.set(tokens[o.token]!, claims, now);
              given.set(tokens[o.token]!, claims);
            } else if (o.kind === 'delete') {
              cache.delete(tokens[o.token]!);
              given.delete(tokens[o.token]!);
            } else {
              const answer = cache.get(tokens[o.token]!, now);
              if (answer !== undefined) {
                assert.equal(
                  answer,
                  given.get(tokens[o.token]!),
                  'answered claims it was not given for this token',
                );
                const seconds = Math.floor(now / 1000);
                assert.ok(answer.exp > seconds - leeway, 'answered an expired token');
                assert.ok(answer.nbf <= seconds + leeway, 'answered a token not yet valid');
              }
            }
            assert.ok(cache.size <= max, `size ${cache.size} > max ${max}`);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: below max and before exp, answers exactly what it was given (index under collisions, growth, deletions)', () => {
    // Key characters from a two-letter alphabet: many tokens share a key or a probe run.
    const tokens = Array.from({ length: 48 }, (_, i) => {
      const bits = (i % 32).toString(2).padStart(5, '0').replaceAll('0', 'A').replaceAll('1', 'B');
      return `h${i}.p.${bits}x`;
    });
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), token: fc.nat(tokens.length - 1) }),
      fc.record({ kind: fc.constant('delete' as const), token: fc.nat(tokens.length - 1) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const cache = new VerifiedTokenCache({ max: tokens.length });
        const given = new Map<string, AccessClaims>();
        for (const o of ops) {
          const token = tokens[o.token]!;
          if (o.kind === 'set') {
            const claims = fakeClaims(NOW + 600);
            cache.set(token, claims, START);
            given.set(token, claims);
          } else {
            assert.equal(cache.delete(token), given.delete(token));
          }
          assert.equal(cache.size, given.size);
          for (const t of tokens) assert.equal(cache.get(t, START), given.get(t), `answer for ${t}`);
        }
      }),
      { numRuns: 200 },
    );
  });
});
