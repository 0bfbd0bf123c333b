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

/**
 * The options of `new SessionManager(options)`. Each field's `meta` is the
 * README's options table (`npm run docs:options` renders it; a test fails
 * when the README differs): `description`, and `default` where the default
 * is not a plain value of the schema.
 */
const schema = z.object({
  issuer: z.string().min(1).meta({ description: '`iss` of access tokens, the only issuer accepted' }),
  audience: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .meta({ description: '`aud`; a string or a list (a token matching any is accepted)' }),
  keys: z
    .array(z.custom<SigningKey>((key) => typeof key === 'object' && key !== null && 'alg' in key))
    .min(1)
    .meta({ description: 'signing keys, newest last: it signs, every non-retired key verifies' }),
  algorithms: z
    .array(z.enum(ALGORITHMS as [Algorithm, ...Algorithm[]]))
    .min(1)
    .optional()
    .meta({ description: 'the pinned list verification accepts', default: "the keys' algorithms" }),
  refreshKey: z
    .union([z.string(), z.instanceof(Uint8Array)])
    .meta({ description: '32+ bytes; refresh secrets are derived from it (design notes)' }),
  store: z
    .custom<SessionStore>(
      (store) =>
        typeof store === 'object' &&
        store !== null &&
        storeMethods.every((method) => typeof (store as Record<string, unknown>)[method] === 'function'),
      { message: `must implement SessionStore (${storeMethods.join(', ')})` },
    )
    .meta({
      description:
        'a `SessionStore`: `MemoryStore`, `SqliteStore`, `RedisStore`, `PostgresStore`, or yours (test it with `baton-auth/testing`)',
    }),
  clock: z
    .custom<Clock>((clock) => typeof (clock as Clock | undefined)?.now === 'function')
    .default(systemClock)
    .meta({ description: '`{ now(): ms }`; inject `ManualClock` in tests', default: 'system clock' }),
  loadUser: functionSchema('loadUser').meta({
    description:
      '`loadUser(id)`: your user or `null`; called at every refresh (a missing or disabled user loses all sessions)',
  }),
  verifyCredentials: functionSchema('verifyCredentials').optional().meta({
    description:
      '`verifyCredentials(username, password)`: your password check, for `login`, the password grant and reauth',
  }),
  accessTokenTtl: durationSchema('accessTokenTtl')
    .default(900)
    .refine((seconds) => seconds > 0, 'must be positive')
    .meta({ description: 'access-token lifetime' }),
  refreshTokenTtl: nullableDuration('refreshTokenTtl')
    .default(30 * 86400)
    .meta({ description: 'absolute session lifetime, never extended; `null` = never expires' }),
  idleTimeout: nullableDuration('idleTimeout')
    .default(null)
    .meta({ description: 'a session unused this long expires' }),
  graceWindow: durationSchema('graceWindow').default(10).meta({
    description: 'how long a just-rotated token still answers with its successor; `0` = any reuse is theft',
  }),
  leeway: durationSchema('leeway').default(0).meta({ description: 'clock skew allowed on `exp`/`nbf`' }),
  freshness: z
    .union([z.boolean(), durationSchema('freshness')])
    .default(true)
    .meta({
      description:
        '`fresh` of tokens minted by login and reauth: `true`, `false`, or a duration (fresh until `iat` + it)',
    }),
  defaultClientId: z
    .string()
    .min(1)
    .optional()
    .meta({ description: '`client_id` of sessions that name none', default: 'the issuer' }),
  rateLimit: z
    // `false` turns both limits off; dropped to the object form so that messages name the fields.
    .preprocess(
      (value) => (value === false ? { perUsername: false, perIp: false } : value),
      z.strictObject(
        {
          perUsername: failuresAllowed.default(10).meta({
            description: 'failed password checks allowed per username in the window; `false`: no limit',
          }),
          perIp: failuresAllowed.default(100).meta({
            description: 'failed password checks allowed per client IP in the window; `false`: no limit',
          }),
          window: durationSchema('rateLimit.window')
            .default(60)
            .refine((seconds) => seconds > 0, 'must be positive')
            .meta({ description: 'the sliding window' }),
        },
        {
          error: (issue) =>
            issue.code === 'unrecognized_keys'
              ? `unknown ${issue.keys.map((key) => `"${key}"`).join(', ')}; rateLimit takes perUsername, perIp (failures allowed, or false) and window`
              : undefined,
        },
      ),
    )
    .default({ perUsername: 10, perIp: 100, window: 60 })
    .meta({
      description:
        'failed password checks counted per username and per client IP (sliding; [Security](#sessions-and-tokens)); `false` turns both off',
      default: 'on',
    }),
  revealDisabledAccounts: z.boolean().default(false).meta({
    description:
      "`true`: a disabled user's correct password answers 403 `user_disabled`; by default it gets the wrong-password answer",
  }),
  verifyCache: z
    .union([
      z.literal(false),
      z.object({
        max: z
          .number()
          .int()
          .positive()
          .max(MAX_VERIFY_CACHE_MAX)
          .default(DEFAULT_VERIFY_CACHE_MAX)
          .meta({ description: 'tokens kept, at most 2 097 152' }),
      }),
    ])
    .default({ max: DEFAULT_VERIFY_CACHE_MAX })
    .meta({
      description:
        'the verified-token cache: a token presented again skips the signature check and the JSON parse; the revoked set and `exp`/`nbf` are still checked on every call; `false` disables ([bench/README.md](bench/README.md#the-verified-token-cache))',
      default: 'on',
    }),
});

/** For the README's options table (scripts/options-table.ts); not part of the package's API. */
export const sessionManagerOptionsSchema = schema;

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
