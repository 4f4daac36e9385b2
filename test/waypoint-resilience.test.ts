// Direct tier: the waypoint's data path with TrafficPolicies wired in (proxy.ts: rate limit
// -> retry -> outlier -> balancer -> forward). A client opens HBONE (mTLS, our CA) to the
// waypoint with a Service VIP as target; the waypoint forwards over plain TCP to backends
// on loopback, each its own endpoint. The policies are delivered as the waypoint's config
// delivers them (`trafficPolicyFor`, looked up per Service port).
import { test, before, after } from 'node:test';
import http from 'node:http';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { HboneClient } from '../core/hbone/client.js';
import type { SocketAddress } from '../core/hbone/wire.js';
import type { TrafficPolicy } from '../core/config/traffic-policy.js';
import type { WaypointProxy } from '../waypoint/proxy.js';
import type { TunnelTarget, UpstreamEndpoint } from '../waypoint/http/chain.js';
import { agentOver, hboneClient, pki, request, startWaypoint, type Answer } from './support/waypoint.js';

interface App {
  id: string;
  port: number;
  hits: number;
  /** What it answers now (tests switch it). */
  status: number;
  server: http.Server;
}

async function app(id: string, answer?: (a: App) => number): Promise<App> {
  const a: App = { id, port: 0, hits: 0, status: 200, server: undefined as never };
  a.server = http.createServer((req, res) => {
    a.hits++;
    req.resume();
    req.on('end', () => {
      const status = answer ? answer(a) : a.status;
      res.writeHead(status, { 'content-type': 'text/plain', 'x-app': id });
      res.end(id);
    });
  });
  await new Promise<void>((r) => a.server.listen(0, '127.0.0.1', r));
  a.port = (a.server.address() as AddressInfo).port;
  return a;
}

const plain = (a: App): UpstreamEndpoint => ({ ip: '127.0.0.1', port: a.port, mesh: false, identity: '', workloadUid: a.id });

function policy(service: string, extra: Partial<TrafficPolicy>): TrafficPolicy {
  return {
    key: `shop/${service}`,
    name: service,
    namespace: 'shop',
    created: '2026-01-01T00:00:00Z',
    targets: [{ service: `shop/${service}` }],
    loadBalancer: { algorithm: 'ROUND_ROBIN', warmupMs: 0, localityPreference: true, ringSize: 1024, maglevTableSize: 65537 },
    ...extra,
  };
}

let proxy: WaypointProxy;
let addr: SocketAddress;
let client: HboneClient;
const registry = new Registry();
const apps: App[] = [];
const targets = new Map<string, TunnelTarget>();
const endpoints = new Map<string, UpstreamEndpoint[]>();
const policies = new Map<string, TrafficPolicy>();
let nextVip = 20;

/** A Service with these apps as endpoints (and a policy, if given); returns its VIP. */
function service(name: string, eps: App[], p?: Partial<TrafficPolicy>): SocketAddress {
  const vip = { host: `10.96.0.${nextVip++}`, port: 80 };
  const key = `shop/${name}`;
  targets.set(`${vip.host}:80`, { address: vip, service: key, port: 80, appProtocol: 'http' });
  endpoints.set(`${key}:80`, eps.map(plain));
  if (p) policies.set(key, policy(name, p));
  return vip;
}

async function newApps(prefix: string, n: number, answer?: (a: App) => number): Promise<App[]> {
  const out: App[] = [];
  for (let i = 0; i < n; i++) out.push(await app(`${prefix}-${i}`, answer));
  apps.push(...out);
  return out;
}

/** Sends `n` requests in order over one tunnel to `vip`. */
async function send(vip: SocketAddress, n: number, headers: http.OutgoingHttpHeaders = {}): Promise<Answer[]> {
  const p = await pki();
  const t = await client.connect({ source: p.client.identity, peer: addr, target: vip });
  const agent = agentOver(t.stream);
  try {
    const out: Answer[] = [];
    for (let i = 0; i < n; i++) out.push(await request(agent, { path: `/r${i}`, headers }));
    return out;
  } finally {
    agent.destroy();
  }
}

async function metric(name: string): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).reduce((s, v) => s + Number(v.value), 0);
}

before(async () => {
  await pki();
  ({ proxy, addr } = await startWaypoint({ targets, endpoints }, 1, {
    trafficPolicyFor: (service) => policies.get(service),
    registry,
    route: (ctx) => ({ kind: 'forward', service: ctx.target.service!, port: ctx.target.port }),
  }));
  client = await hboneClient();
});

