/**
 * baton/client with DPoP in chromium, against the demo run with
 * BATON_DPOP=required: login, refresh and protected calls with proofs signed
 * by a non-extractable WebCrypto key kept in IndexedDB; a token copied out of
 * the page and replayed from Node is refused; a reload keeps the session
 * (tokens in sessionStorage, the key in IndexedDB); logout drops the key.
 * Last, the demo page itself (same origin, so it takes over the origin's key),
 * its race and theft buttons included: their API-client session signs its own
 * proofs, so the grace window and reuse detection show as without DPoP.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type * as ClientModule from '../../src/client/index.ts';
import type { AuthClient } from '../../src/client/index.ts';
import { type Harness, startHarness } from '../demo/helpers.ts';
import {
  browserSkip,
  launch,
  logged,
  openClientPage,
  raceAndTheft,
  serveClientPage,
  withScreenshots,
} from './support.ts';

interface TestWindow {
  baton: typeof ClientModule;
  c: AuthClient;
  bodies: Record<string, unknown>[];
}

const skip = browserSkip();
/** The demo's grace window (s); the demo's clock is a ManualClock, moved past it by the test. */
const GRACE = 5;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('baton-auth/client with DPoP in chromium', { skip, timeout: 60_000 }, () => {
  let h: Harness;
  let browser: Browser;
  let ctx: BrowserContext;
  const pages: Page[] = [];

  before(async () => {
    const port = await freePort();
    h = await startHarness({ port, publicUrl: `http://127.0.0.1:${port}`, dpop: 'required', grace: GRACE });
    browser = await launch();
    ctx = await browser.newContext();
    await serveClientPage(ctx, h.demo.url);
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  /** The page's client: bearer mode, tokens in sessionStorage, DPoP keys in IndexedDB. */
  const setUp = (page: Page) =>
    page.evaluate(() => {
      const w = window as unknown as TestWindow;
      w.bodies = [];
      w.c = w.baton.createAuthClient({
        baseUrl: location.origin,
        mode: 'bearer',
        storage: 'session',
        dpop: true,
        onTokens: (body) => w.bodies.push({ ...body }),
      });
    });

  const protectedStatus = (page: Page) =>
    page.evaluate(async () => (await (window as unknown as TestWindow).c.authFetch('/api/protected')).status);

  it('logs in, refreshes and calls a protected route with proofs; the key cannot be read out', async () => {
    const page = await openClientPage(ctx, h.demo.url);
    pages.push(page);
    await withScreenshots(
      'dpop-login',
      () => pages,
      async () => {
        await setUp(page);
        const tokenType = await page.evaluate(async () => {
          const w = window as unknown as TestWindow;
          await w.c.login('thedude', 'abides');
          return w.bodies.at(-1)?.token_type;
        });
        assert.equal(tokenType, 'DPoP');
        assert.equal(await protectedStatus(page), 200);
        await page.evaluate(() => (window as unknown as TestWindow).c.refresh());
        assert.equal(await protectedStatus(page), 200);
        const extractable = await page.evaluate(
          () =>
            new Promise<string>((resolve) => {
              const open = indexedDB.open('baton-dpop');
              open.onsuccess = () => {
                const tx = open.result.transaction('keys', 'readonly');
                const all = tx.objectStore('keys').getAll();
                all.onsuccess = async () => {
                  const stored = all.result[0] as { pair: CryptoKeyPair } | undefined;
                  if (stored === undefined) return resolve('no key');
                  try {
                    await crypto.subtle.exportKey('jwk', stored.pair.privateKey);
                    resolve('exported');
                  } catch {
                    resolve(`not extractable (${stored.pair.privateKey.algorithm.name})`);
                  }
                };
              };
            }),
        );
        assert.match(extractable, /^not extractable/);
      },
    );
  });

  it('a token copied out of the page and replayed from Node is refused', async () => {
    const page = pages[0]!;
    const [access, refresh] = await page.evaluate(() => {
      const body = (window as unknown as TestWindow).bodies.at(-1)!;
      return [body.access_token as string, body.refresh_token as string];
    });
    const asBearer = await fetch(`${h.demo.url}/api/protected`, {
      headers: { authorization: `Bearer ${access}` },
    });
    assert.equal(asBearer.status, 401);
    assert.match(asBearer.headers.get('www-authenticate') ?? '', /^DPoP /);
    const noProof = await fetch(`${h.demo.url}/api/protected`, {
      headers: { authorization: `DPoP ${access}` },
    });
    assert.equal(noProof.status, 401);
    const stolen = await fetch(`${h.demo.url}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: refresh }),
    });
    assert.equal(stolen.status, 401);
    // The page, which holds the key, goes on.
    assert.equal(await protectedStatus(page), 200);
  });

  it('a reload keeps the session and its key; logout drops the key', async () => {
    const page = pages[0]!;
    await withScreenshots(
      'dpop-reload',
      () => pages,
      async () => {
        await page.reload();
        await page.waitForFunction(() => (window as unknown as { batonReady?: boolean }).batonReady === true);
        await setUp(page);
        const resumed = await page.evaluate(
          async () => (await (window as unknown as TestWindow).c.resume())?.claims.sub,
        );
        assert.equal(resumed, '1');
        assert.equal(await protectedStatus(page), 200);
        await page.evaluate(() => (window as unknown as TestWindow).c.logout());
        const left = await page.evaluate(
          () =>
            new Promise<number>((resolve) => {
              const open = indexedDB.open('baton-dpop');
              open.onsuccess = () => {
                const count = open.result.transaction('keys', 'readonly').objectStore('keys').count();
                count.onsuccess = () => resolve(count.result);
              };
            }),
        );
        assert.equal(left, 0);
      },
    );
  });

  it('the demo page: the session shows as DPoP-bound, and a copied token without the key is refused', async () => {
    const page = await ctx.newPage();
    pages.push(page);
    page.setDefaultTimeout(10_000);
    await withScreenshots(
      'dpop-demo-page',
      () => pages,
      async () => {
        await page.goto(`${h.demo.url}/`);
        await page.locator('body[data-ready="true"]').waitFor();
        await page.getByRole('button', { name: 'Log in', exact: true }).click();
        await page.locator('#who', { hasText: 'user 1' }).waitFor();
        await page.locator('#dpop-status[data-bound="yes"]').waitFor();
        assert.match((await page.locator('#dpop-status').textContent()) ?? '', /DPoP-bound to key/);
        await page.getByRole('button', { name: 'GET /api/protected' }).click();
        await page.locator('#log li[data-path="/api/protected"][data-status="200"]').first().waitFor();
        await page.getByRole('button', { name: 'Use a copied token without the key' }).click();
        await page.locator('#banner', { hasText: 'refused without the key' }).waitFor();

        // The race and theft buttons, on the API-client session, each request with its own
        // proof: the same outcomes as without DPoP.
        await raceAndTheft(page, () => h.clock.advance(GRACE + 1));
        // Every login and refresh of that session carried a valid proof: none was refused for it.
        assert.equal(
          await page.locator('#log li[data-path^="/auth/"][data-code="invalid_dpop_proof"]').count(),
          0,
        );
        assert.equal(await page.locator(logged('/auth/login', 200)).count(), 2);
        await page.getByRole('button', { name: 'Log out', exact: true }).click();
        await page.locator('#who', { hasText: 'Not logged in' }).waitFor();
        await page.close();
        pages.pop();
      },
    );
  });
});
