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
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireRoot } from '../support/netns.js';
import { BIN, e2eCluster, ok, type PodRow, type RunResult, sleep, until } from '../support/e2e.js';
import { podNetnsName } from '../../local-cluster/network/topology.js';

const cluster = e2eCluster('roe2e');
const { home, ctl } = cluster;
const APP_NS = 'ro-app';
const CLIENT_NS = 'ro-client';
const ECHO_URL = `http://echo.${APP_NS}`;
const WAYPOINT_SELECTOR = 'gateway.networking.k8s.io/gateway-name=waypoint';
/** The client pod's request loop: 10 requests a second to the Service echo. */
const LOAD_INTERVAL = '100ms';
/** A Rollout's step interval: short, so the file stays short; long enough to pause within one step. */
const ROLLOUT_INTERVAL_S = 5;
/** Requests of a burst counting the shares, and how far a measured share may be from the weight. */
const BURST = 100;
const SHARE_TOLERANCE = 0.12;

const echoPod = (version: string) => `apiVersion: v1
kind: Pod
metadata:
  name: echo-${version}
  namespace: ${APP_NS}
  labels: {app: echo, version: ${version}, service.istio.io/canonical-name: echo-${version}}
spec:
  nodeName: node2
  containers:
  - name: echo
    image: ambient-samples/echo
    ports: [{name: http, containerPort: 8080}]
    env:
    - {name: PORT, value: "8080"}
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
`;
const service = (name: string, selector: string) => `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${APP_NS}}
spec:
  selector: {${selector}}
  ports: [{name: http, port: 80, targetPort: 8080, appProtocol: http}]
`;

