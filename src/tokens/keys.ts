import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPair,
  type KeyObject,
  type JsonWebKey as NodeJsonWebKey,
  randomBytes,
} from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { BatonError } from '../core/errors.ts';
import { ALGORITHMS, type Algorithm, type SigningKey } from './types.ts';

export type { JWK } from 'jose';

/** RFC 7518 3.2: an HMAC key must be at least as long as the hash output. */
const HMAC_MIN_BYTES: Partial<Record<Algorithm, number>> = { HS256: 32, HS384: 48, HS512: 64 };
/** RFC 7518 3.3 / 3.5: RSA keys below 2048 bits are not acceptable. */
const MIN_RSA_BITS = 2048;
const MAX_KID_LENGTH = 256;

export function isSymmetric(alg: Algorithm): boolean {
  return HMAC_MIN_BYTES[alg] !== undefined;
}

function assertAlgorithm(alg: unknown): asserts alg is Algorithm {
  if (typeof alg !== 'string' || !(ALGORITHMS as readonly string[]).includes(alg)) {
    throw new BatonError(
      'invalid_options',
      `unsupported algorithm ${JSON.stringify(alg)}; use one of ${ALGORITHMS.join(', ')}`,
    );
  }
}

function assertKid(kid: unknown): asserts kid is string {
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) {
    throw new BatonError(
      'invalid_options',
      `key id (kid) must be a non-empty string of at most ${MAX_KID_LENGTH} characters`,
    );
  }
}

/**
 * Throws unless `key` is usable with `alg`. Binding each key to exactly one
 * algorithm is what defeats algorithm-confusion attacks at verification time.
 */
export function assertKeyFitsAlgorithm(alg: Algorithm, key: KeyObject): void {
  const minBytes = HMAC_MIN_BYTES[alg];
  if (minBytes !== undefined) {
    if (key.type !== 'secret') {
      throw new BatonError('invalid_options', `${alg} needs a shared secret, not an ${key.type} key`);
    }
    const size = key.symmetricKeySize ?? 0;
    if (size < minBytes) {
      throw new BatonError(
        'invalid_options',
        `${alg} secret must be at least ${minBytes} bytes, got ${size}; generate one with generateSigningKey('${alg}')`,
      );
    }
    return;
  }
  if (key.type === 'secret') {
    throw new BatonError('invalid_options', `${alg} needs an asymmetric key, not a shared secret`);
  }
  const type = key.asymmetricKeyType;
  switch (alg) {
    case 'RS256':
    case 'PS256': {
      if (type === 'rsa-pss') {
        // Such keys cannot be exported as JWK by Node, so they could never appear in a JWKS.
        throw new BatonError(
          'invalid_options',
          `${alg}: RSA-PSS-restricted keys (id-RSASSA-PSS) are not supported; use a plain RSA key (rsaEncryption)`,
        );
      }
      if (type !== 'rsa') throw new BatonError('invalid_options', `${alg} needs an RSA key, got ${type} key`);
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < MIN_RSA_BITS) {
        throw new BatonError(
          'invalid_options',
          `${alg} needs an RSA key of at least ${MIN_RSA_BITS} bits, got ${bits}`,
        );
      }
      return;
    }
    case 'ES256': {
      if (type !== 'ec')
        throw new BatonError('invalid_options', `ES256 needs an EC P-256 key, got ${type} key`);
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve !== 'prime256v1') {
        throw new BatonError('invalid_options', `ES256 needs an EC key on curve P-256, got ${curve}`);
      }
      return;
    }
    case 'EdDSA':
      if (type !== 'ed25519') {
        throw new BatonError('invalid_options', `EdDSA needs an Ed25519 key, got ${type} key`);
      }
      return;
  }
}

/**
 * HS keys have no public part to fingerprint, and publishing a plain hash of
 * the secret would be needless, so the default kid is a labelled HMAC of it:
 * stable across processes that share the secret, useless to an attacker.
 */
function secretKid(secret: KeyObject): string {
  return `hs-${createHmac('sha256', secret).update('baton/kid').digest('base64url').slice(0, 22)}`;
}

/** The RFC 7638 thumbprint of the public key. */
async function thumbprintKid(publicKey: KeyObject): Promise<string> {
  return calculateJwkThumbprint(publicKey.export({ format: 'jwk' }) as JWK);
}

