/**
 * The options of every manager, one strict schema per strategy: a base that
 * every strategy shares, extended by each (`rotating` is `SessionManager`).
 * Parsed by `parseOptions` (src/core/options.ts), so a bad value, a missing
 * option, a misspelled or unknown key, a seed library's setting name and
 * another strategy's option all fail at construction with a message naming
 * the option.
 *
 * Each field's `meta` is also the README's options table (`npm run
 * docs:options` renders it; a test fails when the README differs):
 * `description`, `default` where the default is not a plain value of the
 * schema, and `accepts`, the phrase messages use.
 */
import { z } from 'zod';
import { type Clock, systemClock } from '../core/clock.ts';
import { type BatonLogger, isLogger } from '../core/logger.ts';
import {
  durationAccepts,
  durationSchema,
  type ExplainUnknown,
  functionSchema,
  nearMisses,
  normalizeKey,
  parseOptions,
} from '../core/options.ts';
import { seedSettingHint } from '../core/seed-settings.ts';
import type { SessionStore } from '../stores/types.ts';
import { dpopOptionsSchema } from '../tokens/dpop.ts';
import { ALGORITHMS, type Algorithm, type SigningKey } from '../tokens/types.ts';
import { DEFAULT_VERIFY_CACHE_MAX, MAX_VERIFY_CACHE_MAX } from '../tokens/verified-cache.ts';
import type { AuthEventListener } from './events.ts';
import type { CallbacksStrategyOptions } from './strategies/callbacks.ts';
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

const BOOLEAN = 'true or false';
const REFRESH_KEY = 'a secret of 32+ bytes (string or Uint8Array)';

const failuresAllowed = z.union([z.literal(false), z.number().int().positive()]);

const refreshKey = z
  .union([z.string(), z.instanceof(Uint8Array)])
  .refine((key) => (typeof key === 'string' ? Buffer.byteLength(key, 'utf8') : key.byteLength) >= 32);

const refreshTokenTtlText = 'absolute session lifetime, never extended';

