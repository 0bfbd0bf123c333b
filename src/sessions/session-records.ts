import type { Clock } from '../core/clock.ts';
import { BatonError } from '../core/errors.ts';
import { type BatonLogger, defaultLogger, safeLog } from '../core/logger.ts';
import type { RevocationReason, RotateResult, SessionRecord } from '../stores/types.ts';
import type { AccessClaims } from '../tokens/types.ts';
import type { AccessTokens } from './access-tokens.ts';
import {
  hashSecret,
  looksLikeJwt,
  newSecretSalt,
  newSessionId,
  type ParsedRefreshToken,
  parseRefreshToken,
  type RefreshTokenDeriver,
} from './refresh-token.ts';
import type { StoreCalls } from './store-calls.ts';
import type { RequestContext, SessionInfo } from './types.ts';

/** What opening a session needs besides the request that asks for it. */
export interface NewSession {
  userId: string;
  clientId: string | null;
  /** Seconds until the absolute expiry, or null for none. */
  ttl: number | null;
  context: RequestContext;
  /** The DPoP key thumbprint its refresh tokens are bound to, or null. */
  jkt?: string | null;
}

/** Longest user agent or IP kept with a session: the client fills them. */
const MAX_REQUEST_FIELD = 512;

/**
 * The stored-session rules shared by the strategies that keep a session row
 * per refresh token (rotating, per-client): which token names which session,
 * when a session is usable, revoking (store, then this process's revoked
 * set), listing.
 */
export class SessionRecords {
  /** Whether the refresh-key warning was logged (once per manager: see `authentic`). */
  #foreignTokenLogged = false;

  constructor(
    private readonly store: StoreCalls,
    private readonly tokens: AccessTokens,
    private readonly deriver: RefreshTokenDeriver,
    private readonly clock: Clock,
    /** Seconds, or null for no idle timeout. */
    private readonly idleTimeout: number | null,
    /** Seconds a just-rotated token still stands for its session (0: strategies that never rotate). */
    private readonly graceWindow = 0,
    /** The manager's logger: `authentic` warns there once about tokens that do not derive with this refresh key. */
    private readonly logger: BatonLogger = defaultLogger,
  ) {}

  get(id: string): Promise<SessionRecord | null> {
    return this.store.getSession(id);
  }

  /** Creates a session row at generation 0 and answers it with its first refresh token. */
  async open(request: NewSession): Promise<{ session: SessionRecord; refreshToken: string }> {
    const now = this.clock.now();
    const id = newSessionId();
    const secretSalt = newSecretSalt();
    const refreshToken = this.deriver.token(id, secretSalt, 0);
    const session: SessionRecord = {
      id,
      userId: request.userId,
      clientId: request.clientId,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: request.ttl === null ? null : now + request.ttl * 1000,
      userAgent: requestField(request.context.userAgent),
      ip: requestField(request.context.ip),
      secretSalt,
      tokenHash: hashSecret(refreshToken.slice(id.length + 1)),
      generation: 0,
      rotatedAt: null,
      revokedAt: null,
      revokedReason: null,
      jkt: request.jkt ?? null,
    };
    await this.store.createSession(session);
    return { session, refreshToken };
  }

  /** The refresh token of a session at a generation (derived, never stored). */
  tokenOf(session: SessionRecord, generation = session.generation): string {
    return this.deriver.token(session.id, session.secretSalt, generation);
  }

  /**
   * Rotates the session from the generation of `parsed` to the next, atomically:
   * exactly one of many concurrent callers gets `rotated: true` and the successor.
   */
  async rotate(
    parsed: ParsedRefreshToken,
    session: SessionRecord,
  ): Promise<{ result: RotateResult; successor: string }> {
    const successor = this.tokenOf(session, parsed.generation + 1);
    const result = await this.store.rotateSession({
      id: session.id,
      expectedGeneration: parsed.generation,
      expectedTokenHash: hashSecret(parsed.secret),
      newTokenHash: hashSecret(successor.slice(session.id.length + 1)),
      now: this.clock.now(),
    });
    return { result, successor };
  }

  /** Marks a session used now (grace answers, reauth, non-rotating refresh). */
  touch(session: SessionRecord): Promise<void> {
    return this.store.touchSession(session.id, this.clock.now());
  }

  /** Deletes expired sessions and revocations; revoked sessions are kept a day to answer `token_revoked`. */
  deleteExpired(): Promise<number> {
    const now = this.clock.now();
    return this.store.deleteExpired({ now, revokedBefore: now - 86_400_000 });
  }

  /** The usable session a refresh token names, if the token was really issued for it (any generation). */
  async authentic(parsed: ParsedRefreshToken): Promise<SessionRecord> {
    const session = await this.get(parsed.sessionId);
    // A guessed secret must never let anyone disturb a session: it is only `invalid_token`.
    if (!session) throw new BatonError('invalid_token', 'Unknown refresh token');
    if (!this.deriver.isAuthentic(parsed, session.secretSalt)) {
      this.foreignToken(session);
      // The same answer as an unknown session: the client cannot tell a wrong secret from a wrong id.
      throw new BatonError('invalid_token', 'Unknown refresh token');
    }
    this.assertUsable(session);
    return session;
  }

