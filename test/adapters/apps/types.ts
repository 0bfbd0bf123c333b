import type { DemoUser, DemoUsers } from '../../../demo/users.ts';
import type { BatonHttpOptions } from '../../../src/http/index.ts';
import type { SessionManager } from '../../../src/index.ts';
import { BatonError } from '../../../src/index.ts';
import type { Listening } from '../../support/listen.ts';

/** What a minimal app gets: a manager and a user directory, and Baton's options. */
export interface AppDeps {
  manager: SessionManager<DemoUser>;
  users: DemoUsers;
  options: BatonHttpOptions;
}

/** A started app: its base URL, and how to stop it. */
export type StartedApp = Listening;

/** The demo's disable-user logic, in the few lines an app would write. */
export async function disable(deps: AppDeps, username: string) {
  const user = deps.users.disable(username);
  if (user === undefined) throw new BatonError('not_found', 'No such user');
  return { username, disabled: true, revoked_sessions: await deps.manager.revokeUser(user.id) };
}
