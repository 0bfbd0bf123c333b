import { randomBytes } from 'node:crypto';
import { BatonError } from '../../core/errors.ts';
import { toSubject } from '../../tokens/access-token.ts';
import { decodeUnverified } from '../../tokens/jws.ts';
import type { AccessClaims } from '../../tokens/types.ts';
import { ignoringInvalidToken } from '../access-tokens.ts';
import { type ResolvedStrategyOptions, resolveStrategyOptions } from '../options.ts';
import { looksLikeJwt } from '../refresh-token.ts';
import type {
  BatonUser,
  RefreshContext,
  RequestContext,
  RevokeContext,
  StrategyBaseOptions,
  StrategyCapabilities,
  TokenPair,
  TokenTypeHint,
} from '../types.ts';
import {
  type ActingSession,
  capabilities,
  type SessionClaims,
  type SessionFacts,
  StrategyBase,
} from './base.ts';

export interface SingleTokenStrategyOptions<User extends BatonUser = BatonUser>
  extends StrategyBaseOptions<User> {
  /**
   * Let a token be refreshed before its access lifespan ends. Off by default,
   * as in flask-praetorian: such a refresh is 425 `early_refresh`.
   * @defaultValue `false`
   */
  allowEarlyRefresh?: boolean;
}

export type ResolvedSingleTokenOptions<User extends BatonUser> = ResolvedStrategyOptions<User> & {
  allowEarlyRefresh: boolean;
  refreshTokenTtl: number;
};

type SingleTokenClaims = AccessClaims & { rf_exp: number };

/**
 * flask-praetorian's design: one JWT carries both lifespans, `exp` (access)
 * and `rf_exp` (refresh). Refreshing the (expired) token answers a copy with
 * the same `jti` and `rf_exp` and a new `exp`. Users are checked at refresh
 * only, so disabling one takes effect when their access lifespan ends.
 * The token is also an ordinary Baton access token: protected routes verify
 * it like any other.
 *
 * @example
 * ```ts
 * import { generateSigningKey, MemoryStore, SingleTokenStrategy } from 'baton-auth';
 *
 * const manager = new SingleTokenStrategy({ // or createAuthManager({ strategy: 'single-token', ... })
 *   issuer: 'https://api.example.com',
 *   audience: 'example-api',
 *   keys: [await generateSigningKey('HS256')],
 *   store: new MemoryStore(), // the denylist only
 *   loadUser: (id) => ({ id }),
 *   accessTokenTtl: '15m', // exp
 *   refreshTokenTtl: '30d', // rf_exp
 * });
 * const pair = await manager.issueSession({ id: '42' });
 * pair.refreshToken === pair.accessToken; // true: the one token is its own refresh credential
 * manager.verifyAccessToken(pair.accessToken).rf_exp; // now + 30 days (seconds since the epoch)
 * await manager.refresh(pair.accessToken).catch((error) => error.code); // 'early_refresh' (425) until it expires
 * ```
 */
export class SingleTokenStrategy<User extends BatonUser = BatonUser> extends StrategyBase<
  User,
  ResolvedSingleTokenOptions<User>,
  SingleTokenClaims
