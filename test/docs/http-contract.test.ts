/**
 * docs/http-contract.md and the README's Routes table name every route the
 * HTTP layer serves (the standard routes and the per-client strategy's), and
 * the contract names every error code a client can receive, so a new route
 * or code cannot ship undocumented.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createAuthManager, generateSigningKey, MemoryStore, SessionManager } from 'baton-auth';
import { createAuthHandler } from 'baton-auth/http';
import { THROWN_CODES } from '../../scripts/options-table.ts';
import { ERROR_STATUS, wireCodeOf } from '../../src/http/errors.ts';
import { createPerClientHandler } from '../../src/http/per-client-routes.ts';
import type { ErrorCode } from '../../src/index.ts';

const contract = readFileSync('docs/http-contract.md', 'utf8');
const readme = readFileSync('README.md', 'utf8');
const routesSection = readme.slice(readme.indexOf('\n## Routes\n'), readme.indexOf('\n## Options\n'));

async function managerOptions() {
  return {
    issuer: 'https://issuer.example',
    audience: 'api',
    keys: [await generateSigningKey('EdDSA')],
    refreshKey: randomBytes(32),
    store: new MemoryStore(),
    loadUser: (id: string) => ({ id }),
  };
}

describe('docs/http-contract.md', () => {
  it('documents every route of createAuthHandler, and the README lists them under "Routes"', async () => {
    const manager = new SessionManager(await managerOptions());
    const paths = createAuthHandler(manager).paths;
    assert.ok(paths.length >= 12);
    for (const path of paths) {
      assert.ok(contract.includes(`${path}\``) || contract.includes(`${path} `), `contract: ${path}`);
      assert.ok(routesSection.includes(`${path}\``), `README Routes: ${path}`);
    }
    await manager.close();
  });

  it("documents the per-client strategy's own routes", async () => {
    const manager = createAuthManager({ strategy: 'per-client', ...(await managerOptions()) });
    const standard = new Set(createAuthHandler(manager).paths);
    const own = createPerClientHandler(manager).paths.filter((path) => !standard.has(path));
    assert.ok(own.length >= 3);
    for (const path of own) assert.ok(contract.includes(`\`${path}`), `contract: ${path}`);
    await manager.close();
  });

  it('names every error code a client can receive, with its status', () => {
    const sent = (Object.keys(ERROR_STATUS) as ErrorCode[]).filter(
      // Not those sent under another code (`invalid_request`), nor the setup errors never sent.
      (code) => wireCodeOf(code) === code && !THROWN_CODES.has(code),
    );
    for (const code of sent) {
      const status = ERROR_STATUS[code];
      assert.match(contract, new RegExp(`\\| ${status} \\| [^\\n]*\`${code}\``), `${code} (${status})`);
    }
  });

  it('is linked from the README', () => {
    assert.match(readme, /\]\(docs\/http-contract\.md/);
    assert.doesNotMatch(readme, /DESIGN\.md/);
  });
});
