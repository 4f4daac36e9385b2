// Direct tier: each response flag the resilience layers set, provoked through a real
// waypoint on loopback (HBONE in with our CA, plain TCP to backends, the request chain as
// proxy.ts builds it with TrafficPolicies and the telemetry layer in front) and read back
// from the waypoint's /metrics (the agent servers a waypoint runs, node-agent/admin.ts) as
// `istio_requests_total{response_flags=...}`, with Envoy's names: UO, URX, UF, UH, RL, UT, DC.
import { test, before, after } from 'node:test';
import http from 'node:http';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { HboneClient } from '../core/hbone/client.js';
import type { SocketAddress } from '../core/hbone/wire.js';
import type { TrafficPolicy } from '../core/config/traffic-policy.js';
import { silentLogger } from '../core/log.js';
import { NOOP_TRACER } from '../core/trace/tracer.js';
import { startAgentServers, type AgentServers } from '../node-agent/admin.js';
import type { WaypointProxy } from '../waypoint/proxy.js';
import type { TunnelTarget, UpstreamEndpoint } from '../waypoint/http/chain.js';
import { telemetryLayer } from '../waypoint/http/telemetry.js';
import { RequestMetrics } from '../waypoint/observe/request-metrics.js';
import { requestSink } from '../waypoint/observe/request-sink.js';
import { exportPoolMetrics } from '../waypoint/start.js';
import { closedPort } from './support/net.js';
import { pollUntil } from './support/control-plane.js';
import { agentOver, hboneClient, pki, request, startWaypoint, type Answer } from './support/waypoint.js';

/** A backend: answers `status`, or holds each request until `release()` when `hold` is set. */
interface Backend {
  port: number;
  hits: number;
  status: number;
  hold: boolean;
  held: http.ServerResponse[];
  release(): void;
  server: http.Server;
}

async function backend(): Promise<Backend> {
  const b: Backend = {
    port: 0,
    hits: 0,
    status: 200,
    hold: false,
    held: [],
    release() {
      for (const res of b.held.splice(0)) if (!res.writableEnded) res.end('late');
    },
    server: undefined as never,
  };
  b.server = http.createServer((req, res) => {
    b.hits++;
    req.resume();
    if (b.hold) return void b.held.push(res);
    req.on('end', () => res.writeHead(b.status, { 'content-type': 'text/plain' }).end(`${b.status}`));
  });
  await new Promise<void>((r) => b.server.listen(0, '127.0.0.1', r));
  b.port = (b.server.address() as AddressInfo).port;
  return b;
}

const plain = (port: number): UpstreamEndpoint => ({ ip: '127.0.0.1', port, mesh: false, identity: '', workloadUid: `uid-${port}` });

function policy(service: string, extra: Partial<TrafficPolicy>): TrafficPolicy {
  return {
    key: `shop/${service}`,
    name: service,
    namespace: 'shop',
    created: '2026-01-01T00:00:00Z',
    targets: [{ service: `shop/${service}` }],
    loadBalancer: { algorithm: 'ROUND_ROBIN', warmupMs: 0, localityPreference: false, ringSize: 1024, maglevTableSize: 65537 },
    ...extra,
  };
}

let proxy: WaypointProxy;
let addr: SocketAddress;
let client: HboneClient;
let servers: AgentServers;
const registry = new Registry();
const backends: Backend[] = [];
const targets = new Map<string, TunnelTarget>();
const endpoints = new Map<string, UpstreamEndpoint[]>();
const policies = new Map<string, TrafficPolicy>();
let nextVip = 10;

function service(name: string, eps: UpstreamEndpoint[], p?: Partial<TrafficPolicy>): SocketAddress {
  const vip = { host: `10.96.1.${nextVip++}`, port: 80 };
  const key = `shop/${name}`;
  targets.set(`${vip.host}:80`, { address: vip, service: key, port: 80, appProtocol: 'http' });
  endpoints.set(`${key}:80`, eps);
  if (p) policies.set(key, policy(name, p));
  return vip;
}

