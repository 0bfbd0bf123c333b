/**
 * Verify-only access-token checks for a resource server: a second service
 * that accepts Baton's access tokens without running Baton's sessions.
 * Framework-neutral; the guards in src/resource/{express,fastify,hono}.ts
 * map requests onto it. Verification itself is Baton's AccessTokenCodec (the
 * issuer's own checks); this module only finds the keys (a JWKS fetched and
 * cached, or keys given) and, optionally, follows a shared store's
 * revocation feed.
 */
import { type Clock, systemClock } from '../core/clock.ts';
import { type Duration, parseDuration } from '../core/duration.ts';
import { BatonError, isBatonError } from '../core/errors.ts';
import { type BatonLogger, isLogger, safeLog } from '../core/logger.ts';
import { unknownKeyMessage } from '../core/options.ts';
import { StoreRevocations } from '../sessions/access-tokens.ts';
import {
  type AuthEvent,
  type AuthEventHub,
  type AuthEventListener,
  type AuthEvents,
  dpopRejectedDraft,
  type EventDraft,
  eventsFromOptions,
  storeUnavailableDraft,
} from '../sessions/events.ts';
import { looksLikeJwt, parseRefreshToken } from '../sessions/refresh-token.ts';
import { StoreCalls } from '../sessions/store-calls.ts';
import type { DpopRejection, RequestContext } from '../sessions/types.ts';
import type { SessionStore } from '../stores/types.ts';
import { AccessTokenCodec, isFresh } from '../tokens/access-token.ts';
import { decodeUnverified } from '../tokens/jws.ts';
import { importSigningKey, isSymmetric, type JWK, KeySet } from '../tokens/keys.ts';
import { type AccessClaims, ALGORITHMS, type Algorithm, type SigningKey } from '../tokens/types.ts';

/** What a resource server accepts from a JWKS by default: every asymmetric algorithm Baton signs with. */
const ASYMMETRIC: readonly Algorithm[] = ALGORITHMS.filter((alg) => !isSymmetric(alg));
const DEFAULT_COOLDOWN = 30;
const DEFAULT_MAX_AGE = 600;
const DEFAULT_TIMEOUT = 5;
const DEFAULT_MAX_BYTES = 64 * 1024;
/** After a failed fetch the next may come sooner than the cooldown, but never sooner than this. */
const FAILURE_BACKOFF_MS = 5000;
/** More keys than any issuer rotates through; the rest of a larger set is ignored. */
const MAX_KEYS = 100;

