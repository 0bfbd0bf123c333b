export {
  ACCESS_TOKEN_TYP,
  AccessTokenCodec,
  type AccessTokenCodecOptions,
  type AccessTokenInput,
  isFresh,
  toSubject,
} from './access-token.ts';
export {
  DEFAULT_MAX_TOKEN_LENGTH,
  decodeUnverified,
  type JwsHeader,
  JwsVerifier,
  signJws,
  typMatches,
  type VerifiedJws,
  type VerifyJwsOptions,
  verifyJws,
} from './jws.ts';
export {
  assertKeyFitsAlgorithm,
  canSign,
  exportSigningKey,
  type GenerateKeyOptions,
  generateSigningKey,
  type ImportKeyInput,
  importSigningKey,
  isSymmetric,
  type JWK,
  KeySet,
  type KeySetOptions,
  publicJwk,
} from './keys.ts';
export { randomId } from './random.ts';
export { type AccessClaims, ALGORITHMS, type Algorithm, type Freshness, type SigningKey } from './types.ts';
export {
  DEFAULT_VERIFY_CACHE_MAX,
  VerifiedTokenCache,
  type VerifiedTokenCacheOptions,
} from './verified-cache.ts';
