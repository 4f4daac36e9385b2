// Direct tier: a TrafficPolicy's connectionPool in a real waypoint on loopback (HBONE in
// with our CA; plain TCP backends, and one mesh endpoint whose HBONE port never answers),
// and the per-endpoint active requests gauge. Backends count their connections, so what
// the pools did is seen from the other side.
import { test, before, after } from 'node:test';
import http from 'node:http';
import http2 from 'node:http2';
import { once as onceEvent } from 'node:events';
import net from 'node:net';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { HboneClient } from '../core/hbone/client.js';
import type { SocketAddress } from '../core/hbone/wire.js';
import type { ConnectionPool, TrafficPolicy } from '../core/config/traffic-policy.js';
import type { WaypointProxy } from '../waypoint/proxy.js';
import type { TunnelTarget, UpstreamEndpoint } from '../waypoint/http/chain.js';
import { pollUntil } from './support/control-plane.js';
import { readAll, tcpServer, type TcpServer } from './support/net.js';
import { agentOver, h2App, hboneClient, pki, request, socketLike, startWaypoint, TD, within, type Answer } from './support/waypoint.js';

interface Backend {
  port: number;
  hits: number;
  /** Connections accepted, ever, and open now. */
  connections: number;
  open: Set<net.Socket>;
  hold: boolean;
  held: http.ServerResponse[];
  /** Most requests in flight at once. */
  peak: number;
  inflight: number;
  release(): void;
  server: http.Server;
}

async function backend(): Promise<Backend> {
  const b: Backend = {
    port: 0,
    hits: 0,
    connections: 0,
    open: new Set(),
    hold: false,
    held: [],
    peak: 0,
    inflight: 0,
    release() {
      for (const res of b.held.splice(0)) if (!res.writableEnded) res.end('late');
    },
    server: undefined as never,
  };
  b.server = http.createServer((req, res) => {
    b.hits++;
    b.peak = Math.max(b.peak, ++b.inflight);
    res.once('close', () => b.inflight--);
    req.resume();
    if (b.hold) return void b.held.push(res);
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(String(b.port)));
  });
  b.server.on('connection', (s: net.Socket) => {
    b.connections++;
    b.open.add(s);
    s.once('close', () => b.open.delete(s));
  });
  await new Promise<void>((r) => b.server.listen(0, '127.0.0.1', r));
  b.port = (b.server.address() as AddressInfo).port;
  backends.push(b);
  return b;
}

const plain = (b: Backend): UpstreamEndpoint => ({ ip: '127.0.0.1', port: b.port, mesh: false, identity: '' });

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

const pool = (p: Partial<ConnectionPool>): Partial<TrafficPolicy> => ({ connectionPool: { maxRequestsPerConnection: 0, ...p } });

let proxy: WaypointProxy;
let addr: SocketAddress;
let client: HboneClient;
/** An HBONE port that accepts TCP and never speaks (a stuck node agent). */
let silent: TcpServer;
let proxy2: WaypointProxy;
let addr2: SocketAddress;
const registry = new Registry();
const backends: Backend[] = [];
const targets = new Map<string, TunnelTarget>();
const endpoints = new Map<string, UpstreamEndpoint[]>();
const policies = new Map<string, TrafficPolicy>();
let nextVip = 10;

function service(name: string, eps: UpstreamEndpoint[], p?: Partial<TrafficPolicy>): SocketAddress {
  const vip = { host: `10.96.2.${nextVip++}`, port: 80 };
  const key = `shop/${name}`;
  targets.set(`${vip.host}:80`, { address: vip, service: key, port: 80, appProtocol: 'http' });
  endpoints.set(`${key}:80`, eps);
  if (p) policies.set(key, policy(name, p));
  return vip;
}

async function clientTo(vip: SocketAddress, via = addr): Promise<{ send: (path?: string) => Promise<Answer>; close: () => void }> {
  const p = await pki();
  const t = await client.connect({ source: p.client.identity, peer: via, target: vip });
  const agent = agentOver(t.stream);
  return { send: (path = '/') => request(agent, { path }), close: () => (agent.destroy(), t.stream.destroy()) };
}

