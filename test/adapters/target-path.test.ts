// normalTargetPath: the adapters' auth-route hook reads the path of every request
// without a URL parse; for every target that refusedTarget lets through it must be
// the path parseRequestTarget gives.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { normalTargetPath } from '../../src/adapters/target.ts';
import { isNormalTarget, parseRequestTarget } from '../../src/http/types.ts';

describe('normalTargetPath', () => {
  it('is the parsed path for the usual targets', () => {
    for (const [target, path] of [
      ['/auth/login', '/auth/login'],
      ['/auth/login?x=1', '/auth/login'],
      ['/api/me#frag', '/api/me'],
      ['/a%2Fb?c#d', '/a%2Fb'],
      ['/', '/'],
      ['//twice/over', '//twice/over'],
      ['http://example.com/auth/refresh?y', '/auth/refresh'],
    ] as const) {
      assert.equal(normalTargetPath(target), path, target);
      assert.equal(parseRequestTarget(target).path, path, target);
    }
  });

  it('agrees with parseRequestTarget on every target that is let through', () => {
    const piece = fc.constantFrom(
      '/',
      '//',
      'auth',
      'login',
      '.',
      '..',
      '%2e',
      '%2F',
      '%41',
      '%',
      '?',
      '#',
      '&',
      '=',
      ' ',
      '\\',
      '"',
      '<',
      'é',
      ':',
      '@',
      '~',
      ';',
      'http://h',
      'https://h:8/',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 10 }), (pieces) => {
        const target = pieces.join('');
        if (!isNormalTarget(target)) return;
        assert.equal(normalTargetPath(target), parseRequestTarget(target).path, JSON.stringify(target));
      }),
      { numRuns: 5000 },
    );
  });
});
