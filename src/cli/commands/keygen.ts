import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isBatonError } from '../../core/errors.ts';
import {
  exportSigningKey,
  generateSigningKey,
  importSigningKey,
  isSymmetric,
  type JWK,
  publicJwk,
} from '../../tokens/keys.ts';
import type { Algorithm, SigningKey } from '../../tokens/types.ts';
import { algorithmOption, CommandFailure, EXIT, flag, parse, stringOption, UsageError } from '../args.ts';
import { type CommandResult, defineCommand, EXIT_CODES_HELP } from '../command.ts';
import { json } from '../format.ts';

export type KeyFormat = 'jwk' | 'pem' | 'secret';

export interface KeygenArgs {
  alg: Algorithm;
  format: KeyFormat;
  kid?: string;
  out?: string;
  json: boolean;
}

const NAME = 'keygen';

/** Random bytes per HS algorithm: at least the hash size (RFC 7518 3.2). */
const SECRET_BYTES: Partial<Record<Algorithm, number>> = { HS256: 32, HS384: 48, HS512: 64 };

export const keygenHelp = `Usage: baton keygen [--alg ALG] [--format jwk|pem|secret] [--kid ID] [--out FILE] [--json]

Generates a signing key and prints it, private part included.

Options:
  --alg ALG        EdDSA (default), ES256, RS256, PS256, HS256, HS384 or HS512
  --format FORMAT  jwk (default): a private JWK (for HS*: an "oct" JWK)
                   pem: PKCS#8 PEM (asymmetric algorithms only)
                   secret: a random text secret (HS* only); the text itself is the
                           key, as in BATON_SIGNING_KEY or importSigningKey({ secret })
  --kid ID         key id (default: the RFC 7638 thumbprint; for HS* an id derived from the secret)
  --out FILE       write the key to FILE (mode 0600; an existing file is never overwritten)
                   and print only a summary
  --json           print {"alg","kid","format","key","public_jwk"} (key: JWK object or string)
  -h, --help       show this help

The public JWKS of a key: baton jwks FILE.

Examples:
  baton keygen > key.jwk.json && baton jwks key.jwk.json > jwks.json
  baton keygen --alg ES256 --format pem --out key.pem
  baton keygen --alg HS256 --format secret

${EXIT_CODES_HELP}
`;

export function parseKeygen(argv: readonly string[]): KeygenArgs {
  const parsed = parse(
    NAME,
    argv,
    {
      alg: { type: 'string' },
      format: { type: 'string' },
      kid: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
    },
    { min: 0, max: 0, names: '' },
  );
  const alg = algorithmOption(stringOption(parsed, 'alg') ?? 'EdDSA', NAME);
  const formatText = (stringOption(parsed, 'format') ?? 'jwk').toLowerCase();
  if (formatText !== 'jwk' && formatText !== 'pem' && formatText !== 'secret') {
    throw new UsageError(`--format must be jwk, pem or secret, got ${JSON.stringify(formatText)}`, NAME);
  }
  const format: KeyFormat = formatText;
  if (format === 'pem' && isSymmetric(alg)) {
    throw new UsageError(`${alg} secrets have no PEM form; use --format jwk or --format secret`, NAME);
  }
  if (format === 'secret' && !isSymmetric(alg)) {
    throw new UsageError(`--format secret is for HS256, HS384 and HS512; ${alg} keys are jwk or pem`, NAME);
  }
  const kid = stringOption(parsed, 'kid');
  if (kid !== undefined && (kid.length === 0 || kid.length > 256)) {
    throw new UsageError('--kid must be 1 to 256 characters', NAME);
  }
  const out = stringOption(parsed, 'out');
  if (out === '') throw new UsageError('--out must not be empty', NAME);
  return {
    alg,
    format,
    json: flag(parsed, 'json'),
    ...(kid === undefined ? {} : { kid }),
    ...(out === undefined ? {} : { out }),
  };
}

async function makeKey(args: KeygenArgs): Promise<{ key: SigningKey; material: JWK | string }> {
  const kid = args.kid === undefined ? {} : { kid: args.kid };
  if (args.format === 'secret') {
    // A text secret is used as its UTF-8 bytes; base64url of enough random bytes keeps their entropy.
    const text = randomBytes(SECRET_BYTES[args.alg] ?? 32).toString('base64url');
    const key = await importSigningKey({ alg: args.alg, secret: text, ...kid });
    return { key, material: text };
  }
  const key = await generateSigningKey(args.alg, kid);
  return { key, material: exportSigningKey(key, args.format) };
}

function render(material: JWK | string): string {
  if (typeof material !== 'string') return json(material);
  return material.endsWith('\n') ? material : `${material}\n`;
}

export async function runKeygen(args: KeygenArgs, context: { cwd: string }): Promise<CommandResult> {
  let made: Awaited<ReturnType<typeof makeKey>>;
  try {
    made = await makeKey(args);
  } catch (error) {
    throw new CommandFailure(
      `key generation failed: ${isBatonError(error) || error instanceof Error ? error.message : String(error)}`,
    );
  }
  const { key, material } = made;
  const summary = {
    alg: key.alg,
    kid: key.kid,
    format: args.format,
    public_jwk: isSymmetric(key.alg) ? null : publicJwk(key),
  };
  if (args.out !== undefined) {
    const path = resolve(context.cwd, args.out);
    try {
      await writeFile(path, render(material), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === 'EEXIST' ? 'the file exists (not overwritten)' : (error as Error).message;
      throw new CommandFailure(`cannot write ${path}: ${reason}`);
    }
    return {
      code: EXIT.ok,
      stdout: args.json
        ? json({ ...summary, file: path })
        : `wrote ${key.alg} key ${key.kid} (${args.format}) to ${path}\n`,
    };
  }
  return { code: EXIT.ok, stdout: args.json ? json({ ...summary, key: material }) : render(material) };
}

export const keygenCommand = defineCommand({
  name: NAME,
  help: keygenHelp,
  parse: parseKeygen,
  run: runKeygen,
});
