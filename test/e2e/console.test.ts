// Namespaced tier: the web console on the 2-node local cluster, opened as a user opens it
// (`ambientctl dashboard --no-open`, the URL from its first line) in headless Chromium.
// One cluster for the file: the mesh (the controller with --console-dir naming the built
// console), a client pod on node1 (namespace cons-client), echo v1 and v2 on node2 behind
// echo, echo-v1, echo-v2 (namespace cons-app) with a waypoint and an HTTPRoute splitting
// echo between the versions. The dashboard runs with the local cluster's admin kubeconfig
// and no option (its user's token: ambient-admin, group system:masters), as a user runs it.
// What the issue's Tests section asks of the browser: the graph shows the client -> echo
// edge with a lock after traffic; a denied flow appears in the flows table with its policy;
// the explain form answers as `ambientctl authz check -o json`; moving a weight changes the
// HTTPRoute (read back with kubectl) and the live share follows.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { requireRoot } from '../support/netns.js';
import { BIN, e2eCluster, ok, REPO, sleep, type PodRow } from '../support/e2e.js';
import { browserSkip, evalIn, openPage, pageText, startBrowser, stopBrowser } from '../support/browser.js';
import { podNetnsName } from '../../local-cluster/network/topology.js';
import { echoPodYaml, enrolledNamespacesWithClientYaml, httpServiceYaml } from '../support/e2e-apps.js';

const cluster = e2eCluster('cons');
const { home, ctl } = cluster;
const APP_NS = 'cons-app';
const CLIENT_NS = 'cons-client';
const ECHO_URL = `http://echo.${APP_NS}`;
/** Bounds of the waits on telemetry and the browser (each a bound, never an assertion). */
const TELEMETRY_WAIT_MS = 60_000;
const DASHBOARD_START_MS = 30_000;

/**
 * The install's settings: the console the build made (--console-dir), and the default two
 * controller replicas: each agent and waypoint reports to the replica it is connected to,
 * and every replica answers for the whole mesh by asking the other (docs/telemetry.md,
 * "Several controller replicas"), so the pages show all the traffic whichever replica the
 * dashboard reaches.
 */
const INSTALL_SETS = [`controller.consoleDir=${join(REPO, 'dist/console')}`];

// Each version has its own canonical name: the graph names workloads by it, so the live
// share per backend (like a Rollout's gates, docs/traffic-management.md) tells v1 from v2.
const echoPod = (version: string) => echoPodYaml(APP_NS, `echo-${version}`, `app: echo, version: ${version}, service.istio.io/canonical-name: echo-${version}`, `    - {name: VERSION, value: ${version}}
`);
const service = (name: string, selector: string) => httpServiceYaml(APP_NS, name, selector);

const APPS = `${enrolledNamespacesWithClientYaml(CLIENT_NS, APP_NS)}${echoPod('v1')}---
${echoPod('v2')}---
${service('echo', 'app: echo')}---
${service('echo-v1', 'app: echo, version: v1')}---
${service('echo-v2', 'app: echo, version: v2')}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: echo-route, namespace: ${APP_NS}}
spec:
  parentRefs: [{group: "", kind: Service, name: echo, port: 80}]
  rules:
  - name: all
    backendRefs: [{name: echo-v1, port: 80, weight: 100}, {name: echo-v2, port: 80, weight: 0}]
`;

const DENY_ADMIN = `apiVersion: ambient.dev/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: ${APP_NS}}
spec:
  targetRefs: [{kind: Service, group: "", name: echo}]
  action: DENY
  rules:
  - to:
    - operation: {paths: [/admin]}
`;

/** curl from `pod`'s network namespace: the status code (0 when curl failed). */
function curlStatus(pod: PodRow, url: string): Promise<number> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', podNetnsName(cluster.name, pod.metadata.uid), 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', url], { timeout: 15_000, encoding: 'utf8' }, (_err, stdout) => {
      resolve(Number(stdout.trim()) || 0);
    });
  });
}

async function traffic(pod: PodRow, path: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await curlStatus(pod, `${ECHO_URL}${path}`));
  return out;
}

