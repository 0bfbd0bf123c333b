import type { Clock } from '../core/clock.ts';
import { BatonError, isBatonError } from '../core/errors.ts';
import type { Revocation } from '../stores/types.ts';
import { AccessTokenCodec, isFresh } from '../tokens/access-token.ts';
import { KeySet } from '../tokens/keys.ts';
import { randomId } from '../tokens/random.ts';
import type { AccessClaims, Algorithm, Freshness, SigningKey } from '../tokens/types.ts';
import { VerifiedTokenCache } from '../tokens/verified-cache.ts';
import { looksLikeOpaqueRefreshToken } from './refresh-token.ts';
import { RevocationList } from './revocation-list.ts';
import type { StoreCalls } from './store-calls.ts';
import type { BatonUser, MaybePromise, TokenDescription } from './types.ts';

/** Claims Baton sets itself; a user's custom claims may not override them. */
const RESERVED_CLAIMS = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'sid',
  'client_id',
  'type',
  'fresh',
  'roles',
  'scope',
  'rf_exp',
  'rf_gen',
  'rf_jti',
  'sess_exp',
  'cnf',
]);

export interface AccessTokensOptions {
  keys: readonly SigningKey[];
  algorithms?: readonly Algorithm[] | undefined;
  issuer: string;
  audience: string | readonly string[];
  /** Seconds. */
  leeway: number;
  /** Seconds. */
  accessTokenTtl: number;
  clock: Clock;
  store: StoreCalls;
  verifyCache: { max: number } | false;
}

/** What one minted access token carries besides the codec's own claims. */
export interface MintRequest {
  user: BatonUser;
  sub: string;
  sid: string;
  clientId: string;
  fresh: Freshness;
  /** Request-bound claims from the HTTP layer: they win over the user's custom claims. */
  extraClaims?: Record<string, unknown> | undefined;
  /** Strategy claims (single-token's `rf_exp`), set after the checks on user claims. */
  strategyClaims?: Record<string, unknown>;
  jti?: string;
  /** Default: now + accessTokenTtl. */
  exp?: number;
  /** The DPoP key thumbprint the token is bound to (`cnf.jkt`, RFC 9449 section 6). */
  jkt?: string | undefined;
}

/**
 * What every strategy shares about access tokens: minting, verification with
 * the in-memory revoked set (loaded from the store, kept current by its
 * feed), the verified-token cache, and recording revocations.
 */
export class AccessTokens {
  readonly keys: KeySet;
  readonly codec: AccessTokenCodec;
  readonly #options: AccessTokensOptions;
  readonly #followed: StoreRevocations;
  readonly #revoked: RevocationList;
  readonly #cache: VerifiedTokenCache | null;

  constructor(options: AccessTokensOptions) {
    this.#options = options;
    this.keys = new KeySet(options.keys);
    this.codec = new AccessTokenCodec({
      keys: this.keys,
      algorithms: options.algorithms ?? [...new Set(options.keys.map((key) => key.alg))],
      issuer: options.issuer,
      audience: options.audience,
      leeway: options.leeway,
      clock: options.clock,
    });
    this.#followed = new StoreRevocations(options.store, options.clock);
    this.#revoked = this.#followed.list;
    this.#cache =
      options.verifyCache === false
        ? null
        : new VerifiedTokenCache({ max: options.verifyCache.max, leeway: options.leeway });
  }

  /** Resolves once the revoked set is loaded from the store; `verify` refuses before (see StoreRevocations.ready). */
  get ready(): Promise<void> {
    return this.#followed.ready;
  }

  /**
   * Signature, claims, time, and the revoked set. Synchronous, no I/O.
   * A token verified before is answered from the cache; the time checks run
   * on every call, and the session and jti checks whenever anything was
   * added to the revoked set since this token last passed them.
   */
  verify(token: string): AccessClaims {
    this.#followed.assertLoaded();
    const now = this.#options.clock.now();
    const cache = this.#cache;
    if (cache === null) {
      const claims = this.#decode(token, now);
      this.assertNotRevoked(claims.sid, claims.jti, now);
      return claims;
    }
    const additions = this.#revoked.additions;
    const cached = cache.get(token, now);
    if (cached !== undefined) {
      // Entries leave the revoked set only by expiring: a token that passed when the
      // set had seen n additions still passes while it has seen n.
      if (cache.lastStamp !== additions) {
        this.assertNotRevoked(cached.sid, cached.jti, now);
        cache.restamp(additions);
      }
      return cached;
    }
    const claims = this.#decode(token, now);
    this.assertNotRevoked(claims.sid, claims.jti, now);
    return cache.set(token, claims, now, additions);
  }