async function once(vip: SocketAddress, via = addr): Promise<Answer> {
  const c = await clientTo(vip, via);
  try {
    return await c.send();
  } finally {
    c.close();
  }
}

async function gauge(endpoint: string): Promise<number | undefined> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === 'ambient_waypoint_endpoint_active_requests');
  const v = m?.values.find((x) => x.labels['endpoint'] === endpoint);
  return v === undefined ? undefined : Number(v.value);
}

before(async () => {
  await pki();
  const extra = { trafficPolicyFor: (svc: string) => policies.get(svc), route: (ctx: { target: TunnelTarget }) => ({ kind: 'forward' as const, service: ctx.target.service!, port: ctx.target.port }) };
  ({ proxy, addr } = await startWaypoint({ targets, endpoints }, 1, { ...extra, registry }));
  silent = await tcpServer(() => {});
  ({ proxy: proxy2, addr: addr2 } = await startWaypoint({ targets, endpoints }, silent.port, extra));
  client = await hboneClient();
});

after(async () => {
  client.destroy();
  for (const b of backends) b.release();
  await proxy.close(1000);
  await proxy2.close(1000);
  await silent.close();
  for (const b of backends) b.server.closeAllConnections();
  await Promise.all(backends.map((b) => new Promise<void>((r) => b.server.close(() => r()))));
});

test('a_request_waits_for_the_one_connection_and_is_served_when_it_frees', async () => {
  const b = await backend();
  b.hold = true;
  const vip = service('pool-wait', [plain(b)], pool({ maxConnections: 1, maxPendingRequests: 4 }));
  const c1 = await clientTo(vip);
  const c2 = await clientTo(vip);
  try {
    const first = c1.send();
    await pollUntil('the first request at the backend', () => (b.held.length === 1 ? true : undefined), 10_000);
    const second = c2.send();
    await pollUntil('the second request waiting in the waypoint', () => (proxy.stats.inflight === 2 ? true : undefined), 10_000);
    assert.equal(b.hits, 1);
    b.hold = false;
    b.release();
    assert.deepEqual([(await first).status, (await second).status], [200, 200]);
    assert.equal(b.peak, 1, 'never two requests at once on the target');
    assert.equal(b.connections, 1, 'the waiting request went on the freed connection');
  } finally {
    c1.close();
    c2.close();
  }
});

test('max_concurrent_requests_refuses_the_one_beyond_with_503', async () => {
  const b = await backend();
  b.hold = true;
  const vip = service('pool-concurrent', [plain(b)], pool({ maxConcurrentRequests: 1 }));
  const c1 = await clientTo(vip);
  try {
    const first = c1.send();
    await pollUntil('the first request at the backend', () => (b.held.length === 1 ? true : undefined), 10_000);
    const second = await once(vip);
    assert.equal(second.status, 503);
    assert.match(second.body, /maxConcurrentRequests/);
    b.release();
    assert.equal((await first).status, 200);
    assert.equal(b.hits, 1);
  } finally {
    c1.close();
  }
});

test('max_requests_per_connection_closes_a_connection_after_serving_that_many', async () => {
  const b = await backend();
  const vip = service('pool-per-conn', [plain(b)], pool({ maxRequestsPerConnection: 2 }));
  const c = await clientTo(vip);
  try {
    for (let i = 0; i < 6; i++) assert.equal((await c.send()).status, 200);
  } finally {
    c.close();
  }
  assert.equal(b.connections, 3, 'six requests, two per connection');
  await pollUntil('the last connection closed after its second request', () => (b.open.size === 0 ? true : undefined), 10_000);
});

test('without_max_requests_per_connection_one_connection_serves_every_request', async () => {
  const b = await backend();
  const vip = service('pool-reuse', [plain(b)], pool({ maxConnections: 4 }));
  const c = await clientTo(vip);
  try {
    for (let i = 0; i < 4; i++) assert.equal((await c.send()).status, 200);
  } finally {
    c.close();
  }
  assert.equal(b.connections, 1);
});