after(async () => {
  client.destroy();
  await proxy.close(1000);
  await Promise.all(apps.map((a) => new Promise<void>((r) => a.server.close(() => r()))));
});

test('without_a_traffic_policy_requests_go_round_robin_as_before', async () => {
  const eps = await newApps('rr', 3);
  const vip = service('plain-rr', eps);
  const answers = await send(vip, 9);
  assert.ok(answers.every((a) => a.status === 200), JSON.stringify(answers.map((a) => a.status)));
  const order = answers.map((a) => a.body);
  // Each endpoint once per turn, in the same order every turn.
  for (let i = 3; i < 9; i++) assert.equal(order[i], order[i - 3], order.join(' '));
  assert.equal(new Set(order.slice(0, 3)).size, 3, order.join(' '));
  assert.deepEqual(eps.map((a) => a.hits), [3, 3, 3]);
});

test('retries_turn_a_flaky_backends_503s_into_200s', async () => {
  // Every other answer is a 503.
  const [flaky] = await newApps('flaky', 1, (a) => (a.hits % 2 === 1 ? 503 : 200));
  const vip = service('flaky', [flaky!], {
    retries: { attempts: 3, retryOn: ['5xx'], retriableStatusCodes: [], backoff: { baseMs: 1, maxMs: 2 }, budget: { percent: 100, minRetriesPerSecond: 1000 }, retryNonIdempotent: false },
  });
  const before = await metric('ambient_retries_total');
  const answers = await send(vip, 6);
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200, 200]);
  assert.equal(flaky!.hits, 12, 'each request: one 503, then one 200');
  assert.equal((await metric('ambient_retries_total')) - before, 6);
});

test('a_route_rule_retry_is_applied_without_a_traffic_policy', async () => {
  const [flaky] = await newApps('route-retry', 1, (a) => (a.hits % 2 === 1 ? 503 : 200));
  const vip = service('route-retry', [flaky!]);
  // The route layer's action carries the rule's compiled retry, as route-action.ts sets it.
  const answers = await sendWithRouteRetry(vip, 4);
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200]);
  assert.equal(flaky!.hits, 8);
});

/** A second waypoint whose route function puts an HTTPRoute rule's retry on the action. */
async function sendWithRouteRetry(vip: SocketAddress, n: number): Promise<Answer[]> {
  const w2 = await startWaypoint({ targets, endpoints }, 1, {
    route: (ctx) => ({ kind: 'forward', service: ctx.target.service!, port: ctx.target.port, retry: { codes: [503], attempts: 2, backoffMs: 1 } }),
  });
  try {
    const p = await pki();
    const t = await client.connect({ source: p.client.identity, peer: w2.addr, target: vip });
    const agent = agentOver(t.stream);
    try {
      const out: Answer[] = [];
      for (let i = 0; i < n; i++) out.push(await request(agent, { path: `/r${i}` }));
      return out;
    } finally {
      agent.destroy();
    }
  } finally {
    await w2.proxy.close(1000);
  }
}

test('ring_hash_on_a_header_keeps_each_key_on_one_endpoint', async () => {
  const eps = await newApps('hash', 4);
  const vip = service('hash', eps, {
    loadBalancer: { algorithm: 'RING_HASH', consistentHash: { type: 'header', name: 'x-user' }, warmupMs: 0, localityPreference: true, ringSize: 1024, maglevTableSize: 65537 },
  });
  const seen = new Set<string>();
  for (const user of ['ana', 'bo', 'cy', 'dee', 'eli', 'fay']) {
    const answers = await send(vip, 5, { 'x-user': user });
    const bodies = new Set(answers.map((a) => a.body));
    assert.equal(bodies.size, 1, `${user} went to ${[...bodies].join(', ')}`);
    seen.add([...bodies][0]!);
  }
  assert.ok(seen.size >= 2, 'different keys spread over the endpoints');
});