/** `ambientctl dashboard --no-open` as a user starts it; the URL from its first line. */
async function startDashboard(t: TestContext): Promise<{ url: string; child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [BIN, '--cluster', cluster.name, 'dashboard', '--no-open', '--port', '0'], {
    env: { ...process.env, AMBIENT_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  });
  const output = () => `stdout:\n${stdout}\nstderr:\n${stderr}`;
  for (const deadline = Date.now() + DASHBOARD_START_MS; !stdout.includes('\n'); ) {
    if (child.exitCode !== null) assert.fail(`ambientctl dashboard exited ${child.exitCode} before printing its URL\n${output()}`);
    if (Date.now() > deadline) assert.fail(`ambientctl dashboard printed no URL within ${DASHBOARD_START_MS} ms\n${output()}`);
    await sleep(100);
  }
  const url = stdout.split('\n')[0]!;
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/, `the first line is the URL: ${output()}`);
  return { url, child, output };
}

async function go(page: Page, url: string): Promise<void> {
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('main section.page[aria-busy="false"]', { timeout: 20_000 });
}

/** Reloads `url` until `probe` (run in the page) answers a value, for at most `timeoutMs`, while `between` runs (traffic). */
async function untilOnPage<T>(page: Page, url: string, what: string, probe: () => Promise<T | undefined>, between: () => Promise<unknown>, timeoutMs = TELEMETRY_WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    await between();
    await go(page, url);
    const v = await probe();
    if (v !== undefined) return v;
    last = await pageText(page).catch(() => '');
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}; the page said:\n${last.slice(0, 2000)}`);
    await sleep(1_000);
  }
}

function kubectl(...args: string[]): string {
  const r = spawnSync('kubectl', ['--kubeconfig', join(home, 'clusters', cluster.name, 'kubeconfig'), ...args], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('console: opened with ambientctl dashboard, shows the graph and flows, explains a decision and steers a split', { timeout: 600_000, skip: browserSkip() }, async (t: TestContext) => {
  if (!requireRoot(t)) return;
  await cluster.upWithMesh(t, [], INSTALL_SETS);
  cluster.applyYaml('apps', APPS);
  const client = (await cluster.readyPods(CLIENT_NS, 'app=client', 1))[0]!;
  await cluster.readyPods(APP_NS, 'app=echo', 2);
  ok(ctl('waypoint', 'apply', '-n', APP_NS, '--enroll-namespace', '--wait', '--timeout', '120'), 'waypoint apply');
  await cluster.readyPods(APP_NS, 'gateway.networking.k8s.io/gateway-name=waypoint', 1);
  for (const deadline = Date.now() + 60_000; (await curlStatus(client, `${ECHO_URL}/warm`)) !== 200; ) {
    if (Date.now() > deadline) assert.fail('the echo does not answer the client through the mesh');
    await sleep(500);
  }

  const dashboard = await startDashboard(t);
  let browser: Browser | undefined;
  t.after(() => stopBrowser(browser));
  browser = await startBrowser();
  const base = dashboard.url.replace(/\/$/, '');

  await t.test('the_console_is_served_through_the_dashboard_proxy', async (st) => {
    const { page } = await openPage(st, browser!);
    await go(page, `${base}/policies`);
    assert.ok((await pageText(page)).includes('Explain a decision'));
    // A page of another origin gets nothing through: the proxy refuses it.
    const foreign = await fetch(`${base}/api/v1/status`, { headers: { origin: 'http://evil.example' } });
    assert.equal(foreign.status, 403, dashboard.output());
  });

  await t.test('the_graph_shows_the_client_to_echo_edge_with_a_lock_after_traffic', async (st) => {
    const { page } = await openPage(st, browser!);
    const row = await untilOnPage(
      page,
      `${base}/graph?namespace=${CLIENT_NS}`,
      'the client -> echo edge in the graph',
      () =>
        evalIn<{ text: string; lock: string | null } | null>(
          page,
          `(() => { const r = [...document.querySelectorAll('table.edges tbody tr')].find((x) => x.innerText.includes(${JSON.stringify(`${CLIENT_NS}/client`)}) && x.innerText.includes('echo')); return r ? { text: r.innerText, lock: r.querySelector('svg.lock')?.getAttribute('aria-label') ?? null } : null; })()`,
        ).then((v) => v ?? undefined),
      () => traffic(client, '/graph-traffic', 5),
    );
    assert.equal(row.lock, 'mutual TLS', `the edge has the lock: ${row.text}`);
  });

  await t.test('the_workload_page_and_the_mesh_timeline_show_the_certificates_the_data_plane_holds', async (st) => {
    // The client's node agent holds a certificate for it since its first connection; the
    // agent lists it on its next telemetry report (at once: the list changed).
    const { page } = await openPage(st, browser!);
    const text = await untilOnPage(
      page,
      `${base}/workloads/${CLIENT_NS}/${client.metadata.name}`,
      'the client pod\'s certificate expiry on its workload page',
      () => pageText(page).then((x) => (/Certificate\s*expires in /.test(x) ? x : undefined)),
      () => traffic(client, '/cert-traffic', 1),
    );
    assert.ok(text.includes(`as node ${client.spec.nodeName}'s agent reported`), text.slice(0, 2000));
    // The timeline fills once /certificates answers (the replica asks its peer for the lists
    // it holds), which may be after the page's first paint.
    const names = [`${CLIENT_NS}/${client.metadata.name}`, `spiffe://cluster.local/ns/${CLIENT_NS}/sa/client`, 'signing CA', 'CA root'];
    const mesh = await untilOnPage(page, `${base}/mesh`, 'the client\'s certificate in the mesh page\'s timeline', () => pageText(page).then((x) => (names.every((n) => x.includes(n)) ? x : undefined)), async () => undefined);
    for (const name of names) assert.ok(mesh.includes(name), `/mesh: "${name}" is not in the timeline:\n${mesh.slice(0, 3000)}`);
  });

  await t.test('a_denied_flow_appears_in_the_flows_table_with_its_policy', async (st) => {
    cluster.applyYaml('deny-admin', DENY_ADMIN);
    st.after(() => ctl('delete', '-f', join(home, 'deny-admin.yaml'), '--ignore-not-found'));
    for (const deadline = Date.now() + 30_000; (await curlStatus(client, `${ECHO_URL}/admin`)) !== 403; ) {
      if (Date.now() > deadline) assert.fail('the DENY on /admin is not enforced');
      await sleep(500);
    }
    const { page } = await openPage(st, browser!);
    const row = await untilOnPage(
      page,
      `${base}/flows?namespace=${APP_NS}`,
      `a denied flow naming ${APP_NS}/deny-admin`,
      () =>
        evalIn<string | null>(page, `[...document.querySelectorAll('tr[data-flow-id]')].find((x) => x.innerText.includes(${JSON.stringify(`${APP_NS}/deny-admin`)}))?.innerText ?? null`).then((v) => v ?? undefined),
      () => traffic(client, '/admin', 2),
    );
    // A flow carries no path, query or header (docs/telemetry.md): the verdict, the deciding
    // policy, the source identity and the status are what the row shows.
    assert.match(row, /denied/);
    assert.match(row, /spiffe:\/\/cluster\.local\/ns\/cons-client\/sa\/client/);
    assert.match(row, /\b403\b/);
  });

  await t.test('the_explain_form_answers_as_authz_check_does', async (st) => {
    cluster.applyYaml('deny-admin', DENY_ADMIN);
    st.after(() => ctl('delete', '-f', join(home, 'deny-admin.yaml'), '--ignore-not-found'));
    for (const deadline = Date.now() + 30_000; (await curlStatus(client, `${ECHO_URL}/admin`)) !== 403; ) {
      if (Date.now() > deadline) assert.fail('the DENY on /admin is not in the config yet');
      await sleep(500);
    }
    const { page, errors } = await openPage(st, browser!);
    for (const path of ['/admin', '/public']) {
      const cli = JSON.parse(ok(ctl('authz', 'check', '--from', `${CLIENT_NS}/client`, '--to', `echo.${APP_NS}:80`, '--method', 'GET', '--path', path, '-o', 'json'), 'authz check')) as { decision: string; message: string; reason: string; policy: string | null; rule: number | null };
      await go(page, `${base}/policies`);
      await page.locator('form.explain-form input[name="from"]').fill(`${CLIENT_NS}/client`);
      await page.locator('form.explain-form input[name="to"]').fill(`echo.${APP_NS}`);
      await page.locator('form.explain-form input[name="port"]').fill('80');
      await page.locator('form.explain-form input[name="method"]').fill('GET');
      await page.locator('form.explain-form input[name="path"]').fill(path);
      await page.click('form.explain-form button[type="submit"]');
      await page.waitForSelector('.decision', { timeout: 20_000 });
      const shown = await pageText(page, '.decision');
      assert.ok(shown.includes(cli.decision), `${path}: the console shows ${cli.decision}: ${shown}`);
      // The console shows the deciding policy and rule, the engine's message and reason, as the CLI's JSON has them.
      if (cli.policy) assert.ok(shown.includes(`policy ${cli.policy} rule ${cli.rule}`), `${path}: the console names ${cli.policy} rule ${cli.rule}: ${shown}`);
      assert.ok(shown.includes(cli.message), `${path}: the console shows the message "${cli.message}": ${shown}`);
      assert.ok(shown.includes(`reason ${cli.reason}`), `${path}: the console shows the reason ${cli.reason}: ${shown}`);
    }
    assert.deepEqual(errors, []);
  });

  await t.test('moving_a_weight_changes_the_httproute_and_the_live_share_follows', async (st) => {
    await traffic(client, '/before-split', 10);
    const { page } = await openPage(st, browser!);
    await go(page, `${base}/services/${APP_NS}/echo`);
    await page.locator('#weight-echo-v1').fill('0');
    await page.locator('#weight-echo-v2').fill('100');
    await page.click('form.weights button[type="submit"]');
    await page.waitForFunction(`document.querySelector('main')?.textContent?.includes(${JSON.stringify(`HTTPRoute ${APP_NS}/echo-route now`)})`, { timeout: 20_000 });
    const route = JSON.parse(kubectl('get', 'httproute', 'echo-route', '-n', APP_NS, '-o', 'json')) as { spec: { rules: Array<{ backendRefs: Array<{ name: string; weight?: number }> }> } };
    assert.deepEqual(
      route.spec.rules[0]!.backendRefs.map((b) => [b.name, b.weight ?? 1]),
      [
        ['echo-v1', 0],
        ['echo-v2', 100],
      ],
    );
    // The live share of echo-v2 (over the telemetry window, so with the earlier traffic to
    // v1 in it) rises past half as the traffic now goes to v2 only.
    const share = await untilOnPage(
      page,
      `${base}/services/${APP_NS}/echo`,
      'the live share of echo-v2 to pass 50%',
      async () => {
        const pct = await evalIn<string | null>(page, `[...document.querySelectorAll('article.route tbody tr')].find((x) => x.querySelectorAll('td')[1]?.textContent === 'echo-v2')?.querySelector('.share')?.textContent ?? null`);
        const n = pct ? Number.parseFloat(pct) : NaN;
        return n > 50 ? n : undefined;
      },
      () => traffic(client, '/after-split', 10),
    );
    assert.ok(share > 50);
    // The controller logged the write with the user the admin kubeconfig's token is.
    const writes = controllerLog().filter((l) => l['msg'] === 'api: write');
    assert.ok(writes.length > 0, 'the controller logged the write');
    assert.deepEqual(writes.map((l) => l['user']), writes.map(() => 'ambient-admin'));
  });
});

/** Every JSON line the controller pods have logged so far. */
function controllerLog(): Array<Record<string, unknown>> {
  const podsDir = join(home, 'clusters', cluster.name, 'pods');
  const lines: Array<Record<string, unknown>> = [];
  for (const dir of readdirSync(podsDir).filter((d) => d.startsWith('ambient-system_ambient-controller-'))) {
    for (const file of readdirSync(join(podsDir, dir)).filter((f) => f.endsWith('.log'))) {
      for (const l of readFileSync(join(podsDir, dir, file), 'utf8').split('\n')) {
        if (!l.startsWith('{')) continue;
        try {
          lines.push(JSON.parse(l) as Record<string, unknown>);
        } catch {
          // the line being written
        }
      }
    }
  }
  return lines;
}
