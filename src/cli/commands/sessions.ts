import type { SessionInfo } from '../../client/types.ts';
import type { SessionRecord } from '../../stores/types.ts';
import {
  CommandFailure,
  durationOption,
  EXIT,
  flag,
  parse,
  requireString,
  stringOption,
  UsageError,
} from '../args.ts';
import { type CommandContext, type CommandResult, defineCommand, EXIT_CODES_HELP } from '../command.ts';
import { isoFromMs, json, printable, shortTime, table } from '../format.ts';
import { withTimeout } from '../open-store.ts';
import {
  parseStoreArgs,
  STORE_OPTIONS,
  STORE_OPTIONS_HELP,
  type StoreArgs,
  storeLabel,
  withStore,
} from './store-command.ts';

const MAX_ID_LENGTH = 255;

function idOption(value: string, name: string, command: string): string {
  if (value.length > MAX_ID_LENGTH)
    throw new UsageError(`--${name} is longer than ${MAX_ID_LENGTH} characters`, command);
  return value;
}

// ---------------------------------------------------------------- list

export interface SessionsListArgs extends StoreArgs {
  user: string;
  json: boolean;
}

const LIST = 'sessions list';

export const sessionsListHelp = `Usage: baton sessions list --user ID --store URL [--json]

Lists a user's live sessions (not revoked, not expired), newest first:
id, client, created, last used, absolute expiry, IP and user agent.
Never token values: the store keeps only hashes.

Options:
  --user ID        the user id (the access token's sub)
${STORE_OPTIONS_HELP}
  --json           print {"user", "sessions": [{"id", "client_id", "created_at",
                   "last_used_at", "expires_at", "user_agent", "ip"}]} (times ISO 8601)
  -h, --help       show this help

${EXIT_CODES_HELP}
`;

export function parseSessionsList(
  argv: readonly string[],
  context: Pick<CommandContext, 'cwd'>,
): SessionsListArgs {
  const parsed = parse(
    LIST,
    argv,
    { ...STORE_OPTIONS, user: { type: 'string' }, json: { type: 'boolean' } },
    { min: 0, max: 0, names: '' },
  );
  return {
    user: idOption(requireString(parsed, 'user', LIST), 'user', LIST),
    json: flag(parsed, 'json'),
    ...parseStoreArgs(parsed, LIST, context.cwd),
  };
}

/** A session as `GET /auth/sessions` shows it (the client's `SessionInfo`), less `current`. */
export type SessionJson = Omit<SessionInfo, 'current'>;

export function sessionJson(session: SessionRecord): SessionJson {
  return {
    id: session.id,
    client_id: session.clientId,
    created_at: new Date(session.createdAt).toISOString(),
    last_used_at: new Date(session.lastUsedAt).toISOString(),
    expires_at: isoFromMs(session.expiresAt),
    user_agent: session.userAgent,
    ip: session.ip,
  };
}

export function renderSessions(user: string, sessions: readonly SessionJson[]): string {
  if (sessions.length === 0) return `no live sessions for user ${printable(user)}\n`;
  const rows = sessions.map((session) =>
    [
      session.id,
      session.client_id ?? '-',
      shortTime(session.created_at),
      shortTime(session.last_used_at),
      shortTime(session.expires_at),
      session.ip ?? '-',
      session.user_agent ?? '-',
    ].map(printable),
  );
  const count = `${sessions.length} live session${sessions.length === 1 ? '' : 's'} for user ${printable(user)}`;
  return `${table(['ID', 'CLIENT', 'CREATED', 'LAST USED', 'EXPIRES', 'IP', 'USER AGENT'], rows)}\n${count}\n`;
}

export async function runSessionsList(
  args: SessionsListArgs,
  context: CommandContext,
): Promise<CommandResult> {
  const sessions = await withStore(args, ({ store }) =>
    withTimeout(store.listSessions(args.user, context.now()), args.timeout, storeLabel(args.store)),
  );
  const rows = sessions.map(sessionJson);
  return {
    code: EXIT.ok,
    stdout: args.json ? json({ user: args.user, sessions: rows }) : renderSessions(args.user, rows),
  };
}

export const sessionsListCommand = defineCommand({
  name: LIST,
  help: sessionsListHelp,
  parse: parseSessionsList,
  run: runSessionsList,
});

// ---------------------------------------------------------------- revoke

export interface SessionsRevokeArgs extends StoreArgs {
  user: string;
  session?: string;
  /** Seconds the revocation entries are kept: at least the longest access-token lifetime. */
  accessTtl: number;
  json: boolean;
}

