/**
 * `baton-auth/resource`: verify-only checks of Baton access tokens for
 * resource servers. The guards live in `baton-auth/resource/express`,
 * `baton-auth/resource/fastify` and `baton-auth/resource/hono`.
 *
 * @module baton-auth/resource
 */
export {
  createResourceGuard,
  type ResourceDpopOptions,
  type ResourceGuard,
  type ResourceGuardOptions,
  type ResourceGuardOutcome,
  type ResourceRequest,
  type VerifierSource,
} from './guard.ts';
export {
  createResourceVerifier,
  type JwksFetchOptions,
  type ResourceKeys,
  ResourceVerifier,
  type ResourceVerifierOptions,
} from './verifier.ts';
