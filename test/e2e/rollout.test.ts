// Namespaced tier: canary and blue/green through the API on the 2-node local cluster,
// driven as a user drives it (ambientctl traffic split/show, apply -f of a Rollout,
// ambientctl rollout status/pause/resume, kubectl to read objects back), with the weights
// observed in the traffic itself. One cluster for the file: a client pod on node1
// (namespace ro-client) that sends a request to the Service echo every LOAD_INTERVAL for the
// whole file (the client sample's loop: the gates read the waypoint's request metrics, so
// a rollout needs traffic while it runs), echo pods v1 and v2 on node2 behind the Services
// echo, echo-v1 and echo-v2 (namespace ro-app, which has a waypoint).
//
// The shares are counted by the test itself: a burst of requests from the client pod's
// network namespace (a short Node program run there, one connection per request, as the
// client sample sends them), each answer's x-echo-pod header naming the backend.
//
// The echo pods carry service.istio.io/canonical-name echo-v1/echo-v2: both also have
// app=echo (the Service echo selects them by it), and the waypoints name a workload by its
// canonical name, which is how a rollout tells the canary's requests from the stable's.
//
// The cases run in order on the same objects: traffic split/show by hand; the Rollout echo
// (paused and resumed at the steps it is at, Succeeded); then, the finished echo left in
// place (it no longer writes the route), weights set by hand again and a second Rollout of
// the Service whose canary answers 500 (the echo sample's injected fault), rolled back.
// Timing is never asserted: every wait is bounded, shares are judged within a tolerance.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireRoot } from '../support/netns.js';
import { e2eCluster, ok, type PodRow, sleep, until } from '../support/e2e.js';
import { podNetnsName } from '../../local-cluster/network/topology.js';
import { echoPodYaml, enrolledNamespacesWithClientYaml, httpServiceYaml } from '../support/e2e-apps.js';

const cluster = e2eCluster('roe2e');
const { home, ctl } = cluster;
const APP_NS = 'ro-app';
const CLIENT_NS = 'ro-client';
const ECHO_URL = `http://echo.${APP_NS}`;
const WAYPOINT_SELECTOR = 'gateway.networking.k8s.io/gateway-name=waypoint';
/** The client pod's request loop: 10 requests a second to the Service echo. */
const LOAD_INTERVAL = '100ms';
/** A Rollout's step interval: short, so the file stays short; long enough to pause within one step. */
const ROLLOUT_INTERVAL_S = 8;
/** Requests of a burst counting the shares, and how far a measured share may be from the weight. */
const BURST = 100;
const SHARE_TOLERANCE = 0.12;

const echoPod = (version: string) =>
  echoPodYaml(APP_NS, `echo-${version}`, `app: echo, version: ${version}, service.istio.io/canonical-name: echo-${version}`, '    - name: POD_NAME\n      valueFrom: {fieldRef: {fieldPath: metadata.name}}\n');
const service = (name: string, selector: string) => httpServiceYaml(APP_NS, name, selector);

const CLIENT_ENV = `    - {name: TARGET_URL, value: '${ECHO_URL}/load'}
    - {name: INTERVAL, value: '${LOAD_INTERVAL}'}
`;

const APPS = `${enrolledNamespacesWithClientYaml(CLIENT_NS, APP_NS, CLIENT_ENV)}apiVersion: v1
kind: ServiceAccount
metadata: {name: operator, namespace: ${APP_NS}}
---
${echoPod('v1')}---
${echoPod('v2')}---
${service('echo', 'app: echo')}---
${service('echo-v1', 'app: echo, version: v1')}---
${service('echo-v2', 'app: echo, version: v2')}`;

const rolloutYaml = (name: string) => `apiVersion: ambient.dev/v1
kind: Rollout
metadata: {name: ${name}, namespace: ${APP_NS}}
spec:
  service: echo
  stable: echo-v1
  canary: echo-v2
  steps: [20, 50, 100]
  interval: ${ROLLOUT_INTERVAL_S}s
  gates: {minSuccessRate: 0.95, maxP99Latency: 5s, minRequests: 5}
`;

