/**
 * Browser tests: Debian's chromium driven by playwright-core (no downloaded
 * browsers). Without /usr/bin/chromium the tests skip with a message, unless
 * BATON_REQUIRE_SERVICES=1, where they fail.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.BATON_CHROMIUM ?? '/usr/bin/chromium';
export const RESULTS = 'test-results';

/** undefined when the browser is there; otherwise the skip message (or a throw under BATON_REQUIRE_SERVICES=1). */
export function browserSkip(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const message = `chromium not found at ${CHROMIUM}: browser tests skipped (apt-get install chromium)`;
  if (process.env.BATON_REQUIRE_SERVICES === '1') throw new Error(message);
  console.warn(`# ${message}`);
  return message;
}

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    timeout: 20_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

let bundle: Promise<string> | undefined;

/** baton/client bundled for the browser (ESM), as the test page imports it. */
export function clientBundle(): Promise<string> {
  bundle ??= build({
    entryPoints: ['src/client/index.ts'],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  }).then((result) => result.outputFiles[0]!.text);
  return bundle;
}

export const TEST_PAGE = '/__client-test/';

/**
 * Serves, on the demo's own origin, a blank page that loads baton/client as
 * `window.baton`: requests under TEST_PAGE are answered by the test, all
 * others reach the real demo server.
 */
export async function serveClientPage(context: BrowserContext, origin: string): Promise<void> {
  const code = await clientBundle();
  await keepNames(context);
  await context.route(`${origin}${TEST_PAGE}**`, (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path.endsWith('/client.js')) {
      return route.fulfill({ status: 200, contentType: 'text/javascript', body: code });
    }
    return route.fulfill({
      status: 200,
      contentType: 'text/html',
      body: `<!doctype html><title>client test</title><script type="module">
        import * as baton from './client.js'; window.baton = baton; window.batonReady = true;
      </script>`,
    });
  });
}

/** tsx compiles test files with esbuild's keepNames, so functions passed to page.evaluate call `__name`. */
export async function keepNames(context: BrowserContext): Promise<void> {
  await context.addInitScript('globalThis.__name = (f) => f;');
}

export async function openClientPage(context: BrowserContext, origin: string): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(`${origin}${TEST_PAGE}`);
  await page.waitForFunction(() => (window as unknown as { batonReady?: boolean }).batonReady === true);
  return page;
}

/** Runs `body`; on failure saves a screenshot of every page into test-results/ and rethrows. */
export async function withScreenshots(
  name: string,
  pages: () => Page[],
  body: () => Promise<void>,
): Promise<void> {
  try {
    await body();
  } catch (error) {
    mkdirSync(RESULTS, { recursive: true });
    let i = 0;
    for (const page of pages()) {
      const file = join(RESULTS, `${name.replace(/[^a-z0-9]+/gi, '-')}-${i++}.png`);
      await page.screenshot({ path: file, fullPage: true, timeout: 5_000 }).catch(() => undefined);
      console.error(`screenshot: ${file}`);
    }
    throw error;
  }
}

/** The demo page's request log entry for a path and status (and error code). */
export function logged(path: string, status: number, code?: string): string {
  return `#log li[data-path="${path}"][data-status="${status}"]${code ? `[data-code="${code}"]` : ''}`;
}

/**
 * The demo page's race and theft buttons, on its API-client session: five
 * refreshes at once converge on one successor (grace window); a replay inside
 * the grace window is answered; after `pastGrace`, the same replay is reuse,
 * and that session is revoked.
 */
export async function raceAndTheft(page: Page, pastGrace: () => Promise<void> | void): Promise<void> {
  await page.getByRole('button', { name: '5 refreshes at once' }).click();
  await page.locator('#banner', { hasText: 'distinct successor' }).waitFor();
  assert.match(
    (await page.locator('#banner').textContent()) ?? '',
    /5 of 5 refreshes succeeded with 1 distinct/,
  );
  await page.getByRole('button', { name: 'Replay the previous refresh token' }).click();
  await page.locator('#banner', { hasText: 'inside the grace window' }).waitFor();
  await pastGrace();
  await page.getByRole('button', { name: 'Replay the previous refresh token' }).click();
  await page.locator(logged('/auth/refresh', 401, 'refresh_token_reused')).waitFor();
  await page.locator('body[data-replay="refresh_token_reused"]').waitFor();
  assert.match((await page.locator('#banner').textContent()) ?? '', /revoked/i);
}
