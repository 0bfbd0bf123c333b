import type { Clock } from '../core/clock.ts';
import type { Duration } from '../core/duration.ts';
import type { BatonLogger } from '../core/logger.ts';
import type { RevocationReason, SessionStore } from '../stores/types.ts';
import type { DpopMode, DpopOptions, DpopVerifier } from '../tokens/dpop.ts';
import type { AccessClaims, Algorithm, SigningKey } from '../tokens/types.ts';
import type { AuthEventListener, AuthEvents } from './events.ts';

/** What Baton needs to know about one of your users. */
export interface BatonUser {
  /** Converted to a string for `sub`; numbers are accepted, anything else is rejected. */
  id: string | number;
  /** The name `verifyCredentials` knows the user by; reauth uses it (default: the id). */
  username?: string;
  roles?: readonly string[];
  /** Space-separated OAuth scopes. */
  scope?: string;
  /** A disabled user cannot log in or refresh; refresh revokes all their sessions. */
  disabled?: boolean;
  /** Extra claims for the access token (reserved names are refused). */
  claims?: Record<string, unknown>;
}

export type MaybePromise<T> = T | Promise<T>;

/**
 * Failed password checks (login, password grant, reauth) allowed in a sliding
 * window, per username and per client IP; past either, 429 `too_many_attempts`
 * before any hashing. Successes do not count.
 */
export interface RateLimitOptions {
  /** Failures allowed per username. Default 10; `false`: no per-username limit. */
  perUsername?: number | false;
  /**
   * Failures allowed per client IP. Default 100 (many users share an IP behind
   * a NAT). `false`: no per-IP limit. The IP is the adapter's `clientIp`
   * (by default the peer address; behind a proxy configure the framework's trusted proxies).
   */
  perIp?: number | false;
  /** The sliding window. Default `1m`. */
  window?: Duration;
}

export interface SessionManagerOptions<User extends BatonUser = BatonUser> {
  /** `iss` of access tokens and the only issuer accepted. */
  issuer: string;
  /** `aud` of access tokens; verification accepts a token carrying any of them. */
  audience: string | readonly string[];
  /** Signing keys, newest last: it signs; every non-retired key verifies. */
  keys: readonly SigningKey[];
  /** Algorithms accepted at verification. Default: those of `keys`. */
  algorithms?: readonly Algorithm[];
  /** HMAC key (32+ bytes) from which refresh secrets are derived. Keep it stable and secret. */
  refreshKey: string | Uint8Array;
  store: SessionStore;
  clock?: Clock;
  loadUser(userId: string): MaybePromise<User | null | undefined>;
  verifyCredentials?(username: string, password: string): MaybePromise<User | null | undefined>;
  /** Default `15m`. */
  accessTokenTtl?: Duration;
  /** Absolute session lifetime, not extended by refresh. `null`: never expires. Default `30d`. */
  refreshTokenTtl?: Duration | null;
  /** Revoke a session unused for this long. Default `null` (off). */
  idleTimeout?: Duration | null;
  /** Default `10s`; 0 disables. */
  graceWindow?: Duration;
  /** Clock skew allowed on `exp`/`nbf`. Default 0. */
  leeway?: Duration;
  /** Freshness of tokens minted by login and reauth: `true`, `false`, or a duration. Default `true`. */
  freshness?: boolean | Duration;
  /** `client_id` for sessions that name none. Default: the issuer. */
  defaultClientId?: string;
  /** Default 10 failures per username and 100 per IP per minute; `false` disables both. */
  rateLimit?: RateLimitOptions | false;
  /**
   * A disabled user's correct password answers 403 `user_disabled` instead of
   * the 401 `invalid_credentials` a wrong password gets. Default `false`: the
   * same answer either way, since telling them apart confirms the password.
   */
  revealDisabledAccounts?: boolean;
  /**
   * Verified-token cache for `verifyAccessToken`: a token seen before skips the
   * signature check and JSON parse (the time, revoked-session and jti checks
   * still run on every call). Bounded to `max` tokens (default 10 000), keyed by
   * the exact token string; its claims are frozen. `false` disables it.
   */
  verifyCache?: { max?: number } | false;
  /**
   * Listeners for the security events (README "Events and logging"): one
   * function or a list. More can be added later with `manager.events.on`.
   * They run after the step has answered and are never awaited; one that
   * throws, rejects or is slow never fails nor delays a request (its error
   * goes to the logger).
   */
  onEvent?: AuthEventListener | readonly AuthEventListener[];
  /**
   * A pino-compatible logger (`pino()` fits). Default: silent, except
   * unexpected errors, which go to `console.error`.
   */
  logger?: BatonLogger;
  /**
   * Sender-constrained tokens (DPoP, RFC 9449). Default off. `allowed`: a
   * login or refresh with a proof gets tokens bound to the proof's key, one
   * without gets Bearer tokens; `required`: every one needs a proof. The
   * store keeps the proofs' ids (replay cache): every Baton store can.
   */
  dpop?: DpopOptions;
}

