/**
 * The demo's keys: the signing key and the refresh key are generated on
 * first start and kept in the data dir (mode 0600), so restarts keep
 * sessions and tokens valid.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  type Algorithm,
  exportSigningKey,
  generateSigningKey,
  importSigningKey,
  isBatonError,
  type JWK,
  type SigningKey,
} from 'baton-auth';
import { DemoConfigError } from './config.ts';

function ensureDir(dir: string): void {
  try {
    makeDirectory(dir);
  } catch (error) {
    throw configError(`BATON_DATA_DIR ${dir} cannot be created`, error);
  }
}

/**
 * `mkdir -p` one level at a time. Node 20's `mkdirSync(dir, { recursive: true })`
 * never returns for a path under /proc (mkdir there fails ENOENT though the
 * parent exists, and it retries forever); here each level is tried at most twice.
 */
function makeDirectory(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && statSync(dir).isDirectory()) return;
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw error;
  }
  makeDirectory(dirname(dir));
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(dir).isDirectory()) throw error;
  }
}

/** Reads the file, or writes `create()` to it if absent. `wx` makes two processes starting together agree. */
async function loadOrCreate(path: string, create: () => Promise<string>): Promise<string> {
  try {
    return await readOrCreate(path, create);
  } catch (error) {
    if (error instanceof DemoConfigError) throw error;
    throw configError(`BATON_DATA_DIR: cannot read or write ${path}`, error);
  }
}

async function readOrCreate(path: string, create: () => Promise<string>): Promise<string> {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const content = await create();
  try {
    writeFileSync(path, content, { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
    return content;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(path, 'utf8');
    throw error;
  }
}

function configError(what: string, error: unknown): DemoConfigError {
  const reason = isBatonError(error) || error instanceof Error ? error.message : String(error);
  return new DemoConfigError(`${what}: ${reason}`);
}

/** A key given directly (BATON_SIGNING_KEY): a JWK (JSON), a PEM private key, or an HS* secret. */
export async function keyFromValue(value: string, alg: Algorithm): Promise<SigningKey> {
  try {
    if (value.startsWith('{')) {
      let jwk: unknown;
      try {
        jwk = JSON.parse(value);
      } catch {
        throw new Error('not valid JSON');
      }
      if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) throw new Error('not a JWK object');
      return await importSigningKey({ alg, jwk: jwk as JWK });
    }
    if (value.startsWith('-----BEGIN'))
      return await importSigningKey({ alg, pem: value.replace(/\\n/g, '\n') });
    return await importSigningKey({ alg, secret: value });
  } catch (error) {
    throw configError(`BATON_SIGNING_KEY does not fit BATON_ALG=${alg}`, error);
  }
}

export async function loadSigningKey(dataDir: string, alg: Algorithm): Promise<SigningKey> {
  ensureDir(dataDir);
  // One file per algorithm: switching BATON_ALG back and forth does not destroy a key.
  const path = join(dataDir, `signing-key.${alg}.jwk.json`);
  const text = await loadOrCreate(path, async () => {
    const key = await generateSigningKey(alg);
    return `${JSON.stringify(exportSigningKey(key, 'jwk'), null, 2)}\n`;
  });
  try {
    return await importSigningKey({ alg, jwk: JSON.parse(text) as JWK });
  } catch (error) {
    throw configError(`the saved signing key ${path} is unusable (delete it to make a new one)`, error);
  }
}

export async function loadRefreshKey(dataDir: string): Promise<Uint8Array> {
  ensureDir(dataDir);
  const path = join(dataDir, 'refresh-key');
  const text = await loadOrCreate(path, async () => `${randomBytes(32).toString('base64url')}\n`);
  const key = Buffer.from(text.trim(), 'base64url');
  if (key.byteLength < 32)
    throw new DemoConfigError(`the saved refresh key ${path} is too short (delete it)`);
  return key;
}
