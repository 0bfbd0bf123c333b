/** What every `baton` command is: parse argv, then run without touching process-wide state. */
import type { ExitCode } from './args.ts';

export interface CommandContext {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Milliseconds since the epoch. */
  now(): number;
  /** Reads standard input to the end (for `-` in place of a token). */
  readStdin(): Promise<string>;
  /** A progress line for stderr (long operations only). */
  progress(line: string): void;
  /** Writes to stdout at once, for long-running commands (serve's banner). */
  print(text: string): void;
  /** Resolves with the signal's name on SIGINT or SIGTERM. */
  waitForShutdown(): Promise<string>;
}

export interface CommandResult {
  code: ExitCode;
  stdout?: string;
  /** Extra lines for stderr (warnings); failures are thrown instead. */
  stderr?: string;
}

export interface Command<Args> {
  /** `keygen`, `sessions list`, ... */
  name: string;
  help: string;
  /** Throws UsageError on bad arguments. */
  parse(argv: readonly string[], context: CommandContext): Args;
  /** Throws CommandFailure (exit 1) when the operation fails. */
  run(args: Args, context: CommandContext): Promise<CommandResult>;
}

/** Erases a command's argument type so commands fit in one table. */
export interface AnyCommand {
  name: string;
  help: string;
  execute(argv: readonly string[], context: CommandContext): Promise<CommandResult>;
}

export function defineCommand<Args>(command: Command<Args>): AnyCommand {
  return {
    name: command.name,
    help: command.help,
    execute: (argv, context) => command.run(command.parse(argv, context), context),
  };
}

export const EXIT_CODES_HELP = `Exit codes:
  0  success (for verify: the token is valid)
  1  the operation failed: invalid or undecodable token, unreadable key, store unreachable, ...
  2  bad command line: unknown command or option, missing or extra argument, bad option value;
     or the store's driver package (better-sqlite3, ioredis, pg) is not installed`;
