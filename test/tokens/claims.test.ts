// The one claims validator (src/tokens/claims.ts) that the access-token codec,
// the jwt strategy's refresh tokens and the resource verifier (through the
// codec) share, and the time rule the verified-token cache applies on hits.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type AccessClaims, BatonError } from '../../src/index.ts';
import {
  type ClaimExpectations,
  claimExpectations,
  isExpired,
  isTimeValid,
  validateClaims,
} from '../../src/tokens/claims.ts';
import { VerifiedTokenCache } from '../../src/tokens/verified-cache.ts';

const ISSUER = 'https://auth.example';
const AUDIENCE = 'https://api.example';
const NOW = Date.UTC(2030, 0, 1) / 1000;

const ACCESS = claimExpectations({ issuer: ISSUER, audiences: [AUDIENCE] });
const REFRESH = claimExpectations({
  issuer: ISSUER,
  audiences: [AUDIENCE],
  leeway: 30,
  expiredCode: 'session_expired',
  expiredMessage: 'This refresh token has expired; log in again',
  missingMessage: 'missing claims',
});

function payload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    iss: ISSUER,
    sub: 'user-1',
    aud: AUDIENCE,
    exp: NOW + 60,
    nbf: NOW,
    iat: NOW,
    jti: 'jti-1',
    sid: 'sid-1',
    client_id: 'web',
    type: 'access',
  };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete base[name];
    else base[name] = value;
  }
  return base;
}

