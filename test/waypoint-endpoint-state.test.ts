// Direct tier: a real waypoint (HBONE in, the request chain with TrafficPolicies, plain TCP
// to endpoints on loopback) and its metrics server serving GET /debug/endpoints as
// waypoint.ts registers it (startAgentServers' metricsJson, the document collected from the
// proxy's balancers and outlier detection). The document must follow what traffic does:
// an endpoint answering 500s is ejected, then returns warming; a request held in flight
// shows as an active request.
import { test, before, after } from 'node:test';
import http from 'node:http';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { HboneClient } from '../core/hbone/client.js';
import type { SocketAddress } from '../core/hbone/wire.js';
import type { TrafficPolicy } from '../core/config/traffic-policy.js';
import { silentLogger } from '../core/log.js';
import { startAgentServers, type AgentServers } from '../node-agent/admin.js';
import type { WaypointProxy } from '../waypoint/proxy.js';
import type { TunnelTarget, UpstreamEndpoint } from '../waypoint/http/chain.js';
import { collectEndpointState } from '../waypoint/observe/endpoint-state-source.js';
import type { EndpointStateDocument, EndpointStateTarget } from '../waypoint/observe/endpoint-state.js';
import { pollUntil } from './support/control-plane.js';
import { agentOver, hboneClient, pki, request, startWaypoint, type Answer } from './support/waypoint.js';

interface App {
  id: string;
  port: number;
  hits: number;
  status: number;
  /** When set, requests wait for it before answering. */
  hold?: Promise<void>;
  server: http.Server;
}

async function app(id: string): Promise<App> {
  const a: App = { id, port: 0, hits: 0, status: 200, server: undefined as never };
  a.server = http.createServer((req, res) => {
    a.hits++;
    req.resume();
    req.on('end', () => {
      void (a.hold ?? Promise.resolve()).then(() => {
        res.writeHead(a.status, { 'content-type': 'text/plain' });
        res.end(a.id);
      });
    });
  });
  await new Promise<void>((r) => a.server.listen(0, '127.0.0.1', r));
  a.port = (a.server.address() as AddressInfo).port;
  return a;
}

const plain = (a: App): UpstreamEndpoint => ({ ip: '127.0.0.1', port: a.port, mesh: false, identity: '', workloadUid: a.id });
const addressOf = (a: App) => `127.0.0.1:${a.port}`;

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
let servers: AgentServers;
const apps: App[] = [];
const targets = new Map<string, TunnelTarget>();
const endpoints = new Map<string, UpstreamEndpoint[]>();
const policies = new Map<string, TrafficPolicy>();
let nextVip = 40;

function service(name: string, eps: App[], p?: Partial<TrafficPolicy>): SocketAddress {
  const vip = { host: `10.96.1.${nextVip++}`, port: 80 };
  const key = `shop/${name}`;
  targets.set(`${vip.host}:80`, { address: vip, service: key, port: 80, appProtocol: 'http' });
  endpoints.set(`${key}:80`, eps.map(plain));
  if (p) policies.set(key, policy(name, p));
  return vip;
}

async function newApps(prefix: string, n: number): Promise<App[]> {
  const out: App[] = [];
  for (let i = 0; i < n; i++) out.push(await app(`${prefix}-${i}`));
  apps.push(...out);
  return out;
}

async function send(vip: SocketAddress, n: number): Promise<Answer[]> {
  const p = await pki();
  const t = await client.connect({ source: p.client.identity, peer: addr, target: vip });
  const agent = agentOver(t.stream);
  try {
    const out: Answer[] = [];
    for (let i = 0; i < n; i++) out.push(await request(agent, { path: `/r${i}` }));
    return out;
  } finally {
    agent.destroy();
  }
}

/** GET /debug/endpoints on the metrics server, the target of `service`. */
async function debugEndpoints(name: string): Promise<EndpointStateTarget> {
  const body = await new Promise<string>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: servers.metrics!.port, path: '/debug/endpoints' }, (res) => {
        let s = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (s += c));
        res.on('end', () => (res.statusCode === 200 && res.headers['content-type'] === 'application/json' ? resolve(s) : reject(new Error(`${res.statusCode}: ${s}`))));
      })
      .on('error', reject);
  });
  const doc = JSON.parse(body) as EndpointStateDocument;
  const t = doc.targets.find((x) => x.service === `shop/${name}` && x.port === 80);
  assert.ok(t, `shop/${name}:80 in ${body}`);
  return t;
}

before(async () => {
  await pki();
  ({ proxy, addr } = await startWaypoint({ targets, endpoints }, 1, {
    trafficPolicyFor: (service) => policies.get(service),
    route: (ctx) => ({ kind: 'forward', service: ctx.target.service!, port: ctx.target.port }),
  }));
  client = await hboneClient();
  servers = await startAgentServers({
    metrics: { host: '127.0.0.1', port: 0 },
    logger: silentLogger,
    ready: () => ({ ready: true }),
    metricsJson: {
      '/debug/endpoints': () =>
        collectEndpointState({
          picker: proxy.picker,
          targets: () => [...targets.values()].map((t) => ({ service: t.service!, port: t.port! })),
          endpoints: (service, port) => endpoints.get(`${service}:${port}`) ?? [],
          policyFor: (service) => policies.get(service),
          local: { node: 'node-1' },
        }),
    },
  });
});

