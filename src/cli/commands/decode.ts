import { resolve } from 'node:path';
import { isBatonError } from '../../core/errors.ts';
import { isExpired, isNotYetValid } from '../../tokens/claims.ts';
import { decodeUnverified, verifyJws } from '../../tokens/jws.ts';
import { KeySet } from '../../tokens/keys.ts';
import type { Algorithm, SigningKey } from '../../tokens/types.ts';
import {
  algorithmOption,
  CommandFailure,
  durationOption,
  EXIT,
  flag,
  parse,
  stringOption,
  UsageError,
} from '../args.ts';
import { type CommandContext, type CommandResult, defineCommand, EXIT_CODES_HELP } from '../command.ts';
import { humanDuration, isoFromSeconds, json, jsonText, printable, relative } from '../format.ts';
import { DEFAULT_FETCH_TIMEOUT_SECONDS, isAlgorithm, loadJwks, loadKeyFile } from '../keys.ts';
import { readToken } from '../token-input.ts';

export interface DecodeArgs {
  token: string;
  key?: string;
  jwks?: string;
  alg?: Algorithm;
  /** Seconds. */
  leeway: number;
  /** Seconds. */
  timeout: number;
  json: boolean;
}

const NAME = 'decode';

export const decodeHelp = `Usage: baton decode TOKEN [--key FILE | --jwks FILE|URL] [--json]

Shows a JWT's header and claims, with issued/expiry times in ISO 8601 and
relative to now ("expires in 4m 12s", "expired 3m ago").

Nothing is verified unless a key is given: then the signature, the
algorithm and exp/nbf are checked (not iss or aud: use "baton verify"),
and the answer is valid, or invalid with the error code.

TOKEN may be "-" to read it from standard input (keeps it out of shell history).

Options:
  --key FILE        verify with this key: JWK, JWKS, PEM (private or public),
                    or a text secret for HS* (the file's text is the secret)
  --jwks FILE|URL   verify with the keys of a JWKS file or http(s) URL
  --alg ALG         algorithm of a PEM key or text secret (default: the token's alg)
  --leeway DUR      clock skew allowed for exp/nbf when verifying (default 0s)
  --timeout DUR     time limit for fetching a JWKS URL (default ${DEFAULT_FETCH_TIMEOUT_SECONDS}s)
  --json            print {"header","claims","times","verification"}
  -h, --help        show this help

${EXIT_CODES_HELP}
  decode: 1 also when the token is not a JWT, or a given key does not verify it.
`;

