import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { BatonError, isBatonError } from '../../core/errors.ts';
import { toSubject } from '../../tokens/access-token.ts';
import type { ResolvedStrategyOptions } from '../options.ts';
import { looksLikeJwt } from '../refresh-token.ts';
import type {
  BatonUser,
  IntrospectionResult,
  MaybePromise,
  RequestContext,
  SessionInfo,
  StrategyBaseOptions,
  TokenPair,
} from '../types.ts';
import { StrategyBase } from './base.ts';

export interface CallbacksStrategyOptions<User extends BatonUser = BatonUser>
  extends StrategyBaseOptions<User> {
  /** sanic-jwt's `store_refresh_token`: persist the user's (one) refresh token. Sync or async. */
  storeRefreshToken(userId: string, refreshToken: string): MaybePromise<unknown>;
  /** sanic-jwt's `retrieve_refresh_token`: the stored token, or null/undefined. Sync or async. */
  retrieveRefreshToken(userId: string): MaybePromise<string | null | undefined>;
  /** Optional: forget the stored token at logout. Without it logout denies the token for `refreshTokenTtl`. */
  revokeRefreshToken?(userId: string): MaybePromise<unknown>;
}

type ResolvedCallbacksOptions<User extends BatonUser> = ResolvedStrategyOptions<User> &
  Pick<CallbacksStrategyOptions<User>, 'storeRefreshToken' | 'retrieveRefreshToken' | 'revokeRefreshToken'>;

const SECRET = /^[A-Za-z0-9_-]{43}$/;
const USER_PART = /^[A-Za-z0-9_-]{1,340}$/;

/**
 * sanic-jwt's design: the application stores and retrieves the refresh token
 * itself, through two callbacks. There is one refresh token per user: a
 * later login replaces the earlier one (upgrade to the rotating strategy for
 * one session per device). The token is `<base64url(userId)>.<secret>`, so
 * refresh can find whose token to retrieve; it is compared in constant time.
 */
export class CallbacksStrategy<User extends BatonUser = BatonUser> extends StrategyBase<
  User,
  ResolvedCallbacksOptions<User>
