// Direct tier, attack: a namespace binds its Service to another team's waypoint with
// `ambient.dev/use-waypoint` + `ambient.dev/use-waypoint-namespace`, to push its traffic
// (and its HTTPRoute) through a waypoint whose owner never agreed. The whole controller
// runs in-process against the local API server on a real Redis, with two config-stream
// clients over real TLS and pod-bound tokens: the owner's waypoint and a node agent.
// Without consent the attacker's Service gets no waypoint (a Problem says why) and its
// route never reaches the owner's waypoint; once the owner's Gateway allows that namespace
// (allowedRoutes.namespaces.from: Selector, and the namespace gets the label), both happen.
// Every wait is bounded.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { MeshService } from '../core/config/model.js';
import type { Controller } from '../controller/controller.js';
import { waitFor } from './support/net.js';
import { boundToken, createRunningPod, createWaypointGateway, GATEWAY_API as GW, MERGE, startApiEnv, startConfigClient, startTestController, type ApiEnv } from './support/control-plane.js';

const WAIT = 8_000;
const OWNER = 'team-a';
const ATTACKER = 'intruder';
const EVIL_SERVICE = `Service/${ATTACKER}/evil.${ATTACKER}.svc.cluster.local`;
const EVIL_ROUTE = `Route/${ATTACKER}/HTTPRoute/steer`;
const OWN_ROUTE = `Route/${OWNER}/HTTPRoute/own`;
const WAYPOINT_REF = { service: `${OWNER}/wp.${OWNER}.svc.cluster.local`, port: 15008 };

let env: ApiEnv;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let controller: Controller;
const tokens = { agent: '', waypoint: '' };

async function createRoute(namespace: string, name: string, service: string): Promise<void> {
  await custom.createNamespacedCustomObject({
    ...GW,
    plural: 'httproutes',
    namespace,
    body: {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name },
      spec: { parentRefs: [{ group: '', kind: 'Service', name: service, port: 80 }], rules: [{ backendRefs: [{ name: service, port: 80 }] }] },
    },
  });
}

const startClient = (token: string) => startConfigClient(controller, token);
const problemOf = (kind: string, key: string, re: RegExp) => controller.watch.problems.find((p) => p.kind === kind && p.key === key && re.test(p.message));

before(async () => {
  env = await startApiEnv('wpconsent:', ['ambient-system', OWNER, ATTACKER]);
  ({ core, custom } = env);
  await core.createNamespacedServiceAccount({ namespace: 'ambient-system', body: { metadata: { name: 'ambient-node-agent' } } });
  await core.createNamespacedServiceAccount({ namespace: OWNER, body: { metadata: { name: 'wp' } } });
  await createRunningPod(core, 'ambient-system', 'agent-a', 'ambient-node-agent', '10.244.1.2');
  await createRunningPod(core, OWNER, 'wp-1', 'wp', '10.244.1.3');
  // The owner's waypoint, as `ambientctl waypoint apply` writes it: no allowedRoutes (Same).
  await createWaypointGateway(custom, OWNER, 'wp');
  await core.createNamespacedService({ namespace: OWNER, body: { metadata: { name: 'wp' }, spec: { clusterIP: '10.96.0.50', ports: [{ name: 'mesh', port: 15008 }] } } });
  // The owner's own Service on its waypoint, with a route: what the waypoint is there for.
  await core.createNamespacedService({ namespace: OWNER, body: { metadata: { name: 'api', labels: { 'ambient.dev/use-waypoint': 'wp' } }, spec: { ports: [{ name: 'http', port: 80 }] } } });
  await createRoute(OWNER, 'own', 'api');
  // The attack: another namespace names the owner's waypoint, and routes its Service there.
  await core.createNamespacedService({
    namespace: ATTACKER,
    body: { metadata: { name: 'evil', labels: { 'ambient.dev/use-waypoint': 'wp', 'ambient.dev/use-waypoint-namespace': OWNER } }, spec: { ports: [{ name: 'http', port: 80 }] } },
  });
  await createRoute(ATTACKER, 'steer', 'evil');
  tokens.agent = await boundToken(core, 'ambient-system', 'ambient-node-agent', 'agent-a');
  tokens.waypoint = await boundToken(core, OWNER, 'wp', 'wp-1');
  controller = await startTestController(env.kc, { waypoints: { enabled: false } });
});

