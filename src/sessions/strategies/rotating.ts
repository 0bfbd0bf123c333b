import { BatonError } from '../../core/errors.ts';
import type { SessionRecord } from '../../stores/types.ts';
import type { AccessClaims } from '../../tokens/types.ts';
import { assertEnabled } from '../credentials.ts';
import { type ResolvedOptions, resolveOptions } from '../options.ts';
import { type ParsedRefreshToken, parseRefreshToken } from '../refresh-token.ts';
import type {
  BatonUser,
  RefreshContext,
  RequestContext,
  SessionManagerOptions,
  StrategyCapabilities,
  TokenPair,
} from '../types.ts';
import { capabilities } from './base.ts';
import { StoredSessionStrategy } from './stored-sessions.ts';

/**
 * Rotating refresh-token sessions (the default strategy): one session per
 * login per device, a new refresh token at every refresh, concurrent
 * refreshes converging inside the grace window, and theft detection: an
 * older generation presented after it revokes the whole session.
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
export class SessionManager<User extends BatonUser = BatonUser> extends StoredSessionStrategy<
  User,
  ResolvedOptions<User>
> {
  readonly strategy = 'rotating' as const;
  readonly capabilities: StrategyCapabilities = capabilities({
    listSessions: true,
    logoutAll: true,
    revokeUser: true,
    implicitRefresh: true,
  });
  protected readonly unsupportedBecause = 'per-client token management needs the per-client strategy';

  constructor(options: SessionManagerOptions<User>) {
    const resolved = resolveOptions(options);
    super(resolved, resolved);
  }

  /** A session row for the user (refused for a disabled one). */
  protected async startSession(
    user: User,
    context: RequestContext,
    jkt: string | undefined,
  ): Promise<TokenPair> {
    assertEnabled(user);
    return this.openSession(user, context.clientId ?? null, context, jkt);
  }

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
    await this.ready;
    const parsed = parseRefreshToken(refreshToken);
    const session = await this.sessions.authentic(parsed);
    this.authorizeRefresh(session.clientId, context);
    // A session bound to a DPoP key refreshes only with a proof by that key; a refusal changes nothing.
    const jkt = this.dpopBinding(session.jkt ?? null, context, 'refresh', this.factsOf(session));
    const user = await this.revalidateUser(session.userId, session.id, context);

    if (parsed.generation === session.generation) {
      const { result, successor } = await this.sessions.rotate(parsed, session);
      if (result.rotated) {
        return this.answered(
          'refresh',
          this.sessionPair(result.session, user, successor, false, context, jkt),
          context,
          null,
        );
      }
      // Lost the race: another caller rotated (or revoked) between our read and write.
      if (!result.session) throw new BatonError('invalid_token', 'Unknown refresh token');
      return this.#afterRotation(parsed, result.session, user, context, jkt);
    }
    return this.#afterRotation(parsed, session, user, context, jkt);
  }

  /** A token that is no longer current: the grace answer, or theft. */
  async #afterRotation(
    parsed: ParsedRefreshToken,
    session: SessionRecord,
    user: User,
    context: RequestContext,
    jkt: string | undefined,
  ): Promise<TokenPair> {
    this.sessions.assertUsable(session);
    if (this.sessions.inGrace(parsed, session, this.o.clock.now())) {
      await this.sessions.touch(session);
      const pair = this.sessionPair(session, user, this.sessions.tokenOf(session), false, context, jkt);
      return this.answered('refresh_grace_reuse', pair, context, null);
    }
    if (parsed.generation < session.generation) {
      await this.sessions.revoke({ sessionId: session.id }, 'refresh_token_reused');
      // One event says both: theft detected, and the session revoked for it.
      this.emit({
        type: 'refresh_token_reused',
        reason: 'refresh_token_reused',
        generation: parsed.generation,
        currentGeneration: session.generation,
        ...this.factsOf(session),
        ...this.requestFacts(context),
      });
      throw new BatonError(
        'refresh_token_reused',
        'This refresh token was already used; the session has been revoked',
      );
    }
    // A generation from the future cannot have been issued by this store's history.
    throw new BatonError('invalid_token', 'Unknown refresh token');
  }

  /** The refresh generation an access token was minted at: implicit refresh renews only the current one. */
  protected override sessionClaims(session: SessionRecord): Record<string, unknown> {
    return { rf_gen: session.generation };
  }

  /**
   * Implicit refresh binds to the refresh generation: a stolen access token
   * stops being renewed once the session rotates (`session_expired`, which
   * the HTTP layer treats as "no renewal").
   */
  protected override assertRenewable(claims: AccessClaims, session: SessionRecord): void {
    if (claims.rf_gen !== session.generation) {
      throw new BatonError(
        'session_expired',
        'This access token is from a rotated-out refresh generation; refresh to continue',
      );
    }
  }

  protected assertCurrent(parsed: ParsedRefreshToken, session: SessionRecord): void {
    if (parsed.generation !== session.generation) {
      throw new BatonError('invalid_token', 'This refresh token is no longer current');
    }
  }
}
