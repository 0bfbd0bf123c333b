/**
 * RFC 8414 authorization server metadata (`GET /.well-known/oauth-authorization-server`):
 * served only with a configured `publicUrl` (no URL is ever built from the
 * Host header), naming the manager's issuer, and readable by an RFC 8414
 * client (oauth4webapi's discovery).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import type { AuthManager, HttpRequest, HttpResponse } from '../../src/http/index.ts';
import { type AuthHandlerOptions, createAuthHandler } from '../../src/http/index.ts';
import type { SigningKey } from '../../src/index.ts';
import {
  BatonError,
  DpopVerifier,
  generateSigningKey,
  MemoryStore,
  SessionManager,
} from '../../src/index.ts';
import { fakeManager } from '../support/fake-manager.ts';

const PATH = '/.well-known/oauth-authorization-server';
const managers: SessionManager[] = [];
let eddsa: SigningKey;
let hs256: SigningKey;

before(
  async () => {
    [eddsa, hs256] = await Promise.all([generateSigningKey('EdDSA'), generateSigningKey('HS256')]);
  },
  { timeout: 30_000 },
);

after(async () => {
  for (const manager of managers) await manager.close();
});

function manager(issuer = 'https://auth.example.com', key = eddsa): SessionManager {
  const created = new SessionManager({
    issuer,
    audience: 'api',
    keys: [key],
    refreshKey: randomBytes(32),
    store: new MemoryStore(),
    loadUser: (id) => ({ id }),
  });
  managers.push(created);
  return created;
}

function get(path = PATH, headers: Record<string, string> = {}): HttpRequest {
  return { method: 'GET', path, headers, query: new URLSearchParams() };
}

function json(response: HttpResponse | undefined): Record<string, unknown> {
  assert.ok(response, 'the route answers');
  return JSON.parse(response.body ?? '') as Record<string, unknown>;
}

function invalidOptions(pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof BatonError);
    assert.equal(error.code, 'invalid_options');
    assert.match(error.message, pattern);
    return true;
  };
}

describe('RFC 8414 metadata route', () => {
  it('is not served without publicUrl, whatever the Host header says', async () => {
    const handler = createAuthHandler(manager());
    assert.equal(await handler(get(PATH, { host: 'evil.example.com' })), undefined);
    assert.equal(handler.handles(PATH, 'GET'), false);
    assert.ok(!handler.paths.includes(PATH));
  });

  it('describes the server: endpoints from publicUrl, grants, client authentication, keys', async () => {
    const handler = createAuthHandler(manager(), { publicUrl: 'https://api.example.com' });
    assert.ok(handler.paths.includes(PATH));
    const response = await handler(get(PATH, { host: 'evil.example.com' }));
    assert.equal(response?.status, 200);
    assert.equal(response?.headers['content-type'], 'application/json');
    assert.equal(response?.headers['cache-control'], 'public, max-age=300');
    assert.deepEqual(json(response), {
      issuer: 'https://auth.example.com',
      token_endpoint: 'https://api.example.com/auth/token',
      token_endpoint_auth_methods_supported: ['none'],
      grant_types_supported: ['password', 'refresh_token', 'urn:ietf:params:oauth:grant-type:jwt-bearer'],
      response_types_supported: [],
      revocation_endpoint: 'https://api.example.com/auth/revoke',
      revocation_endpoint_auth_methods_supported: ['none'],
      introspection_endpoint: 'https://api.example.com/auth/introspect',
      introspection_endpoint_auth_methods_supported: ['Bearer'],
      jwks_uri: 'https://api.example.com/.well-known/jwks.json',
    });
    const head = await handler({ ...get(), method: 'HEAD' });
    assert.equal(head?.status, 200);
    assert.equal(head?.body, undefined);
    assert.equal((await handler({ ...get(), method: 'POST' }))?.status, 405);
  });

  it('lists the confidential client methods when clients are configured, and follows prefix and jwksPath', async () => {
    const handler = createAuthHandler(manager(), {
      publicUrl: 'https://example.com/api/',
      prefix: '/oauth',
      jwksPath: '/keys.json',
      clients: [{ id: 'backend', secret: 'backend-secret' }],
    });
    const metadata = json(await handler(get()));
    assert.equal(metadata.token_endpoint, 'https://example.com/api/oauth/token');
    assert.equal(metadata.jwks_uri, 'https://example.com/api/keys.json');
    assert.deepEqual(metadata.token_endpoint_auth_methods_supported, [
      'client_secret_basic',
      'client_secret_post',
      'none',
    ]);
    assert.deepEqual(metadata.introspection_endpoint_auth_methods_supported, [
      'client_secret_basic',
      'client_secret_post',
      'Bearer',
    ]);
  });

  it('has no jwks_uri when there are no public keys (HS256) or no JWKS route', async () => {
    const symmetric = createAuthHandler(manager('https://auth.example.com', hs256), {
      publicUrl: 'https://api.example.com',
    });
    assert.equal(json(await symmetric(get())).jwks_uri, undefined);
    const withoutJwks = createAuthHandler(manager(), {
      publicUrl: 'https://api.example.com',
      jwksPath: false,
    });
    assert.equal(json(await withoutJwks(get())).jwks_uri, undefined);
  });

  it("lives where RFC 8414 section 3.1 puts an issuer's with a path: after the well-known path", async () => {
    const handler = createAuthHandler(manager('https://example.com/tenant-1/'), {
      publicUrl: 'https://example.com',
    });
    assert.equal(await handler(get()), undefined);
    assert.equal(json(await handler(get(`${PATH}/tenant-1`))).issuer, 'https://example.com/tenant-1/');
  });

  it('lists the DPoP proof algorithms of a manager with DPoP on', async () => {
    const dpop = new DpopVerifier({ replay: new MemoryStore(), algorithms: ['ES256', 'PS256'] });
    const withDpop: AuthManager = fakeManager({ issuer: 'https://auth.example.com', dpop });
    const handler = createAuthHandler(withDpop, { publicUrl: 'https://api.example.com' });
    assert.deepEqual(json(await handler(get())).dpop_signing_alg_values_supported, ['ES256', 'PS256']);
  });

  it('is read by an RFC 8414 client (oauth4webapi discovery), which checks the issuer', async () => {
    const issuer = new URL('https://auth.example.com');
    const handler = createAuthHandler(manager(), { publicUrl: 'https://auth.example.com' });
    const requested: string[] = [];
    const response = await oauth.discoveryRequest(issuer, {
      algorithm: 'oauth2',
      [oauth.customFetch]: async (url, init) => {
        requested.push(url);
        const answer = await handler({
          ...get(new URL(url).pathname),
          method: init.method ?? 'GET',
        });
        return new Response(answer?.body ?? null, {
          status: answer?.status ?? 404,
          headers: answer?.headers as Record<string, string>,
        });
      },
    });
    const server = await oauth.processDiscoveryResponse(issuer, response);
    assert.deepEqual(requested, ['https://auth.example.com/.well-known/oauth-authorization-server']);
    assert.equal(server.issuer, 'https://auth.example.com');
    assert.equal(server.token_endpoint, 'https://auth.example.com/auth/token');
  });

  describe('options', () => {
    const refusedUrls = [
      'http://api.example.com',
      'https://api.example.com/?x=1',
      'https://api.example.com/#top',
      'https://user:pass@api.example.com',
      '/auth',
      'api.example.com',
      'ftp://api.example.com',
    ];
    for (const publicUrl of refusedUrls) {
      it(`refuses publicUrl ${JSON.stringify(publicUrl)}`, () => {
        assert.throws(() => createAuthHandler(manager(), { publicUrl }), invalidOptions(/publicUrl/));
      });
    }

    it('takes http for localhost', async () => {
      const handler = createAuthHandler(manager('http://localhost:3000'), {
        publicUrl: 'http://localhost:3000',
      });
      assert.equal(json(await handler(get())).token_endpoint, 'http://localhost:3000/auth/token');
    });

    it('refuses serverMetadata without publicUrl: nothing is built from the Host header', () => {
      assert.throws(
        () => createAuthHandler(manager(), { serverMetadata: true } as AuthHandlerOptions),
        invalidOptions(/serverMetadata needs publicUrl/),
      );
    });

    it('refuses metadata for an issuer that is not an https URL, unless serverMetadata is false', async () => {
      assert.throws(
        () => createAuthHandler(manager('baton-demo'), { publicUrl: 'https://api.example.com' }),
        invalidOptions(/issuer, which must then be an https URL.*"baton-demo".*serverMetadata: false/),
      );
      const handler = createAuthHandler(manager('baton-demo'), {
        publicUrl: 'https://api.example.com',
        serverMetadata: false,
      });
      assert.equal(await handler(get()), undefined);
      assert.ok(!handler.paths.some((path) => path.startsWith(PATH)));
    });
  });
});
