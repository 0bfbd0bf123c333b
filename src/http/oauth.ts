/**
 * The OAuth 2.0 routes: token endpoint (RFC 6749, plus the jwt-bearer grant
 * as the DRF seed uses it), revocation (RFC 7009), introspection (RFC 7662).
 */
import { isBatonError } from '../core/errors.ts';
import type { RequestContext, RevokeContext, TokenDescription, TokenPair } from '../sessions/types.ts';
import { authenticateRequest, sessionTokenProof } from './authenticate.ts';
import { type Fields, optionalString, parseBody, requiredString } from './body.ts';
import { authenticateClient as authenticate, type Client, clientAuthorizer } from './clients.ts';
import { proofHeader, type TokenRequestProof, tokenRequestProof } from './dpop.ts';
import { httpStatusOf, jsonResponse, OAuthError, withDpopNonce } from './errors.ts';
import { basicCredentials } from './extract.ts';
import { tokenResponse } from './responses.ts';
import type { RouteContext } from './route-context.ts';
import type { HttpResponse, TokenTypeHint } from './types.ts';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

function invalidClient(ctx: RouteContext, description = 'Client authentication failed'): OAuthError {
  return new OAuthError('invalid_client', description, 401, [`Basic realm="${ctx.options.realm}"`]);
}

/** RFC 6749 section 5.2: `invalid_client` goes out with the Basic challenge. */
function withChallenge(ctx: RouteContext, error: unknown): unknown {
  return isBatonError(error) && error.code === 'invalid_client' ? invalidClient(ctx, error.message) : error;
}

function authenticateClient(ctx: RouteContext, fields: Fields, bareIdAllowed = false): Client | undefined {
  try {
    return authenticate(ctx.req, fields, ctx.options, bareIdAllowed);
  } catch (error) {
    throw withChallenge(ctx, error);
  }
}

function readOAuthBody(ctx: RouteContext): Fields {
  return parseBody(ctx.req, { accept: ['json', 'form'], limit: ctx.options.bodyLimit });
}

function hint(fields: Fields): TokenTypeHint | undefined {
  const value = optionalString(fields, 'token_type_hint', { maxLength: 64 });
  // RFC 7009 §2.1: an unknown hint may be ignored; searching all types is the fallback anyway.
  return value === 'access_token' || value === 'refresh_token' ? value : undefined;
}

async function grant(ctx: RouteContext, fields: Fields, proof: TokenRequestProof): Promise<TokenPair> {
  const grantType = requiredString(fields, 'grant_type', { maxLength: 256 });
  // jwt-bearer (DRF seed): the refresh token is the credential and client_id only binds it to its client.
  const client = authenticateClient(ctx, fields, grantType === JWT_BEARER_GRANT);
  // RFC 9449 section 5: a confidential client's refresh tokens are constrained by its authentication.
  const dpop =
    proof.binding === undefined
      ? {}
      : {
          dpop: { ...proof.binding, ...(client?.authenticated === true ? { confidentialClient: true } : {}) },
        };
  const context = { ...ctx.requestContext, clientId: client?.id ?? null, ...dpop };
  switch (grantType) {
    case 'password': {
      const username = requiredString(fields, 'username', { maxLength: 256 });
      const password = requiredString(fields, 'password', { maxLength: 1024 });
      return ctx.manager.login(username, password, context);
    }
    case 'refresh_token': {
      const token = requiredString(fields, 'refresh_token', { maxLength: 8192 });
      return refreshGrant(ctx, token, client?.id, client, dpop);
    }
    case JWT_BEARER_GRANT: {
      const token = requiredString(fields, 'refresh_token', { maxLength: 8192 });
      const clientId = requiredString(fields, 'client_id', { maxLength: 256 });
      return refreshGrant(ctx, token, clientId, client, dpop);
    }
    default:
      throw new OAuthError('unsupported_grant_type', `Unsupported grant_type "${grantType}"`);
  }
}

/** Both refresh grants: bound to the named client, and a confidential client's session needs that client's secret. */
async function refreshGrant(
  ctx: RouteContext,
  token: string,
  expectedClientId: string | undefined,
  client: Client | undefined,
  dpop: Pick<RequestContext, 'dpop'>,
): Promise<TokenPair> {
  try {
    return await ctx.manager.refresh(token, {
      ...ctx.requestContext,
      ...(expectedClientId === undefined ? {} : { expectedClientId }),
      authorizeClient: clientAuthorizer(ctx.options.clients, client),
      ...dpop,
    });
  } catch (error) {
    // The manager reports a client mismatch as invalid_request, and a refresh token bound to another
    // DPoP key (or used without a proof) as invalid_dpop_proof; RFC 6749 §5.2 calls both invalid_grant.
    if (isBatonError(error) && (error.code === 'invalid_request' || error.code === 'invalid_dpop_proof')) {
      throw new OAuthError('invalid_grant', error.message);
    }
    throw withChallenge(ctx, error);
  }
}

