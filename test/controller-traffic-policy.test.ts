// Direct tier: TrafficPolicy.ambient.dev/v1 through the whole controller: the local API
// server on a real Redis, the controller in-process, and two config-stream clients over
// real TLS with pod-bound tokens: a waypoint (its ServiceAccount named by a Gateway of class
// ambient-waypoint) and a node agent. The waypoint receives the compiled policy, the node
// agent never does; a malformed policy is left out alone and its status names the field; a
// second policy on the same Service port is Conflicted; the API server refuses a policy its
// schema refuses. Every wait is bounded.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { TrafficPolicy } from '../core/config/traffic-policy.js';
import type { Controller } from '../controller/controller.js';
import { waitFor } from './support/net.js';
import { boundToken, createRunningPod, createWaypointGateway, MERGE, startApiEnv, startConfigClient, startTestController, waitForAsync as waitUntil, type ApiEnv } from './support/control-plane.js';

const WAIT = 8_000;
const TP = { group: 'ambient.dev', version: 'v1', plural: 'trafficpolicies', namespace: 'apps' };
const ECHO = 'apps/echo.apps.svc.cluster.local';

let env: ApiEnv;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let controller: Controller;
const tokens = { agent: '', waypoint: '' };

async function createTrafficPolicy(name: string, spec: unknown): Promise<void> {
  await custom.createNamespacedCustomObject({ ...TP, body: { apiVersion: 'ambient.dev/v1', kind: 'TrafficPolicy', metadata: { name }, spec } });
}

const startClient = (token: string) => startConfigClient(controller, token);
const waitForAsync = (cond: () => Promise<boolean>, what: string) => waitUntil(cond, what, WAIT);

type Condition = { type: string; status: string; reason: string; message: string; observedGeneration?: number };

async function conditions(name: string): Promise<Condition[]> {
  const o = (await custom.getNamespacedCustomObject({ ...TP, name })) as { status?: { conditions?: Condition[] } };
  return o.status?.conditions ?? [];
}

before(async () => {
  env = await startApiEnv('tpolicy:', ['ambient-system', 'apps']);
  ({ core, custom } = env);
  await core.createNamespacedServiceAccount({ namespace: 'ambient-system', body: { metadata: { name: 'ambient-node-agent' } } });
  await core.createNamespacedServiceAccount({ namespace: 'apps', body: { metadata: { name: 'waypoint' } } });
  await createRunningPod(core, 'ambient-system', 'agent-a', 'ambient-node-agent', '10.244.1.2');
  await createRunningPod(core, 'apps', 'waypoint-1', 'waypoint', '10.244.1.3');
  await createWaypointGateway(custom, 'apps', 'waypoint');
  tokens.agent = await boundToken(core, 'ambient-system', 'ambient-node-agent', 'agent-a');
  tokens.waypoint = await boundToken(core, 'apps', 'waypoint', 'waypoint-1');
  // Bound to the waypoint: a waypoint gets only the policies of the Services it serves.
  await core.createNamespacedService({
    namespace: 'apps',
    body: { metadata: { name: 'echo', labels: { 'ambient.dev/use-waypoint': 'waypoint' } }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 as never }, { name: 'grpc', port: 9090, targetPort: 9090 as never }] } },
  });
  controller = await startTestController(env.kc);
});

after(async () => {
  await controller?.close();
  await env?.close();
});

