/**
 * The persistence contract of Baton's rotating sessions.
 *
 * A store is deliberately dumb: it keeps rows and performs a few atomic
 * compare-and-set operations. Every policy (grace window, reuse detection,
 * expiry rules) lives in `sessions/`, so a new store is small and the
 * conformance suite in `baton-auth/testing` can prove it correct.
 *
 * All times are milliseconds since the epoch.
 */

export type RevocationReason =
  | 'logout'
  | 'logout_all'
  | 'revoked'
  | 'refresh_token_reused'
  | 'user_disabled'
  | 'admin';

export interface SessionRecord {
  /** Random, URL-safe, unique. Visible to clients as the JWT `sid` claim. */
  id: string;
  userId: string;
  /** The OAuth client the session belongs to, if any. */
  clientId: string | null;
  createdAt: number;
  lastUsedAt: number;
  /** Absolute expiry, never extended by refresh. `null`: never expires. */
  expiresAt: number | null;
  userAgent: string | null;
  ip: string | null;
  /**
   * Per-session random salt from which each generation's refresh secret is
   * derived with the server's refresh key (see sessions/refresh-token.ts).
   */
  secretSalt: string;
  /** SHA-256 (base64url) of the current refresh secret. */
  tokenHash: string;
  /** Incremented by every rotation; the current refresh token carries it. */
  generation: number;
  /** When the last rotation happened (`null` before the first). */
  rotatedAt: number | null;
  revokedAt: number | null;
  revokedReason: RevocationReason | null;
  /**
   * DPoP (RFC 9449): the thumbprint of the key the session's refresh tokens
   * are bound to, `null` for an unbound session. Set at creation, never
   * changed. A store must keep it: a store that drops it unbinds sessions.
   */
  jkt: string | null;
}

export interface RotateRequest {
  id: string;
  /** The rotation only happens if the session is still at this generation... */
  expectedGeneration: number;
  /** ...and its current hash is this one (both, so a store can index either). */
  expectedTokenHash: string;
  newTokenHash: string;
  now: number;
}

/**
 * Outcome of an atomic rotation. Exactly one of N concurrent rotations with
 * the same expectation gets `rotated: true`; the others get the row as it is
 * after the winner's write, so the caller can apply the grace window.
 */
export type RotateResult =
  | { rotated: true; session: SessionRecord }
  | { rotated: false; session: SessionRecord | null };

/** A revoked session id or access-token `jti`, kept until `expiresAt`. */
export interface Revocation {
  kind: 'session' | 'token';
  id: string;
  /** After this instant no access token it covers can still be valid. */
  expiresAt: number;
}

export type RevocationListener = (revocations: readonly Revocation[]) => void;

export interface RevokeSessionsRequest {
  /**
   * Revoke this session, or every live session of `userId`. At least one is
   * required; with both, the session is revoked only if it belongs to `userId`
   * (so a user cannot revoke someone else's session by guessing its id).
   */
  sessionId?: string;
  userId?: string;
  reason: RevocationReason;
  now: number;
  /** Until when the revocation entries must be kept (the longest access token life). */
  revocationExpiresAt: number;
}

export interface SessionStore {
  /** Inserts a new session. Fails if the id exists. */
  createSession(session: SessionRecord): Promise<void>;
  getSession(id: string): Promise<SessionRecord | null>;
  /** Atomic compare-and-set of the refresh secret; also sets `rotatedAt` and `lastUsedAt`. */
  rotateSession(request: RotateRequest): Promise<RotateResult>;
  /** Updates `lastUsedAt` (reauth, grace answers). */
  touchSession(id: string, now: number): Promise<void>;
  /**
   * Marks the matching live sessions revoked and records a `session`
   * revocation for each, atomically. Live here means not yet revoked: an
   * expired session is revoked too, as access tokens issued under it may
   * still be valid. Returns the sessions it revoked now (already revoked ones
   * are not returned again).
   */
  revokeSessions(request: RevokeSessionsRequest): Promise<SessionRecord[]>;
  /** Live sessions of a user (not revoked, `expiresAt` null or after `now`), newest `createdAt` first. */
  listSessions(userId: string, now: number): Promise<SessionRecord[]>;
  /**
   * Records a revocation (used for single access tokens by `jti`). Recording
   * the same (kind, id) again keeps the later `expiresAt`.
   */
  addRevocation(revocation: Revocation): Promise<void>;
  /** Every revocation whose `expiresAt` is after `now`: what a process loads at start. */
  listRevocations(now: number): Promise<Revocation[]>;
  /**
   * Deletes sessions whose absolute expiry is at or before `now`, sessions
   * revoked at or before `revokedBefore` (kept until then so that a late
   * refresh with their token still answers `token_revoked`), and revocations
   * and remembered DPoP proof ids whose `expiresAt` is at or before `now`. Returns the number of sessions
   * deleted. Works in batches so that a large store is not locked for long.
   */
  deleteExpired(request: { now: number; revokedBefore: number }): Promise<number>;
  /**
   * Delivers revocations made by other processes sharing this store.
   * Stores without cross-process transport may omit it.
   */
  subscribeRevocations?(listener: RevocationListener): () => void;
  /**
   * The DPoP replay cache (RFC 9449 section 11.1): remembers the id of a proof
   * until `expiresAt`, atomically. Resolves true when no unexpired entry for
   * `id` existed (the proof is new; it is now remembered), false when one did
   * (a replay; the entry is left as it is). Exactly one of N concurrent calls
   * with the same id, from any number of processes, gets true.
   *
   * An entry is unexpired while its `expiresAt` is after `now` (both from
   * Baton's clock); after that the id counts as new again, whether or not the
   * entry is still there. `deleteExpired` deletes expired entries; a store may
   * also drop them itself (Redis does, by TTL). `id` is never raw client
   * input: Baton passes a SHA-256 digest of the proof's key and `jti`, 43
   * base64url characters.
   *
   * Optional so that stores written before DPoP still work; a deployment with
   * DPoP on needs it (every Baton store has it).
   */
  rememberProofId?(id: string, expiresAt: number, now: number): Promise<boolean>;
  close(): Promise<void>;
}
