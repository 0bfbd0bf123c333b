import type { RequestContext } from '../sessions/types.ts';
import type { ErrorResponseOptions } from './errors.ts';
import type { ResolvedCookieMode } from './session-cookies.ts';
import type { AuthManager, HttpRequest, OAuthClient } from './types.ts';

export interface ResolvedOptions {
  prefix: string;
  jwksPath: string | undefined;
  cookieMode: ResolvedCookieMode | undefined;
  clients: readonly OAuthClient[];
  adminRole: string;
  bodyLimit: number;
  headerLimit: number;
  realm: string;
}

/** What every route handler gets. */
export interface RouteContext {
  manager: AuthManager;
  options: ResolvedOptions;
  req: HttpRequest;
  /** Client IP and user agent, as the manager records them on the session. */
  requestContext: RequestContext;
  errorOptions: ErrorResponseOptions;
  /** The `:id` of `sessions/:id`. */
  param?: string;
}
