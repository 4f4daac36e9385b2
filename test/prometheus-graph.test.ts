// GET /api/v1/graph?window=1h through the controller's real API server and route table,
// answered from a real Prometheus (Debian's /usr/bin/prometheus) scraping a loopback
// /metrics served by the mesh's own metric code: a waypoint's request metrics and a node
// agent's TCP metrics, with recorded traffic. Fails (not skips) under CI=true when
// Prometheus is not installed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { Graph, GraphEdge } from '../console/api-types.js';
import { CertificateAuthority } from '../core/identity/ca.js';
import { spiffeId } from '../core/identity/spiffe.js';
import { newHistogram, observe, quantile } from '../core/observe/latency-histogram.js';
import { API_DEFAULTS } from '../controller/api/limits.js';
import type { ApiContext } from '../controller/api/context.js';
import { prometheusGraphSource, promQuery, PROMETHEUS_DEFAULTS, parsePrometheusUrl } from '../controller/api/prometheus-source.js';
import { ApiServer } from '../controller/api/server.js';
import { EMPTY_TELEMETRY } from '../controller/api/telemetry-source.js';
import { controllerServerName, issueServingCertificate } from '../controller/serving-cert.js';
import { TcpMetrics } from '../node-agent/observe/tcp-metrics.js';
import { outboundToReviews, state as agentState } from '../node-agent/observe/fixtures.js';
import { RequestMetrics } from '../waypoint/observe/request-metrics.js';
import { getReviews, state as waypointState } from '../waypoint/observe/fixtures.js';
import { shapeProblems } from './support/api-shapes.js';
import { closedPort } from './support/net.js';
import { prometheusInstalled, startPrometheus, type TestPrometheus } from './support/prometheus.js';

const CI = process.env['CI'] === 'true';
const skip = !prometheusInstalled() && !CI ? 'no /usr/bin/prometheus (scripts/setup.sh installs it)' : false;

let prom: TestPrometheus | undefined;
let metricsServer: http.Server | undefined;
let api: ApiServer | undefined;
let apiPort = 0;
let ca: CertificateAuthority;
/** The time of Prometheus' last sample: the graph's end (see `before`). */
let lastSampleMs = 0;
const context = {} as ApiContext;

// The traffic: a first batch Prometheus sees before the rest, so that each series exists
// before the counted traffic arrives (Prometheus' increase() needs two samples).
const FIRST_REQUESTS = 1;
const MORE_REQUESTS = 100;
const MORE_CONNECTIONS = 50;

