/** Keys, a realistic access-token payload, token pools and SessionManagers shared by the suites. */
import { randomBytes } from 'node:crypto';
import { SessionManager } from '../../src/index.ts';
import type { BatonUser, SessionManagerOptions } from '../../src/sessions/types.ts';
import { MemoryStore } from '../../src/stores/memory.ts';
import type { SessionStore } from '../../src/stores/types.ts';
import { AccessTokenCodec, type AccessTokenInput } from '../../src/tokens/access-token.ts';
import { generateSigningKey, importSigningKey, KeySet } from '../../src/tokens/keys.ts';
import type { Algorithm, SigningKey } from '../../src/tokens/types.ts';
import type { FloorAlg, FloorKey } from '../floor.ts';

export const BENCH_ALGS: readonly FloorAlg[] = ['HS256', 'ES256', 'EdDSA', 'RS256'];
export const ISSUER = 'https://auth.example.com';
export const AUDIENCE = 'https://api.example.com';
export const REFRESH_KEY = 'bench-refresh-key-'.padEnd(48, 'x');

export interface AlgFixture {
  alg: FloorAlg;
  key: SigningKey;
  keys: KeySet;
  floorKey: FloorKey;
  /** What the other libraries take: the raw HS secret, or PEM public/private keys. */
  secret?: Buffer;
  publicPem?: string;
  privatePem?: string;
}

export async function algFixture(alg: FloorAlg): Promise<AlgFixture> {
  const key = await generateSigningKey(alg as Algorithm, { kid: `bench-${alg.toLowerCase()}` });
  const fixture: AlgFixture = {
    alg,
    key,
    keys: new KeySet([key]),
    floorKey: { alg, secret: key.secretKey, privateKey: key.privateKey, publicKey: key.publicKey },
  };
  if (key.secretKey) fixture.secret = key.secretKey.export();
  if (key.publicKey) fixture.publicPem = key.publicKey.export({ format: 'pem', type: 'spki' }) as string;
  if (key.privateKey) fixture.privatePem = key.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  return fixture;
}

/** An HS256 fixture from a text secret: what hono/jwt, @fastify/jwt and express-jwt are usually given. */
export async function hsFixtureFromText(text: string): Promise<AlgFixture> {
  const key = await importSigningKey({ alg: 'HS256', secret: text, kid: 'bench-hs256' });
  return {
    alg: 'HS256',
    key,
    keys: new KeySet([key]),
    floorKey: { alg: 'HS256', secret: key.secretKey },
    secret: Buffer.from(text, 'utf8'),
  };
}

export function codecFor(fixture: AlgFixture): AccessTokenCodec {
  return new AccessTokenCodec({
    keys: fixture.keys,
    issuer: ISSUER,
    audience: AUDIENCE,
    ttl: '1h',
  });
}

/** What SessionManager puts in an access token for a typical user (about 420 characters signed with HS256). */
export function accessInput(nowSeconds = Math.floor(Date.now() / 1000)): AccessTokenInput {
  return {
    sub: 'user-0001234567',
    sid: randomBytes(16).toString('base64url'),
    jti: randomBytes(16).toString('base64url'),
    iat: nowSeconds,
    nbf: nowSeconds,
    exp: nowSeconds + 3600,
    client_id: 'web-app',
    fresh: false,
    roles: ['user', 'editor'],
    scope: 'openid profile read:orders write:orders',
  };
}

/** The same claims as the codec signs them (iss, aud, type added): what the floor and the other libraries sign. */
export function fullClaims(input: AccessTokenInput): Record<string, unknown> {
  const { sub, sid, client_id, jti, iat, nbf, exp, fresh, ...rest } = input;
  return {
    iss: ISSUER,
    sub,
    aud: AUDIENCE,
    exp,
    nbf,
    iat,
    jti,
    sid,
    client_id,
    type: 'access',
    fresh,
    ...rest,
  };
}

/** `count` distinct valid tokens (distinct jti and sid), each as a server gets it (see asReceived). */
export function tokenPool(codec: AccessTokenCodec, count: number): string[] {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) tokens.push(asReceived(codec.sign(accessInput())));
  return tokens;
}

/**
 * The token as a server has it: cut out of the Authorization header string the
 * HTTP parser made (a slice of a flat string), sharing nothing with `token`.
 * A token built by concatenation (a rope) would be a different, slower string
 * shape for every library, and one that no request ever delivers.
 */
export function asReceived(token: string): string {
  return Buffer.from(`Bearer ${token}`, 'latin1').toString('latin1').slice(7);
}

/** A separate copy of a token, as another request would deliver it. */
export function freshCopy(token: string): string {
  return asReceived(token);
}

export const benchUser: BatonUser = { id: 'user-0001234567', roles: ['user', 'editor'] };

export function managerFor(
  fixture: AlgFixture,
  overrides: Partial<SessionManagerOptions<BatonUser>> = {},
  store: SessionStore = new MemoryStore(),
): SessionManager<BatonUser> {
  return new SessionManager<BatonUser>({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: [fixture.key],
    refreshKey: REFRESH_KEY,
    store,
    accessTokenTtl: '1h',
    loadUser: (id) => (id === benchUser.id ? benchUser : null),
    rateLimit: false,
    ...overrides,
  });
}