async function newBackend(): Promise<Backend> {
  const b = await backend();
  backends.push(b);
  return b;
}

/** One HTTP/1.1 client over its own tunnel to `vip`. */
async function clientTo(vip: SocketAddress): Promise<{ agent: http.Agent; send: (path?: string) => Promise<Answer>; close: () => void }> {
  const p = await pki();
  const t = await client.connect({ source: p.client.identity, peer: addr, target: vip });
  const agent = agentOver(t.stream);
  return { agent, send: (path = '/') => request(agent, { path }), close: () => (agent.destroy(), t.stream.destroy()) };
}

async function once(vip: SocketAddress): Promise<Answer> {
  const c = await clientTo(vip);
  try {
    return await c.send();
  } finally {
    c.close();
  }
}

/** `istio_requests_total` summed over the series with these response flags (and code), from GET /metrics. */
async function requestsWith(flags: string, code?: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${servers.metrics!.port}/metrics`);
  const text = await res.text();
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('istio_requests_total{')) continue;
    if (!line.includes(`response_flags="${flags}"`)) continue;
    if (code !== undefined && !line.includes(`response_code="${code}"`)) continue;
    n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

async function metricValue(name: string, labels: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${servers.metrics!.port}/metrics`);
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Waits (bounded) until the flag's count grew by one: records are written as requests end. */
async function expectFlag(flags: string, code: string, before: number): Promise<void> {
  await pollUntil(`istio_requests_total{response_flags="${flags}",response_code="${code}"} to grow`, async () => ((await requestsWith(flags, code)) > before ? true : undefined), 10_000);
}

before(async () => {
  await pki();
  const metrics = new RequestMetrics({ registry });
  const sink = requestSink({ getState: () => ({ workloadByUid: () => undefined, serviceByKey: () => undefined }), metrics });
  ({ proxy, addr } = await startWaypoint({ targets, endpoints }, 1, {
    trafficPolicyFor: (svc) => policies.get(svc),
    registry,
    beforeRoute: [telemetryLayer({ tracer: NOOP_TRACER, sink, workloadByIp: () => undefined })],
    route: (ctx) => ({ kind: 'forward', service: ctx.target.service!, port: ctx.target.port }),
  }));
  exportPoolMetrics(registry, () => proxy.stats);
  servers = await startAgentServers({ metrics: { host: '127.0.0.1', port: 0 }, registry, logger: silentLogger, ready: () => ({ ready: true }) });
  client = await hboneClient();
});

after(async () => {
  client.destroy();
  for (const b of backends) b.release();
  await proxy.close(1000);
  await servers.close();
  for (const b of backends) b.server.closeAllConnections();
  await Promise.all(backends.map((b) => new Promise<void>((r) => b.server.close(() => r()))));
});

test('flag_uo_a_full_connection_pool_answers_503_and_counts_an_overflow', async () => {
  const b = await newBackend();
  b.hold = true;
  const vip = service('flag-uo', [plain(b.port)], { connectionPool: { maxConnections: 1, maxPendingRequests: 0, maxRequestsPerConnection: 0 } });
  const before = await requestsWith('UO', '503');
  const overflows = await metricValue('ambient_waypoint_upstream_overflows_total', 'protocol="http1"');
  const first = await clientTo(vip);
  const pending = first.send();
  await pollUntil('the first request held by the backend', () => (b.held.length === 1 ? true : undefined), 10_000);
  const second = await once(vip);
  assert.equal(second.status, 503);
  assert.match(second.body, /maxPendingRequests/);
  b.release();
  assert.equal((await pending).status, 200);
  first.close();
  await expectFlag('UO', '503', before);
  assert.equal(b.hits, 1, 'the refused request never reached the backend');
  assert.equal((await metricValue('ambient_waypoint_upstream_overflows_total', 'protocol="http1"')) - overflows, 1);
});

