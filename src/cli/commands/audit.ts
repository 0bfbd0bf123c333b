/** `baton audit`: a user's recent security events, from the audit trail in the store's database. */
import type { AuditEntry } from '../../audit/types.ts';
import { durationOption, EXIT, flag, parse, requireString, stringOption, UsageError } from '../args.ts';
import { type CommandContext, type CommandResult, defineCommand, EXIT_CODES_HELP } from '../command.ts';
import { json, printable, shortTime, table } from '../format.ts';
import { openAuditTrail, withTimeout } from '../open-store.ts';
import {
  parseStoreArgs,
  STORE_OPTIONS,
  STORE_OPTIONS_HELP,
  type StoreArgs,
  storeLabel,
} from './store-command.ts';

const NAME = 'audit';
const MAX_ID_LENGTH = 255;
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;

export interface AuditArgs extends StoreArgs {
  user: string;
  limit: number;
  /** Seconds back from now; undefined: everything stored. */
  since: number | undefined;
  json: boolean;
}

export const auditHelp = `Usage: baton audit --user ID --store URL [--limit N] [--since DUR] [--json]

Prints a user's recent security events, newest first, from the audit trail
(baton-auth/audit's createAuditTrail) in the store's database: time, type,
session, client, IP, reason and user agent. Logins, refreshes, refresh-token
reuse (theft), logouts, revocations, reauthentications. Never a token: the
trail stores none.

Options:
  --user ID        the user id (the access token's sub)
${STORE_OPTIONS_HELP}
  --limit N        at most N events (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT})
  --since DUR      only the events of the last DUR, e.g. 7d (default: all that are stored)
  --json           print {"user", "events": [{"id", "time", "event"}]}: time ISO 8601,
                   event as the manager emitted it (README "Events and logging")
  -h, --help       show this help

${EXIT_CODES_HELP}
`;

export function parseAudit(argv: readonly string[], context: Pick<CommandContext, 'cwd'>): AuditArgs {
  const parsed = parse(
    NAME,
    argv,
    {
      ...STORE_OPTIONS,
      user: { type: 'string' },
      limit: { type: 'string' },
      since: { type: 'string' },
      json: { type: 'boolean' },
    },
    { min: 0, max: 0, names: '' },
  );
  const user = requireString(parsed, 'user', NAME);
  if (user.length > MAX_ID_LENGTH)
    throw new UsageError(`--user is longer than ${MAX_ID_LENGTH} characters`, NAME);
  const limitText = stringOption(parsed, 'limit');
  const limit = limitText === undefined ? DEFAULT_LIMIT : Number(limitText);
  if (limitText !== undefined && (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_LIMIT)) {
    throw new UsageError(
      `--limit must be a whole number from 1 to ${MAX_LIMIT}, got ${JSON.stringify(limitText)}`,
      NAME,
    );
  }
  const since = durationOption(parsed, 'since', NAME);
  if (since === 0) throw new UsageError('--since must be positive', NAME);
  return { user, limit, since, json: flag(parsed, 'json'), ...parseStoreArgs(parsed, NAME, context.cwd) };
}

/** One line of the table: every cell escaped (user agents and reasons come from clients). */
function row({ event }: AuditEntry): string[] {
  return [
    shortTime(new Date(event.time).toISOString()),
    event.type,
    event.sessionId ?? '-',
    event.clientId ?? '-',
    event.ip ?? '-',
    event.reason ?? '-',
    event.userAgent ?? '-',
  ].map(printable);
}

export function renderAudit(user: string, entries: readonly AuditEntry[], where: string): string {
  const shown = printable(user);
  if (entries.length === 0) {
    return `no audit events for user ${shown} in ${where} (is an audit trail attached? see baton-auth/audit)\n`;
  }
  const count = `${entries.length} event${entries.length === 1 ? '' : 's'} for user ${shown}, newest first`;
  return `${table(['TIME', 'TYPE', 'SESSION', 'CLIENT', 'IP', 'REASON', 'USER AGENT'], entries.map(row))}\n${count}\n`;
}

export async function runAudit(args: AuditArgs, context: CommandContext): Promise<CommandResult> {
  const label = storeLabel(args.store);
  const trail = await withTimeout(openAuditTrail(args.store), args.timeout, label);
  let entries: AuditEntry[];
  try {
    const since = args.since === undefined ? 0 : context.now() - args.since * 1000;
    entries = await withTimeout(
      trail.recent({ userId: args.user, limit: args.limit, since }),
      args.timeout,
      label,
    );
  } finally {
    await withTimeout(trail.close(), args.timeout, label).catch(() => undefined);
  }
  if (args.json) {
    const events = entries.map(({ id, event }) => ({ id, time: new Date(event.time).toISOString(), event }));
    return { code: EXIT.ok, stdout: json({ user: args.user, events }) };
  }
  return { code: EXIT.ok, stdout: renderAudit(args.user, entries, label) };
}

export const auditCommand = defineCommand({ name: NAME, help: auditHelp, parse: parseAudit, run: runAudit });
