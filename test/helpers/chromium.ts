// Debian's Chromium, headless, driven by playwright-core: every page sxarchive renders is
// opened in a real browser by the tests. Missing Chromium fails the test (never a skip).
import { existsSync } from 'node:fs';
import type { ExecutionContext } from 'ava';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Without the background-networking flags Chromium keeps calling out to Google, which this network refuses. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchChromium(t: ExecutionContext): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (./setup.sh --test does)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  t.teardown(() => browser.close());
  return browser;
}

/** What a page did that a test must see: console errors, dialogs, requests that failed or went elsewhere. */
export interface PageWatch {
  consoleErrors: string[];
  dialogs: string[];
  failedRequests: string[];
  requests: string[];
}

export async function watchedPage(browser: Browser): Promise<{ page: Page; watch: PageWatch }> {
  const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
  const watch: PageWatch = { consoleErrors: [], dialogs: [], failedRequests: [], requests: [] };
  page.on('console', (m) => { if (m.type() === 'error') watch.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => watch.consoleErrors.push(e.message));
  page.on('dialog', (d) => { watch.dialogs.push(d.message()); void d.dismiss(); });
  page.on('requestfailed', (r) => watch.failedRequests.push(r.url()));
  page.on('request', (r) => watch.requests.push(r.url()));
  return { page, watch };
}
