// Namespaced tier: a waypoint's resilience layers on the 2-node local cluster, as a user
// sees them (docs/traffic-management.md, "TrafficPolicy" and after): retries turn a flaky
// backend's injected 503s into 200s; a route timeout answers a hung backend 504 (flag UT);
// outlier detection ejects a replica that starts failing and brings it back gradually once
// it heals (slow start); a global rate limit shared through Redis by 2 waypoint replicas
// answers 429 above the limit. One cluster for the file: a client pod on node1 (namespace
// rs-client); on node2 (namespace rs-app, enrolled, its waypoint deployed with 2 replicas
// from the start, `ambientctl waypoint apply --replicas 2`) the echo pods `solo` (behind
// the Services flaky and hung) and `echo-a`, `echo-b` (behind echo and limited), all on one
// node so the policies' locality preference treats them alike. Every case holds with
// either replica answering: metrics are summed over both, a policy counts as applied once
// requests spread over both show it, and each replica ejects on what it sees itself. Faults are the
// echo sample's pod-wide injected fault (samples/README.md), set and removed at run time
// with PUT/DELETE /_echo/fault inside the pod. Redis is manifests/redis.yaml, and the
// controller runs with --waypoint-redis-address naming its Service, as a user sets it up.
//
// Requests are sent by curl in the client pod's network namespace, several URLs per curl
// (one process, one line per answer: status and headers), so that a batch is quick. A
// batch sent `fresh` puts each request on its own connection (`Connection: close`), which
// the client's node agent spreads over both waypoint replicas (round robin per connection).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireRoot } from '../support/netns.js';
import { e2eCluster, ok, sleep, type PodRow } from '../support/e2e.js';
import { podNetnsName } from '../../local-cluster/network/topology.js';
import { echoPodYaml, enrolledNamespacesWithClientYaml, httpServiceYaml } from '../support/e2e-apps.js';

const cluster = e2eCluster('rse2e');
const { home, ctl } = cluster;
const APP_NS = 'rs-app';
const CLIENT_NS = 'rs-client';
const WAYPOINT_SELECTOR = 'gateway.networking.k8s.io/gateway-name=waypoint';
const REDIS_ADDRESS = 'redis.ambient-system.svc:6379';
/** The global limit of the rate-limit case: requests per window (the window outlasts the case). */
const GLOBAL_LIMIT = 10;
const GLOBAL_SENT = 30;
/** The outlier case's slow start: long enough that the returning replica is still warming while its share is counted. */
const WARMUP = '60s';

const echoPod = (name: string, labels: string) => echoPodYaml(APP_NS, name, labels);
const service = (name: string, selector: string) => httpServiceYaml(APP_NS, name, selector);

const APPS = `${enrolledNamespacesWithClientYaml(CLIENT_NS, APP_NS)}${echoPod('solo', 'app: solo')}---
${echoPod('echo-a', 'app: echo')}---
${echoPod('echo-b', 'app: echo')}---
${service('flaky', 'app: solo')}---
${service('hung', 'app: solo')}---
${service('echo', 'app: echo')}---
${service('limited', 'app: echo')}`;

const RETRY_POLICY = `apiVersion: ambient.dev/v1
kind: TrafficPolicy
metadata: {name: flaky, namespace: ${APP_NS}}
spec:
  targetRefs: [{group: "", kind: Service, name: flaky}]
  # A budget that lets a quick sequence of requests each retry once (the default floor is 3 retries a second).
  retries: {attempts: 3, retryOn: [gateway-error], backoff: {base: 10ms, max: 50ms}, budget: {percent: 100, minRetriesPerSecond: 100}}
`;

const HUNG_ROUTE = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: hung, namespace: ${APP_NS}}
spec:
  parentRefs: [{group: "", kind: Service, name: hung, port: 80}]
  rules:
  - timeouts: {request: 1s}
    backendRefs: [{name: hung, port: 80}]
`;

const OUTLIER_POLICY = `apiVersion: ambient.dev/v1
kind: TrafficPolicy
metadata: {name: echo, namespace: ${APP_NS}}
spec:
  targetRefs: [{group: "", kind: Service, name: echo}]
  loadBalancer: {algorithm: ROUND_ROBIN, warmupDuration: ${WARMUP}}
  outlierDetection: {consecutive5xxErrors: 3, interval: 1s, baseEjectionTime: 10s, maxEjectionPercent: 50}