> {
  readonly strategy = 'callbacks' as const;

  constructor(options: CallbacksStrategyOptions<User>) {
    super(options, 'callbacks strategy', (resolved) => {
      for (const name of ['storeRefreshToken', 'retrieveRefreshToken'] as const) {
        if (typeof options[name] !== 'function') {
          throw new BatonError('invalid_options', `The callbacks strategy needs ${name}(userId, ...)`);
        }
      }
      if (options.revokeRefreshToken !== undefined && typeof options.revokeRefreshToken !== 'function') {
        throw new BatonError('invalid_options', 'revokeRefreshToken must be a function');
      }
      return {
        ...resolved,
        storeRefreshToken: options.storeRefreshToken,
        retrieveRefreshToken: options.retrieveRefreshToken,
        revokeRefreshToken: options.revokeRefreshToken,
      };
    });
  }

  async issueFor(user: User, context: RequestContext = {}): Promise<TokenPair> {
    await this.ready;
    const userId = toSubject(user.id);
    const token = `${Buffer.from(userId, 'utf8').toString('base64url')}.${randomBytes(32).toString('base64url')}`;
    await this.#call(() => this.o.storeRefreshToken(userId, token));
    const fresh = this.tokens.loginFreshness(this.o.freshness);
    return this.pair(this.#session(userId, token, context), user, token, null, fresh, context);
  }

  /** A new access token; the refresh token stays as stored (sanic-jwt answers only the access token). */
  async refresh(token: string, context: RequestContext = {}): Promise<TokenPair> {
    await this.ready;
    const userId = await this.#check(token);
    const user = await this.revalidateUser(userId);
    return this.pair(this.#session(userId, token, context), user, '', null, false, context);
  }

  /** Denies the token's sid (its access tokens too) and, when configured, forgets the stored token. */
  async logout(token: string): Promise<void> {
    await this.ready;
    let userId: string;
    let sid: string;
    if (looksLikeJwt(token)) {
      const claims = this.verifyAccessToken(token);
      userId = claims.sub;
      sid = claims.sid;
    } else {
      userId = await this.#check(token);
      sid = sidOf(token);
    }
    const denyFor = Math.max(this.o.refreshTokenTtl ?? 0, this.o.accessTokenTtl) + this.o.leeway;
    await this.tokens.revoke({
      kind: 'session',
      id: sid,
      expiresAt: this.o.clock.now() + denyFor * 1000 + 1000,
    });
    const revoke = this.o.revokeRefreshToken;
    if (revoke !== undefined) {
      // Only if the stored token is still the one logged out: a later login's token must survive.
      const stored = await this.#call(() => this.o.retrieveRefreshToken(userId));
      if (typeof stored === 'string' && sidOf(stored) === sid) await this.#call(() => revoke(userId));
    }
  }

  /** One refresh token per user: logging out everywhere is logging out. */
  async logoutAll(token: string): Promise<number> {
    await this.logout(token);
    return 1;
  }

  async listSessions(_userId: string, _current?: string): Promise<SessionInfo[]> {
    this.unsupported('Listing sessions', 'there is one refresh token per user, kept by your callbacks');
  }

  async revokeSession(_userId: string, _sessionId: string): Promise<void> {
    this.unsupported('Revoking a session by id', 'there is one refresh token per user; log out instead');
  }

  async introspect(token: string, _hint?: 'access_token' | 'refresh_token'): Promise<IntrospectionResult> {
    await this.ready;
    if (looksLikeJwt(token)) return this.tokens.introspect(token);
    try {
      const userId = await this.#check(token);
      return {
        active: true,
        token_type: 'refresh_token',
        sub: userId,
        sid: sidOf(token),
        iss: this.o.issuer,
      };
    } catch (error) {
      if (isBatonError(error) && error.code === 'store_unavailable') throw error;
      return { active: false };
    }
  }

  /** The user id of a refresh token that matches the stored one (constant time); `invalid_token` otherwise. */
  async #check(token: string): Promise<string> {
    if (typeof token !== 'string' || looksLikeJwt(token)) {
      throw new BatonError(
        looksLikeJwt(token) ? 'wrong_token_type' : 'invalid_token',
        'A refresh token is required',
      );
    }
    const dot = token.indexOf('.');
    const userPart = token.slice(0, dot);
    if (dot < 0 || !USER_PART.test(userPart) || !SECRET.test(token.slice(dot + 1))) {
      throw new BatonError('invalid_token', 'Malformed refresh token');
    }
    const userId = Buffer.from(userPart, 'base64url').toString('utf8');
    // Only the canonical encoding names a user; anything else was not issued by us.
    if (Buffer.from(userId, 'utf8').toString('base64url') !== userPart) {
      throw new BatonError('invalid_token', 'Malformed refresh token');
    }
    const stored = await this.#call(() => this.o.retrieveRefreshToken(userId));
    if (typeof stored !== 'string' || !constantTimeEqual(stored, token)) {
      throw new BatonError('invalid_token', 'Unknown refresh token');
    }
    this.tokens.assertNotRevoked(sidOf(token), '');
    return userId;
  }

  #session(userId: string, token: string, context: RequestContext) {
    return { sub: userId, sid: sidOf(token), client_id: this.clientIdOf(context) };
  }

  /** User callbacks may be sync or async; their failures are the storage's, so 503 like a store's. */
  async #call<T>(run: () => MaybePromise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (isBatonError(error)) throw error;
      throw new BatonError('store_unavailable', 'The refresh-token callback failed', {
        retryAfter: 1,
        cause: error,
      });
    }
  }
}

/** A stable id for a refresh token (its access tokens' `sid`), from which the token cannot be recovered. */
function sidOf(token: string): string {
  return createHash('sha256').update(`baton-callbacks\0${token}`).digest('base64url').slice(0, 22);
}

function constantTimeEqual(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}
