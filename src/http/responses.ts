import type { RequestContext, TokenPair } from '../sessions/types.ts';
import { jsonResponse } from './errors.ts';
import type { RouteContext } from './route-context.ts';
import { csrfValue, tokenCookies } from './session-cookies.ts';
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

export function tokenResponse(pair: TokenPair, cookies: string[] = []): HttpResponse {
  return jsonResponse(200, tokenBody(pair), cookies.length > 0 ? { 'set-cookie': cookies } : {});
}

export function emptyResponse(status: number, headers: Record<string, string | string[]> = {}): HttpResponse {
  return { status, headers: { 'cache-control': 'no-store', pragma: 'no-cache', ...headers } };
}

/**
 * In cookie mode, tokens about to be minted carry the CSRF value as a claim,
 * and the response sets the cookies. `fresh`: a new CSRF value (login).
 */
export function minting(ctx: RouteContext, fresh: boolean) {
  const mode = ctx.options.cookieMode;
  const csrf = mode ? csrfValue(ctx.req, mode, fresh) : undefined;
  const context: RequestContext =
    csrf === undefined ? ctx.requestContext : { ...ctx.requestContext, extraClaims: { csrf } };
  return {
    context,
    respond: (pair: TokenPair) =>
      tokenResponse(pair, mode && csrf !== undefined ? tokenCookies(pair, mode, csrf) : []),
  };
}