test('flag_urx_the_last_retriable_answer_after_the_retry_limit', async () => {
  const b = await newBackend();
  b.status = 503;
  const vip = service('flag-urx', [plain(b.port)], {
    retries: { attempts: 1, retryOn: ['5xx'], retriableStatusCodes: [], backoff: { baseMs: 1, maxMs: 2 }, budget: { percent: 100, minRetriesPerSecond: 100 }, retryNonIdempotent: false },
  });
  const before = await requestsWith('URX', '503');
  const a = await once(vip);
  assert.equal(a.status, 503);
  assert.equal(b.hits, 2, 'one try and one retry');
  await expectFlag('URX', '503', before);
});

test('flag_uf_an_endpoint_that_refuses_the_connection', async () => {
  const vip = service('flag-uf', [plain(await closedPort())]);
  const before = await requestsWith('UF', '503');
  assert.equal((await once(vip)).status, 503);
  await expectFlag('UF', '503', before);
});

test('flag_uh_no_endpoint_and_every_endpoint_ejected', async () => {
  const empty = service('flag-uh-empty', []);
  const b = await newBackend();
  b.status = 500;
  const ejected = service('flag-uh-ejected', [plain(b.port)], {
    outlierDetection: { consecutive5xxErrors: 1, consecutiveGatewayErrors: 0, intervalMs: 60_000, baseEjectionMs: 60_000, maxEjectionMs: 60_000, maxEjectionPercent: 100, minHealthPercent: 0 },
  });
  const before = await requestsWith('UH', '503');
  assert.equal((await once(empty)).status, 503);
  assert.equal((await once(ejected)).status, 500, 'the answer that ejects it');
  const after = await once(ejected);
  assert.equal(after.status, 503);
  assert.match(after.body, /no healthy endpoint/);
  await pollUntil('two UH requests', async () => ((await requestsWith('UH', '503')) >= before + 2 ? true : undefined), 10_000);
});

test('flag_rl_local_and_global_rate_limits_answer_429', async () => {
  const b = await newBackend();
  const local = service('flag-rl-local', [plain(b.port)], { rateLimits: { local: { requests: 1, perMs: 60_000, burst: 1 } } });
  const global = service('flag-rl-global', [plain(b.port)], { rateLimits: { global: { requests: 100, perMs: 1_000, key: [], window: 'fixed', failureMode: 'deny' } } });
  const before = await requestsWith('RL', '429');
  const c = await clientTo(local);
  try {
    assert.equal((await c.send()).status, 200);
    assert.equal((await c.send()).status, 429);
  } finally {
    c.close();
  }
  // No Redis: the global limit decides by its failureMode (deny: 429).
  assert.equal((await once(global)).status, 429);
  await pollUntil('two RL requests', async () => ((await requestsWith('RL', '429')) >= before + 2 ? true : undefined), 10_000);
});

test('flag_ut_a_request_idle_past_timeouts_idle_gets_504', async () => {
  const b = await newBackend();
  b.hold = true;
  const vip = service('flag-ut', [plain(b.port)], { timeouts: { idleMs: 200 } });
  const before = await requestsWith('UT', '504');
  const a = await once(vip);
  assert.equal(a.status, 504);
  assert.match(a.body, /idle timeout/);
  await expectFlag('UT', '504', before);
});

test('flag_dc_the_client_leaves_before_the_answer', async () => {
  const b = await newBackend();
  b.hold = true;
  const vip = service('flag-dc', [plain(b.port)]);
  const before = await requestsWith('DC');
  const c = await clientTo(vip);
  const gone = c.send().catch(() => 'gone');
  await pollUntil('the request held by the backend', () => (b.held.length === 1 ? true : undefined), 10_000);
  c.close();
  assert.equal(await gone, 'gone');
  await pollUntil('a DC request', async () => ((await requestsWith('DC')) > before ? true : undefined), 10_000);
});
