/**
 * Every failure Baton reports is a BatonError with a stable `code`. Errors
 * know nothing of HTTP (as jose's do not): `http/errors.ts` maps codes to
 * statuses and response bodies, in one place.
 */

/** The stable codes of BatonErrors (the README's "Error codes" lists what each means). */
export type ErrorCode =
  | 'missing_token'
  | 'invalid_token'
  | 'token_expired'
  | 'token_revoked'
  | 'wrong_token_type'
  | 'fresh_token_required'
  | 'refresh_token_reused'
  | 'session_expired'
  | 'invalid_credentials'
  | 'csrf_failed'
  /** A confidential OAuth client's secret missing or wrong. */
  | 'invalid_client'
  | 'user_disabled'
  | 'insufficient_scope'
  | 'not_found'
  | 'invalid_request'
  /** A malformed Authorization header (`Bearer` and no token, one over the limit). */
  | 'malformed_authorization'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'early_refresh'
  | 'too_many_attempts'
  | 'store_unavailable'
  /** A resource server could not fetch the issuer's keys (JWKS) and holds none. */
  | 'keys_unavailable'
  /** A store's driver package (better-sqlite3, ioredis, pg) is not installed. */
  | 'store_driver_missing'
  /** A store URL that names no store Baton can open (`openStore`, `parseStoreUrl`). */
  | 'invalid_store_url'
  | 'invalid_options'
  | 'internal_error';

export interface BatonErrorOptions {
  /** Seconds after which a retry may succeed (too many attempts, an unavailable store). */
  retryAfter?: number;
  cause?: unknown;
}

/**
 * What Baton throws: a stable `code` for code to branch on (the message is
 * for people and may change), and no HTTP status: `errorResponse` of
 * `baton-auth/http` (and every adapter's error handler) maps the code to one.
 * Your own routes may throw it too, to answer in Baton's shape.
 *
 * @example
 * ```ts
 * import { BatonError } from 'baton-auth';
 * import { errorResponse } from 'baton-auth/http';
 *
 * const missing = new BatonError('not_found', 'No such report');
 * missing.code; // 'not_found'
 * errorResponse(missing).status; // 404
 *
 * const busy = new BatonError('too_many_attempts', 'Slow down', { retryAfter: 30 });
 * errorResponse(busy).headers['retry-after']; // '30' (and status 429)
 * ```
 */
export class BatonError extends Error {
  override readonly name: string = 'BatonError';
  readonly code: ErrorCode;
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string, options: BatonErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryAfter = options.retryAfter;
  }
}

/**
 * Whether a thrown value is a BatonError (a token, a request or a store
 * refused, with its `code`) rather than a bug to let through.
 *
 * @example
 * ```ts
 * import { isBatonError } from 'baton-auth';
 *
 * try {
 *   sessions.verifyAccessToken(accessToken);
 * } catch (error) {
 *   if (!isBatonError(error)) throw error; // a bug, not a bad token
 *   if (error.code === 'token_expired') {
 *     // refresh, then try again; 'token_revoked', 'invalid_token', ...: log in again
 *   }
 * }
 * ```
 */
export function isBatonError(value: unknown): value is BatonError {
  return value instanceof BatonError;
}