interface BackendRef {
  name: string;
  port?: number;
  weight?: number;
}
interface HTTPRoute {
  metadata: { name: string };
  spec: { parentRefs?: Array<{ group?: string; kind?: string; name: string }>; rules?: Array<{ backendRefs?: BackendRef[] }> };
}
interface RolloutStatus {
  phase?: string;
  canaryWeight?: number;
  step?: number;
  message?: string;
  stepStartedAt?: string;
  failedGate?: { gate: string; measured: number; threshold: number } | null;
}
interface TrafficShow {
  routes: string[];
  backends: Array<{ route: string; rule: number; backend: string; port?: number; weight: number; share: number }>;
  live: { available: boolean; reason?: string; requests?: Record<string, number>; waypointPods?: number };
}

/** Runs `argv` in `pod`'s network namespace (as `ambientctl exec` does) without blocking the event loop. */
function execIn(pod: PodRow, argv: string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', podNetnsName(cluster.name, pod.metadata.uid), ...argv], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown }) | null;
      resolve({ code: !e ? 0 : typeof e.code === 'number' ? e.code : 1, stdout, stderr: stderr + (e && typeof e.code !== 'number' ? e.message : '') });
    });
  });
}

// One request after the other, a new connection each (as the client sample sends them);
// prints {"<status> <x-echo-pod>": count, ...}.
const BURST_PROGRAM = `
const http = require('node:http');
const [n, url] = [Number(process.argv[1]), process.argv[2]];
const counts = {};
const add = (k) => { counts[k] = (counts[k] || 0) + 1; };
let i = 0;
const one = () => {
  if (i++ >= n) return console.log(JSON.stringify(counts));
  const req = http.get(url, { agent: false, timeout: 5000 }, (res) => {
    res.resume();
    res.on('end', () => { add(res.statusCode + ' ' + (res.headers['x-echo-pod'] || '-')); one(); });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => { add('error ' + (e.code || e.message)); one(); });
};
one();
`;

/** Per answer kind ("200 echo-v1", "500 echo-v2", "error ..."), the answers of `n` requests from the client pod. */
async function burst(client: PodRow, n: number, path = `/burst-${rand()}`): Promise<Record<string, number>> {
  const r = await execIn(client, [process.execPath, '-e', BURST_PROGRAM, String(n), `${ECHO_URL}${path}`], 60_000 + n * 1_000);
  assert.equal(r.code, 0, `the burst ran in the client pod: ${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as Record<string, number>;
}

/** The share of a burst's answers that were `status` from `pod`. */
function share(counts: Record<string, number>, answer: string): number {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return total === 0 ? 0 : (counts[answer] ?? 0) / total;
}

/** The commands that call the controller's API, as ServiceAccount ${APP_NS}/operator: a user with write rights in its namespace only, not the admin. */
const ctlApi = (...args: string[]) => ctl(...args, '--service-account', `${APP_NS}/operator`);

let kubeconfig: string | undefined;
function kubectl(...args: string[]): string {
  kubeconfig ??= ok(ctl('cluster', 'kubeconfig'), 'cluster kubeconfig').trim();
  return ok(cluster.run('kubectl', ['--kubeconfig', kubeconfig, ...args]), `kubectl ${args.join(' ')}`);
}

const getRoute = (name: string): HTTPRoute => JSON.parse(kubectl('get', 'httproute', name, '-n', APP_NS, '-o', 'json')) as HTTPRoute;
const getRollout = (name: string): RolloutStatus => (JSON.parse(kubectl('get', 'rollout', name, '-n', APP_NS, '-o', 'json')) as { status?: RolloutStatus }).status ?? {};

/** The weights of the route's (single) rule, by backend name. */
function routeWeights(r: HTTPRoute): Record<string, number> {
  assert.equal(r.spec.rules?.length, 1, `one rule: ${JSON.stringify(r.spec)}`);
  return Object.fromEntries((r.spec.rules[0]!.backendRefs ?? []).map((b) => [b.name, b.weight ?? 1]));
}

function trafficShow(window: string): TrafficShow {
  return JSON.parse(ok(ctlApi('traffic', 'show', 'echo', '-n', APP_NS, '--window', window, '-o', 'json'), 'traffic show')) as TrafficShow;
}

/**
 * `traffic show`'s live requests per backend counting only requests made after `at`: the
 * waypoint reports every 5 s and the window holds whole 10 s buckets of reports, each
 * starting after now - window, so a window starting 6 s after `at` holds no earlier
 * request. Asked once it is a bucket long and counts at least `min` requests (the client
 * pod's load, 10 requests a second, fills it).
 */
async function liveRequestsSince(at: number, min: number): Promise<Record<string, number>> {
  let live: TrafficShow['live'] = { available: false };
  await eventually(`the live shares to count ${min} requests made after the change`, async () => {
    const seconds = Math.floor((Date.now() - at) / 1000) - 6;
    if (seconds < 10) return false;
    live = trafficShow(`${seconds}s`).live;
    const r = live.requests ?? {};
    return live.available && (r['echo-v1'] ?? 0) + (r['echo-v2'] ?? 0) >= min;
  }, 60_000).catch((err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify(live)}`);
  });
  return live.requests!;
}

