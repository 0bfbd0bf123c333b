/**
 * Command-line parsing for `baton`: node:util parseArgs, with every failure
 * turned into a UsageError (one line, exit code 2).
 */
import { parseArgs } from 'node:util';
import { parseDuration } from '../core/duration.ts';
import { ALGORITHMS, type Algorithm } from '../tokens/types.ts';

/** Exit codes: documented in `baton --help` and the README. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Bad command line: reported as one line on stderr, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The command whose help the message points to (`decode`, `sessions list`, ...). */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** An operation that failed (bad token, store unreachable): one line on stderr, exit code 1. */
export class CommandFailure extends Error {
  override readonly name = 'CommandFailure';
}

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/** True when argv asks for help (`--help` / `-h` before any `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

function optionName(message: string): string | undefined {
  return /'(-[^' ]+)/.exec(message)?.[1];
}

/**
 * `--name -value` as `--name=-value` when `--name` takes a string and
 * `-value` is not one of the command's options: parseArgs refuses a value
 * that starts with a dash as ambiguous, and base64url ids (session ids, kids)
 * start with `-` one time in 64.
 */
function joinDashValues(argv: readonly string[], options: OptionSpec): string[] {
  const shorts = new Set(Object.values(options).map((spec) => spec.short));
  const isOption = (arg: string) =>
    arg === '--' ||
    (arg.startsWith('--')
      ? Object.hasOwn(options, arg.slice(2).split('=')[0] ?? '')
      : shorts.has(arg.slice(1, 2)));
  const joined: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--') {
      joined.push(...argv.slice(index));
      break;
    }
    const next = argv[index + 1];
    const takesString =
      arg.startsWith('--') && !arg.includes('=') && options[arg.slice(2)]?.type === 'string';
    if (takesString && next !== undefined && next.length > 1 && next.startsWith('-') && !isOption(next)) {
      joined.push(`${arg}=${next}`);
      index++;
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

/** parseArgs in strict mode; its TypeErrors become one-line UsageErrors. */
export function parse(
  command: string,
  argv: readonly string[],
  options: OptionSpec,
  positionals: { min: number; max: number; names: string },
): Parsed {
  let result: Parsed;
  try {
    result = parseArgs({
      args: joinDashValues(argv, options),
      options,
      allowPositionals: true,
      strict: true,
    }) as Parsed;
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = error instanceof Error ? error.message : String(error);
    const name = optionName(message);
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      throw new UsageError(`unknown option ${name ?? message} for "baton ${command}"`, command);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const takesValue = name !== undefined && options[name.replace(/^-+/, '')]?.type === 'string';
      throw new UsageError(
        takesValue ? `option ${name} needs a value` : `option ${name ?? ''} takes no value`.trim(),
        command,
      );
    }
    throw new UsageError(message.split('. ')[0] ?? message, command);
  }
  const count = result.positionals.length;
  if (count < positionals.min) {
    throw new UsageError(`missing ${positionals.names} for "baton ${command}"`, command);
  }
  if (count > positionals.max) {
    const extra = result.positionals[positionals.max] ?? '';
    throw new UsageError(`unexpected argument ${JSON.stringify(extra)} for "baton ${command}"`, command);
  }
  return result;
}

export function stringOption(parsed: Parsed, name: string): string | undefined {
  const value = parsed.values[name];
  if (Array.isArray(value)) {
    const last = value[value.length - 1];
    return typeof last === 'string' ? last : undefined;
  }
  return typeof value === 'string' ? value : undefined;
}

export function stringsOption(parsed: Parsed, name: string): string[] {
  const value = parsed.values[name];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return typeof value === 'string' ? [value] : [];
}

export function flag(parsed: Parsed, name: string): boolean {
  return parsed.values[name] === true;
}

export function requireString(parsed: Parsed, name: string, command: string): string {
  const value = stringOption(parsed, name);
  if (value === undefined) throw new UsageError(`"baton ${command}" needs --${name}`, command);
  if (value === '') throw new UsageError(`--${name} must not be empty`, command);
  return value;
}

export function algorithmOption(value: string, command: string): Algorithm {
  const found = ALGORITHMS.find((alg) => alg.toLowerCase() === value.toLowerCase());
  if (found === undefined) {
    throw new UsageError(
      `--alg must be one of ${ALGORITHMS.join(', ')}, got ${JSON.stringify(value)}`,
      command,
    );
  }
  return found;
}

/** A duration option (`90s`, `15m`, `1d`, or seconds) in seconds. */
export function durationOption(parsed: Parsed, name: string, command: string): number | undefined {
  const value = stringOption(parsed, name);
  if (value === undefined) return undefined;
  try {
    return parseDuration(value, `--${name}`);
  } catch {
    throw new UsageError(
      `--${name} must be seconds or a duration like 30s, 15m, 1d; got ${JSON.stringify(value)}`,
      command,
    );
  }
}
