/**
 * Each strategy's options over a strategy harness's base (test/strategies/support.ts),
 * for the tests that run every strategy alike: the refresh key given, early
 * refresh allowed, the callbacks strategy's storage in a map.
 */
import type { StrategyName } from '../../src/index.ts';
import type { BaseOptions, strategyHarness } from '../strategies/support.ts';

/** One strategy's options, as `strategyHarness` takes them. */
export type Design = (
  base: BaseOptions,
) => Parameters<typeof strategyHarness>[1] extends (b: BaseOptions) => infer O ? O : never;

/** `extra`: more options for some strategies; `revokeRefreshToken`: give the callbacks strategy that callback too. */
export function strategyDesigns(
  refreshKey: string | Uint8Array,
  extra: Partial<Record<StrategyName, Record<string, unknown>>> = {},
  options: { revokeRefreshToken?: boolean } = {},
): Record<StrategyName, Design> {
  const designs: Record<StrategyName, (base: BaseOptions) => object> = {
    rotating: (base) => ({ ...base, strategy: 'rotating', refreshKey, ...extra.rotating }),
    jwt: (base) => ({ ...base, strategy: 'jwt', ...extra.jwt }),
    'single-token': (base) => ({
      ...base,
      strategy: 'single-token',
      allowEarlyRefresh: true,
      ...extra['single-token'],
    }),
    'per-client': (base) => ({ ...base, strategy: 'per-client', refreshKey, ...extra['per-client'] }),
    callbacks: (base) => {
      const stored = new Map<string, string>();
      return {
        ...base,
        strategy: 'callbacks',
        storeRefreshToken: (id: string, token: string) => void stored.set(id, token),
        retrieveRefreshToken: (id: string) => stored.get(id),
        ...(options.revokeRefreshToken ? { revokeRefreshToken: (id: string) => void stored.delete(id) } : {}),
        ...extra.callbacks,
      };
    },
  };
  return designs as Record<StrategyName, Design>;
}
