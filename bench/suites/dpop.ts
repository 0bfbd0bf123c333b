/**
 * What DPoP (RFC 9449) costs a protected request: Baton's guard
 * (createBatonHttp(...).guard()) on the same access token sent as Bearer and
 * as DPoP with a proof, measured in pairs, per proof algorithm and per store.
 * The DPoP request pays for the proof's parse and claims, its signature check
 * by the header's JWK, the token's cnf.jkt comparison and the replay cache's
 * atomic write of the proof's jti to the store (a map on memory, a row on
 * SQLite, one round trip to Redis or PostgreSQL): the only store call on a
 * protected request.
 *
 * Proofs are signed beforehand, one per request (a jti is accepted once), so
 * the client's signing is not counted. A third case times node:crypto's
 * verify of one proof signature alone (public key already imported): the part
 * of the added cost no library can avoid.
 */
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
  sign,
  verify,
} from 'node:crypto';
import { createBatonHttp, type HttpRequest } from '../../src/http/index.ts';
import { type DpopAlgorithm, jwkThumbprint, type SessionManager } from '../../src/index.ts';
import type { BatonUser } from '../../src/sessions/types.ts';
import { algFixture, benchUser, managerFor } from '../lib/fixtures.ts';
import { type Budget, compare, type Spread } from '../lib/measure.ts';
import { openStore, type StoreName } from '../lib/stores.ts';

export type DpopProofAlg = Extract<DpopAlgorithm, 'ES256' | 'EdDSA'>;

export interface DpopConfig {
  budget: Budget;
  algs: readonly DpopProofAlg[];
  stores: readonly StoreName[];
}

export interface DpopFigures {
  store: StoreName;
  alg: DpopProofAlg;
  /** Protected requests per second, token as Bearer (the baseline). */
  bearer: Spread;
  /** Protected requests per second, token as DPoP with a fresh proof. */
  dpop: Spread;
  /** Per round: DPoP throughput over Bearer's, measured in pairs. */
  vsBearer: Spread;
  /** What DPoP adds to one request, µs (from the medians). */
  addedUs: number;
  /** node:crypto's verify of one proof signature alone, µs: the floor of the added cost. */
  signatureUs: number;
  proofsSigned: number;
}

export interface DpopResult {
  groups: DpopFigures[];
  skipped: { store: string; reason: string }[];
}

export const PUBLIC_URL = 'https://api.example.com';
const PATH = '/orders';

interface ProofKey {
  alg: DpopProofAlg;
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: Record<string, unknown>;
}