const REVOKE = 'sessions revoke';
const DEFAULT_ACCESS_TTL = '1d';

export const sessionsRevokeHelp = `Usage: baton sessions revoke --user ID [--session ID] --store URL [--json]

Revokes every live session of a user, or only --session (which must be
one of theirs). Their refresh tokens stop working at once. Access tokens
issued under them are rejected by servers that learn of the revocation:
Redis and PostgreSQL stores publish it to running processes; a server on
a SQLite store sees it only after a restart (until then its access tokens
live out their short lifetime).

Options:
  --user ID          the user id (the access token's sub)
  --session ID       revoke only this session (the sid claim)
${STORE_OPTIONS_HELP}
  --access-ttl DUR   how long to keep the revocation entries: at least your longest
                     access-token lifetime plus leeway (default ${DEFAULT_ACCESS_TTL})
  --json             print {"user", "revoked": [ids]}
  -h, --help         show this help

${EXIT_CODES_HELP}
  sessions revoke: 1 also when --session is not a session of --user. Revoking
  a session that is already revoked, or a user without sessions, is success.
`;

export function parseSessionsRevoke(
  argv: readonly string[],
  context: Pick<CommandContext, 'cwd'>,
): SessionsRevokeArgs {
  const parsed = parse(
    REVOKE,
    argv,
    {
      ...STORE_OPTIONS,
      user: { type: 'string' },
      session: { type: 'string' },
      'access-ttl': { type: 'string' },
      json: { type: 'boolean' },
    },
    { min: 0, max: 0, names: '' },
  );
  const session = stringOption(parsed, 'session');
  if (session === '') throw new UsageError('--session must not be empty', REVOKE);
  const accessTtl = durationOption(parsed, 'access-ttl', REVOKE) ?? 86_400;
  if (accessTtl <= 0) throw new UsageError('--access-ttl must be positive', REVOKE);
  return {
    user: idOption(requireString(parsed, 'user', REVOKE), 'user', REVOKE),
    accessTtl,
    json: flag(parsed, 'json'),
    ...(session === undefined ? {} : { session: idOption(session, 'session', REVOKE) }),
    ...parseStoreArgs(parsed, REVOKE, context.cwd),
  };
}

export async function runSessionsRevoke(
  args: SessionsRevokeArgs,
  context: CommandContext,
): Promise<CommandResult> {
  const label = storeLabel(args.store);
  const { revoked, alreadyRevoked } = await withStore(args, async ({ store }) => {
    const now = context.now();
    if (args.session !== undefined) {
      const existing = await withTimeout(store.getSession(args.session), args.timeout, label);
      if (existing === null || existing.userId !== args.user) {
        throw new CommandFailure(
          `user ${printable(args.user)} has no session ${printable(args.session)} in ${label}`,
        );
      }
      if (existing.revokedAt !== null) return { revoked: [] as string[], alreadyRevoked: true };
    }
    const records = await withTimeout(
      store.revokeSessions({
        userId: args.user,
        ...(args.session === undefined ? {} : { sessionId: args.session }),
        reason: 'admin',
        now,
        revocationExpiresAt: now + args.accessTtl * 1000,
      }),
      args.timeout,
      label,
    );
    return { revoked: records.map((record) => record.id), alreadyRevoked: false };
  });
  if (args.json) return { code: EXIT.ok, stdout: json({ user: args.user, revoked }) };
  const user = printable(args.user);
  let text: string;
  if (args.session !== undefined) {
    const session = printable(args.session);
    text =
      alreadyRevoked || revoked.length === 0
        ? `session ${session} of user ${user} was already revoked`
        : `revoked session ${session} of user ${user}`;
  } else {
    text = `revoked ${revoked.length} session${revoked.length === 1 ? '' : 's'} of user ${user}`;
  }
  return { code: EXIT.ok, stdout: `${text}\n` };
}

export const sessionsRevokeCommand = defineCommand({
  name: REVOKE,
  help: sessionsRevokeHelp,
  parse: parseSessionsRevoke,
  run: runSessionsRevoke,
});

export const sessionsHelp = `Usage: baton sessions list --user ID --store URL [--json]
       baton sessions revoke --user ID [--session ID] --store URL [--json]

Commands:
  list     list a user's live sessions
  revoke   revoke all of a user's sessions, or one

Run "baton sessions list --help" or "baton sessions revoke --help" for details.

${EXIT_CODES_HELP}
`;
