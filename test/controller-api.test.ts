// Direct tier: the controller's API (controller/api, docs/api.md) on its own HTTPS listener
// with the serving certificate from the mesh CA, in front of the local API server on a real
// Redis. Callers are ServiceAccounts with real tokens (TokenRequest), checked by TokenReview
// and authorized by SubjectAccessReview on the local API server. Reads return the objects
// created here; refusals (no token, a token without the verb, a write without its header,
// OPTIONS) are checked; writes are read back from the API server. A waypoint's
// /debug/endpoints is a real HTTP server on loopback. Every wait is bounded.
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { apiCall, type ApiAnswer, type ApiCallOptions } from './support/api-call.js';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DiscoveryV1Api, type CoreV1Api, type CustomObjectsApi } from '@kubernetes/client-node';
import type { Controller } from '../controller/controller.js';
import { fetchWaypointEndpoints } from '../controller/api/waypoint-endpoints.js';
import { openApiDocument } from '../controller/api/openapi.js';
import { API_ROUTES } from '../controller/api/routes.js';
import { emptyCounts, type TelemetryReport } from '../core/observe/telemetry-wire.js';
import { listProblems, shapeProblems } from './support/api-shapes.js';
import { createRunningPod, createWaypointGateway, GATEWAY_API as GW, MERGE, pollUntil, startApiEnv, startTestController, type ApiEnv } from './support/control-plane.js';

const WAIT = 8_000;
const AMB = { group: 'ambient.dev', version: 'v1' };

let env: ApiEnv;
let controller: Controller;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let endpointsServer: http.Server;
let endpointsFail = false;
let consoleDir: string;
const tokens = { deployer: '', viewer: '' };

const call = (method: string, path: string, o: Omit<ApiCallOptions, 'host'> = {}): Promise<ApiAnswer> => apiCall(controller, method, path, o);

const get = (path: string, token = tokens.deployer) => call('GET', path, { token });

async function createService(name: string, selector: Record<string, string>, labels: Record<string, string> = {}): Promise<void> {
  await core.createNamespacedService({ namespace: 'apps', body: { metadata: { name, labels }, spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 8080 as never }] } } });
}

/** What an endpoints controller would write: the Service's ready pods. */
async function createSlice(service: string, pods: Array<[string, string]>): Promise<void> {
  const uids = await Promise.all(pods.map(async ([name]) => (await core.readNamespacedPod({ namespace: 'apps', name })).metadata!.uid!));
  await env.kc.makeApiClient(DiscoveryV1Api).createNamespacedEndpointSlice({
    namespace: 'apps',
    body: {
      metadata: { name: `${service}-x`, labels: { 'kubernetes.io/service-name': service } },
      addressType: 'IPv4',
      endpoints: pods.map(([name, ip], i) => ({ addresses: [ip], conditions: { ready: true }, targetRef: { kind: 'Pod', name, namespace: 'apps', uid: uids[i]! } })),
      ports: [{ name: 'http', port: 8080 }],
    },
  });
}

async function labelPod(name: string, labels: Record<string, string>): Promise<void> {
  await core.patchNamespacedPod({ namespace: 'apps', name, body: { metadata: { labels } } }, MERGE);
}

async function saToken(namespace: string, name: string): Promise<string> {
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  const tr = await core.createNamespacedServiceAccountToken({ namespace, name, body: { spec: { audiences: [] } } });
  return tr.status!.token;
}

