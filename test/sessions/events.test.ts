// Security events, strategy by strategy and step by step, on the memory
// store and SQLite: each step emits its one event, exactly once, with the
// fields it promises (user, session, client, IP, user agent, reason), and a
// step that fails emits nothing of its own (a store outage is
// store_unavailable). The store is made to fail for real: a closed memory
// store, a closed SQLite database.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type {
  AuthEvent,
  AuthEventType,
  AuthManager,
  RequestContext,
  SessionStore,
  StrategyName,
  TokenPair,
} from '../../src/index.ts';
import { MemoryStore } from '../../src/index.ts';
import { SqliteStore } from '../../src/stores/sqlite.ts';
import { type BaseOptions, strategyHarness } from '../strategies/support.ts';
import { strategyDesigns } from '../support/designs.ts';
import { rejectsWith, type TestUser } from './support.ts';

/** A store kind whose store can be made to fail for real. */
interface BreakableKind {
  name: string;
  make(): { store: SessionStore; cleanup(): void; breakStore(): void };
}

const kinds: BreakableKind[] = [
  {
    name: 'memory',
    make() {
      const store = new MemoryStore();
      return { store, cleanup() {}, breakStore: () => void store.close() };
    },
  },
  {
    name: 'sqlite',
    make() {
      const dir = mkdtempSync(join(tmpdir(), 'baton-events-'));
      const db = new Database(join(dir, 'baton.db'));
      const store = new SqliteStore({ database: db });
      return {
        store,
        breakStore: () => db.close(),
        cleanup() {
          if (db.open) db.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
];

const refreshKey = 'k'.repeat(32);

const designs = strategyDesigns(refreshKey, { rotating: { graceWindow: 10 } }, { revokeRefreshToken: true });

const CONTEXT: RequestContext = { ip: '203.0.113.7', userAgent: 'events-test/1.0', clientId: 'mobile-app' };
const LATER: RequestContext = { ip: '198.51.100.4', userAgent: 'events-test/2.0' };

interface World {
  name: StrategyName;
  manager: AuthManager<TestUser>;
  users: Awaited<ReturnType<typeof strategyHarness>>['users'];
  clock: Awaited<ReturnType<typeof strategyHarness>>['clock'];
  breakStore(): void;
  /** Events emitted since the last call, once delivered. */
  events(): Promise<AuthEvent[]>;
  login(context?: RequestContext): Promise<TokenPair>;
}

async function world(kind: BreakableKind, name: StrategyName, overrides: Partial<BaseOptions> = {}) {
  let breakStore = () => {};
  const h = await strategyHarness(
    {
      name: kind.name,
      make() {
        const made = kind.make();
        breakStore = made.breakStore;
        return made;
      },
    },
    (base) => designs[name]({ ...base, ...overrides }) as never,
  );
  const manager = h.manager as unknown as AuthManager<TestUser>;
  const seen: AuthEvent[] = [];
  manager.events.on((event) => void seen.push(event));
  const w: World = {
    name,
    manager,
    users: h.users,
    clock: h.clock,
    breakStore: () => breakStore(),
    async events() {
      await manager.events.flush();
      return seen.splice(0);
    },
    async login(context = CONTEXT) {
      const pair = await manager.login('thedude', 'abides', context);
      await w.events();
      return pair;
    },
  };
  return { world: w, close: () => h.close() };
}

/** Exactly these events, in order; each matches its expected fields; common fields checked on all. */
function expectEvents(
  w: World,
  events: AuthEvent[],
  expected: (Partial<Record<string, unknown>> & { type: AuthEventType })[],
  context: RequestContext | null = CONTEXT,
): void {
  assert.deepEqual(
    events.map((e) => e.type),
    expected.map((e) => e.type),
    JSON.stringify(events, null, 2),
  );
  events.forEach((event, index) => {
    const want = expected[index]!;
    for (const [field, value] of Object.entries(want)) {
      assert.deepEqual((event as unknown as Record<string, unknown>)[field], value, `${event.type}.${field}`);
    }
    assert.equal(event.strategy, w.name);
    assert.equal(event.time, w.clock.now());
    assert.ok(Object.isFrozen(event), 'events are frozen: one listener cannot change what another sees');
    if (context !== null) {
      assert.equal(event.ip, context.ip ?? null);
      assert.equal(event.userAgent, context.userAgent ?? null);
    }
  });
}

type Step = (w: World) => Promise<void>;

/** The steps every strategy has. */
const common: Record<string, Step> = {
  'login: one login event (reason password)': async (w) => {
    const pair = await w.manager.login('thedude', 'abides', CONTEXT);
    expectEvents(w, await w.events(), [
      {
        type: 'login',
        reason: 'password',
        userId: 'u1',
        sessionId: pair.sessionId,
        clientId: pair.claims.client_id,
      },
    ]);
    if (w.name !== 'jwt' && w.name !== 'single-token') assert.equal(pair.claims.client_id, 'mobile-app');
  },

  'issueSession: one login event (reason issued)': async (w) => {
    const user = w.users.load('u2');
    assert.ok(user);
    const pair = await w.manager.issueSession(user, CONTEXT);
    expectEvents(w, await w.events(), [
      { type: 'login', reason: 'issued', userId: 'u2', sessionId: pair.sessionId },
    ]);
  },

  'wrong password, unknown user, disabled user: one login_failed each, never a login': async (w) => {
    await rejectsWith(w.manager.login('thedude', 'wrong', CONTEXT), 'invalid_credentials');
    expectEvents(w, await w.events(), [
      {
        type: 'login_failed',
        reason: 'invalid_credentials',
        username: 'thedude',
        step: 'login',
        userId: null,
        sessionId: null,
        clientId: 'mobile-app',
      },
    ]);
    await rejectsWith(w.manager.login('nobody', 'abides', CONTEXT), 'invalid_credentials');
    expectEvents(w, await w.events(), [{ type: 'login_failed', username: 'nobody', userId: null }]);
    w.users.byId.get('u1')!.disabled = true;
    await rejectsWith(w.manager.login('thedude', 'abides', CONTEXT), 'invalid_credentials');
    expectEvents(w, await w.events(), [
      { type: 'login_failed', reason: 'user_disabled', username: 'thedude', userId: 'u1' },
    ]);
  },

  'refresh: one refresh event': async (w) => {
    const pair = await w.login();
    await w.manager.refresh(pair.refreshToken, LATER);
    expectEvents(
      w,
      await w.events(),
      [{ type: 'refresh', reason: null, userId: 'u1', sessionId: pair.sessionId }],
      LATER,
    );
  },

  'reauth: one reauth event; a wrong password is login_failed (step reauth), not reauth': async (w) => {
    const pair = await w.login();
    await w.manager.reauthenticate(pair.accessToken, 'abides', LATER);
    expectEvents(
      w,
      await w.events(),
      [{ type: 'reauth', reason: null, userId: 'u1', sessionId: pair.sessionId }],
      LATER,
    );
    await rejectsWith(w.manager.reauthenticate(pair.accessToken, 'wrong', LATER), 'invalid_credentials');
    expectEvents(
      w,
      await w.events(),
      [
        {
          type: 'login_failed',
          reason: 'invalid_credentials',
          step: 'reauth',
          userId: 'u1',
          sessionId: pair.sessionId,
        },
      ],
      LATER,
    );
    // Another user's password is no way to reauthenticate.
    await rejectsWith(
      w.manager.reauthenticate(pair.accessToken, 'calmerthanyouare', LATER),
      'invalid_credentials',
    );
    const events = await w.events();
    assert.ok(events.every((e) => e.type === 'login_failed'));
  },

  'logout (refresh token, then access token of a new login): one logout event each': async (w) => {
    const first = await w.login();
    await w.manager.logout(first.refreshToken, LATER);
    expectEvents(
      w,
      await w.events(),
      [{ type: 'logout', reason: 'logout', userId: 'u1', sessionId: first.sessionId }],
      LATER,
    );
    const second = await w.login();
    await w.manager.logout(second.accessToken, LATER);
    expectEvents(w, await w.events(), [{ type: 'logout', sessionId: second.sessionId }], LATER);
    // A dead token is refused and changes nothing: no event.
    await assert.rejects(w.manager.logout(second.accessToken, LATER));
    assert.deepEqual(await w.events(), []);
  },

  'revokeToken (RFC 7009): one token_revoked, never also a logout; invalid tokens emit nothing': async (
    w,
  ) => {
    const first = await w.login();
    await w.manager.revokeToken(first.accessToken, undefined, LATER);
    expectEvents(
      w,
      await w.events(),
      [
        {
          type: 'token_revoked',
          tokenType: w.name === 'single-token' ? 'refresh_token' : 'access_token',
          userId: 'u1',
          sessionId: first.sessionId,
        },
      ],
      LATER,
    );
    if (w.name !== 'single-token') {
      const second = await w.login();
      await w.manager.revokeToken(second.refreshToken, undefined, LATER);
      expectEvents(
        w,
        await w.events(),
        [{ type: 'token_revoked', tokenType: 'refresh_token', sessionId: second.sessionId }],
        LATER,
      );
    }
    await w.manager.revokeToken('not-a-token', undefined, LATER);
    assert.deepEqual(await w.events(), []);
  },

  'a disabled user at refresh: one user_revoked (reason user_disabled), no refresh': async (w) => {
    const pair = await w.login();
    w.users.byId.get('u1')!.disabled = true;
    await rejectsWith(w.manager.refresh(pair.refreshToken, LATER), 'user_disabled');
    const revokes: Partial<Record<StrategyName, number>> = { rotating: 1, 'per-client': 1, jwt: 1 };
    expectEvents(
      w,
      await w.events(),
      [
        {
          type: 'user_revoked',
          reason: 'user_disabled',
          userId: 'u1',
          sessionId: pair.sessionId,
          count: revokes[w.name] ?? 0,
        },
      ],
      LATER,
    );
  },

  'rate limit: the refused attempt is one rate_limited, with no login_failed': async (w) => {
    for (let i = 0; i < 2; i += 1) {
      await rejectsWith(w.manager.login('thedude', 'wrong', CONTEXT), 'invalid_credentials');
    }
    assert.deepEqual(
      (await w.events()).map((e) => e.type),
      ['login_failed', 'login_failed'],
    );
    await rejectsWith(w.manager.login('thedude', 'abides', CONTEXT), 'too_many_attempts');
    const [event] = await w.events();
    expectEvents(w, event ? [event] : [], [
      { type: 'rate_limited', reason: 'username', username: 'thedude', step: 'login', userId: null },
    ]);
    assert.ok(event?.type === 'rate_limited' && event.retryAfter > 0);
  },

  'store outage at logout: one store_unavailable, no logout': async (w) => {
    const pair = await w.login();
    w.breakStore();
    await rejectsWith(w.manager.logout(pair.refreshToken, LATER), 'store_unavailable');
    const stored = w.name === 'rotating' || w.name === 'per-client';
    const [event] = await w.events().then((events) => {
      assert.deepEqual(
        events.map((e) => e.type),
        ['store_unavailable'],
      );
      return events;
    });
    assert.ok(event?.type === 'store_unavailable');
    assert.equal(event.operation, stored ? 'getSession' : 'addRevocation');
    assert.equal(event.sessionId, pair.sessionId);
    assert.equal(event.strategy, w.name);
    assert.match(event.reason, /closed/);
  },
};

/** Steps of some strategies only: those with the capability, or the rotating strategy's own. */
const some: Record<string, { strategies: StrategyName[]; step: Step }> = {
  'logoutAll: one logout_all with the count and the sessions, no session_revoked': {
    strategies: ['rotating', 'per-client', 'callbacks'],
    async step(w) {
      const first = await w.login();
      const second = await w.login({ ...CONTEXT, clientId: 'desktop-app' });
      const count = await w.manager.logoutAll(second.accessToken, LATER);
      const expectedIds = w.name === 'callbacks' ? [second.sessionId] : [second.sessionId, first.sessionId];
      assert.equal(count, expectedIds.length);
      const events = await w.events();
      expectEvents(
        w,
        events,
        [{ type: 'logout_all', reason: 'logout_all', userId: 'u1', sessionId: second.sessionId, count }],
        LATER,
      );
      const event = events[0];
      assert.ok(event?.type === 'logout_all');
      assert.deepEqual([...event.sessionIds].sort(), [...expectedIds].sort());
    },
  },

  'revokeUser: one user_revoked (reason admin) with the count': {
    strategies: ['rotating', 'per-client'],
    async step(w) {
      const pair = await w.login();
      assert.equal(await w.manager.revokeUser('u1', undefined, LATER), 1);
      expectEvents(
        w,
        await w.events(),
        [
          {
            type: 'user_revoked',
            reason: 'admin',
            userId: 'u1',
            sessionId: null,
            count: 1,
            sessionIds: [pair.sessionId],
          },
        ],
        LATER,
      );
    },
  },

  'revokeSession: one session_revoked; another user’s session emits nothing': {
    strategies: ['rotating', 'per-client'],
    async step(w) {
      const pair = await w.login();
      await rejectsWith(w.manager.revokeSession('u2', pair.sessionId, LATER), 'not_found');
      assert.deepEqual(await w.events(), []);
      await w.manager.revokeSession('u1', pair.sessionId, LATER);
      expectEvents(
        w,
        await w.events(),
        [{ type: 'session_revoked', reason: 'revoked', userId: 'u1', sessionId: pair.sessionId }],
        LATER,
      );
    },
  },

  'implicit refresh: one refresh event (reason implicit)': {
    strategies: ['rotating', 'per-client', 'jwt'],
    async step(w) {
      const pair = await w.login();
      await w.manager.reissueAccessToken(pair.accessToken, LATER);
      expectEvents(
        w,
        await w.events(),
        [{ type: 'refresh', reason: 'implicit', sessionId: pair.sessionId, userId: 'u1' }],
        LATER,
      );
    },
  },

  'grace window: refresh_grace_reuse, not also refresh': {
    strategies: ['rotating'],
    async step(w) {
      const pair = await w.login();
      await w.manager.refresh(pair.refreshToken, CONTEXT);
      assert.deepEqual(
        (await w.events()).map((e) => e.type),
        ['refresh'],
      );
      w.clock.advance(5);
      await w.manager.refresh(pair.refreshToken, LATER);
      expectEvents(
        w,
        await w.events(),
        [{ type: 'refresh_grace_reuse', reason: null, userId: 'u1', sessionId: pair.sessionId }],
        LATER,
      );
    },
  },

  'theft: one refresh_token_reused (the session revoked with it), then nothing for the dead session': {
    strategies: ['rotating'],
    async step(w) {
      const pair = await w.login();
      const next = await w.manager.refresh(pair.refreshToken, CONTEXT);
      await w.events();
      w.clock.advance(11);
      await rejectsWith(w.manager.refresh(pair.refreshToken, LATER), 'refresh_token_reused');
      expectEvents(
        w,
        await w.events(),
        [
          {
            type: 'refresh_token_reused',
            reason: 'refresh_token_reused',
            userId: 'u1',
            sessionId: pair.sessionId,
            clientId: 'mobile-app',
            generation: 0,
            currentGeneration: 1,
          },
        ],
        LATER,
      );
      // The successor died with the session: refused, and no event (nothing happened).
      await rejectsWith(w.manager.refresh(next.refreshToken, LATER), 'token_revoked');
      assert.deepEqual(await w.events(), []);
    },
  },

  'per-client createToken and deleteToken: login (client_token), session_revoked for the replaced and the deleted':
    {
      strategies: ['per-client'],
      async step(w) {
        const tokens = w.manager.clientTokens;
        assert.ok(tokens);
        const created = await tokens.createToken('u1', 'cli', CONTEXT);
        expectEvents(w, await w.events(), [
          { type: 'login', reason: 'client_token', userId: 'u1', sessionId: created.id, clientId: 'cli' },
        ]);
        const replacement = await tokens.createToken('u1', 'cli', CONTEXT);
        expectEvents(w, await w.events(), [
          { type: 'session_revoked', reason: 'revoked', sessionId: created.id },
          { type: 'login', reason: 'client_token', sessionId: replacement.id },
        ]);
        await tokens.deleteToken('u1', replacement.id, LATER);
        expectEvents(
          w,
          await w.events(),
          [{ type: 'session_revoked', reason: 'revoked', sessionId: replacement.id }],
          LATER,
        );
      },
    },

  'store outage at login: one store_unavailable naming the user and the request, no login': {
    strategies: ['rotating', 'per-client'],
    async step(w) {
      w.breakStore();
      await rejectsWith(w.manager.login('thedude', 'abides', CONTEXT), 'store_unavailable');
      const events = await w.events();
      // The event knows what the failed call was about: the new row (user, request) or the user's list.
      expectEvents(w, events, [{ type: 'store_unavailable', userId: 'u1' }], null);
      const [event] = events;
      assert.ok(event?.type === 'store_unavailable');
      if (w.name === 'rotating') {
        assert.equal(event.operation, 'createSession');
        assert.equal(event.ip, CONTEXT.ip);
        assert.equal(event.userAgent, CONTEXT.userAgent);
        assert.equal(event.clientId, 'mobile-app');
      } else {
        assert.equal(event.operation, 'listSessions');
      }
    },
  },
};

for (const kind of kinds) {
  for (const name of Object.keys(designs) as StrategyName[]) {
    describe(`events: the ${name} strategy (${kind.name})`, () => {
      const closing: (() => Promise<void>)[] = [];
      after(async () => {
        for (const close of closing) await close();
      });
      const run = async (step: Step, overrides?: Partial<BaseOptions>) => {
        const made = await world(kind, name, overrides);
        closing.push(made.close);
        await step(made.world);
      };
      for (const [title, step] of Object.entries(common)) {
        const overrides = title.startsWith('rate limit')
          ? { rateLimit: { perUsername: 2, perIp: 100, window: 60 } }
          : undefined;
        it(title, () => run(step, overrides as Partial<BaseOptions>));
      }
      for (const [title, { strategies, step }] of Object.entries(some)) {
        if (strategies.includes(name)) it(title, () => run(step));
      }
    });
  }
}
