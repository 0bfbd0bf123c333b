// The public JWS kit (baton-auth/jws), and what tokens/ adds for Baton's own use.
export * from '../jws.ts';
export {
  ACCESS_TOKEN_TYP,
  AccessTokenCodec,
  type AccessTokenCodecOptions,
  type AccessTokenInput,
  isFresh,
  toSubject,
} from './access-token.ts';
export {
  DPOP_ALGORITHMS,
  type DpopAlgorithm,
  type DpopMode,
  type DpopNonceOptions,
  type DpopOptions,
  type DpopProofClaims,
  type DpopProofInput,
  DpopVerifier,
  type DpopVerifierOptions,
  dpopVerifierOptionsSchema,
  jwkThumbprint,
  normalizeHtu,
  type ProofReplayCache,
  proofReplayId,
  type VerifiedDpopProof,
} from './dpop.ts';
export { typMatches } from './jws.ts';
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
  publicJwk,
} from './keys.ts';
export { randomId } from './random.ts';
export { type AccessClaims, ALGORITHMS, type Algorithm, type Freshness, type SigningKey } from './types.ts';
export {
  DEFAULT_VERIFY_CACHE_MAX,
  VerifiedTokenCache,
  type VerifiedTokenCacheOptions,
} from './verified-cache.ts';
