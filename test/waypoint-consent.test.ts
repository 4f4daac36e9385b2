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
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../local-cluster/apiserver/server.js';
import type { MeshService, Resource } from '../core/config/model.js';
import { kubeConfigForServer } from '../core/kube/config.js';
import { startController, type Controller } from '../controller/controller.js';
import { ControllerClient } from '../node-agent/controller-client/client.js';
import { waitFor } from './support/net.js';
import { startRedis, type TestRedis } from './support/redis.js';

const TD = 'cluster.local';
const AUDIENCE = 'ambient-controller';
const WAIT = 8_000;
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const GW = { group: 'gateway.networking.k8s.io', version: 'v1' };
const OWNER = 'team-a';
const ATTACKER = 'intruder';
const EVIL_SERVICE = `Service/${ATTACKER}/evil.${ATTACKER}.svc.cluster.local`;
const EVIL_ROUTE = `Route/${ATTACKER}/HTTPRoute/steer`;
const OWN_ROUTE = `Route/${OWNER}/HTTPRoute/own`;
const WAYPOINT_REF = { service: `${OWNER}/wp.${OWNER}.svc.cluster.local`, port: 15008 };

let redis: TestRedis;
let api: ApiServer;
let kc: KubeConfig;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let controller: Controller;
const tokens = { agent: '', waypoint: '' };

async function createPod(namespace: string, name: string, sa: string, ip: string): Promise<void> {
  await core.createNamespacedPod({ namespace, body: { metadata: { name }, spec: { nodeName: 'node-1', serviceAccountName: sa, containers: [{ name: 'c', image: 'busybox' }] } } });
  await core.patchNamespacedPodStatus({ namespace, name, body: { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } } }, MERGE);
}

async function boundToken(namespace: string, sa: string, pod: string): Promise<string> {
  const tr = await core.createNamespacedServiceAccountToken({ namespace, name: sa, body: { spec: { audiences: [AUDIENCE], boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod } } } });
  return tr.status!.token;
}

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

function startClient(token: string) {
  const held = new Map<string, Resource>();
  const client = new ControllerClient({
    address: { host: '127.0.0.1', port: controller.address.port },
    trustBundle: controller.ca.trustBundle,
    controllerIdentity: 'ambient-controller.ambient-system.svc',
    token: () => token,
    node: 'node-1',
    onUpdate: (u) => {
      if (u.full) held.clear();
      for (const r of u.removes) held.delete(`${r.kind}/${r.key}`);
      for (const r of u.upserts as Resource[]) held.set(`${r.kind}/${r.key}`, r);
    },
    limits: { reconnectMinMs: 50, reconnectMaxMs: 300, connectTimeoutMs: 3_000, requestTimeoutMs: 5_000 },
  });
  client.on('error', () => {});
  client.start();
  return { client, held };
}

const problemOf = (kind: string, key: string, re: RegExp) => controller.watch.problems.find((p) => p.kind === kind && p.key === key && re.test(p.message));

before(async () => {
  redis = await startRedis();
  api = await startApiServer({ redisUrl: redis.url, prefix: 'wpconsent:' });
  kc = kubeConfigForServer(api.url);
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  for (const ns of ['ambient-system', OWNER, ATTACKER]) {
    await core.createNamespace({ body: { metadata: { name: ns } } }).catch((e: { code?: number }) => {
      if (e.code !== 409) throw e;
    });
  }
  await core.createNamespacedServiceAccount({ namespace: 'ambient-system', body: { metadata: { name: 'ambient-node-agent' } } });
  await core.createNamespacedServiceAccount({ namespace: OWNER, body: { metadata: { name: 'wp' } } });
  await createPod('ambient-system', 'agent-a', 'ambient-node-agent', '10.244.1.2');
  await createPod(OWNER, 'wp-1', 'wp', '10.244.1.3');
  // The owner's waypoint, as `ambientctl waypoint apply` writes it: no allowedRoutes (Same).
  await custom.createNamespacedCustomObject({
    ...GW,
    plural: 'gateways',
    namespace: OWNER,
    body: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'wp' }, spec: { gatewayClassName: 'ambient-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] } },
  });
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
  tokens.agent = await boundToken('ambient-system', 'ambient-node-agent', 'agent-a');
  tokens.waypoint = await boundToken(OWNER, 'wp', 'wp-1');
  controller = await startController({
    kubeConfig: kc,
    trustDomain: TD,
    listen: { host: '127.0.0.1', port: 0 },
    metrics: { host: '127.0.0.1', port: 0 },
    audiences: [AUDIENCE],
    limits: { drainTimeoutMs: 1_000 },
    debounceMs: 20,
    waypoints: { enabled: false },
  });
});

after(async () => {
  await controller?.close();
  await api?.close();
  await redis?.stop();
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
