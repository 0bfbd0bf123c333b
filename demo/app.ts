/**
 * The demo app: Baton's auth routes plus the demo API routes, on the
 * framework BATON_ADAPTER names, through its Baton adapter. The route logic
 * is here; demo/apps/*.ts only wire it into each framework, so the one
 * contract suite checks that all three behave alike.
 */
import { BatonError } from '../src/core/errors.ts';
import { type Fields, requiredString } from '../src/http/body.ts';
import type { BatonHttpOptions } from '../src/http/options.ts';
import type { AnyAuthManager } from '../src/sessions/strategies/index.ts';
import type { AccessClaims } from '../src/tokens/types.ts';
import type { DemoUser, DemoUsers } from './users.ts';

export const DEMO_ADAPTERS = ['hono', 'express', 'fastify'] as const;
export type DemoAdapter = (typeof DEMO_ADAPTERS)[number];

export const DEMO_CLIENT = { id: 'demo-client', secret: 'demo-secret' } as const;

export interface DemoContext {
  manager: AnyAuthManager<DemoUser>;
  users: DemoUsers;
  authOptions: BatonHttpOptions;
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
  if ('revokeUser' in ctx.manager) {
    return { username, disabled: true, revoked_sessions: await ctx.manager.revokeUser(user.id) };
  }
  // Strategies without a per-user session index check the user at their next refresh
  // (single-token: the seed's behaviour, access continues until the token expires).
  return { username, disabled: true, revoked_sessions: null };
}

export async function createDemoApp(adapter: DemoAdapter, ctx: DemoContext): Promise<DemoApp> {
  // Loaded on demand: a demo on Hono does not load Express or Fastify.
  switch (adapter) {
    case 'express':
      return (await import('./apps/express.ts')).createExpressDemo(ctx);
    case 'fastify':
      return (await import('./apps/fastify.ts')).createFastifyDemo(ctx);
    case 'hono':
      return (await import('./apps/hono.ts')).createHonoDemo(ctx);
  }
}
