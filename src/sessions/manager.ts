import type { Clock } from '../core/clock.ts';
import { BatonError, isBatonError } from '../core/errors.ts';
import type { RevocationReason, SessionRecord, SessionStore } from '../stores/types.ts';
import { toSubject } from '../tokens/access-token.ts';
import type { KeySet } from '../tokens/keys.ts';
import type { AccessClaims } from '../tokens/types.ts';
import { AccessTokens, ignoringInvalidToken, storeCall } from './access-tokens.ts';
import { assertEnabled, Credentials, usernameOf } from './credentials.ts';
import { type ResolvedOptions, resolveOptions } from './options.ts';
import {
  hashSecret,
  looksLikeJwt,
  newSecretSalt,
  newSessionId,
  type ParsedRefreshToken,
  parseRefreshToken,
  RefreshTokenDeriver,
} from './refresh-token.ts';
import { SessionRecords } from './session-records.ts';
import type {
  BatonUser,
  IntrospectionResult,
  RefreshContext,
  RequestContext,
  SessionInfo,
  SessionManagerOptions,
  TokenPair,
} from './types.ts';

export type { RefreshContext };

/**
 * Rotating refresh-token sessions: one session per login per device.
 * Knows nothing of HTTP; the store, clock and user callbacks come in as options.
 * Options are validated here: bad ones throw `BatonError('invalid_options')`
 * naming each field (the README's options table lists them all).
 *
 * @example
 * ```ts
 * import { randomBytes } from 'node:crypto';
 * import { generateSigningKey, MemoryStore, SessionManager } from 'baton-auth';
 *
 * const users = [{ id: '1', username: 'thedude', roles: ['user'] }];
 * const sessions = new SessionManager({
 *   issuer: 'https://api.example.com',
 *   audience: 'example-api',
 *   keys: [await generateSigningKey('EdDSA')],
 *   refreshKey: randomBytes(32), // keep a stable one (env, secret manager)
 *   store: new MemoryStore(),
 *   loadUser: (id) => users.find((u) => u.id === id) ?? null,
 *   verifyCredentials: (username, password) =>
 *     password === 'abides' ? (users.find((u) => u.username === username) ?? null) : null,
 * });
 * await sessions.ready;
 * const pair = await sessions.login('thedude', 'abides');
 * sessions.verifyAccessToken(pair.accessToken).sub; // '1'
 * ```
 */
export class SessionManager<User extends BatonUser = BatonUser> {
  readonly keys: KeySet;
  readonly #options: ResolvedOptions<User>;
  readonly #store: SessionStore;
  readonly #clock: Clock;
  readonly #tokens: AccessTokens;
  readonly #credentials: Credentials<User>;
  readonly #deriver: RefreshTokenDeriver;
  readonly #sessions: SessionRecords;

