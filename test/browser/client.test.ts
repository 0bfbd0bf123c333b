/**
 * baton/client in a real browser, against the real demo server: single-flight
 * refresh, two tabs sharing one session (cookie mode), one refresh for
 * concurrent expiry in both tabs (counted at the server), and the cookie
 * attributes as the browser sees them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type * as ClientModule from '../../src/client/index.ts';
import type { AuthClient, SessionEndReason } from '../../src/client/index.ts';
import { type Harness, startHarness } from '../demo/helpers.ts';
import { browserSkip, launch, openClientPage, serveClientPage, withScreenshots } from './support.ts';

interface TestWindow {
  baton: typeof ClientModule;
  c: AuthClient;
  ends: SessionEndReason[];
  changes: number;
  /** Every token response body page script saw. */
  bodies: Record<string, unknown>[];
}

const skip = browserSkip();
const ACCESS_TTL = 60;

describe('baton-auth/client in chromium', { skip, timeout: 60_000 }, () => {
  let h: Harness;
  let browser: Browser;
  let refreshes = 0;
  const pages: Page[] = [];

  before(async () => {
    h = await startHarness({ accessTtl: ACCESS_TTL, refreshTtl: 3600, cookies: { implicitRefresh: false } });
    const manager = h.demo.manager;
    const original = manager.refresh.bind(manager);
    manager.refresh = (...args: Parameters<typeof original>) => {
      refreshes++;
      return original(...args);
    };
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  async function context(): Promise<BrowserContext> {
    const ctx = await browser.newContext();
    await serveClientPage(ctx, h.demo.url);
    return ctx;
  }

  async function open(ctx: BrowserContext, mode: 'bearer' | 'cookie'): Promise<Page> {
    const page = await openClientPage(ctx, h.demo.url);
    pages.push(page);
    await page.evaluate((mode) => {
      const w = window as unknown as TestWindow;
      w.ends = [];
      w.changes = 0;
      w.bodies = [];
      w.c = w.baton.createAuthClient({
        baseUrl: location.origin,
        mode,
        onSessionEnd: (reason) => w.ends.push(reason),
        onTokens: (body) => w.bodies.push({ ...body }),
      });
      w.c.subscribe(() => {
        w.changes++;
      });
    }, mode);
    return page;
  }

  const login = (page: Page, username = 'thedude', password = 'abides') =>
    page.evaluate(
      async ([u, p]) => (await (window as unknown as TestWindow).c.login(u!, p!)).claims.sub,
      [username, password],
    );

  /** Calls /api/protected `n` times at once in the page; returns the statuses. */
  const burst = (page: Page, n: number) =>
    page.evaluate(async (n) => {
      const w = window as unknown as TestWindow;
      const responses = await Promise.all(Array.from({ length: n }, () => w.c.authFetch('/api/protected')));
      return responses.map((r) => r.status);
    }, n);

  const jti = (page: Page) =>
    page.evaluate(() => (window as unknown as TestWindow).c.claims()?.jti as string | undefined);

  it('single-flight: 10 concurrent authFetch calls after expiry make one refresh request', async () => {
    const ctx = await context();
    const page = await open(ctx, 'bearer');
    await withScreenshots(
      'browser-single-flight',
      () => [page],
      async () => {
        assert.equal(await login(page), '1');
        // The server's clock jumps past expiry; the browser's does not, so all ten get 401 token_expired.
        h.clock.advance(ACCESS_TTL + 1);
        refreshes = 0;
        assert.deepEqual(await burst(page, 10), Array(10).fill(200));
        assert.equal(refreshes, 1);
      },
    );
    await ctx.close();
  });

  it('two tabs: a refresh in one reaches the other; concurrent expiry in both makes one refresh', async () => {
    const ctx = await context();
    const a = await open(ctx, 'cookie');
    const b = await open(ctx, 'cookie');
    await withScreenshots(
      'browser-two-tabs',
      () => [a, b],
      async () => {
        await login(a);
        // B never logged in: it adopts A's session through the BroadcastChannel.
        await b.waitForFunction(() => (window as unknown as TestWindow).c.claims() !== null);
        assert.equal(await jti(b), await jti(a));

        refreshes = 0;
        await a.evaluate(() => (window as unknown as TestWindow).c.refresh());
        assert.equal(refreshes, 1);
        const fresh = await jti(a);
        await b.waitForFunction((j) => (window as unknown as TestWindow).c.claims()?.jti === j, fresh);
        assert.equal((await burst(b, 1))[0], 200);

        // Both tabs' access tokens expire together; each fires calls at once.
        h.clock.advance(ACCESS_TTL + 1);
        refreshes = 0;
        const [fromA, fromB] = await Promise.all([burst(a, 5), burst(b, 5)]);
        assert.deepEqual([...fromA!, ...fromB!], Array(10).fill(200));
        assert.equal(refreshes, 1, 'one refresh request for both tabs');
        assert.equal(await jti(a), await jti(b));
        assert.deepEqual(await a.evaluate(() => (window as unknown as TestWindow).ends), []);

        // Logout in one tab ends the session in both.
        await a.evaluate(() => (window as unknown as TestWindow).c.logout());
        await b.waitForFunction(() => (window as unknown as TestWindow).ends.includes('logged_out'));
        assert.equal(await jti(b), undefined);
      },
    );
    await ctx.close();
  });

  it('cookie mode: tokens in __Host-/__Secure- HttpOnly cookies and never in a body page script can read; CSRF cookie readable', async () => {
    const ctx = await context();
    const page = await open(ctx, 'cookie');
    await withScreenshots(
      'browser-cookies',
      () => [page],
      async () => {
        await login(page, 'walter', 'calmerthanyouare');
        const cookies = new Map((await ctx.cookies()).map((c) => [c.name, c]));
        const access = cookies.get('__Host-baton_access');
        const refresh = cookies.get('__Secure-baton_refresh');
        const csrf = cookies.get('__Host-baton_csrf');
        assert.ok(access && refresh && csrf, [...cookies.keys()].join(','));
        assert.equal(access.httpOnly, true);
        assert.equal(refresh.httpOnly, true);
        assert.equal(csrf.httpOnly, false);
        for (const c of [access, refresh, csrf]) {
          assert.equal(c.secure, true, c.name);
          assert.equal(c.sameSite, 'Lax', c.name);
        }
        assert.equal(access.path, '/');
        assert.equal(refresh.path, '/auth');
        const visible = await page.evaluate(() => document.cookie);
        assert.doesNotMatch(visible, /baton_access|baton_refresh/);
        assert.match(visible, /__Host-baton_csrf=/);
        // An unsafe call works only with the CSRF header, which authFetch adds.
        const raw = await page.evaluate(async () => {
          const res = await fetch('/api/sensitive', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{}',
          });
          return ((await res.json()) as { error: string }).error;
        });
        assert.equal(raw, 'csrf_failed');
        const viaClient = await page.evaluate(async () => {
          const res = await (window as unknown as TestWindow).c.authFetch('/api/sensitive', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{}',
          });
          return res.status;
        });
        assert.equal(viaClient, 200);
        // The login and a refresh answered with cookies only: no token in any body page script saw.
        const state = await page.evaluate(
          async () => (await (window as unknown as TestWindow).c.refresh()).claims.sub,
        );
        assert.equal(state, '2');
        const bodies = await page.evaluate(() => (window as unknown as TestWindow).bodies);
        assert.equal(bodies.length, 2);
        for (const body of bodies) {
          assert.equal(body.access_token, undefined, JSON.stringify(body));
          assert.equal(body.refresh_token, undefined, JSON.stringify(body));
          assert.equal(typeof body.csrf_token, 'string');
        }
        assert.notEqual(bodies[1]?.csrf_token, bodies[0]?.csrf_token, 'a new CSRF value at every refresh');
        assert.doesNotMatch(JSON.stringify(bodies), new RegExp(refresh.value.replace(/\./g, '\\.')));
        // Reauth by the cookie: a fresh access cookie, the body again without tokens.
        const fresh = await page.evaluate(async () => {
          const w = window as unknown as TestWindow;
          await w.c.reauth('calmerthanyouare');
          const res = await w.c.authFetch('/api/sensitive', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{}',
          });
          return { status: res.status, body: w.bodies.at(-1) };
        });
        assert.equal(fresh.status, 200);
        assert.equal(fresh.body?.access_token, undefined);
        assert.equal(fresh.body?.claims && (fresh.body.claims as { fresh?: unknown }).fresh !== false, true);
        await page.evaluate(() => (window as unknown as TestWindow).c.logout());
        const left = (await ctx.cookies()).map((c) => c.name).filter((n) => n.includes('baton_'));
        assert.deepEqual(left, []);
      },
    );
    await ctx.close();
  });
});