export function parseDecode(argv: readonly string[]): DecodeArgs {
  const parsed = parse(
    NAME,
    argv,
    {
      key: { type: 'string' },
      jwks: { type: 'string' },
      alg: { type: 'string' },
      leeway: { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean' },
    },
    { min: 1, max: 1, names: 'TOKEN' },
  );
  const key = stringOption(parsed, 'key');
  const jwks = stringOption(parsed, 'jwks');
  if (key !== undefined && jwks !== undefined) throw new UsageError('give --key or --jwks, not both', NAME);
  if (key === '' || jwks === '')
    throw new UsageError(`--${key === '' ? 'key' : 'jwks'} must not be empty`, NAME);
  const alg = stringOption(parsed, 'alg');
  const timeout = durationOption(parsed, 'timeout', NAME) ?? DEFAULT_FETCH_TIMEOUT_SECONDS;
  if (timeout <= 0) throw new UsageError('--timeout must be positive', NAME);
  return {
    token: parsed.positionals[0] ?? '',
    leeway: durationOption(parsed, 'leeway', NAME) ?? 0,
    timeout,
    json: flag(parsed, 'json'),
    ...(key === undefined ? {} : { key }),
    ...(jwks === undefined ? {} : { jwks }),
    ...(alg === undefined ? {} : { alg: algorithmOption(alg, NAME) }),
  };
}

export type Verification =
  | { checked: false }
  | { checked: true; valid: true }
  | { checked: true; valid: false; error: string; message: string };

/** Signature, algorithm and time checks with the given keys; what `decode --key` reports. */
export function checkToken(
  token: string,
  keys: readonly SigningKey[],
  nowSeconds: number,
  leeway: number,
): Verification {
  try {
    const set = new KeySet(keys, { verifyOnly: true });
    const { payload } = verifyJws(token, { keys: set, algorithms: set.algorithms });
    const { exp, nbf } = payload;
    if (exp !== undefined && (typeof exp !== 'number' || !Number.isFinite(exp))) {
      return { checked: true, valid: false, error: 'invalid_token', message: 'malformed exp claim' };
    }
    if (typeof exp === 'number' && isExpired(exp, nowSeconds, leeway)) {
      return { checked: true, valid: false, error: 'token_expired', message: 'token expired' };
    }
    if (typeof nbf === 'number' && isNotYetValid(nbf, nowSeconds, leeway)) {
      return { checked: true, valid: false, error: 'invalid_token', message: 'token not yet valid' };
    }
    return { checked: true, valid: true };
  } catch (error) {
    if (isBatonError(error))
      return { checked: true, valid: false, error: error.code, message: error.message };
    throw error;
  }
}

async function keysFor(args: DecodeArgs, header: Record<string, unknown>, context: CommandContext) {
  if (args.jwks !== undefined) {
    const source = /^https?:\/\//i.test(args.jwks) ? args.jwks : resolve(context.cwd, args.jwks);
    return loadJwks(source, { timeoutSeconds: args.timeout });
  }
  if (args.key !== undefined) {
    const alg = args.alg ?? (isAlgorithm(header.alg) ? header.alg : undefined);
    const kid = typeof header.kid === 'string' ? header.kid : undefined;
    return loadKeyFile(resolve(context.cwd, args.key), {
      ...(alg === undefined ? {} : { alg }),
      ...(kid === undefined ? {} : { kid }),
    });
  }
  return undefined;
}

export interface TokenTimes {
  issued_at: string | null;
  not_before: string | null;
  expires_at: string | null;
  /** Seconds until `exp` (negative once expired); null without `exp`. */
  expires_in: number | null;
  expired: boolean | null;
}

export function tokenTimes(claims: Record<string, unknown>, nowSeconds: number): TokenTimes {
  const exp = typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp : undefined;
  return {
    issued_at: isoFromSeconds(claims.iat) ?? null,
    not_before: isoFromSeconds(claims.nbf) ?? null,
    expires_at: isoFromSeconds(claims.exp) ?? null,
    expires_in: exp === undefined ? null : Math.floor(exp - nowSeconds),
    expired: exp === undefined ? null : exp <= nowSeconds,
  };
}

/** `expires in 4m 12s` / `expired 3m ago`. */
export function expiryPhrase(exp: number, nowSeconds: number): string {
  if (exp > nowSeconds) return `expires in ${humanDuration(exp - nowSeconds)}`;
  return exp === nowSeconds ? 'expired just now' : `expired ${humanDuration(nowSeconds - exp)} ago`;
}

function timeLine(label: string, value: unknown, nowSeconds: number, expiry = false): string | undefined {
  const iso = isoFromSeconds(value);
  if (iso === undefined || typeof value !== 'number') return undefined;
  const phrase = expiry ? expiryPhrase(value, nowSeconds) : relative(value, nowSeconds);
  return `${label.padEnd(14)}${iso} (${phrase})`;
}

export function renderDecoded(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  verification: Verification,
  nowSeconds: number,
): string {
  const lines = ['Header:', jsonText(header), 'Claims:', jsonText(claims)];
  const times = [
    timeLine('Issued:', claims.iat, nowSeconds),
    timeLine('Not before:', claims.nbf, nowSeconds),
    claims.exp === undefined
      ? `${'Expires:'.padEnd(14)}never (no exp claim)`
      : timeLine('Expires:', claims.exp, nowSeconds, true),
  ].filter((line): line is string => line !== undefined);
  lines.push(...times);
  const verdict = !verification.checked
    ? 'not verified (pass --key or --jwks to verify)'
    : verification.valid
      ? 'valid (signature, algorithm and exp/nbf; iss and aud not checked)'
      : `invalid: ${verification.error} (${printable(verification.message)})`;
  lines.push(`${'Signature:'.padEnd(14)}${verdict}`);
  return `${lines.join('\n')}\n`;
}

export async function runDecode(args: DecodeArgs, context: CommandContext): Promise<CommandResult> {
  const token = await readToken(args.token, context);
  let decoded: ReturnType<typeof decodeUnverified>;
  try {
    decoded = decodeUnverified(token);
  } catch (error) {
    throw new CommandFailure(`not a JWT: ${isBatonError(error) ? error.message : String(error)}`);
  }
  const { header, payload } = decoded;
  const nowSeconds = Math.floor(context.now() / 1000);
  const keys = await keysFor(args, header, context);
  const verification: Verification =
    keys === undefined ? { checked: false } : checkToken(token, keys, nowSeconds, args.leeway);
  const code = verification.checked && !verification.valid ? EXIT.failed : EXIT.ok;
  const stdout = args.json
    ? json({ header, claims: payload, times: tokenTimes(payload, nowSeconds), verification })
    : renderDecoded(header, payload, verification, nowSeconds);
  return { code, stdout };
}

export const decodeCommand = defineCommand({
  name: NAME,
  help: decodeHelp,
  parse: parseDecode,
  run: runDecode,
});
