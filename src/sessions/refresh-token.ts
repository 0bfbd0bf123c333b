import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { BatonError } from '../core/errors.ts';
import { randomId } from '../tokens/random.ts';

/**
 * Opaque refresh tokens: `<sessionId>.<secret>`.
 *
 * The secret of each generation is derived, not stored:
 *   secret(g) = g (4 bytes, big-endian) || HMAC-SHA256(refreshKey, sid, salt, g)
 * The store keeps only the SHA-256 of the current secret and the per-session
 * random salt. Deriving (rather than keeping every past hash) is what lets us
 * (1) recognise ANY earlier generation as a real, once-issued token — theft —
 * while a guessed secret is merely invalid, in O(1) space per session, and
 * (2) answer concurrent refreshes inside the grace window with the same
 * successor without ever keeping it at rest. The trade-off: whoever holds
 * both the refresh key and a copy of the store can mint refresh tokens, so
 * the key lives outside the store (see README, design notes).
 */

const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;
const SECRET = /^[A-Za-z0-9_-]{48}$/;
const GENERATION_BYTES = 4;
const MAX_GENERATION = 0xffffffff;

export interface ParsedRefreshToken {
  sessionId: string;
  secret: string;
  generation: number;
}

/** Not secret (it is in every token of the session): pooled random bytes, as token ids are. */
export function newSessionId(): string {
  return randomId(16);
}

export function newSecretSalt(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

export class RefreshTokenDeriver {
  readonly #key: Buffer;

  constructor(key: string | Uint8Array) {
    const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
    if (bytes.length < 32) {
      throw new BatonError('invalid_options', `refreshKey must be at least 32 bytes, got ${bytes.length}`);
    }
    this.#key = bytes;
  }

  secret(sessionId: string, salt: string, generation: number): string {
    if (!Number.isInteger(generation) || generation < 0 || generation > MAX_GENERATION) {
      throw new BatonError('internal_error', `refresh generation out of range: ${generation}`);
    }
    const prefix = Buffer.alloc(GENERATION_BYTES);
    prefix.writeUInt32BE(generation);
    const mac = createHmac('sha256', this.#key)
      .update(`baton-refresh\0${sessionId}\0${salt}\0${generation}`)
      .digest();
    return Buffer.concat([prefix, mac]).toString('base64url');
  }

  token(sessionId: string, salt: string, generation: number): string {
    return `${sessionId}.${this.secret(sessionId, salt, generation)}`;
  }

  /** Whether `parsed` was really issued for this session (any generation), in constant time. */
  isAuthentic(parsed: ParsedRefreshToken, salt: string): boolean {
    const expected = Buffer.from(this.secret(parsed.sessionId, salt, parsed.generation));
    const given = Buffer.from(parsed.secret);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}

/** Looks like a JWT (three dot-separated segments): an access token given where a refresh token belongs. */
export function looksLikeJwt(token: string): boolean {
  // A JOSE header is a JSON object, so its base64url starts with "eyJ" ('{"').
  return token.startsWith('eyJ') && token.split('.', 4).length === 3;
}

/**
 * Has the shape of an opaque refresh token of any strategy, `<id>.<secret>`
 * with a secret of at least 256 bits in base64url: a refresh token given
 * where an access token belongs. A JWT has three segments, so never this.
 */
export function looksLikeOpaqueRefreshToken(token: string): boolean {
  return OPAQUE_REFRESH.test(token);
}

const OPAQUE_REFRESH = /^[A-Za-z0-9_-]{1,400}\.[A-Za-z0-9_-]{43,200}$/;

export function parseRefreshToken(token: string): ParsedRefreshToken {
  if (typeof token !== 'string') throw new BatonError('invalid_token', 'Malformed refresh token');
  if (looksLikeJwt(token)) {
    throw new BatonError('wrong_token_type', 'An access token was given where a refresh token is required');
  }
  if (token.length > 200) throw new BatonError('invalid_token', 'Malformed refresh token');
  const dot = token.indexOf('.');
  const sessionId = token.slice(0, dot);
  const secret = token.slice(dot + 1);
  if (dot < 0 || !SESSION_ID.test(sessionId) || !SECRET.test(secret)) {
    throw new BatonError('invalid_token', 'Malformed refresh token');
  }
  const generation = Buffer.from(secret, 'base64url').readUInt32BE(0);
  return { sessionId, secret, generation };
}
