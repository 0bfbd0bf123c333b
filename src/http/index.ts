/**
 * `baton-auth/http`: the framework-neutral HTTP layer the adapters are made of.
 * `createBatonHttp(manager, options)` gives every auth route of docs/http-contract.md
 * and the guards, on a plain request object, for a framework Baton has no adapter for.
 * Every export is listed on purpose (test/package/exports.test.ts pins the
 * list); the adapters' plumbing stays internal.
 *
 * @module baton-auth/http
 */
export {
  type AuthenticateOptions,
  type AuthorizeOptions,
  authenticate,
  authorize,
} from './authenticate.ts';
export {
  type Fields,
  optionalString,
  type ParseBodyOptions,
  parseBody,
  readBodyLimited,
  readNodeBodyLimited,
  requiredString,
} from './body.ts';
export { answerClientError } from './client-error.ts';
export { parseCookies, type SameSite, type SetCookieOptions, serializeCookie } from './cookies.ts';
export { ERROR_STATUS, type ErrorResponseOptions, errorResponse, jsonResponse } from './errors.ts';
export {
  bearerToken,
  type ExtractedToken,
  extractAccessToken,
  extractRefreshToken,
  type TokenLocation,
  type TokenLookupOptions,
  type TokenSource,
} from './extract.ts';
export {
  type BatonHttp,
  type BatonHttpInit,
  createBatonHttp,
  type Guard,
  type GuardOptions,
  type GuardOutcome,
} from './middleware.ts';
export type { BatonHttpOptions } from './options.ts';
export type { LoginPayloadInput, PerClientRouteOptions } from './per-client-routes.ts';
export { type AuthHandler, type AuthHandlerOptions, createAuthHandler } from './routes.ts';
export type { CookieModeClaims, CookieModeOptions } from './session-cookies.ts';
export {
  type AuthManager,
  type HttpRequest,
  type HttpResponse,
  type OAuthClient,
  parseRequestTarget,
  type TokenTypeHint,
} from './types.ts';
