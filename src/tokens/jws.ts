import { isUtf8 } from 'node:buffer';
import {
  constants,
  createHmac,
  type KeyObject,
  type SignKeyObjectInput,
  sign as signBytes,
  timingSafeEqual,
  type VerifyKeyObjectInput,
  verify as verifyBytes,
} from 'node:crypto';
import { BatonError } from '../core/errors.ts';
import type { KeySet } from './keys.ts';
import type { Algorithm, SigningKey } from './types.ts';

/** A parsed JOSE header. Only `alg` is guaranteed; verifyJws has checked it against the key. */
export interface JwsHeader {
  alg: Algorithm;
  kid?: string;
  typ?: string;
  [parameter: string]: unknown;
}

export interface VerifyJwsOptions {
  keys: KeySet;
  /** The algorithms accepted; a token whose `alg` is not listed fails before any key is used. */
  algorithms: readonly Algorithm[];
  /** Expected `typ`, compared as RFC 8725 3.11 / RFC 9068 say (case-insensitive, `application/` optional). */
  typ?: string;
  /** Longest token accepted, checked before anything else. Default 8192. */
  maxLength?: number;
}

export interface VerifiedJws {
  /** Frozen: it may be shared between tokens with the same header. */
  header: Readonly<JwsHeader>;
  payload: Record<string, unknown>;
}

/**
 * The longest token, in characters, that verifyJws and JwsVerifier read
 * unless `maxLength` says otherwise; checked before anything else.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_TOKEN_LENGTH, type VerifyJwsOptions } from 'baton-auth/jws';
 *
 * // Tokens that carry many claims: accept twice the default (8192).
 * const limits: Pick<VerifyJwsOptions, 'maxLength'> = { maxLength: 2 * DEFAULT_MAX_TOKEN_LENGTH };
 * ```
 */
export const DEFAULT_MAX_TOKEN_LENGTH = 8192;

function invalid(reason: string): BatonError {
  return new BatonError('invalid_token', reason);
}

// ---------------------------------------------------------------------------
// Per-key signing and verification, built once per key.

interface KeyOps {
  sign(input: string): string;
  verify(input: string, signature: Buffer): boolean;
}

const HMAC_HASH: Partial<Record<Algorithm, string>> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

function hmacOps(hash: string, secret: KeyObject): KeyOps {
  return {
    sign: (input) => createHmac(hash, secret).update(input).digest('base64url'),
    verify: (input, signature) => {
      const expected = createHmac(hash, secret).update(input).digest();
      return signature.length === expected.length && timingSafeEqual(signature, expected);
    },
  };
}

function asymmetricOps(
  hash: string | null,
  privateKey: KeyObject | undefined,
  publicKey: KeyObject | undefined,
  extra: object,
  signatureLength?: number,
): KeyOps {
  // A bare KeyObject when there are no options: node:crypto then skips unpacking an options object.
  const plain = Object.keys(extra).length === 0;
  const signKey: SignKeyObjectInput | KeyObject | undefined =
    privateKey && (plain ? privateKey : { key: privateKey, ...extra });
  const verifyKey: VerifyKeyObjectInput | KeyObject | undefined =
    publicKey && (plain ? publicKey : { key: publicKey, ...extra });
  return {
    sign: (input) => {
      if (signKey === undefined)
        throw new BatonError('invalid_options', 'this key has no private key to sign with');
      return signBytes(hash, Buffer.from(input, 'latin1'), signKey).toString('base64url');
    },
    verify: (input, signature) => {
      if (verifyKey === undefined) return false;
      if (signatureLength !== undefined && signature.length !== signatureLength) return false;
      return verifyBytes(hash, Buffer.from(input, 'latin1'), verifyKey, signature);
    },
  };
}

