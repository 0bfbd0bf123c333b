/** Runs the real `baton` binary (bin/baton.js) as a child process. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AccessTokenCodec } from '../../src/tokens/access-token.ts';
import { importSigningKey, type JWK, KeySet } from '../../src/tokens/keys.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin', 'baton.js');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
}

/** Variables of the demo and the runner that must not leak into a child from the developer's shell. */
const SCRUBBED = [
  'PORT',
  'HOST',
  'BATON_STORE',
  'BATON_DATA_DIR',
  'BATON_ALG',
  'BATON_SIGNING_KEY',
  'BATON_DEBUG',
  'BATON_AUDIT',
];

export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of SCRUBBED) delete env[name];
  // The test runner's own flags (--test, --import) must not reach the child.
  delete env.NODE_OPTIONS;
  delete env.NODE_TEST_CONTEXT;
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/**
 * At most this many `baton` processes per test file at once: each one starts
 * Node (and tsx, without dist/), and test files run in parallel on small machines.
 */
const MAX_CHILDREN = 2;
let running = 0;
const waiting: (() => void)[] = [];

async function slot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CHILDREN) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** `baton ...args`, asynchronously (the test process may be serving a JWKS to it meanwhile). */
export function baton(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return slot(() => spawnBaton(args, options));
}

function spawnBaton(args: readonly string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: options.cwd ?? ROOT,
        env: childEnv(options.env),
        timeout: options.timeoutMs ?? 30_000,
        maxBuffer: 16 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          if (error.killed) reject(new Error(`baton ${args.join(' ')} timed out\n${stderr}`));
          else reject(error);
          return;
        }
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

/** Exit code 0; shows stderr when it is not. */
export function assertOk(result: RunResult): void {
  assert.equal(
    result.code,
    0,
    `expected exit 0, got ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
  );
}

/** Exactly one line on stderr, starting `baton: `, never a stack trace. */
export function assertOneErrorLine(result: RunResult, code: 1 | 2, pattern?: RegExp): void {
  assert.equal(
    result.code,
    code,
    `expected exit ${code}, got ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
  );
  assert.match(
    result.stderr,
    /^baton: [^\n]+\n$/,
    `stderr must be one "baton: ..." line, got ${JSON.stringify(result.stderr)}`,
  );
  assert.doesNotMatch(result.stderr, /\n\s+at /);
  if (code === 2) assert.match(result.stderr, /\(see "baton[^"]*--help"\)\n$/);
  if (pattern) assert.match(result.stderr, pattern);
}

export function parseJson(text: string): Record<string, unknown> {
  const value: unknown = JSON.parse(text);
  assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), 'expected a JSON object');
  return value as Record<string, unknown>;
}

export interface TempDir {
  path: string;
  file(name: string): string;
  remove(): void;
}

export function tempDir(prefix = 'baton-cli-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {
    path,
    file: (name) => join(path, name),
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}

export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'api.test';

export interface KeyFixture {
  dir: TempDir;
  /** Private EdDSA JWK written by `baton keygen --out`, kid `cli-key`. */
  keyFile: string;
  /** Its public JWKS, written from `baton jwks`. */
  jwksFile: string;
  codec: AccessTokenCodec;
  /** An access token signed with the key: sub u1, sid session-1, 15 minutes. */
  token: string;
  sign(claims?: Record<string, unknown>): string;
}

/** A key made by the binary itself, and a codec signing with it. */
export async function keyFixture(): Promise<KeyFixture> {
  const dir = tempDir();
  const keyFile = dir.file('key.jwk.json');
  const jwksFile = dir.file('jwks.json');
  assertOk(await baton(['keygen', '--alg', 'EdDSA', '--kid', 'cli-key', '--out', keyFile]));
  const jwks = await baton(['jwks', keyFile]);
  assertOk(jwks);
  writeFileSync(jwksFile, jwks.stdout);
  const jwk = parseJson(readFileSync(keyFile, 'utf8')) as JWK;
  const key = await importSigningKey({ alg: 'EdDSA', jwk });
  const codec = new AccessTokenCodec({ keys: new KeySet([key]), issuer: ISSUER, audience: AUDIENCE });
  const sign = (claims: Record<string, unknown> = {}) =>
    codec.sign({ sub: 'u1', sid: 'session-1', client_id: 'cli-test', roles: ['user'], ...claims });
  return { dir, keyFile, jwksFile, codec, token: sign(), sign };
}

/** Flips one character of the signature, keeping it valid base64url. */
export function tamper(jwt: string): string {
  const last = jwt.charAt(jwt.length - 2);
  return `${jwt.slice(0, -2)}${last === 'A' ? 'B' : 'A'}${jwt.slice(-1)}`;
}
