/**
 * The one place where errors become HTTP responses. Routes throw; this maps.
 * BatonErrors carry codes only: their HTTP statuses and the codes clients
 * see are decided here. Two shapes: Baton's `{error, message}` and, on the
 * OAuth routes, the RFC 6749/7009/7662 `{error, error_description}`.
 */
import { type BatonError, type ErrorCode, isBatonError } from '../core/errors.ts';
import type { HttpResponse } from './types.ts';

/**
 * The HTTP status of each BatonError code: every code has one.
 *
 * @example
 * ```ts
 * import { isBatonError } from 'baton-auth';
 * import { ERROR_STATUS } from 'baton-auth/http';
 *
 * ERROR_STATUS.token_expired; // 401
 * ERROR_STATUS.insufficient_scope; // 403
 * // A framework's error handler that keeps its own body shape (errorResponse gives Baton's):
 * const statusOf = (error: unknown) => (isBatonError(error) ? ERROR_STATUS[error.code] : 500);
 * ```
 */
export const ERROR_STATUS = {
  missing_token: 401,
  invalid_token: 401,
  token_expired: 401,
  token_revoked: 401,
  wrong_token_type: 401,
  fresh_token_required: 401,
  refresh_token_reused: 401,
  session_expired: 401,
  invalid_credentials: 401,
  csrf_failed: 401,
  invalid_client: 401,
  user_disabled: 403,
  insufficient_scope: 403,
  not_found: 404,
  invalid_request: 400,
  /** Sent as `invalid_request` with an RFC 6750 challenge. */
  malformed_authorization: 400,
  /** Sent as `invalid_request`. */
  payload_too_large: 413,
  /** Sent as `invalid_request`. */
  unsupported_media_type: 415,
  early_refresh: 425,
  too_many_attempts: 429,
  store_unavailable: 503,
  keys_unavailable: 503,
  // Setup errors (a missing driver, a bad store URL, bad options) are never sent:
  // a request that meets one gets a 500 `internal_error`, as for any bug.
  store_driver_missing: 500,
  invalid_store_url: 500,
  invalid_options: 500,
  internal_error: 500,
} as const satisfies Record<ErrorCode, number>;

/** Codes that go out on the wire as another: 413 and 415 are `invalid_request` with their own status, a malformed Authorization header is one with a challenge. */
const WIRE_CODE: Partial<Record<ErrorCode, ErrorCode>> = {
  malformed_authorization: 'invalid_request',
  payload_too_large: 'invalid_request',
  unsupported_media_type: 'invalid_request',
};

/** The HTTP status of an error code. */
export function httpStatusOf(code: ErrorCode): number {
  return ERROR_STATUS[code];
}

/** The code clients see: `invalid_request` for 400, 413 and 415 alike. */
export function wireCodeOf(code: ErrorCode): ErrorCode {
  return WIRE_CODE[code] ?? code;
}

/** An OAuth protocol error with its RFC code, raised by the OAuth routes themselves. */
export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  constructor(
    /** RFC 6749 §5.2 code (`invalid_request`, `invalid_client`, `invalid_grant`, ...) or RFC 6750's. */
    readonly error: string,
    readonly description: string,
    readonly status = 400,
    /** WWW-Authenticate challenges to send (401 with client authentication, RFC 6749 §5.2). */
    readonly challenges: readonly string[] = [],
  ) {
    super(description);
  }
}

export interface ErrorResponseOptions {
  /** Render the RFC 6749 shape. */
  oauth?: boolean;
  /** Realm of WWW-Authenticate challenges. Default `baton`. */
  realm?: string;
  /** Receives errors that are not BatonErrors (bugs, crashed stores). Default: stderr. */
  onUnexpectedError?: (error: unknown) => void;
}

/** Token problems that RFC 6750 reports as `error="invalid_token"`. */
const INVALID_TOKEN: ReadonlySet<ErrorCode> = new Set([
  'invalid_token',
  'token_expired',
  'token_revoked',
  'wrong_token_type',
  'refresh_token_reused',
  'session_expired',
]);

/** Baton codes that a token endpoint reports as RFC 6749 `invalid_grant`. */
const INVALID_GRANT: ReadonlySet<ErrorCode> = new Set([
  ...INVALID_TOKEN,
  'invalid_credentials',
  'user_disabled',
  'early_refresh',
  'not_found',
]);

export const JSON_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'application/json',
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'x-content-type-options': 'nosniff',
};

/**
 * A JSON response with Baton's headers (`no-store`, `nosniff`), for routes of
 * your own next to the auth routes.
 *
 * @example
 * ```ts
 * import { jsonResponse } from 'baton-auth/http';
 *
 * const response = jsonResponse(201, { id: 'r1' }, { location: '/reports/r1' });
 * response.body; // '{"id":"r1"}'
 * response.headers; // { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache',
 * //                     'x-content-type-options': 'nosniff', location: '/reports/r1' }
 * ```
 */
