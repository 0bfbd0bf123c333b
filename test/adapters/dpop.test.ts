/**
 * DPoP over HTTP on each adapter (RFC 9449): login, refresh and the token
 * endpoint with proofs and the server-nonce retry, protected routes with
 * `Authorization: DPoP`, the refusals (a bound token as Bearer, no proof,
 * another key, a replayed proof) and their `DPoP` challenges, over real HTTP
 * with an app built directly on each adapter.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuthEvent } from '../../src/index.ts';
import { ProofKey } from '../support/dpop.ts';
import { basic, call, decodeClaims, type Reply } from './client.ts';
import { DPOP_PUBLIC_URL, type Running, TARGETS } from './targets.ts';

const NONCE_SECRET = 'n'.repeat(32);

for (const name of ['app/express', 'app/fastify', 'app/hono']) {
  describe(`DPoP on ${name}`, { timeout: 60_000 }, () => {
    const h = {} as Running;
    const events: AuthEvent[] = [];
    let key: ProofKey;
    let other: ProofKey;
    before(async () => {
      Object.assign(
        h,
        await TARGETS[name]!.start({
          cookies: false,
          dpop: { mode: 'allowed', nonce: { secret: NONCE_SECRET } },
        }),
      );
      h.manager.events.on((event) => void events.push(event));
      key = await ProofKey.create('ES256');
      other = await ProofKey.create('EdDSA');
    });
    after(async () => {
      await h.close();
      assert.deepEqual(h.unexpected, [], 'no request ended in a 500');
    });

    const now = () => Math.floor(h.clock.now() / 1000);
    const proof = (
      k: ProofKey,
      method: string,
      path: string,
      extra: { accessToken?: string; nonce?: string } = {},
    ) => k.proof(method, DPOP_PUBLIC_URL + path, { iat: now(), ...extra });

    /** A token request with a proof, retried once with the nonce a use_dpop_nonce answer names. */
    async function withNonce(
      k: ProofKey,
      path: string,
      init: { json?: unknown; form?: Record<string, string>; headers?: Record<string, string> },
    ): Promise<Reply> {
      const first = await call(h.url, path, {
        ...init,
        headers: { ...init.headers, dpop: await proof(k, 'POST', path) },
      });
      const nonce = first.headers.get('dpop-nonce');
      if (first.json.error !== 'use_dpop_nonce' || nonce === null) return first;
      return call(h.url, path, {
        ...init,
        headers: { ...init.headers, dpop: await proof(k, 'POST', path, { nonce }) },
      });
    }

    async function dpopLogin(k: ProofKey = key): Promise<Record<string, unknown>> {
      const reply = await withNonce(k, '/auth/login', { json: { username: 'thedude', password: 'abides' } });
      assert.equal(reply.status, 200, reply.text);
      return reply.json;
    }

    const protectedCall = async (token: string, headers: Record<string, string>) =>
      call(h.url, '/api/protected', { headers: { ...headers } }).then((reply) => ({ reply, token }));

    it('a proof without the nonce is asked to retry (use_dpop_nonce, DPoP-Nonce); the retry logs in, token type DPoP', async () => {
      const path = '/auth/login';
      const first = await call(h.url, path, {
        json: { username: 'thedude', password: 'abides' },
        headers: { dpop: await proof(key, 'POST', path) },
      });
      assert.equal(first.status, 401, first.text);
      assert.equal(first.json.error, 'use_dpop_nonce');
      assert.ok(first.headers.get('dpop-nonce'));
      assert.match(
        first.headers.get('www-authenticate') ?? '',
        /^DPoP .*error="use_dpop_nonce".*algs="ES256 EdDSA Ed25519"/,
      );
      const body = await dpopLogin();
      assert.equal(body.token_type, 'DPoP');
      assert.deepEqual(decodeClaims(body.access_token as string).cnf, { jkt: key.jkt });
    });

    it('a login without a proof gets Bearer tokens (mode allowed)', async () => {
      const reply = await call(h.url, '/auth/login', { json: { username: 'thedude', password: 'abides' } });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.json.token_type, 'Bearer');
      const ok = await call(h.url, '/api/protected', { token: reply.json.access_token as string });
      assert.equal(ok.status, 200, ok.text);
    });

    it('a protected route takes Authorization: DPoP with a proof bound to the token (ath), without a nonce', async () => {
      const token = (await dpopLogin()).access_token as string;
      const dpop = await proof(key, 'GET', '/api/protected', { accessToken: token });
      const { reply } = await protectedCall(token, { authorization: `DPoP ${token}`, dpop });
      assert.equal(reply.status, 200, reply.text);
      // The same proof again is a replay.
      const again = await call(h.url, '/api/protected', {
        headers: { authorization: `DPoP ${token}`, dpop },
      });
      assert.equal(again.status, 401, again.text);
      assert.equal(again.json.error, 'invalid_dpop_proof');
      assert.match(again.json.message as string, /used before/);
    });

    it('refuses a bound token as Bearer, without a proof, with another key, or a proof for another URL', async () => {
      const token = (await dpopLogin()).access_token as string;
      events.length = 0;
      const bearer = await call(h.url, '/api/protected', {
        headers: {
          authorization: `Bearer ${token}`,
          dpop: await proof(key, 'GET', '/api/protected', { accessToken: token }),
        },
      });
      assert.equal(bearer.status, 401, bearer.text);
      assert.equal(bearer.json.error, 'invalid_dpop_proof');
      assert.match(
        bearer.headers.get('www-authenticate') ?? '',
        /^DPoP realm="baton", error="invalid_dpop_proof"/,
      );
      const none = await call(h.url, '/api/protected', { headers: { authorization: `DPoP ${token}` } });
      assert.equal(none.json.error, 'invalid_dpop_proof');
      const stolen = await call(h.url, '/api/protected', {
        headers: {
          authorization: `DPoP ${token}`,
          dpop: await proof(other, 'GET', '/api/protected', { accessToken: token }),
        },
      });
      assert.equal(stolen.status, 401);
      assert.equal(stolen.json.error, 'invalid_dpop_proof');
      const elsewhere = await call(h.url, '/api/protected', {
        headers: {
          authorization: `DPoP ${token}`,
          dpop: await proof(key, 'GET', '/api/whoami', { accessToken: token }),
        },
      });
      assert.equal(elsewhere.json.error, 'invalid_dpop_proof');
      await h.manager.events.flush();
      const rejected = events.filter((event) => event.type === 'dpop_rejected');
      assert.deepEqual(
        rejected.map((event) => event.reason),
        ['bearer_bound_token', 'missing_proof', 'key_mismatch', 'invalid_proof'],
      );
      assert.ok(!JSON.stringify(rejected).includes(token), 'no token in events');
    });

    it('an unbound token sent as DPoP is refused', async () => {
      const reply = await call(h.url, '/auth/login', { json: { username: 'thedude', password: 'abides' } });
      const token = reply.json.access_token as string;
      const refused = await call(h.url, '/api/protected', {
        headers: {
          authorization: `DPoP ${token}`,
          dpop: await proof(key, 'GET', '/api/protected', { accessToken: token }),
        },
      });
      assert.equal(refused.status, 401);
      assert.equal(refused.json.error, 'invalid_token');
    });

    it('/auth/refresh: a bound session needs a proof by its key; the refusal does not rotate', async () => {
      const body = await dpopLogin();
      const refresh = body.refresh_token as string;
      const bare = await call(h.url, '/auth/refresh', { json: { refresh_token: refresh } });
      assert.equal(bare.status, 401, bare.text);
      assert.equal(bare.json.error, 'invalid_dpop_proof');
      const wrong = await withNonce(other, '/auth/refresh', { json: { refresh_token: refresh } });
      assert.equal(wrong.json.error, 'invalid_dpop_proof');
      const ok = await withNonce(key, '/auth/refresh', { json: { refresh_token: refresh } });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.token_type, 'DPoP');
      assert.deepEqual(decodeClaims(ok.json.access_token as string).cnf, { jkt: key.jkt });
    });

    it('/auth/token: password and refresh_token grants with a proof; a refresh without one is invalid_grant', async () => {
      const login = await withNonce(key, '/auth/token', {
        form: { grant_type: 'password', username: 'thedude', password: 'abides' },
      });
      assert.equal(login.status, 200, login.text);
      assert.equal(login.json.token_type, 'DPoP');
      const refresh = login.json.refresh_token as string;
      const bare = await call(h.url, '/auth/token', {
        form: { grant_type: 'refresh_token', refresh_token: refresh },
      });
      assert.equal(bare.status, 400, bare.text);
      assert.equal(bare.json.error, 'invalid_grant');
      const badProof = await call(h.url, '/auth/token', {
        form: { grant_type: 'refresh_token', refresh_token: refresh },
        headers: { dpop: 'not-a-proof' },
      });
      assert.equal(badProof.status, 400);
      assert.equal(badProof.json.error, 'invalid_dpop_proof');
      const ok = await withNonce(key, '/auth/token', {
        form: { grant_type: 'refresh_token', refresh_token: refresh },
      });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.token_type, 'DPoP');
    });

    it('a confidential client: its refresh token is constrained by its secret, the access token by the proof', async () => {
      const auth = { authorization: basic('demo-client', 'demo-secret') };
      const login = await withNonce(key, '/auth/token', {
        form: { grant_type: 'password', username: 'thedude', password: 'abides' },
        headers: auth,
      });
      assert.equal(login.status, 200, login.text);
      const next = await withNonce(other, '/auth/token', {
        form: { grant_type: 'refresh_token', refresh_token: login.json.refresh_token as string },
        headers: auth,
      });
      assert.equal(next.status, 200, next.text);
      assert.deepEqual(decodeClaims(next.json.access_token as string).cnf, { jkt: other.jkt });
      // Introspection shows the binding.
      const introspected = await call(h.url, '/auth/introspect', {
        form: { token: next.json.access_token as string },
        headers: auth,
      });
      assert.equal(introspected.status, 200, introspected.text);
      assert.deepEqual(introspected.json.cnf, { jkt: other.jkt });
    });

    it('/auth/me and reauth check the proof too; reauth keeps the binding', async () => {
      const token = (await dpopLogin()).access_token as string;
      const me = await call(h.url, '/auth/me', {
        headers: {
          authorization: `DPoP ${token}`,
          dpop: await proof(key, 'GET', '/auth/me', { accessToken: token }),
        },
      });
      assert.equal(me.status, 200, me.text);
      const reauth = await call(h.url, '/auth/reauth', {
        json: { password: 'abides' },
        headers: {
          authorization: `DPoP ${token}`,
          dpop: await proof(key, 'POST', '/auth/reauth', { accessToken: token }),
        },
      });
      assert.equal(reauth.status, 200, reauth.text);
      assert.deepEqual(decodeClaims(reauth.json.access_token as string).cnf, { jkt: key.jkt });
    });
  });
}
