// Direct tier: traffic telemetry from the data plane to the controller's window over the
// authenticated 15012 channel. The whole controller runs in-process against the local API
// server on a real Redis; callers hold pod-bound tokens. A waypoint data path (real HBONE
// in, a real HTTP backend, the real telemetry and authorization layers) carries requests,
// one denied by a policy, and its TelemetryReporter sends the summary to the controller
// with the waypoint's token: the edge appears in graph() with the right counts and the
// denied request in flows() with its policy. A node agent's report (its TrafficTelemetry
// filled from connection records of its own node's workloads) shows up the same way; the
// attack: the same agent reporting a connection to another node's workload is refused
// (403 AMB_CTRL_TELEMETRY_REFUSED) and nothing of it is kept. Certificates: the agent's
// real certificate manager gets a certificate from the controller over 15012, its lister
// puts it on a report, and the controller's API (GET /api/v1/certificates, GET
// /api/v1/workloads/...) shows it for the pod; the attack: a list naming another node's
// identity loses that entry (the agent's own stays), and a waypoint may list only its own.
// Every wait is bounded.
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type net from 'node:net';
import { after, before, test } from 'node:test';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { MeshService, Policy, Resource, Workload } from '../core/config/model.js';
import { ErrorCodes } from '../core/errors.js';
import { NOOP_TRACER } from '../core/trace/tracer.js';
import type { Controller } from '../controller/controller.js';
import { TrafficTelemetry } from '../node-agent/observe/telemetry.js';
import { TelemetryReporter } from '../node-agent/observe/telemetry-reporter.js';
import { CertificateLister, withCertificates } from '../node-agent/observe/certificate-list.js';
import { controllerSigner } from '../node-agent/controller-client/signer.js';
import { CertificateManager } from '../core/identity/cert-manager.js';
import { spiffeId } from '../core/identity/spiffe.js';
import https from 'node:https';
import { X509Certificate } from 'node:crypto';
import { connectionRecord } from '../node-agent/observe/fixtures.js';
import { stateOf } from '../node-agent/proxy/fixtures.js';
import type { ControllerError } from '../node-agent/controller-client/client.js';
import { authLayers } from '../waypoint/http/auth-layers.js';
import { authzLayer, type AuthLayer } from '../waypoint/http/authz.js';
import type { TunnelTarget, UpstreamEndpoint } from '../waypoint/http/chain.js';
import { telemetryLayer } from '../waypoint/http/telemetry.js';
import { requestSink } from '../waypoint/observe/request-sink.js';
import type { WaypointProxy } from '../waypoint/proxy.js';
import { boundToken, createWaypointGateway, MERGE, pollUntil, startApiEnv, startConfigClient, startTestController, type ApiEnv } from './support/control-plane.js';
import { agentOver, hboneClient, pki, request, startWaypoint } from './support/waypoint.js';

const WAIT = 10_000;
const API_KEY = 'shop/api.shop.svc.cluster.local';
const FRONTEND_ID = 'spiffe://cluster.local/ns/app/sa/frontend';
const API_ID = 'spiffe://cluster.local/ns/shop/sa/api';

let env: ApiEnv;
let core: CoreV1Api;
let controller: Controller;
const tokens = { agent: '', waypoint: '', viewer: '' };

/** A Running pod with labels on `node`, as the scheduler and kubelet leave it. */
async function pod(namespace: string, name: string, serviceAccount: string, node: string, ip: string, labels: Record<string, string> = {}): Promise<void> {
  await core.createNamespacedPod({ namespace, body: { metadata: { name, labels }, spec: { nodeName: node, serviceAccountName: serviceAccount, containers: [{ name: 'c', image: 'busybox' }] } } });
  await core.patchNamespacedPodStatus({ namespace, name, body: { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } } }, MERGE);
}

