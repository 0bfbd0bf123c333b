/**
 * `baton-auth`: JWT access tokens and rotating refresh-token sessions.
 * Framework adapters, stores and the testing kit live under subpaths
 * (`baton-auth/hono`, `baton-auth/stores/sqlite`, `baton-auth/testing`, ...),
 * the JWS primitives under `baton-auth/jws`. Every export here is listed on
 * purpose (test/package/exports.test.ts pins the list): internals stay out.
 *
 * @module baton-auth
 */
export { type Clock, ManualClock, systemClock } from './core/clock.ts';
export { type Duration, parseDuration } from './core/duration.ts';
export { BatonError, type ErrorCode, isBatonError } from './core/errors.ts';
export type { BatonLogger, LogFn } from './core/logger.ts';
export {
  AUTH_EVENT_TYPES,
  type AuthEvent,
  type AuthEventFields,
  type AuthEventListener,
  type AuthEventOf,
  type AuthEvents,
  type AuthEventType,
  type DpopRejectedEvent,
  type EventSource,
  type LoginEvent,
  type LoginFailedEvent,
  type LogoutAllEvent,
  type LogoutEvent,
  type PasswordStep,
  type RateLimitedEvent,
  type ReauthEvent,
  type RefreshEvent,
  type RefreshGraceReuseEvent,
  type RefreshTokenReusedEvent,
  type SessionRevokedEvent,
  type StoreUnavailableEvent,
  type TokenRevokedEvent,
  type Unsubscribe,
  type UserRevokedEvent,
} from './sessions/events.ts';
export {
  type AnyAuthManager,
  type AuthManagerOptions,
  CallbacksStrategy,
  type CallbacksStrategyOptions,
  createAuthManager,
  JwtStrategy,
  type JwtStrategyOptions,
  PerClientStrategy,
  type PerClientStrategyOptions,
  SessionManager,
  SingleTokenStrategy,
  type SingleTokenStrategyOptions,
} from './sessions/strategies/index.ts';
export type {
  AuthManager,
  BatonUser,
  ClientTokens,
  DpopBinding,
  DpopRejection,
  DpopRejectionReason,
  DpopStep,
  MaybePromise,
  PerClientToken,
  RateLimitOptions,
  RefreshContext,
  RefreshTokenFacts,
  RequestContext,
  RevokeContext,
  SessionInfo,
  SessionManagerOptions,
  StrategyBaseOptions,
  StrategyCapabilities,
  StrategyName,
  TokenDescription,
  TokenPair,
  TokenTypeHint,
} from './sessions/types.ts';
export { MemoryStore } from './stores/memory.ts';
export { openStore } from './stores/open.ts';
export { parseStoreUrl, StoreOpenError, type StoreUrl, StoreUrlError } from './stores/store-url.ts';
export type {
  Revocation,
  RevocationListener,
  RevocationReason,
  RevokeSessionsRequest,
  RotateRequest,
  RotateResult,
  SessionRecord,
  SessionStore,
} from './stores/types.ts';
export { ACCESS_TOKEN_TYP } from './tokens/access-token.ts';
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
  jwkThumbprint,
  type ProofReplayCache,
  type VerifiedDpopProof,
} from './tokens/dpop.ts';
export {
  exportSigningKey,
  type GenerateKeyOptions,
  generateSigningKey,
  type ImportKeyInput,
  importSigningKey,
  type JWK,
  type KeySet,
  publicJwk,
} from './tokens/keys.ts';
export {
  type AccessClaims,
  ALGORITHMS,
  type Algorithm,
  type Freshness,
  type SessionTokenClaims,
  type SigningKey,
} from './tokens/types.ts';
