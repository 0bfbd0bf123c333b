/**
 * A DPoP client key for tests (RFC 9449 section 4): signs proofs with jose,
 * independently of Baton's verifier.
 */
import { createHash, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

export interface ProofOptions {
  /** The access token sent with the proof: its hash goes in `ath`. */
  accessToken?: string;
  nonce?: string;
  /** Seconds; default now. */
  iat?: number;
}

export class ProofKey {
  private constructor(
    readonly alg: string,
    private readonly privateKey: CryptoKey,
    readonly jwk: JWK,
    readonly jkt: string,
  ) {}

  static async create(alg: 'ES256' | 'EdDSA' | 'PS256' | 'RS256' = 'ES256'): Promise<ProofKey> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = await exportJWK(publicKey);
    return new ProofKey(alg, privateKey as CryptoKey, jwk, await calculateJwkThumbprint(jwk));
  }

  proof(method: string, url: string, options: ProofOptions = {}): Promise<string> {
    const claims: Record<string, unknown> = {
      jti: randomUUID(),
      htm: method,
      htu: url,
      iat: options.iat ?? Math.floor(Date.now() / 1000),
    };
    if (options.accessToken !== undefined) {
      claims.ath = createHash('sha256').update(options.accessToken).digest('base64url');
    }
    if (options.nonce !== undefined) claims.nonce = options.nonce;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: this.alg, typ: 'dpop+jwt', jwk: this.jwk })
      .sign(this.privateKey);
  }
}
