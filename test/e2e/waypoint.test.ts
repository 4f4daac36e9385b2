// Namespaced tier: a waypoint on the 2-node local cluster, driven as a user drives it
// (ambientctl waypoint apply/list/status/delete, apply -f of routes and policies,
// authz check), beyond the conformance cases: traffic through the waypoint, an L7 DENY,
// request metrics and access log, a trace exported to a test OTLP receiver, a route
// update during a slow request, and deleting the waypoint. One cluster for the file: a
// client pod on node1 (namespace wp-client), echo pods v1 and v2 on node2 behind the
// Services echo, echo-v1 and echo-v2 (namespace wp-app), both namespaces enrolled.
//
// Tracing: the controller runs with a waypoint template (--waypoint-template) that is
// manifests/waypoint.yaml plus OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and
// OTEL_TRACES_SAMPLER=always_on (a Deployment env patch would be put back by the
// controller, which keeps its waypoints as rendered), and the node agents get the same
// variables. The receiver (test/support/otlp-receiver.ts) listens on 127.0.0.1 of the
// machine; a listener on the cluster bridge address (10.243.0.1, inside the cluster's
// namespace, where pods and nodes reach it with no route out of the cluster) pipes to it.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { requireRoot } from '../support/netns.js';
import { e2eCluster, ok, REPO, type PodRow, until } from '../support/e2e.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { clusterNetnsName, podNetnsName } from '../../local-cluster/network/topology.js';
import { listenInNetns, netnsPath } from '../../core/syscalls.js';
import { echoPodYaml, enrolledNamespacesWithClientYaml, httpServiceYaml } from '../support/e2e-apps.js';

const cluster = e2eCluster('wpe2e');
const { home, ctl } = cluster;
const APP_NS = 'wp-app';
const CLIENT_NS = 'wp-client';
const ECHO_URL = `http://echo.${APP_NS}`;
/** The cluster bridge's address (docs/local-cluster.md, "Network") and the receiver's port there. */
const BRIDGE_ADDRESS = '10.243.0.1';
const OTLP_PORT = 4318;
const TRACES_URL = `http://${BRIDGE_ADDRESS}:${OTLP_PORT}/v1/traces`;
const WAYPOINT_SELECTOR = 'gateway.networking.k8s.io/gateway-name=waypoint';
/** Requests of the metrics case. */
const METRIC_REQUESTS = 5;

/** The tracing variables of the waypoints (in their template) and of the node agents (install settings). */
const OTEL = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: TRACES_URL, OTEL_TRACES_SAMPLER: 'always_on' };
const OTEL_ENV = Object.entries(OTEL).map(([k, v]) => `        - {name: ${k}, value: '${v}'}\n`).join('');

/** manifests/waypoint.yaml with the tracing variables in the waypoint's environment. */
function waypointTemplate(): string {
  const text = readFileSync(join(REPO, 'manifests/waypoint.yaml'), 'utf8');
  const anchor = "        - name: CONTROLLER_NAMESPACE\n          value: '${CONTROLLER_NAMESPACE}'\n";
  assert.ok(text.includes(anchor), 'manifests/waypoint.yaml still lists CONTROLLER_NAMESPACE in the env');
  return text.replace(anchor, anchor + OTEL_ENV);
}

const echoPod = (version: string) => echoPodYaml(APP_NS, `echo-${version}`, `app: echo, version: ${version}`);
const service = (name: string, selector: string) => httpServiceYaml(APP_NS, name, selector);

const APPS = `${enrolledNamespacesWithClientYaml(CLIENT_NS, APP_NS)}${echoPod('v1')}---
${echoPod('v2')}---
${service('echo', 'app: echo')}---
${service('echo-v1', 'app: echo, version: v1')}---
${service('echo-v2', 'app: echo, version: v2')}`;

