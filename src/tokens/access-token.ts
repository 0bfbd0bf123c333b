import { type Clock, epochSeconds, systemClock } from '../core/clock.ts';
import { type Duration, parseDuration } from '../core/duration.ts';
import { BatonError } from '../core/errors.ts';
import {
  type ClaimExpectations,
  claimExpectations,
  isNonEmptyString,
  isNumericDate,
  validateClaims,
} from './claims.ts';
import {
  DEFAULT_MAX_TOKEN_LENGTH,
  encodeHeader,
  JwsVerifier,
  signWithEncodedHeader,
  typMatches,
} from './jws.ts';
import type { KeySet } from './keys.ts';
import { randomId } from './random.ts';
import { type AccessClaims, ALGORITHMS, type Algorithm, type Freshness, type SigningKey } from './types.ts';

/**
 * RFC 9068 2.1: the `typ` header of a JWT access token.
 *
 * @example
 * ```ts
 * import { ACCESS_TOKEN_TYP } from 'baton-auth';
 * import { verifyJws } from 'baton-auth/jws';
 *
 * // The signature and the header only; verifyAccessToken also checks iss, aud, exp, revocation...
 * const { header } = verifyJws(accessToken, { keys: sessions.keys, algorithms: ['EdDSA'], typ: ACCESS_TOKEN_TYP });
 * header.typ; // 'at+jwt': an access token, not an ID token or another JWT signed with the same key
 * ```
 */
export const ACCESS_TOKEN_TYP = 'at+jwt';
const MAX_SUBJECT_LENGTH = 255;
const DEFAULT_TTL = '15m';

export interface AccessTokenCodecOptions {
  keys: KeySet;
  /** Accepted algorithms; defaults to those of the set's keys. Must include the signing key's. */
  algorithms?: readonly Algorithm[];
  issuer: string;
  /** The audience(s) this service accepts; tokens are signed for all of them. */
  audience: string | readonly string[];
  /** Clock skew allowed for `exp` and `nbf`. Default 0. */
  leeway?: Duration;
  /** Lifetime used when sign() gets no `exp`. Default 15 minutes. */
  ttl?: Duration;
  clock?: Clock;
  /** Longest token verify() reads. Default 8192 characters. */
  maxLength?: number;
}

/** What sign() takes: iss, aud and type come from the codec; jti, iat, nbf, exp and fresh have defaults. */
export interface AccessTokenInput {
  /** Passed through toSubject(), so integer user ids are fine. */
  sub: string | number | bigint;
  sid: string;
  client_id: string;
  /** Default: 128 random bits, base64url. */
  jti?: string;
  /** Default: now. */
  iat?: number;
  /** Default: iat. */
  nbf?: number;
  /** Default: iat + ttl. */
  exp?: number;
  /** Default: false. */
  fresh?: Freshness;
  roles?: string[];
  scope?: string;
  [claim: string]: unknown;
}

const CODEC_CLAIMS = ['iss', 'aud', 'type'] as const;
/** Claims issue() sets from its own fields; every other field of the input is copied as it is. */
const INPUT_CLAIMS: ReadonlySet<string> = new Set([
  'sub',
  'sid',
  'client_id',
  'jti',
  'iat',
  'nbf',
  'exp',
  'fresh',
]);

function options(message: string): BatonError {
  return new BatonError('invalid_options', message);
}

function invalid(reason: string): BatonError {
  return new BatonError('invalid_token', reason);
}

/**
 * Turns an application's user id into a `sub` claim. Strings (1 to 255
 * characters) pass, safe integers and bigints become decimal strings;
 * anything else throws BatonError('invalid_options'). The id comes from the
 * application, not from the client, so a bad one is a server bug (500), not
 * a bad request (400). flask-jwt-extended users meet this as "Subject must
 * be a string" after passing `user.id`.
 */
export function toSubject(id: unknown): string {
  if (typeof id === 'string') {
    if (id.length === 0) throw options('subject (user id) must not be an empty string');
    if (id.length > MAX_SUBJECT_LENGTH) {
      throw options(`subject (user id) must be at most ${MAX_SUBJECT_LENGTH} characters, got ${id.length}`);
    }
    return id;
  }
  if (typeof id === 'number') {
    if (Number.isSafeInteger(id)) return String(id);
    throw options(
      `subject (user id) must be a string or a safe integer, got the number ${id}; pass large ids as strings or bigints`,
    );
  }
  if (typeof id === 'bigint') return id.toString(10);
  const kind = id === null ? 'null' : Array.isArray(id) ? 'an array' : typeof id;
  throw options(
    `subject (user id) must be a string or an integer, got ${kind}; convert it (e.g. String(user.id))`,
  );
}

