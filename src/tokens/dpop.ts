/**
 * DPoP proofs (RFC 9449): every check of section 4.3 on one proof, with no
 * HTTP in sight. The caller (the HTTP layer, a resource server) hands in the
 * request's method and URL, the `DPoP` header's value and, on a resource
 * request, the access token; the answer is the RFC 7638 thumbprint of the
 * proof's key (`jkt`, what tokens and sessions are bound to) and the claims.
 *
 * It runs on every protected request, so it is built to be fast: one client
 * sends the same proof header (typ, alg, jwk) again and again, so the header
 * checks, the key import and the thumbprint are done once per header and
 * remembered (bounded). What is left per proof is one signature check on
 * node:crypto, on the path Baton's own tokens take (src/tokens/jws.ts), a few
 * comparisons, and one atomic write to the replay cache.
 */
import { createHash, createHmac, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { type Clock, systemClock } from '../core/clock.ts';
import { BatonError } from '../core/errors.ts';
import { durationSchema, parseOptions } from '../core/options.ts';
import { DEFAULT_MAX_TOKEN_LENGTH, typMatches, verifyWithKey } from './jws.ts';
import { assertKeyFitsAlgorithm, type JWK } from './keys.ts';
import type { Algorithm, SigningKey } from './types.ts';

/**
 * The proof algorithms Baton can check: asymmetric only, never `none` nor an
 * HMAC. `Ed25519` is the fully-specified name of EdDSA with an Ed25519 key
 * (RFC 9864), which newer clients (oauth4webapi) sign with.
 */
export type DpopAlgorithm = 'ES256' | 'EdDSA' | 'Ed25519' | 'PS256' | 'RS256';

/**
 * Every algorithm a DPoP proof may be signed with here (RFC 9449 section 4.2:
 * asymmetric, never `none` or an HMAC). The default list is `ES256`, `EdDSA`
 * and `Ed25519` (the same Ed25519 keys under their RFC 9864 name); RSA keys
 * (`PS256`, `RS256`) are accepted when listed.
 *
 * @example
 * ```ts
 * import { DPOP_ALGORITHMS, type DpopAlgorithm } from 'baton-auth';
 *
 * const wanted = (process.env.DPOP_ALGS ?? 'ES256 EdDSA').split(' ');
 * const unknown = wanted.filter((alg) => !DPOP_ALGORITHMS.includes(alg as DpopAlgorithm));
 * if (unknown.length > 0) throw new Error(`DPOP_ALGS: ${unknown.join(', ')} cannot sign DPoP proofs`);
 * ```
 */
export const DPOP_ALGORITHMS: readonly DpopAlgorithm[] = Object.freeze([
  'ES256',
  'EdDSA',
  'Ed25519',
  'PS256',
  'RS256',
]);

const DEFAULT_ALGORITHMS: readonly DpopAlgorithm[] = Object.freeze(['ES256', 'EdDSA', 'Ed25519']);

/** How each proof algorithm is verified: the signing-key algorithm of the same computation. */
const VERIFIED_AS: Record<DpopAlgorithm, Algorithm> = {
  ES256: 'ES256',
  EdDSA: 'EdDSA',
  Ed25519: 'EdDSA',
  PS256: 'PS256',
  RS256: 'RS256',
};

/**
 * Where proof ids are remembered, so that each proof is used once. Every
 * Baton store has the method (`SessionStore.rememberProofId`): processes that
 * share a store share the replay check.
 */
export interface ProofReplayCache {
  /**
   * Remembers `id` until `expiresAt` (ms), atomically: true when no unexpired
   * entry for it existed, false when one did (a replay).
   */
  rememberProofId(id: string, expiresAt: number, now: number): Promise<boolean>;
}

/** Server nonces (RFC 9449 section 8): with them, every proof must carry a current one. */
export interface DpopNonceOptions {
  /**
   * 32 bytes or more, the same in every process of the deployment: nonces are
   * an HMAC of a time slot with it, so the processes agree without storage.
   */
  secret: string | Uint8Array;
  /** How long one nonce is handed out; it is still accepted for one more such period. Default 5 minutes. */
  lifetime?: number | string;
}

export interface DpopVerifierOptions {
  /**
   * The replay cache: a Baton store (each has `rememberProofId`), or anything
   * with that method. A `MemoryStore` of its own does for one process; several
   * processes must share one (SQLite file, Redis, PostgreSQL), or a proof
   * caught by one could be replayed to another.
   */
  replay: ProofReplayCache;
  /** The algorithms accepted. Default `['ES256', 'EdDSA', 'Ed25519']`. */
  algorithms?: readonly DpopAlgorithm[];
  /** How old a proof may be, by its `iat` (seconds, or text like `'60s'`). Default 60 s. */
  maxAge?: number | string;
  /**
   * Allowance for the client's clock: how far in the future `iat` may be, and
   * how much later than `maxAge` a proof is still taken. Default 30 s.
   */
  clockSkew?: number | string;
  /** Server nonces: off by default. With them, a proof's age is told by its nonce rather than its `iat`. */
  nonce?: DpopNonceOptions;
  clock?: Clock;
}

/** One request's proof, as `DpopVerifier.verify` takes it. */
export interface DpopProofInput {
  /** The request's method, as sent (`POST`, `GET`). */
  method: string;
  /**
   * The URL the client sent the request to, query and fragment ignored. Build
   * it from a configured public URL and the request's path, never from the
   * `Host` header, which the client writes.
   */
  url: string | URL;
  /** The `DPoP` header's value, undefined when there is none. */
  proof: string | undefined;
  /** The access token sent with the proof (a resource request): the proof's `ath` must be its hash. */
  accessToken?: string;
  /** The thumbprint the token or session is bound to (`cnf.jkt`): the proof must be signed by that key. */
  jkt?: string;
  /**
   * Whether this request needs the server nonce. Default: yes when nonces are
   * configured. `false` lets a route take proofs without one (e.g. resource
   * routes while the token endpoint asks for nonces); such a route must then
   * never hand out nonces itself (RFC 9449 section 11.3).
   */
  requireNonce?: boolean;
}

/** The claims of a DPoP proof (RFC 9449 section 4.2). */
export interface DpopProofClaims {
  jti: string;
  htm: string;
  htu: string;
  iat: number;
  ath?: string;
  nonce?: string;
  [claim: string]: unknown;
}

export interface VerifiedDpopProof {
  /** The RFC 7638 thumbprint (SHA-256, base64url) of the proof's key: `cnf.jkt` of the tokens it gets. */
  jkt: string;
  /** The proof's public key (the members its thumbprint covers). */
  jwk: JWK;
  alg: DpopAlgorithm;
  claims: DpopProofClaims;
  /**
   * With nonces on: the current nonce, when the proof carried an older one.
   * Send it in a `DPoP-Nonce` header of the response (RFC 9449 section 8.2),
   * and the client moves on without an error round trip.
   */
  nonce?: string;
}

// ---------------------------------------------------------------------------
// Options.

const secretSchema = z
  .union([z.string(), z.instanceof(Uint8Array)])
  .refine((key) => (typeof key === 'string' ? Buffer.byteLength(key, 'utf8') : key.byteLength) >= 32);

/**
 * The options of `DpopVerifier`, for schemas that nest them (the managers'
 * `dpop` option) and for the README's table.
 */
export const dpopVerifierOptionsSchema = z.strictObject({
  replay: z
    .custom<ProofReplayCache>(
      (cache) =>
        typeof cache === 'object' &&
        cache !== null &&
        typeof (cache as Partial<ProofReplayCache>).rememberProofId === 'function',
    )
    .meta({
      description: 'where proof ids are remembered: a store (each has `rememberProofId`)',
      accepts: 'a SessionStore with rememberProofId (every Baton store), or an object with rememberProofId',
    }),
  algorithms: z
    .array(z.enum(DPOP_ALGORITHMS as [DpopAlgorithm, ...DpopAlgorithm[]]))
    .min(1)
    .refine((algorithms) => new Set(algorithms).size === algorithms.length, 'must not repeat an algorithm')
    .optional()
    .meta({
      description: 'proof algorithms accepted',
      default: "`['ES256', 'EdDSA', 'Ed25519']`",
      accepts: `a non-empty list of ${DPOP_ALGORITHMS.join(', ')}`,
    }),
  maxAge: durationSchema({ positive: true, example: '60s' })
    .optional()
    .meta({ description: 'how old a proof may be, by its `iat`', default: '60s' }),
  clockSkew: durationSchema({ example: '30s' })
    .optional()
    .meta({ description: "how far ahead of the server's a client's clock may be", default: '30s' }),
  nonce: z
    .strictObject({
      secret: secretSchema.meta({
        description: 'HMAC key of the nonces, the same in every process',
        accepts: 'a secret of 32+ bytes (string or Uint8Array)',
      }),
      lifetime: durationSchema({ positive: true, example: '5m' })
        .optional()
        .meta({ description: 'how long one nonce is handed out (accepted one period more)', default: '5m' }),
    })
    .optional()
    .meta({
      description: 'server nonces (RFC 9449 section 8); every proof must then carry a current one',
      default: 'off',
      accepts: '{ secret, lifetime? }',
    }),
  clock: z
    .custom<Clock>((clock) => typeof (clock as Clock | undefined)?.now === 'function')
    .optional()
    .meta({
      description: '`{ now(): ms }`',
      default: 'the system clock',
      accepts: 'a Clock ({ now(): ms })',
    }),
});

/**
 * Whether a manager takes DPoP proofs: `off` (the default), `allowed` (a
 * request with a proof gets sender-constrained tokens, one without gets
 * Bearer tokens), or `required` (every login, refresh and protected request
 * needs a proof).
 */
export type DpopMode = 'off' | 'allowed' | 'required';

/**
 * The managers' `dpop` option: the mode, and the proof checks'
 * `DpopVerifier` options (the replay cache is the manager's store, the clock
 * its clock).
 */
export interface DpopOptions extends Omit<DpopVerifierOptions, 'replay' | 'clock'> {
  mode: DpopMode;
}

/** The managers' `dpop` option (src/sessions/options.ts nests it). */
export const dpopOptionsSchema = z.strictObject({
  mode: z.enum(['off', 'allowed', 'required']).meta({
    description:
      '`off`; `allowed`: a request with a proof gets DPoP-bound tokens, one without Bearer tokens; `required`: every login, refresh and protected request needs a proof',
    accepts: "'off', 'allowed' or 'required'",
  }),
  ...dpopVerifierOptionsSchema.omit({ replay: true, clock: true }).shape,
});

// ---------------------------------------------------------------------------
// Helpers.

/** RFC 9449 section 11.1: bound what a client can make the server store. */
const MAX_JTI_LENGTH = 256;
/** RSA proof keys: at least 2048 bits (assertKeyFitsAlgorithm), at most this, so no key costs much to use. */
const MAX_RSA_BITS = 8192;
const HEADER_CACHE_MAX = 1024;
const KEY_CACHE_MAX = 1024;
const URL_CACHE_MAX = 256;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** JWK members that only a private (or symmetric) key has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

function invalidProof(reason: string): BatonError {
  return new BatonError('invalid_dpop_proof', `DPoP proof ${reason}`);
}

/** A bounded map that forgets its oldest entry when full. */
function remember<K, V>(map: Map<K, V>, max: number, key: K, value: V): V {
  if (map.size >= max) map.delete(map.keys().next().value as K);
  map.set(key, value);
  return value;
}

/** The members of a public key that its thumbprint covers (RFC 7638 section 3.2), or why not. */
function thumbprintMembers(jwk: Record<string, unknown>): Record<string, string> | string {
  const member = (name: string): string | undefined => {
    const value = jwk[name];
    return typeof value === 'string' && BASE64URL.test(value) ? value : undefined;
  };
  switch (jwk.kty) {
    case 'EC': {
      const [x, y] = [member('x'), member('y')];
      if (typeof jwk.crv !== 'string' || x === undefined || y === undefined)
        return 'EC jwk needs crv, x and y';
      return { crv: jwk.crv, kty: 'EC', x, y };
    }
    case 'OKP': {
      const x = member('x');
      if (typeof jwk.crv !== 'string' || x === undefined) return 'OKP jwk needs crv and x';
      return { crv: jwk.crv, kty: 'OKP', x };
    }
    case 'RSA': {
      const [e, n] = [member('e'), member('n')];
      if (e === undefined || n === undefined) return 'RSA jwk needs n and e';
      return { e, kty: 'RSA', n };
    }
    default:
      return `jwk has kty ${JSON.stringify(jwk.kty)}; a proof key is EC, OKP or RSA`;
  }
}

/** Members already in lexicographic order, base64url or a curve name: JSON.stringify is the RFC 7638 form. */
function thumbprintOf(members: Record<string, string>): string {
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

/**
 * The RFC 7638 thumbprint (SHA-256, base64url) of a public JWK: what DPoP
 * binds tokens to (`cnf.jkt`, RFC 9449 section 6). EC, OKP and RSA keys.
 *
 * @example
 * ```ts
 * import { jwkThumbprint } from 'baton-auth';
 *
 * // The key of RFC 9449's example proof; the same thumbprint as jose's calculateJwkThumbprint.
 * const jkt = jwkThumbprint({
 *   kty: 'EC',
 *   crv: 'P-256',
 *   x: 'l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs',
 *   y: '9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA',
 * });
 * ```
 */
export function jwkThumbprint(jwk: JWK): string {
  const members = thumbprintMembers(jwk as Record<string, unknown>);
  if (typeof members === 'string') throw new BatonError('invalid_request', members);
  return thumbprintOf(members);
}

/** What a proof's key must be for its algorithm. */
const KEY_SHAPE: Record<DpopAlgorithm, { kty: string; crv?: string }> = {
  ES256: { kty: 'EC', crv: 'P-256' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
  Ed25519: { kty: 'OKP', crv: 'Ed25519' },
  PS256: { kty: 'RSA' },
  RS256: { kty: 'RSA' },
};

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * RFC 3986 syntax-based normalisation (6.2.2) of what a URL parser leaves:
 * percent-encoded unreserved characters decoded, other escapes in upper case.
 */
function normalizePercentEncoding(path: string): string {
  if (!path.includes('%')) return path;
  return path.replace(/%[0-9A-Fa-f]{2}/g, (encoded) => {
    const character = String.fromCharCode(Number.parseInt(encoded.slice(1), 16));
    return UNRESERVED.test(character) ? character : encoded.toUpperCase();
  });
}

/**
 * An http(s) URL without query and fragment, normalised as RFC 9449 section
 * 4.3 asks (RFC 3986 6.2.2 and 6.2.3): the URL parser lowercases scheme and
 * host, drops the default port, resolves dot segments and makes an empty path
 * `/`; then percent-encoding is normalised. Undefined when it is not one.
 */
export function normalizeHtu(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  return `${url.protocol}//${url.host}${normalizePercentEncoding(url.pathname)}`;
}

/** The id a proof is remembered by: a digest of its key and `jti`, so no client input becomes a key as it is. */
export function proofReplayId(jkt: string, jti: string): string {
  return createHash('sha256').update(`${jkt}.${jti}`).digest('base64url');
}

// ---------------------------------------------------------------------------
// Nonces.

/**
 * Stateless server nonces: the nonce of a time slot is an HMAC of the slot's
 * number, so every process with the secret agrees on it. A nonce is handed
 * out during its slot and accepted during the slot before it (a process whose
 * clock is behind), its own and the next.
 */
class NonceSlots {
  readonly #secret: KeyObject;
  readonly #lifetimeMs: number;
  #slot = Number.NaN;
  /** The nonces of slots #slot - 1, #slot, #slot + 1. */
  #nonces: readonly string[] = [];

  constructor(secret: string | Uint8Array, lifetimeSeconds: number) {
    this.#secret = createSecretKey(
      typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret),
    );
    this.#lifetimeMs = lifetimeSeconds * 1000;
  }

  #at(now: number): readonly string[] {
    const slot = Math.floor(now / this.#lifetimeMs);
    if (slot !== this.#slot) {
      this.#slot = slot;
      this.#nonces = [slot - 1, slot, slot + 1].map((n) =>
        createHmac('sha256', this.#secret).update(`baton/dpop-nonce/${n}`).digest('base64url'),
      );
    }
    return this.#nonces;
  }

  current(now: number): string {
    return this.#at(now)[1]!;
  }

  /** Until when (ms) a proof carrying `nonce` could be accepted; undefined for a nonce not accepted now. */
  acceptedUntil(nonce: string, now: number): number | undefined {
    const index = this.#at(now).indexOf(nonce);
    if (index < 0) return undefined;
    // Slot s is accepted until slot s + 1 ends.
    const slot = this.#slot - 1 + index;
    return (slot + 2) * this.#lifetimeMs;
  }
}

// ---------------------------------------------------------------------------
// The verifier.

/** What a proof header resolves to: checked once, then remembered by its encoded form. */
interface ResolvedHeader {
  jkt: string;
  jwk: JWK;
  alg: DpopAlgorithm;
  key: SigningKey;
}

/**
 * Checks DPoP proofs (RFC 9449 section 4.3), each one once: its `jti` goes to
 * the replay cache, which the processes of a deployment share through their
 * store. Failures are `BatonError`s: `invalid_dpop_proof` with the reason, or
 * `use_dpop_nonce` carrying the nonce to retry with (`dpopNonce`).
 *
 * @example
 * ```ts
 * import { DpopVerifier, MemoryStore } from 'baton-auth';
 *
 * declare const dpopHeader: string | undefined; // the request's `DPoP` header
 * const dpop = new DpopVerifier({ replay: new MemoryStore() }); // one process; share a store across several
 * const proof = await dpop.verify({
 *   method: 'GET',
 *   url: 'https://api.example.com/orders', // your public URL and the path, never the Host header
 *   proof: dpopHeader,
 *   accessToken, // on a resource request: the proof must carry its hash
 * });
 * proof.jkt; // the key's thumbprint: a token bound to the key has it as cnf.jkt
 * ```
 */
export class DpopVerifier {
  /** The algorithms accepted, for `algs` in challenges and the server metadata. */
  readonly algorithms: readonly DpopAlgorithm[];
  readonly #replay: ProofReplayCache;
  readonly #clock: Clock;
  readonly #maxAgeMs: number;
  readonly #skewMs: number;
  readonly #nonces: NonceSlots | undefined;
  readonly #headers = new Map<string, ResolvedHeader>();
  readonly #keys = new Map<string, SigningKey>();
  readonly #urls = new Map<string, string>();

  constructor(options: DpopVerifierOptions) {
    const o = parseOptions(dpopVerifierOptionsSchema, options, 'DpopVerifier');
    this.algorithms = Object.freeze([...(o.algorithms ?? DEFAULT_ALGORITHMS)]);
    this.#replay = o.replay;
    this.#clock = o.clock ?? systemClock;
    this.#maxAgeMs = (o.maxAge ?? 60) * 1000;
    this.#skewMs = (o.clockSkew ?? 30) * 1000;
    this.#nonces =
      o.nonce === undefined ? undefined : new NonceSlots(o.nonce.secret, o.nonce.lifetime ?? 300);
  }

  /** Whether proofs must carry a server nonce. */
  get noncesRequired(): boolean {
    return this.#nonces !== undefined;
  }

  /** The nonce to hand out now (a `DPoP-Nonce` header), or undefined without nonces. */
  nonce(): string | undefined {
    return this.#nonces?.current(this.#clock.now());
  }

  /**
   * All of RFC 9449 section 4.3, the replay check last, so that only a proof
   * that passed everything else is remembered. Rejects with `invalid_dpop_proof`
   * or `use_dpop_nonce`, or `store_unavailable` when the replay cache is a
   * store that cannot be reached.
   */
  async verify(input: DpopProofInput): Promise<VerifiedDpopProof> {
    const now = this.#clock.now();
    const { proof } = input;
    if (proof === undefined || proof === '') throw invalidProof('is missing: send one in the DPoP header');
    if (typeof proof !== 'string') throw invalidProof('must be a string');
    // Repeated DPoP headers arrive joined by ", " (RFC 9110 5.3): a proof itself has no comma.
    if (proof.includes(',')) throw invalidProof('header is sent more than once');
    if (proof.length > DEFAULT_MAX_TOKEN_LENGTH) throw invalidProof('is too long');
    const dot = proof.indexOf('.');
    if (dot <= 0) throw invalidProof('is not a JWT');
    const segment = proof.slice(0, dot);
    const cached = this.#headers.get(segment);
    const header = cached ?? this.#resolveHeader(segment);
    let payload: Record<string, unknown>;
    try {
      payload = verifyWithKey(proof, header.key);
    } catch (error) {
      throw invalidProof(error instanceof BatonError ? `is invalid: ${error.message}` : 'is invalid');
    }
    if (cached === undefined) remember(this.#headers, HEADER_CACHE_MAX, segment, header);

    const claims = checkClaims(payload);
    if (claims.htm !== input.method) throw invalidProof("htm does not match the request's method");
    const url = this.#expectedUrl(input.url);
    if (claims.htu !== url && normalizeHtu(claims.htu) !== url) {
      throw invalidProof("htu does not match the request's URL");
    }
    if (input.accessToken !== undefined) {
      if (claims.ath === undefined)
        throw invalidProof('has no ath, the hash of the access token sent with it');
      if (claims.ath !== createHash('sha256').update(input.accessToken).digest('base64url')) {
        throw invalidProof('ath does not match the access token');
      }
    }
    if (input.jkt !== undefined && input.jkt !== header.jkt) {
      throw invalidProof('is signed by another key than the one the token is bound to');
    }
    const requireNonce = this.#nonces !== undefined && input.requireNonce !== false;
    const expiresAt = requireNonce ? this.#checkNonce(claims, now) : this.#checkIat(claims, now);
    // Whole milliseconds: stores keep integers (a NumericDate `iat` may have a fraction).
    const fresh = await this.#replay.rememberProofId(
      proofReplayId(header.jkt, claims.jti),
      Math.ceil(expiresAt),
      Math.floor(now),
    );
    if (!fresh) throw invalidProof('was used before (its jti is not new)');

    const result: VerifiedDpopProof = { jkt: header.jkt, jwk: header.jwk, alg: header.alg, claims };
    if (requireNonce) {
      const current = this.#nonces!.current(now);
      if (claims.nonce !== current) result.nonce = current;
    }
    return result;
  }

  /** With nonces: the nonce tells the proof's age. Returns until when its jti must be remembered. */
  #checkNonce(claims: DpopProofClaims, now: number): number {
    const nonces = this.#nonces!;
    const ask = (reason: string) =>
      new BatonError('use_dpop_nonce', reason, { dpopNonce: nonces.current(now) });
    if (claims.nonce === undefined)
      throw ask('DPoP proof needs the server nonce: retry with the DPoP-Nonce sent');
    if (typeof claims.nonce !== 'string') throw invalidProof('nonce must be a string');
    const until = nonces.acceptedUntil(claims.nonce, now);
    if (until === undefined)
      throw ask('DPoP proof nonce is stale or unknown: retry with the DPoP-Nonce sent');
    // Other processes' clocks may run behind this one's.
    return until + this.#skewMs;
  }

  /** Without nonces: `iat` tells the proof's age. Returns until when its jti must be remembered. */
  #checkIat(claims: DpopProofClaims, now: number): number {
    const issuedAt = claims.iat * 1000;
    if (issuedAt > now + this.#skewMs) throw invalidProof('iat is in the future');
    if (issuedAt < now - this.#maxAgeMs - this.#skewMs) throw invalidProof('is too old (iat)');
    // The last instant it is accepted, plus once more the skew, for processes whose clocks run behind.
    return issuedAt + this.#maxAgeMs + 2 * this.#skewMs + 1;
  }

  #expectedUrl(url: string | URL): string {
    const text = typeof url === 'string' ? url : url.href;
    let normalized = this.#urls.get(text);
    if (normalized === undefined) {
      normalized = normalizeHtu(text);
      if (normalized === undefined) {
        throw new BatonError('internal_error', 'DpopVerifier.verify: url must be an absolute http(s) URL');
      }
      remember(this.#urls, URL_CACHE_MAX, text, normalized);
    }
    return normalized;
  }

  /** The header checks of section 4.3 (typ, alg, a public jwk that fits alg) and the key they name. */
  #resolveHeader(segment: string): ResolvedHeader {
    if (!BASE64URL.test(segment)) throw invalidProof('is not a JWT');
    let header: unknown;
    try {
      header = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    } catch {
      throw invalidProof('has a malformed header');
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) {
      throw invalidProof('has a malformed header');
    }
    const { typ, alg, jwk, kid } = header as Record<string, unknown>;
    if (!typMatches(typ, 'dpop+jwt')) throw invalidProof('must have typ dpop+jwt');
    if (typeof alg !== 'string' || !this.algorithms.includes(alg as DpopAlgorithm)) {
      throw invalidProof(`algorithm not accepted; use one of ${this.algorithms.join(', ')}`);
    }
    if (Object.hasOwn(header, 'crit')) throw invalidProof('has an unsupported critical header');
    if (kid !== undefined && typeof kid !== 'string') throw invalidProof('has a malformed kid');
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
      throw invalidProof('has no jwk: the public key goes in the header');
    }
    const key = jwk as Record<string, unknown>;
    if (PRIVATE_MEMBERS.some((name) => Object.hasOwn(key, name))) {
      throw invalidProof('jwk holds a private key: send the public key only');
    }
    const shape = KEY_SHAPE[alg as DpopAlgorithm];
    if (key.kty !== shape.kty || (shape.crv !== undefined && key.crv !== shape.crv)) {
      throw invalidProof(
        `jwk does not fit ${alg}: it needs kty ${shape.kty}${shape.crv ? ` and crv ${shape.crv}` : ''}`,
      );
    }
    if (key.alg !== undefined && key.alg !== alg) throw invalidProof('jwk is for another algorithm');
    const members = thumbprintMembers(key);
    if (typeof members === 'string') throw invalidProof(members);
    const jkt = thumbprintOf(members);
    return {
      jkt,
      jwk: members,
      alg: alg as DpopAlgorithm,
      key: this.#key(alg as DpopAlgorithm, jkt, members),
    };
  }

  /** The proof key as a verify-only SigningKey, its import remembered by thumbprint. */
  #key(alg: DpopAlgorithm, jkt: string, members: Record<string, string>): SigningKey {
    const verifiedAs = VERIFIED_AS[alg];
    const cacheKey = `${verifiedAs}.${jkt}`;
    let key = this.#keys.get(cacheKey);
    if (key === undefined) {
      let publicKey: KeyObject;
      try {
        publicKey = createPublicKey({ key: members, format: 'jwk' });
        assertKeyFitsAlgorithm(verifiedAs, publicKey);
      } catch {
        throw invalidProof(`jwk is not a valid ${alg} public key`);
      }
      if ((publicKey.asymmetricKeyDetails?.modulusLength ?? 0) > MAX_RSA_BITS) {
        throw invalidProof(`jwk is an RSA key over ${MAX_RSA_BITS} bits`);
      }
      key = remember(this.#keys, KEY_CACHE_MAX, cacheKey, { kid: jkt, alg: verifiedAs, publicKey });
    }
    return key;
  }
}

/** The claims of section 4.2 with their types; their values are compared by the caller. */
function checkClaims(payload: Record<string, unknown>): DpopProofClaims {
  const { jti, htm, htu, iat, ath } = payload;
  if (typeof jti !== 'string' || jti === '') throw invalidProof('has no jti');
  if (jti.length > MAX_JTI_LENGTH) throw invalidProof(`jti is longer than ${MAX_JTI_LENGTH} characters`);
  if (typeof htm !== 'string') throw invalidProof('has no htm');
  if (typeof htu !== 'string') throw invalidProof('has no htu');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalidProof('has no numeric iat');
  if (ath !== undefined && typeof ath !== 'string') throw invalidProof('ath must be a string');
  return payload as DpopProofClaims;
}