before(async () => {
  env = await startApiEnv('ctlapi:', ['ambient-system', 'apps', 'other']);
  ({ core, custom } = env);
  await core.createNamespacedServiceAccount({ namespace: 'apps', body: { metadata: { name: 'echo' } } });
  await core.createNamespacedServiceAccount({ namespace: 'apps', body: { metadata: { name: 'waypoint' } } });
  await createRunningPod(core, 'apps', 'echo-v1-a', 'echo', '10.244.1.10');
  await labelPod('echo-v1-a', { app: 'echo', version: 'v1' });
  await createRunningPod(core, 'apps', 'echo-v2-a', 'echo', '10.244.1.11');
  await labelPod('echo-v2-a', { app: 'echo', version: 'v2' });
  // The waypoint's pod answers /debug/endpoints on 127.0.0.1 (its "pod IP" here).
  await createRunningPod(core, 'apps', 'waypoint-a', 'waypoint', '127.0.0.1');
  await labelPod('waypoint-a', { 'gateway.networking.k8s.io/gateway-name': 'waypoint' });
  await createWaypointGateway(custom, 'apps', 'waypoint');
  await createService('echo', { app: 'echo' }, { 'ambient.dev/use-waypoint': 'waypoint' });
  await createService('echo-v1', { app: 'echo', version: 'v1' });
  await createService('echo-v2', { app: 'echo', version: 'v2' });
  await createSlice('echo', [['echo-v1-a', '10.244.1.10'], ['echo-v2-a', '10.244.1.11']]);
  await createSlice('echo-v1', [['echo-v1-a', '10.244.1.10']]);
  await createSlice('echo-v2', [['echo-v2-a', '10.244.1.11']]);
  await custom.createNamespacedCustomObject({
    ...AMB,
    plural: 'authorizationpolicies',
    namespace: 'apps',
    body: { apiVersion: 'ambient.dev/v1', kind: 'AuthorizationPolicy', metadata: { name: 'deny-other' }, spec: { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['other'] } }] }] } },
  });
  await custom.createNamespacedCustomObject({
    ...GW,
    plural: 'httproutes',
    namespace: 'apps',
    body: {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'echo' },
      spec: { parentRefs: [{ group: '', kind: 'Service', name: 'echo', port: 80 }], rules: [{ backendRefs: [{ name: 'echo-v1', port: 80, weight: 100 }, { name: 'echo-v2', port: 80, weight: 0 }] }] },
    },
  });
  await custom.createNamespacedCustomObject({
    ...AMB,
    plural: 'rollouts',
    namespace: 'apps',
    body: { apiVersion: 'ambient.dev/v1', kind: 'Rollout', metadata: { name: 'echo' }, spec: { service: 'echo', stable: 'echo-v1', canary: 'echo-v2', steps: [10, 50, 100] } },
  });
  tokens.deployer = await saToken('apps', 'deployer');
  tokens.viewer = await saToken('other', 'viewer');

  endpointsServer = http.createServer((req, res) => {
    if (endpointsFail || req.url !== '/debug/endpoints') return void res.writeHead(500).end('broken\n');
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        targets: [{ service: 'apps/echo.apps.svc.cluster.local', port: 80, endpoints: [{ address: '10.244.1.10:8080', health: 'ejected', ejection: { count: 1, remainingMs: 20_000 } }] }],
      }),
    );
  });
  endpointsServer.listen(0, '127.0.0.1');
  await new Promise((r) => endpointsServer.once('listening', r));
  const endpointsPort = (endpointsServer.address() as AddressInfo).port;

  consoleDir = mkdtempSync(join(tmpdir(), 'ambient-console-'));
  controller = await startTestController(env.kc, {
    rollouts: { enabled: false },
    waypoints: { enabled: false },
    api: { consoleDir, waypointEndpoints: (ip) => fetchWaypointEndpoints(ip, { port: endpointsPort, timeoutMs: 1_000, maxBytes: 1 << 20 }) },
  });
  await pollUntil('the controller to compile the route and the policy', async () => {
    const cfg = (await get('/api/v1/routes?namespace=apps')).json;
    const pol = (await get('/api/v1/policies?namespace=apps')).json;
    return cfg?.items?.length === 1 && pol?.items?.find((p: { kind: string }) => p.kind === 'AuthorizationPolicy')?.conditions?.length > 0 ? true : undefined;
  }, WAIT);
});

after(async () => {
  await controller?.close();
  await env?.close();
  endpointsServer?.close();
  if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
});

