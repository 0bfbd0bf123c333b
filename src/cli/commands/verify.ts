import { resolve } from 'node:path';
import { isBatonError } from '../../core/errors.ts';
import { AccessTokenCodec } from '../../tokens/access-token.ts';
import { decodeUnverified } from '../../tokens/jws.ts';
import { KeySet } from '../../tokens/keys.ts';
import type { AccessClaims, Algorithm, SigningKey } from '../../tokens/types.ts';
import {
  algorithmOption,
  durationOption,
  EXIT,
  flag,
  parse,
  stringOption,
  stringsOption,
  UsageError,
} from '../args.ts';
import { type CommandContext, type CommandResult, defineCommand, EXIT_CODES_HELP } from '../command.ts';
import { isoFromSeconds, json, printable } from '../format.ts';
import { DEFAULT_FETCH_TIMEOUT_SECONDS, isAlgorithm, loadJwks, loadKeyFile } from '../keys.ts';
import { readToken } from '../token-input.ts';
import { expiryPhrase } from './decode.ts';

export interface VerifyArgs {
  token: string;
  jwks?: string;
  key?: string;
  alg?: Algorithm;
  issuer?: string;
  audiences: string[];
  /** Seconds. */
  leeway: number;
  /** Seconds. */
  timeout: number;
  json: boolean;
}

const NAME = 'verify';

export const verifyHelp = `Usage: baton verify TOKEN --jwks FILE|URL [--iss ISSUER] [--aud AUDIENCE]... [--json]
       baton verify TOKEN --key FILE [...]

Verifies an access token as a resource server does (RFC 9068 profile):
signature against the JWKS with the algorithms pinned to its keys, typ
"at+jwt", type "access", iss, aud, exp/nbf, sub/sid/jti/client_id.

Without --iss (or --aud) the token's own iss (aud) is accepted and the output
says it was not checked: pass them to check the token was meant for you.

TOKEN may be "-" to read it from standard input.

Options:
  --jwks FILE|URL  the issuer's public keys: a JWKS file, or an http(s) URL
                   (e.g. http://127.0.0.1:3000/.well-known/jwks.json)
  --key FILE       a single key instead (JWK, JWKS, PEM, or a text secret for HS*)
  --alg ALG        algorithm of a PEM key or text secret (default: the token's alg)
  --iss ISSUER     the issuer the token must name
  --aud AUDIENCE   an audience you accept (repeatable; one match is enough)
  --leeway DUR     clock skew allowed for exp/nbf (default 0s)
  --timeout DUR    time limit for fetching a JWKS URL (default ${DEFAULT_FETCH_TIMEOUT_SECONDS}s)
  --json           print {"valid": true, "claims", ...} or {"valid": false, "error", "message"}
  -h, --help       show this help

${EXIT_CODES_HELP}
  verify: 0 valid token; 1 invalid token (the output names the error code:
  invalid_token, token_expired, wrong_token_type) or keys that cannot be loaded.
`;

