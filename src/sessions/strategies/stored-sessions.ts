import type { RevocationReason, SessionRecord } from '../../stores/types.ts';
import { toSubject } from '../../tokens/access-token.ts';
import type { AccessClaims, Freshness } from '../../tokens/types.ts';
import type { ResolvedStrategyOptions } from '../options.ts';
import { type ParsedRefreshToken, parseRefreshToken, RefreshTokenDeriver } from '../refresh-token.ts';
import { SessionRecords } from '../session-records.ts';
import type { BatonUser, RequestContext, SessionInfo, TokenDescription, TokenPair } from '../types.ts';
import { type ActingSession, type PairRequest, type SessionFacts, StrategyBase } from './base.ts';

/**
 * The strategies that keep a row per session in the store, listed per user
 * (rotating, per-client): their refresh tokens are `<sessionId>.<secret>`
 * derived from the refresh key, so that the store holds only a hash. They
 * share everything about sessions but how a refresh answers.
 */
export abstract class StoredSessionStrategy<
  User extends BatonUser,
  Resolved extends ResolvedStrategyOptions<User> & { refreshKey: string | Uint8Array },
> extends StrategyBase<User, Resolved, SessionRecord> {
  protected readonly sessions: SessionRecords;

  constructor(resolved: Resolved, timing: { idleTimeout: number | null; graceWindow: number }) {
    super(resolved);
    this.sessions = new SessionRecords(
      this.store,
      this.tokens,
      new RefreshTokenDeriver(resolved.refreshKey),
      resolved.clock,
      timing.idleTimeout,
      timing.graceWindow,
      this.logger,
    );
  }

  /** Opens a session row for the user and answers its first tokens. */
  protected async openSession(
    user: User,
    clientId: string | null,
    context: RequestContext,
    jkt: string | undefined,
  ): Promise<TokenPair> {
    const { session, refreshToken } = await this.sessions.open({
      userId: toSubject(user.id),
      clientId,
      ttl: this.o.refreshTokenTtl,
      context,
      jkt: this.sessionBinding(jkt, context),
    });
    return this.sessionPair(session, user, refreshToken, this.loginFreshness(), context, jkt);
  }

  /** An access token for a stored session, never outliving it; bound to `jkt` when given (`cnf.jkt`). */
  protected sessionPair(
    session: SessionRecord,
    user: User,
    refreshToken: string,
    fresh: Freshness,
    context: RequestContext,
    jkt: string | undefined,
  ): TokenPair {
    const claims = {
      sub: session.userId,
      sid: session.id,
      client_id: session.clientId ?? this.o.defaultClientId,
    };
    const request: PairRequest = { refreshToken, refreshExpiresAt: session.expiresAt, fresh, jkt };
    const strategyClaims = this.sessionClaims(session);
    if (strategyClaims !== undefined) request.strategyClaims = strategyClaims;
    return this.pair(claims, user, request, context);
  }

  /** The claims a stored session's access tokens carry besides the common ones. */
  protected sessionClaims(_session: SessionRecord): Record<string, unknown> | undefined {
    return undefined;
  }

  /** Reauth: the session must still be live; it is marked used. */
  protected override async reauthSession(
    accessToken: string,
    password: string,
    context: RequestContext,
  ): Promise<TokenPair> {
    const claims = this.verifyAccessToken(accessToken);
    // A dead session is refused before the password is checked.
    const session = await this.sessions.live(claims.sid);
    const jkt = this.dpopBinding(this.boundKeyOf(session, claims), context, 'reauth', claims);
    const user = await this.checkPasswordOf(session.userId, session.id, password, context);
    await this.sessions.touch(session);
    return this.sessionPair(session, user, '', this.loginFreshness(), context, jkt);
  }

  /** The key an access token of a session is bound to: the session's, or (a confidential client's session) the token's own. */
  protected boundKeyOf(session: SessionRecord, claims?: AccessClaims): string | null {
    return session.jkt ?? claims?.cnf?.jkt ?? null;
  }

  /** Implicit refresh (cookie mode): a new, non-fresh access token for a live session, never past its expiry. */
  override async reissueAccessToken(accessToken: string, context: RequestContext = {}): Promise<TokenPair> {
    const claims = this.verifyAccessToken(accessToken);
    const session = await this.sessions.live(claims.sid);
    this.assertRenewable(claims, session);
    const jkt = this.dpopBinding(this.boundKeyOf(session, claims), context, 'refresh', claims);
    const user = await this.revalidateUser(session.userId, session.id, context);
    return this.answered(
      'refresh',
      this.sessionPair(session, user, '', false, context, jkt),
      context,
      'implicit',
    );
  }

  /** Whether an access token of this session may still be renewed implicitly (throws `session_expired` if not). */
  protected assertRenewable(_claims: AccessClaims, _session: SessionRecord): void {}

  /** A disabled user loses every session, access tokens included. */
  protected override async userDisabled(userId: string): Promise<string[]> {
    return idsOf(await this.sessions.revoke({ userId }, 'user_disabled'));
  }

  protected async sessionActingFor(token: string): Promise<ActingSession<SessionRecord>> {
    const { session, claims } = await this.sessions.actingFor(token);
    return { session, bound: this.boundKeyOf(session, claims) };
  }

  protected async endSession(session: SessionRecord): Promise<void> {
    await this.sessions.revoke({ sessionId: session.id }, 'logout');
  }

  protected override async endEverySession(session: SessionRecord): Promise<string[]> {
    return idsOf(await this.sessions.revoke({ userId: session.userId }, 'logout_all'));
  }

  protected factsOf(session: SessionRecord): SessionFacts {
    return {
      userId: session.userId,
      sessionId: session.id,
      clientId: session.clientId ?? this.o.defaultClientId,
    };
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
  override async listSessions(userId: string, currentSessionId?: string): Promise<SessionInfo[]> {
    await this.ready;
    return this.sessions.listInfo(userId, currentSessionId);
  }

  override async revokeSession(
    userId: string,
    sessionId: string,
    context: RequestContext = {},
  ): Promise<void> {
    await this.ready;
    const session = await this.sessions.revokeOwn(userId, sessionId);
    this.sessionRevoked(session, 'revoked', context);
  }

  /** The event of one session revoked by its id. */
  protected sessionRevoked(session: SessionRecord, reason: RevocationReason, context: RequestContext): void {
    this.emit({ type: 'session_revoked', reason, ...this.factsOf(session), ...this.requestFacts(context) });
  }

  /**
   * Admin: revokes every session of a user and their access tokens, at once.
   *
   * @example
   * ```ts
   * await sessions.revokeUser('42'); // e.g. when an account is disabled
   * ```
   */
  override async revokeUser(
    userId: string,
    reason: RevocationReason = 'admin',
    context: RequestContext = {},
  ): Promise<number> {
    await this.ready;
    const subject = toSubject(userId);
    const ended = idsOf(await this.sessions.revoke({ userId: subject }, reason));
    this.emit({
      type: 'user_revoked',
      reason,
      userId: subject,
      sessionId: null,
      clientId: context.clientId ?? null,
      count: ended.length,
      sessionIds: ended,
      ...this.requestFacts(context),
    });
    return ended.length;
  }

  /** An opaque refresh token of a live session, at its current generation. */
  protected override async describeRefreshToken(token: string): Promise<TokenDescription> {
    const parsed = parseRefreshToken(token);
    const session = await this.sessions.authentic(parsed);
    this.assertCurrent(parsed, session);
    return {
      tokenType: 'refresh_token',
      claims: {
        sub: session.userId,
        sid: session.id,
        client_id: session.clientId ?? this.o.defaultClientId,
        iss: this.o.issuer,
        iat: Math.floor(session.createdAt / 1000),
        ...(session.expiresAt === null ? {} : { exp: Math.floor(session.expiresAt / 1000) }),
      },
    };
  }

  /** Refuses (`invalid_token`) a genuine token that is not its session's current one. */
  protected abstract assertCurrent(parsed: ParsedRefreshToken, session: SessionRecord): void;

  /** Deletes expired sessions and revocations; revoked sessions are kept a day to answer `token_revoked`. */
  deleteExpired(): Promise<number> {
    return this.sessions.deleteExpired();
  }
}

function idsOf(sessions: readonly SessionRecord[]): string[] {
  return sessions.map((session) => session.id);
}