/**
 * flask-jwt-extended semantics: `fresh` is true, false, or a NumericDate until
 * which the token counts as fresh.
 */
export function isFresh(claims: Pick<AccessClaims, 'fresh'>, nowSeconds: number): boolean {
  const { fresh } = claims;
  return fresh === true || (typeof fresh === 'number' && fresh > nowSeconds);
}

function isFreshness(value: unknown): value is Freshness {
  return typeof value === 'boolean' || isNumericDate(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** Signs and verifies RFC 9068 JWT access tokens for one issuer. */
export class AccessTokenCodec {
  readonly keys: KeySet;
  readonly algorithms: readonly Algorithm[];
  readonly issuer: string;
  readonly audiences: readonly string[];
  /** Seconds. */
  readonly leeway: number;
  /** Seconds. */
  readonly ttl: number;
  readonly clock: Clock;
  readonly maxLength: number;
  readonly #aud: string | string[];
  readonly #verifier: JwsVerifier;
  readonly #claims: ClaimExpectations;
  /** The encoded protected header for the signing key, made at the first sign. */
  #header: { key: SigningKey; encoded: string } | undefined;

  constructor(opts: AccessTokenCodecOptions) {
    if (opts === null || typeof opts !== 'object') throw options('AccessTokenCodec needs options');
    const { keys } = opts;
    if (
      keys === null ||
      typeof keys !== 'object' ||
      typeof (keys as Partial<KeySet>).get !== 'function' ||
      typeof (keys as Partial<KeySet>).canSign !== 'boolean'
    ) {
      throw options('keys must be a KeySet');
    }
    const algorithms = opts.algorithms ?? keys.algorithms;
    if (!Array.isArray(algorithms) || algorithms.length === 0) {
      throw options('algorithms must be a non-empty list');
    }
    for (const alg of algorithms) {
      if (!(ALGORITHMS as readonly unknown[]).includes(alg)) {
        throw options(`unsupported algorithm ${JSON.stringify(alg)}; use one of ${ALGORITHMS.join(', ')}`);
      }
    }
    if (keys.canSign && !algorithms.includes(keys.signingKey.alg)) {
      throw options(
        `algorithms [${algorithms.join(', ')}] leave out ${keys.signingKey.alg}, the signing key's algorithm: tokens signed now would not verify`,
      );
    }
    if (!isNonEmptyString(opts.issuer)) throw options('issuer must be a non-empty string');
    const audiences = typeof opts.audience === 'string' ? [opts.audience] : opts.audience;
    if (!Array.isArray(audiences) || audiences.length === 0 || !audiences.every(isNonEmptyString)) {
      throw options('audience must be a non-empty string or a non-empty list of them');
    }
    const clock = opts.clock ?? systemClock;
    if (clock === null || typeof clock !== 'object' || typeof clock.now !== 'function') {
      throw options('clock must have a now() method');
    }
    if (opts.maxLength !== undefined && (!Number.isSafeInteger(opts.maxLength) || opts.maxLength < 64)) {
      throw options('maxLength must be an integer of at least 64');
    }
    this.keys = keys;
    this.algorithms = Object.freeze([...new Set(algorithms)]);
    this.issuer = opts.issuer;
    this.audiences = Object.freeze([...audiences]);
    this.#aud = audiences.length === 1 ? audiences[0]! : [...audiences];
    this.leeway = parseDuration(opts.leeway ?? 0, 'leeway');
    this.ttl = parseDuration(opts.ttl ?? DEFAULT_TTL, 'ttl');
    this.clock = clock;
    this.maxLength = opts.maxLength ?? DEFAULT_MAX_TOKEN_LENGTH;
    this.#claims = claimExpectations({ issuer: this.issuer, audiences: this.audiences, leeway: this.leeway });
    // No typ here: verify() checks it after `type`, see there.
    this.#verifier = new JwsVerifier({ keys, algorithms: this.algorithms, maxLength: this.maxLength });
  }

  /** Signs an access token with the set's signing key. */
  sign(input: AccessTokenInput): string {
    return this.issue(input).token;
  }

  /** Like sign(), and also returns the claims as signed (jti, exp, ... filled in). */
  issue(input: AccessTokenInput): { token: string; claims: AccessClaims } {
    if (input === null || typeof input !== 'object') throw options('access token claims must be an object');
    for (const claim of CODEC_CLAIMS) {
      if (Object.hasOwn(input, claim))
        throw options(`"${claim}" is set by the codec and cannot be passed to sign()`);
    }
    const { sub, sid, client_id, jti, iat, nbf, exp, fresh } = input;
    if (!isNonEmptyString(sid)) throw options('sid must be a non-empty string');
    if (!isNonEmptyString(client_id)) throw options('client_id must be a non-empty string');
    if (jti !== undefined && !isNonEmptyString(jti)) throw options('jti must be a non-empty string');
    if (iat !== undefined && !isNumericDate(iat)) throw options('iat must be a finite number of seconds');
    if (nbf !== undefined && !isNumericDate(nbf)) throw options('nbf must be a finite number of seconds');
    if (exp !== undefined && !isNumericDate(exp)) throw options('exp must be a finite number of seconds');
    if (fresh !== undefined && !isFreshness(fresh))
      throw options('fresh must be true, false or a NumericDate');
    if (input.roles !== undefined && !isStringArray(input.roles))
      throw options('roles must be an array of strings');
    if (input.scope !== undefined && typeof input.scope !== 'string') throw options('scope must be a string');

    const issuedAt = iat ?? epochSeconds(this.clock);
    const claims: AccessClaims = {
      iss: this.issuer,
      sub: toSubject(sub),
      aud: typeof this.#aud === 'string' ? this.#aud : [...this.#aud],
      exp: exp ?? issuedAt + this.ttl,
      nbf: nbf ?? issuedAt,
      iat: issuedAt,
      jti: jti ?? randomId(16),
      sid,
      client_id,
      type: 'access',
      fresh: fresh ?? false,
    };
    // The other claims in the caller's order (what an object rest would copy, without building one).
    const names = Object.keys(input);
    for (let index = 0; index < names.length; index++) {
      const name = names[index]!;
      if (!INPUT_CLAIMS.has(name)) claims[name] = input[name];
    }
    const key = this.keys.signingKey;
    if (this.#header === undefined || this.#header.key !== key) {
      this.#header = { key, encoded: encodeHeader({ typ: ACCESS_TOKEN_TYP }, key) };
    }
    const token = signWithEncodedHeader(this.#header.encoded, claims, key);
    return { token, claims };
  }

  /**
   * Verifies signature, header and claims. Throws BatonError: `token_expired`,
   * `wrong_token_type` (a valid token of another type, e.g. a refresh JWT), or
   * `invalid_token` for everything else. `nowMs` is the instant `exp` and
   * `nbf` are checked against (default: the codec's clock).
   */
  verify(token: string, nowMs: number = this.clock.now()): AccessClaims {
    const { header, payload } = this.#verifier.verify(token);
    // Checked before `typ`, so a genuine refresh token gets the more helpful wrong_token_type.
    if (typeof payload.type !== 'string') throw invalid('missing type claim');
    if (payload.type !== 'access') throw new BatonError('wrong_token_type', 'expected an access token');
    // Baton signs with exactly ACCESS_TOKEN_TYP; other spellings of it take the general comparison.
    if (header.typ !== ACCESS_TOKEN_TYP && !typMatches(header.typ, ACCESS_TOKEN_TYP)) {
      throw invalid('unexpected typ');
    }
    // iss, aud, exp/nbf/iat with the leeway (expired: token_expired), sub, sid, jti, client_id.
    validateClaims(payload, this.#claims, Math.floor(nowMs / 1000));
    if (!isFreshness(payload.fresh)) throw invalid('malformed fresh claim');
    if (payload.roles !== undefined && !isStringArray(payload.roles)) throw invalid('malformed roles claim');
    if (payload.scope !== undefined && typeof payload.scope !== 'string')
      throw invalid('malformed scope claim');
    return payload as AccessClaims;
  }

  /** Whether verified claims are fresh now (see isFresh). */
  isFresh(claims: Pick<AccessClaims, 'fresh'>): boolean {
    return isFresh(claims, epochSeconds(this.clock));
  }
}