export function parseVerify(argv: readonly string[]): VerifyArgs {
  const parsed = parse(
    NAME,
    argv,
    {
      jwks: { type: 'string' },
      key: { type: 'string' },
      alg: { type: 'string' },
      iss: { type: 'string' },
      aud: { type: 'string', multiple: true },
      leeway: { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean' },
    },
    { min: 1, max: 1, names: 'TOKEN' },
  );
  const jwks = stringOption(parsed, 'jwks');
  const key = stringOption(parsed, 'key');
  if (jwks === undefined && key === undefined)
    throw new UsageError('"baton verify" needs --jwks (or --key)', NAME);
  if (jwks !== undefined && key !== undefined) throw new UsageError('give --jwks or --key, not both', NAME);
  if (jwks === '' || key === '')
    throw new UsageError(`--${jwks === '' ? 'jwks' : 'key'} must not be empty`, NAME);
  const issuer = stringOption(parsed, 'iss');
  if (issuer === '') throw new UsageError('--iss must not be empty', NAME);
  const audiences = stringsOption(parsed, 'aud');
  if (audiences.some((aud) => aud === '')) throw new UsageError('--aud must not be empty', NAME);
  const alg = stringOption(parsed, 'alg');
  const timeout = durationOption(parsed, 'timeout', NAME) ?? DEFAULT_FETCH_TIMEOUT_SECONDS;
  if (timeout <= 0) throw new UsageError('--timeout must be positive', NAME);
  return {
    token: parsed.positionals[0] ?? '',
    audiences,
    leeway: durationOption(parsed, 'leeway', NAME) ?? 0,
    timeout,
    json: flag(parsed, 'json'),
    ...(jwks === undefined ? {} : { jwks }),
    ...(key === undefined ? {} : { key }),
    ...(issuer === undefined ? {} : { issuer }),
    ...(alg === undefined ? {} : { alg: algorithmOption(alg, NAME) }),
  };
}

async function loadKeys(args: VerifyArgs, header: Record<string, unknown>, context: CommandContext) {
  if (args.jwks !== undefined) {
    const source = /^https?:\/\//i.test(args.jwks) ? args.jwks : resolve(context.cwd, args.jwks);
    return loadJwks(source, { timeoutSeconds: args.timeout });
  }
  const alg = args.alg ?? (isAlgorithm(header.alg) ? header.alg : undefined);
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  return loadKeyFile(resolve(context.cwd, args.key ?? ''), {
    ...(alg === undefined ? {} : { alg }),
    ...(kid === undefined ? {} : { kid }),
  });
}

function stringList(value: unknown): string[] {
  if (typeof value === 'string' && value !== '') return [value];
  if (Array.isArray(value))
    return value.filter((item): item is string => typeof item === 'string' && item !== '');
  return [];
}

export type VerifyOutcome =
  | { valid: true; claims: AccessClaims; unchecked: string[] }
  | { valid: false; error: string; message: string };

/** Full access-token verification with a verify-only KeySet. */
export function verifyAccessToken(
  token: string,
  keys: readonly SigningKey[],
  options: { issuer?: string; audiences: readonly string[]; leeway: number; now: () => number },
  payload: Record<string, unknown>,
): VerifyOutcome {
  const unchecked: string[] = [];
  // An absent expectation takes the token's own value (noted as unchecked); a
  // token lacking the claim still fails, on a placeholder nothing carries.
  let issuer = options.issuer;
  if (issuer === undefined) {
    unchecked.push('iss');
    issuer = typeof payload.iss === 'string' && payload.iss !== '' ? payload.iss : '\u0000no issuer';
  }
  let audiences: readonly string[] = options.audiences;
  if (audiences.length === 0) {
    unchecked.push('aud');
    const own = stringList(payload.aud);
    audiences = own.length > 0 ? own : ['\u0000no audience'];
  }
  try {
    const codec = new AccessTokenCodec({
      keys: new KeySet(keys, { verifyOnly: true }),
      issuer,
      audience: audiences,
      leeway: options.leeway,
      clock: { now: options.now },
    });
    return { valid: true, claims: codec.verify(token), unchecked };
  } catch (error) {
    if (isBatonError(error)) return { valid: false, error: error.code, message: error.message };
    throw error;
  }
}

function renderValid(claims: AccessClaims, unchecked: string[], nowSeconds: number): string {
  const lines = [
    'valid access token',
    `  sub:        ${claims.sub}`,
    `  sid:        ${claims.sid}`,
    `  client_id:  ${claims.client_id}`,
    `  iss:        ${claims.iss}`,
    `  aud:        ${stringList(claims.aud).join(', ')}`,
    `  expires:    ${isoFromSeconds(claims.exp) ?? '?'} (${expiryPhrase(claims.exp, nowSeconds)})`,
    `  fresh:      ${typeof claims.fresh === 'number' ? `until ${isoFromSeconds(claims.fresh) ?? claims.fresh}` : String(claims.fresh)}`,
  ];
  if (claims.roles !== undefined) lines.push(`  roles:      ${claims.roles.join(', ')}`);
  if (claims.scope !== undefined) lines.push(`  scope:      ${claims.scope}`);
  if (unchecked.length > 0) {
    const flags = unchecked.map((claim) => `--${claim}`).join(' and ');
    lines.push(`note: ${unchecked.join(' and ')} not checked (pass ${flags})`);
  }
  return `${lines.map((line) => printable(line)).join('\n')}\n`;
}

export async function runVerify(args: VerifyArgs, context: CommandContext): Promise<CommandResult> {
  const token = await readToken(args.token, context);
  let decoded: ReturnType<typeof decodeUnverified> | undefined;
  try {
    decoded = decodeUnverified(token);
  } catch {
    decoded = undefined;
  }
  const nowSeconds = Math.floor(context.now() / 1000);
  const keys = await loadKeys(args, decoded?.header ?? {}, context);
  const outcome: VerifyOutcome =
    decoded === undefined
      ? { valid: false, error: 'invalid_token', message: 'malformed token' }
      : verifyAccessToken(
          token,
          keys,
          {
            audiences: args.audiences,
            leeway: args.leeway,
            now: context.now,
            ...(args.issuer === undefined ? {} : { issuer: args.issuer }),
          },
          decoded.payload,
        );
  if (!outcome.valid) {
    return {
      code: EXIT.failed,
      stdout: args.json
        ? json({ valid: false, error: outcome.error, message: outcome.message })
        : `invalid: ${outcome.error} (${printable(outcome.message)})\n`,
    };
  }
  return {
    code: EXIT.ok,
    stdout: args.json
      ? json({ valid: true, claims: outcome.claims, unchecked: outcome.unchecked })
      : renderValid(outcome.claims, outcome.unchecked, nowSeconds),
  };
}

export const verifyCommand = defineCommand({
  name: NAME,
  help: verifyHelp,
  parse: parseVerify,
  run: runVerify,
});
