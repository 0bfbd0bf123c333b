// The strategy family: every strategy is an AuthManager on one base, told
// apart by `strategy` and its declared `capabilities`, never by which
// methods it happens to have. What a strategy declares it cannot do answers
// 400 invalid_request saying why; what it declares it can do works.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { createAuthHandler } from '../../src/http/index.ts';
import { createPerClientHandler } from '../../src/http/per-client-routes.ts';
import type { AuthManager, StrategyCapabilities, StrategyName } from '../../src/index.ts';
import { BatonError, SessionManager } from '../../src/index.ts';
import { storeKinds } from '../sessions/support.ts';
import { strategyDesigns } from '../support/designs.ts';
import { strategyHarness } from './support.ts';

const refreshKey = randomBytes(32);
const memory = storeKinds.find((kind) => kind.name === 'memory');
assert.ok(memory);

const designs = strategyDesigns(refreshKey);

/** What each capability unlocks, called with live tokens of a logged-in user. */
const probes: Record<
  Exclude<keyof StrategyCapabilities, 'clientTokens'>,
  (manager: AuthManager, tokens: { access: string; userId: string; sid: string }) => Promise<unknown>
> = {
  listSessions: (m, t) => m.listSessions(t.userId, t.sid),
  logoutAll: (m, t) => m.logoutAll(t.access),
  revokeUser: (m, t) => m.revokeUser(t.userId),
  implicitRefresh: (m, t) => m.reissueAccessToken(t.access),
};

async function outcome(run: () => Promise<unknown>): Promise<'works' | 'unsupported' | string> {
  try {
    await run();
    return 'works';
  } catch (error) {
    if (
      error instanceof BatonError &&
      error.code === 'invalid_request' &&
      /is not available with the/.test(error.message)
    ) {
      return 'unsupported';
    }
    return error instanceof BatonError ? error.code : String(error);
  }
}

for (const [name, design] of Object.entries(designs) as [StrategyName, (typeof designs)[StrategyName]][]) {
  describe(`the ${name} strategy`, () => {
    const closing: (() => Promise<void>)[] = [];
    after(async () => {
      for (const close of closing) await close();
    });
    const fresh = async () => {
      const h = await strategyHarness(memory, design);
      closing.push(() => h.close());
      const pair = await h.manager.login('thedude', 'abides');
      return {
        manager: h.manager as AuthManager,
        tokens: { access: pair.accessToken, userId: pair.claims.sub, sid: pair.sessionId },
      };
    };

    it('names itself and declares its capabilities', async () => {
      const { manager } = await fresh();
      assert.equal(manager.strategy, name);
      assert.deepEqual(Object.keys(manager.capabilities).sort(), [
        'clientTokens',
        'implicitRefresh',
        'listSessions',
        'logoutAll',
        'revokeUser',
      ]);
      assert.equal(manager.capabilities.clientTokens, manager.clientTokens !== undefined);
    });

    for (const [capability, probe] of Object.entries(probes)) {
      it(`does what it declares of ${capability}, and refuses it with a reason otherwise`, async () => {
        const { manager, tokens } = await fresh();
        const declared = manager.capabilities[capability as keyof StrategyCapabilities];
        assert.equal(await outcome(() => probe(manager, tokens)), declared ? 'works' : 'unsupported');
      });
    }

    it("is described by the README's capability table", async () => {
      const { manager } = await fresh();
      const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
      const header = readme.split('\n').find((line) => line.startsWith('| strategy | `listSessions`'));
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
      assert.ok(header && row, 'README has the capability table and a row for this strategy');
      const cells = (line: string) =>
        line
          .split('|')
          .slice(2, -1)
          .map((cell) => cell.trim());
      const columns = cells(header).map((cell) => cell.replaceAll('`', ''));
      const documented = Object.fromEntries(
        columns.map((column, i) => [column, cells(row)[i]?.startsWith('yes')]),
      );
      assert.deepEqual(documented, { ...manager.capabilities });
    });

    it('serves the per-client routes exactly when it declares clientTokens', async () => {
      const { manager } = await fresh();
      const standard = new Set(createAuthHandler(manager).paths);
      if (manager.capabilities.clientTokens) {
        const own = createPerClientHandler(manager).paths.filter((path) => !standard.has(path));
        assert.ok(own.length > 0);
      } else {
        assert.throws(() => createPerClientHandler(manager), /per-client manager/);
      }
    });
  });
}

it('SessionManager is the rotating strategy of the family', async () => {
  const h = await strategyHarness(memory, designs.rotating);
  try {
    assert.ok(h.manager instanceof SessionManager);
    assert.equal(h.manager.strategy, 'rotating');
  } finally {
    await h.close();
  }
});
