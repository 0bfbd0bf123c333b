/**
 * A resource server (a second service that only verifies) in front of the
 * demo as the issuer: the guards of baton-auth/resource/{express,fastify,hono}
 * against real tokens from the demo, its JWKS, key rotation, and the shared
 * store's revocation feed.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { DEMO_AUDIENCE, DEMO_ISSUER } from '../../demo/server.ts';
import { batonPlugin } from '../../src/adapters/fastify.ts';
import { generateSigningKey, importSigningKey, MemoryStore, openStore, publicJwk } from '../../src/index.ts';
import { signJws } from '../../src/jws.ts';
import { requireToken as expressGuard } from '../../src/resource/express.ts';
import { batonResource } from '../../src/resource/fastify.ts';
import { requireToken as honoGuard } from '../../src/resource/hono.ts';
import type {
  ResourceGuardOptions,
  ResourceVerifierOptions,
  VerifierSource,
} from '../../src/resource/index.ts';
import { createResourceVerifier, type ResourceVerifier } from '../../src/resource/index.ts';
import { decodeClaims } from '../adapters/client.ts';
import { type Listening, listen, serveHono } from '../support/listen.ts';
import {
  DATABASE_URL,
  deleteRedisKeys,
  dropSchema,
  postgresSkip,
  REDIS_URL,
  redisSkip,
  uniqueName,
} from '../support/services.ts';
import { assertError, call, type Harness, login, startHarness } from './helpers.ts';

const ADAPTERS = ['express', 'fastify', 'hono'] as const;
type Adapter = (typeof ADAPTERS)[number];

/** `GET /orders` needs a token, `GET /admin` also the role admin; both answer the claims they saw. */
async function resourceApp(adapter: Adapter, source: VerifierSource): Promise<Listening> {
  const admin: ResourceGuardOptions = { roles: ['admin'] };
  if (adapter === 'express') {
    const app = express();
    app.disable('x-powered-by');
    const auth = expressGuard(source);
    app.get('/orders', auth, (req, res) => {
      res.json({ sub: req.auth.sub, sid: req.auth.sid });
    });
    app.get('/admin', expressGuard(source, admin), (req, res) => {
      res.json({ sub: req.auth.sub });
    });
    return listen(createServer(app));
  }
  if (adapter === 'fastify') {
    const app = Fastify();
    const { verifier, ...options } = source as ResourceVerifierOptions & { verifier?: ResourceVerifier };
    await app.register(batonResource, verifier ? { verifier } : options);
    app.get('/orders', { onRequest: app.requireToken() }, async (request) => ({
      sub: request.auth.sub,
      sid: request.auth.sid,
    }));
    app.get('/admin', { onRequest: app.requireToken(admin) }, async (request) => ({ sub: request.auth.sub }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
  }
  const app = new Hono();
  app.get('/orders', honoGuard(source), (c) => c.json({ sub: c.get('auth').sub, sid: c.get('auth').sid }));
  app.get('/admin', honoGuard(source, admin), (c) => c.json({ sub: c.get('auth').sub }));
  return serveHono(app.fetch);
}

/** The Fastify plugin takes `{ verifier }`; the other guards take the verifier itself. */
function shared(adapter: Adapter, verifier: ResourceVerifier): VerifierSource {
  return adapter === 'fastify' ? ({ verifier } as unknown as VerifierSource) : verifier;
}

/** A JWKS endpoint that proxies the current issuer's and counts the fetches it serves. */
async function countingJwks(upstream: () => string): Promise<Listening & { fetches: () => number }> {
  let fetches = 0;
  const server: Server = createServer((_req, res) => {
    fetches++;
    fetch(`${upstream()}/.well-known/jwks.json`).then(
      async (answer) => {
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(await answer.text());
      },
      () => {
        res.writeHead(502);
        res.end();
      },
    );
  });
  const listening = await listen(server);
  return { ...listening, fetches: () => fetches };
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function headerOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** The demo's claims, signed by an attacker's own EdDSA key under a kid the issuer never had. */
async function unknownKidToken(claims: Record<string, unknown>): Promise<string> {
  const key = await generateSigningKey('EdDSA', { kid: `attacker-${Math.random().toString(36).slice(2)}` });
  return signJws({ typ: 'at+jwt' }, claims, key);
}

function verifierOptions(h: Harness, jwksUrl: string, extra: Partial<ResourceVerifierOptions> = {}) {
  return {
    issuer: DEMO_ISSUER,
    audience: DEMO_AUDIENCE,
    jwksUrl,
    algorithms: ['EdDSA'],
    clock: h.clock,
    ...extra,
  } as const;
}

for (const adapter of ADAPTERS) {
  describe(`resource server on ${adapter}, the demo as issuer`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness();
    });
    after(() => h.close());

    it('accepts a fresh access token from the issuer and exposes its claims', async () => {
      const app = await resourceApp(adapter, verifierOptions(h, `${h.demo.url}/.well-known/jwks.json`));
      try {
        const tokens = await login(h.demo.url);
        const reply = await call(app.url, '/orders', { token: tokens.access_token });
        assert.equal(reply.status, 200, reply.text);
        assert.deepEqual(reply.json, { sub: decodeClaims(tokens.access_token).sub, sid: tokens.session_id });
      } finally {
        await app.close();
      }
    });

    it('refuses a request without a token with a bare Bearer challenge', async () => {
      const app = await resourceApp(adapter, verifierOptions(h, `${h.demo.url}/.well-known/jwks.json`));
      try {
        const reply = await call(app.url, '/orders');
        assertError(reply, 401, 'missing_token');
        assert.equal(reply.headers.get('www-authenticate'), 'Bearer realm="baton"');
      } finally {
        await app.close();
      }
    });

    it('refuses expired, wrong-audience, wrong-issuer, HS-forged, alg-none, refresh and unknown-kid tokens with 401 invalid_token challenges', async () => {
      const jwksUrl = `${h.demo.url}/.well-known/jwks.json`;
      const verifier = createResourceVerifier(verifierOptions(h, jwksUrl));
      const app = await resourceApp(adapter, shared(adapter, verifier));
      const otherAudience = await resourceApp(
        adapter,
        verifierOptions(h, jwksUrl, { audience: 'another-api' }),
      );
      const otherIssuer = await resourceApp(
        adapter,
        verifierOptions(h, jwksUrl, { issuer: 'https://evil.example' }),
      );
      try {
        const tokens = await login(h.demo.url);
        const claims = decodeClaims(tokens.access_token);
        const { kid } = headerOf(tokens.access_token);
        const refused = async (base: string, token: string, code: string) => {
          const reply = await call(base, '/orders', { token });
          assertError(reply, 401, code);
          assert.match(
            reply.headers.get('www-authenticate') ?? '',
            /^Bearer realm="baton", error="invalid_token"/,
          );
        };
        assert.equal((await call(app.url, '/orders', { token: tokens.access_token })).status, 200);

        await refused(otherAudience.url, tokens.access_token, 'invalid_token');
        await refused(otherIssuer.url, tokens.access_token, 'invalid_token');

        // HS256 "signed" with the issuer's public key, the classic algorithm confusion.
        const [publicJwk] = (await call(h.demo.url, '/.well-known/jwks.json')).json.keys as Record<
          string,
          string
        >[];
        const confused = await importSigningKey({
          alg: 'HS256',
          kid: String(kid),
          secret: JSON.stringify(publicJwk),
        });
        await refused(app.url, signJws({ typ: 'at+jwt' }, claims, confused), 'invalid_token');
        await refused(
          app.url,
          `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(claims)}.`,
          'invalid_token',
        );
        await refused(
          app.url,
          `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(claims)}.x`,
          'invalid_token',
        );
        await refused(app.url, tokens.refresh_token, 'wrong_token_type');
        await refused(app.url, await unknownKidToken(claims), 'invalid_token');

        h.clock.advance(61);
        await refused(app.url, tokens.access_token, 'token_expired');
      } finally {
        verifier.close();
        await Promise.all([app.close(), otherAudience.close(), otherIssuer.close()]);
      }
    });

    if (adapter === 'fastify') {
      it('registers beside the issuer plugin in one app: both guards share request.auth', async () => {
        const app = Fastify();
        await app.register(batonPlugin, { manager: h.demo.manager });
        await app.register(batonResource, verifierOptions(h, `${h.demo.url}/.well-known/jwks.json`));
        app.get('/orders', { onRequest: app.requireToken() }, async (request) => ({ sub: request.auth.sub }));
        try {
          const tokens = await login(h.demo.url);
          const reply = await app.inject({
            url: '/orders',
            headers: { authorization: `Bearer ${tokens.access_token}` },
          });
          assert.equal(reply.statusCode, 200, reply.body);
          assert.equal(reply.json().sub, decodeClaims(tokens.access_token).sub);
        } finally {
          await app.close();
        }
      });
    }

    it('requires the roles it is given: 403 insufficient_scope without them', async () => {
      const app = await resourceApp(adapter, verifierOptions(h, `${h.demo.url}/.well-known/jwks.json`));
      try {
        const user = await login(h.demo.url);
        const admin = await login(h.demo.url, 'walter', 'calmerthanyouare');
        assertError(await call(app.url, '/admin', { token: user.access_token }), 403, 'insufficient_scope');
        assert.equal((await call(app.url, '/admin', { token: admin.access_token })).status, 200);
      } finally {
        await app.close();
      }
    });

    it('follows key rotation: a new kid makes it fetch the JWKS once and accept the new key', async () => {
      const rotated = await startHarness({ clock: h.clock });
      let issuer = h.demo.url;
      const jwks = await countingJwks(() => issuer);
      const verifier = createResourceVerifier(verifierOptions(h, `${jwks.url}/jwks.json`));
      const app = await resourceApp(adapter, shared(adapter, verifier));
      try {
        const before = await login(h.demo.url);
        assert.equal((await call(app.url, '/orders', { token: before.access_token })).status, 200);
        assert.equal((await call(app.url, '/orders', { token: before.access_token })).status, 200);
        assert.equal(jwks.fetches(), 1, 'keys are cached');

        // The issuer now signs with a new key (a restart with a new key behind the same URL).
        issuer = rotated.demo.url;
        h.clock.advance(31);
        const after = await login(rotated.demo.url);
        assert.notEqual(headerOf(after.access_token).kid, headerOf(before.access_token).kid);
        const replies = await Promise.all(
          Array.from({ length: 5 }, () => call(app.url, '/orders', { token: after.access_token })),
        );
        for (const reply of replies) assert.equal(reply.status, 200, reply.text);
        assert.equal(jwks.fetches(), 2, 'one refetch, shared by concurrent requests');
        assert.equal((await call(app.url, '/orders', { token: after.access_token })).status, 200);
        assert.equal(jwks.fetches(), 2);
      } finally {
        verifier.close();
        await Promise.all([app.close(), jwks.close(), rotated.close()]);
      }
    });

    it('refetches keys older than jwks.maxAge behind a request, so a key the issuer dropped stops verifying', async () => {
      const first = await startHarness({ clock: h.clock, accessTtl: 3600 });
      const second = await startHarness({ clock: h.clock, accessTtl: 3600 });
      let issuer = first.demo.url;
      const jwks = await countingJwks(() => issuer);
      const verifier = createResourceVerifier(
        verifierOptions(h, `${jwks.url}/jwks.json`, { jwks: { maxAge: 120 } }),
      );
      const app = await resourceApp(adapter, shared(adapter, verifier));
      try {
        const token = (await login(first.demo.url)).access_token;
        assert.equal((await call(app.url, '/orders', { token })).status, 200);
        issuer = second.demo.url; // the first key is gone from the JWKS
        h.clock.advance(121);
        assert.equal((await call(app.url, '/orders', { token })).status, 200, 'answered by the cached keys');
        const started = Date.now();
        for (;;) {
          const reply = await call(app.url, '/orders', { token });
          if (reply.status === 401) break;
          assert.ok(Date.now() - started < 1000, 'the dropped key still verifies');
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        assertError(await call(app.url, '/orders', { token }), 401, 'invalid_token');
        assert.equal(jwks.fetches(), 2, 'one background refetch');
      } finally {
        verifier.close();
        await Promise.all([app.close(), jwks.close(), first.close(), second.close()]);
      }
    });

    it('an attacker spamming unknown kids causes at most one JWKS fetch per cooldown', async () => {
      const jwks = await countingJwks(() => h.demo.url);
      const verifier = createResourceVerifier(verifierOptions(h, `${jwks.url}/jwks.json`));
      const app = await resourceApp(adapter, shared(adapter, verifier));
      try {
        const tokens = await login(h.demo.url);
        const claims = decodeClaims(tokens.access_token);
        assert.equal((await call(app.url, '/orders', { token: tokens.access_token })).status, 200);
        assert.equal(jwks.fetches(), 1);
        const forged = await Promise.all(Array.from({ length: 20 }, () => unknownKidToken(claims)));
        const spam = async () => {
          const replies = await Promise.all(forged.map((token) => call(app.url, '/orders', { token })));
          for (const reply of replies) assertError(reply, 401, 'invalid_token');
        };

        await spam();
        assert.equal(jwks.fetches(), 1, 'within the cooldown of the first fetch: none');
        h.clock.advance(31);
        await spam();
        await spam();
        assert.equal(jwks.fetches(), 2, 'after the cooldown: one, shared');
        h.clock.advance(31);
        await spam();
        assert.equal(jwks.fetches(), 3);
        const genuine = await login(h.demo.url);
        assert.equal((await call(app.url, '/orders', { token: genuine.access_token })).status, 200);
        assert.equal(jwks.fetches(), 3, 'the known kid needs no fetch');
      } finally {
        verifier.close();
        await Promise.all([app.close(), jwks.close()]);
      }
    });
  });
}

/** Calls until the answer is 401 token_revoked; returns how long it took. */
async function untilRevoked(base: string, token: string, limitMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const reply = await call(base, '/orders', { token });
    if (reply.status === 401) {
      assertError(reply, 401, 'token_revoked');
      return Date.now() - started;
    }
    assert.equal(reply.status, 200, reply.text);
    if (Date.now() - started > limitMs) assert.fail(`still accepted after ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Logout and an RFC 7009 revocation at the issuer, seen by a resource server following the same store. */
async function revocationFollowed(adapter: Adapter, storeUrl: string): Promise<void> {
  const h = await startHarness({ store: storeUrl });
  const store = await openStore(storeUrl);
  const verifier = createResourceVerifier(
    verifierOptions(h, `${h.demo.url}/.well-known/jwks.json`, { revocations: store }),
  );
  const app = await resourceApp(adapter, shared(adapter, verifier));
  try {
    const kept = await login(h.demo.url);
    const loggedOut = await login(h.demo.url);
    const revoked = await login(h.demo.url);
    for (const t of [kept, loggedOut, revoked]) {
      assert.equal((await call(app.url, '/orders', { token: t.access_token })).status, 200);
    }

    assert.equal(
      (await call(h.demo.url, '/auth/logout', { method: 'POST', token: loggedOut.access_token })).status,
      204,
    );
    assert.ok((await untilRevoked(app.url, loggedOut.access_token, 1000)) <= 1000);

    const revocation = await call(h.demo.url, '/auth/revoke', {
      form: { token: revoked.access_token, token_type_hint: 'access_token' },
    });
    assert.equal(revocation.status, 200, revocation.text);
    assert.ok((await untilRevoked(app.url, revoked.access_token, 1000)) <= 1000);

    assert.equal(
      (await call(app.url, '/orders', { token: kept.access_token })).status,
      200,
      'others live on',
    );
  } finally {
    verifier.close();
    await app.close();
    await store.close();
    await h.close();
  }
}

/** Revocations made before the verifier started are loaded from the store. */
async function revocationsLoaded(storeUrl: string): Promise<void> {
  const h = await startHarness({ store: storeUrl });
  const store = await openStore(storeUrl);
  try {
    const tokens = await login(h.demo.url);
    assert.equal(
      (await call(h.demo.url, '/auth/logout', { method: 'POST', token: tokens.access_token })).status,
      204,
    );
    const verifier = createResourceVerifier(
      verifierOptions(h, `${h.demo.url}/.well-known/jwks.json`, { revocations: store }),
    );
    try {
      await assert.rejects(verifier.verify(tokens.access_token), { code: 'token_revoked' });
    } finally {
      verifier.close();
    }
  } finally {
    await store.close();
    await h.close();
  }
}

describe('resource server revocation through the shared Redis store', { skip: await redisSkip() }, () => {
  const prefix = `${uniqueName('baton-resource')}:`;
  const storeUrl = `${REDIS_URL}${REDIS_URL.includes('?') ? '&' : '?'}prefix=${encodeURIComponent(prefix)}`;
  after(() => deleteRedisKeys(prefix));

  for (const adapter of ADAPTERS) {
    it(`on ${adapter}: a logout or a revoked access token at the issuer is refused within 1 s`, () =>
      revocationFollowed(adapter, storeUrl));
  }
  it('loads the revocations made before it started', () => revocationsLoaded(storeUrl));
});

describe('resource server revocation through the shared PostgreSQL store', {
  skip: await postgresSkip(),
}, () => {
  const schema = uniqueName('baton_resource');
  const storeUrl = `${DATABASE_URL}${DATABASE_URL.includes('?') ? '&' : '?'}schema=${schema}`;
  after(() => dropSchema(schema));

  it('a logout or a revoked access token at the issuer is refused within 1 s', () =>
    revocationFollowed('hono', storeUrl));
  it('loads the revocations made before it started', () => revocationsLoaded(storeUrl));
});

describe('createResourceVerifier options', () => {
  const base = { issuer: 'https://auth.example', audience: 'api' } as const;

  it('refuses a revocations store without a revocation feed', () => {
    assert.throws(
      () =>
        createResourceVerifier({
          ...base,
          jwksUrl: 'https://auth.example/jwks',
          revocations: new MemoryStore(),
        }),
      { code: 'invalid_options', message: /revocation feed/ },
    );
  });

  it('never takes an HS algorithm with a JWKS URL, and needs exactly one of jwksUrl or keys', () => {
    assert.throws(
      () => createResourceVerifier({ ...base, jwksUrl: 'https://auth.example/jwks', algorithms: ['HS256'] }),
      { code: 'invalid_options', message: /shared secret/ },
    );
    assert.throws(() => createResourceVerifier({ ...base }), { code: 'invalid_options' });
    assert.throws(() => createResourceVerifier({ ...base, jwksUrl: 'file:///etc/passwd' }), {
      code: 'invalid_options',
    });
  });

  it('refuses a JWKS URL with credentials, which fetch would repeat in its errors, the log and the 503 body', () => {
    for (const jwksUrl of ['https://user:s3cret@auth.example/jwks', 'https://user@auth.example/jwks']) {
      assert.throws(
        () => createResourceVerifier({ ...base, jwksUrl }),
        (error: Error & { code?: string }) =>
          error.code === 'invalid_options' &&
          /user name or password/.test(error.message) &&
          !/s3cret/.test(error.message),
      );
    }
  });

  it('takes keys as a JWKS object, and refuses one without a usable key', async () => {
    const key = await generateSigningKey('EdDSA');
    const verifier = createResourceVerifier({ ...base, keys: { keys: [publicJwk(key)] } });
    await verifier.ready;
    const empty = createResourceVerifier({ ...base, keys: { keys: [{ kty: 'EC', crv: 'P-384', x: 'AA' }] } });
    await assert.rejects(empty.ready, { code: 'invalid_options', message: /no usable signing key/ });
  });

  it('verifies HS256 tokens with a shared secret given as keys, and nothing else', async () => {
    const secret = await generateSigningKey('HS256');
    const verifier = createResourceVerifier({ ...base, keys: [secret] });
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: base.issuer,
      aud: base.audience,
      sub: 'u1',
      sid: 's1',
      jti: 'j1',
      client_id: 'c',
      type: 'access',
      fresh: false,
      iat: now,
      nbf: now,
      exp: now + 60,
    };
    assert.equal((await verifier.verify(signJws({ typ: 'at+jwt' }, claims, secret))).sub, 'u1');
    await assert.rejects(
      verifier.verify(signJws({ typ: 'at+jwt' }, { ...claims, type: 'refresh' }, secret)),
      {
        code: 'wrong_token_type',
      },
    );
    await assert.rejects(verifier.verify(signJws({ typ: 'JWT' }, claims, secret)), { code: 'invalid_token' });
  });
});

describe('JWKS fetching limits', () => {
  const base = { issuer: 'https://auth.example', audience: 'api', algorithms: ['EdDSA'] } as const;
  const token = `${b64({ alg: 'EdDSA', kid: 'k1', typ: 'at+jwt' })}.${b64({ sub: 'x' })}.c2ln`;

  async function server(handler: (res: import('node:http').ServerResponse) => void): Promise<Listening> {
    return listen(createServer((_req, res) => handler(res)));
  }

  it('a JWKS that never answers is a 503 keys_unavailable once the timeout passes, not a hang', async () => {
    const silent = await server(() => {});
    const verifier = createResourceVerifier({ ...base, jwksUrl: `${silent.url}/jwks`, jwks: { timeout: 1 } });
    const app = await resourceApp('hono', verifier);
    try {
      const started = Date.now();
      const reply = await call(app.url, '/orders', { token });
      assertError(reply, 503, 'keys_unavailable');
      assert.ok(reply.headers.get('retry-after'));
      assert.ok(Date.now() - started < 3000, 'within the timeout');
    } finally {
      await app.close();
      await silent.close();
    }
  });

  it('a JWKS larger than maxBytes is not read to its end', async () => {
    const huge = await server((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [], padding: 'x'.repeat(200_000) }));
    });
    const verifier = createResourceVerifier({
      ...base,
      jwksUrl: `${huge.url}/jwks`,
      jwks: { maxBytes: 4096 },
    });
    try {
      await assert.rejects(verifier.verify(token), { code: 'keys_unavailable', message: /larger than 4096/ });
    } finally {
      await huge.close();
    }
  });
});
