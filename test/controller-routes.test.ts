// Direct tier: HTTPRoutes attached to a Service (GAMMA) through the whole controller: the
// local API server on a real Redis, the controller in-process, and two config-stream
// clients over real TLS with pod-bound tokens: a waypoint (its ServiceAccount named by a
// Gateway of class ambient-waypoint) and a node agent. The waypoint receives the compiled
// Route, the node agent never does, and the route's status.parents carries the Gateway API
// conditions a user reads with kubectl. Every wait is bounded.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { Controller } from '../controller/controller.js';
import type { RequestAuthn } from '../core/config/request-authn.js';
import type { Route } from '../core/config/routes.js';
import { waitFor } from './support/net.js';
import { boundToken, createRunningPod, createWaypointGateway, GATEWAY_API as GW, MERGE, startApiEnv, startConfigClient, startTestController, waitForAsync as waitUntil, type ApiEnv } from './support/control-plane.js';

const WAIT = 8_000;

let env: ApiEnv;
let controller: Controller;
const tokens = { agent: '', waypoint: '' };
let core: CoreV1Api;
let custom: CustomObjectsApi;
const startClient = (token: string) => startConfigClient(controller, token);
const waitForAsync = (cond: () => Promise<boolean>, what: string) => waitUntil(cond, what, WAIT);

async function createService(name: string): Promise<void> {
  // Bound to the waypoint: a waypoint gets only the routes of the Services it serves.
  await core.createNamespacedService({ namespace: 'apps', body: { metadata: { name, labels: { 'ambient.dev/use-waypoint': 'waypoint' } }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 as never }] } } });
}

async function createRoute(name: string, backend: string): Promise<void> {
  await custom.createNamespacedCustomObject({
    ...GW,
    plural: 'httproutes',
    namespace: 'apps',
    body: {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name },
      spec: { parentRefs: [{ group: '', kind: 'Service', name: 'echo', port: 80 }], rules: [{ matches: [{ path: { type: 'PathPrefix', value: `/${name}` } }], backendRefs: [{ name: backend, port: 80 }] }] },
    },
  });
}

type Condition = { type: string; status: string; reason: string; observedGeneration?: number; lastTransitionTime?: string };
type ParentStatus = { parentRef: Record<string, unknown>; controllerName: string; conditions: Condition[] };

async function routeParents(name: string): Promise<ParentStatus[]> {
  const o = (await custom.getNamespacedCustomObject({ ...GW, plural: 'httproutes', namespace: 'apps', name })) as { status?: { parents?: ParentStatus[] } };
  return o.status?.parents ?? [];
}

before(async () => {
  env = await startApiEnv('routes:', ['ambient-system', 'apps']);
  ({ core, custom } = env);
  await core.createNamespacedServiceAccount({ namespace: 'ambient-system', body: { metadata: { name: 'ambient-node-agent' } } });
  await core.createNamespacedServiceAccount({ namespace: 'apps', body: { metadata: { name: 'waypoint' } } });
  await createRunningPod(core, 'ambient-system', 'agent-a', 'ambient-node-agent', '10.244.1.2');
  await createRunningPod(core, 'apps', 'waypoint-1', 'waypoint', '10.244.1.3');
  // The waypoint's Gateway: its ServiceAccount (named after it) is served as a waypoint.
  await createWaypointGateway(custom, 'apps', 'waypoint');
  tokens.agent = await boundToken(core, 'ambient-system', 'ambient-node-agent', 'agent-a');
  tokens.waypoint = await boundToken(core, 'apps', 'waypoint', 'waypoint-1');
  await createService('echo');
  await createService('echo-v1');
  controller = await startTestController(env.kc);
});

after(async () => {
  await controller?.close();
  await env?.close();
});

