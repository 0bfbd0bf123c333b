import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertOk, baton } from './support.ts';

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

test('--help on every command', { timeout: 45000 }, async () => {
  const results = await Promise.all(COMMANDS.map((command) => baton([...command, '--help'])));
  for (const [index, command] of COMMANDS.entries()) {
    const result = results[index]!;
    assertOk(result);
    assert.match(result.stdout, new RegExp(`^Usage: baton ${command.join(' ')}`));
    assert.match(result.stdout, /Exit codes:/);
    assert.equal(result.stderr, '');
  }
});