/**
 * What every strategy other than `rotating` takes: SessionManager's options,
 * with `refreshKey` needed only where a strategy derives secrets (per-client)
 * and no grace window or idle timeout (nothing rotates concurrently there).
 */
export interface StrategyBaseOptions<User extends BatonUser = BatonUser>
  extends Omit<SessionManagerOptions<User>, 'refreshKey' | 'graceWindow' | 'idleTimeout'> {
  refreshKey?: string | Uint8Array;
}

/**
 * What a step knows of the request that asks for it: sessions record the
 * user agent and IP, the rate limit counts by IP, and every event carries
 * them (`ip`, `userAgent`; `clientId` before a session names its own).
 */
export interface RequestContext {
  clientId?: string | null;
  userAgent?: string | null;
  ip?: string | null;
  /**
   * Request-bound claims for the access token minted by this call, from the
   * HTTP layer: they win over the user's custom claims (`BatonUser.claims`),
   * and may not be one of Baton's reserved claims.
   */
  extraClaims?: Record<string, unknown>;
  /**
   * The DPoP proof of the request, verified by the HTTP layer (or your own
   * code, with `manager.dpop`): the tokens minted are bound to its key.
   * Never set it from anything but a verified proof.
   */
  dpop?: DpopBinding;
}

/** What a step learns of a verified DPoP proof. */
export interface DpopBinding {
  /** The RFC 7638 thumbprint of the proof's key (`VerifiedDpopProof.jkt`). */
  jkt: string;
  /**
   * The request authenticated a confidential client (its secret): its
   * refresh tokens are constrained by that authentication, not bound to the
   * key (RFC 9449 section 5); the access tokens still are.
   */
  confidentialClient?: boolean;
}

/** What a revocation (RFC 7009) is given besides the token. */
export interface RevokeContext extends RequestContext {
  /**
   * The confidential client that authenticated the revocation request (its
   * secret, RFC 7009 section 2.1): its own DPoP-bound tokens are revoked
   * without a proof, as its refresh tokens are constrained by that
   * authentication (RFC 9449 section 5). Any other bound token needs a proof
   * by its key (`dpop`). Never set it but from a checked client secret.
   */
  authenticatedClient?: string;
}

/** What a refresh is given besides the token. */
export interface RefreshContext extends RequestContext {
  /** The token endpoint's client (jwt-bearer, or an authenticated client): the session's client must be this one. */
  expectedClientId?: string;
  /**
   * Called with the client the session was issued to (`null`: none) once the
   * token is known to be authentic and before anything changes; it throws to
   * refuse the refresh. The HTTP layer passes one that demands a confidential
   * client's authentication (RFC 6749 section 6: `invalid_client`).
   */
  authorizeClient?(sessionClientId: string | null): void;
}

/** What login and refresh hand back; the HTTP layer renders it as the OAuth token response. */
export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  /** `DPoP` when the access token is bound to a proof's key (`cnf.jkt`). */
  tokenType: 'Bearer' | 'DPoP';
  /** Seconds until the access token expires. */
  expiresIn: number;
  /** Seconds until the session's absolute expiry, `null` when it never expires. */
  refreshExpiresIn: number | null;
  sessionId: string;
  claims: AccessClaims;
}

export interface SessionInfo {
  id: string;
  clientId: string | null;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date | null;
  userAgent: string | null;
  ip: string | null;
  /** The session the asking access token belongs to. */
  current: boolean;
}

