/**
 * Store size per live session, Baton's SqliteStore and better-auth's SQLite
 * tables side by side: each side's own code makes `count` sessions in a file
 * of its own (Baton: `SessionManager.issueSession`; better-auth:
 * `internalAdapter.createSession`, what its sign-in calls), with the same
 * pragmas, user agent and IP, and the file bytes they add are measured after
 * a WAL checkpoint (page_count × page_size). The better-auth comparison's
 * server runs it before listening (better-auth takes seconds to import: one
 * process imports it once).
 */
import { join } from 'node:path';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/stores/sqlite.ts';
import { algFixture, benchUser, managerFor } from '../lib/fixtures.ts';
import { hashPassword, verifyPassword } from '../lib/passwords.ts';
import { BA_ORIGIN, benchUserCredentials, type Footprint, USER_AGENT } from './shared.ts';

function fileBytes(db: Database.Database): number {
  db.pragma('wal_checkpoint(TRUNCATE)');
  return (
    (db.pragma('page_count', { simple: true }) as number) *
    (db.pragma('page_size', { simple: true }) as number)
  );
}

function figure(system: Footprint['system'], label: string, count: number, bytes: number): Footprint {
  return { system, label, sessions: count, bytes, bytesPer100k: (bytes / count) * 100_000 };
}

export async function measureFootprint(count: number, dir: string): Promise<Footprint[]> {
  const store = new SqliteStore({ path: join(dir, 'footprint-baton.db') });
  const manager = managerFor(await algFixture('HS256'), {}, store);
  await manager.ready;
  const batonBefore = fileBytes(store.database);
  for (let i = 0; i < count; i++) {
    await manager.issueSession(benchUser, { ip: '127.0.0.1', userAgent: USER_AGENT });
  }
  const batonBytes = fileBytes(store.database) - batonBefore;
  await manager.close();

  const db = new Database(join(dir, 'footprint-better-auth.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const auth = betterAuth({
    database: db,
    secret: 'footprint-secret-'.padEnd(48, 'x'),
    baseURL: BA_ORIGIN,
    telemetry: { enabled: false },
    rateLimit: { enabled: false },
    logger: { level: 'error' },
    emailAndPassword: {
      enabled: true,
      autoSignIn: false,
      password: { hash: hashPassword, verify: ({ hash, password }) => verifyPassword(hash, password) },
    },
  });
  await (await getMigrations(auth.options)).runMigrations();
  const { email, password } = benchUserCredentials(0);
  const { user } = await auth.api.signUpEmail({ body: { email, password, name: 'User 0' } });
  const context = await auth.$context;
  const baBefore = fileBytes(db);
  for (let i = 0; i < count; i++) {
    await context.internalAdapter.createSession(user.id, false, {
      ipAddress: '127.0.0.1',
      userAgent: USER_AGENT,
    });
  }
  const baBytes = fileBytes(db) - baBefore;
  db.close();
  return [
    figure('baton', 'Baton SqliteStore (manager.issueSession)', count, batonBytes),
    figure('better-auth', 'better-auth on better-sqlite3 (internalAdapter.createSession)', count, baBytes),
  ];
}
