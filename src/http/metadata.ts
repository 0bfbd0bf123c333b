/**
 * RFC 8414 authorization server metadata: what a client or a resource server
 * can learn of this server without being told (endpoints, grants, client
 * authentication, keys, DPoP algorithms). Built once, from the options: its
 * URLs come from `publicUrl`, never from a request's `Host` header.
 */
import { JWT_BEARER_GRANT } from './oauth.ts';
import type { ResolvedOptions } from './options.ts';
import type { AuthManager, HttpResponse } from './types.ts';

/** The client authentication methods of the token and revocation endpoints (RFC 6749 2.3, RFC 7591 2). */
function clientMethods(options: ResolvedOptions): string[] {
  // Confidential clients send their secret by HTTP Basic or in the body; without any, there is nothing to check.
  return options.clients.length > 0 ? ['client_secret_basic', 'client_secret_post'] : [];
}

/**
 * The metadata document (RFC 8414 section 2). Baton has no authorization
 * endpoint: `authorization_endpoint` is left out (required only with grants
 * that use it) and `response_types_supported`, which is required, is empty.
 * The methods lists are always given, as their defaults (`client_secret_basic`)
 * would not be true: a public client uses `none` at the token endpoint, and
 * introspection also takes an admin's access token (`Bearer`, from the access
 * token types registry, as section 2 allows).
 */
export function authorizationServerMetadata(
  manager: AuthManager,
  options: ResolvedOptions & { publicUrl: string },
): Record<string, unknown> {
  const endpoint = (route: string) => `${options.publicUrl}${options.prefix}/${route}`;
  const methods = clientMethods(options);
  const metadata: Record<string, unknown> = {
    issuer: manager.issuer,
    token_endpoint: endpoint('token'),
    token_endpoint_auth_methods_supported: [...methods, 'none'],
    grant_types_supported: ['password', 'refresh_token', JWT_BEARER_GRANT],
    response_types_supported: [],
    revocation_endpoint: endpoint('revoke'),
    revocation_endpoint_auth_methods_supported: [...methods, 'none'],
    introspection_endpoint: endpoint('introspect'),
    introspection_endpoint_auth_methods_supported: [...methods, 'Bearer'],
  };
  // An HS* manager publishes no keys: no jwks_uri then, rather than an empty set.
  if (options.jwksPath !== undefined && manager.jwks().keys.length > 0) {
    metadata.jwks_uri = `${options.publicUrl}${options.jwksPath}`;
  }
  if (manager.dpop !== undefined) metadata.dpop_signing_alg_values_supported = [...manager.dpop.algorithms];
  return metadata;
}

/** The metadata route's answer, made once: public, and briefly cacheable like the JWKS. */
export function metadataResponse(manager: AuthManager, options: ResolvedOptions & { publicUrl: string }) {
  const body = JSON.stringify(authorizationServerMetadata(manager, options));
  return (): HttpResponse => ({
    status: 200,
    headers: {
      'content-type': 'application/json',
      'cache-control': 'public, max-age=300',
      'x-content-type-options': 'nosniff',
    },
    body,
  });
}
