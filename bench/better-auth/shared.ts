/** What the better-auth comparison's server and suite agree on. */

/** better-auth's baseURL and trusted origin; the load client sends it as `Origin` on POSTs. */
export const BA_ORIGIN = 'http://bench.localhost';

export interface ServerConfig {
  /** Where both SQLite files go (deleted by the suite). */
  dir: string;
  /** `session.cookieCache.maxAge` of the `/api/auth-short` instance: the revocation figure's cache. */
  shortCacheSeconds: number;
  /** Users created on both sides before listening. */
  users: number;
  /** Sessions per store for the footprint figure, measured before listening (0: not measured). */
  footprintSessions: number;
}

/** What the server prints once listening. */
export interface ServerHello {
  ports: Partial<Record<'hono' | 'fastify', number>>;
  footprint: Footprint[];
}

export const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) bench';

/** SQLite file bytes added by `sessions` live sessions, after a WAL checkpoint. */
export interface Footprint {
  system: 'baton' | 'better-auth';
  label: string;
  sessions: number;
  bytes: number;
  bytesPer100k: number;
}

/** The same users exist on both sides: Baton logs in by username (the email), better-auth by email. */
export function benchUserCredentials(index: number): { email: string; password: string } {
  return { email: `user${index}@bench.example`, password: `bench-password-${index}` };
}