function buildOps(key: SigningKey): KeyOps {
  const hash = HMAC_HASH[key.alg];
  if (hash !== undefined) {
    if (key.secretKey === undefined)
      throw new BatonError('invalid_options', `${key.alg} key ${key.kid} has no secret`);
    return hmacOps(hash, key.secretKey);
  }
  switch (key.alg) {
    case 'RS256':
      return asymmetricOps('sha256', key.privateKey, key.publicKey, {});
    case 'PS256':
      // RFC 7518 3.5: salt as long as the hash.
      return asymmetricOps('sha256', key.privateKey, key.publicKey, {
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      });
    case 'ES256':
      // JWS wants the raw r||s form (RFC 7518 3.4), not DER.
      return asymmetricOps('sha256', key.privateKey, key.publicKey, { dsaEncoding: 'ieee-p1363' }, 64);
    case 'EdDSA':
      return asymmetricOps(null, key.privateKey, key.publicKey, {});
    default:
      throw new BatonError('invalid_options', `unsupported algorithm ${String(key.alg)}`);
  }
}

const opsCache = new WeakMap<SigningKey, KeyOps>();

function opsFor(key: SigningKey): KeyOps {
  let ops = opsCache.get(key);
  if (ops === undefined) {
    ops = buildOps(key);
    opsCache.set(key, ops);
  }
  return ops;
}

// ---------------------------------------------------------------------------
// Encoding.