`;

const GLOBAL_POLICY = `apiVersion: ambient.dev/v1
kind: TrafficPolicy
metadata: {name: limited, namespace: ${APP_NS}}
spec:
  targetRefs: [{group: "", kind: Service, name: limited}]
  rateLimits:
    global: {requests: ${GLOBAL_LIMIT}, per: 5m, key: ["header:x-tenant"], failureMode: deny}
`;

/** One answer of a batch: status, the pod that answered, and the rate-limit headers. */
interface Answer {
  status: number;
  pod: string;
  retryAfter: string;
  limit: string;
  remaining: string;
  reset: string;
}
const FIELDS = ['%{http_code}', '%header{x-echo-pod}', '%header{retry-after}', '%header{x-ratelimit-limit}', '%header{x-ratelimit-remaining}', '%header{x-ratelimit-reset}'];

/** Runs `argv` in `pod`'s network namespace (as `ambientctl exec` does) without blocking the event loop. */
function execIn(pod: PodRow, argv: string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', podNetnsName(cluster.name, pod.metadata.uid), ...argv], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown }) | null;
      resolve({ code: !e ? 0 : typeof e.code === 'number' ? e.code : 1, stdout, stderr: stderr + (e && typeof e.code !== 'number' ? e.message : '') });
    });
  });
}

/**
 * GETs every URL in order with one curl in the client pod: one Answer per URL (status 0
 * when curl got none, e.g. at --max-time). `fresh`: each on a new connection.
 */
async function batch(client: PodRow, urls: string[], o: { headers?: Record<string, string>; fresh?: boolean; maxTimeS?: number } = {}): Promise<Answer[]> {
  const args = ['curl', '-s', '--max-time', String(o.maxTimeS ?? 5), '-w', `${FIELDS.join('|')}\\n`];
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('-H', `${k}: ${v}`);
  if (o.fresh) args.push('-H', 'Connection: close');
  for (const u of urls) args.push('-o', '/dev/null', u);
  const r = await execIn(client, args, (urls.length * (o.maxTimeS ?? 5) + 20) * 1000);
  const lines = r.stdout.split('\n').filter((l) => l.includes('|'));
  assert.equal(lines.length, urls.length, `one answer per URL from curl (exit ${r.code}): ${r.stdout} ${r.stderr}`);
  return lines.map((l) => {
    const [status, pod, retryAfter, limit, remaining, reset] = l.split('|');
    return { status: Number(status), pod: pod ?? '', retryAfter: retryAfter ?? '', limit: limit ?? '', remaining: remaining ?? '', reset: reset ?? '' };
  });
}

const urls = (svc: string, prefix: string, n: number) => Array.from({ length: n }, (_, i) => `http://${svc}.${APP_NS}${prefix}/${i}`);
const statuses = (as: Answer[]) => as.map((a) => a.status).join(' ');
const rand = () => randomBytes(4).toString('hex');

/** Sets (`PUT`, with the query) or removes (`DELETE`) the echo pod's injected fault, from inside the pod. */
async function fault(pod: PodRow, query: string | undefined): Promise<void> {
  const r = await execIn(pod, ['curl', '-s', '-S', '--max-time', '5', '-X', query === undefined ? 'DELETE' : 'PUT', `http://127.0.0.1:8080/_echo/fault${query === undefined ? '' : `?${query}`}`]);
  assert.equal(r.code, 0, `fault on ${pod.metadata.name}: ${r.stderr}`);
}

/** The request lines (`METHOD PATH STATUS MSms`) the echo pod has logged. */
function echoLog(pod: PodRow): string[] {
  const dir = join(home, 'clusters', cluster.name, 'pods');
  const podDir = readdirSync(dir).find((d) => d.startsWith(`${APP_NS}_${pod.metadata.name}_${pod.metadata.uid.slice(0, 8)}`));
  if (!podDir) return [];
  try {
    return readFileSync(join(dir, podDir, 'echo.log'), 'utf8').split('\n');
  } catch {
    return [];
  }
}