  /**
   * A token names a session that exists, but its secret does not derive with
   * this manager's refresh key. The usual cause is a deployment mistake that
   * looks like an outage: processes sharing a store but not the refresh key,
   * so every refresh routed to the "other" process is `invalid_token` and
   * logs its user out. A forged token with a known session id (an access
   * token's `sid`) does the same, so it is worded as a question, and logged
   * once per manager: neither a misconfiguration nor someone guessing
   * secrets can flood the log.
   */
  private foreignToken(session: SessionRecord): void {
    if (this.#foreignTokenLogged) return;
    this.#foreignTokenLogged = true;
    safeLog(
      this.logger,
      'warn',
      { sessionId: session.id, userId: session.userId },
      'baton: refresh tokens for existing sessions fail authentication: do all processes share the same refreshKey? ' +
        '(a forged or guessed token does this too; the client got invalid_token; logged once per manager)',
    );
  }

  assertUsable(session: SessionRecord): void {
    if (session.revokedAt !== null) {
      throw new BatonError('token_revoked', 'This session has been revoked');
    }
    const now = this.clock.now();
    if ((session.expiresAt !== null && session.expiresAt <= now) || this.idleExpired(session, now)) {
      throw new BatonError('session_expired', 'This session has expired; log in again');
    }
  }

  idleExpired(session: SessionRecord, now: number): boolean {
    return this.idleTimeout !== null && session.lastUsedAt + this.idleTimeout * 1000 <= now;
  }

  async live(sessionId: string): Promise<SessionRecord> {
    const session = await this.get(sessionId);
    if (!session) throw new BatonError('token_revoked', 'This session no longer exists');
    this.assertUsable(session);
    return session;
  }

  /**
   * The session a token may act for (logout, logout-all, revocation): a
   * verified access token of a live session, or a refresh token that is its
   * live session's current one (or the one just rotated out, inside the grace
   * window). A revoked, expired or rotated-out token is refused, so that it
   * can never disturb the user's other sessions nor its successor. An access
   * token's claims come along (its DPoP binding, `cnf.jkt`).
   */
  async actingFor(token: string): Promise<{ session: SessionRecord; claims?: AccessClaims }> {
    if (looksLikeJwt(token)) {
      const claims = this.tokens.verify(token);
      return { session: await this.live(claims.sid), claims };
    }
    const parsed = parseRefreshToken(token);
    const session = await this.authentic(parsed);
    if (parsed.generation !== session.generation && !this.inGrace(parsed, session, this.clock.now())) {
      throw new BatonError('invalid_token', 'This refresh token is no longer current');
    }
    return { session };
  }

  /** The token rotated out last, less than the grace window ago. */
  inGrace(parsed: ParsedRefreshToken, session: SessionRecord, now: number): boolean {
    return (
      parsed.generation === session.generation - 1 &&
      session.rotatedAt !== null &&
      now - session.rotatedAt < this.graceWindow * 1000
    );
  }

  async revoke(
    target: { sessionId: string } | { userId: string },
    reason: RevocationReason,
  ): Promise<SessionRecord[]> {
    const now = this.clock.now();
    const revocationExpiresAt = this.tokens.sessionHorizon();
    const revoked = await this.store.revokeSessions({ ...target, reason, now, revocationExpiresAt });
    this.tokens.markSessionsRevoked(
      revoked.map((session) => session.id),
      revocationExpiresAt,
    );
    return revoked;
  }

  /** Revokes one of the user's sessions, answering it; another user's session is `not_found`. */
  async revokeOwn(
    userId: string,
    sessionId: string,
    reason: RevocationReason = 'revoked',
  ): Promise<SessionRecord> {
    const session = await this.get(sessionId);
    if (!session || session.userId !== userId || session.revokedAt !== null) {
      throw new BatonError('not_found', 'No such session');
    }
    await this.revoke({ sessionId }, reason);
    return session;
  }

  /** Live sessions of a user, newest first. */
  async list(userId: string): Promise<SessionRecord[]> {
    const now = this.clock.now();
    const sessions = await this.store.listSessions(userId, now);
    return sessions.filter((session) => !this.idleExpired(session, now));
  }

  async listInfo(userId: string, currentSessionId?: string): Promise<SessionInfo[]> {
    return (await this.list(userId)).map((session) => ({
      id: session.id,
      clientId: session.clientId,
      createdAt: new Date(session.createdAt),
      lastUsedAt: new Date(session.lastUsedAt),
      expiresAt: session.expiresAt === null ? null : new Date(session.expiresAt),
      userAgent: session.userAgent,
      ip: session.ip,
      current: session.id === currentSessionId,
    }));
  }
}

function requestField(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value === '') return null;
  return value.length > MAX_REQUEST_FIELD ? value.slice(0, MAX_REQUEST_FIELD) : value;
}
