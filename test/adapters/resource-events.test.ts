/**
 * The resource servers' guards (baton-auth/resource/{express,fastify,hono})
 * report what the issuer's guards report on their verify path: one
 * `dpop_rejected` per refused DPoP proof, with the same reasons and ids, and
 * `store_unavailable` when the revoked set cannot be loaded; through the
 * verifier's events (`onEvent`, `verifier.events.on`), delivered after the
 * answer, and its `logger`, which also gets the unexpected errors. No event
 * or log line carries a token or a proof.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { pino } from 'pino';
import {
  type AuthEvent,
  type DpopRejectionReason,
  MemoryStore,
  type SessionManager,
} from '../../src/index.ts';
import { batonResource } from '../../src/resource/fastify.ts';
import { createResourceVerifier, type ResourceVerifier } from '../../src/resource/index.ts';
import { openDatabaseFile, SqliteStore } from '../../src/stores/sqlite.ts';
import { ProofKey } from '../support/dpop.ts';
import { type Listening, listen } from '../support/listen.ts';
import { Secrets } from '../support/secrets.ts';
import { call, type Reply } from './client.ts';
import { ADAPTERS, resourceApp as app, dpopIssuer, ISSUER, verifierOptions } from './resource-apps.ts';

const PUBLIC = 'https://orders.example.com';
const USER_AGENT = 'resource-events-test/1.0';

/** A pino logger writing JSON lines into memory. */
function capturedLogger() {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return {
    logger: pino({ level: 'debug' }, sink),
    texts: () => chunks.join('').split('\n').filter(Boolean),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** A proof with its signature altered: a well-formed JWT that fails the signature check. */
function tampered(proof: string): string {
  const [header, payload, signature = ''] = proof.split('.');
  const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
  return `${header}.${payload}.${flipped}`;
}

describe('resource guards: events and logging', { timeout: 60_000 }, () => {
  let manager: SessionManager;
  let key: ProofKey;
  let other: ProofKey;
  let bound: string;
  let bearer: string;
  const source = () => verifierOptions(manager);
  before(async () => {
    manager = await dpopIssuer();
    key = await ProofKey.create('ES256');
    other = await ProofKey.create('ES256');
    bound = (await manager.issueSession({ id: 'u1' }, { dpop: { jkt: key.jkt }, clientId: 'mobile' }))
      .accessToken;
    bearer = (await manager.issueSession({ id: 'u2' })).accessToken;
  });
  after(() => manager.close());

  for (const adapter of ADAPTERS) {
    describe(adapter, () => {
      const events: AuthEvent[] = [];
      const log = capturedLogger();
      const secrets = new Secrets();
      let verifier: ResourceVerifier;
      let optional: Listening;
      let required: Listening;
      before(async () => {
        await secrets.addToken(bound);
        await secrets.addToken(bearer);
        verifier = createResourceVerifier({
          ...source(),
          logger: log.logger,
          onEvent: (event) => void events.push(event),
        });
        const dpop = { publicUrl: PUBLIC, verifier: { replay: new MemoryStore() } };
        optional = await app(adapter, verifier, { dpop });
        required = await app(adapter, verifier, { dpop: { ...dpop, required: true } });
      });
      after(async () => {
        await optional.close();
        await required.close();
        verifier.close();
      });

      /** Sends one request, and answers it with the events it caused. */
      const send = async (
        server: () => Listening,
        headers: Record<string, string>,
      ): Promise<{ reply: Reply; emitted: AuthEvent[] }> => {
        const from = events.length;
        for (const value of Object.values(headers)) await secrets.addToken(value.replace(/^\S+ /, ''));
        const reply = await call(server().url, '/v1/orders', {
          headers: { 'user-agent': USER_AGENT, ...headers },
        });
        await verifier.events.flush();
        return { reply, emitted: events.slice(from) };
      };
      const proof = async (k: ProofKey, options: { method?: string; path?: string; ath?: boolean } = {}) => {
        const signed = await k.proof(
          options.method ?? 'GET',
          PUBLIC + (options.path ?? '/v1/orders'),
          options.ath === false ? {} : { accessToken: bound },
        );
        await secrets.addToken(signed);
        return signed;
      };

      const refusals: {
        what: string;
        reason: DpopRejectionReason;
        detail: RegExp;
        headers: () => Promise<Record<string, string>>;
      }[] = [
        {
          what: 'a bound token sent as Bearer',
          reason: 'bearer_bound_token',
          detail: /send it as "Authorization: DPoP <token>"/,
          headers: async () => ({ authorization: `Bearer ${bound}`, dpop: await proof(key) }),
        },
        {
          what: 'a bound token without a proof',
          reason: 'missing_proof',
          detail: /send a proof/,
          headers: async () => ({ authorization: `DPoP ${bound}` }),
        },
        {
          what: 'a proof by another key',
          reason: 'key_mismatch',
          detail: /another key/,
          headers: async () => ({ authorization: `DPoP ${bound}`, dpop: await proof(other) }),
        },
        {
          what: 'a proof for another URL (htu)',
          reason: 'invalid_proof',
          detail: /htu/,
          headers: async () => ({
            authorization: `DPoP ${bound}`,
            dpop: await proof(key, { path: '/orders' }),
          }),
        },
        {
          what: 'a proof for another method (htm)',
          reason: 'invalid_proof',
          detail: /htm/,
          headers: async () => ({
            authorization: `DPoP ${bound}`,
            dpop: await proof(key, { method: 'POST' }),
          }),
        },
        {
          what: 'a proof without ath',
          reason: 'invalid_proof',
          detail: /no ath/,
          headers: async () => ({ authorization: `DPoP ${bound}`, dpop: await proof(key, { ath: false }) }),
        },
        {
          what: 'a proof with a bad signature',
          reason: 'invalid_proof',
          detail: /is invalid/,
          headers: async () => ({ authorization: `DPoP ${bound}`, dpop: tampered(await proof(key)) }),
        },
      ];

      const assertOne = (
        emitted: AuthEvent[],
        reason: DpopRejectionReason,
        detail: RegExp,
        token: string,
      ) => {
        assert.equal(emitted.length, 1, JSON.stringify(emitted));
        const event = emitted[0]!;
        assert.equal(event.type, 'dpop_rejected');
        if (event.type !== 'dpop_rejected') return;
        const claims = claimsOf(token);
        assert.equal(event.reason, reason);
        assert.equal(event.step, 'resource');
        assert.match(event.detail, detail);
        assert.equal(event.strategy, 'resource');
        assert.equal(event.userId, claims.sub);
        assert.equal(event.sessionId, claims.sid);
        assert.equal(event.clientId, claims.client_id);
        assert.match(event.ip ?? '', /127\.0\.0\.1/);
        assert.equal(event.userAgent, USER_AGENT);
        assert.ok(Math.abs(event.time - Date.now()) < 60_000);
      };

      for (const refusal of refusals) {
        it(`${refusal.what}: 401 invalid_dpop_proof and one dpop_rejected (${refusal.reason})`, async () => {
          const { reply, emitted } = await send(() => optional, await refusal.headers());
          assert.equal(reply.status, 401, reply.text);
          assert.equal(reply.json.error, 'invalid_dpop_proof');
          assertOne(emitted, refusal.reason, refusal.detail, bound);
        });
      }

      it('a replayed proof: the first request passes with no event, the replay is one dpop_rejected (invalid_proof)', async () => {
        const headers = { authorization: `DPoP ${bound}`, dpop: await proof(key) };
        const first = await send(() => optional, headers);
        assert.equal(first.reply.status, 200, first.reply.text);
        assert.deepEqual(first.emitted, []);
        const replay = await send(() => optional, headers);
        assert.equal(replay.reply.json.error, 'invalid_dpop_proof');
        assertOne(replay.emitted, 'invalid_proof', /was used before/, bound);
      });

      it('DPoP required: an unbound token is one dpop_rejected (missing_proof); a Bearer token elsewhere, none', async () => {
        const refused = await send(() => required, { authorization: `Bearer ${bearer}` });
        assert.equal(refused.reply.json.error, 'invalid_dpop_proof');
        assertOne(refused.emitted, 'missing_proof', /DPoP is required/, bearer);
        const accepted = await send(() => optional, { authorization: `Bearer ${bearer}` });
        assert.equal(accepted.reply.status, 200);
        assert.deepEqual(accepted.emitted, []);
      });

      it('token problems that are no DPoP refusal emit nothing, as at the issuer', async () => {
        const unbound = await send(() => optional, { authorization: `DPoP ${bearer}` });
        assert.equal(unbound.reply.json.error, 'invalid_token');
        const missing = await send(() => optional, {});
        assert.equal(missing.reply.json.error, 'missing_token');
        assert.deepEqual([...unbound.emitted, ...missing.emitted], []);
      });

      it('the logger gets each event at info, and no event or line carries a token or a proof', async () => {
        const lines = log.lines().filter((line) => line.msg === 'baton: dpop_rejected');
        const count = events.filter((event) => event.type === 'dpop_rejected').length;
        assert.ok(count >= refusals.length + 2, `${count} events`);
        assert.equal(lines.length, count);
        assert.ok(lines.every((line) => line.level === 30 && line.component === 'baton'));
        secrets.assertNoneIn([...events.map((event) => JSON.stringify(event)), ...log.texts()], 20);
      });
    });
  }

  describe('listeners and the logger', () => {
    for (const adapter of ADAPTERS) {
      it(`${adapter}: a throwing, a rejecting and a slow listener change nothing in the response; the failures go to the logger`, async () => {
        const log = capturedLogger();
        let thrown = 0;
        let slowSettled = false;
        const verifier = createResourceVerifier({
          ...source(),
          logger: log.logger,
          onEvent: () => {
            thrown++;
            throw new Error('listener bug');
          },
        });
        verifier.events.on('dpop_rejected', async () => {
          throw new Error('async listener bug');
        });
        let slowDone: () => void = () => {};
        verifier.events.on(
          () =>
            new Promise<void>((resolve) => {
              slowDone = () => {
                slowSettled = true;
                resolve();
              };
            }),
        );
        const server = await app(adapter, verifier, {
          dpop: { publicUrl: PUBLIC, verifier: { replay: new MemoryStore() } },
        });
        try {
          const reply = await call(server.url, '/v1/orders', { token: bound });
          assert.equal(reply.status, 401);
          assert.equal(reply.json.error, 'invalid_dpop_proof');
          assert.match(reply.headers.get('www-authenticate') ?? '', /^DPoP /);
          // The answer came while the slow listener's promise was pending; then every listener ran.
          await new Promise((resolve) => setImmediate(resolve));
          assert.equal(slowSettled, false);
          assert.equal(thrown, 1);
          slowDone();
          await verifier.events.flush();
          const failures = log.lines().filter((line) => line.level === 50);
          assert.equal(failures.length, 2, JSON.stringify(failures));
          for (const line of failures) {
            assert.equal(
              line.msg,
              'baton: an event listener failed (the request it reports was not affected)',
            );
            assert.equal(line.event, 'dpop_rejected');
          }
        } finally {
          await server.close();
          verifier.close();
        }
      });

      it(`${adapter}: an unexpected error (a broken replay cache) is a 500 and goes to the logger, not the console`, async () => {
        const log = capturedLogger();
        const verifier = createResourceVerifier({ ...source(), logger: log.logger });
        class BrokenReplayCache extends MemoryStore {
          override async rememberProofId(): Promise<boolean> {
            throw new TypeError('replay cache bug');
          }
        }
        const server = await app(adapter, verifier, {
          dpop: { publicUrl: PUBLIC, verifier: { replay: new BrokenReplayCache() } },
        });
        const errors: unknown[] = [];
        const consoleError = console.error;
        console.error = (...args: unknown[]) => void errors.push(args);
        try {
          const dpop = await key.proof('GET', `${PUBLIC}/v1/orders`, { accessToken: bound });
          const reply = await call(server.url, '/v1/orders', {
            headers: { authorization: `DPoP ${bound}`, dpop },
          });
          assert.equal(reply.status, 500);
          assert.equal(reply.json.error, 'internal_error');
          const logged = log.lines().filter((line) => line.level === 50);
          assert.equal(logged.length, 1);
          assert.equal(logged[0]!.msg, 'baton: unexpected error while handling a request');
          assert.match(JSON.stringify(logged[0]!.err), /replay cache bug/);
          assert.deepEqual(errors, []);
        } finally {
          console.error = consoleError;
          await server.close();
          verifier.close();
        }
      });
    }
  });

  describe('other refusals at a resource server', () => {
    it('a revoked set that cannot be loaded: one store_unavailable per failed load, at warn', async () => {
      const log = capturedLogger();
      const events: AuthEvent[] = [];
      // The issuer's SQLite file, whose revocations table another connection dropped: a real driver failure.
      const dir = mkdtempSync(join(tmpdir(), 'baton-resource-events-'));
      const path = join(dir, 'sessions.db');
      const store = new SqliteStore({ path });
      const other = openDatabaseFile(path);
      other.exec('DROP TABLE baton_revocations');
      other.close();
      const verifier = createResourceVerifier({
        ...source(),
        revocations: store,
        logger: log.logger,
        onEvent: (event) => void events.push(event),
      });
      try {
        await assert.rejects(verifier.ready, { code: 'store_unavailable' });
        await verifier.events.flush();
        assert.equal(events.length, 1, JSON.stringify(events));
        const event = events[0]!;
        assert.equal(event.type, 'store_unavailable');
        if (event.type !== 'store_unavailable') return;
        assert.equal(event.operation, 'listRevocations');
        assert.equal(event.strategy, 'resource');
        assert.ok(log.lines().some((line) => line.msg === 'baton: store_unavailable' && line.level === 40));
        // A request tries again: one more failed load, one more event.
        const server = await app('express', verifier, {});
        try {
          const reply = await call(server.url, '/v1/orders', { token: bearer });
          assert.equal(reply.status, 503);
          await verifier.events.flush();
          assert.equal(events.filter((e) => e.type === 'store_unavailable').length, 2);
        } finally {
          await server.close();
        }
      } finally {
        verifier.close();
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("a JWKS that cannot be fetched is logged at warn with the URL, never its query's secrets", async () => {
      const log = capturedLogger();
      const closed = await listen(createServer());
      const url = `${closed.url}/.well-known/jwks.json`;
      await closed.close();
      const verifier = createResourceVerifier({
        issuer: ISSUER,
        audience: 'orders-api',
        jwksUrl: `${url}?token=hunter2`,
        logger: log.logger,
      });
      try {
        await assert.rejects(verifier.ready, { code: 'keys_unavailable' });
        const warned = log.lines().filter((line) => line.level === 40);
        assert.equal(warned.length, 1);
        assert.equal(warned[0]!.msg, "baton: the issuer's keys could not be loaded");
        assert.equal(warned[0]!.jwksUrl, url);
        assert.ok(!log.texts().join('\n').includes('hunter2'));
      } finally {
        verifier.close();
      }
    });
  });

  describe('options', () => {
    it('logger, onEvent and unknown keys are checked at construction', () => {
      assert.throws(() => createResourceVerifier({ ...source(), loger: pino() } as never), {
        code: 'invalid_options',
        message: /loger: unknown option; did you mean logger\?/,
      });
      assert.throws(() => createResourceVerifier({ ...source(), jwks: { coldown: 5 } } as never), {
        code: 'invalid_options',
        message: /jwks\.coldown: unknown option; did you mean cooldown\?/,
      });
      assert.throws(() => createResourceVerifier({ ...source(), logger: console } as never), {
        code: 'invalid_options',
        message: /logger must be a logger with debug, info, warn, error and child methods/,
      });
      assert.throws(() => createResourceVerifier({ ...source(), onEvent: 'log' } as never), {
        code: 'invalid_options',
        message: /onEvent must be a function/,
      });
      assert.throws(() => createResourceVerifier({ ...source(), onEvent: [() => {}, 1] } as never), {
        code: 'invalid_options',
      });
      const verifier = createResourceVerifier({ ...source(), onEvent: [() => {}, () => {}] });
      assert.throws(() => verifier.events.on('dpop_reject' as never, () => {}), TypeError);
      verifier.close();
    });

    it("the Fastify plugin leaves Fastify's own register options out of the verifier's", async () => {
      const server = Fastify();
      await server.register(batonResource, { ...source(), prefix: '/v1', logLevel: 'warn' } as never);
      server.get('/orders', { onRequest: server.requireToken() }, async (request) => ({
        sub: request.auth.sub,
      }));
      const reply = await server.inject({ url: '/orders', headers: { authorization: `Bearer ${bearer}` } });
      assert.equal(reply.statusCode, 200, reply.body);
      await server.close();
    });
  });
});
