import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { assertOk, baton, ROOT } from './support.ts';

const COMMANDS = [
  ['keygen'],
  ['jwks'],
  ['decode'],
  ['verify'],
  ['sessions', 'list'],
  ['sessions', 'revoke'],
  ['audit'],
  ['flush'],
  ['migrate'],
  ['serve'],
];

describe('help', () => {
  test('baton --help lists every command and the exit codes', async () => {
    const [long, short, word] = await Promise.all([baton(['--help']), baton(['-h']), baton(['help'])]);
    assertOk(long);
    assert.match(long.stdout, /^Usage: baton COMMAND/);
    for (const command of COMMANDS) assert.match(long.stdout, new RegExp(`\\n {2}${command.join(' ')} +\\S`));
    assert.match(long.stdout, /Exit codes:\n {2}0 .+\n {2}1 .+\n {2}2 /);
    assert.equal(short.stdout, long.stdout);
    assert.equal(word.stdout, long.stdout);
  });

  test('help wins over other arguments; "sessions --help" and "help decode"', async () => {
    const [withArgs, sessions, helpDecode] = await Promise.all([
      baton(['decode', 'not-a-token', '--bogus', '--help']),
      baton(['sessions', '--help']),
      baton(['help', 'decode']),
    ]);
    assertOk(withArgs);
    assert.match(withArgs.stdout, /^Usage: baton decode/);
    assertOk(sessions);
    assert.match(sessions.stdout, /baton sessions list[\s\S]+baton sessions revoke/);
    assertOk(helpDecode);
    assert.equal(helpDecode.stdout, withArgs.stdout);
  });

  test('--version prints the package version', async () => {
    const result = await baton(['--version']);
    assertOk(result);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(result.stdout, `${pkg.version}\n`);
  });
});
