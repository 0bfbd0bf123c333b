/**
 * The package as a user gets it: `npm pack` from a clean copy of this
 * checkout (its files as git sees them, no dist/; prepack builds it), the tarball installed into empty Express, Fastify and Hono
 * projects with only the packages the README's Install section names, a
 * strict app typechecked in each (exactOptionalPropertyTypes, skipLibCheck
 * off: Baton's .d.ts files are checked too), run on a free port and driven
 * over HTTP, and the `baton` command run from that install.
 *
 * Everything lives in one temp dir, removed at the end. The slow part is
 * better-sqlite3's native build, so only the Express project uses SQLite.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./consumer/', import.meta.url));
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>;
  bin: Record<string, string>;
  devDependencies: Record<string, string>;
};

interface Consumer {
  name: 'express' | 'fastify' | 'hono';
  /** Besides the tarball: what the README's Install section says this setup needs. */
  packages: string[];
  extraFiles?: string[];
  scripts?: Record<string, boolean>;
}

const CONSUMERS: Consumer[] = [
  {
    name: 'express',
    packages: ['express', 'better-sqlite3', '@types/express', '@types/better-sqlite3', '@types/node'],
    extraFiles: ['require.cts'],
    scripts: { 'better-sqlite3': true },
  },
  { name: 'fastify', packages: ['fastify', '@types/node'] },
  { name: 'hono', packages: ['hono', '@hono/node-server', '@types/node'] },
];

const STRICT_TSCONFIG = {
  compilerOptions: {
    strict: true,
    exactOptionalPropertyTypes: true,
    skipLibCheck: false,
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    target: 'ES2022',
    outDir: 'dist',
    rootDir: '.',
    types: ['node'],
  },
  include: ['*.ts', '*.cts'],
};

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

const children: ChildProcess[] = [];
let dir: string;
let tarball: string;
let packedFiles: Set<string>;

/** A child's environment without the test runner's: no baton-source condition, no --test. */
function consumerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_TEST_CONTEXT;
  for (const name of ['PORT', 'HOST', 'BATON_STORE', 'BATON_DATA_DIR', 'BATON_ADAPTER']) delete env[name];
  return { ...env, ...extra };
}

function run(
  command: string,
  args: string[],
  cwd: string,
  timeoutMs: number,
  env: Record<string, string> = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: consumerEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} took over ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function assertOk(result: Result, what: string): void {
  assert.equal(result.code, 0, `${what} failed\n${result.stdout}\n${result.stderr}`);
}

/** Starts a server process and resolves with its URL once it prints "listening on <url>". */
function startServer(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, args, {
    cwd,
    env: consumerEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "listening on" line within 30 s\n${output}`)),
      30_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ url: url.replace(/\/$/, ''), child, output: () => output });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code}\n${output}`));
    });
  });
}

/**
 * `baton serve` as the project's install runs it (node's arguments): a free
 * port, a memory store, its data dir inside the project. The caller's
 * BATON_ADAPTER picks the framework.
 */
function batonServe(cwd: string): string[] {
  const baton = join(cwd, 'node_modules', '.bin', 'baton');
  return [baton, 'serve', '--port', '0', '--store', 'memory', '--data-dir', join(cwd, '.baton')];
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid, 'SIGTERM');
  await exited;
}

