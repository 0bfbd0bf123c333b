/**
 * The resource servers' guard, framework-neutral: the bearer token of a
 * request, verified and authorised, or the error response to send. The
 * adapters in this folder only map their framework's request and reply.
 */
import { BatonError } from '../core/errors.ts';
import { type AuthorizeOptions, authorize } from '../http/authenticate.ts';
import { accessTokenBinding, checkAccessProof, type DpopManager } from '../http/dpop.ts';
import { errorResponse } from '../http/errors.ts';
import { DEFAULT_HEADER_LIMIT, type ExtractedToken, headerToken } from '../http/extract.ts';
import { publicUrlOf } from '../http/options.ts';
import { type HttpRequest, type HttpResponse, requestContext } from '../http/types.ts';
import { DpopVerifier, type DpopVerifierOptions } from '../tokens/dpop.ts';
import type { AccessClaims } from '../tokens/types.ts';
import { createResourceVerifier, ResourceVerifier, type ResourceVerifierOptions } from './verifier.ts';

/** What a guard requires beyond a valid token: the same checks as the issuer's own guards. */
export interface ResourceGuardOptions extends AuthorizeOptions {
  /** Realm of the `WWW-Authenticate: Bearer` challenge. Default `baton`. */
  realm?: string;
  /** Receives errors that are not BatonErrors (bugs). Default: the verifier's `logger` (`error`). */
  onUnexpectedError?: (error: unknown) => void;
  /**
   * DPoP (RFC 9449): take `Authorization: DPoP <token>` with its proof.
   * Without it a DPoP-bound token (`cnf.jkt`) is refused: its proof cannot be checked here.
   */
  dpop?: ResourceDpopOptions;
}

/** A resource server's DPoP checks. */
export interface ResourceDpopOptions {
  /** This server's public URL (`https://api.example.com`): a proof names it and the request's path (`htu`). */
  publicUrl: string;
  /**
   * The proof checks: a `DpopVerifier`, or its options. Its replay cache
   * (`replay`) must be shared by the processes of this server (a store).
   */
  verifier: DpopVerifier | DpopVerifierOptions;
  /** Refuse tokens that are not DPoP-bound. Default `false`. */
  required?: boolean;
}

/** What a guard needs of the request besides its headers when DPoP is on: the method and the path. */
export interface ResourceRequest {
  method: string;
  /** The path as the client sent it, without the query (not relative to a mount point). */
  path: string;
  /** The client's IP, which the `dpop_rejected` events carry (the adapters pass their framework's). */
  ip?: string;
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
  request?: ResourceRequest,
) => ResourceGuardOutcome | Promise<ResourceGuardOutcome>;

/** The DPoP checks of one guard: the token's scheme and binding, then the proof (asynchronous). */
function dpopChecks(options: ResourceDpopOptions | undefined, resource: ResourceVerifier) {
  const verifier =
    options === undefined
      ? undefined
      : options.verifier instanceof DpopVerifier
        ? options.verifier
        : new DpopVerifier(options.verifier);
  const publicUrl = options === undefined ? undefined : publicUrlOf(options.publicUrl);
  if (options !== undefined && publicUrl === undefined) {
    throw new BatonError(
      'invalid_options',
      'Invalid resource guard options: dpop.publicUrl must be an https URL',
    );
  }
  // The issuer's own checks (src/http/dpop.ts), reporting their refusals through the verifier's events.
  const checks: DpopManager = {
    ...(verifier === undefined ? {} : { dpop: verifier }),
    dpopMode: verifier === undefined ? 'off' : options?.required === true ? 'required' : 'allowed',
    dpopRejected: (rejection, context) => resource.dpopRejected(rejection, context),
  };
  return {
    algorithms: verifier?.algorithms,
    /** The token of the Authorization header, and whether it came as DPoP. */
    token(headers: Readonly<Record<string, string | undefined>>): ExtractedToken | undefined {
      const bearer = headerToken({ headers }, 'authorization', 'Bearer', DEFAULT_HEADER_LIMIT);
      if (bearer !== undefined) return { token: bearer, source: 'header' };
      if (verifier === undefined) return undefined;
      const bound = headerToken({ headers }, 'authorization', 'DPoP', DEFAULT_HEADER_LIMIT);
      return bound === undefined ? undefined : { token: bound, source: 'header', scheme: 'DPoP' };
    },
    /** Undefined when the token needs no proof; else the proof check to await. */
    check(
      claims: AccessClaims,
      sent: ExtractedToken,
      headers: Readonly<Record<string, string | undefined>>,
      request: ResourceRequest | undefined,
    ): Promise<AccessClaims> | undefined {
      // Nothing to check (the common case): a Bearer token that is not bound, where DPoP is not required.
      if (claims.cnf === undefined && sent.scheme === undefined && checks.dpopMode !== 'required')
        return undefined;
      const req: HttpRequest = {
        method: request?.method.toUpperCase() ?? '',
        path: request?.path ?? '',
        headers: headers as Record<string, string | undefined>,
        query: new URLSearchParams(),
        ...(request?.ip === undefined ? {} : { ip: request.ip }),
      };
      const context = requestContext(req);
      const jkt = accessTokenBinding(checks, sent, claims, context);
      if (jkt === undefined) return undefined;
      if (request === undefined) {
        throw new BatonError('internal_error', 'A DPoP guard needs the request method and path');
      }
      return checkAccessProof(checks, req, publicUrl, sent.token, claims, jkt, context).then(() => claims);
    },
  };
}

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
  const { realm, onUnexpectedError, dpop: dpopOptions, ...authorization } = options;
  const dpop = dpopChecks(dpopOptions, verifier);
  const errorOptions = {
    logger: verifier.logger,
    ...(realm === undefined ? {} : { realm }),
    ...(onUnexpectedError === undefined ? {} : { onUnexpectedError }),
    ...(dpop.algorithms === undefined ? {} : { dpopAlgorithms: dpop.algorithms }),
  };
  const refused = (error: unknown): ResourceGuardOutcome => ({
    ok: false,
    response: errorResponse(error, errorOptions),
  });
  const accepted = (claims: AccessClaims): ResourceGuardOutcome => {
    authorize(verifier, claims, authorization);
    return { ok: true, claims };
  };
  return (headers, request) => {
    try {
      const sent = dpop.token(headers);
      if (sent === undefined) throw new BatonError('missing_token', 'An access token is required');
      const claims = verifier.verifyNow(sent.token);
      // A DPoP-bound token's proof (asynchronous: the replay cache), then authorisation.
      const proven = (verified: AccessClaims) => dpop.check(verified, sent, headers, request) ?? verified;
      if (!(claims instanceof Promise)) {
        const checked = proven(claims);
        if (!(checked instanceof Promise)) return accepted(checked);
        return checked.then(accepted).catch(refused);
      }
      return claims.then(proven).then(accepted).catch(refused);
    } catch (error) {
      return refused(error);
    }
  };
}