test('read_routes_return_the_objects_created', async () => {
  const status = await get('/api/v1/status');
  assert.equal(status.status, 200, status.text);
  assert.equal(typeof status.json.controller.leader, 'string', 'the leader replica is named');
  assert.match(status.json.configVersion, /^\d+$/);

  const workloads = await get('/api/v1/workloads?namespace=apps');
  assert.deepEqual(workloads.json.items.map((w: { name: string }) => w.name).sort(), ['echo-v1-a', 'echo-v2-a', 'waypoint-a']);
  const one = await get('/api/v1/workloads/apps/echo-v1-a');
  assert.equal(one.status, 200, one.text);
  assert.equal(one.json.identity, 'spiffe://cluster.local/ns/apps/sa/echo');
  assert.deepEqual(one.json.policies.map((p: { name: string }) => p.name), ['deny-other']);

  const services = await get('/api/v1/services?namespace=apps');
  assert.deepEqual(services.json.items.map((s: { name: string }) => s.name).sort(), ['echo', 'echo-v1', 'echo-v2']);

  const waypoints = await get('/api/v1/waypoints');
  assert.equal(waypoints.status, 200, waypoints.text);
  assert.deepEqual(waypoints.json.items.map((w: { namespace: string; name: string; services: string[] }) => [w.namespace, w.name, w.services]), [['apps', 'waypoint', ['apps/echo']]]);

  const routes = await get('/api/v1/routes?namespace=apps');
  assert.equal(routes.json.items[0].name, 'echo');
  assert.ok(routes.json.items[0].conditions.some((c: { type: string }) => c.type === 'Accepted'));

  const policies = await get('/api/v1/policies?namespace=apps');
  const ap = policies.json.items.find((p: { kind: string }) => p.kind === 'AuthorizationPolicy');
  assert.deepEqual([ap.name, ap.action, ap.dryRun], ['deny-other', 'DENY', false]);
  assert.ok(ap.conditions.some((c: { type: string }) => c.type === 'Accepted'));

  const certs = await get('/api/v1/certificates');
  assert.equal(certs.status, 200, certs.text);
  assert.equal(certs.json.roots.length, 1);
  assert.ok(Date.parse(certs.json.signing.notAfter) > Date.now());

  const rollouts = await get('/api/v1/rollouts?namespace=apps');
  assert.deepEqual(rollouts.json.items.map((r: { metadata: { name: string } }) => r.metadata.name), ['echo']);

  const graph = await get('/api/v1/graph?namespace=apps&window=5m');
  assert.deepEqual([graph.status, graph.json.window], [200, '5m']);
  const flows = await get('/api/v1/flows?limit=10');
  assert.equal(flows.status, 200, flows.text);
  assert.ok(Array.isArray(flows.json.items));
});

/** One connection and one denied request from other/viewer to apps/echo-v1, as the destination's node agent reports them. */
function sampleReport(): TelemetryReport {
  const source = { workload: 'viewer', namespace: 'other', identity: 'spiffe://cluster.local/ns/other/sa/viewer' };
  const destination = { workload: 'echo-v1', namespace: 'apps', identity: 'spiffe://cluster.local/ns/apps/sa/echo', service: 'apps/echo-v1.apps.svc.cluster.local' };
  const counts = { ...emptyCounts(), bytesSent: 100, bytesReceived: 200, connectionsOpened: 1, connectionsClosed: 1, allowed: 1 };
  return {
    edges: [{ reporter: 'destination', source, destination, port: 80, protocol: 'tcp', mtls: true, viaWaypoint: false, ...counts }],
    overflowEdges: 0,
    flows: [
      { time: Date.now(), reporter: 'destination', source, destination: { ...destination, pod: 'echo-v1-a' }, port: 80, protocol: 'tcp', mtls: true, viaWaypoint: false, verdict: 'denied', policy: 'apps/deny-other', durationMs: 3, bytesSent: 0, bytesReceived: 0 },
    ],
    droppedFlows: 0,
  };
}