before(async () => {
  env = await startApiEnv('telemetry:', ['ambient-system', 'shop', 'app']);
  core = env.core;
  for (const [ns, sa] of [['ambient-system', 'ambient-node-agent'], ['shop', 'waypoint'], ['shop', 'reviews'], ['shop', 'ratings'], ['app', 'sleep']] as const) {
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
  }
  await pod('ambient-system', 'agent-a', 'ambient-node-agent', 'node-1', '10.244.1.2');
  await pod('shop', 'waypoint-1', 'waypoint', 'node-1', '10.244.1.3', { app: 'waypoint' });
  await pod('shop', 'reviews-1', 'reviews', 'node-1', '10.244.1.10', { app: 'reviews' });
  await pod('app', 'sleep-1', 'sleep', 'node-1', '10.244.1.11', { app: 'sleep' });
  await pod('shop', 'ratings-1', 'ratings', 'node-2', '10.244.2.10', { app: 'ratings' });
  await createWaypointGateway(env.custom, 'shop', 'waypoint');
  await core.createNamespacedService({ namespace: 'shop', body: { metadata: { name: 'waypoint' }, spec: { clusterIP: '10.96.0.50', ports: [{ name: 'mesh', port: 15008 }] } } });
  await core.createNamespacedService({ namespace: 'shop', body: { metadata: { name: 'api', labels: { 'ambient.dev/use-waypoint': 'waypoint' } }, spec: { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80 }] } } });
  tokens.agent = await boundToken(core, 'ambient-system', 'ambient-node-agent', 'agent-a');
  tokens.waypoint = await boundToken(core, 'shop', 'waypoint', 'waypoint-1');
  // An API caller (any ServiceAccount may list pods on the local API server).
  tokens.viewer = (await core.createNamespacedServiceAccountToken({ namespace: 'app', name: 'sleep', body: { spec: { audiences: [] } } })).status!.token;
  controller = await startTestController(env.kc, { waypoints: { enabled: false } });
});

after(async () => {
  await controller?.close();
  await env?.close();
});

// ---- the waypoint ---------------------------------------------------------------------

/** The workloads the waypoint's records name: the HBONE client (on 127.0.0.1) and the backend (on 127.0.0.2). */
const frontend = { uid: 'uid-frontend', name: 'frontend-1', namespace: 'app', serviceAccount: 'frontend', identity: FRONTEND_ID, node: 'node-1', ips: ['127.0.0.1'], protocol: 'HBONE', labels: {}, canonicalName: 'frontend', canonicalRevision: 'v1', mtlsMode: 'STRICT', healthy: true } satisfies Workload;
const apiBackend = { ...frontend, uid: 'uid-api', name: 'api-1', namespace: 'shop', serviceAccount: 'api', identity: API_ID, ips: ['127.0.0.2'], canonicalName: 'api' } satisfies Workload;
const apiService = { key: API_KEY, name: 'api', namespace: 'shop', hostname: 'api.shop.svc.cluster.local', vips: ['10.96.0.10'], ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }], endpoints: [{ workloadUid: 'uid-api', ports: {}, healthy: true }] } satisfies MeshService;
const denyAdmin: Policy = {
  key: 'shop/deny-admin',
  name: 'deny-admin',
  namespace: 'shop',
  scope: 'targets',
  targetRefs: [{ group: '', kind: 'Service', name: 'api' }],
  action: 'DENY',
  rules: [{ from: [], to: [{ paths: ['/admin'] }], when: [] }],
};

