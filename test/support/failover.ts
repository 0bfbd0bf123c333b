// What the failover tests of the Redis Cluster and Sentinel stores share: the
// refresh load that runs through a master's death, the calls retried while
// the store answers store_unavailable, and the checks that nothing was lost.
import assert from 'node:assert/strict';
import type { SessionManager, SessionStore, TokenPair } from '../../src/index.ts';
import { isBatonError } from '../../src/index.ts';
import { hashSecret, parseRefreshToken } from '../../src/sessions/refresh-token.ts';
import { eventually, Load } from '../races/support.ts';

/** Retries `action` while it answers store_unavailable (every `intervalMs`), for at most `ms`. */
export async function untilAvailable<T>(
  what: string,
  action: () => Promise<T>,
  ms: number,
  intervalMs = 100,
): Promise<T> {
  return eventually(
    what,
    async () => {
      try {
        return await action();
      } catch (error) {
        if (isBatonError(error) && error.code === 'store_unavailable') return undefined;
        throw error;
      }
    },
    ms,
    intervalMs,
  );
}

/**
 * Revokes a session while the store fails over: retried while it answers
 * store_unavailable. An attempt that answered 503 may have revoked it all the
 * same (its reply was lost): a later not_found then counts, once `store` shows
 * the session revoked.
 */
export async function revokeThroughFailover(
  manager: SessionManager,
  store: SessionStore,
  userId: string,
  sessionId: string,
  ms = 25_000,
): Promise<void> {
  let answered503 = false;
  await untilAvailable(
    `revoke ${sessionId} of ${userId}`,
    async () => {
      try {
        await manager.revokeSession(userId, sessionId);
      } catch (error) {
        if (!(answered503 && isBatonError(error) && error.code === 'not_found')) {
          answered503 ||= isBatonError(error) && error.code === 'store_unavailable';
          throw error;
        }
        assert.ok((await store.getSession(sessionId))?.revokedAt, 'revoked by the lost attempt');
      }
      return true;
    },
    ms,
  );
}

/** Refresh chains that run through a failover (a `Load`), and what must hold after it. */
export class FailoverLoad {
  readonly load: Load;
  readonly #chains: number;

  private constructor(load: Load, chains: number) {
    this.load = load;
    this.#chains = chains;
  }

  /** Starts a chain per pair, and waits until each has refreshed twice or so. */
  static async start(manager: SessionManager, chains: readonly TokenPair[]): Promise<FailoverLoad> {
    const load = new Load(
      manager,
      chains.map((pair) => pair.refreshToken),
      40_000,
    );
    const running = new FailoverLoad(load, chains.length);
    await running.#progress('the load is running');
    return running;
  }

  /** Waits until the chains refreshed twice each more, stops them, and says what happened. */
  async finish(): Promise<string> {
    await this.#progress('the load goes on');
    await this.load.stop();
    const { load } = this;
    return (
      `${load.successes} refreshes, ${load.unavailable} store_unavailable over ` +
      `${load.lastUnavailableAt - load.firstUnavailableAt} ms`
    );
  }

  /**
   * After `finish`: no caller saw an error other than store_unavailable, some saw that,
   * and each chain's session (read from `store`) holds the chain's current token, unrevoked.
   */
  async assertNothingLost(store: SessionStore): Promise<void> {
    const { load } = this;
    assert.deepEqual(load.errors, [], 'no caller saw an error other than store_unavailable');
    assert.ok(load.unavailable > 0, 'the load ran into the failover');
    for (const [i, token] of load.tokens.entries()) {
      const parsed = parseRefreshToken(token);
      const session = await store.getSession(parsed.sessionId);
      assert.ok(session, `chain ${i}: session kept`);
      assert.equal(session.generation, parsed.generation, `chain ${i}: the chain holds the current token`);
      assert.equal(session.tokenHash, hashSecret(parsed.secret), `chain ${i}`);
      assert.equal(session.revokedAt, null, `chain ${i}: not revoked`);
    }
  }

  async stop(): Promise<void> {
    await this.load.stop();
  }

  async #progress(what: string): Promise<void> {
    const from = this.load.successes;
    await eventually(what, () => this.load.successes >= from + this.#chains * 2 || undefined, 15_000);
  }
}

/**
 * Waits until `manager` refuses every one of `accessTokens` as token_revoked (its revoked
 * set, kept current by the store's feed: no store read), for at most `ms`; any other
 * refusal fails at once.
 */
export async function untilRevoked(
  what: string,
  manager: SessionManager,
  accessTokens: readonly string[],
  ms: number,
): Promise<void> {
  await eventually(
    what,
    () => {
      for (const token of accessTokens) {
        try {
          manager.verifyAccessToken(token);
          return undefined;
        } catch (error) {
          assert.ok(isBatonError(error) && error.code === 'token_revoked', String(error));
        }
      }
      return true;
    },
    ms,
    10,
  );
}
