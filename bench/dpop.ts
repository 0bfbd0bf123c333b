/**
 * A protected request through Baton's guard (createBatonHttp(...).guard()),
 * Bearer vs DPoP, per proof algorithm: what DPoP costs the server (the
 * proof's signature check, its claims, and the replay cache's atomic write to
 * a MemoryStore). The proofs are signed beforehand, one per request (each
 * jti is accepted once), so the client's signing is not counted.
 *
 * `npx tsx bench/dpop.ts --quick` (only quick for now): prints a Markdown table.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto';
import { createBatonHttp, type HttpRequest } from '../src/http/index.ts';
import {
  type DpopAlgorithm,
  generateSigningKey,
  jwkThumbprint,
  MemoryStore,
  SessionManager,
} from '../src/index.ts';
import { type Budget, compare, round } from './lib/measure.ts';

const PUBLIC_URL = 'https://api.example.com';
const PATH = '/orders';

interface ProofKey {
  alg: DpopAlgorithm;
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
}

function proofKey(alg: DpopAlgorithm): ProofKey {
  const pair =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : alg === 'EdDSA'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { alg, privateKey: pair.privateKey, jwk: pair.publicKey.export({ format: 'jwk' }) };
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function signProof(key: ProofKey, token: string): string {
  const header = b64({ typ: 'dpop+jwt', alg: key.alg, jwk: key.jwk });
  const payload = b64({
    jti: randomUUID(),
    htm: 'GET',
    htu: PUBLIC_URL + PATH,
    iat: Math.floor(Date.now() / 1000),
    ath: createHash('sha256').update(token).digest('base64url'),
  });
  const input = `${header}.${payload}`;
  const options =
    key.alg === 'ES256'
      ? { key: key.privateKey, dsaEncoding: 'ieee-p1363' as const }
      : key.alg === 'PS256'
        ? { key: key.privateKey, padding: 6, saltLength: 32 }
        : key.privateKey;
  const signature = sign(key.alg === 'EdDSA' ? null : 'sha256', Buffer.from(input), options);
  return `${input}.${signature.toString('base64url')}`;
}

function request(headers: Record<string, string>): HttpRequest {
  return { method: 'GET', path: PATH, headers, query: new URLSearchParams() };
}

async function main(): Promise<void> {
  if (!process.argv.includes('--quick')) throw new Error('only --quick for now: bench/dpop.ts --quick');
  const budget: Budget = { warmupMs: 50, roundMs: 150, rounds: 5 };
  const algs: DpopAlgorithm[] = ['ES256', 'EdDSA', 'PS256', 'RS256'];
  const manager = new SessionManager({
    issuer: 'https://auth.example.com',
    audience: 'api',
    keys: [await generateSigningKey('EdDSA')],
    refreshKey: 'bench-refresh-key-'.padEnd(48, 'x'),
    store: new MemoryStore(),
    loadUser: (id) => ({ id }),
    dpop: { mode: 'allowed', algorithms: algs },
  });
  await manager.ready;
  const guard = createBatonHttp(manager, { publicUrl: PUBLIC_URL }).guard();
  const bearer = (await manager.issueSession({ id: 'user-1' })).accessToken;
  const bearerRequest = request({ authorization: `Bearer ${bearer}` });
  const rows: string[] = [];
  for (const alg of algs) {
    const key = proofKey(alg);
    const jkt = jwkThumbprint(key.jwk as never);
    const token = (await manager.issueSession({ id: 'user-1' }, { dpop: { jkt } })).accessToken;
    // One proof per request; RSA signs slowly, and its verify path is slower too, so fewer.
    const count = alg === 'ES256' || alg === 'EdDSA' ? 40_000 : 15_000;
    const proofs = Array.from({ length: count }, () => signProof(key, token));
    let next = 0;
    const results = await compare(
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
        {
          kind: 'async',
          name: `DPoP ${alg}`,
          run: async () => {
            const proof = proofs[next++];
            if (proof === undefined) throw new Error(`ran out of ${count} proofs: raise the pool`);
            const outcome = await guard(request({ authorization: `DPoP ${token}`, dpop: proof }));
            if (!outcome.ok) throw new Error(`DPoP refused: ${outcome.response.body}`);
            return outcome;
          },
        },
      ],
      budget,
      0,
    );
    const [base, dpop] = results;
    rows.push(
      `| ${alg} | ${Math.round(base!.opsPerSec.median)} | ${Math.round(dpop!.opsPerSec.median)} | ${round(dpop!.vsBaseline!.median, 3)}x | ${round(1e6 / dpop!.opsPerSec.median - 1e6 / base!.opsPerSec.median, 1)} µs |`,
    );
    process.stderr.write(`${alg}: done (${next} proofs used)\n`);
  }
  await manager.close();
  console.log(
    [
      '| proof alg | Bearer req/s | DPoP req/s | DPoP / Bearer | added per request |',
      '| --- | --- | --- | --- | --- |',
      ...rows,
    ].join('\n'),
  );
}

await main();