async function backendApp(): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => res.end('ok'));
  server.listen(0, '127.0.0.2');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function waypointWithTelemetry(telemetry: TrafficTelemetry): Promise<{ proxy: WaypointProxy; addr: { host: string; port: number }; close(): Promise<void> }> {
  const app = await backendApp();
  const targets = new Map<string, TunnelTarget>([['10.96.0.10:80', { address: { host: '10.96.0.10', port: 80 }, service: API_KEY, port: 80 }]]);
  const endpoints = new Map<string, UpstreamEndpoint[]>([[`${API_KEY}:80`, [{ ip: '127.0.0.2', port: app.port, mesh: false, identity: '', workloadUid: 'uid-api' }]]]);
  const workloads = [frontend, apiBackend];
  const labelState = { workloadByUid: (uid: string) => workloads.find((w) => w.uid === uid), serviceByKey: (k: string) => (k === API_KEY ? apiService : undefined) };
  const noAuthn: AuthLayer = (_req, next) => next();
  const { proxy, addr } = await startWaypoint({ targets, endpoints }, 1, {
    route: (ctx) => ({ kind: 'forward', service: ctx.target.service!, port: ctx.target.port }),
    beforeRoute: [
      telemetryLayer({ tracer: NOOP_TRACER, sink: requestSink({ getState: () => labelState, telemetry }), workloadByIp: (ip) => workloads.find((w) => w.ips.includes(ip)) }),
      authLayers(noAuthn, authzLayer({ gateway: { namespace: 'shop', name: 'waypoint' }, policies: () => [denyAdmin] })),
    ],
  });
  return {
    proxy,
    addr,
    close: async () => {
      await proxy.close(500);
      await app.close();
    },
  };
}

test('a_waypoints_requests_and_a_denied_request_reach_the_controllers_graph_and_flows', async (t) => {
  const cfg = startConfigClient(controller, tokens.waypoint);
  t.after(() => cfg.client.close());
  // The controller's table binds the api Service to the waypoint (what the report is screened against).
  await pollUntil('the api Service bound to the waypoint', () => ((cfg.held.get(`Service/${API_KEY}`)?.body as MeshService | undefined)?.waypoint ? true : undefined), WAIT);

  const telemetry = new TrafficTelemetry();
  const wp = await waypointWithTelemetry(telemetry);
  t.after(() => wp.close());
  const reporter = new TelemetryReporter({ take: () => telemetry.takeReport(), send: (body) => cfg.client.sendTelemetry(body) });

  const client = await hboneClient();
  t.after(() => client.destroy());
  const p = await pki();
  const tunnel = await client.connect({ source: p.client.identity, peer: wp.addr, target: { host: '10.96.0.10', port: 80 } });
  const agent = agentOver(tunnel.stream);
  t.after(() => agent.destroy());
  for (let i = 0; i < 3; i++) assert.equal((await request(agent, { path: `/items/${i}?secret=s${i}` })).status, 200);
  assert.equal((await request(agent, { path: '/admin' })).status, 403);

  // The records are written when each response ends: wait until all four are in the summary.
  await pollUntil('four request records', () => (telemetry.flows.lastSeq >= 4 ? true : undefined), WAIT);
  await reporter.flush();
  assert.deepEqual([reporter.stats.sent, reporter.stats.dropped], [1, 0], reporter.stats.lastError);

  const g = controller.telemetry.graph({ windowMs: 60_000 });
  const edge = g.edges.find((e) => e.source === 'workload/app/frontend' && e.destination === 'service/shop/api');
  assert.ok(edge, JSON.stringify(g));
  assert.deepEqual([edge.protocol, edge.mtls, edge.viaWaypoint, edge.requests, edge.errors, edge.denied, edge.successRate], ['http', true, true, 4, 0, 1, 1]);
  assert.deepEqual(edge.policies, { 'shop/deny-admin': { denied: 1, wouldDeny: 0 } });
  assert.ok(edge.p99Ms !== null && edge.p99Ms > 0);
  const backendEdge = g.edges.find((e) => e.source === 'service/shop/api' && e.destination === 'workload/shop/api');
  assert.equal(backendEdge?.requests, 3, 'the three allowed requests reached the backend');
  assert.equal(g.nodes.find((n) => n.id === 'service/shop/api')?.waypoint, 'shop/waypoint');

  const { flows } = controller.telemetry.flows({ namespace: 'shop', limit: 100 });
  const denied = flows.filter((f) => f.verdict === 'denied');
  assert.equal(denied.length, 1);
  assert.deepEqual([denied[0]!.policy, denied[0]!.status, denied[0]!.source.identity, denied[0]!.waypoint, denied[0]!.reporter], ['shop/deny-admin', 403, FRONTEND_ID, 'shop/waypoint', 'waypoint']);
  assert.equal(JSON.stringify(flows).includes('secret='), false, 'no query string is ever reported');
});

