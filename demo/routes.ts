/**
 * The demo's own routes, framework-neutral: demo/apps/*.ts wire them into
 * each framework, so the one contract suite checks that all three behave alike.
 */
import { type AccessClaims, type AnyAuthManager, BatonError, type BatonLogger } from 'baton-auth';
import type { AuditTrail } from 'baton-auth/audit';
import { type BatonHttpOptions, type Fields, requiredString } from 'baton-auth/http';
import type { DemoUser, DemoUsers } from './users.ts';

export interface DemoContext {
  manager: AnyAuthManager<DemoUser>;
  users: DemoUsers;
  /** The audit trail of the manager's events: `GET /api/events` reads the caller's. */
  audit: AuditTrail;
  authOptions: BatonHttpOptions;
  /** Logs each request the demo serves itself at debug (Baton logs its own routes). */
  logger?: BatonLogger;
  /** BATON_METRICS=1: what `GET /metrics` serves (no route without it; demo/metrics.ts). */
  metrics?: DemoMetrics;
}

/** `GET /metrics` (BATON_METRICS=1), framework-neutral: what demo/metrics.ts makes. */
export interface DemoMetrics {
  /** Prometheus' text exposition format. */
  readonly contentType: string;
  /** The metrics as of now, as Prometheus scrapes them. */
  scrape(): Promise<string>;
  close(): Promise<void>;
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
    'GET /api/events',
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

/** How many events `GET /api/events` answers, newest first. */
export const EVENTS_SHOWN = 20;

/** One event as `GET /api/events` shows it: the fields a user may see of their own history. */
export interface EventView {
  id: string;
  time: string;
  type: string;
  session_id: string | null;
  /** Whether it is the session of the token that asked. */
  current: boolean;
  client_id: string | null;
  ip: string | null;
  user_agent: string | null;
  reason: string | null;
}

/**
 * `GET /api/events`: the caller's own recent security events (login,
 * refresh, theft, logout...), newest first, from the audit trail. Only the
 * token's user's: never anyone else's.
 */
export async function eventsBody(ctx: DemoContext, claims: AccessClaims): Promise<{ events: EventView[] }> {
  const entries = await ctx.audit.recent({ userId: claims.sub, limit: EVENTS_SHOWN });
  return {
    events: entries.map(({ id, event }) => ({
      id,
      time: new Date(event.time).toISOString(),
      type: event.type,
      session_id: event.sessionId,
      current: event.sessionId !== null && event.sessionId === claims.sid,
      client_id: event.clientId,
      ip: event.ip,
      user_agent: event.userAgent,
      reason: event.reason,
    })),
  };
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