/** How the JWKS at `jwksUrl` is fetched and cached. */
export interface JwksFetchOptions {
  /**
   * Least time between two fetches. A token with an unknown `kid` (the
   * issuer rotated its key) triggers a refetch only once the cooldown has
   * passed, so a flood of forged kids costs the issuer at most one request
   * per cooldown. Default 30 s.
   */
  cooldown?: Duration;
  /**
   * Keys older than this are refetched in the background at the next
   * request (while the old ones keep verifying), so a key the issuer retires
   * stops verifying here too. Default 10 minutes.
   */
  maxAge?: Duration;
  /** Deadline of one fetch, body included. Default 5 s. */
  timeout?: Duration;
  /** Largest JWKS body read, in bytes. Default 64 KiB. */
  maxBytes?: number;
  /** The fetch implementation. Default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
}

/**
 * Keys given directly instead of a JWKS URL.
 *
 * @example
 * ```ts
 * import type { ResourceKeys } from 'baton-auth/resource';
 *
 * // The issuer's JWKS, saved at deploy time instead of fetched at run time (an array of SigningKeys, or a KeySet, also do).
 * const keys: ResourceKeys = {
 *   keys: [{ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', kid: '2026-12', alg: 'EdDSA' }],
 * };
 * ```
 */
export type ResourceKeys = readonly SigningKey[] | KeySet | { keys: readonly JWK[] };

export interface ResourceVerifierOptions {
  /** The issuer's `iss`, exactly as it signs it (the issuer's `issuer` option). */
  issuer: string;
  /** The audience(s) this service accepts: a token must name one of them in `aud`. */
  audience: string | readonly string[];
  /** The issuer's JWKS, e.g. `https://auth.example.com/.well-known/jwks.json`. Redirects are not followed. Give this or `keys`. */
  jwksUrl?: string | URL;
  /**
   * Keys given directly: SigningKeys (public or shared secrets), a KeySet,
   * or a JWKS object. The only way to accept HS* tokens: a shared secret is
   * never taken from a URL.
   */
  keys?: ResourceKeys;
  /**
   * Accepted `alg` values. Default: with `jwksUrl`, the asymmetric ones
   * (EdDSA, ES256, RS256, PS256); with `keys`, those of the keys. `none` is
   * never accepted, nor HS* with `jwksUrl`. Pin it to the issuer's algorithm.
   */
  algorithms?: readonly Algorithm[];
  /** Clock skew allowed on `exp` and `nbf`. Default 0. */
  leeway?: Duration;
  /** Fetching and caching of the JWKS (with `jwksUrl`). */
  jwks?: JwksFetchOptions;
  /**
   * The issuer's session store (the same Redis or PostgreSQL, with the same
   * key prefix or schema). The verifier loads its revoked sessions and
   * token ids once, then follows its revocation feed: a logout at the
   * issuer is refused here within the feed's latency, with no store read
   * per request (401 `token_revoked`). The store needs a revocation feed
   * (`subscribeRevocations`).
   */
  revocations?: SessionStore;
  clock?: Clock;
  /** Longest token read. Default 8192 characters. */
  maxTokenLength?: number;
  /**
   * A listener, or a list of them, for the verifier's security events (more
   * with `verifier.events.on`): `dpop_rejected` when a guard refuses a DPoP
   * proof, `store_unavailable` when the revoked set cannot be loaded from
   * `revocations`. Called after the answer, never awaited: one that throws or
   * is slow never fails or delays a request.
   */
  onEvent?: AuthEventListener | readonly AuthEventListener[];
  /**
   * A pino-compatible logger (`debug`, `info`, `warn`, `error`, `child`), as
   * the manager's `logger` option: events at `info` (`store_unavailable` at
   * `warn`), a JWKS that cannot be fetched at `warn`, unexpected errors of the
   * guards and failing listeners at `error`. Default: errors to
   * `console.error`, nothing else.
   */
  logger?: BatonLogger;
}

/** Every option `ResourceVerifierOptions` declares: any other key is refused. */
const OPTION_NAMES: readonly (keyof ResourceVerifierOptions)[] = [
  'issuer',
  'audience',
  'jwksUrl',
  'keys',
  'algorithms',
  'leeway',
  'jwks',
  'revocations',
  'clock',
  'maxTokenLength',
  'onEvent',
  'logger',
];
const JWKS_OPTION_NAMES: readonly (keyof JwksFetchOptions)[] = [
  'cooldown',
  'maxAge',
  'timeout',
  'maxBytes',
  'fetch',
];

function options(message: string): BatonError {
  return new BatonError('invalid_options', `createResourceVerifier: ${message}`);
}

/** Refuses a key the options do not declare (a misspelt `loger` must not pass silently). */
function checkKeys(given: object, known: readonly string[], prefix: string, where: string): void {
  for (const key of Object.keys(given)) {
    if (known.includes(key)) continue;
    const path = `${prefix}${key}`;
    throw options(`${path}: ${unknownKeyMessage(key, [key], known, where)}`);
  }
}

function checkListeners(value: unknown): void {
  if (value === undefined || typeof value === 'function') return;
  if (Array.isArray(value) && value.every((listener) => typeof listener === 'function')) return;
  throw options('onEvent must be a function onEvent(event), or a list of them');
}

function seconds(value: Duration | undefined, fallback: number, name: string): number {
  return value === undefined ? fallback : parseDuration(value, name);
}

/** Where the keys come from: a URL refetched as needed, or keys given once. */
type KeySource =
  | { remote: true; url: URL; fetch: typeof globalThis.fetch; timeoutMs: number; maxBytes: number }
  | { remote: false; load: () => Promise<KeySet | null> };

function checkAlgorithms(algorithms: readonly Algorithm[] | undefined, remote: boolean): void {
  if (algorithms === undefined) return;
  if (!Array.isArray(algorithms) || algorithms.length === 0)
    throw options('algorithms must be a non-empty list');
  for (const alg of algorithms) {
    if (!ALGORITHMS.includes(alg)) {
      throw options(`unsupported algorithm ${JSON.stringify(alg)}; use one of ${ALGORITHMS.join(', ')}`);
    }
    if (remote && isSymmetric(alg)) {
      throw options(`${alg} needs a shared secret, which is never taken from a JWKS URL; pass it in keys`);
    }
  }
}

function parseJwksUrl(value: string | URL): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw options(`jwksUrl is not a URL: ${JSON.stringify(String(value))}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw options('jwksUrl must be an http(s) URL');
  // A JWKS is public; credentials in its URL would only end up in fetch's errors, logs and 503 bodies.
  if (url.username !== '' || url.password !== '') {
    throw options('jwksUrl must not carry a user name or password: an issuer publishes its keys openly');
  }
  return url;
}

function isKeySet(value: unknown): value is KeySet {
  return value instanceof KeySet;
}

function staticSource(keys: ResourceKeys): KeySource {
  if (isKeySet(keys)) return { remote: false, load: async () => keys };
  if (Array.isArray(keys)) {
    const set = new KeySet(keys as readonly SigningKey[], { verifyOnly: true });
    return { remote: false, load: async () => set };
  }
  if (keys !== null && typeof keys === 'object' && Array.isArray((keys as { keys?: unknown }).keys)) {
    const jwks = keys as { keys: readonly JWK[] };
    return {
      remote: false,
      load: async () => {
        const set = await keySetFromJwks(jwks, undefined, true);
        if (set === null)
          throw options('keys: the JWKS has no usable signing key (each needs kid, alg or a known key type)');
        return set;
      },
    };
  }
  throw options('keys must be SigningKeys, a KeySet or a JWKS ({ keys: [...] })');
}

/** The one algorithm a JWK without `alg` can be for, if the key type says so (RSA only when one RSA alg is pinned). */
function inferAlgorithm(jwk: JWK, pinned: readonly Algorithm[] | undefined): Algorithm | undefined {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'RSA' && pinned !== undefined) {
    const rsa = pinned.filter((alg) => alg === 'RS256' || alg === 'PS256');
    return rsa.length === 1 ? rsa[0] : undefined;
  }
  return undefined;
}

/**
 * The usable signing keys of a JWKS. A key that is not for signatures, not
 * for a pinned algorithm, private, symmetric (unless the set was given
 * locally) or malformed is left out rather than failing the whole set: one
 * odd key must not take every other key down with it.
 */
async function keySetFromJwks(
  jwks: unknown,
  pinned: readonly Algorithm[] | undefined,
  allowSymmetric: boolean,
): Promise<KeySet | null> {
  const list = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new Error('the answer is not a JWKS (no "keys" array)');
  const keys: SigningKey[] = [];
  const kids = new Set<string>();
  for (const jwk of list.slice(0, MAX_KEYS) as unknown[]) {
    if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) continue;
    const candidate = jwk as JWK;
    if (candidate.d !== undefined || (candidate.kty === 'oct' && !allowSymmetric)) continue;
    if (candidate.use !== undefined && candidate.use !== 'sig') continue;
    const alg = (candidate.alg as Algorithm | undefined) ?? inferAlgorithm(candidate, pinned);
    if (alg === undefined || !ALGORITHMS.includes(alg) || (pinned !== undefined && !pinned.includes(alg)))
      continue;
    try {
      const key = await importSigningKey({ alg, jwk: candidate });
      if (kids.has(key.kid)) continue;
      kids.add(key.kid);
      keys.push(key);
    } catch {
      // A key this process cannot use; the others still verify.
    }
  }
  return keys.length === 0 ? null : new KeySet(keys, { verifyOnly: true });
}

/** GET the JWKS within the deadline and the size limit. Throws a plain Error saying what went wrong. */
async function fetchJwks(source: Extract<KeySource, { remote: true }>): Promise<unknown> {
  const response = await source.fetch(source.url, {
    headers: { accept: 'application/json, application/jwk-set+json' },
    redirect: 'manual',
    signal: AbortSignal.timeout(source.timeoutMs),
  });
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => {});
    throw new Error(`the JWKS URL answered ${response.status}`);
  }
  const declared = Number(response.headers.get('content-length'));
  if (declared > source.maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new Error(`the JWKS is larger than ${source.maxBytes} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  if (reader === undefined) throw new Error('the JWKS answer has no body');
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > source.maxBytes) {
      await reader.cancel().catch(() => {});
      throw new Error(`the JWKS is larger than ${source.maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Verifies Baton access tokens (RFC 9068 profile) for a resource server.
 * Make one per issuer and share it between guards: it holds the key cache
 * and the revoked set.
 *
 * @example
 * ```ts
 * import { importSigningKey } from 'baton-auth';
 * import { ResourceVerifier } from 'baton-auth/resource';
 * import { RedisStore } from 'baton-auth/stores/redis';
 *
 * // The issuer's public key given (nothing fetched), and the issuer's Redis: its logouts are refused here too.
 * const store = new RedisStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
 * const verifier = new ResourceVerifier({
 *   issuer: 'https://auth.example.com',
 *   audience: 'billing-api',
 *   keys: [await importSigningKey({ alg: 'EdDSA', pem: process.env.ISSUER_PUBLIC_KEY ?? '' })],
 *   revocations: store,
 * });
 * await verifier.ready; // the revoked set is loaded: fail at startup rather than at the first request
 * const claims = await verifier.verify(accessToken); // or a BatonError: token_revoked, token_expired, ...
 * verifier.close(); // at shutdown, then store.close()
 * ```
 */
export class ResourceVerifier {
  readonly issuer: string;
  readonly audiences: readonly string[];
  /**
   * The security events of the guards using this verifier (README "Events
   * and logging"): `dpop_rejected` and `store_unavailable`, with `strategy`
   * `resource`. `on(listener)` or `on(type, listener)` answers an unsubscribe.
   */
  readonly events: AuthEvents;
  /** The `logger` option (as a child bound to `{ component: 'baton' }`), or the default: errors to `console.error`. */
  readonly logger: BatonLogger;
  readonly #events: AuthEventHub;
  readonly #pinned: readonly Algorithm[] | undefined;
  readonly #leeway: number;
  readonly #clock: Clock;
  readonly #maxLength: number | undefined;
  readonly #source: KeySource;
  readonly #cooldownMs: number;
  readonly #maxAgeMs: number;
  readonly #revocations: StoreRevocations | undefined;
  /** Null until keys were loaded, or when the last JWKS had no usable key. */
  #codec: AccessTokenCodec | null = null;
  #loadedOnce = false;
  #keysAt = Number.NEGATIVE_INFINITY;
  #lastAttemptAt = Number.NEGATIVE_INFINITY;
  #lastAttemptFailed = false;
  #lastFailure: unknown;
  #loading: Promise<void> | undefined;
  #closed = false;

  constructor(opts: ResourceVerifierOptions) {
    if (opts === null || typeof opts !== 'object') throw options('options are required');
    checkKeys(opts, OPTION_NAMES, '', 'createResourceVerifier');
    if (opts.jwks !== undefined && (opts.jwks === null || typeof opts.jwks !== 'object'))
      throw options('jwks must be an object');
    checkKeys(opts.jwks ?? {}, JWKS_OPTION_NAMES, 'jwks.', 'jwks');
    if (opts.logger !== undefined && !isLogger(opts.logger)) {
      throw options(
        'logger must be a logger with debug, info, warn, error and child methods (pino, or one shaped like it)',
      );
    }
    checkListeners(opts.onEvent);
    // Listeners first: the store is called (the revoked set loads) as soon as it is wrapped.
    const { logger, hub } = eventsFromOptions(opts);
    this.logger = logger;
    this.#events = hub;
    this.events = hub;
    if (typeof opts.issuer !== 'string' || opts.issuer.length === 0)
      throw options('issuer must be a non-empty string');
    const audiences = typeof opts.audience === 'string' ? [opts.audience] : opts.audience;
    if (
      !Array.isArray(audiences) ||
      audiences.length === 0 ||
      !audiences.every((aud) => typeof aud === 'string' && aud.length > 0)
    ) {
      throw options('audience must be a non-empty string or a non-empty list of them');
    }
    if ((opts.jwksUrl === undefined) === (opts.keys === undefined))
      throw options('give exactly one of jwksUrl or keys');
    const remote = opts.jwksUrl !== undefined;
    checkAlgorithms(opts.algorithms, remote);
    const jwks = opts.jwks ?? {};
    if (!remote && opts.jwks !== undefined) throw options('jwks options need jwksUrl');
    const maxBytes = jwks.maxBytes ?? DEFAULT_MAX_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 256)
      throw options('jwks.maxBytes must be an integer of at least 256');
    const fetchImpl = jwks.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== 'function') throw options('jwks.fetch must be a function');
    this.#source =
      opts.jwksUrl !== undefined
        ? {
            remote: true,
            url: parseJwksUrl(opts.jwksUrl),
            fetch: fetchImpl,
            timeoutMs: Math.max(1, seconds(jwks.timeout, DEFAULT_TIMEOUT, 'jwks.timeout')) * 1000,
            maxBytes,
          }
        : staticSource(opts.keys as ResourceKeys);
    this.#cooldownMs = seconds(jwks.cooldown, DEFAULT_COOLDOWN, 'jwks.cooldown') * 1000;
    this.#maxAgeMs = seconds(jwks.maxAge, DEFAULT_MAX_AGE, 'jwks.maxAge') * 1000;
    const clock = opts.clock ?? systemClock;
    if (clock === null || typeof clock !== 'object' || typeof clock.now !== 'function') {
      throw options('clock must have a now() method');
    }
    this.issuer = opts.issuer;
    this.audiences = Object.freeze([...audiences]);
    this.#pinned = opts.algorithms ? Object.freeze([...opts.algorithms]) : remote ? ASYMMETRIC : undefined;
    this.#leeway = seconds(opts.leeway, 0, 'leeway');
    this.#clock = clock;
    this.#maxLength = opts.maxTokenLength;
    const store = opts.revocations;
    if (store !== undefined) {
      if (store === null || typeof store.listRevocations !== 'function')
        throw options('revocations must be a SessionStore');
      if (typeof store.subscribeRevocations !== 'function') {
        throw options(
          'the revocations store has no revocation feed (subscribeRevocations); use Redis, PostgreSQL or SQLite',
        );
      }
      // Deferred a microtask, as the manager does: a store that throws synchronously would report during construction.
      const calls = new StoreCalls(store, (failure) =>
        queueMicrotask(() => this.#emit(storeUnavailableDraft(failure))),
      );
      this.#revocations = new StoreRevocations(calls, clock);
    }

    if (!remote) {
      // Keys given locally: a mistake in them is the application's, reported at once.
      this.#codec = null;
      this.ready.catch(() => {});
    }
  }

  /**
   * Resolves once keys are at hand and the revoked set is loaded; rejects
   * (BatonError `keys_unavailable` / `store_unavailable`) when either fails.
   * Optional: the first request waits for it anyway. Await it at startup to
   * fail fast, or to warm the cache.
   */
  get ready(): Promise<void> {
    const keys = this.#loadedOnce ? Promise.resolve() : this.#loadKeys();
    return Promise.all([keys, this.#revocations?.ready]).then(() => {
      if (this.#codec === null) throw this.#unavailable();
    });
  }

  /** Verifies a token: its claims, or a BatonError (`invalid_token`, `token_expired`, `wrong_token_type`, `token_revoked`, ...). */
  async verify(token: string): Promise<AccessClaims> {
    return this.verifyNow(token);
  }

  /**
   * verify() without a promise when none is needed: synchronous while the
   * keys are cached and the revoked set is loaded (nearly every request),
   * a promise when keys must be fetched first. Throws, or rejects, with a
   * BatonError. The guards use it.
   */
  verifyNow(token: string): AccessClaims | Promise<AccessClaims> {
    if (this.#closed) throw new BatonError('keys_unavailable', 'The resource verifier is closed');
    const revocations = this.#revocations;
    if (revocations !== undefined && !revocations.loaded) {
      return revocations.ready.then(() => this.verifyNow(token));
    }
    if (!this.#loadedOnce) {
      if (this.#mayFetch(this.#clock.now()) || this.#loading !== undefined) {
        return this.#loadKeys().then(() => this.#verifyWithKeys(token, false));
      }
      throw this.#unavailable();
    }
    return this.#verifyWithKeys(token, true);
  }

  /** Whether verified claims are fresh now (a token from login or reauth, not refresh), by the verifier's clock. */
  isFresh(claims: Pick<AccessClaims, 'fresh'>): boolean {
    return isFresh(claims, Math.floor(this.#clock.now() / 1000));
  }

  /**
   * Emits `dpop_rejected` for a DPoP proof a guard refused (the guards of
   * `baton-auth/resource` call it; so may a guard of your own). Never give it
   * a token or a proof.
   *
   * @example
   * ```ts
   * import type { ResourceVerifier } from 'baton-auth/resource';
   * declare const verifier: ResourceVerifier;
   *
   * verifier.dpopRejected(
   *   { reason: 'invalid_proof', step: 'resource', detail: "htu does not match the request's URL" },
   *   { ip: '203.0.113.7', userAgent: 'curl/8' },
   * );
   * ```
   */
  dpopRejected(rejection: DpopRejection, context: RequestContext = {}): void {
    this.#emit(dpopRejectedDraft(rejection, context));
  }

  /** Emits an event (listeners get it after the request answered), on this verifier's clock. */
  #emit(draft: EventDraft): void {
    if (!this.#events.listening) return;
    // The spread of a union loses the pairing of `type` with its fields; the draft had it.
    this.#events.emit({ ...draft, time: this.#clock.now(), strategy: 'resource' } as AuthEvent);
  }

  /** Stops following the revocation feed. The store itself stays open (it is yours). */
  close(): void {
    this.#closed = true;
    this.#revocations?.close();
  }

  #verifyWithKeys(token: string, mayRefetch: boolean): AccessClaims | Promise<AccessClaims> {
    const codec = this.#codec;
    const now = this.#clock.now();
    if (codec === null) {
      if (!this.#source.remote || this.#lastAttemptFailed) throw this.#unavailable();
      // The JWKS had no usable key: a token naming a kid may be signed with one added since.
      if (mayRefetch && this.#mayFetch(now) && this.#namesPinnedAlgorithm(token, undefined)) {
        return this.#loadKeys().then(() => this.#verifyWithKeys(token, false));
      }
      throw this.#explain(token, new BatonError('invalid_token', 'unknown kid'));
    }
    let claims: AccessClaims;
    try {
      claims = codec.verify(token, now);
    } catch (error) {
      if (
        mayRefetch &&
        this.#source.remote &&
        this.#mayFetch(now) &&
        this.#namesPinnedAlgorithm(token, codec.keys)
      ) {
        return this.#loadKeys().then(() => this.#verifyWithKeys(token, false));
      }
      throw this.#explain(token, error);
    }
    this.#revocations?.assertNotRevoked(claims.sid, claims.jti, now);
    // Stale keys are refreshed behind this request, which the current ones already answered.
    if (this.#source.remote && now - this.#keysAt >= this.#maxAgeMs && this.#mayFetch(now)) {
      this.#loadKeys().catch(() => {});
    }
    return claims;
  }

  /**
   * Whether a token that failed names a kid the keys lack, with an algorithm
   * that is pinned: the one failure new keys could cure (rotation). Anything
   * else (alg none, HS with a public key, a bad signature under a known
   * kid) is refused without a fetch.
   */
  #namesPinnedAlgorithm(token: string, keys: KeySet | undefined): boolean {
    let header: Record<string, unknown>;
    try {
      ({ header } = decodeUnverified(token));
    } catch {
      return false;
    }
    const { alg, kid } = header;
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > 256) return false;
    if (typeof alg !== 'string' || !(this.#pinned ?? ASYMMETRIC).includes(alg as Algorithm)) return false;
    return keys === undefined || keys.get(kid) === undefined;
  }

  /** An opaque Baton refresh token given as an access token is `wrong_token_type`, as at the issuer. */
  #explain(token: string, error: unknown): unknown {
    if (!isBatonError(error) || error.code !== 'invalid_token' || typeof token !== 'string') return error;
    if (looksLikeJwt(token)) return error;
    try {
      parseRefreshToken(token);
    } catch {
      return error;
    }
    return new BatonError('wrong_token_type', 'expected an access token, got a refresh token');
  }

  #mayFetch(now: number): boolean {
    if (this.#loading !== undefined) return true;
    if (!this.#source.remote) return !this.#loadedOnce;
    const wait = this.#lastAttemptFailed ? Math.min(this.#cooldownMs, FAILURE_BACKOFF_MS) : this.#cooldownMs;
    return now - this.#lastAttemptAt >= wait;
  }

  /** One load at a time, shared by every request that needs it. Never rejects: failures are recorded. */
  #loadKeys(): Promise<void> {
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #load(): Promise<void> {
    const source = this.#source;
    const startedAt = this.#clock.now();
    this.#lastAttemptAt = startedAt;
    try {
      const keys = source.remote
        ? await keySetFromJwks(await fetchJwks(source), this.#pinned, false)
        : await source.load();
      this.#codec =
        keys === null
          ? null
          : new AccessTokenCodec({
              keys,
              algorithms: this.#pinned ?? keys.algorithms,
              issuer: this.issuer,
              audience: this.audiences,
              leeway: this.#leeway,
              clock: this.#clock,
              ...(this.#maxLength === undefined ? {} : { maxLength: this.#maxLength }),
            });
      this.#keysAt = startedAt;
      this.#lastAttemptFailed = false;
      this.#loadedOnce = true;
    } catch (error) {
      this.#lastAttemptFailed = true;
      this.#lastFailure = error;
      safeLog(
        this.logger,
        'warn',
        { err: error, ...(source.remote ? { jwksUrl: `${source.url.origin}${source.url.pathname}` } : {}) },
        "baton: the issuer's keys could not be loaded",
      );
      // Keys given locally that fail are a configuration error: every later call says so.
      if (!source.remote) this.#loadedOnce = true;
    }
  }

  #unavailable(): BatonError {
    const failure = this.#lastFailure;
    if (isBatonError(failure) && failure.code === 'invalid_options') return failure;
    const reason = failure instanceof Error ? `: ${failure.message}` : '';
    const where = this.#source.remote ? ` from ${this.#source.url.origin}${this.#source.url.pathname}` : '';
    const retryAfter = Math.max(
      1,
      Math.ceil((this.#lastAttemptAt + FAILURE_BACKOFF_MS - this.#clock.now()) / 1000),
    );
    return new BatonError('keys_unavailable', `The issuer's keys could not be loaded${where}${reason}`, {
      retryAfter,
      ...(failure === undefined ? {} : { cause: failure }),
    });
  }
}

/**
 * A verifier for one issuer. Keys are fetched at the first request (or
 * `await verifier.ready`), cached, and refetched on an unknown `kid` at most
 * once per `jwks.cooldown`.
 *
 * @example
 * ```ts
 * import { createResourceVerifier } from 'baton-auth/resource';
 * const verifier = createResourceVerifier({
 *   issuer: 'https://auth.example.com',
 *   audience: 'orders-api',
 *   jwksUrl: 'https://auth.example.com/.well-known/jwks.json',
 *   algorithms: ['EdDSA'],
 * });
 * const claims = await verifier.verify(accessToken); // or throws BatonError('invalid_token'), ...
 * const greeting = `orders of ${claims.sub}`;
 * ```
 */
export function createResourceVerifier(options: ResourceVerifierOptions): ResourceVerifier {
  return new ResourceVerifier(options);
}