// ---- the node agent -------------------------------------------------------------------

async function agentView(): Promise<{ cfg: ReturnType<typeof startConfigClient>; workloads: Map<string, Workload> }> {
  const cfg = startConfigClient(controller, tokens.agent);
  const workloads = await pollUntil(
    'the node agent to hold reviews, sleep and ratings',
    () => {
      const byPod = new Map<string, Workload>();
      for (const r of cfg.held.values() as Iterable<Resource>) if (r.kind === 'Workload') byPod.set((r.body as Workload).name, r.body as Workload);
      return byPod.has('reviews-1') && byPod.has('sleep-1') && byPod.has('ratings-1') ? byPod : undefined;
    },
    WAIT,
  );
  return { cfg, workloads };
}

/** The destination agent's record of `from` -> `to` over HBONE. */
function inbound(from: Workload, to: Workload, over: Parameters<typeof connectionRecord>[0] = {}) {
  return connectionRecord({
    direction: 'inbound-hbone',
    reporter: 'destination',
    plan: 'accept',
    sourceWorkload: from.uid,
    sourceIdentity: from.identity,
    destinationWorkload: to.uid,
    destinationIdentity: to.identity,
    originalDst: { ip: to.ips[0]!, port: 9080 },
    mtls: true,
    ...over,
  });
}

test('a_node_agents_report_of_its_own_workloads_traffic_appears_as_an_edge_and_a_denied_flow', async (t) => {
  const { cfg, workloads } = await agentView();
  t.after(() => cfg.client.close());
  const sleep = workloads.get('sleep-1')!;
  const reviews = workloads.get('reviews-1')!;
  const state = stateOf([sleep, reviews]);
  const telemetry = new TrafficTelemetry({ node: 'node-1' });
  for (const bytes of [100, 300]) {
    const r = inbound(sleep, reviews, { bytesSent: bytes, bytesReceived: 2 * bytes, authz: { decision: 'ALLOW' } });
    telemetry.connectionOpened(r, state);
    telemetry.connectionEnded(r, state);
  }
  telemetry.connectionEnded(inbound(sleep, reviews, { plan: 'reject', reason: 'authz-denied', authz: { decision: 'DENY', policy: 'shop/deny-sleep', rule: 0 } }), state);
  const reporter = new TelemetryReporter({ take: () => telemetry.takeReport(), send: (body) => cfg.client.sendTelemetry(body) });
  await reporter.flush();
  assert.deepEqual([reporter.stats.sent, reporter.stats.dropped], [1, 0], reporter.stats.lastError);

  const g = controller.telemetry.graph({ namespace: 'shop', windowMs: 60_000 });
  const edge = g.edges.find((e) => e.source === 'workload/app/sleep' && e.destination === 'workload/shop/reviews');
  assert.ok(edge, JSON.stringify(g));
  assert.deepEqual([edge.protocol, edge.mtls, edge.connections, edge.bytes, edge.denied], ['tcp', true, 2, 1200, 1]);
  const flow = controller.telemetry.flows({ namespace: 'app', limit: 100 }).flows.find((f) => f.verdict === 'denied' && f.destination.pod === 'reviews-1');
  assert.deepEqual([flow?.policy, flow?.node, flow?.flags], ['shop/deny-sleep', 'node-1', 'DENY']);
});

