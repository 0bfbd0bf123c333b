import { BatonError } from '../../core/errors.ts';
import { nearMisses } from '../../core/options.ts';
import type { BatonUser, SessionManagerOptions } from '../types.ts';
import { CallbacksStrategy, type CallbacksStrategyOptions } from './callbacks.ts';
import { JwtStrategy, type JwtStrategyOptions } from './jwt.ts';
import { PerClientStrategy, type PerClientStrategyOptions } from './per-client.ts';
import { SessionManager } from './rotating.ts';
import { SingleTokenStrategy, type SingleTokenStrategyOptions } from './single-token.ts';

export { CallbacksStrategy, type CallbacksStrategyOptions } from './callbacks.ts';
export { JwtStrategy, type JwtStrategyOptions, REFRESH_TOKEN_TYP, type RefreshClaims } from './jwt.ts';
export { PerClientStrategy, type PerClientStrategyOptions } from './per-client.ts';
export { SessionManager } from './rotating.ts';
export { SingleTokenStrategy, type SingleTokenStrategyOptions } from './single-token.ts';

/** `createAuthManager`'s options: one `strategy` field selects the design, the rest are that strategy's options. */
export type AuthManagerOptions<User extends BatonUser = BatonUser> =
  | ({ strategy?: 'rotating' } & SessionManagerOptions<User>)
  | ({ strategy: 'jwt' } & JwtStrategyOptions<User>)
  | ({ strategy: 'single-token' } & SingleTokenStrategyOptions<User>)
  | ({ strategy: 'per-client' } & PerClientStrategyOptions<User>)
  | ({ strategy: 'callbacks' } & CallbacksStrategyOptions<User>);

export type AnyAuthManager<User extends BatonUser = BatonUser> =
  | SessionManager<User>
  | JwtStrategy<User>
  | SingleTokenStrategy<User>
  | PerClientStrategy<User>
  | CallbacksStrategy<User>;

const STRATEGIES = ['rotating', 'jwt', 'single-token', 'per-client', 'callbacks'];

type ManagerFor<User extends BatonUser, O> = O extends { strategy: 'jwt' }
  ? JwtStrategy<User>
  : O extends { strategy: 'single-token' }
    ? SingleTokenStrategy<User>
    : O extends { strategy: 'per-client' }
      ? PerClientStrategy<User>
      : O extends { strategy: 'callbacks' }
        ? CallbacksStrategy<User>
        : SessionManager<User>;

/**
 * Builds the manager of one refresh-token design. Each is an `AuthManager`
 * (one family on one base, told apart by `strategy` and `capabilities`), so `createAuthHandler(createAuthManager(...))`
 * serves the same routes whatever the strategy.
 *
 * @example
 * ```ts
 * import { createAuthManager, generateSigningKey, MemoryStore } from 'baton-auth';
 *
 * // flask-jwt-extended's design: refresh JWTs with a denylist
 * const manager = createAuthManager({
 *   strategy: 'jwt',
 *   issuer: 'https://api.example.com',
 *   audience: 'example-api',
 *   keys: [await generateSigningKey('HS256')],
 *   store: new MemoryStore(),
 *   loadUser: (id) => ({ id }),
 * });
 * ```
 */
export function createAuthManager<User extends BatonUser, O extends AuthManagerOptions<User>>(
  options: O,
): ManagerFor<User, O>;
export function createAuthManager<User extends BatonUser>(
  options: AuthManagerOptions<User>,
): AnyAuthManager<User> {
  switch (options.strategy) {
    case undefined:
    case 'rotating':
      return new SessionManager<User>(options);
    case 'jwt':
      return new JwtStrategy<User>(options);
    case 'single-token':
      return new SingleTokenStrategy<User>(options);
    case 'per-client':
      return new PerClientStrategy<User>(options);
    case 'callbacks':
      return new CallbacksStrategy<User>(options);
    default: {
      const strategy = (options as { strategy: unknown }).strategy;
      const near = typeof strategy === 'string' ? nearMisses(strategy, STRATEGIES) : [];
      throw new BatonError(
        'invalid_options',
        `Unknown strategy ${JSON.stringify(strategy)}; ${near.length > 0 ? `did you mean ${near.join(' or ')}? ` : ''}use rotating, jwt, single-token, per-client or callbacks`,
      );
    }
  }
}
