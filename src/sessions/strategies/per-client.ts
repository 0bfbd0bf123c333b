import type { Duration } from '../../core/duration.ts';
import { BatonError, isBatonError } from '../../core/errors.ts';
import type { SessionRecord } from '../../stores/types.ts';
import { toSubject } from '../../tokens/access-token.ts';
import { storeCall } from '../access-tokens.ts';
import { type ResolvedStrategyOptions, resolveStrategyOptions } from '../options.ts';
import {
  hashSecret,
  looksLikeJwt,
  newSecretSalt,
  newSessionId,
  parseRefreshToken,
  RefreshTokenDeriver,
} from '../refresh-token.ts';
import { SessionRecords } from '../session-records.ts';
import type {
  BatonUser,
  IntrospectionResult,
  RefreshContext,
  RequestContext,
  SessionInfo,
  StrategyBaseOptions,
  TokenPair,
} from '../types.ts';
import { StrategyBase } from './base.ts';

export interface PerClientStrategyOptions<User extends BatonUser = BatonUser>
  extends StrategyBaseOptions<User> {
  /** HMAC key (32+ bytes) from which the tokens are derived, so that only their hash is stored. */
  refreshKey: string | Uint8Array;
  /**
   * Lifetime of a long-running token; by default it never expires (the DRF seed's behaviour).
   * Spelled out rather than `StrategyBaseOptions['refreshTokenTtl']`, whose `| undefined` breaks
   * the `extends` for apps compiled with exactOptionalPropertyTypes.
   * @defaultValue `null`
   */
  refreshTokenTtl?: Duration | null;
}

/** One long-running token as the management API shows it. `token` only when just created. */
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
 * djangorestframework-jwt-refresh-token's design: one long-running refresh
 * token per (user, client), kept in the store as a session that never
 * rotates and (by default) never expires. Creating a token for a client that
 * has one replaces it; deleting revokes it (and the access tokens minted
 * with it). Tokens are derived from the server's refresh key, so the store
 * holds only their hash, yet the token of a (user, client) can be handed out
 * again (the JWT_RESPONSE_PAYLOAD_HANDLER pattern).
 */
export class PerClientStrategy<User extends BatonUser = BatonUser> extends StrategyBase<
  User,
  ResolvedStrategyOptions<User>
