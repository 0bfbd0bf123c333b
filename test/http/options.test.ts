/**
 * The HTTP layer's options follow the managers' style: strict at every depth,
 * a did-you-mean for a near miss, Baton's equivalent for a seed library's
 * setting, and a pointer to the manager for a manager's option.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveHttpOptions } from '../../src/http/options.ts';
import type { AuthManager } from '../../src/index.ts';
import { BatonError } from '../../src/index.ts';

// resolveHttpOptions checks the options before the manager: none is needed to see their messages.
const manager = {} as AuthManager;

function refusal(options: unknown): string {
  try {
    resolveHttpOptions(manager, options as never);
  } catch (error) {
    assert.ok(error instanceof BatonError);
    assert.equal(error.code, 'invalid_options');
    return error.message;
  }
  assert.fail('the options were accepted');
}

describe('HTTP options', () => {
  it('refuse a misspelled option, at any depth, with a did-you-mean', () => {
    assert.equal(
      refusal({ cookie: true }),
      'Invalid Baton HTTP options: cookie: unknown option; did you mean cookies?',
    );
    assert.equal(
      refusal({ token_lookup: {} }),
      'Invalid Baton HTTP options: token_lookup: unknown option; did you mean tokenLookup?',
    );
    assert.equal(
      refusal({ tokenLookup: { headerNme: 'X-Token' } }),
      'Invalid Baton HTTP options: tokenLookup.headerNme: unknown option; did you mean headerName?',
    );
    assert.equal(
      refusal({ cookies: { names: { acess: 'a' } } }),
      'Invalid Baton HTTP options: cookies.names.acess: unknown option; did you mean access?',
    );
    assert.equal(
      refusal({ cookies: { implicitRefresh: { within: '5m', before: '5m' } } }),
      'Invalid Baton HTTP options: cookies.implicitRefresh.before: unknown option; cookies.implicitRefresh takes within',
    );
  });

  it("name a seed library's setting's equivalent, and send a manager's option to the manager", () => {
    assert.match(
      refusal({ JWT_TOKEN_LOCATION: ['headers'] }),
      /JWT_TOKEN_LOCATION: unknown option; JWT_TOKEN_LOCATION is flask-jwt-extended's and AuthX's setting; Baton's is the HTTP option tokenLookup\.locations/,
    );
    assert.equal(
      refusal({ accessTokenTtl: '15m' }),
      'Invalid Baton HTTP options: accessTokenTtl: unknown option; accessTokenTtl is an option of the manager (new SessionManager, createAuthManager), not of the HTTP layer',
    );
  });

  it('point a misspelled per-client route option (spread among the HTTP options) to its name', () => {
    assert.equal(
      refusal({ delegatPath: '/delegate/' }),
      'Invalid Baton HTTP options: delegatPath: unknown option; did you mean delegatePath? It is an option of the per-client routes (perClient: { delegatePath })',
    );
  });

  it('name what a bad value should be', () => {
    assert.equal(
      refusal({ bodyLimit: -1 }),
      'Invalid Baton HTTP options: bodyLimit: must be a positive whole number of bytes',
    );
    assert.equal(
      refusal({ cookies: { implicitRefresh: { within: 0 } } }),
      "Invalid Baton HTTP options: cookies.implicitRefresh.within: must be a positive duration (seconds, or text like '5m')",
    );
    assert.equal(
      refusal({ cookies: { sameSite: 'lax' } }),
      "Invalid Baton HTTP options: cookies.sameSite: must be 'Strict', 'Lax' or 'None'",
    );
    assert.equal(
      refusal({ clients: [{ id: 'app' }] }),
      'Invalid Baton HTTP options: clients.0.secret: required: a non-empty string',
    );
  });
});