test('httproute_reaches_the_waypoint_never_the_node_agent_and_gets_accepted_status', async (t) => {
  await createRoute('canary', 'echo-v1');
  const waypoint = startClient(tokens.waypoint);
  const agent = startClient(tokens.agent);
  t.after(() => {
    waypoint.client.close();
    agent.client.close();
  });

  await waitFor(() => waypoint.held.has('Route/apps/HTTPRoute/canary'), WAIT, 'the waypoint to receive the Route');
  const route = waypoint.held.get('Route/apps/HTTPRoute/canary')!.body as Route;
  assert.deepEqual(route.parents, [{ service: 'apps/echo.apps.svc.cluster.local', port: 80 }]);
  assert.deepEqual(route.rules[0]!.backends, [{ service: 'apps/echo-v1.apps.svc.cluster.local', port: 80, weight: 1, filters: [] }]);
  assert.deepEqual(route.rules[0]!.matches, [{ path: { type: 'PathPrefix', value: '/canary' } }]);

  await waitFor(() => agent.held.has('Service/apps/echo.apps.svc.cluster.local'), WAIT, 'the node agent to receive its config');
  assert.equal(agent.everSeen.has('Route'), false, 'a node agent is never sent a Route');

  await waitForAsync(async () => (await routeParents('canary')).some((p) => p.conditions.some((c) => c.type === 'Accepted' && c.status === 'True')), 'the HTTPRoute status to be written');
  const [parent] = await routeParents('canary');
  assert.deepEqual(parent!.parentRef, { group: '', kind: 'Service', name: 'echo', port: 80 });
  assert.equal(parent!.controllerName, 'ambient.dev/waypoint');
  const byType = Object.fromEntries(parent!.conditions.map((c) => [c.type, c]));
  assert.equal(byType.Accepted?.reason, 'Accepted');
  assert.equal(byType.ResolvedRefs?.status, 'True');
  assert.equal(byType.ResolvedRefs?.reason, 'ResolvedRefs');
  assert.equal(byType.Accepted?.observedGeneration, 1);
  assert.match(byType.Accepted?.lastTransitionTime ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);

  // A change reaches the waypoint as an update of the same Route; still nothing for the agent.
  await custom.patchNamespacedCustomObject(
    { ...GW, plural: 'httproutes', namespace: 'apps', name: 'canary', body: { spec: { rules: [{ backendRefs: [{ name: 'echo-v1', port: 80, weight: 3 }] }] } } },
    MERGE,
  );
  await waitFor(() => ((waypoint.held.get('Route/apps/HTTPRoute/canary')?.body as Route | undefined)?.rules[0]?.backends[0]?.weight ?? 0) === 3, WAIT, 'the changed Route to reach the waypoint');
  assert.equal(agent.everSeen.has('Route'), false);
});

test('httproute_with_a_missing_backend_gets_resolved_refs_false_backend_not_found', async (t) => {
  await createRoute('broken', 'ghost');
  const waypoint = startClient(tokens.waypoint);
  t.after(() => waypoint.client.close());
  await waitForAsync(async () => (await routeParents('broken')).some((p) => p.conditions.some((c) => c.type === 'ResolvedRefs' && c.status === 'False')), 'ResolvedRefs=False on the broken route');
  const [parent] = await routeParents('broken');
  const refs = parent!.conditions.find((c) => c.type === 'ResolvedRefs')!;
  assert.equal(refs.reason, 'BackendNotFound');
  assert.equal(parent!.conditions.find((c) => c.type === 'Accepted')?.status, 'True', 'the route is accepted; the unresolved backend answers 500');
  await waitFor(() => waypoint.held.has('Route/apps/HTTPRoute/broken'), WAIT, 'the Route with the unresolved backend to reach the waypoint');
  const backend = (waypoint.held.get('Route/apps/HTTPRoute/broken')!.body as Route).rules[0]!.backends[0]!;
  assert.match(backend.unresolved ?? '', /Service apps\/ghost does not exist/);

  // The backend appears: the same route re-resolves, and its status follows.
  await createService('ghost');
  await waitForAsync(async () => (await routeParents('broken')).some((p) => p.conditions.some((c) => c.type === 'ResolvedRefs' && c.status === 'True')), 'ResolvedRefs=True once the Service exists');
  await waitFor(() => (waypoint.held.get('Route/apps/HTTPRoute/broken')?.body as Route | undefined)?.rules[0]?.backends[0]?.service === 'apps/ghost.apps.svc.cluster.local', WAIT, 'the resolved Route to reach the waypoint');
});

