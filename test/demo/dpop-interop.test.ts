/**
 * DPoP interop (RFC 9449): oauth4webapi, an independent client, against the
 * demo run with BATON_DPOP=required: the password and refresh_token grants
 * with proofs and the server-nonce retry, then a protected route with
 * `Authorization: DPoP`. A token taken out of the client and replayed
 * without its key is refused.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import { configFromEnv } from '../../demo/config.ts';
import { DEMO_ISSUER } from '../../demo/server.ts';
import { ManualClock } from '../../src/index.ts';
import { type Harness, startHarness } from './helpers.ts';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A request through oauth4webapi, retried once when the server asks for its nonce (use_dpop_nonce). */
async function withNonceRetry<T>(attempt: () => Promise<T>): Promise<{ result: T; retried: boolean }> {
  try {
    return { result: await attempt(), retried: false };
  } catch (error) {
    if (!oauth.isDPoPNonceError(error)) throw error;
    return { result: await attempt(), retried: true };
  }
}

describe('DPoP interop: oauth4webapi against the demo (BATON_DPOP=required)', { timeout: 60_000 }, () => {
  let h: Harness;
  let base: string;
  let as: oauth.AuthorizationServer;
  const client: oauth.Client = { client_id: 'oauth4webapi' };
  let dpop: oauth.DPoPHandle;
  const insecure = { [oauth.allowInsecureRequests]: true };

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // Proofs carry the real time: the demo's clock is the real one here.
    h = await startHarness({ port, publicUrl: base, dpop: 'required', clock: new ManualClock(Date.now()) });
    as = { issuer: DEMO_ISSUER, token_endpoint: `${base}/auth/token` };
    const keyPair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    dpop = oauth.DPoP(client, keyPair);
  });
  after(async () => {
    await h.close();
    assert.deepEqual(h.unexpected, []);
  });

  const passwordGrant = () =>
    withNonceRetry(async () => {
      const response = await oauth.genericTokenEndpointRequest(
        as,
        client,
        oauth.None(),
        'password',
        { username: 'thedude', password: 'abides' },
        { DPoP: dpop, ...insecure },
      );
      return oauth.processGenericTokenEndpointResponse(as, client, response);
    });

  it('BATON_DPOP is read from the environment', () => {
    assert.equal(configFromEnv({ BATON_DPOP: 'required' }).dpop, 'required');
    assert.equal(configFromEnv({}).dpop, 'off');
    assert.throws(
      () => configFromEnv({ BATON_DPOP: 'maybe' }),
      /BATON_DPOP must be one of off, allowed, required/,
    );
  });

  it('password grant with a proof: the nonce retry, then a DPoP token bound to the key', async () => {
    const { result, retried } = await passwordGrant();
    assert.equal(retried, true, 'the first proof had no nonce');
    assert.equal(result.token_type, 'dpop');
    const claims = JSON.parse(Buffer.from(result.access_token.split('.')[1]!, 'base64url').toString());
    assert.equal(typeof claims.cnf?.jkt, 'string');
  });

  it('refresh_token grant with a proof (the nonce is remembered: no retry), then a protected route', async () => {
    const { result: first } = await passwordGrant();
    const { result: next, retried } = await withNonceRetry(async () => {
      const response = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), first.refresh_token!, {
        DPoP: dpop,
        ...insecure,
      });
      return oauth.processRefreshTokenResponse(as, client, response);
    });
    assert.equal(retried, false);
    assert.equal(next.token_type, 'dpop');
    const response = await oauth.protectedResourceRequest(
      next.access_token,
      'GET',
      new URL(`${base}/api/protected`),
      undefined,
      undefined,
      { DPoP: dpop, ...insecure },
    );
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(((await response.json()) as { sub: string }).sub, '1');

    // The same token copied out and replayed without the key: as Bearer, or as DPoP with no proof.
    const asBearer = await fetch(`${base}/api/protected`, {
      headers: { authorization: `Bearer ${next.access_token}` },
    });
    assert.equal(asBearer.status, 401);
    assert.match(asBearer.headers.get('www-authenticate') ?? '', /^DPoP /);
    const noProof = await fetch(`${base}/api/protected`, {
      headers: { authorization: `DPoP ${next.access_token}` },
    });
    assert.equal(noProof.status, 401);
    // And the refresh token without the key.
    const stolen = await fetch(`${base}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: next.refresh_token! }),
    });
    assert.equal(stolen.status, 400);
    assert.equal(((await stolen.json()) as { error: string }).error, 'invalid_grant');
  });
});