  /** The codec's verification, with a refresh token of any form refused as the wrong type (DESIGN). */
  #decode(token: string, now: number): AccessClaims {
    try {
      return this.codec.verify(token, now);
    } catch (error) {
      if (isBatonError(error) && error.code === 'invalid_token' && looksLikeOpaqueRefreshToken(token)) {
        throw new BatonError(
          'wrong_token_type',
          'A refresh token was given where an access token is required',
        );
      }
      throw error;
    }
  }

  /** The in-memory check alone, for tokens of other kinds (refresh JWTs) that share sid/jti. */
  assertNotRevoked(sid: string, jti: string, now = this.#options.clock.now()): void {
    this.#followed.assertNotRevoked(sid, jti, now);
  }

  isFresh(claims: Pick<AccessClaims, 'fresh'>): boolean {
    return isFresh(claims, Math.floor(this.#options.clock.now() / 1000));
  }

  /** `fresh` for a token minted by a password check: `true`, `false`, or until now + duration. */
  loginFreshness(freshness: boolean | number): Freshness {
    if (typeof freshness === 'boolean') return freshness;
    return Math.floor(this.#options.clock.now() / 1000) + freshness;
  }

  mint(request: MintRequest): { token: string; claims: AccessClaims } {
    const iat = Math.floor(this.#options.clock.now() / 1000);
    const { user } = request;
    return this.codec.issue({
      ...customClaims(user.claims),
      ...customClaims(request.extraClaims),
      ...request.strategyClaims,
      sub: request.sub,
      sid: request.sid,
      jti: request.jti ?? randomId(16),
      iat,
      nbf: iat,
      exp: request.exp ?? iat + this.#options.accessTokenTtl,
      client_id: request.clientId,
      fresh: request.fresh,
      ...(user.roles ? { roles: [...user.roles] } : {}),
      ...(user.scope ? { scope: user.scope } : {}),
      ...(request.jkt === undefined ? {} : { cnf: { jkt: request.jkt } }),
    });
  }

  /** Marks sessions revoked in this process (the store already recorded them). */
  markSessionsRevoked(ids: Iterable<string>, expiresAt: number): void {
    for (const id of ids) this.#revoked.add({ kind: 'session', id, expiresAt });
  }

  /** Records a revocation in the store (so other processes load it) and in this process. */
  async revoke(revocation: Revocation): Promise<void> {
    await this.#options.store.addRevocation(revocation);
    this.#revoked.add(revocation);
  }

  /**
   * RFC 7009 for an access token: its jti is denied until it expires. Invalid
   * tokens, and tokens already revoked (by jti or session), are ignored
   * (undefined): nothing changes, nothing is asked of the caller.
   */
  async revokeAccessToken(
    token: string,
    authorize?: (claims: AccessClaims) => void,
  ): Promise<AccessClaims | undefined> {
    let claims: AccessClaims;
    try {
      claims = this.codec.verify(token);
    } catch {
      return undefined;
    }
    // RFC 7009 section 2.2: an already revoked token answers as an invalid one, before any
    // DPoP proof is asked for (a dead bound token acts for nothing).
    if (this.#followed.isRevoked(claims.sid, claims.jti, this.#options.clock.now())) return undefined;
    // E.g. a DPoP-bound token's proof: refused before anything changes.
    authorize?.(claims);
    await this.revoke({ kind: 'token', id: claims.jti, expiresAt: this.horizon(claims.exp) });
    return claims;
  }

  /** What an access token is, for introspection: its claims while it would pass `verify`. */
  describe(token: string): TokenDescription {
    return { tokenType: 'access_token', claims: this.verify(token) };
  }

  /** When a revoked access jti can be forgotten: once the token could no longer pass the `exp` check. */
  horizon(exp: number): number {
    return (exp + this.#options.leeway) * 1000 + 1000;
  }

  /** Until when a session revoked now must stay in the set: the longest access token issued under it. */
  sessionHorizon(): number {
    return this.#options.clock.now() + (this.#options.accessTokenTtl + this.#options.leeway) * 1000;
  }

  jwks(): { keys: Record<string, unknown>[] } {
    return this.keys.toJWKS() as { keys: Record<string, unknown>[] };
  }

  /** Entries in this process's revoked set, by kind (for the revoked-set gauge of baton-auth/otel). */
  revokedSetSize(): { sessions: number; tokens: number } {
    return { sessions: this.#revoked.sessionCount, tokens: this.#revoked.tokenCount };
  }

  close(): void {
    this.#followed.close();
  }
}

/**
 * The revoked set of one process, following a store: loaded from it once
 * (`ready`), then kept current by its revocation feed, so that checking a
 * token needs no I/O. The issuer's AccessTokens and a resource server's
 * verifier (src/resource/) both keep one.
 */
export class StoreRevocations {
  readonly list: RevocationList;
  readonly #store: StoreCalls;
  readonly #clock: Clock;
  #loaded = false;
  #loading: Promise<void> | undefined;
  readonly #unsubscribe: (() => void) | undefined;

  constructor(store: StoreCalls, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
    this.list = new RevocationList(clock);
    this.#unsubscribe = store.subscribeRevocations((revocations) => this.list.addAll(revocations));
    // A failed initial load is reported by the calls that await `ready`; never as an unhandled rejection.
    this.ready.catch(() => {});
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  /**
   * Resolves once the revoked set is loaded from the store. A failed load is
   * tried again by the next caller (one attempt at a time), so a process
   * started while its store was away recovers by itself.
   */
  get ready(): Promise<void> {
    if (this.#loaded) return Promise.resolve();
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  /** Throws `store_unavailable` (503, and starts another load) until the set is loaded. */
  assertLoaded(): void {
    if (this.#loaded) return;
    this.ready.catch(() => {});
    throw new BatonError('store_unavailable', 'Revocations are not loaded yet', { retryAfter: 1 });
  }

  /** Whether the session or the token id is in the set. */
  isRevoked(sid: string, jti: string, now = this.#clock.now()): boolean {
    return this.list.isSessionRevoked(sid, now) || this.list.isTokenRevoked(jti, now);
  }

  /** `token_revoked` when the session or the token id is in the set. */
  assertNotRevoked(sid: string, jti: string, now = this.#clock.now()): void {
    if (this.isRevoked(sid, jti, now)) throw new BatonError('token_revoked', 'This token has been revoked');
  }

  close(): void {
    this.#unsubscribe?.();
  }

  async #load(): Promise<void> {
    const revocations = await this.#store.listRevocations(this.#clock.now());
    this.list.addAll(revocations);
    this.#loaded = true;
  }
}

/**
 * Runs an RFC 7009 step where a bad token is not an error (revoking it is a
 * no-op). A store outage still surfaces (503): nothing was revoked.
 */
export async function ignoringInvalidToken(operation: () => Promise<unknown>): Promise<void> {
  try {
    await operation();
  } catch (error) {
    if (isBatonError(error) && SURFACING.has(error.code)) throw error;
  }
}

/**
 * What revocation still answers: a store outage (the outcome is unknown),
 * and a valid DPoP-bound token without its proof (the request is refused,
 * RFC 9449; an invalid token is still ignored, RFC 7009).
 */
const SURFACING: ReadonlySet<string> = new Set(['store_unavailable', 'invalid_dpop_proof', 'use_dpop_nonce']);

/**
 * Introspection's rule (RFC 7662): any token problem reads as "not active"
 * (`null`). A store outage still surfaces (503): the answer is unknown.
 */
export async function describeOrNull(
  operation: () => MaybePromise<TokenDescription>,
): Promise<TokenDescription | null> {
  try {
    return await operation();
  } catch (error) {
    if (isBatonError(error) && error.code === 'store_unavailable') throw error;
    return null;
  }
}

export function customClaims(claims: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!claims) return {};
  const result: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(claims)) {
    if (RESERVED_CLAIMS.has(name)) {
      throw new BatonError('invalid_options', `Custom claim "${name}" is reserved by Baton`);
    }
    result[name] = value;
  }
  return result;
}