test('real_answers_have_the_shapes_the_console_and_its_fixture_api_use', async () => {
  const now = Date.now();
  controller.telemetry.ingest({ role: 'node-agent', node: 'node-1' }, { ...sampleReport(), certificates: [{ identity: 'spiffe://cluster.local/ns/apps/sa/echo', serial: '0abc', notBefore: now - 60_000, notAfter: now + 3_600_000 }] });
  const problems: string[] = [];
  const check = async (path: string, f: (v: unknown) => string[]) => {
    const r = await get(path);
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    problems.push(...f(r.json).map((p) => `${path}: ${p}`));
    return r.json;
  };
  await check('/api/v1/status', (v) => shapeProblems('MeshStatus', v));
  await check('/api/v1/workloads?namespace=apps', (v) => listProblems('Workload', v));
  await check('/api/v1/workloads/apps/echo-v1-a', (v) => shapeProblems('WorkloadDetail', v));
  await check('/api/v1/services?namespace=apps', (v) => listProblems('Service', v));
  await check('/api/v1/services/apps/echo', (v) => shapeProblems('ServiceDetail', v));
  await check('/api/v1/waypoints', (v) => listProblems('Waypoint', v));
  await check('/api/v1/routes?namespace=apps', (v) => listProblems('ServiceRoute', v));
  await check('/api/v1/policies?namespace=apps', (v) => listProblems('Policy', v));
  await check('/api/v1/rollouts?namespace=apps', (v) => listProblems('Rollout', v));
  const certs = await check('/api/v1/certificates', (v) => shapeProblems('Certificates', v));
  const graph = await check('/api/v1/graph?namespace=apps', (v) => shapeProblems('Graph', v));
  const flows = await check('/api/v1/flows?namespace=apps', (v) => listProblems('Flow', v));
  const detail = await check('/api/v1/workloads/apps/echo-v2-a', (v) => shapeProblems('WorkloadDetail', v));
  assert.deepEqual(problems, []);
  // Not vacuous: the report's certificate is on both echo pods (node-1's agent holds it for their identity).
  assert.deepEqual(certs.workloads.filter((c: { serial: string }) => c.serial === '0abc').map((c: { pod: string }) => c.pod).sort(), ['echo-v1-a', 'echo-v2-a']);
  assert.equal(detail.certificate?.serial, '0abc');
  // Not vacuous: the telemetry window's report is in both.
  assert.ok(graph.edges.some((e: { source: string; target: string; mtls: boolean }) => e.source === 'workload:other/viewer' && e.target === 'service:apps/echo-v1' && e.mtls), JSON.stringify(graph));
  assert.ok(flows.items.some((f: { verdict: string; policy: string }) => f.verdict === 'denied' && f.policy === 'apps/deny-other'), JSON.stringify(flows));
});

test('flow_stream_sends_each_new_flow_as_an_event_and_unsubscribes_on_close', async () => {
  const window = controller.telemetry.window;
  const before = window.subscribers;
  const got = await new Promise<string>((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: controller.apiAddress!.port, path: '/api/v1/flows/stream?namespace=apps', ca: controller.ca.trustBundle.pems(), servername: 'ambient-controller.ambient-system.svc', headers: { authorization: `Bearer ${tokens.deployer}` }, timeout: 10_000 },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
        assert.match(String(res.headers['content-type']), /^text\/event-stream/);
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
          if (text.startsWith(':') && !text.includes('event: flow')) controller.telemetry.ingest({ role: 'node-agent', node: 'node-1' }, sampleReport());
          if (/event: flow\ndata: .*\n\n/.test(text)) {
            req.destroy();
            resolve(text);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no flow event within the timeout')));
    req.on('error', (e) => (e.message === 'socket hang up' ? undefined : reject(e)));
    req.end();
  });
  const data = JSON.parse(/event: flow\ndata: (.*)\n/.exec(got)![1]!);
  assert.deepEqual(shapeProblems('Flow', data), []);
  assert.equal(data.verdict, 'denied');
  await pollUntil('the stream to unsubscribe after the client closed', () => (window.subscribers === before ? true : undefined), WAIT);
});

test('service_detail_shows_endpoint_health_from_its_waypoint_and_unknown_with_the_reason_when_it_fails', async () => {
  // echo-v1 has no waypoint of its own (only echo carries the label): no health known.
  const v1 = await get('/api/v1/services/apps/echo-v1');
  assert.equal(v1.status, 200, v1.text);
  assert.equal(v1.json.endpoints[0].health, 'unknown');
  assert.match(v1.json.endpoints[0].healthReason, /no waypoint serves this Service/);

  const echo = await get('/api/v1/services/apps/echo');
  assert.equal(echo.json.waypoint, 'apps/waypoint');
  assert.deepEqual(echo.json.routes[0].rules[0].backends.map((b: { weight: number }) => b.weight), [100, 0]);
  assert.deepEqual(echo.json.rollouts.map((r: { metadata: { name: string } }) => r.metadata.name), ['echo']);
  const byWorkload = Object.fromEntries(echo.json.endpoints.map((e: { workload: string; health: string; ejected: boolean }) => [e.workload, [e.health, e.ejected]]));
  assert.deepEqual(byWorkload, { 'apps/echo-v1-a': ['unhealthy', true], 'apps/echo-v2-a': ['unknown', false] }, 'as the waypoint reports them; one it does not list is unknown');
  assert.ok(Date.parse(echo.json.endpoints.find((e: { workload: string }) => e.workload === 'apps/echo-v1-a').ejectedUntil) > Date.now());

  endpointsFail = true;
  try {
    const failed = await get('/api/v1/services/apps/echo');
    assert.equal(failed.status, 200);
    assert.ok(failed.json.endpoints.every((e: { health: string; healthReason: string }) => e.health === 'unknown' && /debug\/endpoints: answered 500/.test(e.healthReason)), failed.text);
  } finally {
    endpointsFail = false;
  }
});