/** The waypoint pod's /metrics (15020, read in its network namespace). */
async function metricsOf(pod: PodRow): Promise<string> {
  const r = await execIn(pod, ['curl', '-s', '-S', '--max-time', '3', 'http://127.0.0.1:15020/metrics']);
  assert.equal(r.code, 0, `metrics of ${pod.metadata.name}: ${r.stderr}`);
  return r.stdout;
}

/** The sum of a metric's samples whose labels include all of `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** The resilience metrics' label for a Service of the app namespace (its host name). */
const host = (svc: string) => `${svc}.${APP_NS}.svc.cluster.local`;

/** Awaits `probe` every 500 ms until it gives a value (not undefined or false), for at most `timeoutMs`. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000, last?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `; last: ${last()}` : ''}`);
    await sleep(500);
  }
}

test('resilience: retries, a route timeout, outlier ejection with gradual return, and a global rate limit across 2 waypoint replicas', { timeout: 420_000 }, async (t: TestContext) => {
  if (!requireRoot(t)) return;
  const started = Date.now();
  const phase = (what: string) => t.diagnostic(`${what} at ${((Date.now() - started) / 1000).toFixed(1)}s`);
  // The optional Redis of manifests/redis.yaml, and the controller pointing waypoints at it.
  await cluster.upWithMesh(t, [], ['redis.enabled=true']);
  phase('mesh ready');
  // Everything is applied at once and the pods start together; the waypoint Gateway too
  // (the controller deploys it while the application pods start).
  cluster.applyYaml('apps', APPS);
  ok(ctl('waypoint', 'apply', '-n', APP_NS, '--enroll-namespace', '--replicas', '2'), 'waypoint apply --replicas 2');
  const client = (await cluster.readyPods(CLIENT_NS, 'app=client', 1))[0]!;
  const solo = (await cluster.readyPods(APP_NS, 'app=solo', 1))[0]!;
  const echoes = await cluster.readyPods(APP_NS, 'app=echo', 2);
  assert.deepEqual(echoes.map((p) => p.metadata.name).sort(), ['echo-a', 'echo-b']);
  const echoB = echoes.find((p) => p.metadata.name === 'echo-b')!;
  const waypoints = await cluster.readyPods(APP_NS, WAYPOINT_SELECTOR, 2);
  phase('pods and waypoint ready');
  /** The sum over both waypoint replicas of a metric's samples with these labels. */
  const total = async (name: string, labels: Record<string, string>) => (await Promise.all(waypoints.map(metricsOf))).reduce((s, m) => s + sample(m, name, labels), 0);
  const env = JSON.parse(ok(ctl('get', 'deployment', 'waypoint', '-n', APP_NS, '-o', 'json'), 'get deployment')) as { spec: { template: { spec: { containers: Array<{ name: string; env?: Array<{ name: string; value?: string }> }> } } } };
  assert.equal(env.spec.template.spec.containers.find((c) => c.name === 'waypoint')?.env?.find((e) => e.name === 'REDIS_ADDRESS')?.value, REDIS_ADDRESS, "the controller's --waypoint-redis-address is the waypoint's REDIS_ADDRESS");
  // Traffic goes through the waypoint: its metrics count the Service's requests.
  await eventually('requests to echo counted by the waypoint', async () => {
    const as = await batch(client, urls('echo', '/warm', 2));
    return as.every((a) => a.status === 200) && (await total('istio_requests_total', { reporter: 'waypoint', destination_service_name: 'echo' })) > 0;
  });
  phase('traffic through the waypoint');

  await t.test("retries turn a flaky backend's injected 503s into 200s", async () => {
    await fault(solo, 'status=503&percent=50');
    try {
      const before = await batch(client, urls('flaky', `/before-${rand()}`, 6));
      assert.ok(before.some((a) => a.status === 503), `without a policy the client sees the 503s: ${statuses(before)}`);
      cluster.applyYaml('retry-policy', RETRY_POLICY);
      let last: Answer[] = [];
      await eventually('the retry policy to apply in both replicas', async () => (last = await batch(client, urls('flaky', `/settle-${rand()}`, 6), { fresh: true })).every((a) => a.status === 200), 60_000, () => statuses(last));
      const retried = () => total('ambient_retries_total', { destination_service: host('flaky'), reason: 'gateway-error' });
      const retriesBefore = await retried();
      const prefix = `/flaky-${rand()}`;
      const answers = await batch(client, urls('flaky', prefix, 20), { fresh: true });
      assert.deepEqual(answers.map((a) => a.status), Array(20).fill(200), 'every request answered 200');
      assert.ok(answers.every((a) => a.pod === 'solo'));
      // The backend answered 503 to every second try (its log lines may trail the answers a little).
      let injected = 0;
      await eventually('the backend to log its injected 503s', async () => (injected = echoLog(solo).filter((l) => l.includes(`${prefix}/`) && / 503 /.test(l)).length) >= 10, 15_000, () => `${injected} logged`);
      const retries = (await retried()) - retriesBefore;
      assert.ok(retries >= injected, `ambient_retries_total{reason="gateway-error"} grew by each 503 (${retries} retries, ${injected} 503s)`);
    } finally {
      await fault(solo, undefined);
    }
  });

  await t.test('a hung backend gets 504 at the route timeout, flagged UT', async () => {
    await fault(solo, 'delay=30s');
    try {
      cluster.applyYaml('hung-route', HUNG_ROUTE);
      let last: Answer[] = [];
      await eventually('the route timeout to apply in both replicas', async () => (last = await batch(client, urls('hung', `/settle-${rand()}`, 2), { maxTimeS: 4, fresh: true })).every((a) => a.status === 504), 60_000, () => statuses(last));
      const flagged = () => total('istio_requests_total', { reporter: 'waypoint', destination_service_name: 'hung', response_code: '504', response_flags: 'UT' });
      const before = await flagged();
      const answers = await batch(client, urls('hung', `/hung-${rand()}`, 3), { maxTimeS: 10, fresh: true });
      assert.deepEqual(answers.map((a) => a.status), [504, 504, 504], 'each request ends at the 1s timeout with 504, not at the backend');
      const after = await eventually('istio_requests_total{response_code="504", response_flags="UT"} to count them', async () => {
        const n = await flagged();
        return n - before >= 3 ? n : undefined;
      }, 15_000);
      assert.equal(after - before, 3);
    } finally {
      await fault(solo, undefined);
    }
  });

  await t.test('a replica that starts failing is ejected, and returns gradually after it heals', async () => {
    cluster.applyYaml('outlier-policy', OUTLIER_POLICY);
    const seen = new Set((await batch(client, urls('echo', `/both-${rand()}`, 6))).map((a) => a.pod));
    assert.deepEqual([...seen].sort(), ['echo-a', 'echo-b'], 'both replicas answer while healthy');
    // Each replica ejects on what it sees: both must (a batch on one connection goes to one replica).
    const ejected = async () => (await Promise.all(waypoints.map(metricsOf))).map((m) => sample(m, 'ambient_outlier_ejections_total', { destination_service: host('echo'), reason: 'consecutive-5xx' }));
    const returns = () => total('ambient_outlier_returns_total', { destination_service: host('echo') });
    await fault(echoB, 'status=500');
    try {
      let last: Answer[] = [];
      await eventually('echo-b to be ejected by both replicas', async () => {
        last = await batch(client, urls('echo', `/failing-${rand()}`, 6));
        return (await ejected()).every((n) => n >= 1);
      }, 60_000, () => statuses(last));
      // Ejected for baseEjectionTime (10s): nothing reaches it meanwhile, through either replica.
      const prefix = `/ejected-${rand()}`;
      const during = await batch(client, urls('echo', prefix, 10), { fresh: true });
      assert.deepEqual(during.map((a) => `${a.status} ${a.pod}`), Array(10).fill('200 echo-a'), 'every request goes to the healthy replica');
      assert.equal(echoLog(echoB).filter((l) => l.includes(`${prefix}/`)).length, 0, 'the ejected replica got none of them');
      assert.ok((await returns()) === 0, 'not returned yet');
    } finally {
      await fault(echoB, undefined);
    }
    // Healed: it returns when its ejection ends, at a low share (slow start).
    let probe: Answer[] = [];
    await eventually('echo-b to answer again', async () => (probe = await batch(client, urls('echo', `/healed-${rand()}`, 4), { fresh: true })).some((a) => a.pod === 'echo-b'), 60_000, () => probe.map((a) => `${a.status} ${a.pod}`).join(' '));
    assert.ok(probe.every((a) => a.status === 200), `all answered 200: ${statuses(probe)}`);
    await eventually('ambient_outlier_returns_total to count the return in both replicas', async () => (await returns()) === 2, 30_000);
    const ramp = await batch(client, urls('echo', `/ramp-${rand()}`, 20), { fresh: true });
    assert.ok(ramp.every((a) => a.status === 200), statuses(ramp));
    const toB = ramp.filter((a) => a.pod === 'echo-b').length;
    t.diagnostic(`requests to the returning replica in the first 20 after its return: ${toB}`);
    assert.ok(toB <= 6, `the returning replica starts well below its even share (10 of 20): it got ${toB}`);
  });

  await t.test('a global limit across 2 waypoint replicas answers 429 above the limit, with retry-after and x-ratelimit-* headers', async () => {
    await eventually('both waypoint replicas connected to Redis', async () => {
      for (const w of waypoints) if (sample(await metricsOf(w), 'ambient_ratelimit_redis_connected', {}) !== 1) return false;
      return true;
    });
    cluster.applyYaml('global-policy', GLOBAL_POLICY);
    const decisions = async (w: PodRow, result: string) => sample(await metricsOf(w), 'ambient_ratelimit_decisions_total', { destination_service: host('limited'), mode: 'global', result });
    // The policy is in both replicas once both decided on it (requests of another tenant, so another counter).
    await eventually('both replicas to apply the global limit', async () => {
      await batch(client, urls('limited', `/settle-${rand()}`, 4), { headers: { 'x-tenant': `probe-${rand()}` }, fresh: true });
      for (const w of waypoints) if ((await decisions(w, 'allowed')) === 0) return false;
      return true;
    });
    const before = await Promise.all(waypoints.map(async (w) => ({ allowed: await decisions(w, 'allowed'), denied: await decisions(w, 'denied') })));
    const answers = await batch(client, urls('limited', `/limited-${rand()}`, GLOBAL_SENT), { headers: { 'x-tenant': `run-${rand()}` }, fresh: true });
    const allowed = answers.filter((a) => a.status === 200);
    const denied = answers.filter((a) => a.status === 429);
    assert.equal(allowed.length, GLOBAL_LIMIT, `the replicas together allow exactly the window's ${GLOBAL_LIMIT} requests: ${statuses(answers)}`);
    assert.equal(denied.length, GLOBAL_SENT - GLOBAL_LIMIT, `the rest are 429: ${statuses(answers)}`);
    for (const a of denied) {
      assert.match(a.retryAfter, /^[1-9]\d*$/, `retry-after in whole seconds: ${JSON.stringify(a)}`);
      assert.match(a.limit, new RegExp(`^${GLOBAL_LIMIT}, ${GLOBAL_LIMIT};w=300$`), `x-ratelimit-limit: ${JSON.stringify(a)}`);
      assert.equal(a.remaining, '0', `x-ratelimit-remaining: ${JSON.stringify(a)}`);
      assert.match(a.reset, /^\d+$/, `x-ratelimit-reset: ${JSON.stringify(a)}`);
    }
    assert.ok(allowed.every((a) => a.limit !== '' && a.remaining !== ''), 'allowed answers carry x-ratelimit-* too');
    const after = await Promise.all(waypoints.map(async (w) => ({ allowed: await decisions(w, 'allowed'), denied: await decisions(w, 'denied') })));
    const deltas = after.map((a, i) => ({ allowed: a.allowed - before[i]!.allowed, denied: a.denied - before[i]!.denied }));
    t.diagnostic(`decisions per waypoint replica: ${JSON.stringify(deltas)}`);
    assert.ok(deltas.every((d) => d.allowed + d.denied > 0), `the requests were spread over both replicas: ${JSON.stringify(deltas)}`);
    assert.equal(deltas.reduce((s, d) => s + d.allowed, 0), GLOBAL_LIMIT, 'their allowed decisions add up to the limit');
    assert.equal(deltas.reduce((s, d) => s + d.denied, 0), GLOBAL_SENT - GLOBAL_LIMIT);
  });
});
