import { durationOption, EXIT, flag, parse, requireString, UsageError } from '../args.ts';
import { type CommandContext, type CommandResult, defineCommand, EXIT_CODES_HELP } from '../command.ts';
import { json } from '../format.ts';
import { migrateStore, parseStoreUrl, type StoreUrl, withTimeout } from '../open-store.ts';
import {
  DEFAULT_STORE_TIMEOUT_SECONDS,
  STORE_OPTIONS,
  STORE_OPTIONS_HELP,
  storeLabel,
} from './store-command.ts';

export interface MigrateArgs {
  store: StoreUrl;
  timeout: number;
  json: boolean;
}

const NAME = 'migrate';

export const migrateHelp = `Usage: baton migrate --store URL [--json]

Creates Baton's tables, or brings them to this version's schema. Safe to
run any number of times and from several processes at once. A SQLite file
is created if missing (its directory must exist). Stores also migrate when
a server opens them; this command is for deploy scripts that would rather
do it first.

Options:
${STORE_OPTIONS_HELP}
  --json           print {"from": N, "to": N} (null where the store cannot tell)
  -h, --help       show this help

${EXIT_CODES_HELP}
`;

export function parseMigrate(argv: readonly string[], context: Pick<CommandContext, 'cwd'>): MigrateArgs {
  const parsed = parse(
    NAME,
    argv,
    { ...STORE_OPTIONS, json: { type: 'boolean' } },
    { min: 0, max: 0, names: '' },
  );
  const store = parseStoreUrl(requireString(parsed, 'store', NAME), NAME, { cwd: context.cwd });
  const timeout = durationOption(parsed, 'timeout', NAME) ?? DEFAULT_STORE_TIMEOUT_SECONDS;
  if (timeout <= 0) throw new UsageError('--timeout must be positive', NAME);
  return { store, timeout, json: flag(parsed, 'json') };
}

export async function runMigrate(args: MigrateArgs): Promise<CommandResult> {
  const result = await withTimeout(migrateStore(args.store), args.timeout, storeLabel(args.store));
  return {
    code: EXIT.ok,
    stdout: args.json ? json({ from: result.from, to: result.to }) : `${result.message}\n`,
  };
}

export const migrateCommand = defineCommand({
  name: NAME,
  help: migrateHelp,
  parse: parseMigrate,
  run: runMigrate,
});
