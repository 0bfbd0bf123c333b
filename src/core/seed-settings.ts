/**
 * The setting names of the libraries Baton replaces (the "seeds" of
 * docs/migrating-from-*.md), with Baton's equivalent of each, from those
 * guides' tables. An option object that carries one of them (a config copied
 * over during a migration) is refused with a message that names Baton's
 * equivalent, rather than the setting being ignored and a default applying.
 *
 * Names match whatever their spelling: `SANIC_JWT_EXPIRATION_DELTA`,
 * `expiration_delta` and `expirationDelta` alike (sanic-jwt also takes its
 * settings without the prefix, as `Initialize` arguments).
 */
import { normalizeKey } from './options.ts';

export interface SeedSetting {
  /** The libraries that use these names, as the guides call them. */
  libraries: readonly string[];
  /** The names, as the libraries spell them; `*` ends a prefix (`JWT_BLACKLIST_*`). */
  names: readonly string[];
  /** Baton's equivalent: "Baton's is ..." or "Baton has no such option: ...". */
  baton: string;
}

const SANIC = 'sanic-jwt';
const FLASK = 'flask-jwt-extended';
const PRAETORIAN = 'flask-praetorian';
const AUTHX = 'AuthX';
const DRF = 'djangorestframework-jwt';

const ACCESS_TTL = "Baton's is accessTokenTtl (seconds or '15m'; default 15m)";
const REFRESH_TTL = "Baton's is refreshTokenTtl (seconds or '30d'; default 30d)";
const KEYS =
  "Baton's is keys: signing keys that carry their algorithm, e.g. [await generateSigningKey('EdDSA')] or [await importSigningKey({ alg: 'HS256', secret })]";
const DENYLIST =
  'Baton has no such option: the denylist is built in (logout and revocation record it in the store, and every process checks it in memory)';

/** Every seed setting named in the migration guides' tables. */
export const SEED_SETTINGS: readonly SeedSetting[] = [
  // sanic-jwt
  {
    libraries: [SANIC],
    names: ['SANIC_JWT_REFRESH_TOKEN_ENABLED', 'refresh_token_enabled'],
    baton:
      "Baton has no such option: refresh tokens are always on; for sanic-jwt's design use createAuthManager({ strategy: 'callbacks', storeRefreshToken, retrieveRefreshToken })",
  },
  { libraries: [SANIC], names: ['SANIC_JWT_EXPIRATION_DELTA', 'expiration_delta'], baton: ACCESS_TTL },
  { libraries: [SANIC], names: ['SANIC_JWT_SECRET', 'secret'], baton: KEYS },
  {
    libraries: [SANIC],
    names: ['SANIC_JWT_ALGORITHM', 'algorithm'],
    baton: `${KEYS}; algorithms pins the list verification accepts`,
  },
  {
    libraries: [SANIC],
    names: ['store_refresh_token'],
    baton: "Baton's is storeRefreshToken(userId, refreshToken), with strategy: 'callbacks'",
  },
  {
    libraries: [SANIC],
    names: ['retrieve_refresh_token'],
    baton: "Baton's is retrieveRefreshToken(userId), with strategy: 'callbacks'",
  },
  {
    libraries: [SANIC],
    names: ['authenticate'],
    baton: "Baton's is verifyCredentials(username, password): your user, or null",
  },
  {
    libraries: [SANIC],
    names: ['retrieve_user'],
    baton: "Baton's is loadUser(userId): your user, or null",
  },
  // flask-jwt-extended and AuthX (fastjwt) share their JWT_* names
  { libraries: [FLASK, AUTHX], names: ['JWT_ACCESS_TOKEN_EXPIRES'], baton: ACCESS_TTL },
  {
    libraries: [FLASK, AUTHX],
    names: ['JWT_REFRESH_TOKEN_EXPIRES'],
    baton: `${REFRESH_TTL}; the jwt strategy refuses null (never expires): use per-client for tokens that never expire`,
  },
  {
    libraries: [FLASK, AUTHX],
    names: ['JWT_TOKEN_LOCATION'],
    baton:
      "Baton's is the HTTP option tokenLookup.locations, e.g. createBaton(manager, { tokenLookup: { locations: ['header', 'cookie'] } })",
  },
  {
    libraries: [FLASK],
    names: ['JWT_HEADER_NAME'],
    baton: "Baton's is the HTTP option tokenLookup.headerName (default 'Authorization')",
  },
  {
    libraries: [FLASK],
    names: ['JWT_HEADER_TYPE'],
    baton: "Baton's is the HTTP option tokenLookup.headerScheme (default 'Bearer')",
  },
  {
    libraries: [FLASK],
    names: ['JWT_COOKIE_CSRF_PROTECT'],
    baton:
      'Baton has no such option: the double-submit CSRF check is on by default in cookie mode (the HTTP options cookies: true, and cookies.csrf)',
  },
  { libraries: [FLASK, PRAETORIAN, AUTHX], names: ['JWT_ALGORITHM'], baton: KEYS },
  { libraries: [FLASK, AUTHX], names: ['JWT_SECRET_KEY'], baton: KEYS },
  {
    libraries: [FLASK],
    names: ['fresh'],
    baton: "Baton's is freshness: true (default), false, or a duration such as '15m'",
  },
  { libraries: [FLASK], names: ['token_in_blocklist_loader'], baton: DENYLIST },
  { libraries: [AUTHX], names: ['set_callback_token_blocklist'], baton: DENYLIST },
  // flask-praetorian
  { libraries: [PRAETORIAN], names: ['JWT_ACCESS_LIFESPAN'], baton: ACCESS_TTL },
  { libraries: [PRAETORIAN], names: ['JWT_REFRESH_LIFESPAN'], baton: REFRESH_TTL },
  { libraries: [PRAETORIAN], names: ['JWT_BLACKLIST_*', 'is_blacklisted'], baton: DENYLIST },
  {
    libraries: [PRAETORIAN],
    names: ['user_class'],
    baton:
      "Baton's is loadUser(userId): your user or null; a user with disabled: true cannot log in or refresh",
  },
  // djangorestframework-jwt-refresh-token
  { libraries: [DRF], names: ['JWT_EXPIRATION_DELTA'], baton: ACCESS_TTL },
  {
    libraries: [DRF],
    names: ['JWT_RESPONSE_PAYLOAD_HANDLER'],
    baton:
      "Baton's is the HTTP option perClient.loginResponse, e.g. createBaton(manager, { perClient: { loginResponse } })",
  },
];

function possessive(libraries: readonly string[]): string {
  const names = libraries.map((library) => `${library}'s`);
  return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** The setting `key` spells, if any. */
export function seedSettingOf(key: string): SeedSetting | undefined {
  const wanted = normalizeKey(key);
  return SEED_SETTINGS.find((setting) =>
    setting.names.some((name) =>
      name.endsWith('*')
        ? wanted.startsWith(normalizeKey(name.slice(0, -1))) && wanted.length > normalizeKey(name).length
        : normalizeKey(name) === wanted,
    ),
  );
}

/**
 * "expiration_delta is sanic-jwt's setting; Baton's is accessTokenTtl (...)",
 * or undefined when `key` is no seed library's setting.
 */
export function seedSettingHint(key: string): string | undefined {
  const setting = seedSettingOf(key);
  if (setting === undefined) return undefined;
  return `${key} is ${possessive(setting.libraries)} setting; ${setting.baton}`;
}
