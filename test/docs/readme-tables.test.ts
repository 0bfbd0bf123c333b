/**
 * The README's options and error-code tables are generated from the code
 * (scripts/options-table.ts, `npm run docs:options`): they list every
 * option and every code, and the committed README is what the generator
 * writes, so neither can drift.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { z } from 'zod';
import {
  errorsMarkdown,
  formatSeconds,
  optionRows,
  optionsMarkdown,
  README,
  renderReadme,
  THROWN_CODES,
} from '../../scripts/options-table.ts';
import { ERROR_STATUS } from '../../src/http/index.ts';
import { httpOptionsSchema } from '../../src/http/options.ts';
import type { ErrorCode } from '../../src/index.ts';
import {
  baseOptionsSchema,
  sessionManagerOptionsSchema,
  strategyOptionsSchemas,
} from '../../src/sessions/options.ts';

const readme = readFileSync(README, 'utf8');

function region(name: string): string {
  const start = readme.indexOf(`<!-- ${name}:start -->`);
  const end = readme.indexOf(`<!-- ${name}:end -->`);
  assert.ok(start >= 0 && end > start, `README.md has the ${name} markers`);
  return readme.slice(start, end);
}

describe('README tables', () => {
  it('are exactly what npm run docs:options generates (run it after changing an option or a code)', () => {
    assert.equal(renderReadme(readme), readme);
  });

  it("list every SessionManager option, every strategy's and every HTTP option, nested ones included", () => {
    const options = region('options');
    for (const key of Object.keys(sessionManagerOptionsSchema.shape)) assert.match(options, rowOf(key));
    for (const [strategy, schema] of Object.entries(strategyOptionsSchemas)) {
      for (const key of Object.keys(schema.shape)) assert.match(options, rowOf(key), `${strategy}: ${key}`);
    }
    for (const key of ['rateLimit.perUsername', 'rateLimit.perIp', 'rateLimit.window', 'verifyCache.max']) {
      assert.match(options, rowOf(key));
    }
    for (const key of Object.keys(httpOptionsSchema.shape)) assert.match(options, rowOf(key));
    for (const key of ['cookies.sameSite', 'cookies.implicitRefresh.within', 'tokenLookup.locations']) {
      assert.match(options, rowOf(key));
    }
  });

  it('draw on schemas that hold every option of the public option types', () => {
    assert.deepEqual(
      Object.keys(sessionManagerOptionsSchema.shape).sort(),
      membersOf('src/sessions/types.ts', 'SessionManagerOptions'),
    );
    assert.deepEqual(
      Object.keys(httpOptionsSchema.shape).sort(),
      membersOf('src/http/options.ts', 'BatonHttpOptions'),
    );
    // StrategyBaseOptions: SessionManagerOptions without graceWindow and idleTimeout (refreshKey optional).
    const shared = membersOf('src/sessions/types.ts', 'SessionManagerOptions').filter(
      (key) => key !== 'graceWindow' && key !== 'idleTimeout',
    );
    assert.deepEqual(Object.keys(baseOptionsSchema.shape).sort(), shared);
    const interfaces = {
      jwt: ['src/sessions/strategies/jwt.ts', 'JwtStrategyOptions'],
      'single-token': ['src/sessions/strategies/single-token.ts', 'SingleTokenStrategyOptions'],
      'per-client': ['src/sessions/strategies/per-client.ts', 'PerClientStrategyOptions'],
      callbacks: ['src/sessions/strategies/callbacks.ts', 'CallbacksStrategyOptions'],
    } as const;
    for (const [strategy, [file, name]] of Object.entries(interfaces)) {
      assert.deepEqual(
        Object.keys(strategyOptionsSchemas[strategy as keyof typeof interfaces].shape).sort(),
        [...new Set([...shared, ...membersOf(file, name)])].sort(),
        `the ${strategy} schema holds the options of ${name}`,
      );
    }
  });

  it("list each strategy's own options (from its schema) and an adapter's (from its interface's doc comments)", () => {
    const options = region('options');
    for (const key of [
      'rotateRefreshTokens',
      'allowEarlyRefresh',
      'storeRefreshToken',
      'manager',
      'clientIp',
    ]) {
      assert.match(options, rowOf(key));
    }
    assert.match(options, /\| `perClient\.delegatePath` \| [^|]+ \| `\/delegate\/` \|/);
    // Rows marked by strategy, where a strategy differs from the shared options.
    assert.match(options, /\| `graceWindow` \| `'rotating'` \(`SessionManager`\) \| `10s` \|/);
    assert.match(options, /\| `rotateRefreshTokens` \| `'jwt'` \| `false` \|/);
    assert.match(options, /\| `allowEarlyRefresh` \| `'single-token'` \| `false` \|/);
    assert.match(options, /\| `refreshTokenTtl` \| `'per-client'` \| `null` \|/);
    assert.match(options, /\| `refreshKey` \| `'per-client'` \| required \|/);
    assert.match(options, /\| `storeRefreshToken` \| `'callbacks'` \| required \|/);
  });

  it("show a schema's own default, durations as durations", () => {
    const options = optionsMarkdown();
    assert.match(options, /\| `accessTokenTtl` \| `15m` \|/);
    assert.match(options, /\| `refreshTokenTtl` \| `30d` \|/);
    assert.match(options, /\| `rateLimit\.perIp` \| `100` \|/);
    assert.match(options, /\| `issuer` \| required \|/);
    assert.deepEqual([0, 10, 60, 900, 86400, 90].map(formatSeconds), ['0', '10s', '1m', '15m', '1d', '90s']);
  });

  it('list every error code with its HTTP status', () => {
    const errors = region('errors');
    for (const code of Object.keys(ERROR_STATUS) as ErrorCode[]) {
      const expected = THROWN_CODES.has(code) ? '— \\(thrown\\)' : String(ERROR_STATUS[code]);
      assert.match(errors, new RegExp(`\\| \`${code}\` \\| ${expected} \\|`));
    }
    assert.equal(errorsMarkdown().split('\n').length, Object.keys(ERROR_STATUS).length + 2);
  });

  it('refuse an option without a description, so a new one cannot go undocumented', () => {
    assert.throws(
      () => optionRows(z.object({ undocumented: z.string().optional() }), 'a test schema'),
      /option "undocumented" has no description/,
    );
  });
});

/** The member names an interface declares in a source file. */
function membersOf(file: string, name: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const declaration = source.statements.find(
    (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name,
  );
  assert.ok(declaration, `${name} in ${file}`);
  return declaration.members.map((member) => member.name?.getText(source) ?? '').sort();
}

function rowOf(key: string): RegExp {
  return new RegExp(`^\\| \`${key.replace(/\./g, '\\.')}\` \\|`, 'm');
}
