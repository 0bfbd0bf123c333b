/**
 * The API reference (`npm run docs`, TypeDoc) builds without a warning, with
 * one module per entry point of package.json "exports", every function, class
 * and constant an entry point exports has an `@example`, and every `@example`
 * typechecks against the package's public entry points, so the reference
 * cannot break, lie or leave an export unexplained unnoticed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ts from 'typescript';

interface Reflection {
  id: number;
  name: string;
  kind: number;
  /** On a reference (a name re-exported by a second entry point): the id of what it names. */
  target?: number;
  comment?: { blockTags?: { tag: string; content: { text: string }[] }[] };
  signatures?: Reflection[];
  children?: Reflection[];
}

const packageJson = JSON.parse(readFileSync('package.json', 'utf8')) as { name: string; exports: object };
const out = mkdtempSync(join(tmpdir(), 'baton-typedoc-'));
let run: { status: number | null; output: string };
let api: Reflection;

before(() => {
  const result = spawnSync(
    process.execPath,
    [
      'node_modules/typedoc/bin/typedoc',
      '--treatWarningsAsErrors',
      '--out',
      join(out, 'html'),
      '--json',
      join(out, 'api.json'),
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  run = { status: result.status, output: `${result.stdout}${result.stderr}` };
  if (result.status === 0) api = JSON.parse(readFileSync(join(out, 'api.json'), 'utf8')) as Reflection;
});

after(() => rmSync(out, { recursive: true, force: true }));

function examplesOf(reflection: Reflection, path: string): { where: string; code: string }[] {
  const own = [reflection, ...(reflection.signatures ?? [])].flatMap((r) =>
    (r.comment?.blockTags ?? [])
      .filter((tag) => tag.tag === '@example')
      .map((tag) => ({ where: path, code: tag.content.map((part) => part.text).join('') })),
  );
  return [
    ...own,
    ...(reflection.children ?? []).flatMap((child) => examplesOf(child, `${path}.${child.name}`)),
  ];
}

/** TypeDoc's ReflectionKind.Reference: an export documented under another entry point. */
const REFERENCE = 4194304;

function byId(root: Reflection): Map<number, Reflection> {
  const all = new Map<number, Reflection>();
  const walk = (reflection: Reflection) => {
    all.set(reflection.id, reflection);
    for (const child of reflection.children ?? []) walk(child);
  };
  walk(root);
  return all;
}

function find(module: string, name: string): Reflection | undefined {
  return api.children?.find((m) => m.name === module)?.children?.find((c) => c.name === name);
}

/**
 * What an example may take as given, as a reader would: a manager and its
 * tokens. Declared only when the example does not make its own.
 */
const CONTEXT: Record<string, string> = {
  sessions: "declare const sessions: import('baton-auth').SessionManager;",
  accessToken: 'declare const accessToken: string;',
  refreshToken: 'declare let refreshToken: string;',
};

function exampleModule(code: string): string {
  const source = /```ts\n([\s\S]*?)```/.exec(code)?.[1] ?? code;
  const given = Object.entries(CONTEXT)
    .filter(([name]) => !new RegExp(`(const|let)\\s+${name}\\b`).test(source))
    .map(([, declaration]) => declaration);
  return `${given.join('\n')}\n${source}\nexport {};\n`;
}

describe('API reference (TypeDoc)', () => {
  it('builds with warnings as errors', () => {
    assert.equal(run.status, 0, run.output);
    assert.doesNotMatch(run.output, /\[(warning|error)\]/);
  });

  it('has one module per entry point of package.json "exports", named by its import path', () => {
    const subpaths = Object.keys(packageJson.exports)
      .filter((subpath) => subpath !== './package.json')
      .map((subpath) => (subpath === '.' ? packageJson.name : `${packageJson.name}/${subpath.slice(2)}`));
    assert.deepEqual(api.children?.map((m) => m.name).sort(), subpaths.sort());
  });

  it('shows an @example on each main public export', () => {
    const main: [string, string, string?][] = [
      ['baton-auth', 'SessionManager'],
      ['baton-auth', 'SessionManager', 'login'],
      ['baton-auth', 'SessionManager', 'refresh'],
      ['baton-auth', 'SessionManager', 'verifyAccessToken'],
      ['baton-auth', 'SessionManager', 'logout'],
      ['baton-auth', 'SessionManager', 'logoutAll'],
      ['baton-auth', 'SessionManager', 'revokeUser'],
      ['baton-auth', 'SessionManager', 'listSessions'],
      ['baton-auth', 'generateSigningKey'],
      ['baton-auth', 'createAuthManager'],
      ['baton-auth', 'MemoryStore'],
      ['baton-auth/stores/sqlite', 'SqliteStore'],
      ['baton-auth/stores/redis', 'RedisStore'],
      ['baton-auth/stores/postgres', 'PostgresStore'],
      ['baton-auth/express', 'createBaton'],
      ['baton-auth/hono', 'createBaton'],
      ['baton-auth/fastify', 'batonPlugin'],
      ['baton-auth/client', 'createAuthClient'],
      ['baton-auth/testing', 'storeConformanceSuite'],
      ['baton-auth/audit', 'createAuditTrail'],
    ];
    for (const [module, name, member] of main) {
      const owner = find(module, name);
      assert.ok(owner, `${module} exports ${name}`);
      const target = member ? owner.children?.find((c) => c.name === member) : owner;
      assert.ok(target, `${name}.${member}`);
      const own = examplesOf({ ...target, children: [] }, `${module}:${name}${member ? `.${member}` : ''}`);
      assert.ok(own.length > 0, `${module}: ${name}${member ? `.${member}` : ''} has an @example`);
    }
  });

  it('shows an @example on every function, class and constant an entry point exports', async () => {
    const reflections = byId(api);
    const missing: string[] = [];
    for (const module of api.children ?? []) {
      // What the entry point exports at runtime: its functions, classes and constants.
      const names = Object.keys((await import(module.name)) as object).sort();
      for (const name of names) {
        let reflection = module.children?.find((c) => c.name === name);
        // A re-export shows its example where it is documented.
        while (reflection?.kind === REFERENCE && reflection.target !== undefined) {
          reflection = reflections.get(reflection.target);
        }
        const documented =
          reflection !== undefined && examplesOf({ ...reflection, children: [] }, name).length > 0;
        if (!documented) missing.push(`${module.name}: ${name}`);
      }
    }
    assert.deepEqual(missing, [], `exports without an @example: ${missing.join(', ')}`);
  });

  it('has examples that typecheck against the public entry points', () => {
    const examples = (api.children ?? []).flatMap((module) => examplesOf(module, module.name));
    assert.ok(examples.length >= 19, `${examples.length} examples`);
    // Inside the package, so `baton-auth` resolves to it (the baton-source condition: src/).
    const dir = join('.scratch', `doc-examples-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    try {
      const files = examples.map((example, i) => {
        const file = join(dir, `example-${i}.ts`);
        writeFileSync(file, exampleModule(example.code));
        return { file, where: example.where };
      });
      const config = ts.getParsedCommandLineOfConfigFile(
        'tsconfig.check.json',
        {},
        {
          ...ts.sys,
          onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(String(d.messageText)),
        },
      );
      assert.ok(config);
      const program = ts.createProgram(
        files.map((f) => f.file),
        config.options,
      );
      const problems = ts
        .getPreEmitDiagnostics(program)
        .filter((d) => d.file && files.some((f) => d.file?.fileName.endsWith(f.file)))
        .map((d) => {
          const where = files.find((f) => d.file?.fileName.endsWith(f.file))?.where;
          return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
        });
      assert.deepEqual(problems, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
