/**
 * Keys for `decode --key/--jwks` and `verify --jwks`: a key file (JWK, JWKS,
 * PEM or a text secret) or a JWKS from a file or an http(s) URL.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { open } from 'node:fs/promises';
import { isBatonError } from '../core/errors.ts';
import { importSigningKey, type JWK } from '../tokens/keys.ts';
import { ALGORITHMS, type Algorithm, type SigningKey } from '../tokens/types.ts';
import { CommandFailure } from './args.ts';

/** Largest key file or JWKS document read. */
const MAX_DOCUMENT_BYTES = 1024 * 1024;
export const DEFAULT_FETCH_TIMEOUT_SECONDS = 10;

function reasonOf(error: unknown): string {
  return isBatonError(error) || error instanceof Error ? error.message : String(error);
}

export function isAlgorithm(value: unknown): value is Algorithm {
  return typeof value === 'string' && (ALGORITHMS as readonly string[]).includes(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The algorithm of a JWK: its `alg`, else what its key type allows (`hint` decides RSA and oct). */
function jwkAlgorithm(jwk: JWK, hint: Algorithm | undefined): Algorithm | undefined {
  if (jwk.alg !== undefined) return isAlgorithm(jwk.alg) ? jwk.alg : undefined;
  switch (jwk.kty) {
    case 'OKP':
      return jwk.crv === 'Ed25519' ? 'EdDSA' : undefined;
    case 'EC':
      return jwk.crv === 'P-256' ? 'ES256' : undefined;
    case 'RSA':
      return hint === 'PS256' ? 'PS256' : 'RS256';
    case 'oct':
      return hint?.startsWith('HS') ? hint : 'HS256';
    default:
      return undefined;
  }
}

async function readDocument(path: string, what: string): Promise<string> {
  let buffer: Buffer;
  try {
    buffer = await readAtMost(path, MAX_DOCUMENT_BYTES + 1);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : reasonOf(error);
    throw new CommandFailure(`cannot read ${what} ${path}: ${reason}`);
  }
  if (buffer.byteLength > MAX_DOCUMENT_BYTES) throw new CommandFailure(`${what} ${path} is too large`);
  return buffer.toString('utf8');
}

/** The first `limit` bytes of a file: a huge file (or /dev/zero) is never read whole. */
async function readAtMost(path: string, limit: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(limit);
    let filled = 0;
    while (filled < limit) {
      const { bytesRead } = await handle.read(buffer, filled, limit - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/** Imports every usable signature key of a JWKS; unusable ones are skipped (and counted in the error if none is left). */
export async function keysFromJwks(document: unknown, source: string): Promise<SigningKey[]> {
  if (!isObject(document) || !Array.isArray(document.keys)) {
    throw new CommandFailure(`${source} is not a JWKS (expected {"keys": [...]})`);
  }
  const keys: SigningKey[] = [];
  const skipped: string[] = [];
  for (const [index, entry] of document.keys.entries()) {
    if (!isObject(entry)) {
      skipped.push(`keys[${index}] is not an object`);
      continue;
    }
    const jwk = entry as JWK;
    const name = typeof jwk.kid === 'string' ? jwk.kid : `keys[${index}]`;
    if (jwk.use !== undefined && jwk.use !== 'sig') {
      skipped.push(`${name} is not a signature key`);
      continue;
    }
    const alg = jwkAlgorithm(jwk, undefined);
    if (alg === undefined) {
      skipped.push(`${name} has an unsupported algorithm`);
      continue;
    }
    try {
      keys.push(await importSigningKey({ alg, jwk }));
    } catch (error) {
      skipped.push(`${name}: ${reasonOf(error)}`);
    }
  }
  if (keys.length === 0) {
    const why = skipped.length > 0 ? ` (${skipped.join('; ')})` : '';
    throw new CommandFailure(`${source} has no usable signing key${why}`);
  }
  return keys;
}

export interface JwksSourceOptions {
  timeoutSeconds?: number;
}

/** A JWKS from a file or an http(s) URL (fetched with a timeout). */
export async function loadJwks(source: string, options: JwksSourceOptions = {}): Promise<SigningKey[]> {
  let text: string;
  if (/^https?:\/\//i.test(source)) {
    text = await fetchDocument(source, options.timeoutSeconds ?? DEFAULT_FETCH_TIMEOUT_SECONDS);
  } else {
    text = await readDocument(source, 'JWKS file');
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new CommandFailure(`${source} is not JSON`);
  }
  return keysFromJwks(document, source);
}

async function fetchDocument(url: string, timeoutSeconds: number): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, {
      signal: AbortSignal.timeout(timeoutSeconds * 1000),
      headers: { accept: 'application/json, application/jwk-set+json' },
      redirect: 'follow',
    });
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw new CommandFailure(`fetching ${url} timed out after ${timeoutSeconds}s`);
    }
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    throw new CommandFailure(`cannot fetch ${url}${cause || `: ${reasonOf(error)}`}`);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new CommandFailure(`fetching ${url} answered HTTP ${response.status}`);
  }
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > MAX_DOCUMENT_BYTES) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(url);
  }
  try {
    return await readBounded(response, url);
  } catch (error) {
    if (error instanceof CommandFailure) throw error;
    throw new CommandFailure(`reading ${url} failed: ${reasonOf(error)}`);
  }
}