test('traffic_policy_reaches_the_waypoint_never_the_node_agent_and_gets_accepted_status', async (t) => {
  await createTrafficPolicy('echo', {
    targetRefs: [{ group: '', kind: 'Service', name: 'echo', sectionName: 'http' }],
    loadBalancer: { algorithm: 'LEAST_REQUEST' },
    outlierDetection: { consecutive5xxErrors: 3 },
    retries: { attempts: 3, retryOn: ['gateway-error', 'reset', 'connect-failure'] },
    rateLimits: { local: { requests: 100, per: '1s' } },
  });
  const waypoint = startClient(tokens.waypoint);
  const agent = startClient(tokens.agent);
  t.after(() => {
    waypoint.client.close();
    agent.client.close();
  });

  await waitFor(() => waypoint.held.has('TrafficPolicy/apps/echo'), WAIT, 'the waypoint to receive the TrafficPolicy');
  const tp = waypoint.held.get('TrafficPolicy/apps/echo')!.body as TrafficPolicy;
  assert.deepEqual(tp.targets, [{ service: ECHO, port: 80 }], 'sectionName resolved to the port number');
  assert.equal(tp.loadBalancer.algorithm, 'LEAST_REQUEST');
  assert.equal(tp.outlierDetection?.consecutive5xxErrors, 3);
  assert.equal(tp.outlierDetection?.intervalMs, 10_000, 'the default filled in');
  assert.equal(tp.retries?.attempts, 3);
  assert.deepEqual(tp.rateLimits?.local, { requests: 100, perMs: 1_000, burst: 100 });

  await waitFor(() => agent.held.has(`Service/${ECHO}`), WAIT, 'the node agent to receive its config');
  assert.equal(agent.everSeen.has('TrafficPolicy'), false, 'a node agent is never sent a TrafficPolicy');

  await waitForAsync(async () => (await conditions('echo')).some((c) => c.type === 'Accepted' && c.status === 'True'), 'Accepted=True on the TrafficPolicy');
  const byType = Object.fromEntries((await conditions('echo')).map((c) => [c.type, c]));
  assert.equal(byType.Accepted?.message, 'applied to Service apps/echo port 80');
  assert.equal(byType.Accepted?.observedGeneration, 1);
  assert.equal(byType.Conflicted?.status, 'False');

  // A change reaches the waypoint as an update of the same resource.
  await custom.patchNamespacedCustomObject({ ...TP, name: 'echo', body: { spec: { retries: { attempts: 5 } } } }, MERGE);
  await waitFor(() => (waypoint.held.get('TrafficPolicy/apps/echo')?.body as TrafficPolicy | undefined)?.retries?.attempts === 5, WAIT, 'the changed TrafficPolicy to reach the waypoint');

  // A second, newer policy on the same port is Conflicted; the first keeps applying.
  await createTrafficPolicy('echo-too', { targetRefs: [{ group: '', kind: 'Service', name: 'echo', sectionName: 'http' }] });
  await waitForAsync(async () => (await conditions('echo-too')).some((c) => c.type === 'Conflicted' && c.status === 'True'), 'Conflicted=True on the newer policy');
  const conflicted = (await conditions('echo-too')).find((c) => c.type === 'Conflicted')!;
  assert.match(conflicted.message, /older TrafficPolicy apps\/echo/);
  assert.equal(waypoint.held.has('TrafficPolicy/apps/echo-too'), false);
  assert.equal(agent.everSeen.has('TrafficPolicy'), false);

  await custom.deleteNamespacedCustomObject({ ...TP, name: 'echo-too' });
  await custom.deleteNamespacedCustomObject({ ...TP, name: 'echo' });
  await waitFor(() => !waypoint.held.has('TrafficPolicy/apps/echo'), WAIT, 'the deleted TrafficPolicy to leave the waypoint');
});

