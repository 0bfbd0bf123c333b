import { BatonError } from '../core/errors.ts';
import type { RequestContext, TokenPair } from '../sessions/types.ts';
import { jsonResponse } from './errors.ts';
import type { RouteContext } from './route-context.ts';
import {
  csrfBinding,
  newCsrfValue,
  TRANSFER_HEADER,
  type Transfer,
  tokenCookies,
} from './session-cookies.ts';
import type { HttpResponse } from './types.ts';

/** The OAuth 2.0 token response (RFC 6749 §5.1) plus Baton's session fields. */
export function tokenBody(pair: TokenPair): Record<string, unknown> {
  const body: Record<string, unknown> = {
    access_token: pair.accessToken,
    token_type: pair.tokenType,
    expires_in: pair.expiresIn,
  };
  // After reauth the session's refresh token is unchanged and not re-sent.
  if (pair.refreshToken) body.refresh_token = pair.refreshToken;
  body.refresh_expires_in = pair.refreshExpiresIn;
  body.session_id = pair.sessionId;
  if (typeof pair.claims.scope === 'string' && pair.claims.scope !== '') body.scope = pair.claims.scope;
  return body;
}

/**
 * Cookie transfer: what page script may read. No token (page script must
 * never read a refresh token, and the access token lives in its HttpOnly
 * cookie); the CSRF value to echo and the claims instead.
 */
export function cookieTransferBody(pair: TokenPair, csrf: string): Record<string, unknown> {
  const { access_token: _access, refresh_token: _refresh, ...rest } = tokenBody(pair);
  return { ...rest, csrf_token: csrf, claims: pair.claims };
}

/** A token response in the body only, as the OAuth routes always answer. */
export function tokenResponse(pair: TokenPair): HttpResponse {
  return jsonResponse(200, tokenBody(pair));
}

export function emptyResponse(status: number, headers: Record<string, string | string[]> = {}): HttpResponse {
  return { status, headers: { 'cache-control': 'no-store', pragma: 'no-cache', ...headers } };
}

/** Refuses a transfer the deployment does not accept (cookie mode off, or `cookies.transfer`). */
function assertAccepted(ctx: RouteContext, transfer: Transfer): void {
  const accepted = ctx.options.cookieMode?.transfer ?? ['body'];
  if (accepted.includes(transfer)) return;
  throw new BatonError(
    'invalid_request',
    transfer === 'cookie'
      ? 'This server does not offer cookie transfer'
      : 'This server sends tokens as cookies only: log in with the header "Baton-Transfer: cookie"',
  );
}

/** The transfer a login asks for: `Baton-Transfer: cookie`, or the body by default. */
export function requestedTransfer(ctx: RouteContext): Transfer {
  const value = ctx.req.headers[TRANSFER_HEADER]?.trim().toLowerCase();
  if (value === undefined || value === '' || value === 'body') return 'body';
  if (value === 'cookie') return 'cookie';
  throw new BatonError('invalid_request', 'The Baton-Transfer header must be "cookie" or "body"');
}

/**
 * How a token response about to be minted goes out. Cookie transfer: a new
 * CSRF value, as a claim of the new access token and in the CSRF cookie; the
 * tokens as cookies and not in the body. Body transfer: the tokens in the
 * body, no cookie.
 */
export function minting(ctx: RouteContext, transfer: Transfer) {
  assertAccepted(ctx, transfer);
  const mode = ctx.options.cookieMode;
  if (transfer === 'body' || mode === undefined) {
    return { context: ctx.requestContext, respond: tokenResponse };
  }
  const csrf = newCsrfValue();
  const context: RequestContext = { ...ctx.requestContext, extraClaims: csrfBinding(csrf) };
  return {
    context,
    respond: (pair: TokenPair): HttpResponse =>
      jsonResponse(200, cookieTransferBody(pair, csrf), { 'set-cookie': tokenCookies(pair, mode, csrf) }),
  };
}
