/**
 * Fastify plugin for resource servers: `app.register(batonResource, {...})`
 * decorates `request.auth` and `app.requireToken()`, a hook that verifies
 * the bearer token (see ./verifier.ts).
 *
 * @module baton-auth/resource/fastify
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { sendFastifyResponse } from '../adapters/responses.ts';
import { BatonError } from '../core/errors.ts';
import type { AuthorizeOptions } from '../http/authenticate.ts';
import { nodeRequestHeaders } from '../http/lazy-request.ts';
import { parseRequestTarget } from '../http/types.ts';
import type { AccessClaims } from '../tokens/types.ts';
import {
  createResourceGuard,
  type ResourceGuardOptions,
  type ResourceGuardOutcome,
  toVerifier,
} from './guard.ts';
import type { ResourceVerifier, ResourceVerifierOptions } from './verifier.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The access token's claims, behind `app.requireToken()` (or the
     * issuer's `requireAuth()`). Where no token was accepted, reading it
     * throws a 401 `missing_token`.
     */
    readonly auth: AccessClaims;
    /** The claims, or null where no guard accepted a token. */
    authOrNull: AccessClaims | null;
  }
  interface FastifyInstance {
    /** A hook for `onRequest` (or `preHandler`): only requests with a valid access token (and the roles/scopes asked for) go on. */
    requireToken(options?: AuthorizeOptions): ResourceHook;
  }
}

export type ResourceHook = (
  request: FastifyRequest,
  reply: FastifyReply,
  done: HookHandlerDoneFunction,
) => void;

/** The verifier's options, or `{ verifier }` to share one; plus the challenge's realm. */
export type BatonResourceOptions = (ResourceVerifierOptions | { verifier: ResourceVerifier }) &
  Pick<ResourceGuardOptions, 'realm' | 'onUnexpectedError' | 'dpop'>;

const plugin: FastifyPluginAsync<BatonResourceOptions> = async (fastify, options) => {
  // Fastify's own register options (`prefix`, ...) reach the plugin too: they are not the verifier's.
  const { realm, onUnexpectedError, dpop, prefix, logLevel, logSerializers, ...rest } =
    options as BatonResourceOptions & Record<'prefix' | 'logLevel' | 'logSerializers', unknown>;
  const given = 'verifier' in rest ? rest.verifier : undefined;
  const verifier = given ?? toVerifier(rest as ResourceVerifierOptions);
  // A verifier made here is closed with the app; a shared one is its owner's.
  if (given === undefined) fastify.addHook('onClose', async () => verifier.close());
  const base = {
    ...(realm === undefined ? {} : { realm }),
    ...(onUnexpectedError === undefined ? {} : { onUnexpectedError }),
    ...(dpop === undefined ? {} : { dpop }),
  };

  // The issuer's plugin (baton-auth/fastify) may have decorated the request already.
  if (!fastify.hasRequestDecorator('authOrNull')) {
    fastify.decorateRequest('authOrNull', null);
    fastify.decorateRequest('auth', {
      getter(this: FastifyRequest): AccessClaims {
        if (this.authOrNull === null) throw new BatonError('missing_token', 'An access token is required');
        return this.authOrNull;
      },
    });
  }
  fastify.decorate('requireToken', (authorization: AuthorizeOptions = {}): ResourceHook => {
    const guard = createResourceGuard(verifier, { ...base, ...authorization });
    const apply = (outcome: ResourceGuardOutcome, request: FastifyRequest, reply: FastifyReply): boolean => {
      if (!outcome.ok) {
        sendFastifyResponse(reply, outcome.response);
        return false;
      }
      request.authOrNull = outcome.claims;
      return true;
    };
    // A callback hook that answered stops the chain by not calling `done` (Fastify's rule).
    return (request, reply, done) => {
      const outcome = guard(nodeRequestHeaders(request.headers), {
        method: request.method,
        path: parseRequestTarget(request.url).path,
        ip: request.ip,
      });
      if (outcome instanceof Promise) {
        outcome.then((settled) => {
          if (apply(settled, request, reply)) done();
        }, done);
      } else if (apply(outcome, request, reply)) {
        done();
      }
    };
  });
};

/**
 * `app.register(batonResource, { issuer, audience, jwksUrl })`, then
 * `{ onRequest: app.requireToken() }` on the routes to protect; the claims
 * are `request.auth`.
 *
 * @example
 * ```ts
 * import { batonResource } from 'baton-auth/resource/fastify';
 * import Fastify from 'fastify';
 *
 * const app = Fastify();
 * await app.register(batonResource, {
 *   issuer: 'https://auth.example.com',
 *   audience: 'orders-api',
 *   jwksUrl: 'https://auth.example.com/.well-known/jwks.json',
 * });
 * app.get('/orders', { onRequest: app.requireToken() }, async (request) => ({ user: request.auth.sub }));
 * ```
 */
export const batonResource: FastifyPluginAsync<BatonResourceOptions> = Object.assign(plugin, {
  // What fastify-plugin would set: decorations reach the parent scope.
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'baton-resource',
  [Symbol.for('plugin-meta')]: { fastify: '5.x', name: 'baton-resource' },
});
export default batonResource;

export type { ResourceGuardOptions } from './guard.ts';
export { createResourceVerifier, ResourceVerifier, type ResourceVerifierOptions } from './verifier.ts';
