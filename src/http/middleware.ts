/**
 * What every adapter's middleware calls: the auth routes, guards for the
 * app's own routes, and error mapping, over one validated set of options.
 * Adapters only translate requests and responses; the decisions are here.
 */

import { BatonError } from '../core/errors.ts';
import type { AccessClaims } from '../tokens/types.ts';
import {
  type Authenticated,
  type AuthorizeOptions,
  authenticateRequest,
  bodyFields,
  implicitRefreshCookie,
  implicitRefreshDue,
  proveAccess,
} from './authenticate.ts';
import { type ErrorResponseOptions, errorResponse, frameworkErrorResponse } from './errors.ts';
import { assertAuthManager, type BatonHttpOptions, type ResolvedOptions } from './options.ts';
import { createPerClientHandler, type PerClientRouteOptions } from './per-client-routes.ts';
import { type AuthHandler, createAuthHandler, errorOptionsFor } from './routes.ts';
import {
  type AuthManager,
  type HttpRequest,
  type HttpResponse,
  isNormalTarget,
  requestContext,
} from './types.ts';

/**
 * What `createBatonHttp` and every adapter's `createBaton`/plugin take: the
 * HTTP options, plus the per-client strategy's route options. A per-client
 * manager (`createAuthManager({ strategy: 'per-client' })`) gets the
 * per-client routes (`/delegate/`, `<prefix>/delegate`, `<prefix>/refresh-tokens`)
 * on its own; `perClient` only tunes them.
 */
export interface BatonHttpInit extends BatonHttpOptions {
  /** The per-client strategy's routes: delegate path and login response hook. Only with a per-client manager. */
  perClient?: PerClientRouteOptions;
}

export interface GuardOptions extends AuthorizeOptions {
  /** No token is fine (claims are null); a bad one is still refused, as in flask-jwt-extended. */
  optional?: boolean;
}

export type GuardOutcome =
  | {
      ok: true;
      /** Null only for an optional guard and a request without a token. */
      claims: AccessClaims | null;
      /** Set-Cookie values for the response (implicit refresh); set them before the route runs. */
      cookies: string[];
    }
  | { ok: false; response: HttpResponse };

/**
 * Never throws (nor rejects): failures come back as the response to send. The
 * outcome is synchronous unless the guard had to wait (implicit refresh
 * fetching a successor token), so that the common request never waits for a
 * promise; `await` takes either.
 */
export type Guard = (req: HttpRequest) => GuardOutcome | Promise<GuardOutcome>;

export interface BatonHttp {
  /** The auth routes and the JWKS. */
  readonly handler: AuthHandler;
  readonly options: ResolvedOptions;
  /** Whether guards want the request body (the `body` token location). */
  readonly guardsReadBody: boolean;
  guard(options?: GuardOptions): Guard;
  /** For the adapters' error handlers: Baton's errors and frameworks' own 4xx errors, in Baton's shape. */
  errorResponse(error: unknown): HttpResponse;
  /**
   * The answer to a request whose raw target is not in normal form (dot
   * segments, backslashes, ...): 400 on every adapter, whatever the path, so
   * that no framework's normalisation routes it. Undefined for a normal one.
   */
  refusedTarget(target: string): HttpResponse | undefined;
}

/** The auth routes of a manager: the per-client ones for a per-client manager, the standard ones otherwise. */
function handlerFor(manager: AuthManager, options: BatonHttpInit): AuthHandler {
  const { perClient, ...httpOptions } = options;
  assertAuthManager(manager);
  if (manager.capabilities.clientTokens)
    return createPerClientHandler(manager, { ...httpOptions, ...perClient });
  if (perClient !== undefined) {
    throw new BatonError(
      'invalid_options',
      'Invalid Baton HTTP options: perClient needs a per-client manager (createAuthManager({ strategy: "per-client" }))',
    );
  }
  return createAuthHandler(manager, httpOptions);
}

/**
 * The auth routes (`handler`, for a per-client manager with its own routes
 * too), guards for the app's routes and the error mapping, over one validated
 * set of options: what the adapters are made of, for a framework Baton has
 * no adapter for. Throws `BatonError('invalid_options')` at once for bad options.
 *
 * @example
 * ```ts
 * import { createBatonHttp, type HttpRequest, type HttpResponse, jsonResponse } from 'baton-auth/http';
 *
 * const baton = createBatonHttp(sessions, { cookies: { implicitRefresh: { within: '5m' } } });
 * const requireAdmin = baton.guard({ roles: ['admin'] });
 *
 * // baton.handler(req) answers the auth routes; a route of your own:
 * async function adminReport(req: HttpRequest): Promise<HttpResponse> {
 *   const outcome = await requireAdmin(req);
 *   if (!outcome.ok) return outcome.response; // 401 or 403 in Baton's shape; guards never throw
 *   // outcome.cookies: an implicitly refreshed access cookie, if one was due
 *   return jsonResponse(200, { readBy: outcome.claims?.sub }, { 'set-cookie': outcome.cookies });
 * }
 * ```
 */
export function createBatonHttp(manager: AuthManager, options: BatonHttpInit = {}): BatonHttp {
  const handler = handlerFor(manager, options);
  const resolved = handler.options;
  const errorOptions: ErrorResponseOptions = errorOptionsFor(manager, resolved);
  const { cookieMode, lookup, headerLimit } = resolved;
  const guardsReadBody = lookup.locations.includes('body');

  const refused = (error: unknown): GuardOutcome => ({
    ok: false,
    response: errorResponse(error, errorOptions),
  });

  const guard = (guardOptions: GuardOptions = {}): Guard => {
    const config = { ...guardOptions, cookieMode, lookup, headerLimit };
    const optional = guardOptions.optional === true;
    return (req) => {
      try {
        const fields = guardsReadBody ? bodyFields(req, resolved.bodyLimit) : undefined;
        let auth: Authenticated;
        try {
          auth = authenticateRequest(manager, req, config, fields);
        } catch (error) {
          const absent = (error as { code?: string }).code === 'missing_token';
          if (absent && optional) return { ok: true, claims: null, cookies: [] };
          throw error;
        }
        const due = cookieMode !== undefined && implicitRefreshDue(manager, auth, cookieMode);
        // Synchronous unless a DPoP proof must be checked or a successor fetched: a Bearer
        // request that needs neither never waits for a promise.
        if (auth.proofKey === undefined && !due) return { ok: true, claims: auth.claims, cookies: [] };
        const { claims } = auth;
        const later = async (): Promise<GuardOutcome> => {
          const context = await proveAccess(manager, req, auth, resolved.publicUrl, requestContext(req));
          const cookies = due ? await implicitRefreshCookie(manager, auth, cookieMode!, context) : [];
          return { ok: true, claims, cookies };
        };
        return later().catch(refused);
      } catch (error) {
        return refused(error);
      }
    };
  };

  return {
    handler,
    options: resolved,
    guardsReadBody,
    guard,
    errorResponse: (error) => frameworkErrorResponse(error, errorOptions),
    refusedTarget: (target) =>
      isNormalTarget(target)
        ? undefined
        : errorResponse(
            new BatonError('invalid_request', 'The request target must not have dot segments or backslashes'),
            errorOptions,
          ),
  };
}
