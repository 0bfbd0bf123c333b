/**
 * `baton-auth/jws`: the compact-JWS primitives Baton's tokens are built on,
 * for code that signs or checks JWTs other than Baton's access tokens.
 * Synchronous, on node:crypto, with the algorithm list pinned by the caller.
 * The public part of src/tokens/, which src/tokens/index.ts re-exports
 * (test/package/exports.test.ts pins the list): the codec and the helpers
 * only Baton's tokens use stay out.
 *
 * @module baton-auth/jws
 */
export {
  DEFAULT_MAX_TOKEN_LENGTH,
  decodeUnverified,
  type JwsHeader,
  JwsVerifier,
  signJws,
  type VerifiedJws,
  type VerifyJwsOptions,
  verifyJws,
} from './tokens/jws.ts';
export { KeySet, type KeySetOptions } from './tokens/keys.ts';