> {
  readonly strategy = 'per-client' as const;
  readonly #deriver: RefreshTokenDeriver;
  readonly #sessions: SessionRecords;

  constructor(options: PerClientStrategyOptions<User>) {
    super(resolveStrategyOptions('per-client', options));
    this.#deriver = new RefreshTokenDeriver(options.refreshKey);
    this.#sessions = new SessionRecords(this.o.store, this.tokens, this.#deriver, this.o.clock, null);
  }

  /** Login: the client's long-running token (created if the user has none for it) and an access token. */
  async issueFor(user: User, context: RequestContext = {}): Promise<TokenPair> {
    await this.ready;
    const clientId = this.clientIdOf(context);
    const userId = toSubject(user.id);
    const existing = (await this.#sessions.list(userId)).find((session) => session.clientId === clientId);
    const session = existing ?? (await this.#create(userId, clientId, context));
    const fresh = this.tokens.loginFreshness(this.o.freshness);
    return this.#pair(session, user, fresh, context);
  }

  /** Management: a new token for (user, client); the one it had is revoked. The response is the only time it is shown. */
  async createToken(userId: string, clientId: string, context: RequestContext = {}): Promise<PerClientToken> {
    await this.ready;
    if (typeof clientId !== 'string' || clientId === '' || clientId.length > 256) {
      throw new BatonError('invalid_request', 'client_id (app) must be a non-empty string');
    }
    for (const session of await this.#sessions.list(userId)) {
      if (session.clientId === clientId) await this.#sessions.revoke({ sessionId: session.id }, 'revoked');
    }
    const session = await this.#create(userId, clientId, context);
    return { ...this.#describe(session), token: this.#tokenOf(session) };
  }

  /** Management: the user's live tokens, values left out. */
  async listTokens(userId: string): Promise<PerClientToken[]> {
    await this.ready;
    return (await this.#sessions.list(userId)).map((session) => this.#describe(session));
  }

  /** Management: revokes one of the user's tokens; another user's is `not_found`. */
  async deleteToken(userId: string, id: string): Promise<void> {
    await this.ready;
    await this.#sessions.revokeOwn(userId, id);
  }

  /** The live token of (user, client), or null: what a login response hook includes. */
  async refreshTokenFor(userId: string, clientId: string): Promise<string | null> {
    await this.ready;
    const session = (await this.#sessions.list(userId)).find((candidate) => candidate.clientId === clientId);
    return session ? this.#tokenOf(session) : null;
  }

  /** A new access token; the long-running token is answered unchanged. */
  async refresh(token: string, context: RefreshContext = {}): Promise<TokenPair> {
    await this.ready;
    const parsed = parseRefreshToken(token);
    const session = await this.#sessions.authentic(parsed);
    // These tokens never rotate: only generation 0 was ever issued.
    if (parsed.generation !== 0) throw new BatonError('invalid_token', 'Unknown refresh token');
    const expected = context.expectedClientId;
    if (expected !== undefined && session.clientId !== expected) {
      throw new BatonError('invalid_request', 'client_id does not match the refresh token');
    }
    context.authorizeClient?.(session.clientId);
    const user = await this.o.loadUser(session.userId);
    if (!user || user.disabled) {
      await this.#sessions.revoke({ userId: session.userId }, 'user_disabled');
      throw new BatonError('user_disabled', 'This account is disabled');
    }
    await storeCall(() => this.o.store.touchSession(session.id, this.o.clock.now()));
    return this.#pair(session, user, false, context);
  }

  /** The DRF delegate endpoint: a refresh bound to its client. */
  delegate(
    refreshToken: string,
    clientId: string,
    context: Omit<RefreshContext, 'expectedClientId'> = {},
  ): Promise<TokenPair> {
    return this.refresh(refreshToken, { ...context, expectedClientId: clientId });
  }

  /** Revokes the session of a live access or refresh token; a dead one is refused and changes nothing. */
  async logout(token: string): Promise<void> {
    await this.ready;
    const session = await this.#sessions.actingFor(token);
    await this.#sessions.revoke({ sessionId: session.id }, 'logout');
  }

  async logoutAll(token: string): Promise<number> {
    await this.ready;
    const session = await this.#sessions.actingFor(token);
    return (await this.#sessions.revoke({ userId: session.userId }, 'logout_all')).length;
  }

  async listSessions(userId: string, currentSessionId?: string): Promise<SessionInfo[]> {
    await this.ready;
    return this.#sessions.listInfo(userId, currentSessionId);
  }

  async revokeSession(userId: string, sessionId: string): Promise<void> {
    return this.deleteToken(userId, sessionId);
  }

  async introspect(token: string, _hint?: 'access_token' | 'refresh_token'): Promise<IntrospectionResult> {
    await this.ready;
    if (looksLikeJwt(token)) return this.tokens.introspect(token);
    try {
      const session = await this.#sessions.authentic(parseRefreshToken(token));
      return {
        active: true,
        token_type: 'refresh_token',
        sub: session.userId,
        sid: session.id,
        client_id: session.clientId ?? this.o.defaultClientId,
        iss: this.o.issuer,
        iat: Math.floor(session.createdAt / 1000),
        ...(session.expiresAt === null ? {} : { exp: Math.floor(session.expiresAt / 1000) }),
      };
    } catch (error) {
      if (isBatonError(error) && error.code === 'store_unavailable') throw error;
      return { active: false };
    }
  }

  /** Implicit refresh (cookie mode): a new access token for a live session, never past its expiry. */
  async reissueAccessToken(accessToken: string, context: RequestContext = {}): Promise<TokenPair> {
    const claims = this.verifyAccessToken(accessToken);
    const session = await this.#sessions.live(claims.sid);
    const user = await this.revalidateUser(session.userId);
    return { ...this.#pair(session, user, false, context), refreshToken: '' };
  }

  async #create(userId: string, clientId: string, context: RequestContext): Promise<SessionRecord> {
    const now = this.o.clock.now();
    const id = newSessionId();
    const secretSalt = newSecretSalt();
    const ttl = this.o.refreshTokenTtl;
    const token = this.#deriver.token(id, secretSalt, 0);
    const session: SessionRecord = {
      id,
      userId,
      clientId,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: ttl === null ? null : now + ttl * 1000,
      userAgent: context.userAgent?.slice(0, 512) || null,
      ip: context.ip?.slice(0, 512) || null,
      secretSalt,
      tokenHash: hashSecret(token.slice(id.length + 1)),
      generation: 0,
      rotatedAt: null,
      revokedAt: null,
      revokedReason: null,
    };
    await storeCall(() => this.o.store.createSession(session));
    return session;
  }

  #tokenOf(session: SessionRecord): string {
    return this.#deriver.token(session.id, session.secretSalt, 0);
  }

  #describe(session: SessionRecord): PerClientToken {
    return {
      id: session.id,
      clientId: session.clientId ?? this.o.defaultClientId,
      userId: session.userId,
      createdAt: new Date(session.createdAt),
      lastUsedAt: new Date(session.lastUsedAt),
      expiresAt: session.expiresAt === null ? null : new Date(session.expiresAt),
    };
  }

  #pair(session: SessionRecord, user: User, fresh: boolean | number, context: RequestContext): TokenPair {
    const claims = {
      sub: session.userId,
      sid: session.id,
      client_id: session.clientId ?? this.o.defaultClientId,
    };
    // No access token outlives its long-running token (implicit refresh included).
    const ttl = this.o.accessTokenTtl;
    const seconds = Math.floor(this.o.clock.now() / 1000);
    const exp =
      session.expiresAt === null
        ? seconds + ttl
        : Math.min(seconds + ttl, Math.floor(session.expiresAt / 1000));
    return this.pair(claims, user, this.#tokenOf(session), session.expiresAt, fresh, context, { exp });
  }
}
