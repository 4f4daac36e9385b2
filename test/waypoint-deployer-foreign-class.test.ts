// Direct tier: the controller in-process against the local API server on a real Redis,
// when the GatewayClass ambient-waypoint names ANOTHER controller. Its Gateways are not
// this controller's: nothing is deployed for them, their status and the class's are not
// written, what this controller had deployed for them is removed, and the log says so.
// The translation keeps binding what is labelled to use the waypoint (its traffic is sent
// to the waypoint's Service, which nobody deploys here, and fails rather than bypassing the
// waypoint's policies), and says that the Service is missing. Every wait is bounded.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../local-cluster/apiserver/server.js';
import { kubeConfigForServer } from '../core/kube/config.js';
import { startController, type Controller } from '../controller/controller.js';
import { startRedis, type TestRedis } from './support/redis.js';
import { pollUntil, installMeshCrds } from './support/control-plane.js';

const WAIT_MS = 15_000;
const GW = { group: 'gateway.networking.k8s.io', version: 'v1' };
const OTHER = 'example.com/another-mesh';

let redis: TestRedis;
let api: ApiServer;
let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;
let custom: CustomObjectsApi;
let controller: Controller;
const logLines: string[] = [];

const until = <T>(what: string, fn: () => Promise<T | undefined> | T | undefined): Promise<T> => pollUntil(what, fn, WAIT_MS);

const notFound = async (p: Promise<unknown>): Promise<boolean> =>
  p.then(
    () => false,
    (e: { code?: number }) => e.code === 404,
  );

before(async () => {
  redis = await startRedis();
  api = await startApiServer({ redisUrl: redis.url, prefix: 'wpforeign:' });
  kc = kubeConfigForServer(api.url);
  await installMeshCrds(kc);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  for (const ns of ['ambient-system', 'shop']) await core.createNamespace({ body: { metadata: { name: ns } } }).catch(() => {});
  // The class exists already, implemented by someone else.
  await custom.createClusterCustomObject({
    ...GW,
    plural: 'gatewayclasses',
    body: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'ambient-waypoint' }, spec: { controllerName: OTHER } },
  });
  await custom.createNamespacedCustomObject({
    ...GW,
    plural: 'gateways',
    namespace: 'shop',
    body: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'wp' }, spec: { gatewayClassName: 'ambient-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] } },
  });
  // What this controller had deployed for it earlier (managed-by label), now in the way.
  await core.createNamespacedServiceAccount({ namespace: 'shop', body: { metadata: { name: 'wp', labels: { 'ambient.dev/managed-by': 'ambient-controller', 'gateway.networking.k8s.io/gateway-name': 'wp' } } } });
  await core.createNamespacedService({ namespace: 'shop', body: { metadata: { name: 'web', labels: { 'ambient.dev/use-waypoint': 'wp' } }, spec: { ports: [{ name: 'http', port: 80 }] } } });
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(chunk.toString());
      cb();
    },
  });
  controller = await startController({
    kubeConfig: kc,
    trustDomain: 'cluster.local',
    listen: { host: '127.0.0.1', port: 0 },
    metrics: { host: '127.0.0.1', port: 0 },
    limits: { drainTimeoutMs: 1_000 },
    waypoints: { limits: { retryMinMs: 100, retryMaxMs: 500 } },
    logger: pino({ level: 'info' }, sink),
  });
});

after(async () => {
  await controller?.close();
  await api?.close();
  await redis?.stop();
});

test('gateway_class_of_another_controller_deploys_nothing_writes_no_status_and_says_so', async () => {
  const deployer = controller.waypointDeployer!;
  await until('a pass that saw the Gateway and left it alone', () => (deployer.foreignClassGateways === 1 ? true : undefined));
  // The pass that left it alone also removed what this controller had deployed for it.
  await until('the managed ServiceAccount of wp removed', async () => ((await notFound(core.readNamespacedServiceAccount({ namespace: 'shop', name: 'wp' }))) ? true : undefined));
  assert.equal(await notFound(apps.readNamespacedDeployment({ namespace: 'shop', name: 'wp' })), true, 'no Deployment');
  assert.equal(await notFound(core.readNamespacedService({ namespace: 'shop', name: 'wp' })), true, 'no Service');
  const gw = (await custom.getNamespacedCustomObject({ ...GW, plural: 'gateways', namespace: 'shop', name: 'wp' })) as { status?: { conditions?: unknown[] } };
  assert.deepEqual(gw.status?.conditions ?? [], [], 'the Gateway status is the class controller\'s to write');
  const gc = (await custom.getClusterCustomObject({ ...GW, plural: 'gatewayclasses', name: 'ambient-waypoint' })) as { spec?: { controllerName?: string }; status?: { conditions?: unknown[] } };
  assert.equal(gc.spec?.controllerName, OTHER, 'the class is left as it is');
  assert.deepEqual(gc.status?.conditions ?? [], [], 'nor is its status ours');
  const said = logLines.find((l) => l.includes('names controller') && l.includes(OTHER));
  assert.ok(said, 'the log says why nothing is deployed');
  assert.match(said, /"level":50/, 'as an error');
  assert.match(said, /not deployed and its status is not written by this controller/);
  assert.equal(logLines.filter((l) => l.includes('names controller')).length, 1, 'once, not every pass');
});

test('gateway_class_of_another_controller_traffic_still_binds_and_fails_closed_to_the_missing_service', async () => {
  // The translation still sends web's traffic to the waypoint's Service, never around it.
  const problem = await until('the missing waypoint Service reported', () => controller.watch.problems.find((p) => p.kind === 'Gateway' && p.key === 'shop/wp' && /its Service shop\/wp does not exist/.test(p.message)));
  assert.ok(problem);
  const web = controller.watch.latest?.resources.find((r) => r.kind === 'Service' && r.key === 'shop/web.shop.svc.cluster.local');
  assert.deepEqual((web?.body as { waypoint?: unknown } | undefined)?.waypoint, { service: 'shop/wp.shop.svc.cluster.local', port: 15008 });
  assert.equal(controller.watch.problems.some((p) => p.key === 'shop/web'), false, 'the binding itself is fine');
});