test('attack_a_node_agent_reporting_another_nodes_workload_is_refused_and_nothing_is_kept', async (t) => {
  const { cfg, workloads } = await agentView();
  t.after(() => cfg.client.close());
  const sleep = workloads.get('sleep-1')!;
  const ratings = workloads.get('ratings-1')!; // on node-2
  const state = stateOf([sleep, ratings]);
  // The agent on node-1 claims to be the destination of traffic into ratings (node-2),
  // alongside a connection it may report: the whole report is refused.
  const forged = new TrafficTelemetry(); // no node filter: the forger skips its own agent's check
  for (let i = 0; i < 50; i++) forged.connectionEnded(inbound(sleep, ratings, { bytesSent: 1_000_000 }), state);
  const report = forged.takeReport()!;
  const before = controller.telemetry.flows({ limit: 1_000 }).lastSeq;
  await assert.rejects(cfg.client.sendTelemetry(JSON.stringify(report)), (err: ControllerError) => {
    assert.equal(err.status, 403);
    assert.equal(err.code, ErrorCodes.CTRL_TELEMETRY_REFUSED);
    assert.match(err.message, /the destination shop\/ratings .* is not a workload on node node-1/);
    return true;
  });
  const g = controller.telemetry.graph({ windowMs: 60_000 });
  assert.equal(g.nodes.some((n) => n.id === 'workload/shop/ratings'), false, JSON.stringify(g.nodes));
  assert.equal(controller.telemetry.flows({ limit: 1_000 }).lastSeq, before);
  // Claiming to be a waypoint is refused the same way.
  const asWaypoint = { ...report, flows: [], edges: report.edges.map((e) => ({ ...e, reporter: 'waypoint', viaWaypoint: true })) };
  await assert.rejects(cfg.client.sendTelemetry(JSON.stringify(asWaypoint)), /not as waypoint/);
});

test('a_report_without_a_token_is_refused', async () => {
  const { ControllerClient } = await import('../node-agent/controller-client/client.js');
  const anon = new ControllerClient({ address: { host: '127.0.0.1', port: controller.address.port }, trustBundle: controller.ca.trustBundle, controllerIdentity: 'ambient-controller.ambient-system.svc', token: () => '', node: 'node-1' });
  try {
    await assert.rejects(anon.sendTelemetry(JSON.stringify({ edges: [], overflowEdges: 0, flows: [], droppedFlows: 0 })), (err: ControllerError) => err.status === 401);
  } finally {
    await anon.close();
  }
});

// ---- certificates ----------------------------------------------------------------------

