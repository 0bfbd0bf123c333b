import { durationOption, EXIT, flag, parse, UsageError } from '../args.ts';
import { type CommandContext, type CommandResult, defineCommand, EXIT_CODES_HELP } from '../command.ts';
import { json } from '../format.ts';
import { storeFailure } from '../open-store.ts';
import {
  parseStoreArgs,
  STORE_OPTIONS,
  STORE_OPTIONS_HELP,
  type StoreArgs,
  storeLabel,
  withStore,
} from './store-command.ts';

export interface FlushArgs extends StoreArgs {
  /** Seconds a revoked session is kept (so a late refresh still answers token_revoked). */
  keepRevoked: number;
  quiet: boolean;
  json: boolean;
}

const NAME = 'flush';
/** From this many sessions to delete on, progress goes to stderr. */
export const PROGRESS_THRESHOLD = 1000;
const PROGRESS_INTERVAL_MS = 500;

export const flushHelp = `Usage: baton flush --store URL [--keep-revoked DUR] [--json] [--quiet]

Deletes expired sessions, sessions revoked more than --keep-revoked ago, and
revocation entries past their expiry; prints how many sessions went. The
store works in small batches, so running servers are not blocked. On a
large SQLite store (${PROGRESS_THRESHOLD}+ sessions to delete) progress goes to stderr.

Options:
${STORE_OPTIONS_HELP}
                   (the time limit applies to connecting, not to the deletion)
  --keep-revoked DUR
                   keep revoked sessions this long, so that a late refresh with their
                   token still answers token_revoked (default 1d, as SessionManager)
  --json           print {"deleted": N}
  --quiet          no progress on stderr
  -h, --help       show this help

Run it from cron, e.g. hourly: baton flush --store sqlite:/var/lib/app/baton.db --quiet

${EXIT_CODES_HELP}
`;

export function parseFlush(argv: readonly string[], context: Pick<CommandContext, 'cwd'>): FlushArgs {
  const parsed = parse(
    NAME,
    argv,
    {
      ...STORE_OPTIONS,
      'keep-revoked': { type: 'string' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean' },
    },
    { min: 0, max: 0, names: '' },
  );
  const keepRevoked = durationOption(parsed, 'keep-revoked', NAME) ?? 86_400;
  if (!Number.isSafeInteger(keepRevoked * 1000)) throw new UsageError('--keep-revoked is too long', NAME);
  return {
    keepRevoked,
    quiet: flag(parsed, 'quiet'),
    json: flag(parsed, 'json'),
    ...parseStoreArgs(parsed, NAME, context.cwd),
  };
}

export async function runFlush(args: FlushArgs, context: CommandContext): Promise<CommandResult> {
  const deleted = await withStore(args, async ({ store, countExpired }) => {
    const now = context.now();
    const revokedBefore = now - args.keepRevoked * 1000;
    const total = countExpired?.(now, revokedBefore);
    let timer: NodeJS.Timeout | undefined;
    if (!args.quiet && total !== undefined && countExpired !== undefined && total >= PROGRESS_THRESHOLD) {
      context.progress(`flush: deleting ${total} sessions from ${storeLabel(args.store)}`);
      // The store yields to the event loop between batches, so the timer gets its turn.
      timer = setInterval(() => {
        const remaining = countExpired(now, revokedBefore);
        const done = Math.max(0, total - remaining);
        context.progress(`flush: ${done}/${total} (${Math.floor((done / total) * 100)}%)`);
      }, PROGRESS_INTERVAL_MS);
    }
    try {
      return await store.deleteExpired({ now, revokedBefore });
    } catch (error) {
      throw storeFailure(error, storeLabel(args.store));
    } finally {
      clearInterval(timer);
    }
  });
  const stdout = args.json
    ? json({ deleted })
    : `deleted ${deleted} expired or revoked session${deleted === 1 ? '' : 's'}\n`;
  return { code: EXIT.ok, stdout };
}

export const flushCommand = defineCommand({
  name: NAME,
  help: flushHelp,
  parse: parseFlush,
  run: runFlush,
});
