/**
 * OAuth client authentication (RFC 6749 section 2.3), shared by the token
 * endpoint, revocation, `/auth/refresh` and the per-client routes. Errors are
 * BatonErrors (`invalid_client`, `invalid_request`); the OAuth routes render
 * them in RFC 6749's shape with the Basic challenge.
 */
import { BatonError } from '../core/errors.ts';
import { type Fields, optionalString } from './body.ts';
import { basicCredentials } from './extract.ts';
import { secureEqual } from './secure-compare.ts';
import type { HttpRequest, OAuthClient } from './types.ts';

export interface Client {
  id: string;
  /** Proved its secret (confidential) rather than only naming itself (public). */
  authenticated: boolean;
}

export interface ClientAuthOptions {
  clients: readonly OAuthClient[];
  headerLimit: number;
}

/** Compared against when the client id is unknown, so unknown and wrong take the same time. */
const DUMMY_SECRET = 'baton-dummy-client-secret-for-constant-time-compare';

export function isConfidential(clients: readonly OAuthClient[], id: string | null): boolean {
  return id !== null && clients.some((client) => client.id === id);
}

function checkSecret(clients: readonly OAuthClient[], id: string, secret: string): Client {
  const client = clients.find((c) => c.id === id);
  const ok = secureEqual(secret, client?.secret ?? DUMMY_SECRET);
  if (!client || !ok) throw new BatonError('invalid_client', 'Client authentication failed');
  return { id, authenticated: true };
}

/**
 * HTTP Basic or `client_id` + `client_secret` in the body, never both. A
 * bare `client_id` is a public client, unless it names a configured
 * (confidential) client, which must then prove its secret; where a bare id
 * only binds a token to its client (`bareIdAllowed`), it is answered as an
 * unauthenticated client and the session's rules decide.
 */
export function authenticateClient(
  req: HttpRequest,
  fields: Fields,
  options: ClientAuthOptions,
  bareIdAllowed = false,
): Client | undefined {
  const basic = basicCredentials(req, options.headerLimit);
  const bodyId = optionalString(fields, 'client_id', { maxLength: 256 });
  const bodySecret = optionalString(fields, 'client_secret', { maxLength: 1024 });
  if (basic === 'malformed') throw new BatonError('invalid_client', 'Malformed Basic credentials');
  if (basic !== undefined) {
    if (bodySecret !== undefined) {
      throw new BatonError('invalid_request', 'Use one client authentication method, not two');
    }
    if (bodyId !== undefined && bodyId !== basic.id) {
      throw new BatonError('invalid_request', 'client_id does not match the authenticated client');
    }
    return checkSecret(options.clients, basic.id, basic.secret);
  }
  if (bodySecret !== undefined) {
    if (bodyId === undefined) {
      throw new BatonError('invalid_request', '"client_id" is required with "client_secret"');
    }
    return checkSecret(options.clients, bodyId, bodySecret);
  }
  if (bodyId === undefined) return undefined;
  if (!bareIdAllowed && isConfidential(options.clients, bodyId)) {
    throw new BatonError('invalid_client', 'This client must authenticate');
  }
  return { id: bodyId, authenticated: false };
}

/**
 * RFC 6749 section 6: a session issued to a confidential client refreshes
 * only when that same client authenticated in this request. Handed to the
 * manager, which calls it with the session's client once the token is known
 * to be authentic and before anything rotates.
 */
export function clientAuthorizer(
  clients: readonly OAuthClient[],
  client: Client | undefined,
): (sessionClientId: string | null) => void {
  return (sessionClientId) => {
    if (!isConfidential(clients, sessionClientId)) return;
    if (client?.authenticated === true && client.id === sessionClientId) return;
    throw new BatonError(
      'invalid_client',
      'This token was issued to a confidential client; authenticate as that client to refresh it',
    );
  };
}

/**
 * A route that names its client itself (the per-client `app`): when that
 * client is confidential, the request must carry its secret, by HTTP Basic or
 * `client_secret` in the body.
 */
export function requireClientSecret(
  req: HttpRequest,
  fields: Fields,
  clientId: string,
  options: ClientAuthOptions,
): void {
  if (!isConfidential(options.clients, clientId)) return;
  const named = Object.hasOwn(fields, 'client_id') ? fields : { ...fields, client_id: clientId };
  const client = authenticateClient(req, named, options, true);
  if (client?.authenticated !== true || client.id !== clientId) {
    throw new BatonError('invalid_client', `The client "${clientId}" must authenticate with its secret`);
  }
}
