/**
 * A DPoP-bound token acting for its session (issue 18): `/auth/logout`,
 * `/auth/logout-all` and `/auth/revoke` take a bound access or refresh token
 * only with a proof by its key, checked as where that token is used (an
 * access token in `Authorization: DPoP` with `ath`, as on a protected route;
 * a token in the body as at `/auth/refresh`, with the server nonce). Without
 * one, with another key's, or with a replayed one, the request is refused
 * (`invalid_dpop_proof`) and the session lives on: a later refresh with the
 * right proof still works. Every strategy that binds, on memory and SQLite, and
 * the store's part of it on Redis and PostgreSQL (ON_SERVICES), through the
 * real handler and the real stores.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { type AuthManager, createAuthHandler } from '../../src/http/index.ts';
import type { AuthManagerOptions, StrategyName } from '../../src/index.ts';
import type { TestUser } from '../sessions/support.ts';
import { ProofKey } from '../support/dpop.ts';
import {
  type BaseOptions,
  type RequestInit,
  storeKinds,
  storeKindsWithServices,
  strategyHarness,
  testRequest,
} from './support.ts';

const PUBLIC_URL = 'https://api.baton.test';
const NONCE_SECRET = 'n'.repeat(32);
const refreshKey = randomBytes(32);
const CLIENT = { id: 'demo-client', secret: 'demo-secret' };
const BASIC = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`;

type Design = (base: BaseOptions) => AuthManagerOptions<TestUser>;
const dpop = { mode: 'allowed', nonce: { secret: NONCE_SECRET } } as const;
/** The strategy, how it is built, and whether it offers logout-all (capability `logoutAll`). */
const designs: [StrategyName, Design, boolean][] = [
  ['rotating', (base) => ({ ...base, strategy: 'rotating', refreshKey, dpop }), true],
  ['jwt', (base) => ({ ...base, strategy: 'jwt', dpop }), false],
  ['single-token', (base) => ({ ...base, strategy: 'single-token', allowEarlyRefresh: true, dpop }), false],
  ['per-client', (base) => ({ ...base, strategy: 'per-client', refreshKey, dpop }), true],
];

interface Reply {
  status: number;
  headers: Record<string, string | string[]>;
  json: Record<string, unknown>;
}

type Init = RequestInit;

/**
 * On Redis and PostgreSQL, the part that is the store's: the strategies whose
 * sessions keep the binding (rotating, per-client) at /auth/logout and
 * /auth/revoke, replays refused through the shared replay cache. The other
 * routes and strategies check proofs the same way, on memory and SQLite.
 */
const ON_SERVICES: readonly StrategyName[] = ['rotating', 'per-client'];

