import type { Clock } from '../../core/clock.ts';
import { BatonError } from '../../core/errors.ts';
import type { BatonLogger } from '../../core/logger.ts';
import type { RevocationReason } from '../../stores/types.ts';
import { toSubject } from '../../tokens/access-token.ts';
import { type DpopMode, DpopVerifier } from '../../tokens/dpop.ts';
import type { KeySet } from '../../tokens/keys.ts';
import type { AccessClaims, Freshness } from '../../tokens/types.ts';
import { AccessTokens, describeOrNull, ignoringInvalidToken } from '../access-tokens.ts';
import { type CredentialRefusal, Credentials, usernameOf } from '../credentials.ts';
import {
  type AuthEvent,
  type AuthEventHub,
  type AuthEventOf,
  type AuthEvents,
  dpopRejectedDraft,
  type EventDraft,
  eventsFromOptions,
  type PasswordStep,
  requestFacts,
  storeUnavailableDraft,
} from '../events.ts';
import { attachInternals } from '../instrumentation.ts';
import type { ResolvedStrategyOptions } from '../options.ts';
import { looksLikeJwt } from '../refresh-token.ts';
import { StoreCalls, type StoreFailure } from '../store-calls.ts';
import type {
  AuthManager,
  BatonUser,
  DpopRejection,
  DpopStep,
  RefreshContext,
  RequestContext,
  RevokeContext,
  SessionInfo,
  StrategyCapabilities,
  StrategyName,
  TokenDescription,
  TokenPair,
  TokenTypeHint,
} from '../types.ts';

/** A strategy's capabilities: those it names, and no others. */
export function capabilities(can: Partial<StrategyCapabilities>): StrategyCapabilities {
  return Object.freeze({
    listSessions: false,
    logoutAll: false,
    revokeUser: false,
    implicitRefresh: false,
    clientTokens: false,
    ...can,
  });
}

/** The claims that name a session in every access token. */
export type SessionClaims = Pick<AccessClaims, 'sub' | 'sid' | 'client_id'>;

/** Who and which session an event is about, as every strategy can tell of its sessions. */
export interface SessionFacts {
  userId: string;
  sessionId: string;
  /** The session's `client_id` claim. */
  clientId: string;
}

/** The steps whose event is told by the tokens they answer. */
type PairEvent = 'login' | 'refresh' | 'refresh_grace_reuse' | 'reauth';

/** How `pair` mints: the refresh token to hand back and the access token's lifetime rules. */
export interface PairRequest {
  /** The refresh token to answer, `''` when it is not re-sent (reauth, implicit refresh). */
  refreshToken: string;
  /** When the refresh credential expires (ms), for `refreshExpiresIn`; null: never. */
  refreshExpiresAt: number | null;
  fresh: Freshness;
  /** No access token outlives this instant (ms), e.g. the session's absolute expiry. Default `refreshExpiresAt`. */
  notAfter?: number | null;
  jti?: string;
  /** The strategy's own claims (`rf_gen`, `rf_exp`, ...), set after the checks on user claims. */
  strategyClaims?: Record<string, unknown>;
  /** The DPoP key the access token is bound to (`cnf.jkt`; token type `DPoP`), from `dpopBinding`. */
  jkt?: string | undefined;
}

/**
 * The session a token acts for (logout, logout-all, revocation), and the DPoP
 * key that token is bound to (null: unbound): an access token's `cnf.jkt`, a
 * refresh credential's binding (the session's key, a refresh JWT's `cnf.jkt`).
 */
export interface ActingSession<Session> {
  session: Session;
  bound: string | null;
}

/** What a DPoP refusal is about, for its event. */
export interface DpopSubject {
  userId?: string | null;
  sessionId?: string | null;
  clientId?: string | null;
}

