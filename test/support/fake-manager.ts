// An AuthManager whose answers a test picks: for specifying the HTTP layer
// apart from any strategy (a fake of the manager, never of a store).

import type { AuthManager, StrategyCapabilities } from '../../src/index.ts';
import { BatonError, type Clock, systemClock } from '../../src/index.ts';

const EVERYTHING: StrategyCapabilities = {
  listSessions: true,
  logoutAll: true,
  revokeUser: true,
  implicitRefresh: true,
  clientTokens: false,
};

function notFaked(what: string): never {
  throw new BatonError('internal_error', `the fake manager has no ${what}`);
}

/** Every method present; those the test does not give throw `internal_error` when called. */
export function fakeManager(answers: Partial<AuthManager> & { clock?: Clock } = {}): AuthManager {
  return {
    strategy: 'rotating',
    capabilities: EVERYTHING,
    clock: systemClock,
    ready: Promise.resolve(),
    login: async () => notFaked('login'),
    issueSession: async () => notFaked('issueSession'),
    refresh: async () => notFaked('refresh'),
    reauthenticate: async () => notFaked('reauthenticate'),
    reissueAccessToken: async () => notFaked('reissueAccessToken'),
    verifyAccessToken: () => notFaked('verifyAccessToken'),
    isFresh: () => false,
    logout: async () => {},
    logoutAll: async () => 1,
    listSessions: async () => [],
    revokeSession: async () => {},
    revokeUser: async () => 0,
    revokeToken: async () => {},
    describeToken: async () => null,
    jwks: () => ({ keys: [] }),
    close: async () => {},
    ...answers,
  };
}