function fails(code: string, message?: string | RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof BatonError, `expected BatonError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (typeof message === 'string') assert.equal(error.message, message);
    else if (message) assert.match(error.message, message);
    return true;
  };
}

function check(claims: Record<string, unknown>, expectations: ClaimExpectations = ACCESS, now = NOW) {
  return validateClaims(claims, expectations, now);
}

describe('claimExpectations', () => {
  it('defaults to an access token: no leeway, token_expired "token expired", default missing messages', () => {
    assert.deepEqual(claimExpectations({ issuer: ISSUER, audiences: [AUDIENCE] }), {
      issuer: ISSUER,
      audiences: [AUDIENCE],
      leeway: 0,
      expiredCode: 'token_expired',
      expiredMessage: 'token expired',
      missingMessage: undefined,
    });
  });

  it('has the same keys in the same order whatever is given (one object shape for the validator)', () => {
    const keys = Object.keys(ACCESS);
    assert.deepEqual(Object.keys(REFRESH), keys);
    assert.deepEqual(
      Object.keys(claimExpectations({ audiences: [], issuer: 'x', missingMessage: 'm' })),
      keys,
    );
  });
});

describe('validateClaims', () => {
  it('returns the payload itself, typed, other claims untouched', () => {
    const claims = payload({ roles: ['admin'], custom: { a: 1 } });
    const result = check(claims);
    assert.equal(result, claims);
    assert.equal(result.sub, 'user-1');
    assert.deepEqual(claims.roles, ['admin']);
    assert.deepEqual(claims.custom, { a: 1 });
  });

  describe('iss', () => {
    it('must equal the issuer', () => {
      for (const iss of [
        undefined,
        'https://evil.example',
        `${ISSUER}/`,
        '',
        42,
        null,
        [ISSUER],
        { iss: ISSUER },
      ]) {
        assert.throws(
          () => check(payload({ iss })),
          fails('invalid_token', 'unexpected issuer'),
          String(iss),
        );
      }
    });
  });

  describe('aud', () => {
    it('accepts a string naming an accepted audience', () => {
      assert.ok(check(payload({ aud: AUDIENCE })));
      const two = claimExpectations({ issuer: ISSUER, audiences: ['a', AUDIENCE] });
      assert.ok(check(payload({ aud: AUDIENCE }), two));
      assert.ok(check(payload({ aud: 'a' }), two));
    });

    it('accepts a list of strings naming at least one accepted audience, anywhere in it', () => {
      assert.ok(check(payload({ aud: [AUDIENCE] })));
      assert.ok(check(payload({ aud: ['x', AUDIENCE] })));
      assert.ok(check(payload({ aud: [AUDIENCE, 'x', 'y'] })));
      const two = claimExpectations({ issuer: ISSUER, audiences: ['a', 'b'] });
      assert.ok(check(payload({ aud: ['x', 'b'] }), two));
    });

    it('refuses other audiences, lists with non-strings, and other types', () => {
      const bad: unknown[] = [
        undefined,
        'https://other.example',
        '',
        [],
        ['x', 'y'],
        [AUDIENCE, 1],
        [1, AUDIENCE],
        [AUDIENCE, null],
        [[AUDIENCE]],
        42,
        null,
        { 0: AUDIENCE, length: 1 },
      ];
      for (const aud of bad) {
        assert.throws(
          () => check(payload({ aud })),
          fails('invalid_token', 'unexpected audience'),
          JSON.stringify(aud),
        );
      }
    });
  });

  describe('exp, nbf, iat shapes', () => {
    it('each must be a finite number', () => {
      for (const claim of ['exp', 'nbf', 'iat']) {
        for (const value of [
          undefined,
          null,
          '2030-01-01',
          `${NOW + 60}`,
          true,
          [NOW],
          Number.NaN,
          Infinity,
          -Infinity,
        ]) {
          assert.throws(
            () => check(payload({ [claim]: value })),
            fails('invalid_token', 'missing or malformed time claims'),
            `${claim}: ${String(value)}`,
          );
        }
      }
    });

    it('takes fractional NumericDates (RFC 7519 2) and any iat', () => {
      assert.ok(check(payload({ exp: NOW + 0.5, nbf: NOW - 0.5, iat: NOW + 0.25 })));
      assert.ok(check(payload({ iat: NOW + 3600 })), 'iat is not compared with the clock');
      assert.ok(check(payload({ iat: 0 })));
    });
  });

  describe('exp', () => {
    it('without leeway: valid before exp, expired at exp (RFC 7519 4.1.4 "on or after")', () => {
      const exp = NOW + 60;
      assert.ok(check(payload({ exp }), ACCESS, exp - 1));
      assert.ok(check(payload({ exp: exp + 0.5 }), ACCESS, exp));
      assert.throws(() => check(payload({ exp }), ACCESS, exp), fails('token_expired', 'token expired'));
      assert.throws(
        () => check(payload({ exp }), ACCESS, exp + 1000),
        fails('token_expired', 'token expired'),
      );
    });

    it('with leeway: expired exactly when exp = now - leeway', () => {
      const leeway = 30;
      const exp = NOW;
      const expectations = claimExpectations({ issuer: ISSUER, audiences: [AUDIENCE], leeway });
      // now - leeway = exp - 1: still valid.
      assert.ok(check(payload({ exp, nbf: NOW - 100 }), expectations, exp + leeway - 1));
      // now - leeway = exp: expired.
      assert.throws(
        () => check(payload({ exp, nbf: NOW - 100 }), expectations, exp + leeway),
        fails('token_expired', 'token expired'),
      );
      // A fraction of a second before the edge is still inside it.
      assert.ok(check(payload({ exp: exp + 0.001, nbf: NOW - 100 }), expectations, exp + leeway));
    });

    it("raises the caller's code and message: a refresh JWT's expiry is session_expired", () => {
      const exp = NOW;
      assert.ok(check(payload({ exp, nbf: NOW - 100 }), REFRESH, exp + 29));
      assert.throws(
        () => check(payload({ exp, nbf: NOW - 100 }), REFRESH, exp + 30),
        fails('session_expired', 'This refresh token has expired; log in again'),
      );
    });
  });

  describe('nbf', () => {
    it('without leeway: not yet valid before nbf, valid at nbf', () => {
      const nbf = NOW + 10;
      const claims = payload({ nbf, exp: NOW + 100 });
      assert.throws(() => check(claims, ACCESS, nbf - 1), fails('invalid_token', 'token not yet valid'));
      assert.throws(
        () => check(payload({ nbf: nbf + 0.5, exp: NOW + 100 }), ACCESS, nbf),
        fails('invalid_token', 'token not yet valid'),
      );
      assert.ok(check(claims, ACCESS, nbf));
      assert.ok(check(claims, ACCESS, nbf + 1));
    });

    it('with leeway: valid exactly from nbf = now + leeway', () => {
      const leeway = 30;
      const nbf = NOW + 100;
      const expectations = claimExpectations({ issuer: ISSUER, audiences: [AUDIENCE], leeway });
      const claims = payload({ nbf, exp: NOW + 1000 });
      // now + leeway = nbf: valid.
      assert.ok(check(claims, expectations, nbf - leeway));
      // now + leeway = nbf - 1: not yet.
      assert.throws(
        () => check(claims, expectations, nbf - leeway - 1),
        fails('invalid_token', 'token not yet valid'),
      );
      // The same for a refresh JWT: not-yet-valid is invalid_token whatever expiredCode says.
      assert.throws(() => check(claims, REFRESH, nbf - 31), fails('invalid_token', 'token not yet valid'));
    });

    it('a token both expired and not yet valid (nbf after exp) is reported expired', () => {
      assert.throws(() => check(payload({ nbf: NOW + 10, exp: NOW })), fails('token_expired'));
    });
  });

  describe('sub, sid, jti, client_id', () => {
    it('each must be a non-empty string', () => {
      for (const claim of ['sub', 'sid', 'jti']) {
        for (const value of [undefined, '', 42, null, ['x'], { id: 'x' }]) {
          assert.throws(
            () => check(payload({ [claim]: value })),
            fails('invalid_token', 'missing sub, sid or jti'),
            `${claim}: ${String(value)}`,
          );
        }
      }
      for (const value of [undefined, '', 42, null]) {
        assert.throws(
          () => check(payload({ client_id: value })),
          fails('invalid_token', 'missing client_id'),
        );
      }
    });

    it("use the caller's message when it gives one", () => {
      for (const claim of ['sub', 'sid', 'jti', 'client_id']) {
        assert.throws(
          () => check(payload({ [claim]: '' }), REFRESH),
          fails('invalid_token', 'missing claims'),
        );
      }
    });
  });

  it('reports the first failure in a fixed order: iss, aud, time shapes, exp, nbf, sub/sid/jti, client_id', () => {
    const all = payload({ iss: 'x', aud: 'x', exp: 'x', sub: '', client_id: '' });
    assert.throws(() => check(all), fails('invalid_token', 'unexpected issuer'));
    all.iss = ISSUER;
    assert.throws(() => check(all), fails('invalid_token', 'unexpected audience'));
    all.aud = AUDIENCE;
    assert.throws(() => check(all), fails('invalid_token', 'missing or malformed time claims'));
    all.exp = NOW - 1;
    all.nbf = NOW + 1;
    assert.throws(() => check(all), fails('token_expired'));
    all.exp = NOW + 60;
    assert.throws(() => check(all), fails('invalid_token', 'token not yet valid'));
    all.nbf = NOW;
    assert.throws(() => check(all), fails('invalid_token', 'missing sub, sid or jti'));
    all.sub = 'user-1';
    assert.throws(() => check(all), fails('invalid_token', 'missing client_id'));
    all.client_id = 'web';
    assert.equal(check(all), all);
  });
});

describe('the time rule', () => {
  it('isExpired: once exp <= now - leeway', () => {
    assert.equal(isExpired(NOW + 1, NOW, 0), false);
    assert.equal(isExpired(NOW, NOW, 0), true);
    assert.equal(isExpired(NOW + 0.5, NOW, 0), false);
    assert.equal(isExpired(NOW - 29, NOW, 30), false);
    assert.equal(isExpired(NOW - 30, NOW, 30), true);
  });

  it('isTimeValid: not expired, and nbf <= now + leeway', () => {
    assert.equal(isTimeValid(NOW + 1, NOW, NOW, 0), true);
    assert.equal(isTimeValid(NOW, NOW, NOW, 0), false, 'expired at exp');
    assert.equal(isTimeValid(NOW + 60, NOW, NOW, 0), true, 'valid at nbf');
    assert.equal(isTimeValid(NOW + 60, NOW + 1, NOW, 0), false, 'not yet valid before nbf');
    assert.equal(isTimeValid(NOW - 29, NOW, NOW, 30), true);
    assert.equal(isTimeValid(NOW - 30, NOW, NOW, 30), false);
    assert.equal(isTimeValid(NOW + 60, NOW + 30, NOW, 30), true);
    assert.equal(isTimeValid(NOW + 60, NOW + 31, NOW, 30), false);
  });

  it('property: validateClaims, isTimeValid, isExpired and a verified-cache hit agree at every instant', () => {
    const seconds = fc.integer({ min: -10_000, max: 10_000 });
    const fraction = fc.constantFrom(0, 0.25, 0.5);
    fc.assert(
      fc.property(
        seconds,
        fraction,
        seconds,
        fraction,
        seconds,
        fc.integer({ min: 0, max: 600 }),
        (e, ef, n, nf, t, leeway) => {
          const exp = NOW + e + ef;
          const nbf = NOW + n + nf;
          const now = NOW + t;
          // The rule written out once more, apart from the code under test.
          const reference = exp <= now - leeway ? 'expired' : nbf > now + leeway ? 'not yet valid' : 'valid';
          assert.equal(isExpired(exp, now, leeway), reference === 'expired');
          assert.equal(isTimeValid(exp, nbf, now, leeway), reference === 'valid');

          const expectations = claimExpectations({ issuer: ISSUER, audiences: [AUDIENCE], leeway });
          let outcome = 'valid';
          try {
            validateClaims(payload({ exp, nbf }), expectations, now);
          } catch (error) {
            outcome = (error as BatonError).code === 'token_expired' ? 'expired' : 'not yet valid';
          }
          assert.equal(outcome, reference);

          const cache = new VerifiedTokenCache({ leeway });
          const claims = payload({ exp, nbf }) as AccessClaims;
          cache.set('t.t.some-token', claims, now * 1000);
          assert.equal(cache.get('t.t.some-token', now * 1000) === claims, reference === 'valid');
        },
      ),
      { numRuns: 500 },
    );
  });
});