/**
 * The family every strategy belongs to. It owns what they share: the login
 * and reauth flow, the user check at refresh, access tokens (minting,
 * verification, the revoked set), the store (through `StoreCalls`, the one
 * way to it), logout and logout-all from a live token, revocation and
 * introspection, and a 400 that says why for what a strategy cannot do
 * (its `capabilities`).
 *
 * A strategy says how it refreshes and what a session is to it (`Session`:
 * a stored row, a refresh JWT's claims, ...): which session a token acts for
 * and how that session ends.
 */
export abstract class StrategyBase<
  User extends BatonUser,
  Resolved extends ResolvedStrategyOptions<User>,
  Session,
> implements AuthManager<User>
{
  abstract readonly strategy: StrategyName;
  abstract readonly capabilities: StrategyCapabilities;
  readonly keys: KeySet;
  protected readonly o: Resolved;
  protected readonly store: StoreCalls;
  protected readonly tokens: AccessTokens;
  protected readonly credentials: Credentials<User>;
  /**
   * The security events of every step (README "Events and logging"):
   * `manager.events.on(listener)` or `.on(type, listener)`, answering an
   * unsubscribe. Listeners run after the step answered, never awaited.
   */
  readonly events: AuthEvents;
  /** The `logger` option (as a child bound to `{ component: 'baton' }`), or the default: errors to `console.error`. */
  readonly logger: BatonLogger;
  readonly #events: AuthEventHub;
  /** Why the capabilities this strategy lacks are missing, and what to use instead. */
  protected abstract readonly unsupportedBecause: string;
  /**
   * DPoP proof checks (RFC 9449), with the store as the replay cache: present
   * when the `dpop` option's mode is not `off`.
   */
  readonly dpop?: DpopVerifier;
  /** The `dpop` option's mode. */
  readonly dpopMode: DpopMode;

  constructor(resolved: Resolved, dpopUnsupported?: string) {
    this.o = resolved;
    // Listeners first: the store is called (the revoked set loads) as soon as it is wrapped.
    const { logger, hub } = eventsFromOptions(resolved);
    this.logger = logger;
    this.#events = hub;
    this.events = hub;
    // Deferred a microtask: a store that throws synchronously would report during construction.
    this.store = new StoreCalls(resolved.store, (failure) => queueMicrotask(() => this.storeFailed(failure)));
    this.tokens = new AccessTokens({ ...resolved, store: this.store });
    this.keys = this.tokens.keys;
    this.credentials = new Credentials(resolved);
    // For baton-auth/otel: the store calls and the revoked set, which the public API does not show.
    attachInternals(this, {
      observeStore: (observer) => this.store.observe(observer),
      revokedSetSize: () => this.tokens.revokedSetSize(),
    });
    const { mode = 'off', ...verifierOptions } = resolved.dpop ?? {};
    this.dpopMode = mode;
    if (mode !== 'off') {
      if (dpopUnsupported !== undefined) {
        throw new BatonError('invalid_options', `Invalid options: dpop: ${dpopUnsupported}`);
      }
      if (!this.store.remembersProofIds) {
        throw new BatonError(
          'invalid_options',
          'Invalid options: dpop needs a store with rememberProofId (the replay cache of proofs; every Baton store has it)',
        );
      }
      this.dpop = new DpopVerifier({ ...verifierOptions, replay: this.store, clock: resolved.clock });
    }
  }

  /** Resolves once the revoked set is loaded from the store (a failed load is retried by the next caller). */
  get ready(): Promise<void> {
    return this.tokens.ready;
  }

  get options(): Readonly<Resolved> {
    return this.o;
  }

  get clock(): Clock {
    return this.o.clock;
  }

  /** The `iss` of its access tokens. */
  get issuer(): string {
    return this.o.issuer;
  }

  /**
   * Checks a username and password with `verifyCredentials` and opens a
   * session. Fails with `invalid_credentials`, `user_disabled` or
   * `too_many_attempts` (rate limit).
   *
   * @example
   * ```ts
   * const pair = await sessions.login('thedude', 'abides', { userAgent: 'curl/8', ip: '203.0.113.7' });
   * pair.accessToken; // a JWT, `typ: at+jwt`
   * pair.refreshToken; // the strategy's refresh credential
   * pair.expiresIn; // seconds, e.g. 900
   * ```
   */
  async login(username: string, password: string, context: RequestContext = {}): Promise<TokenPair> {
    await this.ready;
    // Before the password: `required` mode refuses a login without a proof whatever the password.
    const jkt = this.dpopBinding(null, context, 'login', { clientId: context.clientId ?? null });
    const user = await this.checkPassword(username, password, context, 'login');
    return this.answered('login', await this.startSession(user, context, jkt), context, 'password');
  }

  /** Opens a session for a user you have authenticated yourself. */
  async issueSession(user: User, context: RequestContext = {}): Promise<TokenPair> {
    await this.ready;
    const jkt = this.dpopBinding(null, context, 'login', { clientId: context.clientId ?? null });
    return this.answered('login', await this.startSession(user, context, jkt), context, 'issued');
  }

  /**
   * How the strategy opens a session for an authenticated user (login,
   * `issueSession`); `jkt` is the key of the request's DPoP proof, if any
   * (`sessionBinding` tells whether the session itself is bound to it).
   */
  protected abstract startSession(
    user: User,
    context: RequestContext,
    jkt: string | undefined,
  ): Promise<TokenPair>;

  abstract refresh(refreshToken: string, context?: RefreshContext): Promise<TokenPair>;

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
    return this.tokens.verify(token);
  }

  isFresh(claims: AccessClaims): boolean {
    return this.tokens.isFresh(claims);
  }

  /** Checks the password again and mints a fresh access token for the same session (refresh token not re-sent). */
  async reauthenticate(
    accessToken: string,
    password: string,
    context: RequestContext = {},
  ): Promise<TokenPair> {
    return this.answered('reauth', await this.reauthSession(accessToken, password, context), context, null);
  }

  /** Reauth's checks and answer: by default the token's own user's password, for a fresh token. */
  protected async reauthSession(
    accessToken: string,
    password: string,
    context: RequestContext,
  ): Promise<TokenPair> {
    const claims = this.verifyAccessToken(accessToken);
    const user = await this.checkPasswordOf(claims.sub, claims.sid, password, context);
    return this.reauthPair(claims, user, context);
  }

  /** The reauth answer: by default a fresh token for the same session, nothing else renewed. */
  protected async reauthPair(claims: AccessClaims, user: User, context: RequestContext): Promise<TokenPair> {
    const jkt = this.dpopBinding(claims.cnf?.jkt ?? null, context, 'reauth', claims);
    return this.pair(
      claims,
      user,
      { refreshToken: '', refreshExpiresAt: null, fresh: this.loginFreshness(), jkt },
      context,
    );
  }

  /** The password check of reauth: the password must be that of the token's own user. */
  protected async checkPasswordOf(
    userId: string,
    sessionId: string,
    password: string,
    context: RequestContext,
  ): Promise<User> {
    const known = await this.o.loadUser(userId);
    const username = known ? usernameOf(known, toSubject(known.id)) : userId;
    const session = { userId, sessionId };
    const user = await this.checkPassword(username, password, context, 'reauth', session);
    if (toSubject(user.id) !== userId) {
      this.#refused(
        { type: 'login_failed', reason: 'wrong_user', userId },
        username,
        context,
        'reauth',
        session,
      );
      throw new BatonError('invalid_credentials', 'Invalid username or password');
    }
    return user;
  }

  /** The shared password check (rate limit first), its refusals reported as `login_failed` and `rate_limited`. */
  protected checkPassword(
    username: string,
    password: string,
    context: RequestContext,
    step: PasswordStep,
    session?: { userId: string; sessionId: string },
  ): Promise<User> {
    return this.credentials.check(username, password, context, (refusal) =>
      this.#refused(refusal, username, context, step, session),
    );
  }

  #refused(
    refusal: CredentialRefusal,
    username: string,
    context: RequestContext,
    step: PasswordStep,
    session: { userId: string; sessionId: string } | undefined,
  ): void {
    const about = {
      username,
      step,
      userId: session?.userId ?? null,
      sessionId: session?.sessionId ?? null,
      clientId: context.clientId ?? null,
      ...this.requestFacts(context),
    };
    if (refusal.type === 'rate_limited') {
      this.emit({ ...about, type: 'rate_limited', reason: refusal.limit, retryAfter: refusal.retryAfter });
    } else {
      this.emit({
        ...about,
        type: 'login_failed',
        reason: refusal.reason,
        userId: refusal.userId ?? about.userId,
      });
    }
  }

  /** `fresh` of a token minted by a password check (login, reauth). */
  protected loginFreshness(): Freshness {
    return this.tokens.loginFreshness(this.o.freshness);
  }

  /** Cookie mode's implicit refresh; capability `implicitRefresh`. */
  async reissueAccessToken(_accessToken: string, _context?: RequestContext): Promise<TokenPair> {
    this.unsupported('Implicit refresh');
  }

  /** An access token for a session, with the refresh token to hand back. */
  protected pair(
    session: SessionClaims,
    user: User,
    request: PairRequest,
    context: RequestContext,
  ): TokenPair {
    const now = this.o.clock.now();
    const seconds = Math.floor(now / 1000);
    const notAfter = request.notAfter === undefined ? request.refreshExpiresAt : request.notAfter;
    // No access token outlives its session (implicit refresh included).
    const exp =
      notAfter === null
        ? seconds + this.o.accessTokenTtl
        : Math.min(seconds + this.o.accessTokenTtl, Math.floor(notAfter / 1000));
    const minted = this.tokens.mint({
      user,
      extraClaims: context.extraClaims,
      sub: session.sub,
      sid: session.sid,
      clientId: session.client_id,
      fresh: request.fresh,
      exp,
      ...(request.jti === undefined ? {} : { jti: request.jti }),
      ...(request.strategyClaims === undefined ? {} : { strategyClaims: request.strategyClaims }),
      ...(request.jkt === undefined ? {} : { jkt: request.jkt }),
    });
    const { refreshExpiresAt } = request;
    return {
      accessToken: minted.token,
      refreshToken: request.refreshToken,
      tokenType: request.jkt === undefined ? 'Bearer' : 'DPoP',
      expiresIn: exp - seconds,
      refreshExpiresIn:
        refreshExpiresAt === null ? null : Math.max(0, Math.round((refreshExpiresAt - now) / 1000)),
      sessionId: session.sid,
      claims: minted.claims,
    };
  }

  /**
   * Users are checked again at refresh: a missing or disabled one gets
   * `user_disabled`, and the strategy ends what it can of their sessions.
   */
  protected async revalidateUser(userId: string, sid: string, context: RequestContext): Promise<User> {
    const user = await this.o.loadUser(userId);
    if (!user || user.disabled) {
      const ended = await this.userDisabled(userId, sid);
      this.emit({
        type: 'user_revoked',
        reason: 'user_disabled',
        userId,
        sessionId: sid,
        clientId: context.clientId ?? null,
        count: ended.length,
        sessionIds: ended,
        ...this.requestFacts(context),
      });
      throw new BatonError('user_disabled', 'This account is disabled');
    }
    return user;
  }

  /**
   * What a strategy revokes when refresh finds the user disabled, answering
   * the ids of the sessions it ended; by default none (the next refresh refuses too).
   */
  protected async userDisabled(_userId: string, _sid: string): Promise<string[]> {
    return [];
  }

  /**
   * Refuses a refresh whose session belongs to another client than the
   * token endpoint's (`invalid_request`), then lets the HTTP layer demand a
   * confidential client's authentication. `recorded` is the session's client,
   * null when it named none.
   */
  protected authorizeRefresh(recorded: string | null, context: RefreshContext): void {
    const expected = context.expectedClientId;
    if (expected !== undefined && recorded !== null && recorded !== expected) {
      throw new BatonError('invalid_request', 'client_id does not match the refresh token');
    }
    context.authorizeClient?.(recorded);
  }

  // ------------------------------------------------------------ DPoP

  /**
   * The key a new access token is bound to (`cnf.jkt`), undefined for a
   * Bearer token. `bound` is the key the credential presented is bound to
   * (the session, the refresh token, the access token), null when unbound:
   * then the request's proof must be by that key. An unbound credential gets
   * the key of the request's proof, if any; `required` mode refuses one
   * without. Refusals are `invalid_dpop_proof`, reported as `dpop_rejected`,
   * and happen before anything changes.
   */
  protected dpopBinding(
    bound: string | null,
    context: RequestContext,
    step: DpopStep,
    subject: DpopSubject | Pick<AccessClaims, 'sub' | 'sid' | 'client_id'>,
  ): string | undefined {
    const about: DpopSubject =
      'sub' in subject
        ? { userId: subject.sub, sessionId: subject.sid, clientId: subject.client_id }
        : subject;
    if (bound !== null) return this.provenBy(bound, context, step, about);
    const proof = this.dpopMode === 'off' ? undefined : context.dpop?.jkt;
    if (proof === undefined && this.dpopMode === 'required') {
      throw this.dpopRefusal(
        { reason: 'missing_proof', step, detail: 'DPoP is required: send a proof', ...about },
        context,
      );
    }
    return proof;
  }

  /**
   * A bound credential needs the request's proof (`context.dpop`, verified by
   * the HTTP layer) by its key, whatever the mode: with DPoP off none can be
   * checked. Answers the key; refusals are `invalid_dpop_proof`.
   */
  protected provenBy(bound: string, context: RequestContext, step: DpopStep, about: DpopSubject): string {
    const proof = this.dpopMode === 'off' ? undefined : context.dpop?.jkt;
    if (proof === undefined) {
      throw this.dpopRefusal(
        { reason: 'missing_proof', step, detail: 'this session is DPoP-bound: send a proof', ...about },
        context,
      );
    }
    if (proof !== bound) {
      throw this.dpopRefusal(
        {
          reason: 'key_mismatch',
          step,
          detail: 'the proof is signed by another key than the one this session is bound to',
          ...about,
        },
        context,
      );
    }
    return bound;
  }

  /** The key a new session's refresh credential is bound to: the proof's, unless a confidential client's (RFC 9449 section 5). */
  protected sessionBinding(jkt: string | undefined, context: RequestContext): string | null {
    return jkt === undefined || context.dpop?.confidentialClient === true ? null : jkt;
  }

  /** Reports a DPoP refusal (`dpop_rejected`) and answers the error to throw. */
  protected dpopRefusal(rejection: DpopRejection, context: RequestContext): BatonError {
    this.dpopRejected(rejection, context);
    return new BatonError('invalid_dpop_proof', `DPoP proof refused: ${rejection.detail}`);
  }

  /**
   * Emits `dpop_rejected` for a refusal decided elsewhere (the HTTP layer's
   * proof checks). Never give it a token or a proof.
   *
   * @example
   * ```ts
   * sessions.dpopRejected(
   *   { reason: 'invalid_proof', step: 'resource', detail: 'htu does not match the request URL' },
   *   { ip: '203.0.113.7', userAgent: 'curl/8' },
   * );
   * ```
   */
  dpopRejected(rejection: DpopRejection, context: RequestContext = {}): void {
    this.emit(dpopRejectedDraft(rejection, context));
  }

  protected clientIdOf(context: RequestContext): string {
    return context.clientId ?? this.o.defaultClientId;
  }

  /** The client a token's `client_id` claim names, or null for the default (a session that named none). */
  protected recordedClient(clientId: string): string | null {
    return clientId === this.o.defaultClientId ? null : clientId;
  }

  // ------------------------------------------------------------ sessions

  /** The session a live access or refresh token acts for, and its binding; a dead token is refused (401). */
  protected abstract sessionActingFor(token: string): Promise<ActingSession<Session>>;

  /**
   * The session a token acts for, a DPoP-bound token's proof checked: a token
   * bound to a key acts only with a proof by that key (`context.dpop`), and a
   * refusal changes nothing. An unbound token needs none, in every mode.
   */
  protected async provenSessionOf(token: string, context: RequestContext, step: DpopStep): Promise<Session> {
    const { session, bound } = await this.sessionActingFor(token);
    if (bound !== null) this.provenBy(bound, context, step, this.factsOf(session));
    return session;
  }

  /** Revokes one session, with the access tokens issued under it. */
  protected abstract endSession(session: Session): Promise<void>;

  /** Whose session it is, for its events. */
  protected abstract factsOf(session: Session): SessionFacts;

  /**
   * Revokes the session of a live access or refresh token, and the access
   * tokens issued under it, at once. A dead token (revoked, expired, rotated
   * out) is refused and changes nothing; so is a DPoP-bound token without a
   * proof by its key (`context.dpop`, as the HTTP layer verified it).
   *
   * @example
   * ```ts
   * await sessions.logout(refreshToken); // or the access token
   * ```
   */
  async logout(token: string, context: RequestContext = {}): Promise<void> {
    await this.ready;
    const session = await this.provenSessionOf(token, context, 'logout');
    await this.endSession(session);
    this.emit({ type: 'logout', reason: 'logout', ...this.factsOf(session), ...this.requestFacts(context) });
  }

  /**
   * Revokes every session of the user a live access or refresh token belongs
   * to; answers how many. Capability `logoutAll`.
   *
   * @example
   * ```ts
   * const revoked = await sessions.logoutAll(accessToken); // every device of this user
   * ```
   */
  async logoutAll(token: string, context: RequestContext = {}): Promise<number> {
    await this.ready;
    // A dead token (or a bound one without its proof) is refused first, whatever the strategy can do.
    const session = await this.provenSessionOf(token, context, 'logout');
    const ended = await this.endEverySession(session);
    this.emit({
      type: 'logout_all',
      reason: 'logout_all',
      count: ended.length,
      sessionIds: ended,
      ...this.factsOf(session),
      ...this.requestFacts(context),
    });
    return ended.length;
  }

  /** Revokes every session of the session's user, answering the ids of those it ended. */
  protected async endEverySession(_session: Session): Promise<string[]> {
    this.unsupported('logout-all');
  }

  /** The user's live sessions (never token values). Capability `listSessions`. */
  async listSessions(_userId: string, _currentSessionId?: string): Promise<SessionInfo[]> {
    this.unsupported('Listing sessions');
  }

  /** Revokes one of the user's sessions; another user's is `not_found`. Capability `listSessions`. */
  async revokeSession(_userId: string, _sessionId: string, _context?: RequestContext): Promise<void> {
    this.unsupported('Revoking a session by id');
  }

  /** Admin: every session of a user and their access tokens, at once. Capability `revokeUser`. */
  async revokeUser(_userId: string, _reason?: RevocationReason, _context?: RequestContext): Promise<number> {
    this.unsupported('Revoking every session of a user');
  }

  // ------------------------------------------------ revocation, introspection

  /**
   * RFC 7009: an access token is denied by `jti` until it expires; any other
   * token revokes what `logout` would. Invalid and dead tokens are silently
   * ignored. The hint is not trusted (section 2.1: the search extends to every
   * type): here access tokens are JWTs and refresh tokens are not. A
   * DPoP-bound token is revoked with a proof by its key, or by the
   * authenticated client it was issued to; else `invalid_dpop_proof`.
   */
  async revokeToken(token: string, _hint?: TokenTypeHint, context: RevokeContext = {}): Promise<void> {
    await this.ready;
    if (looksLikeJwt(token)) {
      await this.revokeAccessToken(token, context);
      return;
    }
    await ignoringInvalidToken(() => this.revokeSessionOf(token, context));
  }

  /** RFC 7009 for an access token: its `jti` denied until it expires; an invalid one is ignored. */
  protected async revokeAccessToken(token: string, context: RevokeContext): Promise<void> {
    const claims = await this.tokens.revokeAccessToken(token, (verified) =>
      this.assertRevocable(verified.cnf?.jkt ?? null, verified.client_id, context, {
        userId: verified.sub,
        sessionId: verified.sid,
        clientId: verified.client_id,
      }),
    );
    if (claims === undefined) return;
    this.emit({
      type: 'token_revoked',
      tokenType: 'access_token',
      reason: null,
      userId: claims.sub,
      sessionId: claims.sid,
      clientId: claims.client_id,
      ...this.requestFacts(context),
    });
  }

  /** RFC 7009 for a token that stands for its session: the session ends, as at logout, reported as `token_revoked`. */
  protected async revokeSessionOf(token: string, context: RevokeContext): Promise<void> {
    const { session, bound } = await this.sessionActingFor(token);
    const facts = this.factsOf(session);
    this.assertRevocable(bound, facts.clientId, context, facts);
    await this.endSession(session);
    this.emit({
      type: 'token_revoked',
      tokenType: 'refresh_token',
      reason: null,
      ...this.factsOf(session),
      ...this.requestFacts(context),
    });
  }

  /**
   * RFC 7009 for a DPoP-bound token: the authenticated client it was issued
   * to revokes it as it is (RFC 9449 section 5: a confidential client is
   * constrained by its authentication); anyone else needs a proof by its key.
   */
  protected assertRevocable(
    bound: string | null,
    clientId: string,
    context: RevokeContext,
    about: DpopSubject,
  ): void {
    if (bound === null || context.authenticatedClient === clientId) return;
    this.provenBy(bound, context, 'revoke', about);
  }

  /** What an active token is (introspection); `null` for any token that is not. The hint is not trusted. */
  async describeToken(token: string, _hint?: TokenTypeHint): Promise<TokenDescription | null> {
    await this.ready;
    return describeOrNull(() =>
      looksLikeJwt(token) ? this.tokens.describe(token) : this.describeRefreshToken(token),
    );
  }

  /** An opaque refresh token's description; by default there are none (`invalid_token`). */
  protected async describeRefreshToken(_token: string): Promise<TokenDescription> {
    throw new BatonError('invalid_token', 'Unknown token');
  }

  /** A method this strategy cannot offer: a 400 that says why and what to use instead. */
  protected unsupported(what: string): never {
    throw new BatonError(
      'invalid_request',
      `${what} is not available with the "${this.strategy}" strategy: ${this.unsupportedBecause}`,
    );
  }

  jwks(): { keys: Record<string, unknown>[] } {
    return this.tokens.jwks();
  }

  // ------------------------------------------------------------ events

  /** Emits an event (listeners get it after the step answers); `time` and `strategy` are added here. */
  protected emit(draft: EventDraft): void {
    if (!this.#events.listening) return;
    // The spread of a union loses the pairing of `type` with its fields; the draft had it.
    this.#events.emit({ ...draft, time: this.o.clock.now(), strategy: this.strategy } as AuthEvent);
  }

  /** Emits the event of a step that answered tokens (told by them), and answers them. */
  protected answered<T extends PairEvent>(
    type: T,
    pair: TokenPair,
    context: RequestContext,
    reason: AuthEventOf<T>['reason'],
  ): TokenPair {
    this.emit({
      type,
      reason,
      userId: pair.claims.sub,
      sessionId: pair.sessionId,
      clientId: pair.claims.client_id,
      ...this.requestFacts(context),
    } as EventDraft);
    return pair;
  }

  /** The IP and user agent of a request, as events carry them. */
  protected requestFacts(context: RequestContext): { ip: string | null; userAgent: string | null } {
    return requestFacts(context);
  }

  /** A failed store call: `store_unavailable`, with what the call was about. */
  protected storeFailed(failure: StoreFailure): void {
    this.emit(storeUnavailableDraft(failure));
  }

  async close(): Promise<void> {
    this.tokens.close();
    await this.store.close();
  }
}