const APPS = `apiVersion: v1
kind: Namespace
metadata: {name: ${CLIENT_NS}, labels: {ambient.dev/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ${APP_NS}, labels: {ambient.dev/dataplane-mode: ambient}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: client, namespace: ${CLIENT_NS}}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: ${CLIENT_NS}, labels: {app: client}}
spec:
  nodeName: node1
  serviceAccountName: client
  containers:
  - name: client
    image: ambient-samples/client
    env:
    - {name: TARGET_URL, value: '${ECHO_URL}/load'}
    - {name: INTERVAL, value: '${LOAD_INTERVAL}'}
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
  gates: {minSuccessRate: 0.95, maxP99Latency: 2s, minRequests: 5}
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

/** ambientctl --cluster <name> ..., without blocking the event loop (a burst runs meanwhile). */
function ctlAsync(...args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, '--cluster', cluster.name, ...args], { timeout: 60_000, encoding: 'utf8', env: { ...process.env, AMBIENT_HOME: home } }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown }) | null;
      resolve({ code: !e ? 0 : typeof e.code === 'number' ? e.code : 1, stdout, stderr: stderr + (e && typeof e.code !== 'number' ? e.message : '') });
    });
  });
}

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
  return JSON.parse(ok(ctl('traffic', 'show', 'echo', '-n', APP_NS, '--window', window, '-o', 'json'), 'traffic show')) as TrafficShow;
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

  await t.test('traffic split creates the HTTPRoute, the traffic follows its weights, --to sends all to one backend, and traffic show prints the live shares', async (t) => {
    const out = ok(ctl('traffic', 'split', 'echo', '-n', APP_NS, 'echo-v1=80', 'echo-v2=20'), 'traffic split');
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

    const counts = await burst(client, BURST);
    assert.equal((counts['200 echo-v1'] ?? 0) + (counts['200 echo-v2'] ?? 0), BURST, `every answer a 200 of v1 or v2: ${JSON.stringify(counts)}`);
    assert.ok(Math.abs(share(counts, '200 echo-v2') - 0.2) <= SHARE_TOLERANCE, `echo-v2 answered about 20%: ${JSON.stringify(counts)}`);

    // traffic show over a window in which a burst is sent: the live counts include it.
    const showing = ctlAsync('traffic', 'show', 'echo', '-n', APP_NS, '--window', '8s', '-o', 'json');
    await sleep(2500); // the command has started and read the counters once
    const sentAt = Date.now();
    const during = await burst(client, BURST);
    t.diagnostic(`a burst of ${BURST} took ${Date.now() - sentAt} ms`);
    const shown = JSON.parse(ok(await showing, 'traffic show during a burst')) as TrafficShow;
    assert.deepEqual(shown.routes, ['echo']);
    assert.deepEqual(
      shown.backends.map((b) => [b.backend, b.port, b.weight, b.share]),
      [
        ['echo-v1', 80, 80, 80],
        ['echo-v2', 80, 20, 20],
      ],
    );
    assert.ok(shown.live.available, `live shares available: ${JSON.stringify(shown.live)}`);
    const live = shown.live.requests ?? {};
    for (const b of ['echo-v1', 'echo-v2']) assert.ok((live[b] ?? 0) >= (during[`200 ${b}`] ?? 0), `the live count of ${b} includes the burst's: ${JSON.stringify({ live, during })}`);
    const liveTotal = (live['echo-v1'] ?? 0) + (live['echo-v2'] ?? 0);
    assert.ok(Math.abs((live['echo-v2'] ?? 0) / liveTotal - 0.2) <= SHARE_TOLERANCE, `the live share of echo-v2 is about 20%: ${JSON.stringify(live)}`);
    const table = ok(ctl('traffic', 'show', 'echo', '-n', APP_NS, '--window', '2s'), 'traffic show (table)');
    assert.match(table, /^ROUTE\s+RULE\s+MATCHES\s+BACKEND\s+PORT\s+WEIGHT\s+SHARE\s+LIVE/m, table);
    assert.match(table, /^echo\s+0\s+\*\s+echo-v1\s+80\s+80\s+80%\s+[\d.]+% \(\d+ req\)/m, table);
    assert.match(table, /^echo\s+0\s+\*\s+echo-v2\s+80\s+20\s+20%\s+[\d.]+% \(\d+ req\)/m, table);
    assert.match(table, /^LIVE: requests to echo per backend over the last 2s, from 1 waypoint pod/m, table);

    // Blue/green: everything to v2.
    const to = ok(ctl('traffic', 'split', 'echo', '-n', APP_NS, '--to', 'echo-v2'), 'traffic split --to');
    assert.match(to, /httproute\.gateway\.networking\.k8s\.io\/echo configured \(echo-v2=100\)/, to);
    assert.deepEqual(routeWeights(getRoute('echo')), { 'echo-v1': 0, 'echo-v2': 100 });
    const after = await allTo(client, '200 echo-v2');
    assert.deepEqual(Object.keys(after), ['200 echo-v2'], JSON.stringify(after));
    const shownAfter = trafficShow('3s');
    assert.equal(shownAfter.live.requests?.['echo-v1'], 0, `no live request to echo-v1: ${JSON.stringify(shownAfter.live)}`);
    assert.ok((shownAfter.live.requests?.['echo-v2'] ?? 0) > 0, `the client's loop reaches echo-v2: ${JSON.stringify(shownAfter.live)}`);
  });

  await t.test('a Rollout on a healthy canary: pause holds its weight across an interval, resume goes on, each step is in the traffic, it ends Succeeded with the canary at 100', async () => {
    cluster.applyYaml('rollout-echo', rolloutYaml('echo'));
    // The first step's weight is set and the driver measures the canary (it would hold, saying why, if it could not read the waypoint's metrics).
    const first = await rolloutUntil('echo', 'Progressing at step 1 (canary 20)', (s) => s.phase === 'Progressing' && s.step === 0 && s.canaryWeight === 20);
    assert.doesNotMatch(first.message ?? '', /holding/, `the driver measures the canary: ${first.message}`);
    ok(ctl('rollout', 'pause', 'echo', '-n', APP_NS), 'rollout pause');
    const paused = await rolloutUntil('echo', 'Paused', (s) => s.phase === 'Paused', 20_000);
    assert.equal(paused.canaryWeight, 20, `paused at the first step: ${JSON.stringify(paused)}`);
    assert.deepEqual(routeWeights(getRoute('echo')), { 'echo-v1': 80, 'echo-v2': 20 });
    const atPause = await burst(client, BURST);
    assert.ok(Math.abs(share(atPause, '200 echo-v2') - 0.2) <= SHARE_TOLERANCE, `about 20% to the canary while paused: ${JSON.stringify(atPause)}`);
    // Held across two intervals: neither the status nor the route move.
    const heldUntil = Date.now() + 2 * ROLLOUT_INTERVAL_S * 1000;
    while (Date.now() < heldUntil) {
      const s = getRollout('echo');
      assert.equal(s.phase, 'Paused', JSON.stringify(s));
      assert.equal(s.canaryWeight, 20, JSON.stringify(s));
      await sleep(1000);
    }
    assert.deepEqual(routeWeights(getRoute('echo')), { 'echo-v1': 80, 'echo-v2': 20 }, 'the route held its weights');
    assert.match(ok(ctl('rollout', 'status', 'echo', '-n', APP_NS), 'rollout status'), /^Phase:\s+Paused$/m);

    ok(ctl('rollout', 'resume', 'echo', '-n', APP_NS), 'rollout resume');
    const second = await rolloutUntil('echo', 'step 2 (canary 50)', (s) => s.phase === 'Progressing' && s.step === 1, 60_000);
    assert.equal(second.canaryWeight, 50);
    assert.deepEqual(routeWeights(getRoute('echo')), { 'echo-v1': 50, 'echo-v2': 50 });
    await sleep(1000); // the waypoint gets the new weights
    const atHalf = await burst(client, BURST / 2);
    assert.equal(getRollout('echo').step, 1, 'the burst was sent within the step');
    assert.ok(Math.abs(share(atHalf, '200 echo-v2') - 0.5) <= 0.25, `about half to the canary at step 2: ${JSON.stringify(atHalf)}`);

    const done = await rolloutUntil('echo', 'Succeeded', (s) => s.phase === 'Succeeded' || s.phase === 'RolledBack', 60_000);
    assert.equal(done.phase, 'Succeeded', JSON.stringify(done));
    assert.equal(done.canaryWeight, 100);
    assert.equal(done.failedGate ?? null, null);
    assert.deepEqual(routeWeights(getRoute('echo')), { 'echo-v1': 0, 'echo-v2': 100 });
    const status = ok(ctl('rollout', 'status', 'echo', '-n', APP_NS), 'rollout status');
    assert.match(status, /^Phase:\s+Succeeded$/m, status);
    assert.match(status, /^Canary weight:\s+100%$/m, status);
    const afterAll = await allTo(client, '200 echo-v2');
    assert.deepEqual(Object.keys(afterAll), ['200 echo-v2'], JSON.stringify(afterAll));
    // A finished Rollout keeps its weights on the route; the next case drives it with another.
    kubectl('delete', 'rollout', 'echo', '-n', APP_NS);
  });

  await t.test('a Rollout whose canary answers 500 rolls back: the failing gate and its value in the status, the route and the traffic back to stable', async () => {
    const v2 = cluster.pods(APP_NS, 'version=v2')[0]!;
    ok(ctl('traffic', 'split', 'echo', '-n', APP_NS, '--to', 'echo-v1'), 'traffic split --to echo-v1');
    await allTo(client, '200 echo-v1');
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
    const status = ok(ctl('rollout', 'status', 'echo-bad', '-n', APP_NS), 'rollout status');
    assert.match(status, /^Phase:\s+RolledBack$/m, status);
    assert.match(status, /^Canary weight:\s+0%$/m, status);
    assert.match(status, /^Failed gate:\s+minSuccessRate: measured 0%, bound 95%$/m, status);
    const after = await allTo(client, '200 echo-v1');
    assert.deepEqual(Object.keys(after), ['200 echo-v1'], `all to stable: ${JSON.stringify(after)}`);
  });
});