after(async () => {
  client.destroy();
  await servers.close();
  await proxy.close(1000);
  await Promise.all(apps.map((a) => new Promise<void>((r) => a.server.close(() => r()))));
});

test('an_endpoint_answering_500s_is_shown_ejected_then_returns_warming', async () => {
  const [good, bad] = await newApps('ejected', 2);
  bad!.status = 500;
  const vip = service('ejected', [good!, bad!], {
    loadBalancer: { algorithm: 'ROUND_ROBIN', warmupMs: 600_000, localityPreference: true, ringSize: 1024, maglevTableSize: 65537 },
    outlierDetection: { consecutive5xxErrors: 2, consecutiveGatewayErrors: 0, intervalMs: 600_000, baseEjectionMs: 1_000, maxEjectionMs: 1_000, maxEjectionPercent: 100, minHealthPercent: 0 },
  });
  // Before any request: both listed, healthy, with the policy in force.
  let t = await debugEndpoints('ejected');
  assert.equal(t.trafficPolicy, 'shop/ejected');
  assert.deepEqual(t.endpoints.map((e) => [e.address, e.health]), [[addressOf(good!), 'healthy'], [addressOf(bad!), 'healthy']]);

  // Round robin: the bad endpoint's second 500 ejects it.
  const answers = await send(vip, 4);
  assert.equal(answers.filter((a) => a.status === 500).length, 2);
  t = await debugEndpoints('ejected');
  const ejected = t.endpoints.find((e) => e.address === addressOf(bad!))!;
  assert.equal(ejected.health, 'ejected', JSON.stringify(t));
  assert.equal(ejected.ejection?.count, 1);
  assert.equal(ejected.ejection?.reason, 'consecutive-5xx');
  assert.ok(ejected.ejection!.remainingMs > 0 && ejected.ejection!.remainingMs <= 1_000, JSON.stringify(ejected));
  assert.equal(ejected.inRotation, false);
  assert.deepEqual(t.counts, { total: 2, healthy: 1, ejected: 1, warming: 0, unready: 0 });
  assert.equal(t.tier, 'any');
  // Traffic during the ejection: the balancer takes the ejection at its next pick.
  const during = await send(vip, 4);
  assert.ok(during.every((a) => a.status === 200 && a.body === good!.id));

  // It heals; once its ejection ends it is shown warming, at the ramp's start.
  bad!.status = 200;
  const back = await pollUntil('the endpoint to return', async () => {
    const e = (await debugEndpoints('ejected')).endpoints.find((x) => x.address === addressOf(bad!))!;
    return e.health === 'ejected' ? undefined : e;
  }, 10_000);
  assert.equal(back.health, 'warming', JSON.stringify(back));
  assert.equal(back.warming?.sharePercent, 10);
  assert.equal(back.inRotation, true);
  // Requests balanced after the return: still warming (a 10-minute ramp), still in rotation.
  const hits = bad!.hits;
  await send(vip, 30);
  const after = (await debugEndpoints('ejected')).endpoints.find((x) => x.address === addressOf(bad!))!;
  assert.equal(after.health, 'warming');
  assert.ok(after.warming!.sharePercent >= 10 && after.warming!.sharePercent < 100, JSON.stringify(after));
  assert.ok(bad!.hits > hits, 'the returned endpoint got traffic again');
  assert.ok(bad!.hits - hits < 15, `a warming endpoint gets less than its full share: ${bad!.hits - hits} of 30`);
});

test('a_request_held_by_an_endpoint_shows_as_its_active_request', async () => {
  const [slow] = await newApps('active', 1);
  let release!: () => void;
  slow!.hold = new Promise<void>((r) => (release = r));
  const vip = service('active', [slow!], { loadBalancer: { algorithm: 'LEAST_REQUEST', warmupMs: 0, localityPreference: true, ringSize: 1024, maglevTableSize: 65537 } });
  const pending = send(vip, 1);
  try {
    const e = await pollUntil('the request to be in flight', async () => {
      const x = (await debugEndpoints('active')).endpoints[0]!;
      return x.activeRequests === 1 ? x : undefined;
    }, 10_000);
    assert.equal(e.health, 'healthy');
    assert.equal((await debugEndpoints('active')).algorithm, 'LEAST_REQUEST');
  } finally {
    release();
  }
  assert.equal((await pending)[0]!.status, 200);
  await pollUntil('the request to end', async () => ((await debugEndpoints('active')).endpoints[0]!.activeRequests === 0 ? true : undefined), 10_000);
});

test('debug_endpoints_is_read_only', async () => {
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: servers.metrics!.port, path: '/debug/endpoints', method: 'POST' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 405);
});