test('malformed_traffic_policy_is_rejected_alone_with_a_status_naming_the_field', async (t) => {
  // The schema (manifests/crds.yaml) takes it; the compiler refuses it (ejection bounds out of order).
  await createTrafficPolicy('broken', { targetRefs: [{ group: '', kind: 'Service', name: 'echo' }], outlierDetection: { baseEjectionTime: '30s', maxEjectionTime: '10s' } });
  await createTrafficPolicy('fine', { targetRefs: [{ group: '', kind: 'Service', name: 'echo', sectionName: 'grpc' }], retries: {} });
  const waypoint = startClient(tokens.waypoint);
  t.after(() => waypoint.client.close());

  await waitFor(() => waypoint.held.has('TrafficPolicy/apps/fine'), WAIT, 'the valid TrafficPolicy to reach the waypoint');
  assert.deepEqual((waypoint.held.get('TrafficPolicy/apps/fine')!.body as TrafficPolicy).targets, [{ service: ECHO, port: 9090 }]);
  assert.equal(waypoint.held.has('TrafficPolicy/apps/broken'), false, 'the malformed one is left out');

  await waitForAsync(async () => (await conditions('broken')).some((c) => c.type === 'Accepted' && c.status === 'False'), 'Accepted=False on the malformed policy');
  const accepted = (await conditions('broken')).find((c) => c.type === 'Accepted')!;
  assert.equal(accepted.reason, 'Invalid');
  assert.equal(accepted.message, 'spec.outlierDetection.maxEjectionTime: "10s" is shorter than baseEjectionTime "30s"');
  assert.ok(controller.watch.problems.some((p) => p.kind === 'TrafficPolicy' && p.key === 'apps/broken' && p.message.startsWith('AMB_TRAFFIC_POLICY_INVALID')));

  // Fixed: it is applied, and its status follows.
  await custom.patchNamespacedCustomObject({ ...TP, name: 'broken', body: { spec: { outlierDetection: { maxEjectionTime: '60s' } } } }, MERGE);
  await waitFor(() => waypoint.held.has('TrafficPolicy/apps/broken'), WAIT, 'the fixed TrafficPolicy to reach the waypoint');
  assert.equal((waypoint.held.get('TrafficPolicy/apps/broken')!.body as TrafficPolicy).outlierDetection?.maxEjectionMs, 60_000);
  await waitForAsync(async () => (await conditions('broken')).some((c) => c.type === 'Accepted' && c.status === 'True'), 'Accepted=True once fixed');
});

test('traffic_policy_the_schema_refuses_is_refused_by_the_api_server_naming_the_field', async () => {
  await assert.rejects(
    createTrafficPolicy('typo', { targetRefs: [{ group: '', kind: 'Service', name: 'echo' }], loadBalancer: { algorithm: 'FASTEST' } }),
    (err: { code?: number; body?: unknown }) => err.code === 422 && /spec\.loadBalancer\.algorithm/.test(String(err.body)),
  );
  await assert.rejects(
    createTrafficPolicy('badduration', { targetRefs: [{ group: '', kind: 'Service', name: 'echo' }], outlierDetection: { interval: '10x' } }),
    (err: { code?: number; body?: unknown }) => err.code === 422 && /spec\.outlierDetection\.interval: Invalid value: \\"10x\\": spec\.outlierDetection\.interval in body should match/.test(String(err.body)),
  );
});

test('rollout_is_served_with_its_schema_and_a_status_subresource', async () => {
  const RO = { group: 'ambient.dev', version: 'v1', plural: 'rollouts', namespace: 'apps' };
  await custom.createNamespacedCustomObject({
    ...RO,
    body: { apiVersion: 'ambient.dev/v1', kind: 'Rollout', metadata: { name: 'echo' }, spec: { service: 'echo', stable: 'echo-v1', canary: 'echo-v2', steps: [5, 25, 50, 100], interval: '30s', gates: { minSuccessRate: 0.99, maxP99Latency: '500ms', minRequests: 20 } } },
  });
  await custom.patchNamespacedCustomObjectStatus({ ...RO, name: 'echo', body: { status: { phase: 'Progressing', canaryWeight: 25, step: 1, message: 'step 1 of 4' } } }, MERGE);
  const o = (await custom.getNamespacedCustomObject({ ...RO, name: 'echo' })) as { spec: { steps: number[] }; status?: { phase?: string; canaryWeight?: number } };
  assert.deepEqual(o.spec.steps, [5, 25, 50, 100]);
  assert.equal(o.status?.phase, 'Progressing');
  assert.equal(o.status?.canaryWeight, 25);
  await assert.rejects(
    custom.createNamespacedCustomObject({ ...RO, body: { apiVersion: 'ambient.dev/v1', kind: 'Rollout', metadata: { name: 'bad' }, spec: { service: 'echo', stable: 'a', canary: 'b', steps: [50], gates: { minSuccessRate: 2 } } } }),
    (err: { code?: number; body?: unknown }) => err.code === 422 && /spec\.gates\.minSuccessRate/.test(String(err.body)),
  );
});