const route = (backend: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: echo-route, namespace: ${APP_NS}}
spec:
  parentRefs: [{group: "", kind: Service, name: echo, port: 80}]
  rules:
  - name: all
    backendRefs: [{name: ${backend}, port: 80}]
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

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Runs `argv` in `pod`'s network namespace (as `ambientctl exec` does) without blocking the event loop. */
function execIn(pod: PodRow, argv: string[], timeoutMs = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', podNetnsName(cluster.name, pod.metadata.uid), ...argv], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown }) | null;
      resolve({ code: !e ? 0 : typeof e.code === 'number' ? e.code : 1, stdout, stderr: stderr + (e && typeof e.code !== 'number' ? e.message : '') });
    });
  });
}

/** curl from `pod`: the answer's status, headers (last response) and body. */
async function curl(pod: PodRow, url: string, headers: Record<string, string> = {}, maxTimeS = 5): Promise<Answer | string> {
  const args = ['curl', '-s', '-S', '-i', '--max-time', String(maxTimeS)];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  args.push(url);
  const r = await execIn(pod, args, (maxTimeS + 10) * 1000);
  if (r.code !== 0) return `curl exited ${r.code}: ${r.stderr.trim()}`;
  const text = r.stdout.replace(/\r\n/g, '\n');
  const split = text.indexOf('\n\n');
  const head = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? '' : text.slice(split + 2);
  const lines = head.split('\n');
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const out: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) out[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, headers: out, body };
}

interface EchoBody {
  pod: string;
  path: string;
  client: { address: string };
  headers: Record<string, string | string[]>;
}
const echoBody = (a: Answer): EchoBody | undefined => {
  try {
    return JSON.parse(a.body) as EchoBody;
  } catch {
    return undefined;
  }
};

