/**
 * Express guard for resource servers: `requireToken(...)` verifies the
 * bearer token (see ./verifier.ts) and exposes its claims as `req.auth`.
 *
 * @module baton-auth/resource/express
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { installAccessors } from '../adapters/express-request.ts';
import { sendExpressResponse } from '../adapters/responses.ts';
import { nodeRequestHeaders } from '../http/lazy-request.ts';
import { parseRequestTarget } from '../http/types.ts';
import type { AccessClaims } from '../tokens/types.ts';
import {
  createResourceGuard,
  type ResourceGuardOptions,
  type ResourceGuardOutcome,
  type VerifierSource,
} from './guard.ts';

declare global {
  namespace Express {
    interface Request {
      /**
       * The access token's claims, behind `requireToken()` (or the issuer's
       * `requireAuth()`). Where no token was accepted, reading it throws a
       * 401 `missing_token`.
       */
      auth: AccessClaims;
      /** The claims, or null where no guard accepted a token. */
      authOrNull: AccessClaims | null;
    }
  }
}

/**
 * Middleware that lets a request through only with a valid Baton access
 * token (and the roles/scopes asked for); `req.auth` holds its claims.
 * Refusals are Baton's JSON errors: 401 with `WWW-Authenticate: Bearer`,
 * 403 `insufficient_scope`, 503 when the issuer's keys cannot be fetched.
 *
 * @example
 * ```ts
 * import { requireToken } from 'baton-auth/resource/express';
 * import express from 'express';
 *
 * const app = express();
 * const auth = requireToken({
 *   issuer: 'https://auth.example.com',
 *   audience: 'orders-api',
 *   jwksUrl: 'https://auth.example.com/.well-known/jwks.json',
 * });
 * app.get('/orders', auth, (req, res) => res.json({ user: req.auth.sub }));
 * ```
 * Pass one `createResourceVerifier(...)` to several guards to share its key cache:
 * `requireToken(verifier, { scopes: ['orders:write'] })`.
 */
export function requireToken(source: VerifierSource, options: ResourceGuardOptions = {}): RequestHandler {
  installAccessors();
  const guard = createResourceGuard(source, options);
  const apply = (outcome: ResourceGuardOutcome, req: Request, res: Response, next: NextFunction): void => {
    if (!outcome.ok) {
      sendExpressResponse(res, outcome.response);
      return;
    }
    req.authOrNull = outcome.claims;
    next();
  };
  return (req, res, next) => {
    const outcome = guard(nodeRequestHeaders(req.headers), {
      method: req.method,
      path: parseRequestTarget(req.originalUrl ?? req.url).path,
      ...(req.ip === undefined ? {} : { ip: req.ip }),
    });
    if (outcome instanceof Promise) {
      outcome.then((settled) => apply(settled, req, res, next), next);
      return;
    }
    apply(outcome, req, res, next);
  };
}

export type { ResourceGuardOptions, VerifierSource } from './guard.ts';
export { createResourceVerifier, ResourceVerifier, type ResourceVerifierOptions } from './verifier.ts';