test('max_connections_counts_every_endpoint_of_the_target_together', async () => {
  const a = await backend();
  const b = await backend();
  const vip = service('pool-two-endpoints', [plain(a), plain(b)], pool({ maxConnections: 1 }));
  const c = await clientTo(vip);
  let first: string;
  try {
    // Round robin (from a random start): one endpoint, then the other. Opening the second
    // one's connection closes the first one's idle connection.
    first = (await c.send()).body;
    const second = (await c.send()).body;
    assert.deepEqual([first, second].sort(), [String(a.port), String(b.port)].sort());
  } finally {
    c.close();
  }
  const [older, newer] = first === String(a.port) ? [a, b] : [b, a];
  await pollUntil("the first endpoint's idle connection closed", () => (older.open.size === 0 ? true : undefined), 10_000);
  assert.equal(newer.open.size, 1);
});

test('idle_timeout_closes_an_idle_connection_of_the_target', async () => {
  const b = await backend();
  const vip = service('pool-idle', [plain(b)], pool({ idleTimeoutMs: 50 }));
  assert.equal((await once(vip)).status, 200);
  await pollUntil('the idle connection closed by the waypoint', () => (b.open.size === 0 && b.connections === 1 ? true : undefined), 10_000);
});

test('connect_timeout_fails_a_hung_hbone_connect_with_503', async () => {
  const vip = service('pool-connect-timeout', [{ ip: '127.0.0.1', port: 8080, mesh: true, identity: `spiffe://${TD}/ns/shop/sa/api` }], pool({ connectTimeoutMs: 100 }));
  const a = await once(vip, addr2);
  assert.equal(a.status, 503);
  assert.match(a.body, /within 100 ms \(connectTimeout\)/);
});

test('endpoint_active_requests_gauge_follows_requests_and_endpoints', async () => {
  const b = await backend();
  b.hold = true;
  const vip = service('active-gauge', [plain(b)]);
  const key = `127.0.0.1:${b.port}`;
  const c = await clientTo(vip);
  try {
    const pending = c.send();
    await pollUntil('the request at the backend', () => (b.held.length === 1 ? true : undefined), 10_000);
    assert.equal(await gauge(key), 1);
    b.release();
    await pending;
    await pollUntil('the gauge back at 0', async () => ((await gauge(key)) === 0 ? true : undefined), 10_000);
  } finally {
    c.close();
  }
  endpoints.set('shop/active-gauge:80', []);
  assert.equal(await gauge(key), undefined, 'an endpoint the waypoint no longer holds leaves the gauge');
});

test('http2_sessions_are_retired_after_max_requests_per_connection', async () => {
  let sessions = 0;
  const app = await h2App((stream) => {
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  // Sessions the app accepted: each upstream HTTP/2 session is one TCP connection to it.
  const vip = { host: '10.96.2.250', port: 80 };
  targets.set(`${vip.host}:80`, { address: vip, service: 'shop/pool-h2', port: 80, appProtocol: 'http2' });
  endpoints.set('shop/pool-h2:80', [{ ip: '127.0.0.1', port: app.port, mesh: false, identity: '' }]);
  policies.set('shop/pool-h2', policy('pool-h2', pool({ maxRequestsPerConnection: 2 })));
  const opened = proxy.stats.h2.opened;
  const p = await pki();
  const t = await client.connect({ source: p.client.identity, peer: addr, target: vip });
  const session = http2.connect('http://pool-h2.shop', { createConnection: () => socketLike(t.stream) });
  session.on('error', () => {});
  try {
    for (let i = 0; i < 5; i++) {
      const st = session.request({ ':method': 'GET', ':path': `/r${i}` });
      st.end();
      const [h] = (await within(onceEvent(st, 'response'), 10_000, 'h2 response')) as [http2.IncomingHttpHeaders];
      assert.equal(h[':status'], 200);
      await readAll(st, 10_000);
      sessions = proxy.stats.h2.opened - opened;
    }
  } finally {
    session.destroy();
    await app.close();
  }
  assert.equal(sessions, 3, 'five requests, two per session');
});
