import type { RequestContext } from '../sessions/types.ts';
import type { ErrorResponseOptions } from './errors.ts';
import type { ResolvedOptions } from './options.ts';
import type { AuthManager, HttpRequest } from './types.ts';

export type { ResolvedOptions };

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
  /** Set-Cookie values to add to a successful response (implicit refresh). */
  cookies: string[];
}
