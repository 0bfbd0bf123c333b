import { resolve } from 'node:path';
import { isSymmetric, type JWK, publicJwk } from '../../tokens/keys.ts';
import type { Algorithm } from '../../tokens/types.ts';
import { algorithmOption, CommandFailure, EXIT, parse, stringOption } from '../args.ts';
import { type CommandResult, defineCommand, EXIT_CODES_HELP } from '../command.ts';
import { json } from '../format.ts';
import { loadKeyFile } from '../keys.ts';

export interface JwksArgs {
  files: string[];
  alg?: Algorithm;
}

const NAME = 'jwks';

export const jwksHelp = `Usage: baton jwks KEYFILE... [--alg ALG]

Prints the public JWKS ({"keys": [...]}) of one or more key files, in the
order given: what a server publishes at /.well-known/jwks.json and what
"baton verify --jwks" reads. Private parts never appear in the output.

Key files: a JWK or JWKS (JSON), or a PEM key (private or public).

Options:
  --alg ALG   the algorithm of PEM keys that do not tell (RSA keys: RS256 by default, or PS256)
  -h, --help  show this help

Example:
  baton keygen --out key.jwk.json && baton jwks key.jwk.json > jwks.json

${EXIT_CODES_HELP}
`;

export function parseJwks(argv: readonly string[]): JwksArgs {
  const parsed = parse(NAME, argv, { alg: { type: 'string' } }, { min: 1, max: 64, names: 'KEYFILE' });
  const alg = stringOption(parsed, 'alg');
  return { files: parsed.positionals, ...(alg === undefined ? {} : { alg: algorithmOption(alg, NAME) }) };
}

export async function runJwks(args: JwksArgs, context: { cwd: string }): Promise<CommandResult> {
  const keys: JWK[] = [];
  const kids = new Set<string>();
  for (const file of args.files) {
    const loaded = await loadKeyFile(
      resolve(context.cwd, file),
      args.alg === undefined ? {} : { alg: args.alg },
    );
    for (const key of loaded) {
      if (isSymmetric(key.alg)) {
        throw new CommandFailure(`${file}: ${key.alg} keys are shared secrets and have no public JWK`);
      }
      if (kids.has(key.kid)) throw new CommandFailure(`${file}: duplicate kid ${JSON.stringify(key.kid)}`);
      kids.add(key.kid);
      keys.push(publicJwk(key));
    }
  }
  return { code: EXIT.ok, stdout: json({ keys }) };
}

export const jwksCommand = defineCommand({
  name: NAME,
  help: jwksHelp,
  parse: parseJwks,
  run: runJwks,
});
