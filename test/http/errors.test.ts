import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatonError } from '../../src/core/errors.ts';
import { errorResponse, OAuthError } from '../../src/http/errors.ts';

function body(res: { body?: string }): Record<string, unknown> {
  return JSON.parse(res.body ?? '') as Record<string, unknown>;
}

describe('errorResponse (Baton shape)', () => {
  it('renders {error, message} with JSON and no-store headers', () => {
    const res = errorResponse(new BatonError('invalid_credentials', 'Invalid username or password'));
    assert.equal(res.status, 401);
    assert.deepEqual(body(res), { error: 'invalid_credentials', message: 'Invalid username or password' });
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers['www-authenticate'], undefined);
  });

  it('RFC 6750 challenges: none for missing, invalid_token for bad tokens, insufficient_scope', () => {
    assert.equal(
      errorResponse(new BatonError('missing_token', 'x')).headers['www-authenticate'],
      'Bearer realm="baton"',
    );
    for (const code of ['invalid_token', 'token_expired', 'token_revoked', 'wrong_token_type'] as const) {
      const h = errorResponse(new BatonError(code, 'bad "token"')).headers['www-authenticate'];
      assert.match(String(h), /^Bearer realm="baton", error="invalid_token", error_description="bad token"$/);
    }
    const scope = errorResponse(new BatonError('insufficient_scope', 'x'));
    assert.equal(scope.status, 403);
    assert.match(String(scope.headers['www-authenticate']), /error="insufficient_scope"/);
    assert.match(
      String(errorResponse(new BatonError('fresh_token_required', 'x')).headers['www-authenticate']),
      /error="insufficient_user_authentication"/,
    );
  });

  it('413 and 415 go out as invalid_request with their status', () => {
    const res = errorResponse(new BatonError('unsupported_media_type', 'x'));
    assert.equal(res.status, 415);
    assert.equal(body(res).error, 'invalid_request');
    assert.equal(errorResponse(new BatonError('payload_too_large', 'x')).status, 413);
  });

  it('Retry-After on 429 and 503', () => {
    const limited = errorResponse(new BatonError('too_many_attempts', 'x', { retryAfter: 12.2 }));
    assert.equal(limited.status, 429);
    assert.equal(limited.headers['retry-after'], '13');
    assert.equal(errorResponse(new BatonError('store_unavailable', 'x')).headers['retry-after'], '1');
  });

  it('unexpected errors: 500 internal_error, generic message, no stack, logged', () => {
    const logged: unknown[] = [];
    const secret = new Error('db password is hunter2');
    const res = errorResponse(secret, { onUnexpectedError: (e) => logged.push(e) });
    assert.equal(res.status, 500);
    assert.deepEqual(body(res), { error: 'internal_error', message: 'Internal server error' });
    assert.doesNotMatch(res.body ?? '', /hunter2|at /);
    assert.deepEqual(logged, [secret]);
    const options = errorResponse(new BatonError('invalid_options', 'secret detail'), {
      onUnexpectedError: () => {},
    });
    assert.doesNotMatch(options.body ?? '', /secret detail/);
  });
});

describe('errorResponse (OAuth shape)', () => {
  const oauth = { oauth: true };
  it('token problems and bad passwords are 400 invalid_grant', () => {
    for (const code of [
      'invalid_token',
      'token_expired',
      'token_revoked',
      'refresh_token_reused',
      'session_expired',
      'invalid_credentials',
      'user_disabled',
      'wrong_token_type',
    ] as const) {
      const res = errorResponse(new BatonError(code, 'nope'), oauth);
      assert.equal(res.status, 400, code);
      assert.deepEqual(body(res), { error: 'invalid_grant', error_description: 'nope' });
    }
  });

  it('malformed is invalid_request, 429/503 keep status', () => {
    assert.deepEqual(body(errorResponse(new BatonError('invalid_request', 'm'), oauth)), {
      error: 'invalid_request',
      error_description: 'm',
    });
    assert.equal(errorResponse(new BatonError('unsupported_media_type', 'm'), oauth).status, 415);
    const limited = errorResponse(new BatonError('too_many_attempts', 'm', { retryAfter: 3 }), oauth);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers['retry-after'], '3');
  });

  it('OAuthError renders as given, with its challenges', () => {
    const res = errorResponse(new OAuthError('invalid_client', 'bad client', 401, ['Basic realm="baton"']));
    assert.equal(res.status, 401);
    assert.deepEqual(body(res), { error: 'invalid_client', error_description: 'bad client' });
    assert.deepEqual(res.headers['www-authenticate'], ['Basic realm="baton"']);
  });

  it('unexpected errors are server_error', () => {
    const res = errorResponse(new TypeError('x'), { oauth: true, onUnexpectedError: () => {} });
    assert.equal(res.status, 500);
    assert.equal(body(res).error, 'server_error');
  });
});
