import type { Revocation } from './types.ts';

/**
 * A message of a store's cross-process revocation feed (Redis pub/sub,
 * PostgreSQL NOTIFY): a JSON array of `Revocation`s. Anything malformed
 * (another writer on the channel) is ignored.
 */
export function parseRevocations(payload: string): Revocation[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return [];
  }
  return Array.isArray(parsed) ? parsed.filter(isRevocation) : [];
}

function isRevocation(value: unknown): value is Revocation {
  if (typeof value !== 'object' || value === null) return false;
  const { kind, id, expiresAt } = value as Record<string, unknown>;
  return (
    (kind === 'session' || kind === 'token') &&
    typeof id === 'string' &&
    typeof expiresAt === 'number' &&
    Number.isFinite(expiresAt)
  );
}
