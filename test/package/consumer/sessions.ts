/**
 * What every consumer app shares: one user and a SessionManager over the
 * store the app picks. Copied into each empty project next to its server.ts;
 * it imports only what an installed baton-auth offers.
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { type BatonUser, generateSigningKey, SessionManager, type SessionStore } from 'baton-auth';

interface AppUser extends BatonUser {
  id: string;
  username: string;
  roles: string[];
}

const salt = randomBytes(16);
const hash = scryptSync('abides', salt, 32);
const users: AppUser[] = [{ id: '1', username: 'thedude', roles: ['user'] }];

export const ISSUER = 'https://api.example.com';
export const AUDIENCE = 'example-api';

export async function createSessions(store: SessionStore): Promise<SessionManager<AppUser>> {
  const sessions = new SessionManager<AppUser>({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: [await generateSigningKey('EdDSA')],
    refreshKey: randomBytes(32),
    store,
    loadUser: (id) => users.find((user) => user.id === id) ?? null,
    verifyCredentials(username, password) {
      const user = users.find((candidate) => candidate.username === username);
      const ok = timingSafeEqual(scryptSync(password, salt, 32), hash);
      return ok && user ? user : null;
    },
  });
  await sessions.ready;
  return sessions;
}

/** The line the test waits for. */
export function announce(port: number): void {
  console.log(`listening on http://127.0.0.1:${port}`);
}