type PemPair = { publicKey: string; privateKey: string };
const PEM = {
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
} as const;

/** A new key pair in PEM form (see generateSigningKey for why PEM). */
function generatePemPair(alg: Algorithm): Promise<PemPair> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, publicKey: string, privateKey: string) =>
      error ? reject(error) : resolve({ publicKey, privateKey });
    switch (alg) {
      case 'RS256':
      case 'PS256':
        return generateKeyPair('rsa', { modulusLength: 2048, ...PEM }, done);
      case 'ES256':
        return generateKeyPair('ec', { namedCurve: 'P-256', ...PEM }, done);
      case 'EdDSA':
        return generateKeyPair('ed25519', PEM, done);
      default:
        return reject(new BatonError('invalid_options', `${alg} has no key pair`));
    }
  });
}

export interface GenerateKeyOptions {
  kid?: string;
}

/**
 * Makes a new key: a random secret for HS*, a fresh key pair otherwise.
 * Generate once and keep it (`exportSigningKey`, `importSigningKey`): a new
 * key at every start invalidates every access token issued before.
 *
 * @example
 * ```ts
 * import { exportSigningKey, generateSigningKey, importSigningKey } from 'baton-auth';
 *
 * const key = await generateSigningKey('EdDSA', { kid: '2026-12' });
 * const saved = JSON.stringify(exportSigningKey(key, 'jwk')); // private: store it as a secret
 * const again = await importSigningKey({ alg: 'EdDSA', jwk: JSON.parse(saved) });
 * ```
 */
export async function generateSigningKey(
  alg: Algorithm,
  options: GenerateKeyOptions = {},
): Promise<SigningKey> {
  assertAlgorithm(alg);
  if (options.kid !== undefined) assertKid(options.kid);
  const minBytes = HMAC_MIN_BYTES[alg];
  if (minBytes !== undefined) {
    const secretKey = createSecretKey(randomBytes(minBytes));
    return { kid: options.kid ?? secretKid(secretKey), alg, secretKey };
  }
  // PEM out, fresh KeyObjects in: exporting a JWK from KeyObjects made by
  // generateKeyPairSync was once seen to hang on Node 20; this path never did.
  const pair = await generatePemPair(alg);
  const privateKey = createPrivateKey(pair.privateKey);
  const publicKey = createPublicKey(pair.publicKey);
  return { kid: options.kid ?? (await thumbprintKid(publicKey)), alg, privateKey, publicKey };
}

export interface ImportKeyInput {
  alg: Algorithm;
  /** Defaults to the JWK's `kid`, else the RFC 7638 thumbprint (asymmetric) or an id derived from the secret (HS*). */
  kid?: string;
  /** PKCS#8 / SEC1 / PKCS#1 private key, or SPKI public key / X.509 certificate (verify only). */
  pem?: string;
  /** Private or public JWK; `kty: "oct"` for HS*. */
  jwk?: JWK;
  /** Raw HS* secret; a string is taken as UTF-8. */
  secret?: string | Uint8Array;
  retired?: boolean;
}

function importFailed(what: string, cause: unknown): BatonError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new BatonError('invalid_options', `could not import ${what}: ${reason}`, { cause });
}

function secretFromInput(input: ImportKeyInput): KeyObject | undefined {
  if (input.secret !== undefined) {
    if (typeof input.secret === 'string') return createSecretKey(Buffer.from(input.secret, 'utf8'));
    if (input.secret instanceof Uint8Array) return createSecretKey(Buffer.from(input.secret));
    throw new BatonError('invalid_options', 'secret must be a string or a Uint8Array');
  }
  if (input.jwk?.kty === 'oct') {
    const k = input.jwk.k;
    if (typeof k !== 'string' || !/^[A-Za-z0-9_-]*$/.test(k)) {
      throw new BatonError('invalid_options', 'oct JWK must have a base64url "k" member');
    }
    return createSecretKey(Buffer.from(k, 'base64url'));
  }
  return undefined;
}

