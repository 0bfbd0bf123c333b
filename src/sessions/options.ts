import { z } from 'zod';
import { type Clock, systemClock } from '../core/clock.ts';
import { durationSchema, functionSchema, parseOptions } from '../core/options.ts';
import type { SessionStore } from '../stores/types.ts';
import { ALGORITHMS, type Algorithm, type SigningKey } from '../tokens/types.ts';
import { DEFAULT_VERIFY_CACHE_MAX, MAX_VERIFY_CACHE_MAX } from '../tokens/verified-cache.ts';
import type { BatonUser, SessionManagerOptions, StrategyBaseOptions } from './types.ts';

const storeMethods = [
  'createSession',
  'getSession',
  'rotateSession',
  'touchSession',
  'revokeSessions',
  'listSessions',
  'addRevocation',
  'listRevocations',
  'deleteExpired',
  'close',
] as const;

const failuresAllowed = z.union([z.literal(false), z.number().int().positive()], {
  error: 'must be a positive whole number of failures, or false',
});

const nullableDuration = (name: string) => z.union([z.null(), durationSchema(name)]);

const schema = z.object({
  issuer: z.string().min(1),
  audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  keys: z
    .array(z.custom<SigningKey>((key) => typeof key === 'object' && key !== null && 'alg' in key))
    .min(1),
  algorithms: z
    .array(z.enum(ALGORITHMS as [Algorithm, ...Algorithm[]]))
    .min(1)
    .optional(),
  refreshKey: z.union([z.string(), z.instanceof(Uint8Array)]),
  store: z.custom<SessionStore>(
    (store) =>
      typeof store === 'object' &&
      store !== null &&
      storeMethods.every((method) => typeof (store as Record<string, unknown>)[method] === 'function'),
    { message: `must implement SessionStore (${storeMethods.join(', ')})` },
  ),
  clock: z
    .custom<Clock>((clock) => typeof (clock as Clock | undefined)?.now === 'function')
    .default(systemClock),
  loadUser: functionSchema('loadUser'),
  verifyCredentials: functionSchema('verifyCredentials').optional(),
  accessTokenTtl: durationSchema('accessTokenTtl')
    .default(900)
    .refine((seconds) => seconds > 0, 'must be positive'),
  refreshTokenTtl: nullableDuration('refreshTokenTtl').default(30 * 86400),
  idleTimeout: nullableDuration('idleTimeout').default(null),
  graceWindow: durationSchema('graceWindow').default(10),
  leeway: durationSchema('leeway').default(0),
  freshness: z.union([z.boolean(), durationSchema('freshness')]).default(true),
  defaultClientId: z.string().min(1).optional(),
  rateLimit: z
    // `false` turns both limits off; dropped to the object form so that messages name the fields.
    .preprocess(
      (value) => (value === false ? { perUsername: false, perIp: false } : value),
      z.strictObject(
        {
          perUsername: failuresAllowed.default(10),
          perIp: failuresAllowed.default(100),
          window: durationSchema('rateLimit.window')
            .default(60)
            .refine((seconds) => seconds > 0, 'must be positive'),
        },
        {
          error: (issue) =>
            issue.code === 'unrecognized_keys'
              ? `unknown ${issue.keys.map((key) => `"${key}"`).join(', ')}; rateLimit takes perUsername, perIp (failures allowed, or false) and window`
              : undefined,
        },
      ),
    )
    .default({ perUsername: 10, perIp: 100, window: 60 }),
  revealDisabledAccounts: z.boolean().default(false),
  verifyCache: z
    .union([
      z.literal(false),
      z.object({
        max: z.number().int().positive().max(MAX_VERIFY_CACHE_MAX).default(DEFAULT_VERIFY_CACHE_MAX),
      }),
    ])
    .default({ max: DEFAULT_VERIFY_CACHE_MAX }),
});

export type ResolvedOptions<User extends BatonUser> = Omit<
  z.output<typeof schema>,
  'loadUser' | 'verifyCredentials' | 'defaultClientId'
> &
  Pick<SessionManagerOptions<User>, 'loadUser' | 'verifyCredentials'> & { defaultClientId: string };

export function resolveOptions<User extends BatonUser>(
  options: SessionManagerOptions<User>,
): ResolvedOptions<User> {
  const parsed = parseOptions(schema, options, 'SessionManager');
  return {
    ...parsed,
    loadUser: options.loadUser,
    verifyCredentials: options.verifyCredentials,
    defaultClientId: parsed.defaultClientId ?? parsed.issuer,
  };
}

/** The options every strategy shares: those of SessionManager, with `refreshKey` needed only where a strategy derives secrets. */
const strategySchema = schema.partial({ refreshKey: true });

export type ResolvedStrategyOptions<User extends BatonUser> = Omit<
  z.output<typeof strategySchema>,
  'loadUser' | 'verifyCredentials' | 'defaultClientId'
> &
  Pick<SessionManagerOptions<User>, 'loadUser' | 'verifyCredentials'> & { defaultClientId: string };

export function resolveStrategyOptions<User extends BatonUser>(
  options: StrategyBaseOptions<User>,
  owner: string,
): ResolvedStrategyOptions<User> {
  const parsed = parseOptions(strategySchema, options, owner);
  return {
    ...parsed,
    loadUser: options.loadUser,
    verifyCredentials: options.verifyCredentials,
    defaultClientId: parsed.defaultClientId ?? parsed.issuer,
  };
}
