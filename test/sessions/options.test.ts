/**
 * Options are strict, in one style, for every strategy: `new SessionManager`
 * (the rotating strategy) and `createAuthManager({ strategy })` for all five.
 * A bad value, a missing option, an unknown or misspelled key, a seed
 * library's setting name and another strategy's option all throw
 * `invalid_options` at construction, with a message that names the option.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { SEED_SETTINGS } from '../../src/core/seed-settings.ts';
import type { SigningKey } from '../../src/index.ts';
import { BatonError, createAuthManager, JwtStrategy, MemoryStore, SessionManager } from '../../src/index.ts';
import { strategyOptionsSchemas } from '../../src/sessions/options.ts';
import { signingKey } from './support.ts';

type Options = Record<string, unknown>;

interface Construction {
  /** How the manager is built, for test names. */
  label: string;
  /** Its strategy, as `createAuthManager` names it. */
  strategy: keyof typeof strategyOptionsSchemas;
  /** The owner its messages name: "Invalid <owner> options: ...". */
  owner: string;
  make(options: Options): { close(): Promise<void> };
}

let key: SigningKey;
before(async () => {
  key = await signingKey();
});

/** Options every strategy accepts as they are, plus what `strategy` needs. */
function valid(strategy: Construction['strategy']): Options {
  const base: Options = {
    issuer: 'https://baton.test',
    audience: 'baton-api',
    keys: [key],
    store: new MemoryStore(),
    loadUser: () => null,
  };
  switch (strategy) {
    case 'rotating':
    case 'per-client':
      return { ...base, refreshKey: 'r'.repeat(32) };
    case 'callbacks':
      return { ...base, storeRefreshToken: () => {}, retrieveRefreshToken: () => null };
    default:
      return base;
  }
}

const constructions: Construction[] = [
  {
    label: 'new SessionManager',
    strategy: 'rotating',
    owner: 'SessionManager',
    make: (options) => new SessionManager({ ...valid('rotating'), ...options } as never),
  },
  ...(['rotating', 'jwt', 'single-token', 'per-client', 'callbacks'] as const).map(
    (strategy): Construction => ({
      label: `createAuthManager({ strategy: '${strategy}' })`,
      strategy,
      owner: strategy === 'rotating' ? 'SessionManager' : `${strategy} strategy`,
      make: (options) => createAuthManager({ ...valid(strategy), strategy, ...options } as never),
    }),
  ),
];

/** The message of the `invalid_options` error `build` throws; fails when it builds. */
function refusal(build: () => unknown): string {
  let manager: unknown;
  try {
    manager = build();
  } catch (error) {
    assert.ok(error instanceof BatonError, `a BatonError, got ${String(error)}`);
    assert.equal(error.code, 'invalid_options', error.message);
    return error.message;
  }
  void (manager as { close?(): Promise<void> }).close?.();
  assert.fail('the options were accepted');
}