/** The JSON lines a pod's container has logged (`<state>/pods/<ns>_<pod>_<uid prefix>/<container>.log`). */
function podLog(ns: string, pod: PodRow, container: string): Array<Record<string, unknown>> {
  const dir = join(home, 'clusters', cluster.name, 'pods');
  const podDir = readdirSync(dir).find((d) => d.startsWith(`${ns}_${pod.metadata.name}_`) && pod.metadata.uid.startsWith(d.slice(`${ns}_${pod.metadata.name}_`.length)));
  if (!podDir) return [];
  let text = '';
  try {
    text = readFileSync(join(dir, podDir, `${container}.log`), 'utf8');
  } catch {
    return [];
  }
  const out: Array<Record<string, unknown>> = [];
  for (const l of text.split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      out.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      // the line being written
    }
  }
  return out;
}

/** The waypoint's access-log line of the request to `path`, if it logged one. */
function waypointLogged(path: string): Record<string, unknown> | undefined {
  for (const p of cluster.pods(APP_NS, WAYPOINT_SELECTOR)) {
    const line = podLog(APP_NS, p, 'waypoint').find((l) => l['msg'] === 'request' && l['path'] === path);
    if (line) return line;
  }
  return undefined;
}

const rand = () => randomBytes(4).toString('hex');

