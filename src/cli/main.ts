/**
 * `baton`: argv in, text and an exit code out. The commands in ./commands do
 * the work without touching the process; this file does the process I/O.
 */
import { readFileSync } from 'node:fs';
import { isBatonError } from '../core/errors.ts';
import { CommandFailure, EXIT, type ExitCode, UsageError, wantsHelp } from './args.ts';
import { type AnyCommand, type CommandContext, EXIT_CODES_HELP } from './command.ts';

/** The command table. Modules load on use, so `baton keygen` never loads the store drivers. */
interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<AnyCommand>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'keygen',
    summary: 'generate a signing key (JWK, PEM or HS secret)',
    load: async () => (await import('./commands/keygen.ts')).keygenCommand,
  },
  {
    name: 'jwks',
    summary: 'print the public JWKS of key files',
    load: async () => (await import('./commands/jwks.ts')).jwksCommand,
  },
  {
    name: 'decode',
    summary: 'show a JWT: header, claims, human times (verifies only with --key/--jwks)',
    load: async () => (await import('./commands/decode.ts')).decodeCommand,
  },
  {
    name: 'verify',
    summary: 'verify an access token against a JWKS (file or URL)',
    load: async () => (await import('./commands/verify.ts')).verifyCommand,
  },
  {
    name: 'sessions list',
    summary: "list a user's live sessions",
    load: async () => (await import('./commands/sessions.ts')).sessionsListCommand,
  },
  {
    name: 'sessions revoke',
    summary: "revoke all of a user's sessions, or one",
    load: async () => (await import('./commands/sessions.ts')).sessionsRevokeCommand,
  },
  {
    name: 'audit',
    summary: "print a user's recent security events from the audit trail",
    load: async () => (await import('./commands/audit.ts')).auditCommand,
  },
  {
    name: 'flush',
    summary: 'delete expired sessions (prints how many)',
    load: async () => (await import('./commands/flush.ts')).flushCommand,
  },
  {
    name: 'migrate',
    summary: "create or upgrade a store's schema",
    load: async () => (await import('./commands/migrate.ts')).migrateCommand,
  },
  {
    name: 'serve',
    summary: 'run the demo server (same environment as npm start)',
    load: async () => (await import('./commands/serve.ts')).serveCommand,
  },
];

export function topHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  const list = COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n');
  return `Usage: baton COMMAND [options]

Baton's command line: keys, tokens, sessions and the demo server.

Commands:
${list}

Run "baton COMMAND --help" for a command's options. Store URLs:
sqlite:./path.db, sqlite:/abs/path.db, redis://host:6379, postgres://user@host/db.
Output meant for scripts: --json on keygen, decode, verify, sessions, audit, flush, migrate.

Options:
  -h, --help     show this help
  -V, --version  show Baton's version

${EXIT_CODES_HELP}
`;
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  context: CommandContext;
}

