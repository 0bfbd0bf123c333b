/**
 * Every failure Baton reports is a BatonError with a stable `code`.
 * The HTTP status lives here, in one table, so that `http/` maps errors to
 * responses without knowing which part of Baton raised them.
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
  /** A confidential OAuth client's secret missing or wrong. */
  invalid_client: 401,
  user_disabled: 403,
  insufficient_scope: 403,
  not_found: 404,
  invalid_request: 400,
  /** A malformed Authorization header (`Bearer` and no token, one over the limit): 400 `invalid_request` with a challenge. */
  malformed_authorization: 400,
  payload_too_large: 413,
  unsupported_media_type: 415,
  early_refresh: 425,
  too_many_attempts: 429,
  store_unavailable: 503,
  /** A resource server could not fetch the issuer's keys (JWKS) and holds none. */
  keys_unavailable: 503,
  /** A store's driver package (better-sqlite3, ioredis, pg) is not installed. */
  store_driver_missing: 500,
  invalid_options: 500,
  internal_error: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Codes that go out on the wire. 413 and 415 are `invalid_request` with another status; a malformed Authorization header is one with a challenge. */
const WIRE_CODE: Partial<Record<ErrorCode, ErrorCode>> = {
  malformed_authorization: 'invalid_request',
  payload_too_large: 'invalid_request',
  unsupported_media_type: 'invalid_request',
};

export interface BatonErrorOptions {
  /** Seconds after which a retry may succeed (429, 503). */
  retryAfter?: number;
  cause?: unknown;
}

export class BatonError extends Error {
  override readonly name = 'BatonError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string, options: BatonErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.retryAfter = options.retryAfter;
  }

  /** The code clients see: `invalid_request` for 400, 413 and 415 alike. */
  get wireCode(): ErrorCode {
    return WIRE_CODE[this.code] ?? this.code;
  }
}

export function isBatonError(value: unknown): value is BatonError {
  return value instanceof BatonError;
}
