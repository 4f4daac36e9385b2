// The traffic graph at scale in headless Chromium: a synthetic 1,000-workload, 5,000-edge
// graph from the FIXTURE API renders, a mouse pan over it moves the view, and a click on a
// node and on an edge shows their details. The times (first frame, layout, pan, click to
// details) are printed for the reader (the machine is shared), never asserted.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'puppeteer-core';
import { startFixtureApi, type FixtureApi } from './support/browser-fixture-api.js';
import { syntheticGraph } from './support/browser-fixtures.js';
import { browserCpuMs, browserSkip, clickButton, dataOf, evalIn, openPage, pageText, startBrowser, stopBrowser, waitForAttribute, waitForText } from './support/browser.js';

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
    assert.equal(data['renderer'], 'canvas');

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
    assert.ok(Math.abs(ax - bx - 300) <= 2 && Math.abs(ay - by - 150) <= 2, `the pan moved the view from ${panBefore} to ${panAfter}, not by (300, 150)`);

    // A click on a node, then on an edge, where the renderer drew them (read from the hook
    // it leaves on its container), until their details show.
    const at = async (id: string) => {
      const p = await evalIn<{ x: number; y: number } | null>(page, `document.querySelector('[data-testid="graph-canvas"]').graphView.renderedPosition(${JSON.stringify(id)}) ?? null`);
      assert.ok(p, `${id} is not drawn`);
      return { x: box.x + p.x, y: box.y + p.y };
    };
    // One in the middle of the view, so the click lands on the canvas.
    const target = await evalIn<string>(
      page,
      `(() => { const v = document.querySelector('[data-testid="graph-canvas"]').graphView; const ids = ${JSON.stringify(graph.nodes.map((n) => n.id))};
        let best, bestD = Infinity; for (const id of ids) { const p = v.renderedPosition(id); const d = Math.hypot(p.x - ${box.width / 2}, p.y - ${box.height / 2}); if (d < bestD) { bestD = d; best = id; } } return best; })()`,
    );
    const node = graph.nodes.find((n) => n.id === target)!;
    const nodeAt = await at(node.id);
    const clickStarted = Date.now();
    await page.mouse.click(nodeAt.x, nodeAt.y);
    await waitForText(page, `${node.namespace}/${node.name}`, 'dl[aria-label="Selected node"]');
    const clickMs = Date.now() - clickStarted;
    const cpuClicked = browserCpuMs(browser!);
    const inbound = graph.edges.filter((e) => e.target === node.id).length;
    const outbound = graph.edges.filter((e) => e.source === node.id).length;
    assert.match(await pageText(page, 'dl[aria-label="Selected node"]'), new RegExp(`${inbound} in, ${outbound} out`));
    // Zoomed in (the wheel, about that node, whose edges leave it) until edges are apart enough to aim at one;
    // then an edge, clicked on its line where no other edge passes within 3 pixels and no node
    // is near (found here from where the renderer drew the nodes): the nearest line is selected.
    await page.mouse.move(nodeAt.x, nodeAt.y);
    await page.mouse.wheel({ deltaY: -2000 });
    await evalIn(page, 'new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
    const spot = await evalIn<{ id: string; x: number; y: number } | null>(
      page,
      `(() => {
        const v = document.querySelector('[data-testid="graph-canvas"]').graphView;
        const edges = ${JSON.stringify(graph.edges.map((e) => [e.id, e.source, e.target]))};
        const nodes = ${JSON.stringify(graph.nodes.map((n) => n.id))}.map((id) => v.renderedPosition(id));
        const segs = edges.map(([, s, t]) => [v.renderedPosition(s), v.renderedPosition(t)]);
        const dist = (p, a, b) => { const dx = b.x - a.x, dy = b.y - a.y, l = dx * dx + dy * dy; const t = l ? Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / l)) : 0; return Math.hypot(p.x - a.x - t * dx, p.y - a.y - t * dy); };
        for (let i = 0; i < edges.length; i++) for (let k = 1; k < 200; k++) { const t = k / 200;
          const [a, b] = segs[i];
          const p = { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t };
          if (p.x < 10 || p.y < 10 || p.x > ${box.width - 10} || p.y > ${box.height - 10}) continue;
          if (nodes.some((n) => Math.hypot(n.x - p.x, n.y - p.y) < 50)) continue;
          if (segs.some(([c, d], j) => j !== i && dist(p, c, d) < 3)) continue;
          return { id: edges[i][0], x: p.x, y: p.y };
        }
        return null;
      })()`,
    );
    assert.ok(spot, `no edge has a point clear of the others in view (zoom ${(await dataOf(page, '[data-testid="graph-canvas"]'))['zoom']})`);
    const edge = graph.edges.find((e) => e.id === spot.id)!;
    await page.mouse.click(box.x + spot.x, box.y + spot.y);
    await page.waitForSelector('dl[aria-label="Selected edge"]');
    const edgeText = await pageText(page, 'dl[aria-label="Selected edge"]');
    assert.ok(edgeText.includes(edge.source.split(':')[1]!) && edgeText.includes(edge.target.split(':')[1]!), `clicked ${edge.id}, details: ${edgeText}`);
    // Refresh (a large graph reloads only then) keeps the view where the user put it and the
    // selection highlighted.
    const viewBefore = await dataOf(page, '[data-testid="graph-canvas"]');
    await evalIn(page, `document.querySelector('[data-testid="graph-canvas"]').dataset.ready = 'old'`);
    await clickButton(page, '.page-head', 'Refresh');
    await waitForAttribute(page, '[data-testid="graph-canvas"]', 'data-ready', '1', SCALE_WAIT_MS);
    const viewAfter = await dataOf(page, '[data-testid="graph-canvas"]');
    assert.deepEqual([viewAfter['pan'], viewAfter['zoom']], [viewBefore['pan'], viewBefore['zoom']]);
    assert.equal(await evalIn(page, `document.querySelector('[data-testid="graph-canvas"]').graphView.selection`), `e:${edge.id}`);

    console.log(
      `console graph at scale: ${graph.nodes.length} nodes, ${graph.edges.length} edges: page to first frame ${loadedMs}ms wall, ${cpu(cpuStarted, cpuLoaded)} browser CPU ` +
        `(layout ${data['layoutMs']}ms, renderer (${data['renderer']}) start to first frame ${data['renderMs']}ms wall); ` +
        `20-step mouse pan to the next frame ${panMs}ms wall, ${cpu(cpuLoaded, cpuPanned)} browser CPU; click on a node to its details ${clickMs}ms wall, ${cpu(cpuPanned, cpuClicked)} browser CPU`,
    );
    // The text view is there too (collapsed at this size).
    assert.equal(await page.$$eval('.node-list li', (li) => li.length), graph.nodes.length);
    assert.deepEqual(errors, []);
  });
});