> {
  readonly strategy = 'single-token' as const;
  readonly capabilities: StrategyCapabilities = capabilities({});
  protected readonly unsupportedBecause =
    'tokens are listed nowhere and the token is its own refresh credential; use the rotating strategy';

  constructor(options: SingleTokenStrategyOptions<User>) {
    super(resolveStrategyOptions('single-token', options));
  }

  /**
   * DPoP: the one token is the access token and the refresh credential, so
   * its `cnf.jkt` binds both: every copy keeps the key of the login's proof
   * (a confidential client's too: there is no separate refresh token to
   * constrain by its authentication instead).
   */
  protected async startSession(
    user: User,
    context: RequestContext,
    jkt: string | undefined,
  ): Promise<TokenPair> {
    const jti = randomBytes(16).toString('base64url');
    const rfExp = Math.floor(this.o.clock.now() / 1000) + this.o.refreshTokenTtl;
    // The jti is the session: every copy shares it, so denying it revokes them all.
    const session = { sub: toSubject(user.id), sid: jti, client_id: this.clientIdOf(context) };
    return this.#copy(session, jti, rfExp, user, this.loginFreshness(), context, jkt);
  }

  /**
   * The token itself is the refresh credential. It must be genuine and may be
   * expired; before its `exp` it is 425 `early_refresh` (unless allowed),
   * after its `rf_exp` 401 `session_expired`. The user is loaded again.
   */
  async refresh(token: string, context: RefreshContext = {}): Promise<TokenPair> {
    await this.ready;
    const claims = this.#verifyAllowingExpired(token);
    this.authorizeRefresh(this.recordedClient(claims.client_id), context);
    if (!this.o.allowEarlyRefresh && claims.exp > Math.floor(this.o.clock.now() / 1000)) {
      throw new BatonError('early_refresh', 'This token has not expired yet; keep using it');
    }
    const jkt = this.dpopBinding(claims.cnf?.jkt ?? null, context, 'refresh', claims);
    const user = await this.revalidateUser(claims.sub, claims.sid, context);
    return this.answered(
      'refresh',
      this.#copy(claims, claims.jti, claims.rf_exp, user, false, context, jkt),
      context,
      null,
    );
  }

  /** The one token is both: its `cnf.jkt` binds it as an access and as a refresh token. */
  protected sessionActingFor(token: string): Promise<ActingSession<SingleTokenClaims>> {
    const claims = this.#verifyAllowingExpired(token);
    return Promise.resolve({ session: claims, bound: claims.cnf?.jkt ?? null });
  }

  /** Revokes the token and every copy of it (same jti), until its `rf_exp`. */
  protected async endSession(claims: SingleTokenClaims): Promise<void> {
    await this.tokens.revoke({
      kind: 'session',
      id: claims.sid,
      expiresAt: this.tokens.horizon(claims.rf_exp),
    });
  }

  protected factsOf(claims: SingleTokenClaims): SessionFacts {
    return { userId: claims.sub, sessionId: claims.sid, clientId: claims.client_id };
  }

  /** RFC 7009: the one token is both, so revoking it ends its session (every copy), as logout does. */
  override async revokeToken(
    token: string,
    _hint?: TokenTypeHint,
    context: RevokeContext = {},
  ): Promise<void> {
    await this.ready;
    await ignoringInvalidToken(() => this.revokeSessionOf(token, context));
  }

  protected override async reauthPair(
    claims: AccessClaims,
    user: User,
    context: RequestContext,
  ): Promise<TokenPair> {
    const rfExp = this.#refreshLifespan(claims);
    const jkt = this.dpopBinding(claims.cnf?.jkt ?? null, context, 'reauth', claims);
    return this.#copy(claims, claims.jti, rfExp, user, this.loginFreshness(), context, jkt);
  }

  /** A token of this lineage: same jti and rf_exp, `exp` renewed but never past `rf_exp`. */
  #copy(
    session: SessionClaims,
    jti: string,
    rfExp: number,
    user: User,
    fresh: boolean | number,
    context: RequestContext,
    jkt: string | undefined,
  ): TokenPair {
    const pair = this.pair(
      session,
      user,
      {
        refreshToken: '',
        refreshExpiresAt: rfExp * 1000,
        fresh,
        jti,
        strategyClaims: { rf_exp: rfExp },
        jkt,
      },
      context,
    );
    // One token does both jobs; the contract's refresh_token field carries it too.
    return { ...pair, refreshToken: pair.accessToken };
  }

  /**
   * Every check of an access token except `exp`: the codec verifies as of an
   * instant before `exp` when the token has already expired. Then `rf_exp`
   * and the revoked set.
   */
  #verifyAllowingExpired(token: string): SingleTokenClaims {
    if (typeof token !== 'string' || !looksLikeJwt(token)) {
      throw new BatonError(
        'invalid_token',
        'The refresh credential of the single-token strategy is the token itself',
      );
    }
    const exp = decodeUnverified(token).payload.exp;
    if (typeof exp !== 'number' || !Number.isFinite(exp))
      throw new BatonError('invalid_token', 'missing exp');
    const now = this.o.clock.now();
    const claims = this.tokens.codec.verify(token, Math.min(now, (exp - 1) * 1000));
    this.#refreshLifespan(claims, now);
    this.tokens.assertNotRevoked(claims.sid, claims.jti);
    return claims as SingleTokenClaims;
  }

  /**
   * The token's `rf_exp`, still ahead of `now`. A genuine access token without
   * one (minted by another strategy with the same keys) is no token of ours.
   */
  #refreshLifespan(claims: AccessClaims, now = this.o.clock.now()): number {
    const rfExp = claims.rf_exp;
    if (typeof rfExp !== 'number' || !Number.isFinite(rfExp)) {
      throw new BatonError('invalid_token', 'Not a single-token token (no rf_exp)');
    }
    if (rfExp * 1000 <= now) {
      throw new BatonError('session_expired', 'The refresh lifespan of this token has ended; log in again');
    }
    return rfExp;
  }
}
