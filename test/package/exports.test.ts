/**
 * What each entry point of the package exports at runtime, pinned: a new
 * export (or an internal leaking through a barrel) is a deliberate diff here,
 * not an accident. Imported by the package's own name, as users import it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const PUBLIC_EXPORTS: Record<string, readonly string[]> = {
  'baton-auth': [
    'ACCESS_TOKEN_TYP',
    'ALGORITHMS',
    'AUTH_EVENT_TYPES',
    'BatonError',
    'CallbacksStrategy',
    'DPOP_ALGORITHMS',
    'DpopVerifier',
    'JwtStrategy',
    'ManualClock',
    'MemoryStore',
    'PerClientStrategy',
    'SessionManager',
    'SingleTokenStrategy',
    'StoreOpenError',
    'StoreUrlError',
    'createAuthManager',
    'exportSigningKey',
    'generateSigningKey',
    'importSigningKey',
    'isBatonError',
    'jwkThumbprint',
    'openStore',
    'parseDuration',
    'parseStoreUrl',
    'publicJwk',
    'systemClock',
  ],
  'baton-auth/hono': ['batonErrorHandler', 'batonRoutes', 'createBaton', 'requireAuth', 'toHttpRequest'],
  'baton-auth/express': ['batonRoutes', 'createBaton', 'toHttpRequest'],
  'baton-auth/fastify': ['batonPlugin', 'batonRoutes', 'default', 'toHttpRequest'],
  'baton-auth/resource': ['ResourceVerifier', 'createResourceGuard', 'createResourceVerifier'],
  'baton-auth/resource/express': ['ResourceVerifier', 'createResourceVerifier', 'requireToken'],
  'baton-auth/resource/fastify': ['ResourceVerifier', 'batonResource', 'createResourceVerifier', 'default'],
  'baton-auth/resource/hono': ['ResourceVerifier', 'createResourceVerifier', 'requireToken'],
  'baton-auth/http': [
    'ERROR_STATUS',
    'answerClientError',
    'authenticate',
    'authorize',
    'bearerToken',
    'createAuthHandler',
    'createBatonHttp',
    'errorResponse',
    'extractAccessToken',
    'extractRefreshToken',
    'jsonResponse',
    'optionalString',
    'parseBody',
    'parseCookies',
    'parseRequestTarget',
    'readBodyLimited',
    'readNodeBodyLimited',
    'requiredString',
    'serializeCookie',
  ],
  'baton-auth/jws': [
    'DEFAULT_MAX_TOKEN_LENGTH',
    'JwsVerifier',
    'KeySet',
    'decodeUnverified',
    'signJws',
    'verifyJws',
  ],
  'baton-auth/stores/sqlite': ['SCHEMA_VERSION', 'SqliteStore', 'migrate', 'openDatabaseFile'],
  'baton-auth/stores/redis': ['RedisStore', 'SESSION_RETENTION_MS'],
  'baton-auth/stores/postgres': ['PostgresStore', 'SCHEMA_VERSION', 'migrate'],
  'baton-auth/client': [
    'AuthError',
    'createAuthClient',
    'decodeJwtPayload',
    'indexedDbDpopKeys',
    'keyObjectDpopKeys',
    'memoryDpopKeys',
    'memoryStorage',
    'secondsLeft',
    'signProof',
    'webStorage',
  ],
  'baton-auth/testing': ['storeConformanceSuite'],
  'baton-auth/audit': ['createAuditTrail'],
  'baton-auth/otel': ['instrument'],
};

/**
 * Internals that an entry point once exported (through an `export *`, or the
 * adapters' response writers, now src/adapters/responses.ts); none may come back.
 */
const INTERNALS = [
  'randomId',
  'VerifiedTokenCache',
  'AccessTokenCodec',
  'typMatches',
  'frameworkErrorResponse',
  'sendResponse',
  'toResponse',
  'sendExpressResponse',
  'sendFastifyResponse',
  'toWebResponse',
];

const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, unknown>;
};

describe('the package entry points', () => {
  it('are exactly the ones package.json exports (plus ./package.json)', () => {
    const subpaths = Object.keys(manifest.exports).filter((subpath) => subpath !== './package.json');
    assert.deepEqual(
      subpaths.map((subpath) => `baton-auth${subpath.slice(1)}`).sort(),
      Object.keys(PUBLIC_EXPORTS).sort(),
    );
  });

  for (const [entry, names] of Object.entries(PUBLIC_EXPORTS)) {
    it(`${entry} exports exactly its public list at runtime`, async () => {
      const module = (await import(entry)) as Record<string, unknown>;
      assert.deepEqual(Object.keys(module).sort(), [...names].sort());
    });
  }

  it('no entry point exports the token internals', () => {
    for (const [entry, names] of Object.entries(PUBLIC_EXPORTS)) {
      for (const internal of INTERNALS) assert.ok(!names.includes(internal), `${entry} exports ${internal}`);
    }
  });

  it('the JWS kit lives under baton-auth/jws only', () => {
    for (const name of ['signJws', 'verifyJws', 'JwsVerifier', 'KeySet']) {
      const owners = Object.entries(PUBLIC_EXPORTS).filter(([, names]) => names.includes(name));
      assert.deepEqual(
        owners.map(([entry]) => entry),
        ['baton-auth/jws'],
        name,
      );
    }
  });
});