function asymmetricFromInput(input: ImportKeyInput): { privateKey?: KeyObject; publicKey: KeyObject } {
  if (input.pem !== undefined) {
    if (typeof input.pem !== 'string') throw new BatonError('invalid_options', 'pem must be a string');
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(input.pem)) {
      let privateKey: KeyObject;
      try {
        privateKey = createPrivateKey(input.pem);
      } catch (cause) {
        throw importFailed('PEM private key', cause);
      }
      return { privateKey, publicKey: createPublicKey(privateKey) };
    }
    try {
      return { publicKey: createPublicKey(input.pem) };
    } catch (cause) {
      throw importFailed('PEM public key', cause);
    }
  }
  const jwk = input.jwk;
  if (jwk === undefined || typeof jwk !== 'object' || jwk === null) {
    throw new BatonError('invalid_options', 'jwk must be an object');
  }
  if (jwk.kty === 'oct') {
    throw new BatonError('invalid_options', `${input.alg} needs an asymmetric key, not an oct JWK`);
  }
  const nodeJwk = jwk as NodeJsonWebKey;
  try {
    if (jwk.d !== undefined) {
      const privateKey = createPrivateKey({ key: nodeJwk, format: 'jwk' });
      return { privateKey, publicKey: createPublicKey(privateKey) };
    }
    return { publicKey: createPublicKey({ key: nodeJwk, format: 'jwk' }) };
  } catch (cause) {
    throw importFailed('JWK', cause);
  }
}

/**
 * Imports a key from PEM, JWK or a raw secret, checking that it fits `alg`.
 *
 * @example
 * ```ts
 * import { importSigningKey } from 'baton-auth';
 *
 * // A PKCS#8 private key from the environment (or a secret manager); the kid names it in the JWKS.
 * const signing = await importSigningKey({ alg: 'ES256', pem: process.env.JWT_PRIVATE_KEY ?? '', kid: '2026-12' });
 * // An HS256 secret, at least 32 bytes, shared with every service that verifies.
 * const shared = await importSigningKey({ alg: 'HS256', secret: process.env.JWT_SECRET ?? '' });
 * ```
 */
export async function importSigningKey(input: ImportKeyInput): Promise<SigningKey> {
  if (input === null || typeof input !== 'object') {
    throw new BatonError('invalid_options', 'importSigningKey needs { alg, pem | jwk | secret }');
  }
  const { alg } = input;
  assertAlgorithm(alg);
  const given = [input.pem, input.jwk, input.secret].filter((value) => value !== undefined).length;
  if (given !== 1) {
    throw new BatonError('invalid_options', 'importSigningKey needs exactly one of pem, jwk or secret');
  }
  const jwk = input.jwk;
  if (jwk !== undefined) {
    if (typeof jwk !== 'object' || jwk === null)
      throw new BatonError('invalid_options', 'jwk must be an object');
    if (jwk.alg !== undefined && jwk.alg !== alg) {
      throw new BatonError('invalid_options', `JWK is for alg ${jwk.alg}, not ${alg}`);
    }
    if (jwk.use !== undefined && jwk.use !== 'sig') {
      throw new BatonError(
        'invalid_options',
        `JWK has use ${JSON.stringify(jwk.use)}; a signing key needs "sig"`,
      );
    }
  }
  const kidInput = input.kid ?? (typeof jwk?.kid === 'string' ? jwk.kid : undefined);
  if (kidInput !== undefined) assertKid(kidInput);
  const retired = input.retired === true ? { retired: true } : {};

  if (isSymmetric(alg)) {
    if (input.pem !== undefined) {
      throw new BatonError(
        'invalid_options',
        `${alg} needs a shared secret (secret or oct JWK), not a PEM key`,
      );
    }
    const secretKey = secretFromInput(input);
    if (secretKey === undefined) {
      throw new BatonError(
        'invalid_options',
        `${alg} needs a shared secret (secret or oct JWK), not a ${jwk?.kty} JWK`,
      );
    }
    assertKeyFitsAlgorithm(alg, secretKey);
    return { kid: kidInput ?? secretKid(secretKey), alg, secretKey, ...retired };
  }
  if (input.secret !== undefined) {
    throw new BatonError(
      'invalid_options',
      `${alg} needs an asymmetric key (pem or jwk), not a shared secret`,
    );
  }
  const { privateKey, publicKey } = asymmetricFromInput(input);
  assertKeyFitsAlgorithm(alg, publicKey);
  const kid = kidInput ?? (await thumbprintKid(publicKey));
  return privateKey === undefined
    ? { kid, alg, publicKey, ...retired }
    : { kid, alg, privateKey, publicKey, ...retired };
}

