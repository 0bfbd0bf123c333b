import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { BatonError } from '../../core/errors.ts';
import { toSubject } from '../../tokens/access-token.ts';
import { type ResolvedStrategyOptions, resolveStrategyOptions } from '../options.ts';
import { looksLikeJwt } from '../refresh-token.ts';
import type {
  BatonUser,
  MaybePromise,
  RefreshContext,
  RequestContext,
  StrategyBaseOptions,
  StrategyCapabilities,
  TokenDescription,
  TokenPair,
} from '../types.ts';
import { type ActingSession, capabilities, type SessionFacts, StrategyBase } from './base.ts';

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
const CLIENT_PART = /^[A-Za-z0-9_-]{1,1400}$/;

/** What a stored refresh token names: its user and, when login named one, its client. */
interface TokenOwner {
  userId: string;
  clientId: string | null;
}

/**
 * sanic-jwt's design: the application stores and retrieves the refresh token
 * itself, through two callbacks. There is one refresh token per user: a
 * later login replaces the earlier one (upgrade to the rotating strategy for
 * one session per device). The token is `<base64url(userId)>.<secret>`, so
 * refresh can find whose token to retrieve, followed by `.<base64url(clientId)>`
 * when the login named a client, so that refresh knows (from the stored,
 * constant-time compared token) which client the session was issued to.
 *
 * @example
 * ```ts
 * import { CallbacksStrategy, generateSigningKey, MemoryStore } from 'baton-auth';
 *
 * const refreshTokens = new Map<string, string>(); // yours: e.g. a column of the users table
 * const manager = new CallbacksStrategy({ // or createAuthManager({ strategy: 'callbacks', ... })
 *   issuer: 'https://api.example.com',
 *   audience: 'example-api',
 *   keys: [await generateSigningKey('HS256')],
 *   store: new MemoryStore(), // the denylist of logged-out tokens
 *   loadUser: (id) => ({ id }),
 *   storeRefreshToken: (userId, token) => refreshTokens.set(userId, token),
 *   retrieveRefreshToken: (userId) => refreshTokens.get(userId),
 *   revokeRefreshToken: (userId) => refreshTokens.delete(userId),
 * });
 * const pair = await manager.issueSession({ id: '42' });
 * refreshTokens.get('42') === pair.refreshToken; // true
 * (await manager.refresh(pair.refreshToken)).refreshToken; // '': a new access token only, as sanic-jwt
 * ```
 */
export class CallbacksStrategy<User extends BatonUser = BatonUser> extends StrategyBase<
  User,
  ResolvedCallbacksOptions<User>,
  CallbacksSession
