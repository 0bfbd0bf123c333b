/**
 * Hono middleware for resource servers: `requireToken(...)` verifies the
 * bearer token (see ./verifier.ts) and exposes its claims as `c.get('auth')`.
 *
 * @module baton-auth/resource/hono
 */
import type { MiddlewareHandler } from 'hono';
import type { BatonVariables } from '../adapters/hono.ts';
import { nodeClientIp } from '../adapters/hono-node.ts';
import { toWebResponse } from '../adapters/responses.ts';
import { createResourceGuard, type ResourceGuardOptions, type VerifierSource } from './guard.ts';

/**
 * Middleware that lets a request through only with a valid Baton access
 * token (and the roles/scopes asked for); `c.get('auth')` holds its claims.
 * Mounted per route it types `c.get('auth')` by itself; mounted with
 * `app.use('/api/*', ...)`, declare the variables on the app:
 * `new Hono<{ Variables: BatonVariables }>()`.
 *
 * @example
 * ```ts
 * import { requireToken } from 'baton-auth/resource/hono';
 * import { Hono } from 'hono';
 *
 * const app = new Hono();
 * const auth = requireToken({
 *   issuer: 'https://auth.example.com',
 *   audience: 'orders-api',
 *   jwksUrl: 'https://auth.example.com/.well-known/jwks.json',
 * });
 * app.get('/orders', auth, (c) => c.json({ user: c.get('auth').sub }));
 * ```
 */
export function requireToken(
  source: VerifierSource,
  options: ResourceGuardOptions = {},
): MiddlewareHandler<{ Variables: BatonVariables }> {
  const guard = createResourceGuard(source, options);
  return async (c, next) => {
    const headers = {
      authorization: c.req.header('authorization'),
      dpop: c.req.header('dpop'),
      'user-agent': c.req.header('user-agent'),
    };
    const ip = nodeClientIp(c);
    const outcome = await guard(headers, {
      method: c.req.method,
      path: c.req.path,
      ...(ip === undefined ? {} : { ip }),
    });
    if (!outcome.ok) return toWebResponse(outcome.response);
    c.set('auth', outcome.claims);
    await next();
    return undefined;
  };
}

export type { BatonVariables } from '../adapters/hono.ts';
export type { ResourceGuardOptions, VerifierSource } from './guard.ts';
export { createResourceVerifier, ResourceVerifier, type ResourceVerifierOptions } from './verifier.ts';