function proofKey(alg: DpopProofAlg): ProofKey {
  const pair =
    alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  // Through PEM: exporting a JWK straight from a generateKeyPairSync pair once hung on Node 20.
  const publicKey = createPublicKey(pair.publicKey.export({ format: 'pem', type: 'spki' }));
  return { alg, privateKey: pair.privateKey, publicKey, jwk: publicKey.export({ format: 'jwk' }) };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function signProof(key: ProofKey, ath: string): string {
  const header = b64({ typ: 'dpop+jwt', alg: key.alg, jwk: key.jwk });
  const payload = b64({
    jti: randomUUID(),
    htm: 'GET',
    htu: PUBLIC_URL + PATH,
    iat: Math.floor(Date.now() / 1000),
    ath,
  });
  const input = `${header}.${payload}`;
  const signature =
    key.alg === 'ES256'
      ? sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : sign(null, Buffer.from(input), key.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

/** A request as an adapter hands it to the guard; the header strings are slices, as a parser's are. */
function request(headers: Record<string, string>): HttpRequest {
  return { method: 'GET', path: PATH, headers, query: new URLSearchParams() };
}

/**
 * Enough proofs for one comparison: its rate, measured on a first batch,
 * times the budget's time per case (warm-up, rounds with their untimed
 * quarter-slices, a batch's overshoot each), doubled.
 */
async function proofsNeeded(budget: Budget, run: () => Promise<unknown>): Promise<number> {
  const sample = 300;
  const start = process.hrtime.bigint();
  for (let i = 0; i < sample; i++) await run();
  const rate = sample / (Number(process.hrtime.bigint() - start) / 1e9);
  const seconds =
    (Math.max(budget.warmupMs, (500 / rate) * 1000) + budget.rounds * (budget.roundMs * 1.25 + 10)) / 1000;
  return Math.ceil(rate * seconds * 2) + 1000;
}

async function measureGroup(
  manager: SessionManager<BatonUser>,
  store: StoreName,
  alg: DpopProofAlg,
  budget: Budget,
): Promise<DpopFigures> {
  const guard = createBatonHttp(manager, { publicUrl: PUBLIC_URL }).guard();
  const key = proofKey(alg);
  const bearerToken = (await manager.issueSession(benchUser)).accessToken;
  const boundToken = (
    await manager.issueSession(benchUser, { dpop: { jkt: jwkThumbprint(key.jwk as never) } })
  ).accessToken;
  const ath = createHash('sha256').update(boundToken).digest('base64url');
  const bearerRequest = request({ authorization: `Bearer ${bearerToken}` });
  const dpopHeader = `DPoP ${boundToken}`;

  let proofs: string[] = [];
  let next = 0;
  const dpopRequest = async () => {
    const proof = proofs[next++];
    if (proof === undefined) throw new Error(`DPoP ${alg} on ${store}: ran out of ${proofs.length} proofs`);
    const outcome = await guard(request({ authorization: dpopHeader, dpop: proof }));
    if (!outcome.ok) throw new Error(`DPoP ${alg} on ${store} refused: ${String(outcome.response.body)}`);
    return outcome;
  };
  proofs = Array.from({ length: 300 }, () => signProof(key, ath));
  const count = await proofsNeeded(budget, dpopRequest);
  proofs = Array.from({ length: count }, () => signProof(key, ath));
  next = 0;

  const sample = proofs[0]!;
  const dot = sample.lastIndexOf('.');
  const input = Buffer.from(sample.slice(0, dot));
  const signature = Buffer.from(sample.slice(dot + 1), 'base64url');
  const verifyKey =
    alg === 'ES256' ? { key: key.publicKey, dsaEncoding: 'ieee-p1363' as const } : key.publicKey;
  const hash = alg === 'ES256' ? 'sha256' : null;

  const [bearer, dpop, signatureOnly] = await compare(
    [
      {
        kind: 'async',
        name: 'Bearer',
        run: async () => {
          const outcome = await guard(bearerRequest);
          if (!outcome.ok) throw new Error('Bearer refused');
          return outcome;
        },
      },
      { kind: 'async', name: `DPoP ${alg}`, run: dpopRequest },
      {
        kind: 'sync',
        name: `${alg} signature (node:crypto)`,
        run: () => verify(hash, input, verifyKey, signature),
      },
    ],
    budget,
    0,
  );
  return {
    store,
    alg,
    bearer: bearer!.opsPerSec,
    dpop: dpop!.opsPerSec,
    vsBearer: dpop!.vsBaseline!,
    addedUs: 1e6 / dpop!.opsPerSec.median - 1e6 / bearer!.opsPerSec.median,
    signatureUs: 1e6 / signatureOnly!.opsPerSec.median,
    proofsSigned: count,
  };
}

export async function runDpop(config: DpopConfig, log: (line: string) => void): Promise<DpopResult> {
  const result: DpopResult = { groups: [], skipped: [] };
  // The access tokens' own algorithm: EdDSA, as the demo signs.
  const fixture = await algFixture('EdDSA');
  for (const name of config.stores) {
    const opened = await openStore(name);
    if ('skipped' in opened) {
      result.skipped.push({ store: name, reason: opened.skipped });
      log(`  dpop ${name}: skipped (${opened.skipped})`);
      continue;
    }
    const manager = managerFor(
      fixture,
      { dpop: { mode: 'allowed', algorithms: [...config.algs] } },
      opened.store,
    );
    try {
      await manager.ready;
      for (const alg of config.algs) {
        const figures = await measureGroup(manager, name, alg, config.budget);
        result.groups.push(figures);
        log(
          `  dpop ${name} ${alg}: Bearer ${Math.round(figures.bearer.median)}/s, DPoP ${Math.round(figures.dpop.median)}/s (+${figures.addedUs.toFixed(1)} µs, signature ${figures.signatureUs.toFixed(1)} µs)`,
        );
      }
    } finally {
      await manager.close();
      await opened.cleanup();
    }
  }
  return result;
}
