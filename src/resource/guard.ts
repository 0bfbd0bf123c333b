/**
 * The resource servers' guard, framework-neutral: the bearer token of a
 * request, verified and authorised, or the error response to send. The
 * adapters in this folder only map their framework's request and reply.
 */
import { BatonError } from '../core/errors.ts';
import { type AuthorizeOptions, authorize } from '../http/authenticate.ts';
import { errorResponse } from '../http/errors.ts';
import { DEFAULT_HEADER_LIMIT, headerToken } from '../http/extract.ts';
import type { HttpResponse } from '../http/types.ts';
import type { AccessClaims } from '../tokens/types.ts';
import { createResourceVerifier, ResourceVerifier, type ResourceVerifierOptions } from './verifier.ts';

/** What a guard requires beyond a valid token: the same checks as the issuer's own guards. */
export interface ResourceGuardOptions extends AuthorizeOptions {
  /** Realm of the `WWW-Authenticate: Bearer` challenge. Default `baton`. */
  realm?: string;
  /** Receives errors that are not BatonErrors (bugs). Default: stderr. */
  onUnexpectedError?: (error: unknown) => void;
}

/** A verifier, or the options to make one (then the guard has its own key cache). */
export type VerifierSource = ResourceVerifier | ResourceVerifierOptions;

export type ResourceGuardOutcome = { ok: true; claims: AccessClaims } | { ok: false; response: HttpResponse };

/**
 * Never throws: failures come back as the response to send (401 with a
 * Bearer challenge, 403 `insufficient_scope`, 503 `keys_unavailable` or
 * `store_unavailable`). Synchronous unless keys must be fetched first.
 */
export type ResourceGuard = (
  headers: Readonly<Record<string, string | undefined>>,
) => ResourceGuardOutcome | Promise<ResourceGuardOutcome>;

export function toVerifier(source: VerifierSource): ResourceVerifier {
  return source instanceof ResourceVerifier ? source : createResourceVerifier(source);
}

/**
 * The guard the framework adapters are made of, for any other server: it
 * takes the request headers and answers with the claims or the error
 * response to send.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createResourceGuard } from 'baton-auth/resource';
 *
 * const issuer = 'https://auth.example.com';
 * const guard = createResourceGuard(
 *   { issuer, audience: 'reports-api', jwksUrl: `${issuer}/.well-known/jwks.json` },
 *   { roles: ['analyst'] },
 * );
 * createServer(async (req, res) => {
 *   const outcome = await guard({ authorization: req.headers.authorization });
 *   if (!outcome.ok) {
 *     res.writeHead(outcome.response.status, outcome.response.headers).end(outcome.response.body);
 *     return;
 *   }
 *   res.end(`Reports for ${outcome.claims.sub}`);
 * }).listen(8080);
 * ```
 */
export function createResourceGuard(
  source: VerifierSource,
  options: ResourceGuardOptions = {},
): ResourceGuard {
  const verifier = toVerifier(source);
  const { realm, onUnexpectedError, ...authorization } = options;
  const errorOptions = {
    ...(realm === undefined ? {} : { realm }),
    ...(onUnexpectedError === undefined ? {} : { onUnexpectedError }),
  };
  const refused = (error: unknown): ResourceGuardOutcome => ({
    ok: false,
    response: errorResponse(error, errorOptions),
  });
  const accepted = (claims: AccessClaims): ResourceGuardOutcome => {
    authorize(verifier, claims, authorization);
    return { ok: true, claims };
  };
  return (headers) => {
    try {
      const token = headerToken({ headers }, 'authorization', 'Bearer', DEFAULT_HEADER_LIMIT);
      if (token === undefined) throw new BatonError('missing_token', 'An access token is required');
      const claims = verifier.verifyNow(token);
      if (!(claims instanceof Promise)) return accepted(claims);
      return claims.then(accepted).catch(refused);
    } catch (error) {
      return refused(error);
    }
  };
}