/** One line, whatever the message: errors must never spill over several lines. */
function oneLine(message: string): string {
  return message.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

function helpHint(command: string | undefined): string {
  return command === undefined ? '(see "baton --help")' : `(see "baton ${command} --help")`;
}

/** Finds the command for argv; returns it with its own arguments, or help text to show. */
function resolve(
  argv: readonly string[],
): { command: CommandEntry; rest: readonly string[] } | { help: Promise<string> } | { version: true } {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('missing command');
  if (first === '--help' || first === '-h') return { help: Promise.resolve(topHelp()) };
  if (first === '--version' || first === '-V') return { version: true };
  if (first === 'help') {
    if (rest.length === 0) return { help: Promise.resolve(topHelp()) };
    return { help: helpFor(rest) };
  }
  if (first.startsWith('-')) throw new UsageError(`unknown option ${first}; the command comes first`);
  if (first === 'sessions') {
    const [sub, ...subRest] = rest;
    if (sub === undefined)
      throw new UsageError('missing subcommand for "baton sessions": list or revoke', 'sessions');
    if (sub === '--help' || sub === '-h') return { help: sessionsHelp() };
    const command = COMMANDS.find((candidate) => candidate.name === `sessions ${sub}`);
    if (command === undefined) {
      throw new UsageError(`unknown subcommand "sessions ${sub}": use list or revoke`, 'sessions');
    }
    return { command, rest: subRest };
  }
  const command = COMMANDS.find((candidate) => candidate.name === first);
  if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(first)}`);
  return { command, rest };
}

async function sessionsHelp(): Promise<string> {
  return (await import('./commands/sessions.ts')).sessionsHelp;
}

async function helpFor(topic: readonly string[]): Promise<string> {
  const name = topic.join(' ');
  if (name === 'sessions') return sessionsHelp();
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command === undefined) throw new UsageError(`no help for unknown command ${JSON.stringify(name)}`);
  return (await command.load()).help;
}

/** Runs one command line; never throws. */
export async function run(argv: readonly string[], io: Io): Promise<ExitCode> {
  let commandName: string | undefined;
  try {
    const resolved = resolve(argv);
    if ('help' in resolved) {
      io.stdout(await resolved.help);
      return EXIT.ok;
    }
    if ('version' in resolved) {
      io.stdout(`${version()}\n`);
      return EXIT.ok;
    }
    commandName = resolved.command.name;
    const command = await resolved.command.load();
    if (wantsHelp(resolved.rest)) {
      io.stdout(command.help);
      return EXIT.ok;
    }
    const result = await command.execute(resolved.rest, io.context);
    if (result.stdout) io.stdout(result.stdout);
    if (result.stderr) io.stderr(result.stderr);
    return result.code;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`baton: ${oneLine(error.message)} ${helpHint(error.command ?? commandName)}\n`);
      return EXIT.usage;
    }
    // Not the command line's fault, but nothing this run can fix: the same exit code.
    if (isBatonError(error) && error.code === 'store_driver_missing') {
      io.stderr(`baton: ${oneLine(error.message)}\n`);
      return EXIT.usage;
    }
    if (error instanceof CommandFailure || isBatonError(error)) {
      io.stderr(`baton: ${oneLine(error.message)}\n`);
      return EXIT.failed;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`baton: ${oneLine(message) || 'unexpected error'}\n`);
    if (io.context.env.BATON_DEBUG === '1' && error instanceof Error && error.stack)
      io.stderr(`${error.stack}\n`);
    return EXIT.failed;
  }
}

const MAX_STDIN_BYTES = 1024 * 1024;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.byteLength;
    if (size > MAX_STDIN_BYTES) throw new CommandFailure('standard input is too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The real process: what bin/baton.js calls. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  // `baton decode ... | head -1`: a reader that went away is not an error of ours.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    process.exit(error.code === 'EPIPE' ? EXIT.ok : EXIT.failed);
  });
  let progressOpen = false;
  const io: Io = {
    stdout: (text) => {
      process.stdout.write(text);
    },
    stderr: (text) => {
      if (progressOpen) {
        process.stderr.write('\n');
        progressOpen = false;
      }
      process.stderr.write(text);
    },
    context: {
      env: process.env,
      cwd: process.cwd(),
      now: () => Date.now(),
      readStdin,
      progress: (line) => {
        if (process.stderr.isTTY) {
          process.stderr.write(`\r${line}\u001b[K`);
          progressOpen = true;
        } else {
          process.stderr.write(`${line}\n`);
        }
      },
      print: (text) => {
        process.stdout.write(text);
      },
      waitForShutdown: () =>
        new Promise((resolveSignal) => {
          const stop = (signal: string) => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            resolveSignal(signal);
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        }),
    },
  };
  const code = await run(argv, io);
  if (progressOpen) process.stderr.write('\n');
  // Exit once the output is flushed, even if a store driver left a socket or timer behind.
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}