test('ring_hash_on_a_cookie_sets_it_when_absent_and_then_sticks', async () => {
  const eps = await newApps('cookie', 3);
  const vip = service('cookie', eps, {
    loadBalancer: { algorithm: 'RING_HASH', consistentHash: { type: 'cookie', name: 'sticky', ttlMs: 60_000, path: '/' }, warmupMs: 0, localityPreference: true, ringSize: 1024, maglevTableSize: 65537 },
  });
  const [first] = await send(vip, 1);
  const setCookie = first!.headers['set-cookie'];
  assert.ok(setCookie && setCookie.length === 1, JSON.stringify(first!.headers));
  assert.match(setCookie[0]!, /^sticky=[0-9a-f]+; Path=\/; Max-Age=60; HttpOnly$/);
  const cookie = setCookie[0]!.split(';')[0]!;
  const answers = await send(vip, 6, { cookie });
  assert.ok(answers.every((a) => a.body === first!.body && a.headers['set-cookie'] === undefined), JSON.stringify(answers.map((a) => [a.body, a.headers['set-cookie']])));
});

test('an_endpoint_answering_500s_is_ejected_and_returns_after_the_ejection', async () => {
  const [good, bad] = await newApps('outlier', 2);
  bad!.status = 500;
  const vip = service('outlier', [good!, bad!], {
    outlierDetection: { consecutive5xxErrors: 2, consecutiveGatewayErrors: 0, intervalMs: 60_000, baseEjectionMs: 1_000, maxEjectionMs: 1_000, maxEjectionPercent: 100, minHealthPercent: 0 },
  });
  const ejections = await metric('ambient_outlier_ejections_total');
  // Round robin: the bad endpoint answers every other request until its second 500.
  const first = await send(vip, 4);
  assert.equal(first.filter((a) => a.status === 500).length, 2);
  assert.equal((await metric('ambient_outlier_ejections_total')) - ejections, 1);
  // Within the ejection: nothing reaches it.
  const hits = bad!.hits;
  const during = await send(vip, 6);
  assert.ok(during.every((a) => a.status === 200 && a.body === good!.id));
  assert.equal(bad!.hits, hits, 'no request reached the ejected endpoint');
  // It heals; once the ejection ends it is back in the rotation.
  bad!.status = 200;
  const returns = await metric('ambient_outlier_returns_total');
  for (let i = 0; i < 40 && bad!.hits === hits; i++) {
    await send(vip, 2);
    if (bad!.hits === hits) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(bad!.hits > hits, 'the endpoint got traffic again once its ejection ended');
  assert.equal((await metric('ambient_outlier_returns_total')) - returns, 1);
});

test('local_rate_limit_answers_429_with_retry_after_and_ratelimit_headers', async () => {
  const [a] = await newApps('limited', 1);
  const vip = service('limited', [a!], { rateLimits: { local: { requests: 2, perMs: 60_000, burst: 2 } } });
  const answers = await send(vip, 3);
  assert.deepEqual(answers.map((x) => x.status), [200, 200, 429]);
  assert.ok(answers[0]!.headers['x-ratelimit-remaining'] !== undefined, JSON.stringify(answers[0]!.headers));
  assert.ok(Number(answers[2]!.headers['retry-after']) >= 1, JSON.stringify(answers[2]!.headers));
  assert.equal(a!.hits, 2, 'the limited request never reached the endpoint');
  assert.ok((await metric('ambient_ratelimit_decisions_total')) >= 3);
});

test('a_global_limit_without_redis_decides_by_its_failure_mode', async () => {
  const [a] = await newApps('global', 1);
  const deny = service('global-deny', [a!], { rateLimits: { global: { requests: 100, perMs: 1_000, key: [], window: 'fixed', failureMode: 'deny' } } });
  const allow = service('global-allow', [a!], { rateLimits: { global: { requests: 100, perMs: 1_000, key: [], window: 'fixed', failureMode: 'allow' } } });
  assert.equal((await send(deny, 1))[0]!.status, 429);
  assert.equal((await send(allow, 1))[0]!.status, 200);
});

test('no_healthy_endpoint_left_answers_503', async () => {
  const [a] = await newApps('all-bad', 1);
  a!.status = 500;
  const vip = service('all-bad', [a!], {
    outlierDetection: { consecutive5xxErrors: 1, consecutiveGatewayErrors: 0, intervalMs: 60_000, baseEjectionMs: 60_000, maxEjectionMs: 60_000, maxEjectionPercent: 100, minHealthPercent: 0 },
  });
  const answers = await send(vip, 2);
  assert.deepEqual(answers.map((x) => x.status), [500, 503]);
  assert.match(answers[1]!.body, /no healthy endpoint/);
  assert.equal(a!.hits, 1);
});