/** Every seed setting name of the migration guides, with what its message must name. */
const SEED_NAMES: readonly [name: string, library: RegExp, equivalent: RegExp][] = [
  // docs/migrating-from-sanic-jwt.md (sanic-jwt also takes its settings unprefixed, as Initialize arguments)
  [
    'SANIC_JWT_REFRESH_TOKEN_ENABLED',
    /sanic-jwt's/,
    /Baton has no such option: refresh tokens are always on; .*strategy: 'callbacks'/,
  ],
  [
    'refresh_token_enabled',
    /sanic-jwt's/,
    /Baton has no such option: refresh tokens are always on; .*strategy: 'callbacks'/,
  ],
  ['SANIC_JWT_EXPIRATION_DELTA', /sanic-jwt's/, /Baton's is accessTokenTtl \(seconds or '15m'/],
  ['expiration_delta', /sanic-jwt's/, /Baton's is accessTokenTtl \(seconds or '15m'/],
  ['SANIC_JWT_SECRET', /sanic-jwt's/, /Baton's is keys: /],
  ['secret', /sanic-jwt's/, /Baton's is keys: /],
  ['SANIC_JWT_ALGORITHM', /sanic-jwt's/, /Baton's is keys: .*algorithms pins/],
  ['algorithm', /sanic-jwt's/, /Baton's is keys: .*; or did you mean algorithms\?/],
  ['store_refresh_token', /sanic-jwt's|did you mean/, /storeRefreshToken/],
  ['retrieve_refresh_token', /sanic-jwt's|did you mean/, /retrieveRefreshToken/],
  ['authenticate', /sanic-jwt's/, /Baton's is verifyCredentials\(username, password\)/],
  ['retrieve_user', /sanic-jwt's/, /Baton's is loadUser\(userId\)/],
  // docs/migrating-from-flask-jwt-extended.md and docs/migrating-from-fastjwt-authx.md
  ['JWT_ACCESS_TOKEN_EXPIRES', /flask-jwt-extended's and AuthX's/, /Baton's is accessTokenTtl/],
  ['JWT_REFRESH_TOKEN_EXPIRES', /flask-jwt-extended's and AuthX's/, /Baton's is refreshTokenTtl/],
  [
    'JWT_TOKEN_LOCATION',
    /flask-jwt-extended's and AuthX's/,
    /Baton's is the HTTP option tokenLookup\.locations/,
  ],
  ['JWT_HEADER_NAME', /flask-jwt-extended's/, /Baton's is the HTTP option tokenLookup\.headerName/],
  ['JWT_HEADER_TYPE', /flask-jwt-extended's/, /Baton's is the HTTP option tokenLookup\.headerScheme/],
  [
    'JWT_COOKIE_CSRF_PROTECT',
    /flask-jwt-extended's/,
    /Baton has no such option: the double-submit CSRF check/,
  ],
  ['JWT_ALGORITHM', /flask-jwt-extended's, flask-praetorian's and AuthX's/, /Baton's is keys: /],
  ['JWT_SECRET_KEY', /flask-jwt-extended's and AuthX's/, /Baton's is keys: .*importSigningKey/],
  ['fresh', /flask-jwt-extended's/, /Baton's is freshness/],
  ['token_in_blocklist_loader', /flask-jwt-extended's/, /Baton has no such option: the denylist is built in/],
  ['set_callback_token_blocklist', /AuthX's/, /Baton has no such option: the denylist is built in/],
  // docs/migrating-from-flask-praetorian.md
  ['JWT_ACCESS_LIFESPAN', /flask-praetorian's/, /Baton's is accessTokenTtl/],
  ['JWT_REFRESH_LIFESPAN', /flask-praetorian's/, /Baton's is refreshTokenTtl/],
  ['JWT_BLACKLIST_ENABLED', /flask-praetorian's/, /Baton has no such option: the denylist is built in/],
  ['is_blacklisted', /flask-praetorian's/, /Baton has no such option: the denylist is built in/],
  ['user_class', /flask-praetorian's/, /Baton's is loadUser\(userId\)/],
  // docs/migrating-from-djangorestframework-jwt-refresh-token.md
  ['JWT_EXPIRATION_DELTA', /djangorestframework-jwt's/, /Baton's is accessTokenTtl/],
  [
    'JWT_RESPONSE_PAYLOAD_HANDLER',
    /djangorestframework-jwt's/,
    /Baton's is the HTTP option perClient\.loginResponse/,
  ],
];

/** The options that strategy `strategy` lacks and another has, with the strategies that have it. */
function othersOptions(strategy: Construction['strategy']): Map<string, string[]> {
  const own = new Set(Object.keys(strategyOptionsSchemas[strategy].shape));
  const found = new Map<string, string[]>();
  for (const [other, schema] of Object.entries(strategyOptionsSchemas)) {
    for (const option of Object.keys(schema.shape)) {
      if (!own.has(option)) found.set(option, [...(found.get(option) ?? []), other]);
    }
  }
  return found;
}

for (const c of constructions) {
  describe(`options of ${c.label}`, () => {
    const prefix = `Invalid ${c.owner} options: `;

    it('builds with valid options (the strategy key included) and resolves none of them to `strategy`', async () => {
      const manager = c.make({}) as { options: Options; close(): Promise<void> };
      assert.equal('strategy' in manager.options, false);
      await manager.close();
    });

    it('refuses an unknown option, naming it and listing the options there are', () => {
      const message = refusal(() => c.make({ frobnicate: true }));
      assert.ok(
        message.startsWith(`${prefix}frobnicate: unknown option; ${c.owner} takes issuer, audience, keys`),
      );
    });

    it('refuses a misspelled option with a did-you-mean', () => {
      for (const misspelled of ['accesTokenTtl', 'accessTokenTTL', 'access_token_ttl', 'ACCESS-TOKEN-TTL']) {
        assert.equal(
          refusal(() => c.make({ [misspelled]: '5m' })),
          `${prefix}${misspelled}: unknown option; did you mean accessTokenTtl?`,
        );
      }
      assert.equal(
        refusal(() => c.make({ leway: 5 })),
        `${prefix}leway: unknown option; did you mean leeway?`,
      );
    });

    it('refuses unknown and misspelled keys of nested options too', () => {
      assert.equal(
        refusal(() => c.make({ rateLimit: { windw: '1m' } })),
        `${prefix}rateLimit.windw: unknown option; did you mean window?`,
      );
      assert.equal(
        refusal(() => c.make({ rateLimit: { max: 3 } })),
        `${prefix}rateLimit.max: unknown option; rateLimit takes perUsername, perIp and window`,
      );
      assert.equal(
        refusal(() => c.make({ verifyCache: { size: 10 } })),
        `${prefix}verifyCache.size: unknown option; verifyCache takes max`,
      );
    });

    it('gives a TTL of 0, -5 and nonsense the same message, naming what it accepts', () => {
      const expected = `${prefix}accessTokenTtl: must be a positive duration (seconds, or text like '15m')`;
      for (const ttl of [0, -5, 'soon', Number.NaN, '-5m']) {
        assert.equal(
          refusal(() => c.make({ accessTokenTtl: ttl })),
          expected,
          String(ttl),
        );
      }
      assert.equal(
        refusal(() => c.make({ leeway: -5 })),
        `${prefix}leeway: must be a duration of 0 or more (seconds, or text like '30s')`,
      );
      assert.equal(
        refusal(() => c.make({ rateLimit: { window: 0 } })),
        `${prefix}rateLimit.window: must be a positive duration (seconds, or text like '1m')`,
      );
    });

    it('names a missing required option and what it takes', () => {
      assert.equal(
        refusal(() => c.make({ issuer: undefined })),
        `${prefix}issuer: required: a non-empty string`,
      );
      assert.match(
        refusal(() => c.make({ loadUser: undefined })),
        /loadUser: required: a function loadUser\(userId\) answering your user or null/,
      );
    });

    it('refuses a short refreshKey when given, naming what it takes', () => {
      assert.equal(
        refusal(() => c.make({ refreshKey: 'short' })),
        `${prefix}refreshKey: must be a secret of 32+ bytes (string or Uint8Array)`,
      );
    });

    it("refuses every seed library's setting name, naming Baton's equivalent", () => {
      for (const [name, library, equivalent] of SEED_NAMES) {
        const message = refusal(() => c.make({ [name]: 1 }));
        assert.ok(message.startsWith(`${prefix}${name}: unknown option; `), message);
        assert.match(message, library, name);
        assert.match(message, equivalent, name);
      }
    });

    it('matches a seed setting whatever its spelling', () => {
      assert.match(
        refusal(() => c.make({ expirationDelta: 1800 })),
        /expirationDelta: unknown option; expirationDelta is sanic-jwt's setting; Baton's is accessTokenTtl/,
      );
      assert.match(
        refusal(() => c.make({ jwtAccessLifespan: 900 })),
        /jwtAccessLifespan is flask-praetorian's setting; Baton's is accessTokenTtl/,
      );
    });

    it("refuses another strategy's option, saying whose it is", () => {
      const others = othersOptions(c.strategy);
      assert.ok(others.size > 0);
      for (const [option, strategies] of others) {
        const whose =
          strategies.length === 1
            ? `the ${strategies[0]} strategy`
            : `the ${strategies.slice(0, -1).join(', ')} and ${strategies.at(-1)} strategies`;
        const message = refusal(() => c.make({ [option]: 1 }));
        assert.ok(
          message.startsWith(`${prefix}${option}: unknown option; ${option} is an option of ${whose} only`),
          message,
        );
      }
    });

    it('lists every problem at once, one per line', () => {
      const message = refusal(() => c.make({ issuer: '', leeway: -1, JWT_SECRET_KEY: 'x' }));
      assert.equal(
        message,
        [
          `Invalid ${c.owner} options:`,
          '  - issuer: must be a non-empty string',
          "  - leeway: must be a duration of 0 or more (seconds, or text like '30s')",
          `  - JWT_SECRET_KEY: unknown option; JWT_SECRET_KEY is flask-jwt-extended's and AuthX's setting; ${SEED_SETTINGS.find((s) => s.names.includes('JWT_SECRET_KEY'))?.baton}`,
        ].join('\n'),
      );
    });
  });
}

describe("each strategy's own options", () => {
  it("graceWindow and idleTimeout are the rotating strategy's only", () => {
    for (const strategy of ['jwt', 'single-token', 'per-client', 'callbacks'] as const) {
      const make = (extra: Options) => createAuthManager({ ...valid(strategy), strategy, ...extra } as never);
      assert.equal(
        refusal(() => make({ graceWindow: 5 })),
        `Invalid ${strategy} strategy options: graceWindow: unknown option; graceWindow is an option of the rotating strategy only`,
      );
      assert.match(
        refusal(() => make({ idleTimeout: '1h' })),
        /idleTimeout is an option of the rotating strategy only/,
      );
    }
    assert.match(
      refusal(() => new SessionManager({ ...valid('rotating'), rotateRefreshTokens: true } as never)),
      /rotateRefreshTokens: unknown option; rotateRefreshTokens is an option of the jwt strategy only/,
    );
    assert.match(
      refusal(() => new SessionManager({ ...valid('rotating'), allow_early_refresh: true } as never)),
      /allow_early_refresh: unknown option; allowEarlyRefresh is an option of the single-token strategy only/,
    );
  });

  it('rotating and per-client require refreshKey; the others take it and do not use it', async () => {
    for (const strategy of ['rotating', 'per-client'] as const) {
      const owner = strategy === 'rotating' ? 'SessionManager' : 'per-client strategy';
      assert.equal(
        refusal(() => createAuthManager({ ...valid(strategy), strategy, refreshKey: undefined } as never)),
        `Invalid ${owner} options: refreshKey: required: a secret of 32+ bytes (string or Uint8Array)`,
      );
    }
    const { refreshKey: _, ...withoutKey } = valid('rotating');
    assert.equal(
      refusal(() => new SessionManager(withoutKey as never)),
      'Invalid SessionManager options: refreshKey: required: a secret of 32+ bytes (string or Uint8Array)',
    );
    const jwt = createAuthManager({
      ...valid('jwt'),
      strategy: 'jwt',
      refreshKey: 'r'.repeat(32),
    } as never) as {
      close(): Promise<void>;
    };
    await jwt.close();
  });

  it('jwt: rotateRefreshTokens is a boolean, off by default; refreshTokenTtl may not be null', async () => {
    const make = (extra: Options) =>
      createAuthManager({ ...valid('jwt'), strategy: 'jwt', ...extra } as never);
    const manager = make({}) as JwtStrategy;
    assert.equal(manager.options.rotateRefreshTokens, false);
    assert.equal(manager.options.refreshTokenTtl, 30 * 86400);
    await manager.close();
    assert.equal(
      refusal(() => make({ rotateRefreshTokens: 'yes' })),
      'Invalid jwt strategy options: rotateRefreshTokens: must be true or false',
    );
    assert.match(
      refusal(() => make({ refreshTokenTtl: null })),
      /^Invalid jwt strategy options: refreshTokenTtl: must be a positive duration \(seconds, or text like '30d'\); not null: .*use per-client for tokens that never expire/,
    );
    assert.match(
      refusal(() => make({ rotate_refresh_tokens: true })),
      /did you mean rotateRefreshTokens\?/,
    );
  });

  it('single-token: allowEarlyRefresh is a boolean, off by default; refreshTokenTtl may not be null', async () => {
    const make = (extra: Options) =>
      createAuthManager({ ...valid('single-token'), strategy: 'single-token', ...extra } as never);
    const manager = make({}) as unknown as { options: Options; close(): Promise<void> };
    assert.equal(manager.options.allowEarlyRefresh, false);
    await manager.close();
    assert.equal(
      refusal(() => make({ allowEarlyRefresh: 1 })),
      'Invalid single-token strategy options: allowEarlyRefresh: must be true or false',
    );
    assert.match(
      refusal(() => make({ refreshTokenTtl: null })),
      /^Invalid single-token strategy options: refreshTokenTtl: must be a positive duration .*; not null: it is the rf_exp of every token$/,
    );
  });

  it('per-client: refreshTokenTtl defaults to null (never expires)', async () => {
    const manager = createAuthManager({
      ...valid('per-client'),
      strategy: 'per-client',
    } as never) as unknown as {
      options: Options;
      close(): Promise<void>;
    };
    assert.equal(manager.options.refreshTokenTtl, null);
    await manager.close();
  });

  it('callbacks: storeRefreshToken and retrieveRefreshToken are required functions, revokeRefreshToken an optional one', () => {
    const make = (extra: Options) =>
      createAuthManager({ ...valid('callbacks'), strategy: 'callbacks', ...extra } as never);
    assert.equal(
      refusal(() => make({ storeRefreshToken: undefined, retrieveRefreshToken: undefined })),
      [
        'Invalid callbacks strategy options:',
        '  - storeRefreshToken: required: a function storeRefreshToken(userId, refreshToken) (sync or async)',
        '  - retrieveRefreshToken: required: a function retrieveRefreshToken(userId) answering the stored token or null (sync or async)',
      ].join('\n'),
    );
    assert.equal(
      refusal(() => make({ revokeRefreshToken: 'yes' })),
      'Invalid callbacks strategy options: revokeRefreshToken: must be a function revokeRefreshToken(userId) (sync or async)',
    );
  });

  it('the strategy key must be the one of the manager built', () => {
    assert.match(
      refusal(() => new SessionManager({ ...valid('rotating'), strategy: 'jwt' } as never)),
      /^Invalid SessionManager options: strategy: must be 'rotating' \(the default\) here/,
    );
    assert.match(
      refusal(() => new JwtStrategy({ ...valid('jwt'), strategy: 'per-client' } as never)),
      /^Invalid jwt strategy options: strategy: must be 'jwt' here/,
    );
    assert.match(
      refusal(() => createAuthManager({ ...valid('single-token'), strategy: 'single_token' } as never)),
      /Unknown strategy "single_token"; did you mean single-token\?/,
    );
  });
});

describe('seed setting names', () => {
  it('every name of the seed table is specified above', () => {
    const specified = new Set(SEED_NAMES.map(([name]) => name));
    for (const setting of SEED_SETTINGS) {
      for (const name of setting.names) {
        const example = name.endsWith('*') ? `${name.slice(0, -1)}ENABLED` : name;
        assert.ok(specified.has(example), `${name} (${setting.libraries.join(', ')}) has a test`);
      }
    }
  });

  it("every setting named in a migration guide's table is in the seed table", () => {
    const known = new Set(SEED_SETTINGS.flatMap((setting) => setting.names));
    const guides = readdirSync('docs').filter((file) => file.startsWith('migrating-from-'));
    assert.equal(guides.length, 5);
    for (const guide of guides) {
      const rows = readFileSync(`docs/${guide}`, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('| ') && !line.startsWith('|---'));
      for (const row of rows) {
        const seedCell = row.split(' | ')[0] ?? '';
        for (const [, name] of seedCell.matchAll(/`(?:@?[\w.]*\.)?([A-Z][A-Z0-9]*_[A-Z0-9_]*\*?)/g)) {
          assert.ok(known.has(name!), `${guide}: ${name} is in src/core/seed-settings.ts`);
        }
      }
    }
  });
});
