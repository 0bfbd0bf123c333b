/**
 * baton/client with DPoP (RFC 9449) in Node, bearer mode, against the demo
 * run with BATON_DPOP=required (server nonces on): a proof on every request,
 * the nonce retry, refresh keeping the binding, a token copied out refused,
 * tabs sharing one key per session, logout dropping it.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  type AuthClientOptions,
  createAuthClient,
  type DpopKeyStore,
  keyObjectDpopKeys,
  memoryDpopKeys,
  type TokenResponse,
  webStorage,
} from '../../src/client/index.ts';
import { type Harness, startHarness } from '../demo/helpers.ts';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('baton-auth/client with DPoP (Node)', { timeout: 60_000 }, () => {
  let h: Harness;
  let sent: { method: string; path: string; authorization: string | null; dpop: boolean; status: number }[] =
    [];

  before(async () => {
    const port = await freePort();
    h = await startHarness({ port, publicUrl: `http://127.0.0.1:${port}`, dpop: 'required' });
  });
  after(async () => {
    await h.close();
    assert.deepEqual(h.unexpected, []);
  });

  const recording: AuthClientOptions['fetch'] = async (input, init) => {
    const request = new Request(input, init);
    const res = await fetch(request.clone());
    sent.push({
      method: request.method,
      path: new URL(request.url).pathname,
      authorization: request.headers.get('authorization')?.split(' ')[0] ?? null,
      dpop: request.headers.has('dpop'),
      status: res.status,
    });
    return res;
  };

  function client(keys: DpopKeyStore, extra: Partial<AuthClientOptions> = {}) {
    const tokens: TokenResponse[] = [];
    const c = createAuthClient({
      baseUrl: h.demo.url,
      mode: 'bearer',
      fetch: recording,
      now: () => h.clock.now(),
      dpop: keys,
      onTokens: (body) => tokens.push(body),
      ...extra,
    });
    return { c, tokens };
  }

  it('logs in with a proof (one nonce retry), then authFetch sends Authorization: DPoP with a proof', async () => {
    sent = [];
    const { c, tokens } = client(memoryDpopKeys());
    await c.login('thedude', 'abides');
    assert.deepEqual(
      sent.map((r) => [r.path, r.dpop, r.status]),
      [
        ['/auth/login', true, 401],
        ['/auth/login', true, 200],
      ],
    );
    assert.equal(tokens[0]?.token_type, 'DPoP');
    sent = [];
    const res = await c.authFetch('/api/protected');
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(
      sent.map((r) => [r.path, r.authorization, r.dpop]),
      [['/api/protected', 'DPoP', true]],
    );
    // A refresh keeps the session's key (no new nonce needed: the client kept the last one).
    sent = [];
    await c.refresh();
    assert.deepEqual(
      sent.map((r) => [r.path, r.status]),
      [['/auth/refresh', 200]],
    );
    assert.equal((await c.authFetch('/api/protected')).status, 200);
    assert.equal((await c.sessions()).length > 0, true);
    c.close();
  });

  it('a token copied out of the client is refused without the key', async () => {
    const { c, tokens } = client(memoryDpopKeys());
    await c.login('thedude', 'abides');
    const token = tokens.at(-1)?.access_token as string;
    const refresh = tokens.at(-1)?.refresh_token as string;
    const asBearer = await fetch(`${h.demo.url}/api/protected`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(asBearer.status, 401);
    const noProof = await fetch(`${h.demo.url}/api/protected`, {
      headers: { authorization: `DPoP ${token}` },
    });
    assert.equal(noProof.status, 401);
    const stolenRefresh = await fetch(`${h.demo.url}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: refresh }),
    });
    assert.equal(stolenRefresh.status, 401);
    assert.equal(((await stolenRefresh.json()) as { error: string }).error, 'invalid_dpop_proof');
    // The client itself goes on.
    assert.equal((await c.authFetch('/api/protected')).status, 200);
    c.close();
  });

  it('tabs share one key per session; logout drops it', async () => {
    const keys = memoryDpopKeys();
    const shared = new Map<string, string>();
    const storage = webStorage({
      getItem: (k: string) => shared.get(k) ?? null,
      setItem: (k: string, v: string) => void shared.set(k, v),
      removeItem: (k: string) => void shared.delete(k),
    } as unknown as Storage);
    const first = client(keys, { storage });
    const state = await first.c.login('thedude', 'abides');
    const jkt = (state.claims as { cnf?: { jkt: string } }).cnf?.jkt;
    assert.equal((await keys.load())?.jkt, jkt);
    // Another tab: the same storage and key store, no login of its own.
    const second = client(keys, { storage });
    assert.equal((await second.c.authFetch('/api/protected')).status, 200);
    await first.c.logout();
    assert.equal(await keys.load(), null, 'the key is gone with the session');
    first.c.close();
    second.c.close();
  });

  it('a Node client signs with its own KeyObject (P-256 and Ed25519)', async () => {
    for (const pair of [generateKeyPairSync('ec', { namedCurve: 'P-256' }), generateKeyPairSync('ed25519')]) {
      const keys = keyObjectDpopKeys(pair.privateKey);
      const { c, tokens } = client(keys);
      await c.login('thedude', 'abides');
      const jkt = (await keys.load())?.jkt;
      assert.equal(typeof jkt, 'string');
      const claims = JSON.parse(
        Buffer.from((tokens.at(-1)!.access_token as string).split('.')[1]!, 'base64url').toString(),
      );
      assert.equal(claims.cnf.jkt, jkt);
      assert.equal((await c.authFetch('/api/protected')).status, 200);
      await c.logout();
      assert.equal((await keys.load())?.jkt, jkt, "the app's key stays");
      c.close();
    }
  });

  it('cookie mode cannot take DPoP', () => {
    assert.throws(
      () => createAuthClient({ baseUrl: h.demo.url, mode: 'cookie', dpop: true }),
      /DPoP needs bearer mode/,
    );
  });
});