/**
 * What an active token is, as `describeToken` finds it; the HTTP layer renders
 * it as the RFC 7662 introspection response. The claims are the token's own
 * (access tokens, refresh JWTs) or those its session stands for (opaque
 * refresh tokens: `sub`, `sid`, `client_id`, `iss`, `iat`, `exp`).
 */
export type TokenDescription =
  | { tokenType: 'access_token'; claims: AccessClaims }
  | { tokenType: 'refresh_token'; claims: RefreshTokenFacts };

/** What is known of a refresh token's session; `exp` is absent when it never expires. */
export interface RefreshTokenFacts {
  sub: string;
  sid: string;
  client_id: string;
  iss: string;
  iat?: number;
  exp?: number;
  [claim: string]: unknown;
}

/** One long-running token as the per-client management API shows it. `token` only when just created. */
export interface PerClientToken {
  id: string;
  clientId: string;
  userId: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date | null;
  token?: string;
}

/**
 * The per-client strategy's own operations (djangorestframework-jwt-refresh-token):
 * one long-running token per (user, client), managed by the user. A manager
 * that has them serves the per-client routes (`/delegate/`, `/auth/refresh-tokens`).
 */
export interface ClientTokens {
  /** A new token for (user, client); the one it had is revoked. The only time the token is shown. */
  createToken(userId: string, clientId: string, context?: RequestContext): Promise<PerClientToken>;
  /** The user's live tokens, values left out. */
  listTokens(userId: string): Promise<PerClientToken[]>;
  /** Revokes one of the user's tokens; another user's is `not_found`. */
  deleteToken(userId: string, id: string, context?: RequestContext): Promise<void>;
  /** The live token of (user, client), or null: what a login response hook includes. */
  refreshTokenFor(userId: string, clientId: string): Promise<string | null>;
  /** The DRF delegate endpoint: a refresh bound to its client. */
  delegate(
    refreshToken: string,
    clientId: string,
    context?: Omit<RefreshContext, 'expectedClientId'>,
  ): Promise<TokenPair>;
}

/** The refresh-token designs Baton offers (see `createAuthManager`). */
export type StrategyName = 'rotating' | 'jwt' | 'single-token' | 'per-client' | 'callbacks';

/**
 * What a strategy can do beyond what every strategy does. A strategy without
 * a capability still has the method: it answers 400 `invalid_request` saying
 * why and what to use instead. The HTTP layer and apps read these instead of
 * probing for methods.
 */
export interface StrategyCapabilities {
  /** `listSessions` and `revokeSession`: the user's sessions are listed in the store. */
  readonly listSessions: boolean;
  /** `logoutAll`: every session of the user behind a token. */
  readonly logoutAll: boolean;
  /** `revokeUser`: every session of a user at once, access tokens included (admin). */
  readonly revokeUser: boolean;
  /** `reissueAccessToken`: cookie mode's implicit refresh. */
  readonly implicitRefresh: boolean;
  /** `clientTokens`: the per-client management routes. */
  readonly clientTokens: boolean;
}

/**
 * The one interface of every strategy's manager (`createAuthManager`,
 * `new SessionManager`): what the HTTP layer, the adapters and apps use.
 * Knows nothing of HTTP.
 */
