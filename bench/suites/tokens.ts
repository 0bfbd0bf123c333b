/**
 * Verify and sign, ops/s on one thread, for HS256, ES256, EdDSA and RS256:
 * Baton (SessionManager.verifyAccessToken with everything it checks, and the
 * AccessTokenCodec alone), jose, fast-jwt (cache off and on), jsonwebtoken
 * and the node:crypto floor, all in interleaved rounds of one run.
 *
 * Every verifier gets the same tokens (signed by Baton, about 550 characters
 * with HS256), and is configured with the checks it offers that Baton makes
 * too (algorithm pinned, iss, aud, typ where it has one). Cold cases cycle
 * through a pool of distinct tokens; cache-hit cases cycle through 1024
 * separate copies of one token (as header values off the wire would be), so
 * no case gains from getting the very string object it cached.
 */
import { webcrypto } from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';
import { importPKCS8, importSPKI, jwtVerify, SignJWT } from 'jose';
import jwt from 'jsonwebtoken';
import type { AccessTokenCodec } from '../../src/tokens/access-token.ts';
import type { FloorAlg } from '../floor.ts';
import { floorSigner, floorVerifier } from '../floor.ts';
import {
  type AlgFixture,
  AUDIENCE,
  accessInput,
  algFixture,
  codecFor,
  freshCopy,
  fullClaims,
  ISSUER,
  managerFor,
  tokenPool,
} from '../lib/fixtures.ts';
import { type Budget, type Case, type CaseResult, compare, type Spread } from '../lib/measure.ts';

export interface TokensConfig {
  budget: Budget;
  /** Distinct tokens the cold cases cycle through. */
  poolSize: number;
  /** Cache size for the miss cases: half the pool, so every call misses and evicts. */
  missCacheMax: number;
  algs: readonly FloorAlg[];
}

export interface CaseFigure {
  name: string;
  library: string;
  /** Wall clock. */
  opsPerSec: Spread;
  /** Per CPU second of the process, over all of the case's timed slices. */
  cpuOpsPerSec: number | null;
  /** Per-round ratios against the floor (wall clock), each from a pair measured back to back. */
  vsFloor: Spread;
}

export interface AlgFigures {
  alg: FloorAlg;
  tokenLength: number;
  verify: CaseFigure[];
  sign: CaseFigure[];
}

export interface TokensResult {
  algs: AlgFigures[];
}

const TYP = 'at+jwt';

/** Checks that a verifier really accepts the token before it is timed: a throwing case must never look fast. */
async function assertVerifies(name: string, result: unknown): Promise<void> {
  const value = (await result) as { sub?: unknown; payload?: { sub?: unknown } } | undefined;
  const sub = value?.sub ?? value?.payload?.sub;
  if (sub !== 'user-0001234567')
    throw new Error(`${name} did not verify the benchmark token: ${String(sub)}`);
}

async function assertSigns(name: string, token: unknown, verify: (token: string) => unknown): Promise<void> {
  if (typeof token !== 'string') throw new Error(`${name} did not sign`);
  await assertVerifies(`${name} (its token, verified by the floor)`, verify(token));
}

function joseAlg(alg: FloorAlg): string {
  return alg;
}

