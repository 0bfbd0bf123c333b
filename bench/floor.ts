/**
 * The floor: the least work any correct JWT check must do, written straight
 * on node:crypto with nothing else. Split the compact form, check the
 * signature (HMAC + constant-time compare, or crypto.verify), JSON.parse the
 * payload, check `exp`. No alg pinning, no typ/iss/aud, no revocation: every
 * library, Baton included, does at least this, so its speed is the ceiling
 * the others are measured against.
 *
 * Sign floor: a precomputed header segment, JSON.stringify + base64url of the
 * payload, then HMAC or crypto.sign.
 */
import {
  createHmac,
  type KeyObject,
  type SignKeyObjectInput,
  sign,
  timingSafeEqual,
  type VerifyKeyObjectInput,
  verify,
} from 'node:crypto';

export type FloorAlg = 'HS256' | 'ES256' | 'EdDSA' | 'RS256';

export interface FloorKey {
  alg: FloorAlg;
  /** HS256: the secret. */
  secret?: KeyObject;
  privateKey?: KeyObject;
  publicKey?: KeyObject;
}

export type Claims = Record<string, unknown> & { exp: number };

export type FloorVerify = (token: string) => Claims;
export type FloorSign = (payload: Record<string, unknown>) => string;

function fail(): never {
  throw new Error('invalid token');
}

function parsePayload(token: string, firstDot: number, lastDot: number, nowSeconds: number): Claims {
  const claims = JSON.parse(
    Buffer.from(token.slice(firstDot + 1, lastDot), 'base64url').toString(),
  ) as Claims;
  if (!(claims.exp > nowSeconds)) fail();
  return claims;
}

export function floorVerifier(key: FloorKey): FloorVerify {
  if (key.alg === 'HS256') {
    const secret = key.secret!;
    return (token) => {
      const firstDot = token.indexOf('.');
      const lastDot = token.lastIndexOf('.');
      if (firstDot <= 0 || lastDot <= firstDot) fail();
      const signature = Buffer.from(token.slice(lastDot + 1), 'base64url');
      const expected = createHmac('sha256', secret).update(token.slice(0, lastDot)).digest();
      if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) fail();
      return parsePayload(token, firstDot, lastDot, Date.now() / 1000);
    };
  }
  const hash = key.alg === 'EdDSA' ? null : 'sha256';
  const publicKey: VerifyKeyObjectInput | KeyObject =
    key.alg === 'ES256' ? { key: key.publicKey!, dsaEncoding: 'ieee-p1363' } : key.publicKey!;
  return (token) => {
    const firstDot = token.indexOf('.');
    const lastDot = token.lastIndexOf('.');
    if (firstDot <= 0 || lastDot <= firstDot) fail();
    const signature = Buffer.from(token.slice(lastDot + 1), 'base64url');
    if (!verify(hash, Buffer.from(token.slice(0, lastDot)), publicKey, signature)) fail();
    return parsePayload(token, firstDot, lastDot, Date.now() / 1000);
  };
}

export function floorSigner(key: FloorKey, header: Record<string, unknown>): FloorSign {
  const encodedHeader = Buffer.from(JSON.stringify(header)).toString('base64url');
  if (key.alg === 'HS256') {
    const secret = key.secret!;
    return (payload) => {
      const input = `${encodedHeader}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    };
  }
  const hash = key.alg === 'EdDSA' ? null : 'sha256';
  const privateKey: SignKeyObjectInput | KeyObject =
    key.alg === 'ES256' ? { key: key.privateKey!, dsaEncoding: 'ieee-p1363' } : key.privateKey!;
  return (payload) => {
    const input = `${encodedHeader}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    return `${input}.${sign(hash, Buffer.from(input), privateKey).toString('base64url')}`;
  };
}