  constructor(options: SessionManagerOptions<User>) {
    this.#options = resolveOptions(options);
    const o = this.#options;
    this.#store = o.store;
    this.#clock = o.clock;
    this.#tokens = new AccessTokens(o);
    this.keys = this.#tokens.keys;
    this.#credentials = new Credentials(o);
    this.#deriver = new RefreshTokenDeriver(o.refreshKey);
    this.#sessions = new SessionRecords(
      o.store,
      this.#tokens,
      this.#deriver,
      o.clock,
      o.idleTimeout,
      o.graceWindow,
    );
  }

  /** Resolves once the revoked set is loaded from the store; `verifyAccessToken` refuses before (and retries). */
  get ready(): Promise<void> {
    return this.#tokens.ready;
  }

  get options(): Readonly<ResolvedOptions<User>> {
    return this.#options;
  }

  // ---------------------------------------------------------------- login

  /**
   * Checks a username and password with `verifyCredentials` and opens a
   * session. Fails with `invalid_credentials`, `user_disabled` or
   * `too_many_attempts` (rate limit).
   *
   * @example
   * ```ts
   * const pair = await sessions.login('thedude', 'abides', { userAgent: 'curl/8', ip: '203.0.113.7' });
   * pair.accessToken; // a JWT, `typ: at+jwt`
   * pair.refreshToken; // opaque `<sessionId>.<secret>`
   * pair.expiresIn; // seconds, e.g. 900
   * ```
   */
  async login(username: string, password: string, context: RequestContext = {}): Promise<TokenPair> {
    const user = await this.#checkPassword(username, password, context);
    return this.issueSession(user, context);
  }

  /** Opens a session for a user you have authenticated yourself. */
  async issueSession(user: User, context: RequestContext = {}): Promise<TokenPair> {
    await this.#ready();
    assertEnabled(user);
    const now = this.#clock.now();
    const id = newSessionId();
    const secretSalt = newSecretSalt();
    const refreshToken = this.#deriver.token(id, secretSalt, 0);
    const ttl = this.#options.refreshTokenTtl;
    const session: SessionRecord = {
      id,
      userId: toSubject(user.id),
      clientId: context.clientId ?? null,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: ttl === null ? null : now + ttl * 1000,
      userAgent: truncate(context.userAgent),
      ip: truncate(context.ip),
      secretSalt,
      tokenHash: hashSecret(refreshToken.slice(id.length + 1)),
      generation: 0,
      rotatedAt: null,
      revokedAt: null,
      revokedReason: null,
    };
    await this.#storeCall(() => this.#store.createSession(session));
    return this.#pair(
      session,
      user,
      refreshToken,
      this.#tokens.loginFreshness(this.#options.freshness),
      context,
    );
  }

  // -------------------------------------------------------------- refresh

  /**
   * Rotates a refresh token. Exactly one of many concurrent uses rotates; the
   * others, inside the grace window, receive the same successor. An older
   * generation is theft: the session dies and `refresh_token_reused` is thrown.
   *
   * @example
   * ```ts
   * import { isBatonError } from 'baton-auth';
   *
   * try {
   *   const next = await sessions.refresh(refreshToken);
   *   refreshToken = next.refreshToken; // the old one is good for the grace window only
   * } catch (error) {
   *   if (isBatonError(error) && error.code === 'refresh_token_reused') {
   *     // theft detected: the session and its access tokens are revoked
   *   }
   *   throw error;
   * }
   * ```
   */
  async refresh(refreshToken: string, context: RefreshContext = {}): Promise<TokenPair> {
    await this.#ready();
    const parsed = parseRefreshToken(refreshToken);
    const session = await this.#sessions.authentic(parsed);
    if (context.expectedClientId !== undefined && session.clientId !== null) {
      if (session.clientId !== context.expectedClientId) {
        throw new BatonError('invalid_request', 'client_id does not match the session');
      }
    }
    context.authorizeClient?.(session.clientId);
    const user = await this.#revalidateUser(session.userId);

    if (parsed.generation === session.generation) {
      const successor = this.#deriver.token(session.id, session.secretSalt, parsed.generation + 1);
      const result = await this.#storeCall(() =>
        this.#store.rotateSession({
          id: session.id,
          expectedGeneration: parsed.generation,
          expectedTokenHash: hashSecret(parsed.secret),
          newTokenHash: hashSecret(successor.slice(session.id.length + 1)),
          now: this.#clock.now(),
        }),
      );
      if (result.rotated) return this.#pair(result.session, user, successor, false, context);
      // Lost the race: another caller rotated (or revoked) between our read and write.
      if (!result.session) throw new BatonError('invalid_token', 'Unknown refresh token');
      return this.#afterRotation(parsed, result.session, user, context);
    }
    return this.#afterRotation(parsed, session, user, context);
  }

  /** A token that is no longer current: the grace answer, or theft. */
  async #afterRotation(
    parsed: ParsedRefreshToken,
    session: SessionRecord,
    user: User,
    context: RequestContext,
  ): Promise<TokenPair> {
    this.#sessions.assertUsable(session);
    const now = this.#clock.now();
    if (this.#sessions.inGrace(parsed, session, now)) {
      await this.#storeCall(() => this.#store.touchSession(session.id, now));
      const successor = this.#deriver.token(session.id, session.secretSalt, session.generation);
      return this.#pair(session, user, successor, false, context);
    }
    if (parsed.generation < session.generation) {
      await this.#sessions.revoke({ sessionId: session.id }, 'refresh_token_reused');
      throw new BatonError(
        'refresh_token_reused',
        'This refresh token was already used; the session has been revoked',
      );
    }
    // A generation from the future cannot have been issued by this store's history.
    throw new BatonError('invalid_token', 'Unknown refresh token');
  }

  // -------------------------------------------------------- access tokens

  /**
   * Verifies an access token: signature, claims, time, and the revoked set. Synchronous, no I/O.
   * A token verified before is answered from the verified-token cache (option `verifyCache`);
   * the time checks and the revoked-session and jti checks still run on every call.
   * Throws a `BatonError`: `invalid_token`, `token_expired`, `token_revoked`, `wrong_token_type`.
   *
   * @example
   * ```ts
   * const claims = sessions.verifyAccessToken(accessToken);
   * claims.sub; // the user id, always a string
   * claims.sid; // the session id
   * sessions.isFresh(claims); // true right after login or reauth
   * ```
   */
  verifyAccessToken(token: string): AccessClaims {
    return this.#tokens.verify(token);
  }

  isFresh(claims: AccessClaims): boolean {
    return this.#tokens.isFresh(claims);
  }

  /** Checks the password again and mints a fresh access token for the same session. */
  async reauthenticate(
    accessToken: string,
    password: string,
    context: RequestContext = {},
  ): Promise<TokenPair> {
    const claims = this.verifyAccessToken(accessToken);
    const session = await this.#sessions.live(claims.sid);
    const known = await this.#options.loadUser(claims.sub);
    const username = known ? usernameOf(known, toSubject(known.id)) : claims.sub;
    const user = await this.#checkPassword(username, password, context);
    if (toSubject(user.id) !== session.userId) {
      throw new BatonError('invalid_credentials', 'Invalid username or password');
    }
    const now = this.#clock.now();
    await this.#storeCall(() => this.#store.touchSession(session.id, now));
    return this.#pair(session, user, '', this.#tokens.loginFreshness(this.#options.freshness), context);
  }

  /**
   * Implicit refresh (cookie mode): a new, non-fresh access token for the
   * still-valid access token's session, without the refresh token. The session
   * and the user are checked in the store, as a refresh would; and only a token
   * of the session's current refresh generation gets a successor, so a stolen
   * access token stops being renewed once the session rotates
   * (`session_expired`, which the HTTP layer treats as "no renewal").
   * Successors never outlive the session's absolute expiry.
   */
  async reissueAccessToken(accessToken: string, context: RequestContext = {}): Promise<TokenPair> {
    const claims = this.verifyAccessToken(accessToken);
    const session = await this.#sessions.live(claims.sid);
    if (claims.rf_gen !== session.generation) {
      throw new BatonError(
        'session_expired',
        'This access token is from a rotated-out refresh generation; refresh to continue',
      );
    }
    const user = await this.#revalidateUser(session.userId);
    return this.#pair(session, user, '', false, context);
  }

  // ------------------------------------------------------------ revoking

  /**
   * Revokes the session of a live access or refresh token, and the access
   * tokens issued under it, at once. A dead token (revoked, expired, rotated
   * out) is refused and changes nothing.
   *
   * @example
   * ```ts
   * await sessions.logout(refreshToken); // or the access token
   * ```
   */
  async logout(token: string): Promise<void> {
    await this.#ready();
    const session = await this.#sessions.actingFor(token);
    await this.#sessions.revoke({ sessionId: session.id }, 'logout');
  }

  /**
   * Revokes every session of the user a live access or refresh token belongs
   * to; answers how many.
   *
   * @example
   * ```ts
   * const revoked = await sessions.logoutAll(accessToken); // every device of this user
   * ```
   */
  async logoutAll(token: string): Promise<number> {
    await this.#ready();
    const session = await this.#sessions.actingFor(token);
    return (await this.#sessions.revoke({ userId: session.userId }, 'logout_all')).length;
  }

  /**
   * Admin: revokes every session of a user and their access tokens, at once.
   *
   * @example
   * ```ts
   * await sessions.revokeUser('42'); // e.g. when an account is disabled
   * ```
   */
  async revokeUser(userId: string, reason: RevocationReason = 'admin'): Promise<number> {
    await this.#ready();
    return (await this.#sessions.revoke({ userId: toSubject(userId) }, reason)).length;
  }

  /** Revokes one of the user's sessions; another user's session is `not_found`. */
  async revokeSession(userId: string, sessionId: string): Promise<void> {
    await this.#ready();
    await this.#sessions.revokeOwn(userId, sessionId);
  }

  /**
   * The user's live sessions (never token values); `currentSessionId` marks one as `current`.
   *
   * @example
   * ```ts
   * const claims = sessions.verifyAccessToken(accessToken);
   * for (const session of await sessions.listSessions(claims.sub, claims.sid)) {
   *   console.log(session.id, session.userAgent, session.lastUsedAt, session.current);
   * }
   * ```
   */
  async listSessions(userId: string, currentSessionId?: string): Promise<SessionInfo[]> {
    await this.#ready();
    return this.#sessions.listInfo(userId, currentSessionId);
  }

  /**
   * RFC 7009: a refresh token revokes its session; an access token is denied
   * by `jti` until it expires. Invalid and dead tokens are silently ignored.
   * The hint is not trusted (section 2.1: the search extends to every type):
   * access tokens are JWTs and refresh tokens are not, so the form decides.
   */
  async revokeToken(token: string, _hint?: 'access_token' | 'refresh_token'): Promise<void> {
    await this.#ready();
    if (looksLikeJwt(token)) {
      await this.#tokens.revokeAccessToken(token);
      return;
    }
    await ignoringInvalidToken(() => this.logout(token));
  }

  /** RFC 7662. Inactive tokens say nothing more than `{ active: false }`. */
  async introspect(token: string): Promise<IntrospectionResult> {
    await this.#ready();
    if (looksLikeJwt(token)) return this.#tokens.introspect(token);
    try {
      const parsed = parseRefreshToken(token);
      const session = await this.#sessions.authentic(parsed);
      if (parsed.generation !== session.generation) return { active: false };
      return {
        active: true,
        token_type: 'refresh_token',
        sub: session.userId,
        sid: session.id,
        client_id: session.clientId ?? this.#options.defaultClientId,
        iss: this.#options.issuer,
        iat: Math.floor(session.createdAt / 1000),
        ...(session.expiresAt === null ? {} : { exp: Math.floor(session.expiresAt / 1000) }),
      };
    } catch (error) {
      if (isBatonError(error) && error.code === 'store_unavailable') throw error;
      return { active: false };
    }
  }

  jwks(): { keys: Record<string, unknown>[] } {
    return this.#tokens.jwks();
  }

  /** Deletes expired sessions and revocations; revoked sessions are kept a day to answer `token_revoked`. */
  async deleteExpired(): Promise<number> {
    const now = this.#clock.now();
    return this.#storeCall(() => this.#store.deleteExpired({ now, revokedBefore: now - 86_400_000 }));
  }

  async close(): Promise<void> {
    this.#tokens.close();
    await this.#store.close();
  }

  // ------------------------------------------------------------ internals

  async #ready(): Promise<void> {
    await this.ready;
  }

  async #checkPassword(username: string, password: string, context: RequestContext): Promise<User> {
    await this.#ready();
    return this.#credentials.check(username, password, context);
  }

  /** Loads the user again; a missing or disabled one loses every session, access tokens included. */
  async #revalidateUser(userId: string): Promise<User> {
    const user = await this.#options.loadUser(userId);
    if (!user || user.disabled) {
      await this.#sessions.revoke({ userId }, 'user_disabled');
      throw new BatonError('user_disabled', 'This account is disabled');
    }
    return user;
  }

  #pair(
    session: SessionRecord,
    user: User,
    refreshToken: string,
    fresh: boolean | number,
    context: RequestContext,
  ): TokenPair {
    const now = this.#clock.now();
    const seconds = Math.floor(now / 1000);
    const ttl = this.#options.accessTokenTtl;
    // No access token outlives its session's absolute expiry (implicit refresh included).
    const exp =
      session.expiresAt === null
        ? seconds + ttl
        : Math.min(seconds + ttl, Math.floor(session.expiresAt / 1000));
    const claims = this.#tokens.mint({
      user,
      extraClaims: context.extraClaims,
      sub: session.userId,
      sid: session.id,
      clientId: session.clientId ?? this.#options.defaultClientId,
      fresh,
      // The refresh generation it was minted at: implicit refresh renews only the current one.
      strategyClaims: { rf_gen: session.generation },
      exp,
    });
    return {
      accessToken: claims.token,
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: exp - seconds,
      refreshExpiresIn:
        session.expiresAt === null ? null : Math.max(0, Math.round((session.expiresAt - now) / 1000)),
      sessionId: session.id,
      claims: claims.claims,
    };
  }

  #storeCall<T>(operation: () => Promise<T>): Promise<T> {
    return storeCall(operation);
  }
}

function truncate(value: string | null | undefined, max = 512): string | null {
  if (value === null || value === undefined || value === '') return null;
  return value.length > max ? value.slice(0, max) : value;
}
