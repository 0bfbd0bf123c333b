import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EXIT, parse } from '../../src/cli/args.ts';
import { run } from '../../src/cli/main.ts';
import { assertOneErrorLine, baton, type RunResult, tempDir } from './support.ts';

/** argv -> what stderr must say. Every one is exit 2 with one line and nothing on stdout. */
const CASES: [string[], RegExp][] = [
  [[], /missing command/],
  [['frobnicate'], /unknown command "frobnicate"/],
  [['--frob'], /unknown option --frob/],
  [['keygen', '--bogus'], /unknown option --bogus for "baton keygen"/],
  [['keygen', '--alg'], /option --alg needs a value/],
  [['keygen', '--json=yes'], /option --json takes no value/],
  [['keygen', 'extra'], /unexpected argument "extra"/],
  [['keygen', '--alg', 'none'], /--alg must be one of/],
  [['keygen', '--format', 'der'], /--format must be jwk, pem or secret/],
  [['keygen', '--alg', 'HS256', '--format', 'pem'], /HS256 secrets have no PEM form/],
  [['keygen', '--alg', 'EdDSA', '--format', 'secret'], /--format secret is for HS256/],
  [['keygen', '--kid', ''], /--kid must be 1 to 256 characters/],
  [['jwks'], /missing KEYFILE/],
  [['decode'], /missing TOKEN/],
  [['decode', 'a', 'b'], /unexpected argument "b"/],
  [['decode', 'a', '--key', 'k', '--jwks', 'j'], /--key or --jwks, not both/],
  [['decode', 'a', '--leeway', 'soon'], /--leeway must be seconds or a duration/],
  [['verify', 'token'], /needs --jwks/],
  [['verify', 'token', '--jwks', 'j', '--timeout', '0'], /--timeout must be positive/],
  [['verify', 'token', '--jwks', 'j', '--aud', ''], /--aud must not be empty/],
  [['sessions'], /missing subcommand/],
  [['sessions', 'purge'], /unknown subcommand "sessions purge"/],
  [['sessions', 'list', '--store', 'sqlite:x.db'], /needs --user/],
  [['sessions', 'list', '--user', 'u1'], /needs --store/],
  [['sessions', 'list', '--user', 'u1', '--store', 'redis://'], /needs a host/],
  [['sessions', 'list', '--user', 'u1', '--store', 'postgres://a b'], /not a valid URL/],
  [['sessions', 'revoke', '--user', 'u1', '--store', 'ftp://x'], /unsupported --store/],
  [
    ['sessions', 'revoke', '--user', 'u1', '--session', '', '--store', 'sqlite:x.db'],
    /--session must not be empty/,
  ],
  [
    ['sessions', 'revoke', '--user', 'u1', '--store', 'sqlite:x.db', '--access-ttl', '0'],
    /--access-ttl must be positive/,
  ],
  [['flush', '--store', 'memory'], /memory lives only inside one process/],
  [['flush', '--store', 'sqlite:x.db', '--keep-revoked', 'forever'], /--keep-revoked must be seconds/],
  [['migrate', '--store', ''], /--store must not be empty/],
  [['migrate', '--store', 'sqlite:x.db', '--timeout', 'x'], /--timeout must be seconds/],
  [['serve', '--port', '99999'], /--port must be a port number/],
  [['serve', '--store', 'redis-ish'], /unsupported --store/],
  [['serve', '--alg', 'PS512'], /--alg must be one of/],
  [['help', 'nothing'], /no help for unknown command "nothing"/],
];

/** The same `run` bin/baton.js calls, with the output captured. */
async function runInProcess(argv: string[], cwd: string): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    context: {
      env: {},
      cwd,
      now: () => Date.now(),
      readStdin: async () => '',
      progress: () => undefined,
      print: (text) => {
        stdout += text;
      },
      waitForShutdown: () => Promise.resolve('SIGTERM'),
    },
  });
  return { code, stdout, stderr };
}

describe('bad arguments: exit 2, one line on stderr, no stack trace', () => {
  test('every case (in process, through the CLI entry point)', async () => {
    const dir = tempDir();
    try {
      for (const [args, pattern] of CASES) {
        const result = await runInProcess(args, dir.path);
        assert.equal(result.code, EXIT.usage, `baton ${args.join(' ')}: ${result.stderr}`);
        assertOneErrorLine(result, 2, pattern);
        assert.equal(result.stdout, '', `nothing on stdout for ${args.join(' ')}`);
      }
    } finally {
      dir.remove();
    }
  });

  test('through the real binary', { timeout: 60000 }, async () => {
    const sample = [0, 1, 3, 4, 9, 13, 17, 20, 23, 25, 28, 32].map((index) => CASES[index]!);
    const results = await Promise.all(sample.map(([args]) => baton(args)));
    for (const [index, [args, pattern]] of sample.entries()) {
      const result = results[index]!;
      assertOneErrorLine(result, 2, pattern);
      assert.equal(result.stdout, '', `nothing on stdout for ${args.join(' ')}`);
    }
  });
});

describe('option values that start with a dash', () => {
  const spec = { session: { type: 'string' }, user: { type: 'string' }, json: { type: 'boolean' } } as const;
  const positionals = { min: 0, max: 0, names: '' };

  test('a string option takes one (base64url ids start with "-" one time in 64)', () => {
    const parsed = parse('sessions revoke', ['--session', '-Xy_z', '--user', '-u1'], spec, positionals);
    assert.equal(parsed.values.session, '-Xy_z');
    assert.equal(parsed.values.user, '-u1');
    assert.equal(parse('sessions revoke', ['--session=-Xy'], spec, positionals).values.session, '-Xy');
  });

  test('but not when the dash word is one of the options: the value is missing', () => {
    assert.throws(() => parse('sessions revoke', ['--session', '--user', 'u1'], spec, positionals), {
      name: 'UsageError',
      message: /option --session needs a value/,
    });
    assert.throws(() => parse('sessions revoke', ['--session', '--json'], spec, positionals), {
      name: 'UsageError',
      message: /option --session needs a value/,
    });
  });
});
