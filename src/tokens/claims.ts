/**
 * The claims checks every Baton JWT goes through, in one place (as jose has
 * one `validateClaimsSet` for all its callers): the access-token codec, the
 * jwt strategy's refresh tokens, and through the codec the resource server's
 * verifier. The verified-token cache re-checks time on every hit with the
 * same rule (`isTimeValid`).
 *
 * Allocation-free when the claims pass: no closures, no arrays, no copies;
 * the payload itself is returned. Only a failure builds something (the error).
 */
import { BatonError, type ErrorCode } from '../core/errors.ts';
import type { SessionTokenClaims } from './types.ts';

/** What validateClaims holds a payload to. Make it once per verifier with claimExpectations(). */
export interface ClaimExpectations {
  /** `iss` must equal it. */
  readonly issuer: string;
  /** `aud` (a string or a list of strings) must name at least one of them. */
  readonly audiences: readonly string[];
  /** Seconds of clock skew allowed on `exp` and `nbf`. */
  readonly leeway: number;
  /** The code of an expired token's error: `token_expired` for access tokens, `session_expired` for refresh JWTs. */
  readonly expiredCode: ErrorCode;
  readonly expiredMessage: string;
  /**
   * The message of the error for a missing `sub`, `sid`, `jti` or `client_id`;
   * undefined for the default ones ("missing sub, sid or jti", "missing client_id").
   */
  readonly missingMessage: string | undefined;
}

export interface ClaimExpectationsInput {
  issuer: string;
  audiences: readonly string[];
  /** Default 0. */
  leeway?: number;
  /** Default `token_expired`. */
  expiredCode?: ErrorCode;
  /** Default "token expired". */
  expiredMessage?: string;
  missingMessage?: string;
}

/**
 * Expectations for validateClaims. Always the same shape, whoever makes them,
 * so that validateClaims sees one object layout (one V8 hidden class).
 */
export function claimExpectations(input: ClaimExpectationsInput): ClaimExpectations {
  return {
    issuer: input.issuer,
    audiences: input.audiences,
    leeway: input.leeway ?? 0,
    expiredCode: input.expiredCode ?? 'token_expired',
    expiredMessage: input.expiredMessage ?? 'token expired',
    missingMessage: input.missingMessage,
  };
}

// The time rule's answers, module-private on purpose: V8 reads an exported
// binding from its cell, with a hole check, at every use (a ~100 ns cache hit
// notices a handful), while this module's own constants cost nothing. For the
// same reason the rule itself is private; other modules call isTimeValid and
// isExpired.
const VALID = 0;
const EXPIRED = 1;
const NOT_YET_VALID = 2;

/** RFC 7519 4.1.4: expired on or after `exp`; with the leeway, once `exp <= now - leeway`. Seconds. */
function expired(exp: number, nowSeconds: number, leeway: number): boolean {
  return exp <= nowSeconds - leeway;
}

/**
 * The one time rule: expired (see expired), else not yet valid while
 * `nbf > now + leeway` (RFC 7519 4.1.5), else valid. Expiry is reported
 * first: a token that is both can never become valid.
 */
function timeStatus(exp: number, nbf: number, nowSeconds: number, leeway: number): number {
  if (expired(exp, nowSeconds, leeway)) return EXPIRED;
  if (isNotYetValid(nbf, nowSeconds, leeway)) return NOT_YET_VALID;
  return VALID;
}

/** Whether `exp` and `nbf` are acceptable at `nowSeconds` with the leeway: validateClaims' rule. */
export function isTimeValid(exp: number, nbf: number, nowSeconds: number, leeway: number): boolean {
  return timeStatus(exp, nbf, nowSeconds, leeway) === VALID;
}

/** Whether `exp` has passed at `nowSeconds` with the leeway: validateClaims' rule, whatever `nbf` says. */
export function isExpired(exp: number, nowSeconds: number, leeway: number): boolean {
  return expired(exp, nowSeconds, leeway);
}

/** Whether `nbf` is still ahead of `nowSeconds` with the leeway: validateClaims' rule, whatever `exp` says. */
export function isNotYetValid(nbf: number, nowSeconds: number, leeway: number): boolean {
  return nbf > nowSeconds + leeway;
}

// Private for validateClaims, exported below for the codec's own claims (see VALID above).
function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** A JWT NumericDate: a finite number of seconds (JSON.parse reads 1e999 as Infinity). */
function numericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

export function isNonEmptyString(value: unknown): value is string {
  return nonEmptyString(value);
}

/** A JWT NumericDate: a finite number of seconds. */
export function isNumericDate(value: unknown): value is number {
  return numericDate(value);
}

/** `aud` is one accepted string, or a list of strings only, at least one of them accepted. */
function audienceAccepted(aud: unknown, audiences: readonly string[]): boolean {
  if (typeof aud === 'string') return audiences.includes(aud);
  if (!Array.isArray(aud)) return false;
  let accepted = false;
  for (let index = 0; index < aud.length; index++) {
    const value: unknown = aud[index];
    if (typeof value !== 'string') return false;
    if (!accepted) accepted = audiences.includes(value);
  }
  return accepted;
}

function invalid(reason: string): BatonError {
  return new BatonError('invalid_token', reason);
}

/**
 * Checks the claims of a verified JWT payload at `nowSeconds` and returns
 * them typed (the same object). Throws BatonError, checking in this order
 * and reporting the first failure:
 *
 * 1. `iss` is not the issuer: `invalid_token` "unexpected issuer";
 * 2. `aud` is not a string or a list of strings naming an accepted audience:
 *    `invalid_token` "unexpected audience";
 * 3. `exp`, `nbf` or `iat` is missing or not a finite number:
 *    `invalid_token` "missing or malformed time claims";
 * 4. expired (see isExpired): `expectations.expiredCode` with `expiredMessage`;
 * 5. not yet valid: `invalid_token` "token not yet valid";
 * 6. `sub`, `sid`, `jti`, then `client_id` not a non-empty string:
 *    `invalid_token` with `missingMessage`, or by default
 *    "missing sub, sid or jti" / "missing client_id".
 *
 * Which token type it is (`type`, the header's `typ`) and the claims of one
 * type only (an access token's `fresh`, `roles`, `scope`) are the caller's.
 */
export function validateClaims(
  payload: Record<string, unknown>,
  expectations: ClaimExpectations,
  nowSeconds: number,
): SessionTokenClaims {
  if (payload.iss !== expectations.issuer) throw invalid('unexpected issuer');
  if (!audienceAccepted(payload.aud, expectations.audiences)) throw invalid('unexpected audience');
  const { exp, nbf, iat } = payload;
  if (!numericDate(exp) || !numericDate(nbf) || !numericDate(iat)) {
    throw invalid('missing or malformed time claims');
  }
  const time = timeStatus(exp, nbf, nowSeconds, expectations.leeway);
  if (time === EXPIRED) throw new BatonError(expectations.expiredCode, expectations.expiredMessage);
  if (time === NOT_YET_VALID) throw invalid('token not yet valid');
  if (!nonEmptyString(payload.sub) || !nonEmptyString(payload.sid) || !nonEmptyString(payload.jti)) {
    throw invalid(expectations.missingMessage ?? 'missing sub, sid or jti');
  }
  if (!nonEmptyString(payload.client_id)) throw invalid(expectations.missingMessage ?? 'missing client_id');
  return payload as unknown as SessionTokenClaims;
}
