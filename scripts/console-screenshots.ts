// Writes a screenshot of each page of the web console to docs/images/console-*.png, shown in
// docs/console.md. For now against the FIXTURE API of the front-end tests
// (test/support/browser-fixture-api.ts), so the pictures show the fixture's small mesh.
// Needs the console built (`npm run build:console`) and Chromium (scripts/setup.sh).
// Run: npm run screenshots:console
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'puppeteer-core';
import { startFixtureApi } from '../test/support/browser-fixture-api.js';
import { BROWSER_LIMITS, startBrowser, stopBrowser } from '../test/support/browser.js';

const OUT = fileURLToPath(new URL('../../docs/images/', import.meta.url));
const VIEWPORT = { width: 1280, height: 800 };
/** Full-page shots are cut at this height so that a long list stays a picture. */
const MAX_HEIGHT = 1600;

interface Shot {
  file: string;
  path: string;
  dark?: boolean;
  /** What to do on the page before the picture. */
  prepare?: (page: Page) => Promise<void>;
}

const SHOTS: Shot[] = [
  { file: 'console-graph.png', path: '/graph', prepare: async (p) => {
    await p.waitForSelector('[data-testid="graph-canvas"][data-ready="1"]');
    await p.evaluate(`[...document.querySelectorAll('table.edges tbody tr')].find((r) => r.innerText.includes('shop/client-5c7b9')).querySelector('button').click()`);
  } },
  { file: 'console-graph-dark.png', path: '/graph', dark: true, prepare: (p) => p.waitForSelector('[data-testid="graph-canvas"][data-ready="1"]').then(() => undefined) },
  { file: 'console-workloads.png', path: '/workloads' },
  { file: 'console-workload.png', path: '/workloads/shop/client-5c7b9' },
  { file: 'console-services.png', path: '/services' },
  { file: 'console-service.png', path: '/services/shop/echo', prepare: async (p) => {
    await p.locator('#weight-echo-v1').fill('90');
    await p.locator('#weight-echo-v2').fill('10');
    await p.click('form.weights button[type="submit"]');
    await p.waitForSelector('form.weights pre.object');
  } },
  { file: 'console-policies.png', path: '/policies', prepare: async (p) => {
    await p.locator('form.explain-form input[name="from"]').fill('spiffe://cluster.local/ns/shop/sa/client');
    await p.locator('form.explain-form input[name="to"]').fill('shop/echo');
    await p.locator('form.explain-form input[name="port"]').fill('8080');
    await p.locator('form.explain-form input[name="method"]').fill('GET');
    await p.locator('form.explain-form input[name="path"]').fill('/admin/users');
    await p.click('form.explain-form button[type="submit"]');
    await p.waitForSelector('.decision');
  } },
  { file: 'console-flows.png', path: '/flows', prepare: (p) => p.waitForSelector('[data-live="live"]').then(() => undefined) },
  { file: 'console-mesh.png', path: '/mesh', dark: true },
];

async function main() {
  mkdirSync(OUT, { recursive: true });
  const fx = await startFixtureApi();
  const browser = await startBrowser().catch(async (e: Error) => {
    await fx.close();
    throw e;
  });
  try {
    for (const shot of SHOTS) {
      const page = await browser.newPage();
      try {
        page.setDefaultTimeout(BROWSER_LIMITS.waitMs);
        await page.setViewport(VIEWPORT);
        await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: shot.dark ? 'dark' : 'light' }]);
        await page.goto(fx.url + shot.path, { waitUntil: 'domcontentloaded' });
        await page.waitForSelector('main section.page[aria-busy="false"]');
        await shot.prepare?.(page);
        // Two frames for the canvas and the fonts to settle.
        await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
        const height = Math.min(MAX_HEIGHT, (await page.evaluate('document.documentElement.scrollHeight')) as number);
        await page.screenshot({ path: `${OUT}${shot.file}` as `${string}.png`, clip: { x: 0, y: 0, width: VIEWPORT.width, height: Math.max(height, VIEWPORT.height) }, captureBeyondViewport: true });
        console.log(`console-screenshots: docs/images/${shot.file} (${shot.path}${shot.dark ? ', dark' : ''})`);
      } finally {
        await page.close().catch(() => undefined);
      }
    }
  } finally {
    await stopBrowser(browser);
    await fx.close();
  }
}

main().catch((e: Error) => {
  console.error(`console-screenshots: ${e.message}`);
  process.exit(1);
});
