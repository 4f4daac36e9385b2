// Direct tier: the controller in-process (startController) against the local API server on
// a real Redis, no kubelet. A Gateway of class ambient-waypoint makes the leader create the
// waypoint's ServiceAccount, Deployment and Service and write the Gateway's status; the
// Deployment's readiness (set through the API, as a kubelet and deployment controller
// would) makes it Programmed with the Service's address; what the controller does not
// manage is left alone; a Gateway that stops being a waypoint, or is deleted, takes its
// objects with it. Every wait is bounded.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../local-cluster/apiserver/server.js';
import { kubeConfigForServer } from '../core/kube/config.js';
import { startController, type Controller } from '../controller/controller.js';
import { startRedis, type TestRedis } from './support/redis.js';
import { pollUntil, installMeshCrds } from './support/control-plane.js';

const WAIT_MS = 15_000;
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const GW = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'gateways' };

let redis: TestRedis;
let api: ApiServer;
let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;
let custom: CustomObjectsApi;
let controller: Controller;

const until = <T>(what: string, fn: () => Promise<T | undefined> | T | undefined): Promise<T> => pollUntil(what, fn, WAIT_MS);

const notFound = async (p: Promise<unknown>): Promise<boolean> =>
  p.then(
    () => false,
    (e: { code?: number }) => e.code === 404,
  );

function gateway(name: string, listeners: unknown[] = [{ name: 'mesh', port: 15008, protocol: 'HBONE' }], annotations?: Record<string, string>) {
  return { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name, ...(annotations ? { annotations } : {}) }, spec: { gatewayClassName: 'ambient-waypoint', listeners } };
}

type Cond = { type: string; status: string; reason: string; message: string; observedGeneration?: number };
type GwStatus = { conditions?: Cond[]; addresses?: Array<{ type: string; value: string }>; listeners?: Array<{ name: string; conditions: Cond[] }> };

async function gatewayStatus(ns: string, name: string): Promise<GwStatus> {
  const gw = (await custom.getNamespacedCustomObject({ ...GW, namespace: ns, name })) as { status?: GwStatus };
  return gw.status ?? {};
}

const condition = (s: GwStatus, type: string) => s.conditions?.find((c) => c.type === type);

before(async () => {
  redis = await startRedis();
  api = await startApiServer({ redisUrl: redis.url, prefix: 'wpdeploy:' });
  kc = kubeConfigForServer(api.url);
  await installMeshCrds(kc);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  for (const ns of ['ambient-system', 'shop']) await core.createNamespace({ body: { metadata: { name: ns } } }).catch(() => {});
  controller = await startController({
    kubeConfig: kc,
    trustDomain: 'cluster.local',
    listen: { host: '127.0.0.1', port: 0 },
    metrics: { host: '127.0.0.1', port: 0 },
    limits: { drainTimeoutMs: 1_000 },
    waypoints: { limits: { retryMinMs: 100, retryMaxMs: 500 } },
  });
});

after(async () => {
  await controller?.close();
  await api?.close();
  await redis?.stop();
});

