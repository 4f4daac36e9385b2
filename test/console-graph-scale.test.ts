// The traffic graph at scale in headless Chromium: a synthetic 1,000-workload, 5,000-edge
// graph from the FIXTURE API renders and a mouse pan over it completes. The times are
// printed for the reader (the machine is shared), never asserted.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'puppeteer-core';
import { startFixtureApi, type FixtureApi } from './support/browser-fixture-api.js';
import { syntheticGraph } from './support/browser-fixtures.js';
import { browserCpuMs, browserSkip, dataOf, evalIn, openPage, startBrowser, stopBrowser } from './support/browser.js';

/** Waits for the graph at scale (generous: 2 shared cores, no GPU). */
const SCALE_WAIT_MS = 120_000;

describe('console graph at scale (fixture API)', { skip: browserSkip() }, () => {
  let browser: Browser | undefined;
  let fx: FixtureApi | undefined;
  before(async () => {
    fx = await startFixtureApi();
    browser = await startBrowser();
  });
  after(async () => {
    await stopBrowser(browser);
    await fx?.close();
  });

  test('a_graph_of_1000_workloads_and_5000_edges_renders_and_pans', async (t) => {
    const graph = syntheticGraph(1000, 5000);
    assert.equal(graph.edges.length, 5000);
    assert.equal(graph.nodes.filter((n) => n.kind === 'workload').length, 1000);
    fx!.setGraph(graph);
    t.after(() => fx!.setGraph(undefined));
    const { page, errors } = await openPage(t, browser!);
    const started = Date.now();
    const cpuStarted = browserCpuMs(browser!);
    await page.goto(`${fx!.url}/graph`, { waitUntil: 'domcontentloaded' });
    const canvas = await page.waitForSelector('[data-testid="graph-canvas"][data-ready="1"]', { timeout: SCALE_WAIT_MS });
    const loadedMs = Date.now() - started;
    const cpuLoaded = browserCpuMs(browser!);
    const data = await dataOf(page, '[data-testid="graph-canvas"]');
    assert.equal(data['nodes'], String(graph.nodes.length));
    assert.equal(data['edges'], '5000');

    // A pan: drag the canvas 300px right and 150px down in 20 mouse moves, then wait for the
    // frame after the release.
    const box = (await canvas!.boundingBox())!;
    const panBefore = data['pan']!;
    const x = box.x + box.width / 2;
    const y = box.y + box.height / 2;
    const panStarted = Date.now();
    await page.mouse.move(x, y);
    await page.mouse.down();
    for (let i = 1; i <= 20; i++) await page.mouse.move(x + i * 15, y + i * 7.5);
    await page.mouse.up();
    await evalIn(page, 'new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
    const panMs = Date.now() - panStarted;
    const cpuPanned = browserCpuMs(browser!);
    const cpu = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '?' : `${Math.round(b - a)}ms`);
    const panAfter = (await dataOf(page, '[data-testid="graph-canvas"]'))['pan'];
    const [bx, by] = panBefore.split(',').map(Number) as [number, number];
    const [ax, ay] = panAfter!.split(',').map(Number) as [number, number];
    console.log(
      `console graph at scale: ${graph.nodes.length} nodes, ${graph.edges.length} edges: page to first frame ${loadedMs}ms wall, ${cpu(cpuStarted, cpuLoaded)} browser CPU ` +
        `(cytoscape init to first frame ${data['renderMs']}ms wall); 20-step mouse pan to the next frame ${panMs}ms wall, ${cpu(cpuLoaded, cpuPanned)} browser CPU`,
    );
    assert.ok(Math.abs(ax - bx - 300) <= 2 && Math.abs(ay - by - 150) <= 2, `the pan moved the view from ${panBefore} to ${panAfter}, not by (300, 150)`);
    // The text view is there too (collapsed at this size).
    assert.equal(await page.$$eval('.node-list li', (li) => li.length), graph.nodes.length);
    assert.deepEqual(errors, []);
  });
});