function keyMetadata(key: SigningKey): { kid: string; alg: Algorithm; use: 'sig' } {
  return { kid: key.kid, alg: key.alg, use: 'sig' };
}

/**
 * The public JWK of an asymmetric key, with kid, alg and use. HS keys have none.
 *
 * @example
 * ```ts
 * import { generateSigningKey, publicJwk } from 'baton-auth';
 *
 * const key = await generateSigningKey('EdDSA', { kid: '2026-12' });
 * publicJwk(key); // { kty: 'OKP', crv: 'Ed25519', x: '...', kid: '2026-12', alg: 'EdDSA', use: 'sig' }: no `d`
 * ```
 */
export function publicJwk(key: SigningKey): JWK {
  if (key.publicKey === undefined) {
    throw new BatonError('invalid_options', `key ${key.kid} (${key.alg}) has no public key to publish`);
  }
  return { ...(key.publicKey.export({ format: 'jwk' }) as JWK), ...keyMetadata(key) };
}

/**
 * Exports a key WITH its private material (for persisting keys and for a
 * keygen CLI). For a public export use publicJwk().
 *
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises';
 * import { exportSigningKey, generateSigningKey } from 'baton-auth';
 *
 * const key = await generateSigningKey('ES256');
 * // PKCS#8 PEM, private: readable by the service only. HS* secrets export as an `oct` JWK.
 * await writeFile('signing-key.pem', exportSigningKey(key, 'pem'), { mode: 0o600 });
 * ```
 */
export function exportSigningKey(key: SigningKey, format: 'jwk'): JWK;
export function exportSigningKey(key: SigningKey, format: 'pem'): string;
export function exportSigningKey(key: SigningKey, format: 'jwk' | 'pem'): JWK | string;
export function exportSigningKey(key: SigningKey, format: 'jwk' | 'pem'): JWK | string {
  if (format !== 'jwk' && format !== 'pem') {
    throw new BatonError(
      'invalid_options',
      `export format must be "jwk" or "pem", got ${JSON.stringify(format)}`,
    );
  }
  if (key.secretKey !== undefined) {
    if (format === 'pem') {
      throw new BatonError('invalid_options', `${key.alg} secrets have no PEM form; export as "jwk"`);
    }
    return { kty: 'oct', k: key.secretKey.export().toString('base64url'), ...keyMetadata(key) };
  }
  const material = key.privateKey ?? key.publicKey;
  if (material === undefined) throw new BatonError('invalid_options', `key ${key.kid} has no key material`);
  if (format === 'jwk') return { ...(material.export({ format: 'jwk' }) as JWK), ...keyMetadata(key) };
  return material.type === 'private'
    ? (material.export({ format: 'pem', type: 'pkcs8' }) as string)
    : (material.export({ format: 'pem', type: 'spki' }) as string);
}

/** True when the key holds what signing needs. */
export function canSign(key: SigningKey): boolean {
  return isSymmetric(key.alg) ? key.secretKey !== undefined : key.privateKey !== undefined;
}

function validateKey(key: unknown, index: number): asserts key is SigningKey {
  if (key === null || typeof key !== 'object') {
    throw new BatonError('invalid_options', `keys[${index}] must be a SigningKey object`);
  }
  const candidate = key as Partial<SigningKey>;
  const where = `keys[${index}]`;
  try {
    assertAlgorithm(candidate.alg);
    assertKid(candidate.kid);
  } catch (error) {
    throw new BatonError('invalid_options', `${where}: ${(error as Error).message}`);
  }
  const alg = candidate.alg;
  const material = isSymmetric(alg) ? candidate.secretKey : candidate.publicKey;
  if (material === undefined) {
    throw new BatonError(
      'invalid_options',
      `${where} (${candidate.kid}): ${alg} needs ${isSymmetric(alg) ? 'secretKey' : 'publicKey'}`,
    );
  }
  try {
    assertKeyFitsAlgorithm(alg, material);
    if (!isSymmetric(alg)) {
      if (candidate.secretKey !== undefined) throw new Error(`${alg} key must not carry a secretKey`);
      if (material.type !== 'public') throw new Error('publicKey must be a public KeyObject');
      if (candidate.privateKey !== undefined && candidate.privateKey.type !== 'private') {
        throw new Error('privateKey must be a private KeyObject');
      }
    }
  } catch (error) {
    throw new BatonError('invalid_options', `${where} (${candidate.kid}): ${(error as Error).message}`);
  }
}

