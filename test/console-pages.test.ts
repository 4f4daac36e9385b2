// The web console in headless Chromium against the FIXTURE API of the front-end tests
// (test/support/browser-fixture-api.ts): every page renders its names as HTML text, links
// and the back button move between pages without reloading, writes carry the CSRF header
// and the bodies the API contract says, the explain form shows the decision and the rule,
// the flows table takes streamed events, light and dark mode. The same checks on the local
// cluster with the real API are in the end-to-end tests.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'puppeteer-core';
import { startFixtureApi, type FixtureApi } from './support/browser-fixture-api.js';
import { FIXTURE_POLICIES, FIXTURE_SERVICES, FIXTURE_WORKLOADS, fixtureFlow, fixtureGraph } from './support/browser-fixtures.js';
import { BROWSER_LIMITS, browserSkip, clickButton, dataOf, evalIn, openPage, pageText, startBrowser, stopBrowser, waitForAttribute, waitForNoText, waitForText } from './support/browser.js';

const pathOf = (page: Page) => new URL(page.url()).pathname + new URL(page.url()).search;

describe('console pages (fixture API)', { skip: browserSkip() }, () => {
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

  const go = async (page: Page, path: string) => {
    await page.goto(fx!.url + path, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('main section.page[aria-busy="false"]');
  };

  /** The values a filter `<select name=...>` offers. */
  const selectOptions = (page: Page, name: string) => evalIn<string[]>(page, `[...document.querySelectorAll('select[name="${name}"] option')].map((o) => o.value)`);

  test('every_page_renders_its_names_as_html_text', async (t) => {
    const { page, errors } = await openPage(t, browser!);
    const expect: Array<[string, string[]]> = [
      ['/workloads', FIXTURE_WORKLOADS.map((w) => w.name)],
      ['/services', FIXTURE_SERVICES.map((s) => s.name)],
      ['/policies', FIXTURE_POLICIES.map((p) => p.name).concat(['would deny spiffe://cluster.local/ns/payments/sa/billing', 'STRIK'])],
      ['/flows', ['shop/deny-admin', 'payments/audit-ledger', 'dry-run would deny', 'spiffe://cluster.local/ns/shop/sa/client']],
      ['/mesh', ['ambient-controller-0', 'ambient-controller-1', 'node-1', 'node-2', 'v41', 'shop/waypoint', 'ambient root CA', 'spiffe://cluster.local/ns/shop/sa/echo', 'signing CA', 'CN=ambient-controller.ambient-system.svc', 'expires in 21h']],
      ['/graph', ['client-5c7b9', 'echo-v1-6f4d8', 'ledger-0', 'billing-7f2aa', 'payments']],
      ['/workloads/shop/client-5c7b9', ['spiffe://cluster.local/ns/shop/sa/client', 'node-1', 'allow-client', 'deny-admin', 'shop/echo', 'expires in 21h', "as node node-1's agent reported"]],
      ['/services/shop/echo', ['shop/echo-v1-6f4d8', 'shop/echo-v2-8a1c3', 'ejected until', 'HTTPRoute shop/echo', 'echo-canary', 'shop/waypoint']],
    ];
    for (const [path, names] of expect) {
      await go(page, path);
      if (path === '/graph') await page.waitForSelector('[data-testid="graph-canvas"][data-ready="1"]');
      const text = await pageText(page);
      for (const n of names) assert.ok(text.includes(n), `${path}: "${n}" is not in the page's text:\n${text.slice(0, 2000)}`);
    }
    assert.deepEqual(errors, []);
  });

  test('links_and_the_back_button_move_between_pages_without_a_reload', async (t) => {
    const { page, errors } = await openPage(t, browser!);
    await go(page, '/workloads');
    await evalIn(page, 'window.loadedOnce = 1');
    await page.click('a[href="/workloads/shop/client-5c7b9"]');
    await waitForText(page, 'spiffe://cluster.local/ns/shop/sa/client');
    assert.equal(pathOf(page), '/workloads/shop/client-5c7b9');
    await page.click('nav a[href="/services"]');
    await waitForText(page, 'echo-v2');
    assert.equal(pathOf(page), '/services');
    assert.equal(await page.$eval('nav a[aria-current="page"]', (a) => a.textContent), 'Services');
    await page.goBack();
    await waitForText(page, 'Workload shop/client-5c7b9');
    assert.equal(pathOf(page), '/workloads/shop/client-5c7b9');
    await page.goBack();
    await waitForText(page, 'billing-7f2aa');
    assert.equal(pathOf(page), '/workloads');
    await page.goForward();
    await waitForText(page, 'Workload shop/client-5c7b9');
    assert.equal(await evalIn(page, 'window.loadedOnce'), 1, 'the page reloaded instead of navigating in place');
    assert.equal(await page.title(), 'Workloads · Ambient mesh');
    assert.deepEqual(errors, []);
  });

  test('a_namespace_filter_is_in_the_url_and_back_removes_it', async (t) => {
    const { page } = await openPage(t, browser!);
    await go(page, '/workloads');
    await page.select('select[name="namespace"]', 'payments');
    await waitForNoText(page, 'client-5c7b9');
    assert.equal(pathOf(page), '/workloads?namespace=payments');
    assert.ok((await pageText(page)).includes('ledger-0'));
    await page.goBack();
    await waitForText(page, 'client-5c7b9');
    assert.equal(pathOf(page), '/workloads');
    // A shared link opens filtered.
    await go(page, '/services?namespace=payments');
    const text = await pageText(page);
    assert.ok(text.includes('ledger') && !text.includes('echo-v1'), text);
  });

  test('the_weight_control_sends_the_split_with_the_csrf_header_and_shows_the_httproute', async (t) => {
    const { page, errors } = await openPage(t, browser!);
    await go(page, '/services/shop/echo');
    await page.locator('#weight-echo-v1').fill('80');
    await page.locator('#weight-echo-v2').fill('20');
    const before = fx!.writes.length;
    await page.click('form.weights button[type="submit"]');
    await waitForText(page, 'HTTPRoute shop/echo now');
    const w = fx!.writes.slice(before);
    assert.equal(w.length, 1);
    assert.equal(w[0]!.method, 'PUT');
    assert.equal(w[0]!.path, '/api/v1/services/shop/echo/split');
    assert.deepEqual(w[0]!.body, { weights: { 'echo-v1': 80, 'echo-v2': 20 } });
    assert.equal(w[0]!.headers['x-ambient-request'], '1');
    assert.match(String(w[0]!.headers['content-type']), /^application\/json/);
    const route = await page.$eval('form.weights pre.object', (el) => JSON.parse(el.textContent ?? '') as { spec: { rules: Array<{ backendRefs: Array<{ name: string; weight: number }> }> } });
    assert.deepEqual(route.spec.rules[0]!.backendRefs.map((b) => [b.name, b.weight]), [['echo-v1', 80], ['echo-v2', 20]]);
    // The page reloads the service: the route's weights and live share follow.
    await waitForText(page, '80 (80%)');
    // "All to" sends {to}.
    await clickButton(page, 'form.weights', 'All to echo-v2');
    await waitForText(page, '100 (100%)');
    assert.deepEqual(fx!.writes.at(-1)!.body, { to: 'echo-v2' });
    assert.deepEqual(errors, []);
  });

  test('rollout_actions_post_with_the_csrf_header_and_the_page_shows_the_change', async (t) => {
    const { page } = await openPage(t, browser!);
    await go(page, '/services/shop/echo');
    await clickButton(page, 'article.rollout', 'Pause');
    await waitForText(page, '(paused)');
    let w = fx!.writes.at(-1)!;
    assert.equal(`${w.method} ${w.path}`, 'POST /api/v1/rollouts/shop/echo-canary/pause');
    assert.equal(w.headers['x-ambient-request'], '1');
    await clickButton(page, 'article.rollout', 'Resume');
    await waitForNoText(page, '(paused)');
    w = fx!.writes.at(-1)!;
    assert.equal(`${w.method} ${w.path}`, 'POST /api/v1/rollouts/shop/echo-canary/resume');
  });

  test('a_write_without_the_csrf_header_is_refused_by_the_fixture_as_by_the_api', async () => {
    const res = await fetch(`${fx!.url}/api/v1/services/shop/echo/split`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"to":"echo-v1"}' });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'AMB_API_WRITE_HEADERS');
  });

  test('the_explain_form_shows_the_decision_and_the_deciding_rule', async (t) => {
    const { page, errors } = await openPage(t, browser!);
    await go(page, '/policies');
    await page.locator('form.explain-form input[name="from"]').fill('spiffe://cluster.local/ns/shop/sa/client');
    await page.locator('form.explain-form input[name="to"]').fill('shop/echo');
    await page.locator('form.explain-form input[name="port"]').fill('8080');
    await page.locator('form.explain-form input[name="method"]').fill('GET');
    await page.locator('form.explain-form input[name="path"]').fill('/admin/users');
    await page.click('form.explain-form button[type="submit"]');
    await page.waitForSelector('.decision');
    const decision = await pageText(page, '.decision');
    assert.match(decision, /DENY/);
    assert.match(decision, /policy shop\/deny-admin rule 0/);
    assert.match(decision, /denied by DENY policy shop\/deny-admin rule 0/);
    assert.deepEqual(fx!.writes.at(-1)!.body, { from: 'spiffe://cluster.local/ns/shop/sa/client', to: 'shop/echo', port: 8080, method: 'GET', path: '/admin/users' });
    assert.equal(fx!.writes.at(-1)!.headers['x-ambient-request'], '1');
    // Another question, another answer.
    await page.locator('form.explain-form input[name="path"]').fill('/');
    await page.click('form.explain-form button[type="submit"]');
    await waitForText(page, 'allowed by ALLOW policy shop/allow-client rule 0', '.decision');
    assert.deepEqual(errors, []);
  });

  test('the_flows_table_shows_events_streamed_after_it_opened', async (t) => {
    const { page, errors } = await openPage(t, browser!);
    await go(page, '/flows');
    await page.waitForSelector('[data-live="live"]');
    const deadline = Date.now() + BROWSER_LIMITS.waitMs;
    while (fx!.streamClients() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(fx!.streamClients() > 0, 'the flows page did not open the stream');
    fx!.pushFlow(fixtureFlow({ verdict: 'denied', policy: 'shop/deny-streamed', path: '/streamed-admin', status: 403 }));
    await waitForText(page, 'shop/deny-streamed');
    const row = await pageText(page, 'tr[data-flow-id]');
    assert.match(row, /denied/);
    assert.match(row, /\/streamed-admin/);
    // The verdict filter is in the URL.
    await page.select('select[name="verdict"]', 'dry-run-deny');
    await waitForNoText(page, 'shop/deny-streamed');
    assert.equal(pathOf(page), '/flows?verdict=dry-run-deny');
    assert.ok((await pageText(page)).includes('payments/audit-ledger'));
    assert.deepEqual(errors, []);
  });

  test('light_and_dark_mode_follow_prefers_color_scheme', async (t) => {
    const bg = async (scheme: 'light' | 'dark') => {
      const { page } = await openPage(t, browser!, { colorScheme: scheme });
      await go(page, '/mesh');
      return evalIn<string>(page, 'getComputedStyle(document.body).backgroundColor');
    };
    assert.equal(await bg('light'), 'rgb(255, 255, 255)');
    assert.equal(await bg('dark'), 'rgb(18, 20, 23)');
  });

  test('a_click_on_the_graph_or_its_text_shows_details_with_the_lock_and_the_waypoint_mark', async (t) => {
    const { page, errors } = await openPage(t, browser!);
    await go(page, '/graph?window=15m');
    await page.waitForSelector('[data-testid="graph-canvas"][data-ready="1"]');
    assert.equal((await dataOf(page, '[data-testid="graph-canvas"]'))['edges'], '5');
    assert.equal(await evalIn(page, 'document.querySelector(\'select[name="window"]\').value'), '15m');
    await evalIn(page, `[...document.querySelectorAll('table.edges tbody tr')].find((r) => r.innerText.includes('shop/client-5c7b9')).querySelector('button').click()`);
    await page.waitForSelector('dl[aria-label="Selected edge"]');
    const selectedOnCanvas = () => evalIn<string[]>(page, `document.querySelector('[data-testid="graph-canvas"]')._cyreg.cy.$(':selected').map((e) => e.id())`);
    assert.deepEqual(await selectedOnCanvas(), ['e:workload:shop/client-5c7b9->service:shop/echo:8080']);
    const details = await pageText(page, 'dl[aria-label="Selected edge"]');
    assert.match(details, /mutual TLS \(HBONE\)/);
    assert.equal(await evalIn(page, `document.querySelector('dl[aria-label="Selected edge"] svg.lock')?.getAttribute('aria-label')`), 'mutual TLS');
    assert.match(details, /◆ through a waypoint/);
    assert.match(details, /99\.47%/);
    assert.match(details, /5xx: 40/);
    // A click on the canvas: at the node's and at the edge's drawn position (read from the
    // cytoscape instance cytoscape keeps on its container, not from anything the console exports).
    const canvasBox = (await (await page.$('[data-testid="graph-canvas"]'))!.boundingBox())!;
    const at = async (expr: string) => {
      const p = await evalIn<{ x: number; y: number }>(page, `(() => { const cy = document.querySelector('[data-testid="graph-canvas"]')._cyreg.cy; return ${expr}; })()`);
      return { x: canvasBox.x + p.x, y: canvasBox.y + p.y };
    };
    const nodeAt = await at(`cy.getElementById('workload:payments/billing-7f2aa').renderedPosition()`);
    await page.mouse.click(nodeAt.x, nodeAt.y);
    await waitForText(page, 'payments/billing-7f2aa', 'dl[aria-label="Selected node"]');
    assert.match(await pageText(page, 'dl[aria-label="Selected node"]'), /0 in, 1 out/);
    const edgeAt = await at(`cy.getElementById('e:workload:payments/billing-7f2aa->workload:payments/ledger-0:5432').renderedMidpoint()`);
    await page.mouse.click(edgeAt.x, edgeAt.y);
    await waitForText(page, 'plaintext', 'dl[aria-label="Selected edge"]');
    assert.match(await pageText(page, 'dl[aria-label="Selected edge"]'), /payments\/ledger-0 port 5432\/tcp/);
    // A reload (Refresh, or the periodic one) keeps the view where the user panned it, and the selection.
    await page.mouse.move(canvasBox.x + 40, canvasBox.y + 40);
    await page.mouse.down();
    for (let i = 1; i <= 5; i++) await page.mouse.move(canvasBox.x + 40 + i * 16, canvasBox.y + 40 + i * 8);
    await page.mouse.up();
    const panned = (await dataOf(page, '[data-testid="graph-canvas"]'))['pan'];
    await evalIn(page, `document.querySelector('[data-testid="graph-canvas"]').dataset.ready = 'old'`);
    await clickButton(page, '.page-head', 'Refresh');
    await waitForAttribute(page, '[data-testid="graph-canvas"]', 'data-ready', '1');
    assert.equal((await dataOf(page, '[data-testid="graph-canvas"]'))['pan'], panned);
    assert.match(await pageText(page, 'dl[aria-label="Selected edge"]'), /payments\/ledger-0 port 5432\/tcp/);
    assert.deepEqual(await selectedOnCanvas(), ['e:workload:payments/billing-7f2aa->workload:payments/ledger-0:5432']);
    // The namespace filter narrows the graph and is in the URL.
    await page.select('select[name="namespace"]', 'payments');
    await waitForAttribute(page, '[data-testid="graph-canvas"]', 'data-edges', '1');
    assert.equal(pathOf(page), '/graph?window=15m&namespace=payments');
    assert.deepEqual(errors, []);
  });

  test('the_window_filter_offers_the_long_windows_the_api_advertises_and_keeps_the_window_in_the_url', async (t) => {
    const { page, errors } = await openPage(t, browser!);
    const options = () => selectOptions(page, 'window');
    // The fixture API plays a controller with a Prometheus: it advertises 1h, 6h and 24h.
    await go(page, '/graph');
    await page.waitForSelector('[data-testid="graph-canvas"][data-ready="1"]');
    assert.deepEqual(await options(), ['1m', '5m', '15m', '1h', '6h', '24h']);
    assert.equal(await pageText(page, '[data-testid="graph-source"]'), "from the controller's telemetry window");
    await page.select('select[name="window"]', '24h');
    await waitForText(page, 'from Prometheus', '[data-testid="graph-source"]');
    assert.equal(pathOf(page), '/graph?window=24h');
    // A shared link opens on its window.
    await go(page, '/graph?window=6h');
    await waitForText(page, 'from Prometheus', '[data-testid="graph-source"]');
    assert.equal(await evalIn(page, 'document.querySelector(\'select[name="window"]\').value'), '6h');
    // A controller without Prometheus advertises its own windows only.
    fx!.setGraph({ ...fixtureGraph(), windows: ['1m', '5m', '15m'] });
    try {
      await go(page, '/graph?window=5m');
      await page.waitForSelector('[data-testid="graph-canvas"][data-ready="1"]');
      assert.deepEqual(await options(), ['1m', '5m', '15m']);
    } finally {
      fx!.setGraph(undefined);
    }
    assert.deepEqual(errors, []);
  });
  test('a_failed_reload_keeps_the_data_on_screen_with_a_stale_notice_cleared_by_the_next_success', async (t) => {
    const { page, errors } = await openPage(t, browser!);
    await go(page, '/graph');
    await page.waitForSelector('[data-testid="graph-canvas"][data-ready="1"]');
    fx!.failGet('graph');
    try {
      await clickButton(page, '.page-head', 'Refresh');
      await waitForText(page, 'could not refresh: AMB_API_UNAVAILABLE: the fixture fails GET /api/v1/graph, showing data from ');
      const notice = await pageText(page, '[data-notice="stale"]');
      assert.match(notice, /showing data from \d\d:\d\d:\d\d UTC$/);
      // The last good graph is still there, and nothing blocks it.
      assert.equal(await page.$('[data-testid="graph-canvas"]') !== null, true, 'the graph went away on a failed reload');
      const text = await pageText(page);
      for (const n of ['client-5c7b9', 'ledger-0', 'billing-7f2aa']) assert.ok(text.includes(n), `"${n}" went away on a failed reload:\n${text.slice(0, 1500)}`);
      assert.equal(await page.$('main p.error'), null, 'a failed reload with data on screen shows a blocking error');
    } finally {
      fx!.failGet(undefined);
    }
    await clickButton(page, '.page-head', 'Refresh');
    await waitForNoText(page, 'could not refresh');
    assert.equal(await page.$('[data-notice="stale"]'), null);
    // Without data to show, the error is the page.
    fx!.failGet('graph');
    try {
      await go(page, '/graph?window=15m');
      await waitForText(page, 'AMB_API_UNAVAILABLE: the fixture fails GET /api/v1/graph', 'main p.error');
      assert.equal(await page.$('[data-notice="stale"]'), null);
    } finally {
      fx!.failGet(undefined);
    }
    assert.ok(errors.every((e) => e.includes('503')), errors.join('\n'));
  });

  test('every_page_with_a_partial_answer_names_the_replicas_that_did_not_answer', async (t) => {
    const { page } = await openPage(t, browser!);
    const notice = 'partial: replica ambient-controller-1 (no answer within 2000 ms) did not answer; counts may be low';
    fx!.setUnanswered([{ replica: 'ambient-controller-1', reason: 'no answer within 2000 ms' }]);
    try {
      for (const path of ['/mesh', '/graph', '/flows', '/workloads/shop/client-5c7b9']) {
        await go(page, path);
        await waitForText(page, notice);
        assert.equal(await page.$eval('[data-notice="partial"]', (el) => el.getAttribute('role')), 'status', `${path}: the notice is not announced`);
      }
      // The status and the certificates answers are both partial: each says so where it shows.
      await go(page, '/mesh');
      await waitForText(page, 'Certificate expiry');
      await page.waitForFunction(`document.querySelectorAll('[data-notice="partial"]').length === 2`, { timeout: BROWSER_LIMITS.waitMs });
    } finally {
      fx!.setUnanswered(undefined);
    }
    await go(page, '/mesh');
    await waitForText(page, 'ambient-controller-0');
    assert.equal(await page.$('[data-notice="partial"]'), null, 'a whole answer shows a partial notice');
  });

  test('the_flows_page_is_busy_until_its_recent_flows_answer', async (t) => {
    // aria-busy is what assistive technology, and a test, wait on: a page that said "not
    // busy" before its first answer showed "No flows yet" to whoever looked then.
    const { page } = await openPage(t, browser!);
    fx!.holdGet('flows');
    try {
      await page.goto(fx!.url + '/flows', { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('main section.page');
      await sleep(500);
      assert.equal(await page.$eval('main section.page', (el) => el.getAttribute('aria-busy')), 'true', 'busy while GET /flows has not answered');
    } finally {
      fx!.holdGet(undefined);
    }
    await page.waitForSelector('main section.page[aria-busy="false"]');
    assert.ok((await page.$$('tr[data-flow-id]')).length > 0, 'not busy, and the recent flows are on screen');
  });

  test('pause_live_freezes_the_flows_on_screen_counts_the_new_ones_and_resume_shows_them', async (t) => {
    const { page, errors } = await openPage(t, browser!);
    await go(page, '/flows');
    await page.waitForSelector('[data-live="live"]');
    await page.waitForSelector('tr[data-flow-id]');
    const rowIds = () => evalIn<string[]>(page, `[...document.querySelectorAll('tr[data-flow-id]')].map((r) => r.dataset.flowId)`);
    const before = await rowIds();
    await evalIn(page, `document.querySelectorAll('tr[data-flow-id]').forEach((r) => { r.dataset.mark = 'on screen' })`);
    await clickButton(page, '.page-head', 'Pause live');
    await page.waitForSelector('[data-live="paused"]');
    const deadline = Date.now() + BROWSER_LIMITS.waitMs;
    while (fx!.streamClients() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    fx!.pushFlow(fixtureFlow({ policy: 'shop/while-paused-1', path: '/paused-1' }));
    fx!.pushFlow(fixtureFlow({ policy: 'shop/while-paused-2', path: '/paused-2' }));
    await waitForText(page, '2 new', '[data-testid="flows-new"]');
    // The same rows, the same elements: not cleared and reloaded.
    assert.deepEqual(await rowIds(), before);
    assert.equal(await evalIn(page, `[...document.querySelectorAll('tr[data-flow-id]')].every((r) => r.dataset.mark === 'on screen')`), true, 'the rows were drawn again while paused');
    assert.ok(!(await pageText(page)).includes('shop/while-paused-1'), 'a flow that came while paused is on screen');
    await clickButton(page, '.page-head', 'Resume live');
    await waitForText(page, 'shop/while-paused-2');
    await waitForText(page, 'shop/while-paused-1');
    const after = await rowIds();
    assert.equal(after.length, before.length + 2);
    assert.deepEqual(after.slice(2), before);
    assert.equal(await page.$('[data-testid="flows-new"]'), null);
    assert.deepEqual(errors, []);
  });

  test('the_flows_namespace_choices_stay_when_filtered_and_the_live_mark_waits_for_the_new_stream', async (t) => {
    const { page, errors } = await openPage(t, browser!);
    const options = () => selectOptions(page, 'namespace');
    await go(page, '/flows');
    await page.waitForSelector('[data-live="live"]');
    await page.waitForSelector('tr[data-flow-id]');
    assert.deepEqual(await options(), ['', 'payments', 'shop']);
    fx!.holdStreams(true);
    try {
      await page.select('select[name="namespace"]', 'shop');
      // Until the shop stream answers, the page does not claim to be live.
      await page.waitForSelector('[data-live="connecting"]', { timeout: BROWSER_LIMITS.waitMs });
      await waitForNoText(page, 'payments/audit-ledger');
      assert.equal(pathOf(page), '/flows?namespace=shop');
      // Filtered to shop, the flows on screen name only shop: payments is still a choice.
      assert.deepEqual(await options(), ['', 'payments', 'shop']);
      assert.equal(await dataOf(page, '.page-head .live').then((d) => d['live']), 'connecting');
    } finally {
      fx!.holdStreams(false);
    }
    await page.waitForSelector('[data-live="live"]');
    // A link opened on one namespace offers the others too (from the workloads the API lists).
    await go(page, '/flows?namespace=payments');
    await page.waitForFunction(`[...document.querySelectorAll('select[name="namespace"] option')].some((o) => o.value === 'shop')`, { timeout: BROWSER_LIMITS.waitMs });
    assert.deepEqual(await options(), ['', 'payments', 'shop']);
    assert.deepEqual(errors, []);
  });
});