describe('waypoint deployer', () => {
  test('gateway_class_ambient_waypoint_is_created_and_accepted', async () => {
    const gc = await until('GatewayClass ambient-waypoint accepted', async () => {
      const o = (await custom.getClusterCustomObject({ group: GW.group, version: GW.version, plural: 'gatewayclasses', name: 'ambient-waypoint' })) as { spec?: { controllerName?: string }; status?: GwStatus };
      return condition(o.status ?? {}, 'Accepted')?.status === 'True' ? o : undefined;
    });
    assert.equal(gc.spec?.controllerName, 'ambient.dev/waypoint');
  });

  test('applying_a_waypoint_gateway_creates_its_serviceaccount_deployment_and_service_owned_by_it', async () => {
    const created = (await custom.createNamespacedCustomObject({ ...GW, namespace: 'shop', body: gateway('waypoint') })) as { metadata: { uid: string } };
    const uid = created.metadata.uid;
    const dep = await until('the Deployment', () => apps.readNamespacedDeployment({ namespace: 'shop', name: 'waypoint' }));
    const sa = await until('the ServiceAccount', () => core.readNamespacedServiceAccount({ namespace: 'shop', name: 'waypoint' }));
    const svc = await until('the Service', () => core.readNamespacedService({ namespace: 'shop', name: 'waypoint' }));
    for (const o of [dep, sa, svc]) {
      assert.equal(o.metadata?.labels?.['ambient.dev/managed-by'], 'ambient-controller');
      assert.equal(o.metadata?.labels?.['gateway.networking.k8s.io/gateway-name'], 'waypoint');
      assert.deepEqual(o.metadata?.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]), [['Gateway', 'waypoint', uid, true]]);
    }
    assert.equal(dep.spec?.template.spec?.serviceAccountName, 'waypoint');
    assert.equal(dep.spec?.template.spec?.containers[0]?.image, 'ambient/waypoint:latest');
    assert.equal(dep.spec?.template.metadata?.labels?.['ambient.dev/dataplane-mode'], 'none');
    assert.deepEqual(svc.spec?.ports?.map((p) => [p.name, p.port, p.targetPort, p.appProtocol]), [['mesh', 15008, 15008, 'hbone']]);

    // No kubelet here: accepted, and pending until a replica is ready.
    const pending = await until('Accepted=True, Programmed=False/Pending', async () => {
      const s = await gatewayStatus('shop', 'waypoint');
      return condition(s, 'Accepted')?.status === 'True' && condition(s, 'Programmed')?.reason === 'Pending' ? s : undefined;
    });
    assert.equal(condition(pending, 'Programmed')?.status, 'False');
    assert.equal(condition(pending, 'Accepted')?.observedGeneration, 1);
    assert.deepEqual(pending.listeners?.map((l) => [l.name, l.conditions.map((c) => `${c.type}=${c.status}`)]), [['mesh', ['Accepted=True', 'Programmed=False', 'ResolvedRefs=True']]]);

    // A ready replica (what the deployment controller would report) makes it Programmed, with the Service's address.
    await apps.patchNamespacedDeploymentStatus({ namespace: 'shop', name: 'waypoint', body: { status: { replicas: 1, readyReplicas: 1, availableReplicas: 1 } } }, MERGE);
    const programmed = await until('Programmed=True', async () => {
      const s = await gatewayStatus('shop', 'waypoint');
      return condition(s, 'Programmed')?.status === 'True' ? s : undefined;
    });
    assert.equal(condition(programmed, 'Programmed')?.reason, 'Programmed');
    assert.deepEqual(programmed.addresses, (svc.spec?.clusterIPs ?? [svc.spec!.clusterIP!]).map((value) => ({ type: 'IPAddress', value })));
  });

  test('replicas_annotation_scales_the_waypoint_deployment', async () => {
    await custom.patchNamespacedCustomObject({ ...GW, namespace: 'shop', name: 'waypoint', body: { metadata: { annotations: { 'ambient.dev/waypoint-replicas': '3' } } } }, MERGE);
    await until('3 replicas', async () => ((await apps.readNamespacedDeployment({ namespace: 'shop', name: 'waypoint' })).spec?.replicas === 3 ? true : undefined));
  });

  test('a_changed_managed_object_is_put_back_and_a_deleted_one_recreated', async () => {
    await core.patchNamespacedService({ namespace: 'shop', name: 'waypoint', body: { spec: { selector: { app: 'hijack' } } } }, MERGE);
    await until('the selector put back', async () => ((await core.readNamespacedService({ namespace: 'shop', name: 'waypoint' })).spec?.selector?.['gateway.networking.k8s.io/gateway-name'] === 'waypoint' && !(await core.readNamespacedService({ namespace: 'shop', name: 'waypoint' })).spec?.selector?.['app'] ? true : undefined));
    await core.deleteNamespacedServiceAccount({ namespace: 'shop', name: 'waypoint' });
    await until('the ServiceAccount recreated', () => core.readNamespacedServiceAccount({ namespace: 'shop', name: 'waypoint' }));
  });

  test('a_malformed_gateway_is_not_accepted_with_the_reason_and_nothing_is_created', async () => {
    await custom.createNamespacedCustomObject({ ...GW, namespace: 'shop', body: gateway('broken', [{ name: 'http', port: 80, protocol: 'HTTP' }]) });
    const s = await until('Accepted=False', async () => {
      const st = await gatewayStatus('shop', 'broken');
      return condition(st, 'Accepted')?.status === 'False' ? st : undefined;
    });
    assert.equal(condition(s, 'Accepted')?.reason, 'ListenersNotValid');
    assert.match(condition(s, 'Accepted')!.message, /no listener with protocol HBONE/);
    assert.equal(condition(s, 'Programmed')?.reason, 'Invalid');
    assert.equal(await notFound(apps.readNamespacedDeployment({ namespace: 'shop', name: 'broken' })), true);
    assert.equal(await notFound(core.readNamespacedService({ namespace: 'shop', name: 'broken' })), true);
    assert.equal(await notFound(core.readNamespacedServiceAccount({ namespace: 'shop', name: 'broken' })), true);
  });

  test('an_object_of_the_waypoints_name_that_the_controller_does_not_manage_is_left_alone', async () => {
    await core.createNamespacedService({ namespace: 'shop', body: { metadata: { name: 'taken', labels: { app: 'mine' } }, spec: { selector: { app: 'mine' }, ports: [{ port: 80 }] } } });
    await custom.createNamespacedCustomObject({ ...GW, namespace: 'shop', body: gateway('taken') });
    const s = await until('Programmed=False/Invalid', async () => {
      const st = await gatewayStatus('shop', 'taken');
      return condition(st, 'Programmed')?.reason === 'Invalid' ? st : undefined;
    });
    assert.match(condition(s, 'Programmed')!.message, /Service shop\/taken exists and is not managed by the controller/);
    const svc = await core.readNamespacedService({ namespace: 'shop', name: 'taken' });
    assert.deepEqual(svc.spec?.selector, { app: 'mine' });
    assert.equal(svc.metadata?.labels?.['ambient.dev/managed-by'], undefined);
    await custom.deleteNamespacedCustomObject({ ...GW, namespace: 'shop', name: 'taken' });
    await until('the Deployment of taken deleted', async () => ((await notFound(apps.readNamespacedDeployment({ namespace: 'shop', name: 'taken' }))) ? true : undefined));
    assert.deepEqual((await core.readNamespacedService({ namespace: 'shop', name: 'taken' })).spec?.selector, { app: 'mine' }, 'still there, untouched');
  });

  test('a_gateway_named_like_the_applications_service_account_creates_nothing_and_is_not_programmed', async () => {
    // Attack: Gateway `web` beside the application's own ServiceAccount `web` would otherwise
    // get a waypoint Deployment running under the application's identity.
    await core.createNamespacedServiceAccount({ namespace: 'shop', body: { metadata: { name: 'web', labels: { app: 'web' } } } });
    await custom.createNamespacedCustomObject({ ...GW, namespace: 'shop', body: gateway('web') });
    const s = await until('Programmed=False/Invalid', async () => {
      const st = await gatewayStatus('shop', 'web');
      return condition(st, 'Programmed')?.reason === 'Invalid' ? st : undefined;
    });
    assert.equal(condition(s, 'Programmed')?.status, 'False');
    assert.match(condition(s, 'Programmed')!.message, /ServiceAccount shop\/web exists and is not managed by the controller/);
    // The status is written after the pass's actions: had any been taken, they would be visible now.
    assert.equal(await notFound(apps.readNamespacedDeployment({ namespace: 'shop', name: 'web' })), true, 'no Deployment');
    assert.equal(await notFound(core.readNamespacedService({ namespace: 'shop', name: 'web' })), true, 'no Service');
    const sa = await core.readNamespacedServiceAccount({ namespace: 'shop', name: 'web' });
    assert.equal(sa.metadata?.labels?.['ambient.dev/managed-by'], undefined, 'the application\'s ServiceAccount untouched');
    await custom.deleteNamespacedCustomObject({ ...GW, namespace: 'shop', name: 'web' });
    await core.deleteNamespacedServiceAccount({ namespace: 'shop', name: 'web' });
  });

  test('a_gateway_that_stops_being_deployable_has_its_objects_deleted_by_the_controller', async () => {
    await custom.createNamespacedCustomObject({ ...GW, namespace: 'shop', body: gateway('fleeting') });
    await until('the Deployment of fleeting', () => apps.readNamespacedDeployment({ namespace: 'shop', name: 'fleeting' }));
    // The Gateway stays (no garbage collection applies): the controller deletes by its label.
    await custom.patchNamespacedCustomObject({ ...GW, namespace: 'shop', name: 'fleeting', body: { spec: { listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } } }, MERGE);
    await until('the objects of fleeting deleted', async () =>
      (await notFound(apps.readNamespacedDeployment({ namespace: 'shop', name: 'fleeting' }))) &&
      (await notFound(core.readNamespacedService({ namespace: 'shop', name: 'fleeting' }))) &&
      (await notFound(core.readNamespacedServiceAccount({ namespace: 'shop', name: 'fleeting' })))
        ? true
        : undefined,
    );
  });

  test('deleting_the_gateway_deletes_its_serviceaccount_deployment_and_service', async () => {
    await custom.deleteNamespacedCustomObject({ ...GW, namespace: 'shop', name: 'waypoint' });
    await until('the objects of waypoint deleted', async () =>
      (await notFound(apps.readNamespacedDeployment({ namespace: 'shop', name: 'waypoint' }))) &&
      (await notFound(core.readNamespacedService({ namespace: 'shop', name: 'waypoint' }))) &&
      (await notFound(core.readNamespacedServiceAccount({ namespace: 'shop', name: 'waypoint' })))
        ? true
        : undefined,
    );
  });
});