const BASE64URL_CHUNK = /^[A-Za-z0-9_-]+$/;
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Payload and signature of a compact JWS, matched from `lastIndex` (sticky) to the end. */
const COMPACT_TAIL = /[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/y;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Value of each base64url character by char code (ASCII only), -1 for anything else. */
const VALUE = new Int8Array(128).fill(-1);
for (let index = 0; index < ALPHABET.length; index++) VALUE[ALPHABET.charCodeAt(index)] = index;
const DOT = 46;

/**
 * Unpadded base64url has exactly one spelling per byte string: the length is
 * never 1 mod 4 and the unused low bits of the last character are zero.
 * Insisting on it keeps tokens non-malleable. Checks token[start, end), whose
 * characters are already known to be base64url.
 */
function isCanonicalAt(token: string, start: number, end: number): boolean {
  const rest = (end - start) % 4;
  if (rest === 0) return true;
  if (rest === 1) return false;
  const value = VALUE[token.charCodeAt(end - 1)]!;
  return (value & (rest === 2 ? 0x0f : 0x03)) === 0;
}

function encodeJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** Strict UTF-8 (like TextDecoder with fatal: true, BOM dropped); undefined when the bytes are not UTF-8. */
function decodeUtf8(bytes: Buffer): string | undefined {
  const text = bytes.toString('utf8');
  // toString replaces bad sequences with U+FFFD; only then is the slower exact check needed.
  if (text.includes('\uFFFD') && !isUtf8(bytes)) return undefined;
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Parses one base64url JSON segment; undefined unless it is a JSON object. */
function decodeJsonObject(segment: string): Record<string, unknown> | undefined {
  const text = decodeUtf8(Buffer.from(segment, 'base64url'));
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

// Headers repeat from token to token, so parsed ones are kept by their
// encoded form. Headers are frozen and only flat ones cached, so sharing is safe.
const HEADER_CACHE_SIZE = 256;
const headerCache = new Map<string, Readonly<Record<string, unknown>>>();

function parseHeader(segment: string): Readonly<Record<string, unknown>> | undefined {
  const cached = headerCache.get(segment);
  if (cached !== undefined) return cached;
  const header = decodeJsonObject(segment);
  if (header === undefined) return undefined;
  Object.freeze(header);
  if (Object.values(header).every((value) => value === null || typeof value !== 'object')) {
    if (headerCache.size >= HEADER_CACHE_SIZE) headerCache.clear();
    headerCache.set(segment, header);
  }
  return header;
}

// ---------------------------------------------------------------------------
// Sign.

const encodedHeaders = new WeakMap<SigningKey, Map<string, string>>();

/** The protected header segment signJws puts on a token signed with `key`: `alg` and `kid` from the key. */
export function encodeHeader(header: Record<string, unknown>, key: SigningKey): string {
  const full: Record<string, unknown> = { alg: key.alg, ...header };
  full.alg = key.alg;
  full.kid = key.kid;
  const json = JSON.stringify(full);
  let perKey = encodedHeaders.get(key);
  if (perKey === undefined) {
    perKey = new Map();
    encodedHeaders.set(key, perKey);
  }
  let encodedHeader = perKey.get(json);
  if (encodedHeader === undefined) {
    encodedHeader = Buffer.from(json, 'utf8').toString('base64url');
    if (perKey.size < 16) perKey.set(json, encodedHeader);
  }
  return encodedHeader;
}

/**
 * signJws with a header segment made by encodeHeader(header, key), for a
 * caller that signs many tokens with one header and one key (the codec).
 */
export function signWithEncodedHeader(
  encodedHeader: string,
  payload: Record<string, unknown>,
  key: SigningKey,
): string {
  if (key.retired === true)
    throw new BatonError('invalid_options', `key ${key.kid} is retired and signs nothing`);
  const input = `${encodedHeader}.${encodeJson(payload)}`;
  return `${input}.${opsFor(key).sign(input)}`;
}

/**
 * Compact JWS over a JSON payload. `alg` and `kid` always come from the key.
 *
 * @example
 * ```ts
 * import { generateSigningKey } from 'baton-auth';
 * import { signJws } from 'baton-auth/jws';
 *
 * const key = await generateSigningKey('ES256', { kid: 'webhooks-1' });
 * const iat = Math.floor(Date.now() / 1000);
 * const signature = signJws({ typ: 'JWT' }, { iss: 'billing', event: 'invoice.paid', iat }, key);
 * // header { alg: 'ES256', typ: 'JWT', kid: 'webhooks-1' }
 * ```
 */
export function signJws(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: SigningKey,
): string {
  if (key.retired === true)
    throw new BatonError('invalid_options', `key ${key.kid} is retired and signs nothing`);
  const ops = opsFor(key);
  const input = `${encodeHeader(header, key)}.${encodeJson(payload)}`;
  return `${input}.${ops.sign(input)}`;
}

// ---------------------------------------------------------------------------
// Verify.

/** RFC 7515 4.1.9: `application/` may be left off a media type, and case does not matter. */
function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.includes('/') ? lower : `application/${lower}`;
}

/** Whether a header's `typ` names the expected media type (RFC 8725 3.11, RFC 9068 4). */
export function typMatches(actual: unknown, expected: string): boolean {
  return typeof actual === 'string' && normalizeTyp(actual) === normalizeTyp(expected);
}

/** A header that passed every header check against one set of options, and the key it selects. */
interface ResolvedHeader {
  /** The encoded header segment. */
  segment: string;
  header: Readonly<JwsHeader>;
  ops: KeyOps;
}

/**
 * The header checks, in order: parse, alg pinned, no crit, kid -> key, the
 * key's own alg, typ. Throws the first failure. `segment` is known to be
 * base64url.
 */
function resolveHeader(segment: string, options: VerifyJwsOptions): ResolvedHeader {
  const header = parseHeader(segment);
  if (header === undefined) throw invalid('malformed header');
  const { alg, kid, typ } = header;
  if (typeof alg !== 'string' || !options.algorithms.includes(alg as Algorithm)) {
    throw invalid('algorithm not allowed');
  }
  // Baton understands no extensions, and RFC 7515 4.1.11 says unknown critical ones must fail.
  if (Object.hasOwn(header, 'crit')) throw invalid('unsupported critical header');
  let key: SigningKey | undefined;
  if (kid === undefined) {
    key = options.keys.onlyKey;
    if (key === undefined) throw invalid('missing kid');
  } else {
    if (typeof kid !== 'string') throw invalid('malformed kid');
    key = options.keys.get(kid);
    if (key === undefined) throw invalid('unknown kid');
  }
  // The key fixes the algorithm: no HS256 "signed" with a public key, no alg none.
  if (key.alg !== alg) throw invalid('algorithm does not match key');
  if (options.typ !== undefined && !typMatches(typ, options.typ)) {
    throw invalid('unexpected typ');
  }
  return { segment, header: header as Readonly<JwsHeader>, ops: opsFor(key) };
}

/** Remembers resolved headers for one fixed set of options (see JwsVerifier). */
interface HeaderMemo {
  last: ResolvedHeader | undefined;
  bySegment: Map<string, ResolvedHeader>;
}

const HEADER_MEMO_SIZE = 64;

/**
 * The whole check. Order of the checks, and so which reason a bad token gets,
 * is the same with and without a memo: the memo only skips header checks that
 * the very same header segment already passed under the very same options.
 */
function verifyCompact(token: string, options: VerifyJwsOptions, memo: HeaderMemo | undefined): VerifiedJws {
  if (typeof token !== 'string') throw invalid('token must be a string');
  if (token.length > (options.maxLength ?? DEFAULT_MAX_TOKEN_LENGTH)) throw invalid('token too long');
  // The most recent header segment is recognised in place, without slicing or hashing it; it
  // passed the compact-form check before, so only the rest of the token needs it now.
  let resolved = memo?.last;
  let firstDot: number;
  if (
    resolved !== undefined &&
    token.charCodeAt(resolved.segment.length) === DOT &&
    token.startsWith(resolved.segment)
  ) {
    firstDot = resolved.segment.length;
    COMPACT_TAIL.lastIndex = firstDot + 1;
    if (!COMPACT_TAIL.test(token)) throw invalid('malformed token');
  } else {
    if (!COMPACT.test(token)) throw invalid('malformed token');
    firstDot = token.indexOf('.');
    resolved = undefined;
  }
  const lastDot = token.lastIndexOf('.');
  if (!isCanonicalAt(token, firstDot + 1, lastDot) || !isCanonicalAt(token, lastDot + 1, token.length)) {
    throw invalid('malformed token');
  }
  if (resolved === undefined) {
    const segment = token.slice(0, firstDot);
    resolved = memo?.bySegment.get(segment);
    if (resolved === undefined) {
      if (!isCanonicalAt(token, 0, firstDot)) throw invalid('malformed token');
      resolved = resolveHeader(segment, options);
      if (memo !== undefined) {
        if (memo.bySegment.size >= HEADER_MEMO_SIZE) memo.bySegment.clear();
        memo.bySegment.set(segment, resolved);
      }
    }
    if (memo !== undefined) memo.last = resolved;
  }

  const signature = Buffer.from(token.slice(lastDot + 1), 'base64url');
  if (!resolved.ops.verify(token.slice(0, lastDot), signature)) throw invalid('bad signature');

  const payload = decodeJsonObject(token.slice(firstDot + 1, lastDot));
  if (payload === undefined) throw invalid('malformed payload');
  return { header: resolved.header, payload };
}

/**
 * Internal (tokens/dpop.ts): the payload of a compact JWS whose header the
 * caller has checked itself (a DPoP proof names its own key), verified with
 * `key` on the path every token takes: form, canonical base64url, signature.
 * The header's `alg` is not compared with the key's: the caller pinned it.
 */
export function verifyWithKey(token: string, key: SigningKey): Record<string, unknown> {
  if (typeof token !== 'string') throw invalid('token must be a string');
  if (token.length > DEFAULT_MAX_TOKEN_LENGTH) throw invalid('token too long');
  if (!COMPACT.test(token)) throw invalid('malformed token');
  const firstDot = token.indexOf('.');
  const lastDot = token.lastIndexOf('.');
  if (
    !isCanonicalAt(token, 0, firstDot) ||
    !isCanonicalAt(token, firstDot + 1, lastDot) ||
    !isCanonicalAt(token, lastDot + 1, token.length)
  ) {
    throw invalid('malformed token');
  }
  const signature = Buffer.from(token.slice(lastDot + 1), 'base64url');
  if (!opsFor(key).verify(token.slice(0, lastDot), signature)) throw invalid('bad signature');
  const payload = decodeJsonObject(token.slice(firstDot + 1, lastDot));
  if (payload === undefined) throw invalid('malformed payload');
  return payload;
}

/**
 * Verifies a compact JWS and returns its header and JSON-object payload.
 * Every failure is BatonError('invalid_token') with a short reason; the reason
 * says what was wrong with the token, never anything about the keys.
 *
 * @example
 * ```ts
 * import { importSigningKey } from 'baton-auth';
 * import { KeySet, verifyJws } from 'baton-auth/jws';
 *
 * // The sender's public key, under the kid its tokens name (see signJws).
 * const sender = await importSigningKey({ alg: 'ES256', pem: process.env.WEBHOOK_PUBLIC_KEY ?? '', kid: 'webhooks-1' });
 * const keys = new KeySet([sender], { verifyOnly: true });
 *
 * export function webhookEvent(signature: string): Record<string, unknown> {
 *   // Throws BatonError('invalid_token'): 'bad signature', 'algorithm not allowed', 'unexpected typ', ...
 *   return verifyJws(signature, { keys, algorithms: ['ES256'], typ: 'JWT' }).payload;
 * }
 * ```
 */
export function verifyJws(token: string, options: VerifyJwsOptions): VerifiedJws {
  return verifyCompact(token, options, undefined);
}

/**
 * verifyJws for options fixed once: the header checks (alg pinned, crit,
 * kid -> key, typ) are pure functions of the header segment and the options,
 * so their outcome for each accepted header segment is remembered. A KeySet
 * never changes, and the options are copied here, so the remembered outcome
 * stays true. Every other check runs on every token.
 *
 * @example
 * ```ts
 * import { generateSigningKey } from 'baton-auth';
 * import { JwsVerifier, KeySet, signJws } from 'baton-auth/jws';
 *
 * const keys = new KeySet([await generateSigningKey('HS256')]);
 * const verifier = new JwsVerifier({ keys, algorithms: ['HS256'], typ: 'JWT' }); // once, at startup
 * const token = signJws({ typ: 'JWT' }, { sub: 'job-42' }, keys.signingKey);
 * verifier.verify(token).payload.sub; // 'job-42'
 * ```
 */
export class JwsVerifier {
  readonly #options: VerifyJwsOptions;
  readonly #memo: HeaderMemo = { last: undefined, bySegment: new Map() };

  constructor(options: VerifyJwsOptions) {
    this.#options = Object.freeze({
      keys: options.keys,
      algorithms: Object.freeze([...options.algorithms]),
      ...(options.typ === undefined ? {} : { typ: options.typ }),
      maxLength: options.maxLength ?? DEFAULT_MAX_TOKEN_LENGTH,
    });
  }

  verify(token: string): VerifiedJws {
    return verifyCompact(token, this.#options, this.#memo);
  }
}

/**
 * Header and payload WITHOUT checking anything but the shape. For inspection (CLI `decode`), never for trust.
 *
 * @example
 * ```ts
 * import { decodeUnverified } from 'baton-auth/jws';
 *
 * // For a log line: nothing here is verified, so nothing here may decide anything.
 * const { header, payload } = decodeUnverified(accessToken);
 * console.log(`kid=${header.kid} sub=${payload.sub} exp=${new Date(Number(payload.exp) * 1000).toISOString()}`);
 * ```
 */
export function decodeUnverified(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
} {
  if (typeof token !== 'string') throw invalid('token must be a string');
  const segments = token.split('.');
  // The signature may be empty here (alg none): inspecting such a token is legitimate, trusting it is not.
  if (
    segments.length !== 3 ||
    !segments.every((segment, index) => BASE64URL_CHUNK.test(segment) || (index === 2 && segment === ''))
  ) {
    throw invalid('malformed token');
  }
  const header = decodeJsonObject(segments[0]!);
  if (header === undefined) throw invalid('malformed header');
  const payload = decodeJsonObject(segments[1]!);
  if (payload === undefined) throw invalid('malformed payload');
  return { header, payload };
}