test('authz_check_answers_as_ambientctl_authz_check', async () => {
  const r = await call('POST', '/api/v1/authz/check', { token: tokens.deployer, body: { from: 'other/viewer', to: 'echo-v1.apps', port: 80 } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.decision, 'DENY');
  assert.equal(r.json.policy, 'apps/deny-other');
  assert.match(r.json.headline, /^denied by DENY policy apps\/deny-other rule 0/);
  const bad = await call('POST', '/api/v1/authz/check', { token: tokens.deployer, body: { from: 'other/viewer', to: 'nothing.apps', port: 80 } });
  assert.equal(bad.status, 422, bad.text);
  assert.match(bad.json.error.message, /^to: nothing\.apps:80 is no Service or pod of the mesh/);
});

test('no_token_is_401_and_a_token_the_api_server_rejects_is_401', async () => {
  const none = await call('GET', '/api/v1/workloads');
  assert.equal(none.status, 401);
  assert.equal(none.json.error.code, 'AMB_API_UNAUTHENTICATED');
  const forged = await call('GET', '/api/v1/workloads', { token: `${tokens.deployer.slice(0, -4)}AAAA` });
  assert.equal(forged.status, 401, forged.text);
  assert.match(forged.json.error.message, /did not authenticate/);
});

test('a_service_account_without_patch_on_httproutes_gets_403_naming_the_verb', async () => {
  const r = await call('PUT', '/api/v1/services/apps/echo/split', { token: tokens.viewer, body: { weights: { 'echo-v1': 50, 'echo-v2': 50 } } });
  assert.equal(r.status, 403, r.text);
  assert.equal(r.json.error.code, 'AMB_API_FORBIDDEN');
  assert.match(r.json.error.message, /user "system:serviceaccount:other:viewer" may not patch httproutes\.gateway\.networking\.k8s\.io in namespace "apps"/);
  const route = (await custom.getNamespacedCustomObject({ ...GW, plural: 'httproutes', namespace: 'apps', name: 'echo' })) as { spec: { rules: Array<{ backendRefs: Array<{ weight: number }> }> } };
  assert.deepEqual(route.spec.rules[0]!.backendRefs.map((b) => b.weight), [100, 0], 'nothing was written');
  const pause = await call('POST', '/api/v1/rollouts/apps/echo/pause', { token: tokens.viewer, body: {} });
  assert.equal(pause.status, 403);
  assert.match(pause.json.error.message, /may not patch rollouts\.ambient\.dev "echo" in namespace "apps"/);
});

test('a_write_without_x_ambient_request_is_403_and_changes_nothing', async () => {
  const r = await call('PUT', '/api/v1/services/apps/echo/split', { token: tokens.deployer, body: { to: 'echo-v2' }, headers: { 'x-ambient-request': '' } });
  assert.equal(r.status, 403, r.text);
  assert.equal(r.json.error.code, 'AMB_API_WRITE_REFUSED');
  const form = await call('POST', '/api/v1/rollouts/apps/echo/abort', { token: tokens.deployer, body: {}, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(form.status, 403);
  const ro = (await custom.getNamespacedCustomObject({ ...AMB, plural: 'rollouts', namespace: 'apps', name: 'echo' })) as { spec: { abort?: boolean } };
  assert.equal(ro.spec.abort, undefined);
});

test('a_permitted_split_changes_the_httproute_read_back_from_the_api_server', async () => {
  const r = await call('PUT', '/api/v1/services/apps/echo/split', { token: tokens.deployer, body: { weights: { 'echo-v1': 90, 'echo-v2': 10 } } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.json.kind, r.json.metadata.name], ['HTTPRoute', 'echo'], 'the answer is the HTTPRoute');
  const route = (await custom.getNamespacedCustomObject({ ...GW, plural: 'httproutes', namespace: 'apps', name: 'echo' })) as { spec: { rules: Array<{ backendRefs: Array<{ name: string; weight: number }> }> } };
  assert.deepEqual(route.spec.rules[0]!.backendRefs.map((b) => [b.name, b.weight]), [['echo-v1', 90], ['echo-v2', 10]]);
  assert.deepEqual(r.json.spec.rules[0].backendRefs.map((b: { weight: number }) => b.weight), [90, 10], 'the answer is the route after the write');
  const bad = await call('PUT', '/api/v1/services/apps/echo/split', { token: tokens.deployer, body: { weights: { 'echo-v3': 100 } } });
  assert.equal(bad.status, 422, bad.text);
  assert.match(bad.json.error.message, /echo-v3 does not exist/);
});

test('a_permitted_rollout_action_patches_the_rollout', async () => {
  const r = await call('POST', '/api/v1/rollouts/apps/echo/pause', { token: tokens.deployer, body: {} });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.json.metadata.name, r.json.spec.paused], ['echo', true], 'the answer is the Rollout after the change');
  const ro = (await custom.getNamespacedCustomObject({ ...AMB, plural: 'rollouts', namespace: 'apps', name: 'echo' })) as { spec: { paused?: boolean } };
  assert.equal(ro.spec.paused, true);
  const resume = await call('POST', '/api/v1/rollouts/apps/echo/resume', { token: tokens.deployer, body: {} });
  assert.deepEqual(resume.json.spec.paused, false);
});

test('options_is_405_without_any_cors_header', async () => {
  for (const path of ['/api/v1/workloads', '/api/v1/services/apps/echo/split', '/']) {
    const r = await call('OPTIONS', path, { token: tokens.deployer, headers: { origin: 'https://evil.example', 'access-control-request-method': 'PUT' } });
    assert.equal(r.status, 405, path);
    assert.deepEqual(Object.keys(r.headers).filter((h) => h.startsWith('access-control-')), [], path);
  }
  const read = await call('GET', '/api/v1/workloads', { token: tokens.deployer, headers: { origin: 'https://evil.example' } });
  assert.deepEqual(Object.keys(read.headers).filter((h) => h.startsWith('access-control-')), []);
});

test('the_served_openapi_document_matches_the_route_table', async () => {
  const r = await get('/api/v1/openapi.json', tokens.viewer);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, JSON.parse(JSON.stringify(openApiDocument(API_ROUTES))));
  // Every documented operation is served: no 404 or 405 for any of them.
  for (const [path, ops] of Object.entries(r.json.paths as Record<string, Record<string, unknown>>)) {
    for (const method of Object.keys(ops)) {
      // The flow stream never ends: flow_stream_sends_each_new_flow_as_an_event_... checks it is served.
      if (path.endsWith('/flows/stream')) continue;
      const concrete = path.replace('{namespace}', 'apps').replace('{name}', 'echo');
      const a = await call(method.toUpperCase(), concrete, { token: tokens.viewer, ...(method === 'get' ? {} : { body: {} }) });
      assert.ok(![404, 405].includes(a.status) || a.json?.error?.code !== 'AMB_API_METHOD_NOT_ALLOWED', `${method} ${path}: ${a.status}`);
      assert.notEqual(a.json?.error?.message?.startsWith('no such API path'), true, `${method} ${path}`);
    }
  }
  const unknown = await get('/api/v1/nothing');
  assert.deepEqual([unknown.status, unknown.json.error.code], [404, 'AMB_API_NOT_FOUND']);
});

test('the_console_path_answers_a_not_built_page_until_files_exist_then_serves_them', async () => {
  const before = await call('GET', '/graph');
  assert.equal(before.status, 200);
  assert.match(before.text, /console is not built/);
  writeFileSync(join(consoleDir, 'index.html'), '<!doctype html><title>console</title>');
  mkdirSync(join(consoleDir, 'assets'));
  writeFileSync(join(consoleDir, 'assets', 'app.js'), 'console.log(1)');
  const page = await call('GET', '/services/apps/echo');
  assert.equal(page.text, '<!doctype html><title>console</title>');
  assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
  const asset = await call('GET', '/assets/app.js');
  assert.deepEqual([asset.status, asset.headers['content-type'], asset.text], [200, 'text/javascript; charset=utf-8', 'console.log(1)']);
  const escape = await call('GET', '/assets/..%2F..%2Fetc%2Fpasswd');
  assert.equal(escape.status, 404);
});
