/** Reading (not verifying) a JWT's claims: the client trusts the server it just got the token from. */

function base64UrlDecode(segment: string): string {
  const base64 = segment.replace(/-/g, '+').replace(/_/g, '/');
  const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

/**
 * The payload of a compact JWS, or undefined when the token is not a JWT with a JSON object payload.
 *
 * @example
 * ```ts
 * import { decodeJwtPayload } from 'baton-auth/client';
 *
 * // Reading, not verifying: fine for display, never for a decision the server has not made.
 * const payload = decodeJwtPayload(accessToken);
 * const expires = typeof payload?.exp === 'number' ? new Date(payload.exp * 1000) : undefined;
 * ```
 */
export function decodeJwtPayload(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  try {
    const payload: unknown = JSON.parse(base64UrlDecode(parts[1]));
    return payload !== null && typeof payload === 'object' && !Array.isArray(payload)
      ? (payload as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
