import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { ERROR_STATUS, errorResponse, httpStatusOf, OAuthError, wireCodeOf } from '../../src/http/errors.ts';
import { BatonError, type ErrorCode } from '../../src/index.ts';

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

/**
 * What each code answers over HTTP: status and `error` in Baton's shape, then
 * on the OAuth routes. Typed by ErrorCode, so a new code needs its row.
 */
const ANSWERS: Record<ErrorCode, readonly [number, string, number, string]> = {
  missing_token: [401, 'missing_token', 400, 'invalid_request'],
  invalid_token: [401, 'invalid_token', 400, 'invalid_grant'],
  token_expired: [401, 'token_expired', 400, 'invalid_grant'],
  token_revoked: [401, 'token_revoked', 400, 'invalid_grant'],
  wrong_token_type: [401, 'wrong_token_type', 400, 'invalid_grant'],
  fresh_token_required: [401, 'fresh_token_required', 401, 'fresh_token_required'],
  refresh_token_reused: [401, 'refresh_token_reused', 400, 'invalid_grant'],
  session_expired: [401, 'session_expired', 400, 'invalid_grant'],
  invalid_credentials: [401, 'invalid_credentials', 400, 'invalid_grant'],
  csrf_failed: [401, 'csrf_failed', 400, 'invalid_request'],
  invalid_client: [401, 'invalid_client', 401, 'invalid_client'],
  user_disabled: [403, 'user_disabled', 400, 'invalid_grant'],
  insufficient_scope: [403, 'insufficient_scope', 400, 'invalid_scope'],
  not_found: [404, 'not_found', 400, 'invalid_grant'],
  invalid_request: [400, 'invalid_request', 400, 'invalid_request'],
  malformed_authorization: [400, 'invalid_request', 400, 'invalid_request'],
  payload_too_large: [413, 'invalid_request', 413, 'invalid_request'],
  unsupported_media_type: [415, 'invalid_request', 415, 'invalid_request'],
  early_refresh: [425, 'early_refresh', 400, 'invalid_grant'],
  too_many_attempts: [429, 'too_many_attempts', 429, 'too_many_attempts'],
  store_unavailable: [503, 'store_unavailable', 503, 'store_unavailable'],
  keys_unavailable: [503, 'keys_unavailable', 503, 'keys_unavailable'],
  store_driver_missing: [500, 'internal_error', 500, 'server_error'],
  invalid_store_url: [500, 'internal_error', 500, 'server_error'],
  invalid_options: [500, 'internal_error', 500, 'server_error'],
  internal_error: [500, 'internal_error', 500, 'server_error'],
};

/** The members of the ErrorCode union, read from its declaration. */
function declaredErrorCodes(): string[] {
  const file = 'src/core/errors.ts';
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const alias = source.statements.find(
    (s): s is ts.TypeAliasDeclaration => ts.isTypeAliasDeclaration(s) && s.name.text === 'ErrorCode',
  );
  assert.ok(alias && ts.isUnionTypeNode(alias.type), 'ErrorCode is a union of string literals');
  return alias.type.types.map((member) => {
    assert.ok(ts.isLiteralTypeNode(member) && ts.isStringLiteral(member.literal), member.getText(source));
    return member.literal.text;
  });
}

describe('the HTTP mapping of error codes (errors carry codes only)', () => {
  it('is total: every ErrorCode has an HTTP status, and nothing else does', () => {
    const declared = declaredErrorCodes();
    assert.ok(declared.length >= 26);
    assert.deepEqual(Object.keys(ERROR_STATUS).sort(), [...declared].sort());
    for (const code of declared as ErrorCode[]) {
      const status = httpStatusOf(code);
      assert.ok(Number.isInteger(status) && status >= 400 && status <= 599, `${code}: ${status}`);
    }
  });

  it("answers each code with its status and wire code, in both shapes, with a retry's Retry-After", () => {
    for (const [code, [status, error, oauthStatus, oauthError]] of Object.entries(ANSWERS)) {
      const thrown = new BatonError(code as ErrorCode, 'm', { retryAfter: 2 });
      const baton = errorResponse(thrown, { onUnexpectedError: () => {} });
      const oauth = errorResponse(thrown, { oauth: true, onUnexpectedError: () => {} });
      assert.deepEqual([baton.status, body(baton).error], [status, error], code);
      assert.deepEqual([oauth.status, body(oauth).error], [oauthStatus, oauthError], `${code} (OAuth)`);
      const retry = status === 429 || status === 503 ? '2' : undefined;
      assert.equal(baton.headers['retry-after'], retry, code);
      assert.equal(oauth.headers['retry-after'], retry, `${code} (OAuth)`);
    }
  });

  it('httpStatusOf and wireCodeOf are the table the responses follow; 5xx other than 503 never go out as they are', () => {
    for (const code of Object.keys(ANSWERS) as ErrorCode[]) {
      const [status, error] = ANSWERS[code];
      if (status === 500) {
        assert.equal(httpStatusOf(code), 500, code);
        continue;
      }
      assert.equal(httpStatusOf(code), status, code);
      assert.equal(wireCodeOf(code), error, code);
    }
  });

  it('setup errors (invalid_options, invalid_store_url, store_driver_missing) are a plain 500, detail not sent', () => {
    for (const code of ['invalid_options', 'invalid_store_url', 'store_driver_missing'] as const) {
      const logged: unknown[] = [];
      const error = new BatonError(code, 'secret detail');
      const res = errorResponse(error, { onUnexpectedError: (e) => logged.push(e) });
      assert.equal(res.status, 500);
      assert.deepEqual(body(res), { error: 'internal_error', message: 'Internal server error' });
      assert.deepEqual(logged, [error], 'logged as unexpected');
    }
  });

  it('a BatonError has no HTTP status or wire code of its own', () => {
    const error = new BatonError('payload_too_large', 'big', { retryAfter: 1, cause: 'c' });
    assert.deepEqual(
      [error.code, error.message, error.retryAfter, error.cause, error.name],
      ['payload_too_large', 'big', 1, 'c', 'BatonError'],
    );
    assert.equal('status' in error, false);
    assert.equal('wireCode' in error, false);
  });
});