/** The JSON lines a pod's container has logged (`<state>/pods/<ns>_<pod>_<uid>/<container>.log`). */
function podLog(ns: string, pod: PodRow, container: string): Array<Record<string, unknown>> {
  const dir = join(home, 'clusters', cluster.name, 'pods');
  const podDir = readdirSync(dir).find((d) => d === `${ns}_${pod.metadata.name}_${pod.metadata.uid}`) ?? readdirSync(dir).find((d) => d.startsWith(`${ns}_${pod.metadata.name}_`));
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

/** Every `request` line the waypoint pods have logged. */
function waypointRequests(): Array<Record<string, unknown>> {
  return cluster.pods(APP_NS, WAYPOINT_SELECTOR).flatMap((p) => podLog(APP_NS, p, 'waypoint').filter((l) => l['msg'] === 'request'));
}

/** The waypoint pod's /metrics (15020, read in its network namespace). */
async function waypointMetrics(pod: PodRow): Promise<string> {
  const r = await execIn(pod, ['curl', '-s', '-S', '--max-time', '3', 'http://127.0.0.1:15020/metrics']);
  assert.equal(r.code, 0, `metrics of the waypoint: ${r.stderr}`);
  return r.stdout;
}

/** The sum of a metric's samples whose labels include all of `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** The cluster's side of the OTLP receiver: a listener on the bridge address piping each connection to the receiver on 127.0.0.1. */
async function bridgeListener(receiver: OtlpReceiver): Promise<net.Server> {
  const port = Number(new URL(receiver.endpoint).port);
  return listenInNetns(netnsPath(clusterNetnsName(cluster.name)), { host: BRIDGE_ADDRESS, port: OTLP_PORT }, (inside) => {
    const local = net.connect({ host: '127.0.0.1', port });
    inside.on('error', () => local.destroy());
    local.on('error', () => inside.destroy());
    inside.pipe(local).pipe(inside);
  });
}

const rand = () => randomBytes(4).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

test('waypoint: deployed with ambientctl, serves L7 policy, metrics, logs and traces, survives a route change and steps aside when deleted', { timeout: 420_000 }, async (t: TestContext) => {
  if (!requireRoot(t)) return;
  const templateFile = join(home, 'waypoint-template.yaml');
  writeFileSync(templateFile, waypointTemplate());
  // The controller renders waypoints from the template with tracing on; the agents trace too.
  await cluster.upWithMesh(t, [], [`controller.waypointTemplate=${templateFile}`, ...Object.entries(OTEL).map(([k, v]) => `nodeAgent.env.${k}=${v}`)]);

  const receiver = await startOtlpReceiver();
  const bridge = await bridgeListener(receiver);
  t.after(async () => {
    bridge.close();
    await receiver.close();
  });

  cluster.applyYaml('apps', APPS);
  const client = (await cluster.readyPods(CLIENT_NS, 'app=client', 1))[0]!;
  await cluster.readyPods(APP_NS, 'app=echo', 2);
  // The L4 mesh first: the echo answers the client directly.
  let directAnswer: EchoBody | undefined;
  for (const deadline = Date.now() + 60_000; !directAnswer && Date.now() < deadline; ) {
    const a = await curl(client, `${ECHO_URL}/before-waypoint`);
    if (typeof a !== 'string' && a.status === 200) directAnswer = echoBody(a);
    else await sleep(500);
  }
  assert.ok(directAnswer, 'the echo answers over the L4 mesh before any waypoint');
  // The client sends no trace headers: the L4 path adds none, a tracing waypoint adds its span's.
  assert.equal(directAnswer.headers['traceparent'], undefined, 'no traceparent on the direct path');

  let waypointPod: PodRow | undefined;

  await t.test('waypoint apply --enroll-namespace --wait deploys it; list and status show it Programmed; traffic goes through it', async () => {
    const out = ok(ctl('waypoint', 'apply', '-n', APP_NS, '--enroll-namespace', '--wait', '--timeout', '120'), 'waypoint apply');
    assert.match(out, /programmed/i, out);
    const listed = JSON.parse(ok(ctl('waypoint', 'list', '-n', APP_NS, '-o', 'json'), 'waypoint list')) as Array<{ name: string; programmed: string; addresses: string[]; usedBy: { namespaces: string[] } }>;
    const row = listed.find((w) => w.name === 'waypoint');
    assert.ok(row, `waypoint list shows the waypoint: ${JSON.stringify(listed)}`);
    assert.equal(row.programmed, 'True');
    assert.ok(row.addresses.length > 0 && net.isIP(row.addresses[0]!), `it has an address: ${JSON.stringify(row)}`);
    assert.ok(row.usedBy.namespaces.some((n) => n.includes(APP_NS)), `the enrolled namespace uses it: ${JSON.stringify(row.usedBy)}`);
    type Conditions = Array<{ type: string; status: string }>;
    const status = JSON.parse(ok(ctl('waypoint', 'status', '-n', APP_NS, '-o', 'json'), 'waypoint status')) as Array<{
      name: string;
      status: { addresses?: Array<{ value: string }>; conditions?: Conditions; listeners?: Array<{ name: string; conditions?: Conditions }> };
    }>;
    const gw = status.find((g) => g.name === 'waypoint');
    assert.ok(gw, `waypoint status shows it: ${JSON.stringify(status)}`);
    const holds = (cs: Conditions | undefined, type: string) => !!cs?.some((c) => c.type === type && c.status === 'True');
    assert.ok(holds(gw.status.conditions, 'Accepted') && holds(gw.status.conditions, 'Programmed'), JSON.stringify(gw.status.conditions));
    assert.deepEqual(gw.status.addresses?.map((a) => a.value), row.addresses, 'status and list name the same address');
    assert.ok(holds(gw.status.listeners?.find((l) => l.name === 'mesh')?.conditions, 'Programmed'), 'the mesh listener is Programmed');
    waypointPod = (await cluster.readyPods(APP_NS, WAYPOINT_SELECTOR, 1))[0]!;

    const path = `/through-waypoint-${rand()}`;
    let logged: Record<string, unknown> | undefined;
    let last: Answer | string = 'no request made';
    for (const deadline = Date.now() + 60_000; !logged && Date.now() < deadline; ) {
      last = await curl(client, `${ECHO_URL}${path}`);
      if (typeof last !== 'string' && last.status === 200) {
        logged = waypointRequests().find((l) => l['path'] === path);
      }
      if (!logged) await sleep(500);
    }
    assert.ok(logged, `the waypoint's access log has the request (last answer: ${JSON.stringify(last)})`);
    assert.equal(logged['status'], 200);
    assert.equal(logged['dst.service'], `echo.${APP_NS}.svc.cluster.local`, 'the Service addressed');
    assert.ok(typeof last !== 'string');
    assert.match(String(echoBody(last)?.headers['traceparent']), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, 'the waypoint started a trace and sent its span on');
  });

  await t.test('an L7 DENY on /admin for the Service answers 403 naming the policy; other paths answer 200; authz check says the waypoint enforces it', async () => {
    try {
      cluster.applyYaml('deny-admin', DENY_ADMIN);
      let answer: Answer | string = 'no request made';
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
        answer = await curl(client, `${ECHO_URL}/admin`);
        if (typeof answer !== 'string' && answer.status === 403) break;
        await sleep(500);
      }
      assert.ok(typeof answer !== 'string', answer as string);
      assert.equal(answer.status, 403, `/admin denied: ${JSON.stringify(answer)}`);
      assert.equal(answer.headers['ambient-authz-policy'], `${APP_NS}/deny-admin`);
      const other = await curl(client, `${ECHO_URL}/public`);
      assert.ok(typeof other !== 'string', other as string);
      assert.equal(other.status, 200, 'another path is allowed');
      const check = JSON.parse(ok(ctl('authz', 'check', '--service-account', `${CLIENT_NS}/client`, '--from', `${CLIENT_NS}/client`, '--to', `echo.${APP_NS}:80`, '--path', '/admin', '-o', 'json'), 'authz check')) as { decision: string; policy: string | null; enforcedAt: string; enforcedBy: string };
      assert.equal(check.decision, 'DENY', JSON.stringify(check));
      assert.equal(check.policy, `${APP_NS}/deny-admin`);
      assert.equal(check.enforcedAt, 'waypoint');
      const allowed = JSON.parse(ok(ctl('authz', 'check', '--service-account', `${CLIENT_NS}/client`, '--from', `${CLIENT_NS}/client`, '--to', `echo.${APP_NS}:80`, '--path', '/public', '-o', 'json'), 'authz check /public')) as { decision: string };
      assert.equal(allowed.decision, 'ALLOW');
    } finally {
      ctl('delete', '-f', join(home, 'deny-admin.yaml'), '--ignore-not-found');
    }
  });

  await t.test('request metrics and one access-log line per request with method, path, status and route', async () => {
    waypointPod ??= (await cluster.readyPods(APP_NS, WAYPOINT_SELECTOR, 1))[0]!;
    cluster.applyYaml('route', route('echo-v1'));
    const probe = `/route-ready-${rand()}`;
    await eventually('the route to apply', async () => {
      const a = await curl(client, `${ECHO_URL}${probe}`);
      return typeof a !== 'string' && a.status === 200 && echoBody(a)?.pod === 'echo-v1' && waypointRequests().some((l) => l['path'] === probe && String(l['route'] ?? '').includes('echo-route'));
    });
    const labels = { reporter: 'waypoint', response_code: '200', destination_service_name: 'echo', destination_service_namespace: APP_NS };
    const before = sample(await waypointMetrics(waypointPod), 'istio_requests_total', labels);
    const prefix = `/counted-${rand()}`;
    for (let i = 0; i < METRIC_REQUESTS; i++) {
      const a = await curl(client, `${ECHO_URL}${prefix}/${i}`);
      assert.ok(typeof a !== 'string' && a.status === 200, `request ${i}: ${JSON.stringify(a)}`);
      assert.equal(echoBody(a)?.pod, 'echo-v1', 'the route sends it to echo-v1');
    }
    let metrics = '';
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
      metrics = await waypointMetrics(waypointPod);
      if (sample(metrics, 'istio_requests_total', labels) - before >= METRIC_REQUESTS) break;
      await sleep(500);
    }
    assert.ok(sample(metrics, 'istio_requests_total', labels) - before >= METRIC_REQUESTS, `istio_requests_total grew by ${METRIC_REQUESTS}`);
    assert.ok(sample(metrics, 'istio_request_duration_milliseconds_count', labels) >= METRIC_REQUESTS, 'the duration histogram counted them');
    assert.ok(sample(metrics, 'istio_request_duration_milliseconds_bucket', { ...labels, le: '+Inf' }) >= METRIC_REQUESTS, 'with its +Inf bucket');
    assert.match(metrics, /istio_request_duration_milliseconds_bucket\{[^}]*le="0.5"/, "Istio's first bucket");
    const lines = await until(`${METRIC_REQUESTS} access-log lines`, () => {
      const ls = waypointRequests().filter((l) => String(l['path']).startsWith(`${prefix}/`));
      return ls.length >= METRIC_REQUESTS ? ls : undefined;
    }, 15_000);
    assert.equal(lines.length, METRIC_REQUESTS, 'one line per request');
    for (const l of lines) {
      assert.equal(l['method'], 'GET');
      assert.equal(l['status'], 200);
      assert.match(String(l['route']), /echo-route/, JSON.stringify(l));
      assert.equal(l['rule'], 'all');
      assert.equal(l['src.identity'], `spiffe://cluster.local/ns/${CLIENT_NS}/sa/client`);
    }
    assert.deepEqual(lines.map((l) => l['path']).sort(), Array.from({ length: METRIC_REQUESTS }, (_, i) => `${prefix}/${i}`).sort());
  });

  await t.test("a request with the client's traceparent yields a waypoint span under that trace id, exported over OTLP", async () => {
    const traceId = randomBytes(16).toString('hex');
    const parent = randomBytes(8).toString('hex');
    const path = `/traced-${rand()}`;
    const a = await curl(client, `${ECHO_URL}${path}`, { traceparent: `00-${traceId}-${parent}-01` });
    assert.ok(typeof a !== 'string' && a.status === 200, JSON.stringify(a));
    const forwarded = echoBody(a)?.headers['traceparent'];
    assert.match(String(forwarded), new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`), 'the echo got the trace, with the waypoint span as parent');
    const span = await until('the waypoint span to reach the receiver', () => receiver.spans.find((s) => s.traceId === traceId && s.attributes['mesh.reporter'] === 'waypoint'), 30_000).catch((err: Error) => {
      throw new Error(`${err.message}; spans received: ${receiver.spans.length} (refused: ${receiver.refused.join('; ') || 'none'})`);
    });
    assert.equal(span.kind, 'server');
    assert.equal(span.parentSpanId, parent, "the client's span is the parent");
    assert.equal(span.attributes['url.path'], path);
    assert.equal(span.attributes['http.response.status_code'], 200);
    assert.equal(String(forwarded).split('-')[2], span.spanId, 'the echo saw the waypoint span as its parent');
    const others = receiver.spans.filter((s) => s.traceId === traceId && s !== span);
    const byService = new Map<string, number>();
    for (const s of receiver.spans) byService.set(`${String(s.resource['service.name'])} ${s.name}`, (byService.get(`${String(s.resource['service.name'])} ${s.name}`) ?? 0) + 1);
    t.diagnostic(`spans received by service and name: ${[...byService].map(([k, n]) => `${k}: ${n}`).join(', ')}`);
    t.diagnostic(`other spans under the trace: ${others.map((s) => `${s.name} (${s.attributes['mesh.reporter'] ?? s.resource['service.name']})`).join(', ') || 'none'}; spans received in all: ${receiver.spans.length}`);
  });

  await t.test("a request without trace headers continues the source node agent's connection trace: the agent's span and the waypoint's under one trace id", async () => {
    const path = `/untraced-${rand()}`;
    const a = await curl(client, `${ECHO_URL}${path}`);
    assert.ok(typeof a !== 'string' && a.status === 200, JSON.stringify(a));
    const [, traceId, waypointSpanId] = String(echoBody(a)?.headers['traceparent']).split('-');
    assert.match(String(traceId), /^[0-9a-f]{32}$/, 'the echo got a traceparent from the waypoint');
    const spans = await until(
      "the waypoint's span and the source agent's connection span",
      () => {
        const w = receiver.spans.find((s) => s.traceId === traceId && s.spanId === waypointSpanId);
        const agent = receiver.spans.find((s) => s.traceId === traceId && s.resource['service.name'] === 'ambient-node-agent' && s.name === 'outbound connection');
        return w && agent ? { w, agent } : undefined;
      },
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; under the trace: ${JSON.stringify(receiver.spans.filter((s) => s.traceId === traceId).map((s) => `${String(s.resource['service.name'])} ${s.name}`))}`);
    });
    assert.equal(spans.w.attributes['url.path'], path);
    assert.equal(spans.w.parentSpanId, spans.agent.spanId, "the waypoint's span is the child of the connection's outbound span");
  });

  await t.test('a route update does not drop an in-flight request', async () => {
    const slow = curl(client, `${ECHO_URL}/slow-${rand()}?delay=3s`, {}, 15);
    await sleep(700);
    cluster.applyYaml('route', route('echo-v2'));
    const done = await slow;
    assert.ok(typeof done !== 'string', done as string);
    assert.equal(done.status, 200, 'the slow request completed');
    assert.equal(echoBody(done)?.pod, 'echo-v1', 'it was routed by the route it started under');
    let pod = '';
    for (const deadline = Date.now() + 30_000; pod !== 'echo-v2' && Date.now() < deadline; ) {
      const a = await curl(client, `${ECHO_URL}/after-update`);
      pod = typeof a === 'string' ? '' : (echoBody(a)?.pod ?? '');
      if (pod !== 'echo-v2') await sleep(500);
    }
    assert.equal(pod, 'echo-v2', 'new requests follow the updated route');
  });

  await t.test('waypoint delete sends traffic back to the direct L4 path', async () => {
    const out = ok(ctl('waypoint', 'delete', '-n', APP_NS, 'waypoint'), 'waypoint delete');
    assert.match(out, /deleted/, out);
    const ns = JSON.parse(ok(ctl('get', 'namespace', APP_NS, '-o', 'json'), 'get namespace')) as { metadata: { labels?: Record<string, string> } };
    assert.equal(ns.metadata.labels?.['ambient.dev/use-waypoint'], undefined, 'the namespace label is removed');
    await until('the waypoint pods to be gone', () => cluster.pods(APP_NS, WAYPOINT_SELECTOR).length === 0, 60_000);
    const path = `/after-delete-${rand()}`;
    let answer: Answer | string = 'no request made';
    let body: EchoBody | undefined;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      answer = await curl(client, `${ECHO_URL}${path}`);
      body = typeof answer === 'string' ? undefined : echoBody(answer);
      if (body) break;
      await sleep(500);
    }
    assert.ok(typeof answer !== 'string', answer as string);
    assert.equal(answer.status, 200, 'still answered');
    assert.equal(body?.headers['traceparent'], undefined, 'no waypoint added a traceparent: the request came over the L4 path');
    assert.ok(!waypointRequests().some((l) => l['path'] === path), 'no waypoint logged it');
    // The route has no waypoint to apply it any more: both echo pods answer the Service again.
    const pods = new Set<string>();
    for (let i = 0; i < 20 && pods.size < 2; i++) {
      const a = await curl(client, `${ECHO_URL}/spread`);
      if (typeof a !== 'string') pods.add(echoBody(a)?.pod ?? '');
    }
    assert.deepEqual([...pods].sort(), ['echo-v1', 'echo-v2'], 'kube-proxy spreads over both echo pods: no route applies without the waypoint');
  });
});