async function createRequestAuthentication(name: string, spec: unknown): Promise<void> {
  await custom.createNamespacedCustomObject({
    group: 'ambient.dev',
    version: 'v1',
    plural: 'requestauthentications',
    namespace: 'apps',
    body: { apiVersion: 'ambient.dev/v1', kind: 'RequestAuthentication', metadata: { name }, spec },
  });
}

test('request_authentication_reaches_the_waypoint_never_the_node_agent_and_a_malformed_one_is_a_problem', async (t) => {
  await createRequestAuthentication('jwt', {
    targetRefs: [{ group: '', kind: 'Service', name: 'echo' }],
    jwtRules: [{ issuer: 'https://issuer.example', audiences: ['echo'], jwksUri: 'https://issuer.example/jwks.json', forwardOriginalToken: true }],
  });
  await createRequestAuthentication('broken', { targetRefs: [{ group: '', kind: 'Service', name: 'echo' }], jwtRules: [{ issuer: 'https://issuer.example', jwksUri: 'ftp://x' }] });
  const waypoint = startClient(tokens.waypoint);
  const agent = startClient(tokens.agent);
  t.after(() => {
    waypoint.client.close();
    agent.client.close();
  });

  await waitFor(() => waypoint.held.has('RequestAuthn/apps/jwt'), WAIT, 'the waypoint to receive the RequestAuthn');
  const ra = waypoint.held.get('RequestAuthn/apps/jwt')!.body as RequestAuthn;
  assert.equal(ra.scope, 'targets');
  assert.deepEqual(ra.targetRefs, [{ group: '', kind: 'Service', name: 'echo' }]);
  assert.equal(ra.rules[0]!.issuer, 'https://issuer.example');
  assert.deepEqual(ra.rules[0]!.audiences, ['echo']);
  assert.equal(ra.rules[0]!.forwardOriginalToken, true);
  assert.equal(waypoint.held.has('RequestAuthn/apps/broken'), false, 'a malformed RequestAuthentication is left out');
  await waitFor(
    () => controller.watch.problems.some((p) => p.kind === 'RequestAuthentication' && p.key === 'apps/broken' && /spec\.jwtRules\[0\]\.jwksUri: "ftp:\/\/x" is not an http\(s\) URL/.test(p.message)),
    WAIT,
    'the malformed RequestAuthentication to be reported as a Problem naming the field',
  );

  await waitFor(() => agent.held.has('Service/apps/echo.apps.svc.cluster.local'), WAIT, 'the node agent to receive its config');
  assert.equal(agent.everSeen.has('RequestAuthn'), false, 'a node agent is never sent a RequestAuthn');

  // A change reaches the waypoint; deletion removes it; still nothing for the agent.
  await custom.patchNamespacedCustomObject(
    { group: 'ambient.dev', version: 'v1', plural: 'requestauthentications', namespace: 'apps', name: 'jwt', body: { spec: { jwtRules: [{ issuer: 'https://other.example', jwksUri: 'https://other.example/jwks.json' }] } } },
    MERGE,
  );
  await waitFor(() => (waypoint.held.get('RequestAuthn/apps/jwt')?.body as RequestAuthn | undefined)?.rules[0]?.issuer === 'https://other.example', WAIT, 'the changed RequestAuthn to reach the waypoint');
  await custom.deleteNamespacedCustomObject({ group: 'ambient.dev', version: 'v1', plural: 'requestauthentications', namespace: 'apps', name: 'jwt' });
  await waitFor(() => !waypoint.held.has('RequestAuthn/apps/jwt'), WAIT, 'the deleted RequestAuthn to leave the waypoint');
  assert.equal(agent.everSeen.has('RequestAuthn'), false);
});