> {
  readonly strategy = 'callbacks' as const;
  readonly capabilities: StrategyCapabilities = capabilities({ logoutAll: true });
  protected readonly unsupportedBecause =
    'there is one refresh token per user, kept by your callbacks; log out instead';

  constructor(options: CallbacksStrategyOptions<User>) {
    super(
      resolveStrategyOptions('callbacks', options),
      'the callbacks strategy cannot bind its refresh tokens to a DPoP key (your callbacks keep them as plain strings); use the rotating strategy, or mode "off"',
    );
  }

  protected async startSession(user: User, context: RequestContext, _jkt?: string): Promise<TokenPair> {
    const userId = toSubject(user.id);
    const clientId = context.clientId ?? null;
    const token = [
      base64url(userId),
      randomBytes(32).toString('base64url'),
      ...(clientId === null ? [] : [base64url(clientId)]),
    ].join('.');
    await this.#call('storeRefreshToken', userId, () => this.o.storeRefreshToken(userId, token));
    const session = this.#session({ userId, clientId }, token);
    return this.pair(
      session,
      user,
      { refreshToken: token, refreshExpiresAt: null, fresh: this.loginFreshness() },
      context,
    );
  }

  /** A new access token; the refresh token stays as stored (sanic-jwt answers only the access token). */
  async refresh(token: string, context: RefreshContext = {}): Promise<TokenPair> {
    await this.ready;
    const owner = await this.#check(token);
    this.authorizeRefresh(owner.clientId, context);
    const session = this.#session(owner, token);
    const user = await this.revalidateUser(owner.userId, session.sid, context);
    const pair = this.pair(
      session,
      user,
      { refreshToken: '', refreshExpiresAt: null, fresh: false },
      context,
    );
    return this.answered('refresh', pair, context, null);
  }

  /** The user and sid of a live access token, or of the stored refresh token. */
  protected async sessionActingFor(token: string): Promise<ActingSession<CallbacksSession>> {
    // Its refresh tokens are never bound: this strategy refuses DPoP (the tokens it stores cannot carry a binding).
    if (looksLikeJwt(token)) {
      const claims = this.verifyAccessToken(token);
      const session = { userId: claims.sub, sid: claims.sid, clientId: claims.client_id };
      return { session, bound: claims.cnf?.jkt ?? null };
    }
    const owner = await this.#check(token);
    const clientId = owner.clientId ?? this.o.defaultClientId;
    return { session: { userId: owner.userId, sid: sidOf(token), clientId }, bound: null };
  }

  protected factsOf(session: CallbacksSession): SessionFacts {
    return { userId: session.userId, sessionId: session.sid, clientId: session.clientId };
  }

  /** Denies the token's sid (its access tokens too) and, when configured, forgets the stored token. */
  protected async endSession({ userId, sid }: CallbacksSession): Promise<void> {
    const denyFor = Math.max(this.o.refreshTokenTtl ?? 0, this.o.accessTokenTtl) + this.o.leeway;
    await this.tokens.revoke({
      kind: 'session',
      id: sid,
      expiresAt: this.o.clock.now() + denyFor * 1000 + 1000,
    });
    const revoke = this.o.revokeRefreshToken;
    if (revoke !== undefined) {
      // Only if the stored token is still the one logged out: a later login's token must survive.
      const stored = await this.#call('retrieveRefreshToken', userId, () =>
        this.o.retrieveRefreshToken(userId),
      );
      if (typeof stored === 'string' && sidOf(stored) === sid) {
        await this.#call('revokeRefreshToken', userId, () => revoke(userId));
      }
    }
  }

  /** One refresh token per user: logging out everywhere is logging out. */
  protected override async endEverySession(session: CallbacksSession): Promise<string[]> {
    await this.endSession(session);
    return [session.sid];
  }

  protected override async describeRefreshToken(token: string): Promise<TokenDescription> {
    const owner = await this.#check(token);
    return {
      tokenType: 'refresh_token',
      claims: {
        sub: owner.userId,
        sid: sidOf(token),
        client_id: owner.clientId ?? this.o.defaultClientId,
        iss: this.o.issuer,
      },
    };
  }

  /** Whose refresh token this is, if it matches the stored one (constant time); `invalid_token` otherwise. */
  async #check(token: string): Promise<TokenOwner> {
    if (typeof token !== 'string') throw new BatonError('invalid_token', 'A refresh token is required');
    const [userPart = '', secret = '', clientPart, ...rest] = token.split('.');
    const shaped =
      rest.length === 0 &&
      USER_PART.test(userPart) &&
      SECRET.test(secret) &&
      (clientPart === undefined || CLIENT_PART.test(clientPart));
    if (!shaped) {
      throw new BatonError(
        looksLikeJwt(token) ? 'wrong_token_type' : 'invalid_token',
        looksLikeJwt(token) ? 'A refresh token is required' : 'Malformed refresh token',
      );
    }
    const userId = canonicalText(userPart);
    const clientId = clientPart === undefined ? null : canonicalText(clientPart);
    const stored = await this.#call('retrieveRefreshToken', userId, () =>
      this.o.retrieveRefreshToken(userId),
    );
    if (typeof stored !== 'string' || !constantTimeEqual(stored, token)) {
      throw new BatonError('invalid_token', 'Unknown refresh token');
    }
    this.tokens.assertNotRevoked(sidOf(token), '');
    return { userId, clientId };
  }

  #session(owner: TokenOwner, token: string) {
    return { sub: owner.userId, sid: sidOf(token), client_id: owner.clientId ?? this.o.defaultClientId };
  }

  /** User callbacks may be sync or async; their failures are the storage's, so 503 like a store's (and `store_unavailable`). */
  #call<T>(operation: string, userId: string, run: () => MaybePromise<T>): Promise<T> {
    return this.store.userCallback(operation, userId, run);
  }
}

/** What a session is to this strategy: the user's one stored token, named by its sid. */
interface CallbacksSession {
  userId: string;
  sid: string;
  clientId: string;
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

/** Only the canonical encoding names a user or client; anything else was not issued by us. */
function canonicalText(part: string): string {
  const text = Buffer.from(part, 'base64url').toString('utf8');
  if (base64url(text) !== part) throw new BatonError('invalid_token', 'Malformed refresh token');
  return text;
}

/** A stable id for a refresh token (its access tokens' `sid`), from which the token cannot be recovered. */
function sidOf(token: string): string {
  return createHash('sha256').update(`baton-callbacks\0${token}`).digest('base64url').slice(0, 22);
}

function constantTimeEqual(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}
