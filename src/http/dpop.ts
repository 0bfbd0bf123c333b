/**
 * DPoP over HTTP (RFC 9449): the `DPoP` header's proof checked against the
 * request (method, and the URL built from `publicUrl` and the path, never
 * from the Host header), for the token-issuing routes (login, refresh, the
 * token endpoint, reauth) and for protected requests (`ath`, and the key the
 * token is bound to). Every refusal is reported as `dpop_rejected`.
 */
import { BatonError, isBatonError } from '../core/errors.ts';
import type { DpopBinding, DpopRejection, DpopStep, RequestContext } from '../sessions/types.ts';
import type { AccessClaims } from '../tokens/types.ts';
import type { ExtractedToken } from './extract.ts';
import type { AuthManager, HttpRequest } from './types.ts';

/** What the proof checks need of the manager. */
export type DpopManager = Pick<AuthManager, 'dpop' | 'dpopMode' | 'dpopRejected'>;

/** The URL a proof's `htu` must name: the configured public URL and the request's path. */
export function proofUrl(publicUrl: string | undefined, req: HttpRequest): string {
  if (publicUrl === undefined) {
    throw new BatonError('internal_error', 'DPoP needs publicUrl (the HTTP options refuse it without)');
  }
  return `${publicUrl}${req.path}`;
}

/** The `DPoP` header, as sent (undefined when absent). */
export function proofHeader(req: HttpRequest): string | undefined {
  const value = req.headers.dpop;
  return value === undefined || value === '' ? undefined : value;
}

function report(manager: DpopManager, rejection: DpopRejection, context: RequestContext): void {
  manager.dpopRejected?.(rejection, context);
}

function refused(manager: DpopManager, rejection: DpopRejection, context: RequestContext): BatonError {
  report(manager, rejection, context);
  return new BatonError('invalid_dpop_proof', `DPoP proof refused: ${rejection.detail}`);
}

/** Reports a verifier's refusal (`invalid_dpop_proof`, `use_dpop_nonce`) and answers it to be thrown. */
function verifierRefusal(
  manager: DpopManager,
  error: unknown,
  step: DpopStep,
  context: RequestContext,
  about: Pick<DpopRejection, 'userId' | 'sessionId' | 'clientId'> = {},
): unknown {
  if (isBatonError(error) && (error.code === 'invalid_dpop_proof' || error.code === 'use_dpop_nonce')) {
    const reason = error.code === 'use_dpop_nonce' ? 'use_dpop_nonce' : 'invalid_proof';
    report(manager, { reason, step, detail: error.message, ...about }, context);
  }
  return error;
}

/** A token-issuing request's proof: the binding for the manager, and the nonce to send back, if any. */
export interface TokenRequestProof {
  binding?: DpopBinding;
  nonce?: string;
}

/**
 * The proof of a request to a token-issuing route (login, refresh, token,
 * reauth), verified (no `ath`: no access token goes with it). None is fine
 * here: the manager refuses then in `required` mode and for a bound session.
 * `confidentialClient`: the request authenticated a confidential client, whose
 * refresh tokens are constrained by that instead of the key (RFC 9449 section 5).
 */
export async function tokenRequestProof(
  manager: DpopManager,
  req: HttpRequest,
  publicUrl: string | undefined,
  step: DpopStep,
  context: RequestContext,
  confidentialClient = false,
): Promise<TokenRequestProof> {
  const verifier = manager.dpop;
  const proof = proofHeader(req);
  if (verifier === undefined || proof === undefined) return {};
  try {
    const verified = await verifier.verify({ method: req.method, url: proofUrl(publicUrl, req), proof });
    const binding: DpopBinding = { jkt: verified.jkt, ...(confidentialClient ? { confidentialClient } : {}) };
    return verified.nonce === undefined ? { binding } : { binding, nonce: verified.nonce };
  } catch (error) {
    throw verifierRefusal(manager, error, step, context);
  }
}

/**
 * The synchronous half of a protected request's DPoP checks (or of a logout
 * or revocation with an access token, `step`), once the token is verified: answers the key whose proof must come with it (undefined: a
 * Bearer token, nothing to prove). A bound token sent as Bearer, an unbound
 * one sent as DPoP, an unbound one when DPoP is required, and a bound one
 * where DPoP is off are refused.
 */
export function accessTokenBinding(
  manager: DpopManager,
  token: ExtractedToken,
  claims: AccessClaims,
  context: RequestContext,
  step: DpopStep = 'resource',
): string | undefined {
  const bound = claims.cnf?.jkt;
  const about = { userId: claims.sub, sessionId: claims.sid, clientId: claims.client_id };
  if (manager.dpop === undefined) {
    // Fail closed: this server cannot check the proof a bound token needs.
    if (bound !== undefined)
      throw new BatonError('invalid_token', 'This token is DPoP-bound; DPoP is off here');
    return undefined;
  }
  if (token.scheme === 'DPoP' && bound === undefined) {
    throw new BatonError('invalid_token', 'This token is not DPoP-bound: send it as a Bearer token');
  }
  if (bound !== undefined && token.source === 'header' && token.scheme !== 'DPoP') {
    throw refused(
      manager,
      {
        reason: 'bearer_bound_token',
        step,
        detail: 'this token is DPoP-bound: send it as "Authorization: DPoP <token>" with a proof',
        ...about,
      },
      context,
    );
  }
  if (bound === undefined && manager.dpopMode === 'required') {
    throw refused(
      manager,
      {
        reason: 'missing_proof',
        step,
        detail: 'DPoP is required: use a DPoP-bound token',
        ...about,
      },
      context,
    );
  }
  return bound;
}

/**
 * The asynchronous half: the proof of a protected request with a bound token,
 * checked with `ath` (the hash of the token) and signed by the token's key.
 * Protected requests take proofs without the server nonce (RFC 9449 section
 * 9 lets a resource server have its own; Baton's are the token endpoint's),
 * so they never hand one out either.
 */
export async function checkAccessProof(
  manager: DpopManager,
  req: HttpRequest,
  publicUrl: string | undefined,
  token: string,
  claims: AccessClaims,
  jkt: string,
  context: RequestContext,
  step: DpopStep = 'resource',
): Promise<DpopBinding> {
  const verifier = manager.dpop;
  const about = { userId: claims.sub, sessionId: claims.sid, clientId: claims.client_id };
  const proof = proofHeader(req);
  if (verifier === undefined)
    throw new BatonError('invalid_token', 'This token is DPoP-bound; DPoP is off here');
  if (proof === undefined) {
    throw refused(
      manager,
      {
        reason: 'missing_proof',
        step,
        detail: 'this token is DPoP-bound: send a proof',
        ...about,
      },
      context,
    );
  }
  let verified: Awaited<ReturnType<typeof verifier.verify>>;
  try {
    verified = await verifier.verify({
      method: req.method,
      url: proofUrl(publicUrl, req),
      proof,
      accessToken: token,
      requireNonce: false,
    });
  } catch (error) {
    throw verifierRefusal(manager, error, step, context, about);
  }
  if (verified.jkt !== jkt) {
    throw refused(
      manager,
      {
        reason: 'key_mismatch',
        step,
        detail: 'the proof is signed by another key than the one this token is bound to',
        ...about,
      },
      context,
    );
  }
  return { jkt };
}