/** What every strategy takes. */
const baseShape = {
  issuer: z.string().min(1).meta({
    description: '`iss` of access tokens, the only issuer accepted',
    accepts: 'a non-empty string',
  }),
  audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).meta({
    description: '`aud`; a string or a list (a token matching any is accepted)',
    accepts: 'a non-empty string, or a non-empty list of them',
  }),
  keys: z
    .array(
      z
        .custom<SigningKey>((key) => typeof key === 'object' && key !== null && 'alg' in key)
        .meta({ accepts: 'a signing key (from generateSigningKey or importSigningKey)' }),
    )
    .min(1)
    .meta({
      description: 'signing keys, newest last: it signs, every non-retired key verifies',
      accepts: 'a non-empty list of signing keys (from generateSigningKey or importSigningKey)',
    }),
  algorithms: z
    .array(z.enum(ALGORITHMS as [Algorithm, ...Algorithm[]]))
    .min(1)
    .optional()
    .meta({
      description: 'the pinned list verification accepts',
      default: "the keys' algorithms",
      accepts: `a non-empty list of ${ALGORITHMS.join(', ')}`,
    }),
  refreshKey: refreshKey.optional().meta({
    description:
      '32+ bytes; refresh secrets are derived from it (design notes); the other strategies do not use it',
    default: 'required by `rotating` and `per-client`',
    accepts: REFRESH_KEY,
  }),
  store: z
    .custom<SessionStore>(
      (store) =>
        typeof store === 'object' &&
        store !== null &&
        storeMethods.every((method) => typeof (store as Record<string, unknown>)[method] === 'function'),
    )
    .meta({
      description:
        'a `SessionStore`: `MemoryStore`, `SqliteStore`, `RedisStore`, `PostgresStore`, or yours (test it with `baton-auth/testing`)',
      accepts: `a SessionStore (MemoryStore, SqliteStore, RedisStore, PostgresStore, or an object with ${storeMethods.join(', ')})`,
    }),
  clock: z
    .custom<Clock>((clock) => typeof (clock as Clock | undefined)?.now === 'function')
    .default(systemClock)
    .meta({
      description: '`{ now(): ms }`; inject `ManualClock` in tests',
      default: 'system clock',
      accepts: 'a clock: an object with now() answering milliseconds',
    }),
  loadUser: functionSchema().meta({
    description:
      '`loadUser(id)`: your user or `null`; called at every refresh (a missing or disabled user loses all sessions)',
    accepts: 'a function loadUser(userId) answering your user or null (sync or async)',
  }),
  verifyCredentials: functionSchema().optional().meta({
    description:
      '`verifyCredentials(username, password)`: your password check, for `login`, the password grant and reauth',
    accepts: 'a function verifyCredentials(username, password) answering your user or null (sync or async)',
  }),
  accessTokenTtl: durationSchema({ positive: true, example: '15m' })
    .default(900)
    .meta({
      description: 'access-token lifetime',
      accepts: durationAccepts({ positive: true, example: '15m' }),
    }),
  refreshTokenTtl: z
    .union([z.null(), durationSchema({ positive: true, example: '30d' })])
    .default(30 * 86400)
    .meta({
      description: `${refreshTokenTtlText}; \`null\` = never expires`,
      accepts: `${durationAccepts({ positive: true, example: '30d' })}, or null (never expires)`,
    }),
  leeway: durationSchema({ example: '30s' })
    .default(0)
    .meta({ description: 'clock skew allowed on `exp`/`nbf`', accepts: durationAccepts({ example: '30s' }) }),
  freshness: z
    .union([z.boolean(), durationSchema({ example: '15m' })])
    .default(true)
    .meta({
      description:
        '`fresh` of tokens minted by login and reauth: `true`, `false`, or a duration (fresh until `iat` + it)',
      accepts: `true, false, or ${durationAccepts({ example: '15m' })}`,
    }),
  defaultClientId: z.string().min(1).optional().meta({
    description: '`client_id` of sessions that name none',
    default: 'the issuer',
    accepts: 'a non-empty string',
  }),
  rateLimit: z
    // `false` turns both limits off; dropped to the object form so that messages name the fields.
    .preprocess(
      (value) => (value === false ? { perUsername: false, perIp: false } : value),
      z.strictObject({
        perUsername: failuresAllowed.default(10).meta({
          description: 'failed password checks allowed per username in the window; `false`: no limit',
          accepts: 'a positive whole number of failures, or false (no limit)',
        }),
        perIp: failuresAllowed.default(100).meta({
          description: 'failed password checks allowed per client IP in the window; `false`: no limit',
          accepts: 'a positive whole number of failures, or false (no limit)',
        }),
        window: durationSchema({ positive: true, example: '1m' })
          .default(60)
          .meta({
            description: 'the sliding window',
            accepts: durationAccepts({ positive: true, example: '1m' }),
          }),
      }),
    )
    .default({ perUsername: 10, perIp: 100, window: 60 })
    .meta({
      description:
        'failed password checks counted per username and per client IP (sliding; [Security](#sessions-and-tokens)); `false` turns both off',
      default: 'on',
      accepts: 'false (no limits), or { perUsername, perIp, window }',
    }),
  revealDisabledAccounts: z.boolean().default(false).meta({
    description:
      "`true`: a disabled user's correct password answers 403 `user_disabled`; by default it gets the wrong-password answer",
    accepts: BOOLEAN,
  }),
  verifyCache: z
    .union([
      z.literal(false),
      z.strictObject({
        max: z
          .number()
          .int()
          .positive()
          .max(MAX_VERIFY_CACHE_MAX)
          .default(DEFAULT_VERIFY_CACHE_MAX)
          .meta({
            description: 'tokens kept, at most 2 097 152',
            accepts: `a whole number of tokens from 1 to ${MAX_VERIFY_CACHE_MAX}`,
          }),
      }),
    ])
    .default({ max: DEFAULT_VERIFY_CACHE_MAX })
    .meta({
      description:
        'the verified-token cache: a token presented again skips the signature check and the JSON parse; the revoked set and `exp`/`nbf` are still checked on every call; `false` disables ([bench/README.md](bench/README.md#the-verified-token-cache))',
      default: 'on',
      accepts: 'false (no cache), or { max }',
    }),
  dpop: dpopOptionsSchema.optional().meta({
    description:
      'sender-constrained tokens ([DPoP](#dpop-sender-constrained-tokens), RFC 9449): `{ mode, algorithms?, maxAge?, clockSkew?, nonce? }`; the store keeps the proof ids (every Baton store can)',
    default: 'off',
    accepts: "{ mode: 'off' | 'allowed' | 'required', algorithms?, maxAge?, clockSkew?, nonce? }",
  }),
  onEvent: z
    .union([functionSchema<AuthEventListener>(), z.array(functionSchema<AuthEventListener>())])
    .optional()
    .meta({
      description:
        'a listener, or a list of them, for the [security events](#events-and-logging) (`login`, `refresh_token_reused`, ...); more with `manager.events.on`. Called after the answer, never awaited: one that throws or is slow never fails or delays a request',
      accepts: 'a function onEvent(event), or a list of them',
    }),
  logger: z.custom<BatonLogger>(isLogger).optional().meta({
    description:
      'a pino-compatible logger (`info`, `warn`, `error`, `debug`, `child`), e.g. `pino()`: events at `info` (theft, lockouts, outages at `warn`), auth requests at `debug`, unexpected errors and failing listeners at `error` ([Events and logging](#events-and-logging))',
    default: 'errors to `console.error`, nothing else',
    accepts: 'a logger with debug, info, warn, error and child methods (pino, or one shaped like it)',
  }),
};

