/**
 * DPoP for the client (RFC 9449): a key pair per session, kept where every
 * tab of the origin finds it (IndexedDB, non-extractable: page script can
 * sign with it but never read it out), and a proof signed with it for each
 * request. WebCrypto only, so it runs in browsers and in Node 20 alike.
 */

/** A session's proof key: what signs, and the public half the proofs carry. */
export interface DpopKey {
  /** `ES256` or `EdDSA`. */
  alg: 'ES256' | 'EdDSA';
  /** The RFC 7638 thumbprint of the public key: the `cnf.jkt` of the tokens bound to it. */
  jkt: string;
  /** The public key's members (RFC 7638), as the proofs' `jwk` header carries them. */
  jwk: Record<string, string>;
  /** Signs the JWS signing input; answers the signature in JWS form (raw r‖s for ES256). */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/**
 * Where the client keeps its session's proof key. One key per session,
 * shared by the tabs of an origin: `create` makes the key of a new login
 * (replacing any), `load` answers the key with that thumbprint (or any key
 * when none is asked), `drop` forgets it (logout, session end).
 */
export interface DpopKeyStore {
  create(): Promise<DpopKey>;
  load(jkt?: string): Promise<DpopKey | null>;
  drop(): Promise<void>;
}

interface StoredPair {
  alg: 'ES256' | 'EdDSA';
  pair: CryptoKeyPair;
}

function subtle(): SubtleCrypto {
  const value = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (value === undefined) throw new Error('DPoP needs WebCrypto (crypto.subtle): a secure context');
  return value;
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const encoder = new TextEncoder();

export function base64urlText(text: string): string {
  return base64url(encoder.encode(text));
}

/** SHA-256, base64url. */
export async function sha256(text: string): Promise<string> {
  return base64url(new Uint8Array(await subtle().digest('SHA-256', encoder.encode(text))));
}

/** A new non-extractable pair: Ed25519 where WebCrypto has it, else P-256. */
async function generatePair(): Promise<StoredPair> {
  try {
    const pair = (await subtle().generateKey({ name: 'Ed25519' }, false, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    return { alg: 'EdDSA', pair };
  } catch {
    const pair = await subtle().generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'sign',
      'verify',
    ]);
    return { alg: 'ES256', pair };
  }
}

/** The key a stored pair stands for: the public members, their thumbprint, a signer. */
async function keyOf(stored: StoredPair): Promise<DpopKey> {
  const exported = (await subtle().exportKey('jwk', stored.pair.publicKey)) as Record<string, string>;
  // RFC 7638: the required members only, in lexicographic order.
  const jwk: Record<string, string> =
    stored.alg === 'ES256'
      ? { crv: 'P-256', kty: 'EC', x: exported.x ?? '', y: exported.y ?? '' }
      : { crv: 'Ed25519', kty: 'OKP', x: exported.x ?? '' };
  const jkt = await sha256(JSON.stringify(jwk));
  const algorithm =
    stored.alg === 'ES256'
      ? { name: 'ECDSA', hash: 'SHA-256' }
      : ({ name: 'Ed25519' } as AlgorithmIdentifier);
  return {
    alg: stored.alg,
    jkt,
    jwk,
    sign: async (data) =>
      new Uint8Array(await subtle().sign(algorithm, stored.pair.privateKey, data as BufferSource)),
  };
}

/**
 * Keys in this client's memory: for Node, and for browsers without
 * IndexedDB (the key then lives as long as the page).
 *
 * @example
 * ```ts
 * import { createAuthClient, memoryDpopKeys } from 'baton-auth/client';
 *
 * const auth = createAuthClient({ baseUrl: 'https://api.example.com', mode: 'bearer', dpop: memoryDpopKeys() });
 * ```
 */
export function memoryDpopKeys(): DpopKeyStore {
  let current: DpopKey | null = null;
  return {
    async create() {
      current = await keyOf(await generatePair());
      return current;
    },
    async load(jkt) {
      return current !== null && (jkt === undefined || current.jkt === jkt) ? current : null;
    },
    async drop() {
      current = null;
    },
  };
}

/** What `keyObjectDpopKeys` needs of a node:crypto private KeyObject (structurally: no node import here). */
export interface PrivateKeyObjectLike {
  asymmetricKeyType?: string;
  export(options: { format: 'jwk' }): JsonWebKey;
}

/**
 * A Node client's own key (a node:crypto `KeyObject`, P-256 or Ed25519): every
 * session of this client is bound to it, so `drop` forgets nothing (the key is
 * yours). Signs through WebCrypto with a non-extractable copy.
 *
 * @example
 * ```ts
 * import { generateKeyPairSync } from 'node:crypto';
 * import { createAuthClient, keyObjectDpopKeys } from 'baton-auth/client';
 *
 * const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' }); // or load yours
 * const auth = createAuthClient({ baseUrl: 'https://api.example.com', mode: 'bearer', dpop: keyObjectDpopKeys(privateKey) });
 * ```
 */
export function keyObjectDpopKeys(privateKey: PrivateKeyObjectLike): DpopKeyStore {
  const alg = privateKey.asymmetricKeyType === 'ed25519' ? 'EdDSA' : 'ES256';
  if (privateKey.asymmetricKeyType !== 'ed25519' && privateKey.asymmetricKeyType !== 'ec') {
    throw new Error('keyObjectDpopKeys: the key must be P-256 (ec) or Ed25519');
  }
  let key: Promise<DpopKey> | undefined;
  const make = async (): Promise<DpopKey> => {
    const { d: _d, ...publicJwk } = privateKey.export({ format: 'jwk' });
    const algorithm =
      alg === 'ES256' ? { name: 'ECDSA', namedCurve: 'P-256' } : ({ name: 'Ed25519' } as AlgorithmIdentifier);
    const pair: CryptoKeyPair = {
      privateKey: await subtle().importKey('jwk', privateKey.export({ format: 'jwk' }), algorithm, false, [
        'sign',
      ]),
      publicKey: await subtle().importKey('jwk', publicJwk, algorithm, true, ['verify']),
    };
    return keyOf({ alg, pair });
  };
  const get = () => {
    key ??= make();
    return key;
  };
  return {
    create: get,
    async load(jkt) {
      const current = await get();
      return jkt === undefined || current.jkt === jkt ? current : null;
    },
    async drop() {},
  };
}

const DB_NAME = 'baton-dpop';
const STORE = 'keys';

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function openDb(factory: IDBFactory): Promise<IDBDatabase> {
  const open = factory.open(DB_NAME, 1);
  open.onupgradeneeded = () => {
    open.result.createObjectStore(STORE);
  };
  return request(open);
}

/**
 * Keys in IndexedDB, under `name` (the client's storage key): the tabs of an
 * origin share the session's key, and a reload keeps it. The private key is
 * non-extractable: IndexedDB keeps the CryptoKey itself, never its bytes.
 *
 * @example
 * ```ts
 * import { createAuthClient, indexedDbDpopKeys } from 'baton-auth/client';
 *
 * const auth = createAuthClient({
 *   baseUrl: 'https://api.example.com',
 *   mode: 'bearer',
 *   storage: 'session',
 *   dpop: indexedDbDpopKeys('my-app'), // the default in browsers with `dpop: true`
 * });
 * ```
 */
export function indexedDbDpopKeys(name: string, factory?: IDBFactory): DpopKeyStore {
  const idb = factory ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (idb === undefined) return memoryDpopKeys();
  let db: Promise<IDBDatabase> | undefined;
  const cache = new Map<string, DpopKey>();
  const database = () => {
    db ??= openDb(idb);
    return db;
  };
  const transaction = async (mode: IDBTransactionMode) =>
    (await database()).transaction(STORE, mode).objectStore(STORE);
  return {
    async create() {
      const stored = await generatePair();
      const key = await keyOf(stored);
      await request((await transaction('readwrite')).put(stored, name));
      cache.clear();
      cache.set(key.jkt, key);
      return key;
    },
    async load(jkt) {
      if (jkt !== undefined && cache.has(jkt)) return cache.get(jkt) ?? null;
      const stored = (await request((await transaction('readonly')).get(name))) as StoredPair | undefined;
      if (stored === undefined) return null;
      const key = await keyOf(stored);
      cache.set(key.jkt, key);
      return jkt === undefined || key.jkt === jkt ? key : null;
    },
    async drop() {
      cache.clear();
      await request((await transaction('readwrite')).delete(name));
    },
  };
}

/**
 * A proof JWT for one request (RFC 9449 section 4.2), signed by a key of a
 * `DpopKeyStore`: what the client sends as `DPoP` on its own requests, for
 * requests you make yourself. `htu` is the URL without query and fragment;
 * `accessToken` adds `ath` (a protected request), `nonce` the server's
 * (`DPoP-Nonce`); `now` in milliseconds.
 *
 * @example
 * ```ts
 * import { memoryDpopKeys, signProof } from 'baton-auth/client';
 *
 * const key = await memoryDpopKeys().create();
 * const url = 'https://api.example.com/auth/refresh';
 * const dpop = await signProof(key, 'POST', url, { now: Date.now() });
 * await fetch(url, { method: 'POST', headers: { dpop, 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: refreshToken }) });
 * ```
 */
export async function signProof(
  key: DpopKey,
  method: string,
  url: string,
  options: { accessToken?: string; nonce?: string; now: number },
): Promise<string> {
  const target = new URL(url);
  const htu = `${target.protocol}//${target.host}${target.pathname}`;
  const claims: Record<string, unknown> = {
    jti: base64url(crypto.getRandomValues(new Uint8Array(16))),
    htm: method.toUpperCase(),
    htu,
    iat: Math.floor(options.now / 1000),
  };
  if (options.accessToken !== undefined) claims.ath = await sha256(options.accessToken);
  if (options.nonce !== undefined) claims.nonce = options.nonce;
  const header = { typ: 'dpop+jwt', alg: key.alg, jwk: key.jwk };
  const input = `${base64urlText(JSON.stringify(header))}.${base64urlText(JSON.stringify(claims))}`;
  return `${input}.${base64url(await key.sign(encoder.encode(input)))}`;
}