/** Awaits `probe` every 500 ms until it gives a value (not undefined or false), for at most `timeoutMs`. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(500);
  }
}

/** Polls the Rollout until `want` holds for its status; the last status read is in the failure. */
async function rolloutUntil(name: string, what: string, want: (s: RolloutStatus) => boolean, timeoutMs = 60_000): Promise<RolloutStatus> {
  let last: RolloutStatus = {};
  return until(
    `Rollout ${name}: ${what}`,
    () => {
      last = getRollout(name);
      return want(last) ? last : undefined;
    },
    timeoutMs,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last status: ${JSON.stringify(last)}`);
  });
}

/** Bursts until every answer of one is `answer` (the waypoint applied a route change), then one more burst, returned. */
async function allTo(client: PodRow, answer: string): Promise<Record<string, number>> {
  let last: Record<string, number> = {};
  await eventually(`every answer to be ${answer}`, async () => {
    last = await burst(client, 10);
    return share(last, answer) === 1;
  }).catch((err: Error) => {
    throw new Error(`${err.message}; last burst: ${JSON.stringify(last)}`);
  });
  return burst(client, BURST / 2);
}

test('traffic split, show and Rollouts move the real traffic between echo-v1 and echo-v2 through the waypoint', { timeout: 420_000 }, async (t: TestContext) => {
  if (!requireRoot(t)) return;
  await cluster.upWithMesh(t);
  cluster.applyYaml('apps', APPS);
  const client = (await cluster.readyPods(CLIENT_NS, 'app=client', 1))[0]!;
  await cluster.readyPods(APP_NS, 'app=echo', 2);
  ok(ctl('waypoint', 'apply', '-n', APP_NS, '--enroll-namespace', '--wait', '--timeout', '120'), 'waypoint apply');
  await cluster.readyPods(APP_NS, WAYPOINT_SELECTOR, 1);
  // The client's requests go through the waypoint before anything is measured.
  await eventually('a request through the waypoint', async () => {
    const path = `/through-waypoint-${rand()}`;
    const c = await burst(client, 1, path);
    return c['200 echo-v1'] === 1 || c['200 echo-v2'] === 1 ? !!waypointLogged(path) : false;
  });

  await t.test('traffic split creates the HTTPRoute, the traffic follows its weights, --to sends all to one backend, and traffic show prints the live shares', async () => {
    const out = ok(ctlApi('traffic', 'split', 'echo', '-n', APP_NS, 'echo-v1=80', 'echo-v2=20'), 'traffic split');
    assert.match(out, /httproute\.gateway\.networking\.k8s\.io\/echo created \(echo-v1=80 echo-v2=20\)/, out);
    const route = getRoute('echo');
    assert.deepEqual(route.spec.parentRefs?.map((p) => [p.group ?? '', p.kind, p.name]), [['', 'Service', 'echo']]);
    assert.deepEqual(route.spec.rules?.[0]?.backendRefs, [
      { name: 'echo-v1', port: 80, weight: 80 },
      { name: 'echo-v2', port: 80, weight: 20 },
    ]);
    // The waypoint routes by it once its access log names the route.
    await eventually('the waypoint to apply the route', async () => {
      const path = `/route-ready-${rand()}`;
      await burst(client, 1, path);
      return String(waypointLogged(path)?.['route'] ?? '').includes('echo');
    });
    const routedAt = Date.now();

    const counts = await burst(client, BURST);
    assert.equal((counts['200 echo-v1'] ?? 0) + (counts['200 echo-v2'] ?? 0), BURST, `every answer a 200 of v1 or v2: ${JSON.stringify(counts)}`);
    assert.ok(Math.abs(share(counts, '200 echo-v2') - 0.2) <= SHARE_TOLERANCE, `echo-v2 answered about 20%: ${JSON.stringify(counts)}`);

    // traffic show: the configured weights, and the live share each backend got in the
    // controller's telemetry window, counting only requests the route applied to.
    const shown = trafficShow('1m');
    assert.deepEqual(shown.routes, ['echo']);
    assert.deepEqual(
      shown.backends.map((b) => [b.backend, b.port, b.weight, b.share]),
      [
        ['echo-v1', 80, 80, 80],
        ['echo-v2', 80, 20, 20],
      ],
    );
    // Two bursts' worth: the share of ~100 requests strays past the tolerance a few times in a thousand runs (it did once here: 8%).
    const r = await liveRequestsSince(routedAt, 2 * BURST);
    const total = r['echo-v1']! + r['echo-v2']!;
    assert.ok(Math.abs(r['echo-v2']! / total - 0.2) <= SHARE_TOLERANCE, `the live share of echo-v2 is about 20%: ${JSON.stringify(r)}`);
    const table = ok(ctlApi('traffic', 'show', 'echo', '-n', APP_NS, '--window', '1m'), 'traffic show (table)');
    assert.match(table, /^ROUTE\s+RULE\s+MATCHES\s+BACKEND\s+PORT\s+WEIGHT\s+SHARE\s+LIVE/m, table);
    assert.match(table, /^echo\s+0\s+\*\s+echo-v1\s+80\s+80\s+80%\s+[\d.]+% \(\d+ req\)/m, table);
    assert.match(table, /^echo\s+0\s+\*\s+echo-v2\s+80\s+20\s+20%\s+[\d.]+% \(\d+ req\)/m, table);
    assert.match(table, /^LIVE: requests to echo per backend over the last 1m, from the controller's telemetry window/m, table);

    // Blue/green: everything to v2.
    const to = ok(ctlApi('traffic', 'split', 'echo', '-n', APP_NS, '--to', 'echo-v2'), 'traffic split --to');
    assert.match(to, /httproute\.gateway\.networking\.k8s\.io\/echo configured \(echo-v2=100\)/, to);
    assert.deepEqual(routeWeights(getRoute('echo')), { 'echo-v1': 0, 'echo-v2': 100 });
    const after = await allTo(client, '200 echo-v2');
    assert.deepEqual(Object.keys(after), ['200 echo-v2'], JSON.stringify(after));
    // Counting only requests made after every new one went to echo-v2: echo-v2 alone.
    const r2 = await liveRequestsSince(Date.now(), BURST / 2);
    assert.ok((r2['echo-v2'] ?? 0) / ((r2['echo-v1'] ?? 0) + (r2['echo-v2'] ?? 0)) >= 0.95, `the live share of echo-v2 after --to is all of it: ${JSON.stringify(r2)}`);
  });

  await t.test('a Rollout on a healthy canary: pause holds its weight across intervals, resume goes on, the share in traffic follows the steps, it ends Succeeded with the canary at 100', async () => {
    cluster.applyYaml('rollout-echo', rolloutYaml('echo'));
    try {
      // The first step's weight is set and the driver measures the canary (it would hold, saying why, if it could not read the waypoint's metrics).
      const first = await rolloutUntil('echo', 'Progressing at step 1 (canary 20)', (s) => s.phase === 'Progressing' && s.step === 0 && s.canaryWeight === 20);
      assert.doesNotMatch(first.message ?? '', /holding/, `the driver measures the canary: ${first.message}`);
      // Paused at a step (the first, unless the machine was slow to pause it), the route and
      // the traffic keep that step's weight; twice, at two steps, then on to the end.
      const measured: number[] = [];
      for (let round = 0; round < 2; round++) {
        ok(ctlApi('rollout', 'pause', 'echo', '-n', APP_NS), 'rollout pause');
        const paused = await rolloutUntil('echo', 'Paused', (s) => s.phase === 'Paused' || s.phase === 'Succeeded', 30_000);
        if (paused.phase === 'Succeeded') break; // too late to pause: nothing left to hold
        const w = paused.canaryWeight!;
        assert.match(ok(ctlApi('rollout', 'status', 'echo', '-n', APP_NS), 'rollout status'), /^Phase:\s+Paused$/m);
        assert.deepEqual(routeWeights(getRoute('echo')), { 'echo-v1': 100 - w, 'echo-v2': w });
        let last: Record<string, number> = {};
        await eventually(`about ${w}% to the canary while paused`, async () => {
          last = await burst(client, BURST / 2);
          return (last['200 echo-v1'] ?? 0) + (last['200 echo-v2'] ?? 0) === BURST / 2 && Math.abs(share(last, '200 echo-v2') - w / 100) <= 0.2;
        }, 30_000).catch((err: Error) => {
          throw new Error(`${err.message}: last burst ${JSON.stringify(last)}`);
        });
        measured.push(w);
        t.diagnostic(`paused at canary ${w}%: ${JSON.stringify(last)}`);
        if (round === 0) {
          // Held across an interval and a pass of the driver: neither the status nor the route move.
          const heldUntil = Date.now() + ROLLOUT_INTERVAL_S * 1000 + 5_000;
          while (Date.now() < heldUntil) {
            const s = getRollout('echo');
            assert.equal(s.phase, 'Paused', JSON.stringify(s));
            assert.equal(s.canaryWeight, w, JSON.stringify(s));
            await sleep(1000);
          }
          assert.deepEqual(routeWeights(getRoute('echo')), { 'echo-v1': 100 - w, 'echo-v2': w }, 'the route held its weights');
        }
        ok(ctlApi('rollout', 'resume', 'echo', '-n', APP_NS), 'rollout resume');
        if (w === 100) break;
        const next = await rolloutUntil('echo', `the step after canary ${w}%`, (s) => (s.phase === 'Progressing' && s.canaryWeight! > w) || s.phase === 'Succeeded' || s.phase === 'RolledBack', 60_000);
        if (next.phase !== 'Progressing') break;
      }
      assert.ok(measured.length > 0 && measured[0]! < 100, `a step short of 100% was measured in the traffic: ${JSON.stringify(measured)}`);

      const done = await rolloutUntil('echo', 'Succeeded', (s) => s.phase === 'Succeeded' || s.phase === 'RolledBack', 90_000);
      assert.equal(done.phase, 'Succeeded', JSON.stringify(done));
      assert.equal(done.canaryWeight, 100);
      assert.equal(done.failedGate ?? null, null);
      assert.deepEqual(routeWeights(getRoute('echo')), { 'echo-v1': 0, 'echo-v2': 100 });
      const status = ok(ctlApi('rollout', 'status', 'echo', '-n', APP_NS), 'rollout status');
      assert.match(status, /^Phase:\s+Succeeded$/m, status);
      assert.match(status, /^Canary weight:\s+100%$/m, status);
      const afterAll = await allTo(client, '200 echo-v2');
      assert.deepEqual(Object.keys(afterAll), ['200 echo-v2'], JSON.stringify(afterAll));
      // The finished Rollout stays: it no longer writes the route (next case).
    } finally {
      // Whatever failed, a Rollout left running would drive the route under the next case.
      const s = getRollout('echo');
      if (s.phase !== 'Succeeded' && s.phase !== 'RolledBack') ctlApi('rollout', 'abort', 'echo', '-n', APP_NS);
    }
  });

  await t.test('a Rollout whose canary answers 500 rolls back: the failing gate and its value in the status, the route and the traffic back to stable', async () => {
    const v2 = cluster.pods(APP_NS, 'version=v2')[0]!;
    // By hand after the finished Rollout echo: the driver leaves it (a pass is 5 s at most).
    const splitAt = Date.now();
    ok(ctlApi('traffic', 'split', 'echo', '-n', APP_NS, '--to', 'echo-v1'), 'traffic split --to echo-v1');
    await allTo(client, '200 echo-v1');
    await sleep(Math.max(0, splitAt + 6_000 - Date.now()));
    assert.deepEqual(routeWeights(getRoute('echo')), { 'echo-v1': 100, 'echo-v2': 0 }, 'the finished Rollout did not put its weights back');
    assert.equal(getRollout('echo').phase, 'Succeeded');
    // The canary fails every request from now on (the echo sample's injected fault).
    const fault = await execIn(v2, ['curl', '-s', '-S', '-X', 'PUT', '--max-time', '5', 'http://127.0.0.1:8080/_echo/fault?status=500']);
    assert.equal(fault.code, 0, fault.stderr);
    t.after(() => execIn(v2, ['curl', '-s', '-X', 'DELETE', '--max-time', '5', 'http://127.0.0.1:8080/_echo/fault']));
    assert.deepEqual(JSON.parse(fault.stdout), { status: 500, percent: 100, delayMs: 0 });

    cluster.applyYaml('rollout-bad', rolloutYaml('echo-bad'));
    const started = await rolloutUntil('echo-bad', 'Progressing (canary 20)', (s) => (s.phase === 'Progressing' && s.canaryWeight === 20) || s.phase === 'RolledBack');
    const during = started.phase === 'Progressing' ? await burst(client, 30) : {};
    const back = await rolloutUntil('echo-bad', 'RolledBack', (s) => s.phase === 'RolledBack' || s.phase === 'Succeeded', 60_000);
    assert.equal(back.phase, 'RolledBack', JSON.stringify(back));
    assert.equal(back.canaryWeight, 0);
    assert.equal(back.step, 0, 'it rolled back in the first step');
    assert.equal(back.failedGate?.gate, 'minSuccessRate', JSON.stringify(back));
    assert.equal(back.failedGate?.threshold, 0.95);
    assert.equal(back.failedGate?.measured, 0, 'every canary request failed');
    assert.match(back.message ?? '', /^rolled back: canary success rate 0% over \d+ requests is under minSuccessRate 95%$/, back.message);
    if (started.phase === 'Progressing') assert.ok((during['500 echo-v2'] ?? 0) > 0, `the canary's 500s were in the traffic: ${JSON.stringify(during)}`);
    assert.deepEqual(routeWeights(getRoute('echo')), { 'echo-v1': 100, 'echo-v2': 0 });
    const status = ok(ctlApi('rollout', 'status', 'echo-bad', '-n', APP_NS), 'rollout status');
    assert.match(status, /^Phase:\s+RolledBack$/m, status);
    assert.match(status, /^Canary weight:\s+0%$/m, status);
    assert.match(status, /^Failed gate:\s+minSuccessRate: measured 0%, bound 95%$/m, status);
    const after = await allTo(client, '200 echo-v1');
    assert.deepEqual(Object.keys(after), ['200 echo-v1'], `all to stable: ${JSON.stringify(after)}`);
    const listed = ok(ctlApi('rollout', 'status', '-n', APP_NS), 'rollout status (all)');
    assert.match(listed, /^echo\s+echo\s+echo-v1\s+echo-v2\s+Succeeded\s+3 of 3\s+100%/m, listed);
    assert.match(listed, /^echo-bad\s+echo\s+echo-v1\s+echo-v2\s+RolledBack\s+1 of 3\s+0%/m, listed);
  });
});
