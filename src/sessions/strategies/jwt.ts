import { randomBytes } from 'node:crypto';
import { BatonError, isBatonError } from '../../core/errors.ts';
import { toSubject } from '../../tokens/access-token.ts';
import { claimExpectations, validateClaims } from '../../tokens/claims.ts';
import { JwsVerifier, signJws, typMatches } from '../../tokens/jws.ts';
import type { AccessClaims, Freshness, SessionTokenClaims } from '../../tokens/types.ts';
import { describeOrNull, ignoringInvalidToken } from '../access-tokens.ts';
import { type ResolvedStrategyOptions, resolveStrategyOptions } from '../options.ts';
import { looksLikeJwt, newSessionId } from '../refresh-token.ts';
import type {
  BatonUser,
  RefreshContext,
  RequestContext,
  RevokeContext,
  StrategyBaseOptions,
  StrategyCapabilities,
  TokenDescription,
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

/** flask-jwt-extended and AuthX put `typ: "JWT"` on refresh tokens; the `type` claim tells them apart. */
export const REFRESH_TOKEN_TYP = 'JWT';

export interface JwtStrategyOptions<User extends BatonUser = BatonUser> extends StrategyBaseOptions<User> {
  /**
   * Issue a new refresh token at every refresh and deny the old one's `jti`.
   * Off by default, as in flask-jwt-extended and AuthX: refresh answers a new
   * access token only, and the refresh token stays valid until it expires or
   * is revoked.
   * @defaultValue `false`
   */
  rotateRefreshTokens?: boolean;
}

export type ResolvedJwtOptions<User extends BatonUser> = ResolvedStrategyOptions<User> & {
  rotateRefreshTokens: boolean;
  refreshTokenTtl: number;
};

/** The claims of a refresh JWT: an access token's session claims, `type: "refresh"`. */
export interface RefreshClaims extends SessionTokenClaims {
  type: 'refresh';
  /** DPoP: the key thumbprint the refresh token is bound to (RFC 9449 section 5, public clients). */
  cnf?: { jkt: string };
}

/** What ties an access token to the refresh token it came from (implicit refresh renews only while that one lives). */
interface Lineage {
  /** The refresh token's `jti`, denied once it is rotated out. */
  rf_jti: string;
  /** Its `exp`: the login's absolute expiry, which no access token outlives. */
  sess_exp: number;
}

/** What a session is to this strategy: its `sid`, and until when its refresh tokens may live (when known). */
interface JwtSession {
  sid: string;
  refreshExp: number | undefined;
  sub: string;
  clientId: string;
}

/**
 * Stateless refresh tokens (flask-jwt-extended, fastjwt/AuthX): the refresh
 * token is a long-lived JWT with `type: "refresh"`. Login issues an access
 * and a refresh token that share a `sid`; logout denies that `sid` in the
 * store's revocation list, so the refresh token dies with the access token.
 * There is no per-user index, so listing sessions and logout-all are not
 * offered (use the rotating strategy for those).
 *
 * @example
 * ```ts
 * import { generateSigningKey, JwtStrategy, MemoryStore } from 'baton-auth';
 *
 * const manager = new JwtStrategy({ // or createAuthManager({ strategy: 'jwt', ... })
 *   issuer: 'https://api.example.com',
 *   audience: 'example-api',
 *   keys: [await generateSigningKey('HS256')],
 *   store: new MemoryStore(), // the denylist only: no session is stored
 *   loadUser: (id) => ({ id }),
 * });
 * const pair = await manager.issueSession({ id: '42' }); // create_access_token + create_refresh_token
 * manager.verifyRefreshToken(pair.refreshToken).type; // 'refresh'
 * (await manager.refresh(pair.refreshToken)).refreshToken; // '': a new access token only (rotateRefreshTokens: true to rotate)
 * await manager.logout(pair.refreshToken); // denies the login's sid: this refresh token and its access tokens
 * ```
 */
export class JwtStrategy<User extends BatonUser = BatonUser> extends StrategyBase<
  User,
  ResolvedJwtOptions<User>,
  JwtSession
> {
  readonly strategy = 'jwt' as const;
  readonly capabilities: StrategyCapabilities = capabilities({ implicitRefresh: true });
  protected readonly unsupportedBecause =
    'stateless refresh tokens are listed nowhere; log out with the token, or use the rotating strategy';
  readonly #verifier: JwsVerifier;

  constructor(options: JwtStrategyOptions<User>) {
    super(resolveStrategyOptions('jwt', options));
    this.#verifier = new JwsVerifier({ keys: this.keys, algorithms: this.tokens.codec.algorithms });
  }

  protected async startSession(
    user: User,
    context: RequestContext,
    jkt: string | undefined,
  ): Promise<TokenPair> {
    const session = { sub: toSubject(user.id), sid: newSessionId(), client_id: this.clientIdOf(context) };
    const now = Math.floor(this.o.clock.now() / 1000);
    // DPoP: the refresh JWT carries its binding (cnf.jkt), signed with it.
    const refresh = this.#signRefresh(
      session,
      now + this.o.refreshTokenTtl,
      this.sessionBinding(jkt, context),
    );
    return this.#pair(
      session,
      user,
      refresh.token,
      this.loginFreshness(),
      context,
      {
        rf_jti: refresh.claims.jti,
        sess_exp: refresh.claims.exp,
      },
      jkt,
    );
  }

  /** A new (never fresh) access token; with rotation also a new refresh token, the old one denied. */
  async refresh(token: string, context: RefreshContext = {}): Promise<TokenPair> {
    await this.ready;
    const claims = this.verifyRefreshToken(token);
    this.authorizeRefresh(this.recordedClient(claims.client_id), context);
    const jkt = this.dpopBinding(claims.cnf?.jkt ?? null, context, 'refresh', claims);
    const user = await this.revalidateUser(claims.sub, claims.sid, context);
    let refreshToken = '';
    let refreshJti = claims.jti;
    if (this.o.rotateRefreshTokens) {
      await this.tokens.revoke({ kind: 'token', id: claims.jti, expiresAt: this.tokens.horizon(claims.exp) });
      // The successor keeps the absolute expiry and the binding: rotation must not extend nor loosen a login.
      const successor = this.#signRefresh(claims, claims.exp, claims.cnf?.jkt ?? null);
      refreshToken = successor.token;
      refreshJti = successor.claims.jti;
    }
    const pair = this.#pair(
      claims,
      user,
      refreshToken,
      false,
      context,
      { rf_jti: refreshJti, sess_exp: claims.exp },
      jkt,
    );
    return this.answered('refresh', pair, context, null);
  }

  /** An access token of a lineage; none outlives the refresh token's expiry. */
  #pair(
    session: SessionClaims,
    user: User,
    refreshToken: string,
    fresh: Freshness,
    context: RequestContext,
    lineage: Lineage,
    jkt: string | undefined,
  ): TokenPair {
    const refreshExpiresAt = lineage.sess_exp * 1000;
    return this.pair(
      session,
      user,
      { refreshToken, refreshExpiresAt, fresh, strategyClaims: { ...lineage }, jkt },
      context,
    );
  }

  /** A disabled user's refresh tokens and access tokens die together, as logout's do. */
  protected override async userDisabled(_userId: string, sid: string): Promise<string[]> {
    await this.#denySession(sid, undefined);
    return [sid];
  }

  /**
   * Verifies a refresh JWT: signature, `type: "refresh"` (an access token is
   * `wrong_token_type`), typ, iss, aud, time (expired: `session_expired`), and
   * the revoked set (`token_revoked`).
   */
  verifyRefreshToken(token: string): RefreshClaims {
    if (typeof token !== 'string' || !looksLikeJwt(token)) {
      throw new BatonError('invalid_token', 'Malformed refresh token');
    }
    const { header, payload } = this.#verifier.verify(token);
    if (payload.type === 'access') {
      throw new BatonError('wrong_token_type', 'An access token was given where a refresh token is required');
    }
    if (payload.type !== 'refresh' || !typMatches(header.typ, REFRESH_TOKEN_TYP)) {
      throw new BatonError('invalid_token', 'Not a refresh token');
    }
    const { issuer, audiences } = this.tokens.codec;
    const expectations = claimExpectations({
      issuer,
      audiences,
      leeway: this.o.leeway,
      expiredCode: 'session_expired',
      expiredMessage: 'This refresh token has expired; log in again',
      missingMessage: 'missing claims',
    });
    const now = Math.floor(this.o.clock.now() / 1000);
    const claims = validateClaims(payload, expectations, now) as RefreshClaims;
    this.tokens.assertNotRevoked(claims.sid, claims.jti);
    return claims;
  }

  protected sessionActingFor(token: string): Promise<ActingSession<JwtSession>> {
    return Promise.resolve(this.#sessionOf(token));
  }

  protected endSession(session: JwtSession): Promise<void> {
    return this.#denySession(session.sid, session.refreshExp);
  }

  protected factsOf(session: JwtSession): SessionFacts {
    return { userId: session.sub, sessionId: session.sid, clientId: session.clientId };
  }

  /**
   * RFC 7009: a refresh token revokes its login; an access token its `jti`.
   * Both are JWTs, so both kinds are tried whatever the hint says (section
   * 2.1). Invalid and dead tokens are ignored.
   */
  override async revokeToken(
    token: string,
    _hint?: 'access_token' | 'refresh_token',
    context: RevokeContext = {},
  ): Promise<void> {
    await this.ready;
    let revoked = false;
    await ignoringInvalidToken(async () => {
      this.verifyRefreshToken(token);
      revoked = true;
      await this.revokeSessionOf(token, context);
    });
    if (!revoked) await this.revokeAccessToken(token, context);
  }

  /** Both kinds of token are JWTs: a refresh token is tried first, then an access token (the hint is not trusted). */
  override async describeToken(token: string, _hint?: TokenTypeHint): Promise<TokenDescription | null> {
    await this.ready;
    return describeOrNull(() => {
      try {
        return { tokenType: 'refresh_token', claims: { ...this.verifyRefreshToken(token) } };
      } catch (error) {
        if (isBatonError(error) && error.code === 'store_unavailable') throw error;
      }
      return this.tokens.describe(token);
    });
  }

  /** Reauth keeps the token's lineage, so that the fresh token can be renewed like the one it replaces. */
  protected override async reauthPair(
    claims: AccessClaims,
    user: User,
    context: RequestContext,
  ): Promise<TokenPair> {
    const lineage = this.#lineageOf(claims);
    if (lineage === undefined) return super.reauthPair(claims, user, context);
    const jkt = this.dpopBinding(claims.cnf?.jkt ?? null, context, 'reauth', claims);
    return {
      ...this.#pair(claims, user, '', this.loginFreshness(), context, lineage, jkt),
      refreshExpiresIn: null,
    };
  }

  /**
   * Implicit refresh (cookie mode): a new access token for a still-valid one,
   * the user checked again. Only while the refresh token it descends from is
   * live (a rotated-out one is denied) and never past that token's expiry:
   * otherwise `session_expired`, which the HTTP layer treats as "no renewal".
   */
  override async reissueAccessToken(accessToken: string, context: RequestContext = {}): Promise<TokenPair> {
    const claims = this.verifyAccessToken(accessToken);
    const lineage = this.#lineageOf(claims);
    if (lineage === undefined) {
      throw new BatonError('session_expired', 'This access token cannot be renewed; refresh to continue');
    }
    const jkt = this.dpopBinding(claims.cnf?.jkt ?? null, context, 'refresh', claims);
    const user = await this.revalidateUser(claims.sub, claims.sid, context);
    return this.answered(
      'refresh',
      this.#pair(claims, user, '', false, context, lineage, jkt),
      context,
      'implicit',
    );
  }

  /** The lineage of an access token whose refresh token still lives, else undefined. */
  #lineageOf(claims: AccessClaims): Lineage | undefined {
    const { rf_jti: refreshJti, sess_exp: refreshExp } = claims;
    if (typeof refreshJti !== 'string' || typeof refreshExp !== 'number') return undefined;
    if (refreshExp <= Math.floor(this.o.clock.now() / 1000)) return undefined;
    try {
      this.tokens.assertNotRevoked(claims.sid, refreshJti);
    } catch {
      return undefined;
    }
    return { rf_jti: refreshJti, sess_exp: refreshExp };
  }

  #signRefresh(session: Pick<AccessClaims, 'sub' | 'sid' | 'client_id'>, exp: number, jkt: string | null) {
    const iat = Math.floor(this.o.clock.now() / 1000);
    const audiences = this.tokens.codec.audiences;
    const claims: RefreshClaims = {
      iss: this.tokens.codec.issuer,
      sub: session.sub,
      aud: audiences.length === 1 ? (audiences[0] as string) : [...audiences],
      exp,
      nbf: iat,
      iat,
      jti: randomBytes(16).toString('base64url'),
      sid: session.sid,
      client_id: session.client_id,
      type: 'refresh',
      ...(jkt === null ? {} : { cnf: { jkt } }),
    };
    const token = signJws({ typ: REFRESH_TOKEN_TYP }, { ...claims }, this.keys.signingKey);
    return { token, claims };
  }

  /** The sid of a live access or refresh token, until when its refresh tokens may live, and its DPoP key (`cnf.jkt`). */
  #sessionOf(token: string): ActingSession<JwtSession> {
    let claims: RefreshClaims | AccessClaims;
    let refreshExp: number | undefined;
    try {
      claims = this.verifyRefreshToken(token);
      refreshExp = claims.exp;
    } catch (error) {
      if (!isBatonError(error) || error.code !== 'wrong_token_type') throw error;
      claims = this.verifyAccessToken(token);
    }
    return {
      session: { sid: claims.sid, refreshExp, sub: claims.sub, clientId: claims.client_id },
      bound: claims.cnf?.jkt ?? null,
    };
  }

  /** Denies a sid until no refresh token issued under it can still be valid. */
  async #denySession(sid: string, refreshExp: number | undefined): Promise<void> {
    const latest = Math.floor(this.o.clock.now() / 1000) + this.o.refreshTokenTtl;
    const expiresAt = this.tokens.horizon(Math.max(refreshExp ?? latest, this.#accessExpBound()));
    await this.tokens.revoke({ kind: 'session', id: sid, expiresAt });
  }

  #accessExpBound(): number {
    return Math.floor(this.o.clock.now() / 1000) + this.o.accessTokenTtl;
  }
}
