import type { Clock } from '../core/clock.ts';
import { BatonError } from '../core/errors.ts';
import { AttemptLimiter } from './attempt-limiter.ts';
import type { BatonUser, MaybePromise, RequestContext } from './types.ts';

export type VerifyCredentials<User extends BatonUser> = (
  username: string,
  password: string,
) => MaybePromise<User | null | undefined>;

/** `rateLimit` as resolved: failures allowed per username and per IP in the window (`false`: that limit is off). */
export interface ResolvedRateLimit {
  perUsername: number | false;
  perIp: number | false;
  /** Seconds. */
  window: number;
}

export interface CredentialsOptions<User extends BatonUser> {
  verifyCredentials?: VerifyCredentials<User> | undefined;
  rateLimit: ResolvedRateLimit;
  /** Answer a disabled user's correct password with `user_disabled` (which confirms the password). */
  revealDisabledAccounts: boolean;
  clock: Clock;
}

/** Why a password check was refused, for the manager's `login_failed` and `rate_limited` events. */
export type CredentialRefusal =
  | { type: 'rate_limited'; limit: 'username' | 'ip'; retryAfter: number }
  | {
      type: 'login_failed';
      reason: 'invalid_credentials' | 'user_disabled' | 'wrong_user';
      userId: string | null;
    };

/**
 * The password check every strategy shares. Rate limited per username and
 * per IP before any hashing; failures counted. A disabled account answers
 * exactly as a wrong password does (same code, same message, same hashing,
 * counted as a failure), so the answer never confirms a guessed password,
 * unless `revealDisabledAccounts` says to name the reason after a correct one.
 */
export class Credentials<User extends BatonUser> {
  readonly #verify: VerifyCredentials<User> | undefined;
  readonly #byUsername: AttemptLimiter | null;
  readonly #byIp: AttemptLimiter | null;
  readonly #revealDisabled: boolean;

  constructor(options: CredentialsOptions<User>) {
    const { rateLimit, clock } = options;
    this.#verify = options.verifyCredentials;
    this.#revealDisabled = options.revealDisabledAccounts;
    const limiter = (max: number | false) =>
      max === false ? null : new AttemptLimiter(max, rateLimit.window, clock);
    this.#byUsername = limiter(rateLimit.perUsername);
    this.#byIp = limiter(rateLimit.perIp);
  }

  /** Checks a password; `onRefused` hears why a check was refused (once per refused check). */
  async check(
    username: string,
    password: string,
    context: RequestContext = {},
    onRefused?: (refusal: CredentialRefusal) => void,
  ): Promise<User> {
    const verify = this.#verify;
    if (!verify) throw new BatonError('invalid_options', 'verifyCredentials is not configured');
    const userKey = username.toLowerCase();
    const ip = context.ip || undefined;
    // Both limits before any hashing: a locked-out caller costs the server nothing.
    const byUsername = this.#byUsername?.retryAfter(userKey) ?? 0;
    const byIp = ip === undefined ? 0 : (this.#byIp?.retryAfter(ip) ?? 0);
    const retryAfter = Math.max(byUsername, byIp);
    if (retryAfter > 0) {
      onRefused?.({ type: 'rate_limited', limit: byUsername >= byIp ? 'username' : 'ip', retryAfter });
      throw new BatonError('too_many_attempts', 'Too many failed attempts; try again later', { retryAfter });
    }
    const user = await verify(username, password);
    if (!user || user.disabled) {
      const disabled = Boolean(user?.disabled);
      onRefused?.({
        type: 'login_failed',
        reason: disabled ? 'user_disabled' : 'invalid_credentials',
        userId: user ? idOf(user) : null,
      });
      // The password was right: say so only where the policy allows it.
      if (user && this.#revealDisabled) assertEnabled(user);
      this.#byUsername?.recordFailure(userKey);
      if (ip !== undefined) this.#byIp?.recordFailure(ip);
      throw new BatonError('invalid_credentials', 'Invalid username or password');
    }
    return user;
  }
}

/** A user's id as events name it (never throws: an event must not fail the check it reports). */
function idOf(user: BatonUser): string | null {
  return typeof user.id === 'string' || typeof user.id === 'number' ? String(user.id) : null;
}

export function assertEnabled(user: BatonUser): void {
  if (user.disabled) throw new BatonError('user_disabled', 'This account is disabled');
}

/** The name `verifyCredentials` knows a user by, for reauth. */
export function usernameOf(user: BatonUser, fallback: string): string {
  return user.username ?? fallback;
}
