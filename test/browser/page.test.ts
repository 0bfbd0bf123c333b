/**
 * The demo's web page, served at / by the demo, driven in chromium: login,
 * live timers, access expiry then a call that refreshes, the security events
 * panel (login and refresh, from the audit trail), reuse detection,
 * disable-user, logout clearing the cookies. Saves test-results/demo.png.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { systemClock } from '../../src/index.ts';
import { type Harness, startHarness } from '../demo/helpers.ts';
import { browserSkip, keepNames, launch, logged, RESULTS, raceAndTheft, withScreenshots } from './support.ts';

const skip = browserSkip();
const ACCESS_TTL = 3;
const GRACE = 1;

describe('demo page in chromium', { skip, timeout: 60_000 }, () => {
  let h: Harness;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  const cookieBodies: Record<string, unknown>[] = [];

  before(async () => {
    h = await startHarness({
      clock: systemClock,
      accessTtl: ACCESS_TTL,
      refreshTtl: 300,
      grace: GRACE,
      cookies: true,
    });
    browser = await launch();
    ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await keepNames(ctx);
    page = await ctx.newPage();
    page.setDefaultTimeout(10_000);
    // Bodies of the page's own token responses: its cookie login and its cookie refreshes (no request body).
    page.on('response', (response) => {
      const request = response.request();
      const path = new URL(response.url()).pathname;
      const cookieLogin = path === '/auth/login' && request.headers()['baton-transfer'] === 'cookie';
      const cookieRefresh = path === '/auth/refresh' && !request.postData();
      if ((cookieLogin || cookieRefresh) && response.status() === 200) {
        void response.json().then((body: Record<string, unknown>) => cookieBodies.push(body));
      }
    });
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  const count = (selector: string) => page.locator(selector).count();
  const seconds = async (id: string) => Number((await page.locator(id).textContent())?.replace(/s$/, ''));

  async function loginAs(username: string, password: string): Promise<void> {
    await page.getByLabel('Username', { exact: true }).fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
  }

  it('drives every flow of the page', async () => {
    await withScreenshots(
      'demo-page',
      () => [page],
      async () => {
        await page.goto(`${h.demo.url}/`);
        await page.locator('body[data-ready="true"]').waitFor();
        assert.equal(await page.title(), 'Baton demo: API tool');

        // Log in; both timers count down.
        await loginAs('thedude', 'abides');
        await page.locator('#who', { hasText: 'user 1' }).waitFor();
        assert.match((await page.locator('#claims').textContent()) ?? '', /"sub": "1"/);
        assert.equal(await page.locator('#access-timer').getAttribute('data-state'), 'live');
        const session1 = await seconds('#session-left').catch(() => Number.NaN);
        const access1 = await seconds('#access-left');
        assert.ok(access1 > 0 && access1 <= ACCESS_TTL + 1, `access ${access1}`);
        await page.waitForTimeout(1100);
        assert.ok(
          (await seconds('#access-left')) < access1 ||
            (await page.locator('#access-timer[data-state="expired"]').count()) === 1,
        );
        const sessionText = (await page.locator('#session-left').textContent()) ?? '';
        assert.match(sessionText, /^\d+m \d+s$|^\d+s$/, sessionText);
        void session1;
        assert.equal(await count('#sessions li'), 1);

        // The access token expires (the timer turns red); a protected call refreshes first and succeeds.
        await page
          .locator('#access-timer[data-state="expired"]')
          .waitFor({ timeout: (ACCESS_TTL + 2) * 1000 });
        const color = await page.locator('#access-left').evaluate((el) => getComputedStyle(el).color);
        assert.equal(color, 'rgb(179, 38, 30)');
        // The events panel polls with the cookies as they are: it never refreshes by itself, it pauses.
        await page.locator('#events-status', { hasText: 'Paused' }).waitFor({ timeout: 5_000 });
        const refreshesBefore = await count(logged('/auth/refresh', 200));
        await page.getByRole('button', { name: 'GET /api/protected' }).click();
        await page.locator(logged('/api/protected', 200)).first().waitFor();
        assert.equal(await count(logged('/auth/refresh', 200)), refreshesBefore + 1);
        assert.equal(await page.locator('#access-timer').getAttribute('data-state'), 'live');

        // The events panel (GET /api/events, read from the demo's audit trail) lists the login and
        // that refresh, newest first, both of this session.
        await page.locator('#events li[data-type="refresh"]').waitFor({ timeout: 5_000 });
        const types = await page
          .locator('#events li')
          .evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.type));
        assert.deepEqual(types, ['refresh', 'login']);
        assert.equal(await count('#events li[data-current="true"]'), 2);
        assert.match(
          (await page.locator('#events li').first().textContent()) ?? '',
          /Tokens refreshed.*session/,
        );
        assert.match((await page.locator('#events-status').textContent()) ?? '', /^Live: the last 2 events/);

        // Five refreshes at once converge on one successor (grace window); reuse, on the
        // API-client session, revokes it. The page's own session (cookies) is another one, and lives on.
        await raceAndTheft(page, () => page.waitForTimeout(GRACE * 1000 + 500));
        assert.match((await page.locator('#who').textContent()) ?? '', /user 1/);

        // The page's own logins and refreshes never carried a token in their bodies.
        assert.ok(cookieBodies.length >= 2, `${cookieBodies.length} cookie-transfer responses`);
        for (const body of cookieBodies) {
          assert.equal(body.access_token, undefined, JSON.stringify(body));
          assert.equal(body.refresh_token, undefined, JSON.stringify(body));
        }

        // Walter disables thedude, whose login then fails.
        await page.getByRole('button', { name: 'walter / calmerthanyouare' }).click();
        await page.locator('#who', { hasText: 'user 2' }).waitFor();
        await page.getByLabel('User to disable').fill('thedude');
        await page.getByRole('button', { name: 'Disable user' }).click();
        await page.locator(logged('/api/admin/disable-user', 200)).waitFor();
        assert.match((await page.locator('#banner').textContent()) ?? '', /"disabled":true/);
        await page.getByRole('button', { name: 'GET /api/protected' }).click();
        await page.locator(logged('/api/protected', 200)).nth(1).waitFor();
        await page.getByRole('button', { name: 'Reload list' }).click();
        mkdirSync(RESULTS, { recursive: true });
        await page.screenshot({ path: join(RESULTS, 'demo.png'), fullPage: true });
        // The README's picture, refreshed on request, so that test runs leave the tree clean.
        if (process.env.BATON_UPDATE_SCREENSHOT === '1') {
          mkdirSync('docs', { recursive: true });
          await page.screenshot({ path: join('docs', 'demo.png'), fullPage: true });
        }

        await loginAs('thedude', 'abides');
        await page.locator('#log li[data-path="/auth/login"]:not([data-status="200"])').waitFor();
        const failed = page.locator('#log li[data-path="/auth/login"]:not([data-status="200"])').first();
        assert.match((await failed.getAttribute('data-status')) ?? '', /^40[13]$/);

        // Walter logs out: the cookies are gone.
        await page.getByRole('button', { name: 'Log out', exact: true }).click();
        await page.locator('body[data-session-end="logged_out"]').waitFor();
        const left = (await ctx.cookies()).map((c) => c.name).filter((n) => n.includes('baton_'));
        assert.deepEqual(left, []);

        // Readable at phone width: nothing wider than the screen.
        await page.setViewportSize({ width: 375, height: 800 });
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(overflow <= 375, `page is ${overflow}px wide at 375px`);
      },
    );
  });
});
