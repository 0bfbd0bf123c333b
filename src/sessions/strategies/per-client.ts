import type { Duration } from '../../core/duration.ts';
import { BatonError } from '../../core/errors.ts';
import type { SessionRecord } from '../../stores/types.ts';
import { toSubject } from '../../tokens/access-token.ts';
import { type ResolvedOptionsOf, resolveStrategyOptions } from '../options.ts';
import { type ParsedRefreshToken, parseRefreshToken } from '../refresh-token.ts';
import type {
  BatonUser,
  ClientTokens,
  PerClientToken,
  RefreshContext,
  RequestContext,
  StrategyBaseOptions,
  StrategyCapabilities,
  TokenPair,
} from '../types.ts';
import { capabilities } from './base.ts';
import { StoredSessionStrategy } from './stored-sessions.ts';

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

type ResolvedPerClientOptions<User extends BatonUser> = ResolvedOptionsOf<'per-client', User>;

/**
 * djangorestframework-jwt-refresh-token's design: one long-running refresh
 * token per (user, client), kept in the store as a session that never
 * rotates and (by default) never expires. Creating a token for a client that
 * has one replaces it; deleting revokes it (and the access tokens minted
 * with it). Tokens are derived from the server's refresh key, so the store
 * holds only their hash, yet the token of a (user, client) can be handed out
 * again (the JWT_RESPONSE_PAYLOAD_HANDLER pattern).
 *
 * @example
 * ```ts
 * import { randomBytes } from 'node:crypto';
 * import { generateSigningKey, MemoryStore, PerClientStrategy } from 'baton-auth';
 *
 * const manager = new PerClientStrategy({ // or createAuthManager({ strategy: 'per-client', ... })
 *   issuer: 'https://api.example.com',
 *   audience: 'example-api',
 *   keys: [await generateSigningKey('HS256')],
 *   refreshKey: randomBytes(32), // keep a stable one: tokens are derived from it
 *   store: new MemoryStore(),
 *   loadUser: (id) => ({ id }),
 * });
 * const { token = '' } = await manager.createToken('42', 'mobile-app'); // RefreshToken(user, app)
 * (await manager.listTokens('42')).map((t) => t.clientId); // ['mobile-app']
 * const pair = await manager.delegate(token, 'mobile-app'); // delegate_jwt_token
 * pair.refreshToken === token; // true: the token never rotates, and by default never expires
 * ```
 */
export class PerClientStrategy<User extends BatonUser = BatonUser>
  extends StoredSessionStrategy<User, ResolvedPerClientOptions<User>>
  implements ClientTokens
{
  readonly strategy = 'per-client' as const;
  readonly capabilities: StrategyCapabilities = capabilities({
    listSessions: true,
    logoutAll: true,
    revokeUser: true,
    implicitRefresh: true,
    clientTokens: true,
  });
  protected readonly unsupportedBecause = 'its tokens are managed per client';

  constructor(options: PerClientStrategyOptions<User>) {
    super(resolveStrategyOptions('per-client', options), { idleTimeout: null, graceWindow: 0 });
  }

  /** The per-client management operations: this manager itself. */
  get clientTokens(): ClientTokens {
    return this;
  }

  /** Login: the client's long-running token (created if the user has none for it) and an access token. */
  protected async startSession(
    user: User,
    context: RequestContext,
    jkt: string | undefined,
  ): Promise<TokenPair> {
    const clientId = this.clientIdOf(context);
    const existing = await this.#liveTokenOf(toSubject(user.id), clientId);
    if (existing === undefined) return this.openSession(user, clientId, context, jkt);
    const token = this.sessions.tokenOf(existing);
    return this.sessionPair(existing, user, token, this.loginFreshness(), context, jkt);
  }

  /**
   * DPoP: a long-running token is shared by every login of its client and
   * handed to apps by the management API, so it is never bound to one key; it
   * is the client's credential, as a confidential client's (RFC 9449 section
   * 5). The access tokens are bound to the key of each request's proof.
   */
  protected override sessionBinding(): null {
    return null;
  }

  /** Management: a new token for (user, client); the one it had is revoked. The response is the only time it is shown. */
  async createToken(userId: string, clientId: string, context: RequestContext = {}): Promise<PerClientToken> {
    await this.ready;
    if (typeof clientId !== 'string' || clientId === '' || clientId.length > 256) {
      throw new BatonError('invalid_request', 'client_id (app) must be a non-empty string');
    }
    for (const session of await this.sessions.list(userId)) {
      if (session.clientId !== clientId) continue;
      // Replacing is two steps, each with its event: the old token revoked, then a new one opened.
      for (const revoked of await this.sessions.revoke({ sessionId: session.id }, 'revoked')) {
        this.sessionRevoked(revoked, 'revoked', context);
      }
    }
    const { session, refreshToken } = await this.sessions.open({
      userId,
      clientId,
      ttl: this.o.refreshTokenTtl,
      context,
    });
    this.emit({
      type: 'login',
      reason: 'client_token',
      ...this.factsOf(session),
      ...this.requestFacts(context),
    });
    return { ...this.#describe(session), token: refreshToken };
  }

  /** Management: the user's live tokens, values left out. */
  async listTokens(userId: string): Promise<PerClientToken[]> {
    await this.ready;
    return (await this.sessions.list(userId)).map((session) => this.#describe(session));
  }

  /** Management: revokes one of the user's tokens; another user's is `not_found`. */
  async deleteToken(userId: string, id: string, context: RequestContext = {}): Promise<void> {
    await this.revokeSession(userId, id, context);
  }

  /** The live token of (user, client), or null: what a login response hook includes. */
  async refreshTokenFor(userId: string, clientId: string): Promise<string | null> {
    await this.ready;
    const session = await this.#liveTokenOf(userId, clientId);
    return session ? this.sessions.tokenOf(session) : null;
  }

  /** A new access token; the long-running token is answered unchanged. */
  async refresh(token: string, context: RefreshContext = {}): Promise<TokenPair> {
    await this.ready;
    const parsed = parseRefreshToken(token);
    const session = await this.sessions.authentic(parsed);
    this.assertCurrent(parsed, session);
    this.authorizeRefresh(session.clientId, context);
    const jkt = this.dpopBinding(session.jkt ?? null, context, 'refresh', this.factsOf(session));
    const user = await this.revalidateUser(session.userId, session.id, context);
    await this.sessions.touch(session);
    const pair = this.sessionPair(session, user, token, false, context, jkt);
    return this.answered('refresh', pair, context, null);
  }

  /** The DRF delegate endpoint: a refresh bound to its client. */
  delegate(
    refreshToken: string,
    clientId: string,
    context: Omit<RefreshContext, 'expectedClientId'> = {},
  ): Promise<TokenPair> {
    return this.refresh(refreshToken, { ...context, expectedClientId: clientId });
  }

  /** These tokens never rotate: only generation 0 was ever issued. */
  protected assertCurrent(parsed: ParsedRefreshToken, _session: SessionRecord): void {
    if (parsed.generation !== 0) throw new BatonError('invalid_token', 'Unknown refresh token');
  }

  async #liveTokenOf(userId: string, clientId: string): Promise<SessionRecord | undefined> {
    return (await this.sessions.list(userId)).find((session) => session.clientId === clientId);
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
}
