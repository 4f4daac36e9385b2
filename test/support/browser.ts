// Headless Chromium for the console's browser tests: Debian's `chromium` (scripts/setup.sh
// installs it) driven by puppeteer-core. One browser per test file (`startBrowser` in
// `before`, `stopBrowser` in `after`), a fresh page per test (`openPage`, closed by the
// test's own `after`), bounded waits everywhere, and the Chromium process killed at exit even
// when a test failed. Without Chromium the tests skip, except under CI=true, where they fail.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/** Bounds of the harness (each a wait that fails the test when it runs out). */
export const BROWSER_LIMITS = {
  launchMs: 30_000,
  /** Any one DevTools call. */
  protocolMs: 60_000,
  /** Navigations and `waitFor*` calls. */
  waitMs: 15_000,
} as const;

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

/** The Chromium binary: $CHROMIUM_PATH, else the first of the usual paths that exists. */
export function findChromium(): string | undefined {
  const env = process.env['CHROMIUM_PATH'];
  if (env) return existsSync(env) ? env : undefined;
  return CANDIDATES.find((p) => existsSync(p));
}

/** The `skip` option of a browser test suite: a reason when Chromium is missing and CI is
 * not set; false otherwise (under CI=true a missing Chromium fails in startBrowser). */
export function browserSkip(): string | false {
  if (findChromium() || process.env['CI'] === 'true') return false;
  return 'Chromium not found (install Debian\'s chromium: scripts/setup.sh, or set CHROMIUM_PATH)';
}

let running: Browser | undefined;
let profile: string | undefined;
process.once('exit', () => {
  // Last resort when `after` did not run (a crash): no Chromium outlives the test process.
  running?.process()?.kill('SIGKILL');
  if (profile) rmSync(profile, { recursive: true, force: true });
});

export async function startBrowser(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error('Chromium not found: install Debian\'s chromium package (scripts/setup.sh) or set CHROMIUM_PATH');
  profile = mkdtempSync(join(tmpdir(), 'console-chromium-'));
  running = await puppeteer.launch({
    executablePath,
    headless: true,
    userDataDir: profile,
    timeout: BROWSER_LIMITS.launchMs,
    protocolTimeout: BROWSER_LIMITS.protocolMs,
    defaultViewport: { width: 1280, height: 900 },
    args: [
      // Tests run as root, where Chromium's sandbox cannot start; the pages are our own, on loopback.
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-extensions',
      '--disable-background-networking',
      '--disable-component-update',
      '--mute-audio',
    ],
  });
  return running;
}

export async function stopBrowser(browser: Browser | undefined): Promise<void> {
  if (!browser) return;
  const proc = browser.process();
  const closed = browser.close().catch(() => undefined);
  const timer = new Promise<void>((ok) => setTimeout(ok, 10_000).unref());
  await Promise.race([closed, timer]);
  if (proc && proc.exitCode === null) proc.kill('SIGKILL');
  if (running === browser) running = undefined;
  if (profile) {
    rmSync(profile, { recursive: true, force: true });
    profile = undefined;
  }
}

export interface OpenedPage {
  page: Page;
  /** Uncaught errors, console.error lines and 4xx/5xx answers of the page, for asserting none happened. */
  errors: string[];
}

/** A new page (closed after the test), with bounded default waits and its errors collected. */
export async function openPage(t: TestContext, browser: Browser, opts: { colorScheme?: 'light' | 'dark'; width?: number; height?: number } = {}): Promise<OpenedPage> {
  const page = await browser.newPage();
  t.after(() => page.close().catch(() => undefined));
  page.setDefaultTimeout(BROWSER_LIMITS.waitMs);
  page.setDefaultNavigationTimeout(BROWSER_LIMITS.waitMs);
  if (opts.width || opts.height) await page.setViewport({ width: opts.width ?? 1280, height: opts.height ?? 900 });
  if (opts.colorScheme) await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: opts.colorScheme }]);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${(e as Error).message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
  });
  return { page, errors };
}

// The functions below run in the page. The server build has no DOM types, so what they
// touch is typed by hand (InPage) or they are expressions in strings.
interface InPage {
  innerText: string;
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  value: string;
  click(): void;
}

/** The rendered text of `selector` (the names a page shows as HTML text). */
export async function pageText(page: Page, selector = 'main'): Promise<string> {
  await page.waitForSelector(selector);
  return page.$eval(selector, (el) => (el as unknown as InPage).innerText);
}

/** An element's data-* attributes. */
export async function dataOf(page: Page, selector: string): Promise<Record<string, string | undefined>> {
  return page.$eval(selector, (el) => ({ ...(el as unknown as InPage).dataset }));
}

/** Waits until `selector`'s text includes `text` (bounded by BROWSER_LIMITS.waitMs). */
export async function waitForText(page: Page, text: string, selector = 'main'): Promise<void> {
  await page.waitForFunction(`(() => { const el = document.querySelector(${JSON.stringify(selector)}); return !!el && el.innerText.includes(${JSON.stringify(text)}); })()`, { timeout: BROWSER_LIMITS.waitMs });
}

/** Waits until `selector`'s text no longer includes `text`. */
export async function waitForNoText(page: Page, text: string, selector = 'main'): Promise<void> {
  await page.waitForFunction(`(() => { const el = document.querySelector(${JSON.stringify(selector)}); return !!el && !el.innerText.includes(${JSON.stringify(text)}); })()`, { timeout: BROWSER_LIMITS.waitMs });
}

/** Waits until `selector`'s attribute `name` equals `value`. */
export async function waitForAttribute(page: Page, selector: string, name: string, value: string, timeout: number = BROWSER_LIMITS.waitMs): Promise<void> {
  await page.waitForFunction(`document.querySelector(${JSON.stringify(selector)})?.getAttribute(${JSON.stringify(name)}) === ${JSON.stringify(value)}`, { timeout });
}

/** Clicks the button inside `scope` whose text is exactly `label`. */
export async function clickButton(page: Page, scope: string, label: string): Promise<void> {
  const found = await page.$$eval(
    `${scope} button`,
    (bs, l) => {
      const b = bs.find((x) => (x as unknown as InPage).textContent?.trim() === l);
      if (b) (b as unknown as InPage).click();
      return !!b;
    },
    label,
  );
  if (!found) throw new Error(`no button "${label}" in ${scope}`);
}

/** Evaluates an expression in the page. */
export async function evalIn<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(expression) as Promise<T>;
}

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU time (user + system, ms) used so far by the browser's processes (its process group),
 * from /proc: what a page cost apart from how loaded the machine is; undefined off Linux. */
export function browserCpuMs(browser: Browser): number | undefined {
  const pgid = browser.process()?.pid;
  if (!pgid || !existsSync('/proc/self/stat')) return undefined;
  let ticks = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // Fields after the command (which may hold spaces), from field 3 on.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(f[2]) !== pgid) continue;
    ticks += Number(f[11]) + Number(f[12]);
  }
  return (ticks * 1000) / USER_HZ;
}