export function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
): HttpResponse {
  return { status, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** Quoted-string content for auth-params: no quotes, backslashes or control characters. */
function quoted(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '').slice(0, 200);
}

function bearerChallenge(error: BatonError, realm: string): string | undefined {
  const base = `Bearer realm="${quoted(realm)}"`;
  if (error.code === 'missing_token') return base;
  const rfcError = INVALID_TOKEN.has(error.code)
    ? 'invalid_token'
    : error.code === 'insufficient_scope'
      ? 'insufficient_scope'
      : // RFC 9470: the step-up challenge for "authenticate again", which is what freshness asks.
        error.code === 'fresh_token_required'
        ? 'insufficient_user_authentication'
        : // RFC 6750 3.1: a malformed request to a protected resource is challenged too.
          error.code === 'malformed_authorization'
          ? 'invalid_request'
          : undefined;
  if (rfcError === undefined) return undefined;
  return `${base}, error="${rfcError}", error_description="${quoted(error.message)}"`;
}

function retryHeaders(error: BatonError): Record<string, string> {
  const status = httpStatusOf(error.code);
  // The rest of an oversized body is never read: close, or a client reusing the connection fails.
  if (status === 413) return { connection: 'close' };
  if (status !== 429 && status !== 503) return {};
  return { 'retry-after': String(Math.max(1, Math.ceil(error.retryAfter ?? 1))) };
}

function logUnexpected(error: unknown): void {
  console.error('baton: unexpected error while handling a request:', error);
}

/** Anything not a BatonError/OAuthError, and Baton's own 5xx except 503, become this. */
function internal(error: unknown, options: ErrorResponseOptions): HttpResponse {
  (options.onUnexpectedError ?? logUnexpected)(error);
  return options.oauth
    ? jsonResponse(500, { error: 'server_error', error_description: 'Internal server error' })
    : jsonResponse(500, { error: 'internal_error', message: 'Internal server error' });
}

/**
 * What a client may read of an error. A store outage's message names the
 * store's host, port and database for operators: clients get a generic one.
 */
function publicMessage(error: BatonError): string {
  return error.code === 'store_unavailable' ? 'The session store is unavailable; retry later' : error.message;
}

function oauthResponse(error: BatonError): HttpResponse {
  const retry = retryHeaders(error);
  let code: string = wireCodeOf(error.code);
  let status = httpStatusOf(error.code);
  if (INVALID_GRANT.has(error.code)) {
    code = 'invalid_grant';
    status = 400;
  } else if (error.code === 'missing_token' || error.code === 'csrf_failed') {
    code = 'invalid_request';
    status = 400;
  } else if (error.code === 'insufficient_scope') {
    code = 'invalid_scope';
    status = 400;
  }
  return jsonResponse(status, { error: code, error_description: publicMessage(error) }, retry);
}

/**
 * Maps any thrown value to a response. Never exposes a stack trace or an internal message.
 *
 * @example
 * ```ts
 * import { BatonError } from 'baton-auth';
 * import { errorResponse } from 'baton-auth/http';
 *
 * const response = errorResponse(new BatonError('token_expired', 'The access token has expired'));
 * response.status; // 401
 * response.body; // '{"error":"token_expired","message":"The access token has expired"}'
 * response.headers['www-authenticate'];
 * // 'Bearer realm="baton", error="invalid_token", error_description="The access token has expired"'
 * errorResponse(new Error('connection refused')).body; // '{"error":"internal_error","message":"Internal server error"}', the error to stderr
 * ```
 */
export function errorResponse(error: unknown, options: ErrorResponseOptions = {}): HttpResponse {
  if (error instanceof OAuthError) {
    const headers: Record<string, string | string[]> = {};
    if (error.challenges.length > 0) headers['www-authenticate'] = [...error.challenges];
    return jsonResponse(error.status, { error: error.error, error_description: error.description }, headers);
  }
  if (!isBatonError(error)) return internal(error, options);
  const status = httpStatusOf(error.code);
  if (status >= 500 && status !== 503) return internal(error, options);
  if (options.oauth) return oauthResponse(error);
  const headers: Record<string, string> = retryHeaders(error);
  const challenge = bearerChallenge(error, options.realm ?? 'baton');
  if (challenge !== undefined) headers['www-authenticate'] = challenge;
  return jsonResponse(status, { error: wireCodeOf(error.code), message: publicMessage(error) }, headers);
}

/** 405 for a known auth path used with another method; an OAuth route answers in its RFCs' shape. */
export function methodNotAllowed(allow: readonly string[], oauth = false): HttpResponse {
  const text = `Method not allowed; use ${allow.join(', ')}`;
  return jsonResponse(
    405,
    oauth
      ? { error: 'invalid_request', error_description: text }
      : { error: 'invalid_request', message: text },
    { allow: allow.join(', ') },
  );
}

const CLIENT_ERROR_MESSAGES: Readonly<Record<number, string>> = {
  400: 'The request is malformed',
  404: 'No such route',
  405: 'Method not allowed',
  408: 'The request took too long',
  411: 'The request needs a Content-Length',
  413: 'The request body is too large',
  414: 'The URL is too long',
  415: 'The content type is not supported',
  431: 'The request headers are too large',
};

function clientStatus(error: unknown): number | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  const value = typeof statusCode === 'number' ? statusCode : status;
  return typeof value === 'number' && Number.isInteger(value) && value >= 400 && value < 500
    ? value
    : undefined;
}

/**
 * For the adapters' error handlers: Baton's errors as `errorResponse` maps
 * them, and the 4xx errors frameworks raise themselves (body-parser's
 * `entity.parse.failed`, Fastify's `FST_ERR_CTP_*`, Hono's HTTPException) in
 * Baton's shape, with a generic message so no framework internals leak.
 * Everything else is a 500.
 */
export function frameworkErrorResponse(error: unknown, options: ErrorResponseOptions = {}): HttpResponse {
  if (error instanceof OAuthError || isBatonError(error)) return errorResponse(error, options);
  const status = clientStatus(error);
  if (status === undefined) return errorResponse(error, options);
  const message = CLIENT_ERROR_MESSAGES[status] ?? 'The request was refused';
  return jsonResponse(status, { error: status === 404 ? 'not_found' : 'invalid_request', message });
}
