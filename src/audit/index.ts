/**
 * `baton-auth/audit`: an optional audit trail of the security events. It
 * listens to `manager.events` and writes each event, as JSON, to the session
 * store's database (a SQLite or PostgreSQL table), a Redis stream, or
 * memory; deletes what is older than its retention; and reads a user's
 * recent history (`baton audit` prints it). Only the driver its target needs
 * is loaded.
 *
 * @module baton-auth/audit
 */
export {
  type AuditKind,
  type AuditSource,
  type AuditTrail,
  type AuditTrailOptions,
  createAuditTrail,
} from './trail.ts';
export type {
  AuditEntry,
  AuditQuery,
  AuditTarget,
  PgPoolLike,
  RedisClientLike,
  SqliteDatabaseLike,
} from './types.ts';