for (const kind of await storeKindsWithServices()) {
  const everything = storeKinds.includes(kind);
  for (const [strategy, design, logoutAll] of designs) {
    if (!everything && !ON_SERVICES.includes(strategy)) continue;
    describe(`DPoP-bound tokens at logout and revocation: ${strategy}, ${kind.name} store`, {
      skip: kind.skip,
    }, () => {
      const closing: (() => Promise<void>)[] = [];
      after(async () => {
        for (const close of closing) await close();
      });

      async function setup() {
        const h = await strategyHarness(kind, design);
        closing.push(() => h.close());
        const manager = h.manager as unknown as AuthManager;
        const unexpected: unknown[] = [];
        const handler = createAuthHandler(manager, {
          publicUrl: PUBLIC_URL,
          clients: [CLIENT],
          onUnexpectedError: (error) => void unexpected.push(error),
        });
        let nonce: string | undefined;
        const now = () => Math.floor(h.clock.now() / 1000);
        const send = async (method: string, path: string, init: Init = {}): Promise<Reply> => {
          const res = await handler(testRequest(method, path, init));
          assert.ok(res, `no route for ${method} ${path}`);
          assert.ok(res.status < 500, `${method} ${path}: ${res.status} ${res.body} ${unexpected.join()}`);
          const next = res.headers['dpop-nonce'];
          if (typeof next === 'string') nonce = next;
          return { status: res.status, headers: res.headers, json: res.body ? JSON.parse(res.body) : {} };
        };
        /** A proof for a token request (no `ath`), with the server's current nonce. */
        const tokenProof = (key: ProofKey, path: string) =>
          key.proof('POST', PUBLIC_URL + path, { iat: now(), ...(nonce === undefined ? {} : { nonce }) });
        /** A proof for a request with an access token (`ath`), no nonce: as on a protected route. */
        const accessProof = (key: ProofKey, method: string, path: string, accessToken: string) =>
          key.proof(method, PUBLIC_URL + path, { iat: now(), accessToken });
        /** A token request with a proof, retried once on use_dpop_nonce. */
        const withNonce = async (key: ProofKey, path: string, init: Init = {}): Promise<Reply> => {
          const first = await send('POST', path, {
            ...init,
            headers: { ...init.headers, dpop: await tokenProof(key, path) },
          });
          if (first.json.error !== 'use_dpop_nonce') return first;
          return send('POST', path, {
            ...init,
            headers: { ...init.headers, dpop: await tokenProof(key, path) },
          });
        };
        const login = async (key: ProofKey) => {
          const reply = await withNonce(key, '/auth/login', {
            json: { username: 'thedude', password: 'abides' },
          });
          assert.equal(reply.status, 200, JSON.stringify(reply.json));
          assert.equal(reply.json.token_type, 'DPoP');
          return { access: reply.json.access_token as string, refresh: reply.json.refresh_token as string };
        };
        /** A refresh with the key's proof: the session's liveness (200), or its end (401). */
        const refresh = (key: ProofKey, token: string) =>
          withNonce(key, '/auth/refresh', { json: { refresh_token: token } });
        /** The proof's jti seen once already, as the replay cache (the store) remembers it. */
        const consume = async (proof: string, path: string, accessToken?: string) => {
          assert.ok(manager.dpop);
          await manager.dpop.verify({
            method: 'POST',
            url: PUBLIC_URL + path,
            proof,
            ...(accessToken === undefined ? {} : { accessToken, requireNonce: false }),
          });
        };
        return {
          manager,
          send,
          withNonce,
          tokenProof,
          accessProof,
          login,
          refresh,
          consume,
          key: await ProofKey.create('ES256'),
          other: await ProofKey.create('EdDSA'),
        };
      }

      const refused = (reply: Reply, status = 401) => {
        assert.equal(reply.status, status, JSON.stringify(reply.json));
        assert.equal(reply.json.error, 'invalid_dpop_proof', JSON.stringify(reply.json));
        if (status === 401) {
          assert.match(
            String(reply.headers['www-authenticate']),
            /^DPoP realm="baton", error="invalid_dpop_proof"/,
          );
        }
      };

      const routes = logoutAll && everything ? ['/auth/logout', '/auth/logout-all'] : ['/auth/logout'];
      for (const path of routes) {
        const succeeded = (reply: Reply) => {
          if (path === '/auth/logout') assert.equal(reply.status, 204, JSON.stringify(reply.json));
          else {
            assert.equal(reply.status, 200, JSON.stringify(reply.json));
            assert.ok((reply.json.revoked as number) >= 1);
          }
        };

        it(`${path} with a bound access token: Bearer, no proof, another key's, a replayed one are refused; the session lives on`, async () => {
          const s = await setup();
          // An unbound token still needs no proof.
          const bearer = await s.send('POST', '/auth/login', {
            json: { username: 'thedude', password: 'abides' },
          });
          assert.equal(bearer.json.token_type, 'Bearer');
          const unbound = { authorization: `Bearer ${bearer.json.access_token}` };
          succeeded(await s.send('POST', path, { headers: unbound }));
          const { access, refresh } = await s.login(s.key);
          const dpopAuth = { authorization: `DPoP ${access}` };
          refused(
            await s.send('POST', path, {
              headers: {
                authorization: `Bearer ${access}`,
                dpop: await s.accessProof(s.key, 'POST', path, access),
              },
            }),
          );
          refused(await s.send('POST', path, { headers: dpopAuth }));
          refused(
            await s.send('POST', path, {
              headers: { ...dpopAuth, dpop: await s.accessProof(s.other, 'POST', path, access) },
            }),
          );
          // A proof for another token (ath) or for the other logout route (htu) is no proof for this one.
          const other = path === '/auth/logout' ? '/auth/logout-all' : '/auth/logout';
          refused(
            await s.send('POST', path, {
              headers: { ...dpopAuth, dpop: await s.accessProof(s.key, 'POST', other, access) },
            }),
          );
          const replayed = await s.accessProof(s.key, 'POST', path, access);
          await s.consume(replayed, path, access);
          const replay = await s.send('POST', path, { headers: { ...dpopAuth, dpop: replayed } });
          refused(replay);
          assert.match(String(replay.json.message), /used before/);
          // Nothing was revoked: the access token works, and the holder of the key refreshes.
          const me = await s.send('GET', '/auth/me', {
            headers: { ...dpopAuth, dpop: await s.accessProof(s.key, 'GET', '/auth/me', access) },
          });
          assert.equal(me.status, 200, JSON.stringify(me.json));
          const renewed = await s.refresh(s.key, refresh);
          assert.equal(renewed.status, 200, JSON.stringify(renewed.json));
          const latest = (renewed.json.refresh_token as string) || refresh;
          // With the right proof: logged out, and the session is gone.
          succeeded(
            await s.send('POST', path, {
              headers: { ...dpopAuth, dpop: await s.accessProof(s.key, 'POST', path, access) },
            }),
          );
          assert.equal((await s.refresh(s.key, latest)).status, 401);
        });

        it(`${path} with a refresh token in the body: bound ones need a proof as at /auth/refresh`, async () => {
          const s = await setup();
          const { access, refresh } = await s.login(s.key);
          const json = { refresh_token: refresh };
          // A bound access token in the body is proved as a refresh token would be: none here.
          refused(await s.send('POST', path, { json: { refresh_token: access } }));
          if (strategy === 'per-client') {
            // The long-running token is the client's credential, never bound: it logs out as before.
            succeeded(await s.send('POST', path, { json }));
            assert.equal((await s.refresh(s.key, refresh)).status, 401);
            return;
          }
          refused(await s.send('POST', path, { json }));
          refused(await s.withNonce(s.other, path, { json }));
          const replayed = await s.tokenProof(s.key, path);
          await s.consume(replayed, path);
          const replay = await s.send('POST', path, { json, headers: { dpop: replayed } });
          refused(replay);
          assert.match(String(replay.json.message), /used before/);
          const renewed = await s.refresh(s.key, refresh);
          assert.equal(renewed.status, 200, JSON.stringify(renewed.json));
          const latest = (renewed.json.refresh_token as string) || refresh;
          const done = await s.withNonce(s.key, path, { json: { refresh_token: latest } });
          succeeded(done);
          assert.equal((await s.refresh(s.key, latest)).status, 401);
        });
      }

      it('/auth/revoke: a bound token needs a proof by its key (400 invalid_dpop_proof), or its own confidential client', async () => {
        const s = await setup();
        const { access, refresh } = await s.login(s.key);
        const path = '/auth/revoke';
        const tokens = strategy === 'per-client' ? [access] : [access, refresh];
        for (const token of tokens) {
          const form = { token };
          refused(await s.send('POST', path, { form }), 400);
          refused(await s.withNonce(s.other, path, { form }), 400);
          // Another confidential client's authentication is no proof either.
          refused(
            await s.send('POST', path, {
              form: { ...form, client_id: 'demo-client', client_secret: 'demo-secret' },
            }),
            400,
          );
          const replayed = await s.tokenProof(s.key, path);
          await s.consume(replayed, path);
          refused(await s.send('POST', path, { form, headers: { dpop: replayed } }), 400);
        }
        const me = await s.send('GET', '/auth/me', {
          headers: {
            authorization: `DPoP ${access}`,
            dpop: await s.accessProof(s.key, 'GET', '/auth/me', access),
          },
        });
        assert.equal(me.status, 200, 'the access token was not revoked');
        const renewed = await s.refresh(s.key, refresh);
        assert.equal(renewed.status, 200, JSON.stringify(renewed.json));
        const latest = (renewed.json.refresh_token as string) || refresh;
        // With the right proof (as at the token endpoint: oauth4webapi's revocationRequest signs so).
        assert.equal((await s.withNonce(s.key, path, { form: { token: access } })).status, 200);
        const gone = await s.send('GET', '/auth/me', {
          headers: {
            authorization: `DPoP ${access}`,
            dpop: await s.accessProof(s.key, 'GET', '/auth/me', access),
          },
        });
        assert.equal(gone.status, 401);
        // Already revoked, it acts for nothing: revoking it again needs no proof and answers
        // as for an unknown token (RFC 7009 section 2.2).
        assert.equal((await s.send('POST', path, { form: { token: access } })).status, 200);
        if (strategy !== 'per-client') {
          assert.equal((await s.withNonce(s.key, path, { form: { token: latest } })).status, 200);
          assert.equal((await s.refresh(s.key, latest)).status, 401);
        }
        // The confidential client a bound token was issued to revokes it without a proof (RFC 9449 section 5).
        {
          const issued = await s.withNonce(s.key, '/auth/token', {
            form: { grant_type: 'password', username: 'thedude', password: 'abides' },
            headers: { authorization: BASIC },
          });
          assert.equal(issued.status, 200, JSON.stringify(issued.json));
          assert.equal(issued.json.token_type, 'DPoP');
          const access = issued.json.access_token as string;
          const reply = await s.send('POST', '/auth/revoke', {
            form: { token: access },
            headers: { authorization: BASIC },
          });
          assert.equal(reply.status, 200, JSON.stringify(reply.json));
          const gone = await s.send('GET', '/auth/me', {
            headers: {
              authorization: `DPoP ${access}`,
              dpop: await s.accessProof(s.key, 'GET', '/auth/me', access),
            },
          });
          assert.equal(gone.status, 401);
        }
      });
    });
  }
}