async function post(
  url: string,
  body: unknown,
  token?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

async function get(url: string, token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Every file path an `exports` or `bin` entry names. */
function targets(value: unknown): string[] {
  if (typeof value === 'string') return [value.replace(/^\.\//, '')];
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(targets);
  return [];
}

/** The version this checkout develops against, so `--prefer-offline` finds it in the npm cache. */
function pinned(name: string): string {
  const version = manifest.devDependencies[name];
  assert.ok(version, `${name} is not a dev dependency of the checkout`);
  return `${name}@${version}`;
}

/**
 * The checkout's files as a fresh clone has them (tracked, or new and not
 * ignored: no dist/, no databases), sharing its node_modules. Packing here,
 * not in the checkout, leaves the checkout's dist/ alone for the tests
 * running beside this one.
 */
function cleanCopy(target: string): string {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  for (const file of listed.split('\0')) {
    // Regular files only: a worktree's node_modules is a symlink, which `node_modules/` does not ignore.
    if (file === '' || !existsSync(join(ROOT, file)) || !lstatSync(join(ROOT, file)).isFile()) continue;
    mkdirSync(dirname(join(target, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(target, file));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(target, 'node_modules'));
  return target;
}

function consumerDir(name: Consumer['name']): string {
  return join(dir, name);
}

const compilations = new Map<Consumer['name'], Promise<void>>();

/** `tsc -p .` in the project (typecheck and emit to dist/), once per project. */
function compile(name: Consumer['name']): Promise<void> {
  let done = compilations.get(name);
  if (done === undefined) {
    done = run(process.execPath, [TSC, '-p', '.'], consumerDir(name), 180_000).then((result) =>
      assertOk(result, `tsc (${name})`),
    );
    compilations.set(name, done);
  }
  return done;
}

before(
  async () => {
    dir = mkdtempSync(join(tmpdir(), 'baton-consumer-'));
    const checkout = cleanCopy(join(dir, 'checkout'));
    const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], checkout, 180_000);
    assertOk(packed, 'npm pack');
    // Lifecycle output (prepack's build) may precede the JSON on stdout.
    const report = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[\n'))) as {
      filename: string;
      files: { path: string }[];
    }[];
    const [entry] = report;
    assert.ok(entry);
    tarball = join(dir, entry.filename);
    packedFiles = new Set(entry.files.map((file) => file.path));

    await Promise.all(
      CONSUMERS.map(async (consumer) => {
        const cwd = consumerDir(consumer.name);
        mkdirSync(cwd);
        writeFileSync(
          join(cwd, 'package.json'),
          JSON.stringify({
            name: `consumer-${consumer.name}`,
            private: true,
            type: 'module',
            ...(consumer.scripts ? { allowScripts: consumer.scripts } : {}),
          }),
        );
        writeFileSync(join(cwd, 'tsconfig.json'), JSON.stringify(STRICT_TSCONFIG));
        copyFileSync(join(FIXTURES, `${consumer.name}.ts`), join(cwd, 'server.ts'));
        copyFileSync(join(FIXTURES, 'sessions.ts'), join(cwd, 'sessions.ts'));
        for (const file of consumer.extraFiles ?? []) copyFileSync(join(FIXTURES, file), join(cwd, file));
        const installed = await run(
          'npm',
          [
            'install',
            '--no-audit',
            '--no-fund',
            '--prefer-offline',
            tarball,
            ...consumer.packages.map(pinned),
          ],
          cwd,
          240_000,
        );
        assertOk(installed, `npm install (${consumer.name})`);
      }),
    );
  },
  { timeout: 420_000 },
);

after(() => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, 'SIGKILL');
    }
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('contains every exports and bin target, the built demo and its page, and no tests', () => {
    const needed = [
      ...targets(manifest.exports),
      ...targets(manifest.bin),
      'dist/demo/server.js',
      'dist/demo/config.js',
      'dist/demo/public/index.html',
      'dist/demo/public/assets/app.js',
      'LICENSE',
      'README.md',
    ];
    assert.deepEqual(
      needed.filter((file) => !packedFiles.has(file)),
      [],
    );
    assert.deepEqual(
      [...packedFiles].filter((file) => file.startsWith('test/') || file.startsWith('demo/')),
      [],
    );
  });
});

describe('a strict TypeScript app in an empty project', { timeout: 300_000 }, () => {
  for (const consumer of CONSUMERS) {
    it(`on ${consumer.name}: typechecks with exactOptionalPropertyTypes and skipLibCheck off, then logs in, refreshes and logs out over HTTP, and a verify-only resource server accepts its tokens`, async () => {
      const cwd = consumerDir(consumer.name);
      await compile(consumer.name);
      const { url, child, output } = await startServer(['dist/server.js'], cwd, {
        SQLITE_PATH: join(cwd, 'sessions.db'),
      });
      try {
        const resourceUrl = /resource server on (http:\/\/\S+)/.exec(output())?.[1];
        assert.ok(resourceUrl, output());
        const login = await post(`${url}/auth/login`, { username: 'thedude', password: 'abides' });
        assert.equal(login.status, 200, JSON.stringify(login.body));
        const access = String(login.body.access_token);
        const guarded = await get(`${url}/api/users/42`, access);
        assert.deepEqual(guarded, { status: 200, body: { userId: '42', sub: '1' } });

        // The resource server fetched the issuer's JWKS and checks the same token.
        assert.deepEqual(await get(`${resourceUrl}/orders`, access), { status: 200, body: { user: '1' } });
        const forged = await get(`${resourceUrl}/orders`, `${access.slice(0, -4)}AAAA`);
        assert.equal(forged.status, 401);
        assert.equal(forged.body.error, 'invalid_token');
        const refreshAsAccess = await get(`${resourceUrl}/orders`, String(login.body.refresh_token));
        assert.equal(refreshAsAccess.status, 401);
        assert.equal(refreshAsAccess.body.error, 'wrong_token_type');

        const refreshed = await post(`${url}/auth/refresh`, { refresh_token: login.body.refresh_token });
        assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
        assert.notEqual(refreshed.body.refresh_token, login.body.refresh_token);

        const logout = await post(`${url}/auth/logout`, { refresh_token: refreshed.body.refresh_token });
        assert.ok(logout.status < 300, JSON.stringify(logout.body));
        const afterLogout = await get(`${url}/api/users/42`, String(refreshed.body.access_token));
        assert.equal(afterLogout.status, 401);
        assert.equal(afterLogout.body.error, 'token_revoked');
        const refreshAfterLogout = await post(`${url}/auth/refresh`, {
          refresh_token: refreshed.body.refresh_token,
        });
        assert.equal(refreshAfterLogout.status, 401);
      } finally {
        await stop(child);
      }
    });
  }
});

describe('the installed package at runtime', { timeout: 120_000 }, () => {
  it("require('baton-auth') works from CommonJS (Node 20.19+), as its types say", async () => {
    // require.cts, typechecked and compiled to require() calls by the Express project's tsc; then plain node -e.
    const cwd = consumerDir('express');
    await compile('express');
    const compiled = await run(process.execPath, ['dist/require.cjs'], cwd, 30_000);
    assertOk(compiled, 'dist/require.cjs');
    assert.deepEqual(JSON.parse(compiled.stdout), { SessionManager: 'function', createBaton: 'function' });
    const plain = await run(
      process.execPath,
      ['-e', "const { SessionManager } = require('baton-auth'); console.log(typeof SessionManager)"],
      consumerDir('fastify'),
      30_000,
    );
    assertOk(plain, "node -e require('baton-auth')");
    assert.equal(plain.stdout.trim(), 'function');
  });

  it('npx baton --help and npx baton keygen run the compiled CLI', async () => {
    const cwd = consumerDir('fastify');
    const help = await run('npx', ['--no', '--', 'baton', '--help'], cwd, 30_000);
    assertOk(help, 'baton --help');
    assert.match(help.stdout, /keygen/);
    const keygen = await run('npx', ['--no', '--', 'baton', 'keygen'], cwd, 30_000);
    assertOk(keygen, 'baton keygen');
    const jwk = JSON.parse(keygen.stdout) as { kty?: string; d?: string; alg?: string };
    assert.equal(jwk.kty, 'OKP');
    assert.equal(typeof jwk.d, 'string');
  });

  it('baton migrate and baton sessions list work on SQLite from the install', async () => {
    const cwd = consumerDir('express');
    const store = `sqlite:${join(cwd, 'cli.db')}`;
    assertOk(
      await run('npx', ['--no', '--', 'baton', 'migrate', '--store', store], cwd, 30_000),
      'baton migrate',
    );
    const list = await run(
      'npx',
      ['--no', '--', 'baton', 'sessions', 'list', '--user', '1', '--store', store, '--json'],
      cwd,
      30_000,
    );
    assertOk(list, 'baton sessions list');
    assert.deepEqual(JSON.parse(list.stdout), { user: '1', sessions: [] });
  });

  it('baton serve on a framework the project lacks names the package to install, in one line', async () => {
    const cwd = consumerDir('express');
    const result = await run(process.execPath, batonServe(cwd), cwd, 60_000, { BATON_ADAPTER: 'fastify' });
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^baton: .*needs fastify: npm install fastify/);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  });

  it('baton serve runs the built demo from the install, on the framework the project has', async () => {
    // The Express project: BATON_ADAPTER picks its framework (the default, Hono, is not installed there).
    const cwd = consumerDir('express');
    const { url, child } = await startServer(batonServe(cwd), cwd, { BATON_ADAPTER: 'express' });
    try {
      const jwks = await fetch(`${url}/.well-known/jwks.json`);
      assert.equal(jwks.status, 200);
      const login = await post(`${url}/auth/login`, { username: 'thedude', password: 'abides' });
      assert.equal(login.status, 200, JSON.stringify(login.body));
      const page = await fetch(`${url}/`, { headers: { accept: 'text/html' } });
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
    } finally {
      await stop(child);
    }
  });
});
