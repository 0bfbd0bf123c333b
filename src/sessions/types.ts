import type { Clock } from '../core/clock.ts';
import type { Duration } from '../core/duration.ts';
import type { SessionStore } from '../stores/types.ts';
import type { AccessClaims, Algorithm, SigningKey } from '../tokens/types.ts';

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
  tokenType: 'Bearer';
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

export type IntrospectionResult =
  | { active: false }
  | ({ active: true; token_type: 'access_token' | 'refresh_token' } & Record<string, unknown>);
