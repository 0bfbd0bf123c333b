import type { KeyObject } from 'node:crypto';

export type Algorithm = 'HS256' | 'HS384' | 'HS512' | 'ES256' | 'EdDSA' | 'RS256' | 'PS256';

/**
 * Every JWS algorithm Baton signs and verifies with (never `none`).
 *
 * @example
 * ```ts
 * import { ALGORITHMS, type Algorithm, generateSigningKey } from 'baton-auth';
 *
 * const alg = process.env.JWT_ALG ?? 'EdDSA';
 * if (!ALGORITHMS.includes(alg as Algorithm)) throw new Error(`JWT_ALG must be one of ${ALGORITHMS.join(', ')}`);
 * const key = await generateSigningKey(alg as Algorithm);
 * ```
 */
export const ALGORITHMS: readonly Algorithm[] = [
  'HS256',
  'HS384',
  'HS512',
  'ES256',
  'EdDSA',
  'RS256',
  'PS256',
];

/** One key of a KeySet. Symmetric keys have only `secretKey`; asymmetric ones a public key and, to sign, a private key. */
export interface SigningKey {
  kid: string;
  alg: Algorithm;
  /** HS*: the shared secret. */
  secretKey?: KeyObject;
  /** Asymmetric: present on the key that signs. */
  privateKey?: KeyObject;
  /** Asymmetric: always present. */
  publicKey?: KeyObject;
  /** A retired key verifies nothing and signs nothing; kept only so JWKS consumers can see it go. */
  retired?: boolean;
}

/** `fresh` claim: true, false, or a NumericDate until which the token is fresh. */
export type Freshness = boolean | number;

/** The claims every Baton JWT carries, access or refresh: who, for whom, when, which session. */
export interface SessionTokenClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  sid: string;
  client_id: string;
}

/** The claims of a Baton access token (RFC 9068 profile). */
export interface AccessClaims extends SessionTokenClaims {
  type: 'access';
  fresh: Freshness;
  roles?: string[];
  scope?: string;
  /** A DPoP-bound token (RFC 9449 section 6): the thumbprint of the key its proofs must be signed with. */
  cnf?: { jkt: string };
  [claim: string]: unknown;
}
