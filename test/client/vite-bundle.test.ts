/**
 * baton/client survives a real bundler: Vite builds it as an ES library for
 * the browser, the bundle imports nothing from Node, and the built code logs
 * in and calls a protected route on the real demo.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { build } from 'vite';
import type { createAuthClient as CreateAuthClient } from '../../src/client/index.ts';
import { type Harness, startHarness } from '../demo/helpers.ts';

describe('baton-auth/client bundled by Vite', { timeout: 60_000 }, () => {
  let outDir: string;
  let h: Harness;
  before(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'baton-vite-'));
    h = await startHarness({ accessTtl: 60, refreshTtl: 3600 });
  });
  after(async () => {
    await h.close();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('builds to browser ESM with no Node imports, and the bundle works', async () => {
    await build({
      configFile: false,
      logLevel: 'silent',
      root: process.cwd(),
      build: {
        outDir,
        emptyOutDir: true,
        minify: true,
        lib: { entry: resolve('src/client/index.ts'), formats: ['es'], fileName: 'client' },
      },
    });
    const file = readdirSync(outDir).find((name) => name.endsWith('.js'));
    assert.ok(file, 'vite wrote a bundle');
    const code = readFileSync(join(outDir, file), 'utf8');
    assert.doesNotMatch(
      code,
      /from\s*["']node:|require\(["']node:/,
      'no Node built-ins in the browser bundle',
    );

    const bundled = (await import(pathToFileURL(join(outDir, file)).href)) as {
      createAuthClient: typeof CreateAuthClient;
    };
    const auth = bundled.createAuthClient({ baseUrl: h.demo.url, mode: 'bearer' });
    await auth.login('thedude', 'abides');
    const response = await auth.authFetch('/api/protected');
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { sub: string }).sub, '1');
  });
});