async function joseKeys(fixture: AlgFixture): Promise<{ verifyKey: CryptoKey; signKey: CryptoKey }> {
  if (fixture.alg === 'HS256') {
    const key = await webcrypto.subtle.importKey(
      'raw',
      fixture.secret!,
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    return { verifyKey: key as CryptoKey, signKey: key as CryptoKey };
  }
  return {
    verifyKey: (await importSPKI(fixture.publicPem!, joseAlg(fixture.alg))) as CryptoKey,
    signKey: (await importPKCS8(fixture.privatePem!, joseAlg(fixture.alg))) as CryptoKey,
  };
}

async function algCases(fixture: AlgFixture, config: TokensConfig) {
  const { alg } = fixture;
  const codec: AccessTokenCodec = codecFor(fixture);
  const pool = tokenPool(codec, config.poolSize);
  const hot = pool[0]!;
  const copies = Array.from({ length: 1024 }, () => freshCopy(hot));
  const cycle = (list: readonly string[] = pool) => {
    let index = 0;
    const mask = list.length - 1;
    return () => list[index++ & mask]!;
  };

  const cold = managerFor(fixture, { verifyCache: false });
  const cached = managerFor(fixture);
  const missing = managerFor(fixture, { verifyCache: { max: config.missCacheMax } });
  await Promise.all([cold.ready, cached.ready, missing.ready]);

  const floor = floorVerifier(fixture.floorKey);
  const { verifyKey, signKey } = await joseKeys(fixture);
  const joseOptions = { algorithms: [alg], issuer: ISSUER, audience: AUDIENCE, typ: TYP };
  const fastOptions = {
    key: fixture.secret ?? fixture.publicPem!,
    algorithms: [alg],
    allowedIss: ISSUER,
    allowedAud: AUDIENCE,
    checkTyp: TYP,
  };
  const fastCold = createVerifier({ ...fastOptions, cache: false });
  const fastHit = createVerifier({ ...fastOptions, cache: true });
  const fastMiss = createVerifier({ ...fastOptions, cache: config.missCacheMax });
  const jwtKey = fixture.key.secretKey ?? fixture.key.publicKey!;
  const jwtAlg = alg as jwt.Algorithm;
  const jwtSupported = alg !== 'EdDSA'; // jsonwebtoken 9 has no EdDSA.

  const verify: { library: string; c: Case }[] = [];
  const add = (library: string, c: Case) => verify.push({ library, c });
  const next = {
    floor: cycle(),
    manager: cycle(),
    codec: cycle(),
    miss: cycle(),
    jose: cycle(),
    fast: cycle(),
    fastMiss: cycle(),
    jwt: cycle(),
    jwtBuffer: cycle(),
    batonHit: cycle(copies),
    fastHit: cycle(copies),
  };
  add('node:crypto', { kind: 'sync', name: 'floor', run: () => floor(next.floor()) });
  add('baton', {
    kind: 'sync',
    name: 'baton verifyAccessToken (cache off)',
    run: () => cold.verifyAccessToken(next.manager()),
  });
  add('baton', {
    kind: 'sync',
    name: 'baton AccessTokenCodec.verify',
    run: () => codec.verify(next.codec()),
  });
  add('baton', {
    kind: 'sync',
    name: 'baton verifyAccessToken (cache miss)',
    run: () => missing.verifyAccessToken(next.miss()),
  });
  add('baton', {
    kind: 'sync',
    name: 'baton verifyAccessToken (cache hit)',
    run: () => cached.verifyAccessToken(next.batonHit()),
  });
  add('jose', {
    kind: 'async',
    name: 'jose jwtVerify',
    run: () => jwtVerify(next.jose(), verifyKey, joseOptions),
  });
  add('fast-jwt', { kind: 'sync', name: 'fast-jwt (cache off)', run: () => fastCold(next.fast()) });
  add('fast-jwt', { kind: 'sync', name: 'fast-jwt (cache miss)', run: () => fastMiss(next.fastMiss()) });
  add('fast-jwt', {
    kind: 'sync',
    name: 'fast-jwt (cache hit)',
    run: () => fastHit(next.fastHit()),
  });
  if (jwtSupported) {
    const options = { algorithms: [jwtAlg], issuer: ISSUER, audience: AUDIENCE };
    add('jsonwebtoken', {
      kind: 'sync',
      name: 'jsonwebtoken (KeyObject)',
      run: () => jwt.verify(next.jwt(), jwtKey, options),
    });
    if (alg === 'HS256') {
      add('jsonwebtoken', {
        kind: 'sync',
        name: 'jsonwebtoken (Buffer secret)',
        run: () => jwt.verify(next.jwtBuffer(), fixture.secret!, options),
      });
    }
  }
  for (const { c } of verify) await assertVerifies(c.name, c.run());

  // Sign: Baton gets what SessionManager passes (every claim given), the others the same claims in full.
  const input = accessInput();
  const claims = fullClaims(input);
  const header = { alg, typ: TYP, kid: fixture.key.kid };
  const floorSign = floorSigner(fixture.floorKey, header);
  const fastSign = createSigner({
    key: fixture.secret ?? fixture.privatePem!,
    algorithm: alg,
    kid: fixture.key.kid,
    header: { alg, typ: TYP },
    noTimestamp: true,
  });
  const jwtSignKey = fixture.key.secretKey ?? fixture.key.privateKey!;
  const sign: { library: string; c: Case }[] = [
    { library: 'node:crypto', c: { kind: 'sync', name: 'floor', run: () => floorSign(claims) } },
    {
      library: 'baton',
      c: { kind: 'sync', name: 'baton AccessTokenCodec.sign', run: () => codec.sign(input) },
    },
    {
      library: 'jose',
      c: {
        kind: 'async',
        name: 'jose SignJWT',
        run: () => new SignJWT(claims).setProtectedHeader(header).sign(signKey),
      },
    },
    { library: 'fast-jwt', c: { kind: 'sync', name: 'fast-jwt createSigner', run: () => fastSign(claims) } },
  ];
  if (jwtSupported) {
    sign.push({
      library: 'jsonwebtoken',
      c: {
        kind: 'sync',
        name: 'jsonwebtoken (KeyObject)',
        run: () =>
          jwt.sign(claims, jwtSignKey, {
            algorithm: jwtAlg,
            keyid: fixture.key.kid,
            header: { alg, typ: TYP },
          }),
      },
    });
  }
  for (const { c } of sign) await assertSigns(c.name, await c.run(), floor);

  const closeAll = () => Promise.all([cold.close(), cached.close(), missing.close()]);
  return { verify, sign, tokenLength: hot.length, closeAll };
}

function figures(
  entries: readonly { library: string; c: Case }[],
  results: readonly CaseResult[],
): CaseFigure[] {
  return results.map((result, index) => ({
    name: result.name,
    library: entries[index]!.library,
    opsPerSec: result.opsPerSec,
    cpuOpsPerSec: result.cpuOpsPerSec,
    vsFloor: result.vsBaseline!,
  }));
}

export async function runTokens(config: TokensConfig, log: (line: string) => void): Promise<TokensResult> {
  const algs: AlgFigures[] = [];
  for (const alg of config.algs) {
    const fixture = await algFixture(alg);
    const { verify, sign, tokenLength, closeAll } = await algCases(fixture, config);
    // Every case is measured in pairs with the floor (index 0).
    const verifyResults = await compare(
      verify.map((entry) => entry.c),
      config.budget,
      0,
    );
    const signResults = await compare(
      sign.map((entry) => entry.c),
      config.budget,
      0,
    );
    await closeAll();
    const figure: AlgFigures = {
      alg,
      tokenLength,
      verify: figures(verify, verifyResults),
      sign: figures(sign, signResults),
    };
    algs.push(figure);
    const floorVerify = figure.verify[0]!.opsPerSec.median;
    log(
      `  ${alg}: floor verify ${Math.round(floorVerify)}/s, Baton cold ${figure.verify[1]!.vsFloor.median.toFixed(2)}x floor`,
    );
  }
  return { algs };
}
