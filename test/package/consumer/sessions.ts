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

/** Where a resource server finds the issuer's keys: the app's own JWKS route. */
export function jwksUrlOf(port: number): string {
  return `http://127.0.0.1:${port}/.well-known/jwks.json`;
}

/** The lines the test waits for: the resource server's URL first, then the issuer's. */
export function announce(port: number, resourcePort: number): void {
  console.log(`resource server on http://127.0.0.1:${resourcePort}`);
  console.log(`listening on http://127.0.0.1:${port}`);
}