/** A refreshTokenTtl that may not be null: the strategy's tokens carry their expiry. */
function expiringRefreshTtl(why: string) {
  return durationSchema({ positive: true, example: '30d' })
    .default(30 * 86400)
    .meta({
      description: `${refreshTokenTtlText}; \`null\` is refused: ${why}`,
      accepts: `${durationAccepts({ positive: true, example: '30d' })}; not null: ${why.replace(/`/g, '')}`,
    });
}

const requiredRefreshKey = (description: string) => refreshKey.meta({ description, accepts: REFRESH_KEY });

/** `shape` with `extra` inserted after the key `after` (so that the README lists related options together). */
function insertAfter<S extends Record<string, z.ZodType>, E extends Record<string, z.ZodType>>(
  shape: S,
  after: keyof S,
  extra: E,
): S & E {
  const entries = Object.entries(shape);
  const at = entries.findIndex(([key]) => key === after) + 1;
  return Object.fromEntries([...entries.slice(0, at), ...Object.entries(extra), ...entries.slice(at)]) as S &
    E;
}

const baseSchema = z.strictObject(baseShape);

const rotatingSchema = z.strictObject(
  insertAfter(
    {
      ...baseShape,
      refreshKey: requiredRefreshKey('32+ bytes; refresh secrets are derived from it (design notes)'),
    },
    'refreshTokenTtl',
    {
      idleTimeout: z
        .union([z.null(), durationSchema({ positive: true, example: '8h' })])
        .default(null)
        .meta({
          description: 'a session unused this long expires',
          accepts: `${durationAccepts({ positive: true, example: '8h' })}, or null (off)`,
        }),
      graceWindow: durationSchema({ example: '10s' })
        .default(10)
        .meta({
          description:
            'how long a just-rotated token still answers with its successor; `0` = any reuse is theft',
          accepts: `${durationAccepts({ example: '10s' })}; 0 makes any reuse theft`,
        }),
    },
  ),
);

const jwtSchema = z.strictObject({
  ...baseShape,
  refreshTokenTtl: expiringRefreshTtl(
    'a denied refresh JWT must be forgettable once it expires (use per-client for tokens that never expire)',
  ),
  rotateRefreshTokens: z.boolean().default(false).meta({
    description:
      "issue a new refresh token at every refresh and deny the old one's `jti`; off, as in flask-jwt-extended and AuthX: refresh answers a new access token only, and the refresh token stays valid until it expires or is revoked",
    accepts: BOOLEAN,
  }),
});

const singleTokenSchema = z.strictObject({
  ...baseShape,
  refreshTokenTtl: expiringRefreshTtl('it is the `rf_exp` of every token'),
  allowEarlyRefresh: z.boolean().default(false).meta({
    description:
      'let a token be refreshed before its access lifespan ends; off, as in flask-praetorian: such a refresh is 425 `early_refresh`',
    accepts: BOOLEAN,
  }),
});

const perClientSchema = z.strictObject({
  ...baseShape,
  refreshKey: requiredRefreshKey(
    'HMAC key (32+ bytes) from which the tokens are derived, so that only their hash is stored',
  ),
  refreshTokenTtl: z
    .union([z.null(), durationSchema({ positive: true, example: '30d' })])
    .default(null)
    .meta({
      description: "lifetime of a long-running token; by default it never expires (the DRF seed's behaviour)",
      accepts: `${durationAccepts({ positive: true, example: '30d' })}, or null (never expires)`,
    }),
});

type Callbacks = CallbacksStrategyOptions<BatonUser>;

const callbacksSchema = z.strictObject({
  ...baseShape,
  storeRefreshToken: functionSchema<Callbacks['storeRefreshToken']>().meta({
    description: "sanic-jwt's `store_refresh_token`: persist the user's (one) refresh token; sync or async",
    accepts: 'a function storeRefreshToken(userId, refreshToken) (sync or async)',
  }),
  retrieveRefreshToken: functionSchema<Callbacks['retrieveRefreshToken']>().meta({
    description: "sanic-jwt's `retrieve_refresh_token`: the stored token, or null/undefined; sync or async",
    accepts: 'a function retrieveRefreshToken(userId) answering the stored token or null (sync or async)',
  }),
  revokeRefreshToken: functionSchema<NonNullable<Callbacks['revokeRefreshToken']>>().optional().meta({
    description:
      'forgets the stored token at logout; without it logout denies the token for `refreshTokenTtl`',
    accepts: 'a function revokeRefreshToken(userId) (sync or async)',
  }),
});

/** Every strategy's schema, without the `strategy` key that `createAuthManager` passes through. */
const STRATEGY_SCHEMAS = {
  rotating: rotatingSchema,
  jwt: jwtSchema,
  'single-token': singleTokenSchema,
  'per-client': perClientSchema,
  callbacks: callbacksSchema,
} as const;

export type StrategySchemaName = keyof typeof STRATEGY_SCHEMAS;

/** For the README's options table (scripts/options-table.ts) and tests; not part of the package's API. */
export const sessionManagerOptionsSchema = rotatingSchema;
/** The options every strategy takes; not part of the package's API. */
export const baseOptionsSchema = baseSchema;
/** Each strategy's schema, `rotating` being SessionManager's; not part of the package's API. */
export const strategyOptionsSchemas: Readonly<Record<StrategySchemaName, z.ZodObject>> = STRATEGY_SCHEMAS;

const OWNERS: Record<StrategySchemaName, string> = {
  rotating: 'SessionManager',
  jwt: 'jwt strategy',
  'single-token': 'single-token strategy',
  'per-client': 'per-client strategy',
  callbacks: 'callbacks strategy',
};

/** The schema parsed for a strategy: its own, plus the `strategy` key (that literal, ignored). */
const PARSED: { [N in StrategySchemaName]: z.ZodType } = Object.fromEntries(
  (Object.keys(STRATEGY_SCHEMAS) as StrategySchemaName[]).map((name) => {
    const alternatives = name === 'rotating' ? "'rotating' (the default)" : `'${name}'`;
    const strategy = z
      .literal(name)
      .optional()
      .meta({
        accepts: `${alternatives} here: createAuthManager picks the manager by it; use createAuthManager for another strategy`,
      });
    return [name, z.strictObject({ ...STRATEGY_SCHEMAS[name].shape, strategy })];
  }),
) as unknown as { [N in StrategySchemaName]: z.ZodType };

function strategyList(names: readonly string[]): string {
  const text = names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
  return `the ${text} ${names.length === 1 ? 'strategy' : 'strategies'}`;
}

/**
 * For an unknown top-level key of `name`'s options: a seed library's setting
 * (Baton's equivalent), or another strategy's option ("graceWindow is an
 * option of the rotating strategy only").
 */
function explainFor(name: StrategySchemaName): ExplainUnknown {
  const own = new Set(Object.keys(STRATEGY_SCHEMAS[name].shape));
  return (key, path) => {
    if (path.length > 0) return undefined;
    const elsewhere = new Map<string, StrategySchemaName[]>();
    for (const other of Object.keys(STRATEGY_SCHEMAS) as StrategySchemaName[]) {
      for (const option of Object.keys(STRATEGY_SCHEMAS[other].shape)) {
        if (!own.has(option)) elsewhere.set(option, [...(elsewhere.get(option) ?? []), other]);
      }
    }
    const whose = (option: string) =>
      `${option} is an option of ${strategyList(elsewhere.get(option)!)} only`;
    // Baton's own name first (storeRefreshToken), then a seed's (store_refresh_token), then near ones.
    if (elsewhere.has(key)) return whose(key);
    const seed = seedSettingHint(key);
    if (seed !== undefined) return seed;
    const exact = [...elsewhere.keys()].find((option) => normalizeKey(option) === normalizeKey(key));
    if (exact !== undefined) return whose(exact);
    const near = nearMisses(key, [...elsewhere.keys()])[0];
    if (near !== undefined) {
      return `did you mean ${near}? It is an option of ${strategyList(elsewhere.get(near)!)} only`;
    }
    return undefined;
  };
}

type Resolved<S extends z.ZodType, User extends BatonUser> = Omit<
  z.output<S>,
  'loadUser' | 'verifyCredentials' | 'defaultClientId' | 'strategy'
> &
  Pick<SessionManagerOptions<User>, 'loadUser' | 'verifyCredentials'> & { defaultClientId: string };

/** SessionManager's (the rotating strategy's) options, resolved. */
export type ResolvedOptions<User extends BatonUser> = Resolved<typeof rotatingSchema, User>;

/** The options every strategy shares, resolved; each strategy's Resolved type adds its own. */
export type ResolvedStrategyOptions<User extends BatonUser> = Resolved<typeof baseSchema, User>;

/** A strategy's options, resolved: defaults applied, durations in seconds. */
export type ResolvedOptionsOf<N extends StrategySchemaName, User extends BatonUser> = Resolved<
  (typeof STRATEGY_SCHEMAS)[N],
  User
>;

/**
 * Validates and resolves the options of strategy `name` (`rotating` is
 * SessionManager); throws `BatonError('invalid_options')` naming every bad,
 * missing or unknown option. The `strategy` key createAuthManager passes
 * through is accepted (the right literal only) and dropped.
 */
export function resolveStrategyOptions<N extends StrategySchemaName, User extends BatonUser>(
  name: N,
  options: StrategyBaseOptions<User> | SessionManagerOptions<User>,
): ResolvedOptionsOf<N, User> {
  const { strategy: _strategy, ...parsed } = parseOptions(PARSED[name], options, OWNERS[name], {
    explainUnknown: explainFor(name),
  }) as Record<string, unknown> & { issuer: string; defaultClientId?: string };
  return {
    ...parsed,
    loadUser: options.loadUser,
    verifyCredentials: options.verifyCredentials,
    defaultClientId: parsed.defaultClientId ?? parsed.issuer,
  } as unknown as ResolvedOptionsOf<N, User>;
}

/** SessionManager's options. */
export function resolveOptions<User extends BatonUser>(
  options: SessionManagerOptions<User>,
): ResolvedOptions<User> {
  return resolveStrategyOptions('rotating', options);
}

/** Whether `key` (in any spelling) is an option of some strategy: for the HTTP layer's hint. */
export function managerOptionNamed(key: string): string | undefined {
  for (const schema of Object.values(STRATEGY_SCHEMAS)) {
    const found = Object.keys(schema.shape).find((option) => normalizeKey(option) === normalizeKey(key));
    if (found !== undefined) return found;
  }
  return undefined;
}