export interface KeySetOptions {
  /**
   * Allow a set with no key able to sign, e.g. a resource server holding
   * only public keys. signingKey then throws.
   */
  verifyOnly?: boolean;
}

/**
 * The keys an issuer signs and verifies with. Rotation: append a new key (it
 * signs from now on, older keys still verify), later mark the old one
 * `retired` (its tokens fail, and it leaves the JWKS), finally drop it.
 *
 * @example
 * ```ts
 * import { generateSigningKey } from 'baton-auth';
 * import { KeySet } from 'baton-auth/jws';
 *
 * const previous = await generateSigningKey('EdDSA', { kid: '2026-06' });
 * const current = await generateSigningKey('EdDSA', { kid: '2026-12' });
 * const keys = new KeySet([previous, current]); // oldest first
 * keys.signingKey.kid; // '2026-12': the newest signs, both verify
 * keys.toJWKS().keys.length; // 2, public parts only
 * new KeySet([{ ...previous, retired: true }, current]).toJWKS().keys.length; // 1: the retired key is gone
 * ```
 */
export class KeySet {
  /** All keys, in the order given (oldest first). */
  readonly keys: readonly SigningKey[];
  /** Algorithms of the keys that verify, in key order, without duplicates. */
  readonly algorithms: readonly Algorithm[];
  readonly #signer: SigningKey | undefined;
  readonly #active: ReadonlyMap<string, SigningKey>;
  readonly #only: SigningKey | undefined;
  #jwks: JWK[] | undefined;

  constructor(keys: readonly SigningKey[], options: KeySetOptions = {}) {
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new BatonError('invalid_options', 'a KeySet needs at least one key');
    }
    const kids = new Set<string>();
    const active = new Map<string, SigningKey>();
    keys.forEach((key, index) => {
      validateKey(key, index);
      if (kids.has(key.kid)) {
        throw new BatonError('invalid_options', `duplicate key id ${JSON.stringify(key.kid)} in KeySet`);
      }
      kids.add(key.kid);
      if (key.retired !== true) active.set(key.kid, key);
    });
    if (active.size === 0) throw new BatonError('invalid_options', 'every key of the KeySet is retired');
    const signer = [...active.values()].reverse().find(canSign);
    if (signer === undefined && options.verifyOnly !== true) {
      throw new BatonError(
        'invalid_options',
        'a KeySet needs a non-retired key that can sign (a secret, or a private key); pass { verifyOnly: true } for a set that only verifies',
      );
    }
    this.keys = Object.freeze([...keys]);
    this.#signer = signer;
    this.#active = active;
    this.#only = active.size === 1 ? [...active.values()][0] : undefined;
    this.algorithms = Object.freeze([...new Set([...active.values()].map((key) => key.alg))]);
  }

  /** The key new tokens are signed with: the newest non-retired key able to sign. */
  get signingKey(): SigningKey {
    if (this.#signer === undefined) {
      throw new BatonError('invalid_options', 'this KeySet only verifies: it has no key that can sign');
    }
    return this.#signer;
  }

  /** Whether the set has a key that signs. */
  get canSign(): boolean {
    return this.#signer !== undefined;
  }

  /** The non-retired key with this kid, if any. */
  get(kid: string): SigningKey | undefined {
    return this.#active.get(kid);
  }

  /** Number of keys that verify (non-retired). */
  get size(): number {
    return this.#active.size;
  }

  /** The single verifying key when there is exactly one, which lets tokens omit `kid`. */
  get onlyKey(): SigningKey | undefined {
    return this.#only;
  }

  /** Public keys of the non-retired asymmetric keys: never secrets, never private parts. */
  toJWKS(): { keys: JWK[] } {
    this.#jwks ??= [...this.#active.values()].filter((key) => !isSymmetric(key.alg)).map(publicJwk);
    // Copies, so a caller that edits the answer cannot change the next one.
    return { keys: this.#jwks.map((jwk) => ({ ...jwk })) };
  }
}