/**
 * Always answers in the body and never sets a cookie: a cross-site form post
 * of `grant_type=password` must not log a victim's browser in (login CSRF).
 */
export async function tokenRoute(ctx: RouteContext): Promise<HttpResponse> {
  const fields = readOAuthBody(ctx);
  // The proof first: a proof problem (or the nonce dance) is answered before any credential is looked at.
  const grantType = fields.grant_type;
  const step = grantType === 'password' ? 'login' : 'refresh';
  const proof = await tokenRequestProof(
    ctx.manager,
    ctx.req,
    ctx.options.publicUrl,
    step,
    ctx.requestContext,
  );
  return withDpopNonce(tokenResponse(await grant(ctx, fields, proof)), proof.nonce);
}

/**
 * RFC 7009: the token is the credential; unknown or invalid tokens still get
 * 200. A DPoP-bound token is revoked by the confidential client it was issued
 * to (authenticated with its secret), or with a proof by its key, checked as
 * at logout; else 400 `invalid_dpop_proof` and nothing changes.
 */
export async function revokeRoute(ctx: RouteContext): Promise<HttpResponse> {
  const fields = readOAuthBody(ctx);
  const client = authenticateClient(ctx, fields);
  const token = requiredString(fields, 'token', { maxLength: 8192 });
  const context: RevokeContext = client?.authenticated
    ? { ...ctx.requestContext, authenticatedClient: client.id }
    : ctx.requestContext;
  // An authenticated client without a proof: the manager decides whether the token is its own.
  const proof =
    client?.authenticated && proofHeader(ctx.req) === undefined
      ? { context }
      : await sessionTokenProof(
          ctx.manager,
          ctx.req,
          { token, source: 'body' },
          ctx.options.publicUrl,
          context,
          'revoke',
        );
  await ctx.manager.revokeToken(token, hint(fields), proof.context);
  // RFC 7009 clients ignore the body; some (simple-oauth2) parse it, so it is JSON.
  return withDpopNonce(jsonResponse(200, {}), proof.nonce);
}

/** Client credentials, or else an access token with the admin role. */
function authorizeIntrospection(ctx: RouteContext, fields: Fields): void {
  const basic = basicCredentials(ctx.req, ctx.options.headerLimit);
  if (basic !== undefined || Object.hasOwn(fields, 'client_secret')) {
    const client = authenticateClient(ctx, fields);
    if (client?.authenticated) return;
  }
  try {
    // The header only: introspection is a server-to-server call, never a browser's cookie.
    authenticateRequest(ctx.manager, ctx.req, {
      cookieMode: undefined,
      lookup: { ...ctx.options.lookup, locations: ['header'] },
      headerLimit: ctx.options.headerLimit,
      roles: [ctx.options.adminRole],
    });
  } catch (error) {
    if (!isBatonError(error)) throw error;
    const realm = ctx.options.realm;
    if (error.code === 'missing_token') {
      throw new OAuthError(
        'invalid_client',
        'Client credentials or an admin access token are required',
        401,
        [`Basic realm="${realm}"`, `Bearer realm="${realm}"`],
      );
    }
    if (error.code === 'insufficient_scope') {
      throw new OAuthError('insufficient_scope', 'Introspection requires the admin role', 403, [
        `Bearer realm="${realm}", error="insufficient_scope"`,
      ]);
    }
    if (httpStatusOf(error.code) === 401) {
      throw new OAuthError('invalid_token', error.message, 401, [
        `Bearer realm="${realm}", error="invalid_token"`,
      ]);
    }
    throw error;
  }
}

/** RFC 7662. An inactive token answers `{"active": false}` and nothing more. */
export async function introspectRoute(ctx: RouteContext): Promise<HttpResponse> {
  const fields = readOAuthBody(ctx);
  authorizeIntrospection(ctx, fields);
  const token = requiredString(fields, 'token', { maxLength: 8192 });
  const description = await ctx.manager.describeToken(token, hint(fields));
  return jsonResponse(200, description === null ? { active: false } : introspectionResponse(description));
}

/**
 * Claims that are Baton's own plumbing, not facts about the token for a resource
 * server: cookie mode's CSRF binding (`CookieModeClaims`) and single-token's `rf_exp`.
 */
const INTERNAL_CLAIMS: ReadonlySet<string> = new Set(['csrf', 'rf_exp']);

/** RFC 7662 section 2.2: the token's claims, `active`, and `token_type` (RFC 7009's hint values). */
function introspectionResponse(description: TokenDescription): Record<string, unknown> {
  const claims: Record<string, unknown> = description.claims;
  const shown = Object.fromEntries(Object.entries(claims).filter(([name]) => !INTERNAL_CLAIMS.has(name)));
  return { ...shown, active: true, token_type: description.tokenType };
}