function call(path: string): Promise<{ status: number; json: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: apiPort, path, ca: ca.trustBundle.pems(), servername: controllerServerName('ambient-system'), headers: { authorization: 'Bearer reader' }, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer`)));
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  if (skip) return;
  // The mesh's metric code, as a waypoint and a node agent serve it on 15020.
  const registry = new Registry();
  const requests = new RequestMetrics({ registry });
  const tcp = new TcpMetrics(registry);
  metricsServer = http.createServer((_req, res) => {
    registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text), () => res.writeHead(500).end());
  });
  await new Promise<void>((r) => metricsServer!.listen(0, '127.0.0.1', r));
  const target = `127.0.0.1:${(metricsServer.address() as AddressInfo).port}`;

  const first = () => {
    for (let i = 0; i < FIRST_REQUESTS; i++) requests.record(getReviews({ requestBytes: 0, responseBytes: 0 }), waypointState);
    const c = outboundToReviews({ reporter: 'destination', direction: 'inbound-hbone', bytesSent: 0, bytesReceived: 0 });
    tcp.connectionOpened(c, agentState);
    tcp.connectionClosed(c, agentState);
  };
  first();
  prom = await startPrometheus([target]);
  await prom.waitFor('sum(istio_requests_total)', (v) => v === FIRST_REQUESTS, 'the first requests scraped');
  await prom.waitFor('sum(istio_tcp_received_bytes_total)', (v) => v === 0, 'the first connection scraped');
  for (let i = 0; i < MORE_REQUESTS; i++) requests.record(getReviews({ requestBytes: 10, responseBytes: 1500 }), waypointState);
  for (let i = 0; i < MORE_CONNECTIONS; i++) {
    const c = outboundToReviews({ reporter: 'destination', direction: 'inbound-hbone', bytesSent: 100, bytesReceived: 2048 });
    tcp.connectionOpened(c, agentState);
    tcp.connectionClosed(c, agentState);
  }
  await prom.waitFor('sum(istio_requests_total)', (v) => v === FIRST_REQUESTS + MORE_REQUESTS, 'all requests scraped');
  await prom.waitFor('sum(istio_tcp_received_bytes_total)', (v) => v === 100 * MORE_CONNECTIONS, 'all connections scraped');
  // The graph ends at the last sample: increase() then extrapolates nothing past it, and
  // the first batch makes its start exact, so the numbers are the traffic recorded (at
  // any later end Prometheus would extrapolate the last seconds' rate).
  lastSampleMs = Math.round((await prom.waitFor('max(timestamp(istio_requests_total))', (v) => v > 0, 'a sample time')) * 1000);

  ca = await CertificateAuthority.createSelfSigned({ trustDomain: 'cluster.local' });
  const cert = await issueServingCertificate(ca, { dnsName: controllerServerName('ambient-system'), identity: spiffeId('ambient-system', 'ambient-controller'), ttlMs: 3_600_000 });
  Object.assign(context, {
    trustDomain: 'cluster.local', rootNamespace: 'ambient-system', controllerNamespace: 'ambient-system', isLeader: () => true,
    telemetry: EMPTY_TELEMETRY, telemetryRetentionMs: 15 * 60_000, limits: API_DEFAULTS,
    prometheus: prometheusGraphSource({ url: prom.url, now: () => lastSampleMs }),
  });
  api = new ApiServer({
    context,
    credentials: { key: cert.key, cert: cert.cert },
    tokens: { review: async (token) => (token === 'reader' ? { authenticated: true, user: { username: 'system:serviceaccount:apps:reader', groups: ['system:authenticated'] } as never } : { authenticated: false, error: 'unknown token' }) },
    access: { review: async () => ({ allowed: true, reason: 'test' }) },
    leaderName: () => undefined,
  });
  apiPort = (await api.listen({ host: '127.0.0.1', port: 0 })).port;
});

after(async () => {
  await api?.close();
  await prom?.stop();
  await new Promise((r) => (metricsServer ? metricsServer.close(r) : r(undefined)));
});

const edge = (g: Graph, id: string): GraphEdge => {
  const e = g.edges.find((x) => x.id === id);
  assert.ok(e, `edge ${id} in ${JSON.stringify(g.edges.map((x) => x.id))}`);
  return e;
};

test('a_one_hour_graph_is_read_from_prometheus_with_the_recorded_requests_and_bytes', { skip }, async () => {
  const r = await call('/api/v1/graph?window=1h');
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const g = r.json as Graph;
  assert.deepEqual(shapeProblems('Graph', g), []);
  assert.deepEqual([g.source, g.window, g.generatedAt], ['prometheus', '1h', new Date(lastSampleMs).toISOString()]);
  assert.deepEqual(g.windows, ['1m', '5m', '15m', '1h', '6h', '24h']);
  // L7, from the waypoint: every request, its bodies' bytes, the p99 of their durations.
  const l7 = edge(g, 'workload:apps/sleep->service:shop/reviews/http/mtls/waypoint');
  const total = FIRST_REQUESTS + MORE_REQUESTS;
  assert.deepEqual(l7.statusClasses, { '2xx': total, '3xx': 0, '4xx': 0, '5xx': 0, none: 0 });
  assert.deepEqual([l7.bytesSent, l7.bytesReceived, l7.successRate, l7.requestsPerSecond], [10 * MORE_REQUESTS, 1500 * MORE_REQUESTS, 1, Math.round((total / 3600) * 1000) / 1000]);
  const h = newHistogram();
  observe(h, getReviews().durationMs, total);
  assert.equal(l7.p99LatencyMs, Math.round(quantile(h, 0.99)! * 1000) / 1000);
  assert.equal(l7.sourceIdentity, 'spiffe://cluster.local/ns/apps/sa/sleep');
  // Its backend's share: service -> workload with the same counts.
  assert.equal(edge(g, 'service:shop/reviews->workload:shop/reviews/http/mtls/waypoint').statusClasses['2xx'], total);
  // L4, from the destination's node agent: client -> server bytes, and back.
  const l4 = edge(g, 'workload:apps/sleep->service:shop/reviews/tcp/mtls');
  assert.deepEqual([l4.bytesSent, l4.bytesReceived, l4.requestsPerSecond, l4.connectionsPerSecond], [100 * MORE_CONNECTIONS, 2048 * MORE_CONNECTIONS, null, Math.round(((1 + MORE_CONNECTIONS) / 3600) * 1000) / 1000]);
});

test('the_namespace_filter_reaches_prometheus', { skip }, async () => {
  const shop = await call('/api/v1/graph?window=6h&namespace=shop');
  assert.equal(shop.status, 200, JSON.stringify(shop.json));
  assert.ok((shop.json as Graph).edges.length >= 3);
  const other = await call('/api/v1/graph?window=6h&namespace=jobs');
  assert.deepEqual([other.status, (other.json as Graph).source, (other.json as Graph).edges], [200, 'prometheus', []]);
});

test('a_window_within_the_controllers_is_still_the_controllers', { skip }, async () => {
  const r = await call('/api/v1/graph?window=5m');
  assert.deepEqual([r.status, r.json.source, r.json.windows.length], [200, 'window', 6]);
});

test('a_query_prometheus_refuses_is_prometheus_failed_with_its_reason', { skip }, async () => {
  await assert.rejects(
    promQuery(parsePrometheusUrl(prom!.url), 'sum(', { time: Date.now() / 1000, limits: { ...PROMETHEUS_DEFAULTS } }),
    (e: { code?: string; status?: number; message?: string }) => e.code === 'AMB_API_PROMETHEUS_FAILED' && e.status === 502 && /bad_data/.test(e.message ?? ''),
  );
});

test('an_answer_over_the_size_bound_is_prometheus_failed', { skip }, async () => {
  await assert.rejects(
    promQuery(parsePrometheusUrl(prom!.url), 'istio_request_duration_milliseconds_bucket', { time: lastSampleMs / 1000, limits: { ...PROMETHEUS_DEFAULTS, maxResponseBytes: 200 } }),
    (e: { code?: string; message?: string }) => e.code === 'AMB_API_PROMETHEUS_FAILED' && /more than 200 bytes/.test(e.message ?? ''),
  );
});

test('an_unreachable_prometheus_is_503_prometheus_unreachable', { skip }, async () => {
  const saved = context.prometheus;
  context.prometheus = prometheusGraphSource({ url: `http://127.0.0.1:${await closedPort()}` });
  try {
    const r = await call('/api/v1/graph?window=24h');
    assert.equal(r.status, 503);
    assert.equal(r.json.error.code, 'AMB_API_PROMETHEUS_UNREACHABLE');
    assert.match(r.json.error.message, /ECONNREFUSED/);
  } finally {
    context.prometheus = saved;
  }
});

test('without_prometheus_a_long_window_is_refused_and_not_offered', { skip }, async () => {
  const saved = context.prometheus;
  delete context.prometheus;
  try {
    const r = await call('/api/v1/graph?window=1h');
    assert.deepEqual([r.status, r.json.error.code], [400, 'AMB_API_WINDOW_UNAVAILABLE']);
    const short = await call('/api/v1/graph?window=15m');
    assert.deepEqual([short.status, short.json.source, short.json.windows], [200, 'window', ['1m', '5m', '15m']]);
  } finally {
    context.prometheus = saved;
  }
});