export interface AuthManager<User extends BatonUser = BatonUser> {
  readonly strategy: StrategyName;
  readonly capabilities: StrategyCapabilities;
  /** The `iss` of its access tokens: the issuer identifier of its RFC 8414 metadata. */
  readonly issuer: string;
  /**
   * DPoP proof checks (RFC 9449), present when the manager has DPoP on: the
   * HTTP layer checks the proofs of requests with it, and the server metadata
   * lists its algorithms.
   */
  readonly dpop?: DpopVerifier;
  /** The `dpop` option's mode (`off` without one). */
  readonly dpopMode?: DpopMode;
  /**
   * Reports a DPoP refusal the HTTP layer decided (`dpop_rejected`); never
   * give it a token or a proof.
   */
  dpopRejected?(rejection: DpopRejection, context?: RequestContext): void;
  /** The manager's clock, so that callers judge "expires within" on the same time as `exp`. */
  readonly clock: Clock;
  /** Resolves once the revoked set is loaded from the store (a failed load is retried by the next caller). */
  readonly ready: Promise<void>;
  /** The security events of every step (`on` a listener; README "Events and logging"). */
  readonly events: AuthEvents;
  /** What the manager logs through (the `logger` option); the HTTP layer logs through it too. */
  readonly logger: BatonLogger;
  /** Checks a username and password with `verifyCredentials` and opens a session. */
  login(username: string, password: string, context?: RequestContext): Promise<TokenPair>;
  /** Opens a session for a user the caller has authenticated itself. */
  issueSession(user: User, context?: RequestContext): Promise<TokenPair>;
  refresh(refreshToken: string, context?: RefreshContext): Promise<TokenPair>;
  /** The password again: a fresh access token for the same session (`refreshToken` is `''`). */
  reauthenticate(accessToken: string, password: string, context?: RequestContext): Promise<TokenPair>;
  /** Implicit refresh (capability `implicitRefresh`): a new access token for a still-valid one's session. */
  reissueAccessToken(accessToken: string, context?: RequestContext): Promise<TokenPair>;
  /** Signature, claims, time and the revoked set. Synchronous, no I/O. */
  verifyAccessToken(token: string): AccessClaims;
  isFresh(claims: AccessClaims): boolean;
  /**
   * Revokes the session of a live access or refresh token; a dead token is
   * refused and changes nothing, so is a DPoP-bound one without a proof by
   * its key (`context.dpop`, `invalid_dpop_proof`).
   */
  logout(token: string, context?: RequestContext): Promise<void>;
  /** Capability `logoutAll`: every session of the token's user; answers how many. */
  logoutAll(token: string, context?: RequestContext): Promise<number>;
  /** Capability `listSessions`. */
  listSessions(userId: string, currentSessionId?: string): Promise<SessionInfo[]>;
  /** Capability `listSessions`: one of the user's sessions; another user's is `not_found`. */
  revokeSession(userId: string, sessionId: string, context?: RequestContext): Promise<void>;
  /** Capability `revokeUser`: every session of a user and their access tokens, at once. */
  revokeUser(userId: string, reason?: RevocationReason, context?: RequestContext): Promise<number>;
  /**
   * RFC 7009: silent on invalid and dead tokens; the hint is not trusted. A
   * DPoP-bound token needs a proof by its key (`invalid_dpop_proof`), unless
   * the client it was issued to authenticated (`authenticatedClient`).
   */
  revokeToken(token: string, hint?: TokenTypeHint, context?: RevokeContext): Promise<void>;
  /** What an active token is (introspection), or `null` for any token that is not. */
  describeToken(token: string, hint?: TokenTypeHint): Promise<TokenDescription | null>;
  jwks(): { keys: Record<string, unknown>[] };
  /** Capability `clientTokens`: the per-client strategy's management. */
  readonly clientTokens?: ClientTokens;
  close(): Promise<void>;
}

export type TokenTypeHint = 'access_token' | 'refresh_token';

/** Why a DPoP proof was refused, and where (the `dpop_rejected` event). */
export interface DpopRejection {
  reason: DpopRejectionReason;
  step: DpopStep;
  /** What was wrong, in words (never a token or a proof). */
  detail: string;
  userId?: string | null;
  sessionId?: string | null;
  clientId?: string | null;
}

/**
 * `invalid_proof`: the proof failed a check (signature, htm/htu, age, replay,
 * ...); `missing_proof`: none came where one is needed; `key_mismatch`: the
 * proof is by another key than the one the token or session is bound to;
 * `bearer_bound_token`: a DPoP-bound token sent as a Bearer token;
 * `use_dpop_nonce`: the proof lacked the current server nonce (the client retries).
 */
export type DpopRejectionReason =
  | 'invalid_proof'
  | 'missing_proof'
  | 'key_mismatch'
  | 'bearer_bound_token'
  | 'use_dpop_nonce';

/**
 * Where a DPoP proof was checked: a token-issuing step, a protected request
 * (`resource`), or a token acting for its session (`logout`, logout-all too;
 * `revoke`, RFC 7009).
 */
export type DpopStep = 'login' | 'refresh' | 'reauth' | 'resource' | 'logout' | 'revoke';