/** GET `path` on the controller's API as the viewer. */
function apiGet(path: string): Promise<{ status: number; json: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: controller.apiAddress!.port, path, ca: controller.ca.trustBundle.pems(), servername: 'ambient-controller.ambient-system.svc', headers: { authorization: `Bearer ${tokens.viewer}` }, timeout: 10_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer`)));
    req.on('error', reject);
    req.end();
  });
}

const REVIEWS_ID = 'spiffe://cluster.local/ns/shop/sa/reviews';
const RATINGS_ID = 'spiffe://cluster.local/ns/shop/sa/ratings';

test('a_node_agents_certificate_reaches_the_api_for_its_pod', async (t) => {
  const { cfg, workloads } = await agentView();
  t.after(() => cfg.client.close());
  // The agent's own certificate manager, signed by the controller over 15012.
  const certificates = new CertificateManager({ signer: controllerSigner(cfg.client), trustBundle: controller.ca.trustBundle });
  t.after(() => certificates.close());
  const issued = await certificates.get(spiffeId('shop', 'reviews'));
  const onNode = new Set([...workloads.values()].filter((w) => w.node === 'node-1').map((w) => w.identity));
  const lister = new CertificateLister({ held: () => certificates.list(), roots: () => controller.ca.trustBundle.pems(), wanted: () => onNode });
  const reporter = new TelemetryReporter({ take: () => withCertificates(undefined, lister.take()), send: (body) => cfg.client.sendTelemetry(body) });
  await reporter.flush();
  assert.deepEqual([reporter.stats.sent, reporter.stats.dropped], [1, 0], reporter.stats.lastError);

  const certs = await apiGet('/api/v1/certificates');
  assert.equal(certs.status, 200, JSON.stringify(certs.json));
  const mine = certs.json.workloads.find((c: { pod: string }) => c.pod === 'reviews-1');
  assert.ok(mine, JSON.stringify(certs.json.workloads));
  assert.deepEqual(
    [mine.kind, mine.identity, mine.namespace, mine.workload, mine.node, mine.serial, mine.notAfter],
    ['workload', REVIEWS_ID, 'shop', 'reviews', 'node-1', issued.serial.toLowerCase(), issued.notAfter.toISOString()],
  );
  assert.equal(mine.issuer, new X509Certificate(controller.ca.signingCertificate).fingerprint256, 'issued by the signing certificate GET /certificates names');
  assert.equal(mine.issuer, certs.json.signing.fingerprint);
  assert.equal(JSON.stringify(certs.json).includes('PRIVATE KEY'), false);

  const detail = await apiGet('/api/v1/workloads/shop/reviews-1');
  assert.equal(detail.status, 200, JSON.stringify(detail.json));
  assert.deepEqual([detail.json.certificate?.serial, detail.json.certificate?.notAfter], [issued.serial.toLowerCase(), issued.notAfter.toISOString()]);
  const other = await apiGet('/api/v1/workloads/shop/ratings-1');
  assert.equal(other.json.certificate, null, 'node-2 has no agent reporting: no certificate');
});

test('attack_a_node_agent_listing_another_nodes_identity_loses_that_entry', async (t) => {
  const { cfg } = await agentView();
  t.after(() => cfg.client.close());
  const own = { identity: REVIEWS_ID, serial: 'aa01', notBefore: Date.now() - 1_000, notAfter: Date.now() + 3_600_000 };
  // ratings runs on node-2 only: the agent of node-1 claims to hold its certificate, with a
  // far-away expiry that would hide a real one expiring soon.
  const forged = { identity: RATINGS_ID, serial: 'bad0', notBefore: Date.now() - 1_000, notAfter: Date.now() + 365 * 86_400_000 };
  const report = { edges: [], overflowEdges: 0, flows: [], droppedFlows: 0, certificates: [own, forged] };
  await cfg.client.sendTelemetry(JSON.stringify(report)); // accepted: only the forged entry is dropped

  const held = controller.telemetry.heldCertificates().sets.find((s) => s.role === 'node-agent' && s.node === 'node-1');
  assert.deepEqual(held?.certificates.map((c) => c.serial), ['aa01']);
  const certs = await apiGet('/api/v1/certificates');
  assert.equal(certs.json.workloads.some((c: { serial: string; identity: string }) => c.serial === 'bad0' || c.identity === RATINGS_ID), false, JSON.stringify(certs.json.workloads));
  assert.equal((await apiGet('/api/v1/workloads/shop/ratings-1')).json.certificate, null);
  assert.equal((await apiGet('/api/v1/workloads/shop/reviews-1')).json.certificate?.serial, 'aa01');
});

test('a_waypoint_lists_its_own_certificate_and_no_other', async (t) => {
  const cfg = startConfigClient(controller, tokens.waypoint);
  t.after(() => cfg.client.close());
  await pollUntil('the waypoint to be known', () => (cfg.held.size > 0 ? true : undefined), WAIT);
  const now = Date.now();
  const report = {
    edges: [], overflowEdges: 0, flows: [], droppedFlows: 0,
    certificates: [
      { identity: 'spiffe://cluster.local/ns/shop/sa/waypoint', serial: 'cc01', notBefore: now, notAfter: now + 3_600_000 },
      { identity: REVIEWS_ID, serial: 'cc02', notBefore: now, notAfter: now + 3_600_000 },
    ],
  };
  await cfg.client.sendTelemetry(JSON.stringify(report));
  const certs = await apiGet('/api/v1/certificates');
  const wp = certs.json.workloads.filter((c: { kind: string }) => c.kind === 'waypoint');
  assert.deepEqual(wp.map((c: { namespace: string; workload: string; node: string; serial: string; pod: null }) => [c.namespace, c.workload, c.node, c.serial, c.pod]), [['shop', 'waypoint', 'node-1', 'cc01', null]]);
  assert.equal(certs.json.workloads.some((c: { serial: string }) => c.serial === 'cc02'), false);
});