after(async () => {
  await controller?.close();
  await env?.close();
});

test('foreign_namespace_cannot_bind_its_service_to_another_namespaces_waypoint_until_the_gateway_allows_it', async (t) => {
  const waypoint = startClient(tokens.waypoint);
  const agent = startClient(tokens.agent);
  t.after(() => {
    waypoint.client.close();
    agent.client.close();
  });

  // Refused: the attacker's Service has no waypoint, and the Problem says exactly why.
  await waitFor(() => problemOf('Service', `${ATTACKER}/evil`, /waypoint team-a\/wp does not allow namespace "intruder": its HBONE listener's allowedRoutes\.namespaces\.from is Same/) !== undefined, WAIT, 'the refusal to be reported on the Service');
  await waitFor(() => agent.held.has(EVIL_SERVICE), WAIT, 'the node agent to receive the attacker\'s Service');
  assert.equal((agent.held.get(EVIL_SERVICE)!.body as MeshService).waypoint, undefined, 'the node agents do not send its traffic to the waypoint');
  // The owner's waypoint serves its own Service's route, and never receives the attacker's
  // (both were in the cluster before the controller started: one translation holds both).
  await waitFor(() => waypoint.held.has(OWN_ROUTE), WAIT, 'the owner\'s waypoint to receive its own route');
  assert.equal(waypoint.held.has(EVIL_ROUTE), false, 'the attacker\'s route does not reach the owner\'s waypoint');
  assert.equal(waypoint.held.has(EVIL_SERVICE) && (waypoint.held.get(EVIL_SERVICE)!.body as MeshService).waypoint !== undefined, false);

  // The owner allows namespaces labelled team=partner: the attacker's namespace is not one.
  await custom.patchNamespacedCustomObject(
    {
      ...GW,
      plural: 'gateways',
      namespace: OWNER,
      name: 'wp',
      body: { spec: { listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE', allowedRoutes: { namespaces: { from: 'Selector', selector: { matchLabels: { team: 'partner' } } } } }] } },
    },
    MERGE,
  );
  await waitFor(() => problemOf('Service', `${ATTACKER}/evil`, /the labels of namespace intruder do not match its HBONE listener's allowedRoutes\.namespaces\.selector \(team=partner\)/) !== undefined, WAIT, 'the refusal to name the selector');
  assert.equal((agent.held.get(EVIL_SERVICE)!.body as MeshService).waypoint, undefined);
  assert.equal(waypoint.held.has(EVIL_ROUTE), false);

  // The namespace is admitted (the label is the owner's rule, set by whoever may label
  // namespaces): now the binding holds, and the route reaches the waypoint.
  await core.patchNamespace({ name: ATTACKER, body: { metadata: { labels: { team: 'partner' } } } }, MERGE);
  await waitFor(() => (agent.held.get(EVIL_SERVICE)?.body as MeshService | undefined)?.waypoint !== undefined, WAIT, 'the admitted Service to get the waypoint');
  assert.deepEqual((agent.held.get(EVIL_SERVICE)!.body as MeshService).waypoint, WAYPOINT_REF);
  await waitFor(() => waypoint.held.has(EVIL_ROUTE), WAIT, 'the admitted namespace\'s route to reach the waypoint');
  assert.equal(problemOf('Service', `${ATTACKER}/evil`, /does not allow/), undefined);

  // The label goes: the binding goes with it, and the route leaves the waypoint.
  await core.patchNamespace({ name: ATTACKER, body: { metadata: { labels: { team: null } } } }, MERGE);
  await waitFor(() => (agent.held.get(EVIL_SERVICE)?.body as MeshService | undefined)?.waypoint === undefined, WAIT, 'the binding to be withdrawn');
  await waitFor(() => !waypoint.held.has(EVIL_ROUTE), WAIT, 'the route to leave the waypoint');
});
