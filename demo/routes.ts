/**
 * The demo's own routes, framework-neutral: demo/apps/*.ts wire them into
 * each framework, so the one contract suite checks that all three behave alike.
 */
import { type AccessClaims, type AnyAuthManager, BatonError, type BatonLogger } from 'baton-auth';
import { type BatonHttpOptions, type Fields, requiredString } from 'baton-auth/http';
import type { DemoUser, DemoUsers } from './users.ts';

export interface DemoContext {
  manager: AnyAuthManager<DemoUser>;
  users: DemoUsers;
  authOptions: BatonHttpOptions;
  /** Logs each request the demo serves itself at debug (Baton logs its own routes). */
  logger?: BatonLogger;
}

export interface ListeningApp {
  port: number;
  close(): Promise<void>;
}

/** A built app, not yet listening. */
export interface DemoApp {
  listen(port: number, host: string): Promise<ListeningApp>;
}

export const DEMO_INDEX = {
  name: 'Baton demo',
  routes: [
    'POST /auth/login',
    'POST /auth/refresh',
    'POST /auth/token',
    'POST /auth/logout',
    'POST /auth/logout-all',
    'GET /auth/me',
    'GET /auth/sessions',
    'DELETE /auth/sessions/:id',
    'POST /auth/revoke',
    'POST /auth/introspect',
    'POST /auth/reauth',
    'GET /.well-known/jwks.json',
    'GET /api/protected',
    'GET /api/whoami',
    'GET /api/stream',
    'POST /api/sensitive',
    'POST /api/admin/disable-user',
  ],
};

/** The JSON index: the routes, and the DPoP mode (the page reads it to pick bearer mode and proofs). */
export function demoIndex(manager: { dpopMode?: string }) {
  return { ...DEMO_INDEX, dpop: manager.dpopMode ?? 'off' };
}

export const NOT_FOUND = { error: 'not_found', message: 'No such route' };

export function protectedBody(claims: AccessClaims) {
  return { message: `Hello, user ${claims.sub}`, sub: claims.sub, roles: claims.roles ?? [] };
}

/** `GET /api/whoami` works with or without a token (optionalAuth). */
export function whoamiBody(claims: AccessClaims | null) {
  return { sub: claims?.sub ?? null };
}

export function sensitiveBody(claims: AccessClaims) {
  return { message: 'Sensitive action performed with a fresh token', sub: claims.sub };
}

/**
 * `GET /api/stream` sends its JSON in two chunks with the headers flushed
 * first: the case where implicit refresh must already have set its cookie.
 */
export function streamChunks(claims: AccessClaims): [string, string] {
  return [`{"sub":${JSON.stringify(claims.sub)},`, '"streamed":true}'];
}

export async function disableUser(ctx: DemoContext, fields: Fields) {
  const username = requiredString(fields, 'username', { maxLength: 256 });
  const user = ctx.users.disable(username);
  if (user === undefined) throw new BatonError('not_found', 'No such user');
  if (ctx.manager.capabilities.revokeUser) {
    return { username, disabled: true, revoked_sessions: await ctx.manager.revokeUser(user.id) };
  }
  // Strategies without a per-user session index check the user at their next refresh
  // (single-token: the seed's behaviour, access continues until the token expires).
  return { username, disabled: true, revoked_sessions: null };
}
