import { BatonError } from '../../core/errors.ts';
import { toSubject } from '../../tokens/access-token.ts';
import type { KeySet } from '../../tokens/keys.ts';
import type { AccessClaims } from '../../tokens/types.ts';
import { AccessTokens, ignoringInvalidToken } from '../access-tokens.ts';
import { Credentials, usernameOf } from '../credentials.ts';
import type { ResolvedStrategyOptions } from '../options.ts';
import { looksLikeJwt } from '../refresh-token.ts';
import type { BatonUser, RequestContext, TokenPair } from '../types.ts';

export type StrategyName = 'rotating' | 'jwt' | 'single-token' | 'per-client' | 'callbacks';

/**
 * What the non-rotating strategies share beyond AccessTokens and
 * Credentials: the login and reauth flow, the user check at refresh, access
 * token verification, and a clear error for what a strategy cannot do.
 */
export abstract class StrategyBase<User extends BatonUser, Resolved extends ResolvedStrategyOptions<User>> {
  abstract readonly strategy: StrategyName;
  readonly keys: KeySet;
  protected readonly o: Resolved;
  protected readonly tokens: AccessTokens;
  protected readonly credentials: Credentials<User>;

  /** `resolved`: the strategy's options from `resolveStrategyOptions(strategy, options)`. */
  constructor(resolved: Resolved) {
    this.o = resolved;
    this.tokens = new AccessTokens(this.o);
    this.keys = this.tokens.keys;
    this.credentials = new Credentials(this.o);
  }

  /** Resolves once the revoked set is loaded from the store (a failed load is retried by the next caller). */
  get ready(): Promise<void> {
    return this.tokens.ready;
  }

  get options(): Readonly<Resolved> {
    return this.o;
  }

  /** Checks a username and password with `verifyCredentials` and issues tokens. */
  async login(username: string, password: string, context: RequestContext = {}): Promise<TokenPair> {
    await this.ready;
    const user = await this.credentials.check(username, password, context);
    return this.issueFor(user, context);
  }

  /** Issues tokens for a user you have authenticated yourself. */
  abstract issueFor(user: User, context?: RequestContext): Promise<TokenPair>;

  verifyAccessToken(token: string): AccessClaims {
    return this.tokens.verify(token);
  }

  isFresh(claims: AccessClaims): boolean {
    return this.tokens.isFresh(claims);
  }

  /** Checks the password again and mints a fresh access token for the same session (refresh token unchanged, not re-sent). */
  async reauthenticate(
    accessToken: string,
    password: string,
    context: RequestContext = {},
  ): Promise<TokenPair> {
    const claims = this.verifyAccessToken(accessToken);
    const known = await this.o.loadUser(claims.sub);
    const username = known ? usernameOf(known, toSubject(known.id)) : claims.sub;
    const user = await this.credentials.check(username, password, context);
    if (toSubject(user.id) !== claims.sub) {
      throw new BatonError('invalid_credentials', 'Invalid username or password');
    }
    return this.reauthPair(claims, user, context);
  }

  protected reauthPair(claims: AccessClaims, user: User, context: RequestContext): TokenPair {
    return this.pair(claims, user, '', null, this.tokens.loginFreshness(this.o.freshness), context);
  }

  /** An access token for the session of `claims` (same sid and client), with the given refresh token. */
  protected pair(
    session: Pick<AccessClaims, 'sub' | 'sid' | 'client_id'>,
    user: User,
    refreshToken: string,
    refreshExpiresAt: number | null,
    fresh: boolean | number,
    context: RequestContext,
    extra: { jti?: string; exp?: number; strategyClaims?: Record<string, unknown> } = {},
  ): TokenPair {
    const minted = this.tokens.mint({
      user,
      extraClaims: context.extraClaims,
      sub: session.sub,
      sid: session.sid,
      clientId: session.client_id,
      fresh,
      ...extra,
    });
    const now = this.o.clock.now();
    return {
      accessToken: minted.token,
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: minted.claims.exp - Math.floor(now / 1000),
      refreshExpiresIn:
        refreshExpiresAt === null ? null : Math.max(0, Math.round((refreshExpiresAt - now) / 1000)),
      sessionId: session.sid,
      claims: minted.claims,
    };
  }

  /** Users are checked again at refresh: missing or disabled ones get `user_disabled`. */
  protected async revalidateUser(userId: string): Promise<User> {
    const user = await this.o.loadUser(userId);
    if (!user || user.disabled) throw new BatonError('user_disabled', 'This account is disabled');
    return user;
  }

  protected clientIdOf(context: RequestContext): string {
    return context.clientId ?? this.o.defaultClientId;
  }

  /** The client a token's `client_id` claim names, or null for the default (a session that named none). */
  protected recordedClient(clientId: string): string | null {
    return clientId === this.o.defaultClientId ? null : clientId;
  }

  /**
   * RFC 7009: an access token is denied by `jti` until it expires; any other
   * token revokes what `logout` would. Invalid and dead tokens are silently
   * ignored. The hint is not trusted (section 2.1: the search extends to every
   * type): here access tokens are JWTs and refresh tokens are not.
   */
  async revokeToken(token: string, _hint?: 'access_token' | 'refresh_token'): Promise<void> {
    await this.ready;
    if (looksLikeJwt(token)) {
      await this.tokens.revokeAccessToken(token);
      return;
    }
    await ignoringInvalidToken(() => this.logout(token));
  }

  abstract logout(token: string): Promise<void>;

  /** A method this strategy cannot offer: a 400 that says why and what to use instead. */
  protected unsupported(what: string, why: string): never {
    throw new BatonError(
      'invalid_request',
      `${what} is not available with the "${this.strategy}" strategy: ${why}`,
    );
  }

  jwks(): { keys: Record<string, unknown>[] } {
    return this.tokens.jwks();
  }

  async close(): Promise<void> {
    this.tokens.close();
    await this.o.store.close();
  }
}
