import { CommandFailure } from './args.ts';
import type { CommandContext } from './command.ts';

/** Longest token read; Baton's own verification stops at 8192 characters. */
const MAX_TOKEN_LENGTH = 64 * 1024;

/**
 * The token argument: the token itself, or `-` to read it from standard input
 * (keeps it out of shell history). Surrounding space and a `Bearer ` prefix are dropped.
 */
export async function readToken(
  argument: string,
  context: Pick<CommandContext, 'readStdin'>,
): Promise<string> {
  const raw = argument === '-' ? await context.readStdin() : argument;
  const token = raw.trim().replace(/^bearer\s+/i, '');
  if (token === '')
    throw new CommandFailure(argument === '-' ? 'no token on standard input' : 'the token is empty');
  if (token.length > MAX_TOKEN_LENGTH) throw new CommandFailure('the token is too long');
  return token;
}
