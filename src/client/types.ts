/** Public types of `baton-auth/client`. */
import type { DpopKeyStore } from './dpop.ts';
import type { StorageOption } from './storage.ts';

/** Why a session ended, as `onSessionEnd` reports it. */
export type SessionEndReason = 'logged_out' | 'reused' | 'disabled' | 'expired' | 'revoked';

/** The claims of a Baton access token; extend it for your custom claims. */
export interface BatonClaims {
  sub: string;
  sid: string;
  jti?: string;
  iat: number;
  exp: number;
  nbf?: number;
  iss?: string;
  aud?: string | string[];
  client_id?: string;
  type?: string;
  /** true, false, or a NumericDate until which the token is fresh. */
  fresh?: boolean | number;
  roles?: string[];
  scope?: string;
  [claim: string]: unknown;
}

/**
 * The body of login, refresh and reauth responses. In cookie mode the tokens
 * come as HttpOnly cookies and not here: the body has `claims` and
 * `csrf_token` instead of `access_token` and `refresh_token`.
 */
export interface TokenResponse {
  /** Bearer mode only. */
  access_token?: string;
  /** Bearer mode only; absent after reauth (the session's refresh token is unchanged). */
  refresh_token?: string;
  /** Cookie mode: the access token's claims. */
  claims?: Record<string, unknown>;
  /** Cookie mode: the CSRF value (also in the readable CSRF cookie). */
  csrf_token?: string;
  token_type: string;
  expires_in: number;
  refresh_expires_in: number | null;
  session_id: string;
  scope?: string;
}

/** One entry of `GET /auth/sessions`. */
export interface SessionInfo {
  id: string;
  client_id: string | null;
  created_at: string;
  last_used_at: string;
  expires_at: string | null;
  user_agent: string | null;
  ip: string | null;
  current: boolean;
}

/** What the client knows about its session, with deadlines in local time (skew corrected). */
export interface AuthState<Claims extends BatonClaims = BatonClaims> {
  claims: Claims;
  sessionId: string;
  /** Local epoch ms at which the access token expires. */
  accessExpiresAt: number;
  /** Local epoch ms at which the session (refresh token) expires; null: never, or unknown. */
  sessionExpiresAt: number | null;
  /** Server clock minus local clock, ms, estimated from the token's `iat` at receipt. */
  skewMs: number;
}

export type FetchLike = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

export interface AuthClientOptions {
  /** Origin (and path) of the Baton server, e.g. `https://api.example.com`. Tokens are only sent there. */
  baseUrl: string;
  /** `bearer`: the client holds the tokens. `cookie`: HttpOnly cookies, plus the CSRF header. */
  mode: 'bearer' | 'cookie';
  /** Bearer mode only. Default memory. */
  storage?: StorageOption;
  /** Mount point of the auth routes. Default `/auth`. */
  prefix?: string;
  /** Default `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Called once when the session ends (logout, reuse detected, user disabled, expiry, revocation). */
  onSessionEnd?: (reason: SessionEndReason) => void;
  /** Called with every token response this tab receives (login, refresh, reauth). */
  onTokens?: (body: TokenResponse, source: 'login' | 'refresh' | 'reauth') => void;
  /**
   * Seconds before the access token's expiry (on the server's clock) at which
   * authFetch refreshes first. Default `min(30, lifetime / 5)`; capped at half the lifetime.
   */
  refreshMargin?: number;
  /** Consecutive failed refreshes (network, 5xx, 429) after which the session ends as `expired`. Default 3. */
  maxRefreshFailures?: number;
  /**
   * Coordinate with other tabs of the same origin (Web Locks, BroadcastChannel).
   * Default: on in browsers, off in Node.
   */
  crossTab?: boolean;
  /**
   * Cookie mode: the readable CSRF cookie and the header echoing it. Defaults:
   * the first of `__Host-baton_csrf`, `__Secure-baton_csrf`, `baton_csrf`, and `X-CSRF-Token`.
   */
  csrfCookie?: string;
  csrfHeader?: string;
  /** The local clock, epoch ms (tests). Default `Date.now`. */
  now?: () => number;
  /**
   * DPoP (RFC 9449), bearer mode only: a key pair per session signs a proof
   * for every request (login, refresh, authFetch), and the tokens are bound
   * to it. `true`: a non-extractable WebCrypto key (Ed25519 where available,
   * else ES256) kept in IndexedDB in browsers (shared by the tabs, kept across
   * reloads), in memory elsewhere; or your own `DpopKeyStore`. Logout drops the key.
   */
  dpop?: boolean | DpopKeyStore;
}

/**
 * A failed auth call: the HTTP status and Baton's error code (`network_error` when there was no response).
 *
 * @example
 * ```ts
 * import { AuthError, createAuthClient } from 'baton-auth/client';
 *
 * const auth = createAuthClient({ baseUrl: 'https://api.example.com', mode: 'cookie' });
 * try {
 *   await auth.login('thedude', 'wrong password');
 * } catch (error) {
 *   if (!(error instanceof AuthError)) throw error;
 *   error.status; // 401 (429 after too many attempts, 0 when the server was not reached)
 *   error.code; // 'invalid_credentials', 'too_many_attempts', 'network_error', ...
 * }
 * ```
 */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}
