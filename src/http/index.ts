export { type AuthenticateOptions, authenticate, authorize } from './authenticate.ts';
export {
  DEFAULT_BODY_LIMIT,
  type Fields,
  optionalString,
  type ParseBodyOptions,
  parseBody,
  readBodyLimited,
  requiredString,
} from './body.ts';
export { parseCookies, type SameSite, type SetCookieOptions, serializeCookie } from './cookies.ts';
export { type ErrorResponseOptions, errorResponse, jsonResponse, OAuthError } from './errors.ts';
export {
  basicCredentials,
  bearerToken,
  DEFAULT_HEADER_LIMIT,
  type ExtractedToken,
  extractAccessToken,
  extractRefreshToken,
  extractSessionToken,
  type TokenSource,
} from './extract.ts';
export { JWT_BEARER_GRANT } from './oauth.ts';
export { type AuthHandler, type AuthHandlerOptions, createAuthHandler } from './routes.ts';
export type { CookieModeOptions } from './session-cookies.ts';
export type { AuthManager, HttpRequest, HttpResponse, OAuthClient, TokenTypeHint } from './types.ts';