function tooLarge(url: string): CommandFailure {
  return new CommandFailure(`${url} is larger than ${MAX_DOCUMENT_BYTES / 1024 / 1024} MiB; not a JWKS`);
}

/** The body, read only up to the limit: a server that sends more (or lies about its length) is cut off. */
async function readBounded(response: Response, url: string): Promise<string> {
  const body = response.body;
  if (body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_DOCUMENT_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(url);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export interface KeyFileHints {
  /** `--alg`, else the token's `alg`: needed for PEM keys and text secrets, which do not say. */
  alg?: Algorithm;
  /** The token's `kid`, given to a key whose file names none (PEM, text secret, JWK without kid). */
  kid?: string;
}

/**
 * One key file: a JWK, a JWKS, a PEM key (private or public) or, failing
 * those, a text secret for HS* (the file's text, trailing newline removed,
 * used as UTF-8 bytes, as the demo's BATON_SIGNING_KEY is).
 */
export async function loadKeyFile(path: string, hints: KeyFileHints = {}): Promise<SigningKey[]> {
  const text = await readDocument(path, 'key file');
  const trimmed = text.trim();
  if (trimmed === '') throw new CommandFailure(`key file ${path} is empty`);
  const kid = hints.kid === undefined ? {} : { kid: hints.kid };
  if (trimmed.startsWith('{')) {
    let document: unknown;
    try {
      document = JSON.parse(trimmed);
    } catch {
      throw new CommandFailure(`key file ${path} is not valid JSON`);
    }
    if (isObject(document) && Array.isArray(document.keys)) return keysFromJwks(document, path);
    if (!isObject(document) || typeof document.kty !== 'string') {
      throw new CommandFailure(`key file ${path} is neither a JWK nor a JWKS`);
    }
    const jwk = document as JWK;
    const alg = jwkAlgorithm(jwk, hints.alg);
    if (alg === undefined) throw new CommandFailure(`key file ${path}: unsupported key type or algorithm`);
    return [await importOrFail(path, { alg, jwk, ...(jwk.kid === undefined ? kid : {}) })];
  }
  if (trimmed.startsWith('-----BEGIN')) {
    const alg = hints.alg ?? pemAlgorithm(trimmed);
    if (alg === undefined)
      throw new CommandFailure(`key file ${path}: cannot tell the key's algorithm; pass --alg`);
    return [await importOrFail(path, { alg, pem: trimmed, ...kid })];
  }
  const alg = hints.alg;
  if (alg === undefined || !alg.startsWith('HS')) {
    throw new CommandFailure(
      `key file ${path} is not a JWK, JWKS or PEM key (a text secret needs --alg HS256|HS384|HS512)`,
    );
  }
  return [await importOrFail(path, { alg, secret: text.replace(/\r?\n$/, ''), ...kid })];
}

async function importOrFail(
  path: string,
  input: Parameters<typeof importSigningKey>[0],
): Promise<SigningKey> {
  try {
    return await importSigningKey(input);
  } catch (error) {
    throw new CommandFailure(`key file ${path}: ${reasonOf(error)}`);
  }
}

/** EdDSA for Ed25519, ES256 for P-256, RS256 for RSA; undefined otherwise. */
function pemAlgorithm(pem: string): Algorithm | undefined {
  try {
    const key = /PRIVATE KEY-----/.test(pem) ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
    switch (key.asymmetricKeyType) {
      case 'ed25519':
        return 'EdDSA';
      case 'ec':
        return key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? 'ES256' : undefined;
      case 'rsa':
        return 'RS256';
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}
