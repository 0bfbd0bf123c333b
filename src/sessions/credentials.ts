import type { Clock } from '../core/clock.ts';
import { BatonError } from '../core/errors.ts';
import { AttemptLimiter } from './attempt-limiter.ts';
import type { BatonUser, MaybePromise, RequestContext } from './types.ts';

export type VerifyCredentials<User extends BatonUser> = (
  username: string,
  password: string,
) => MaybePromise<User | null | undefined>;

/**
 * The password check every strategy shares: rate limited per username and
 * per IP before any hashing, failures counted, disabled users refused.
 */
export class Credentials<User extends BatonUser> {
  readonly #verify: VerifyCredentials<User> | undefined;
  readonly #limiter: AttemptLimiter | null;

  constructor(
    verify: VerifyCredentials<User> | undefined,
    rateLimit: { max: number; window: number } | false,
    clock: Clock,
  ) {
    this.#verify = verify;
    this.#limiter = rateLimit === false ? null : new AttemptLimiter(rateLimit.max, rateLimit.window, clock);
  }

  async check(username: string, password: string, context: RequestContext = {}): Promise<User> {
    const verify = this.#verify;
    if (!verify) throw new BatonError('invalid_options', 'verifyCredentials is not configured');
    const keys = [`user:${username.toLowerCase()}`, ...(context.ip ? [`ip:${context.ip}`] : [])];
    this.#limiter?.check(keys);
    const user = await verify(username, password);
    if (!user) {
      this.#limiter?.recordFailure(keys);
      throw new BatonError('invalid_credentials', 'Invalid username or password');
    }
    assertEnabled(user);
    return user;
  }
}

export function assertEnabled(user: BatonUser): void {
  if (user.disabled) throw new BatonError('user_disabled', 'This account is disabled');
}

/** The name `verifyCredentials` knows a user by, for reauth. */
export function usernameOf(user: BatonUser, fallback: string): string {
  return user.username ?? fallback;
}
