// The direct tier's control plane: the local API server on a real Redis, clients for it,
// pods and pod-bound tokens as the kubelet would make them, the controller in-process, and
// config-stream clients over real TLS that hold what they are sent. Shared by the tests
// that drive the whole controller (routes, TrafficPolicies, waypoint consent, ...).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { kubeRequest, KubeRequestError } from '../../core/kube/rest.js';
import { parseAllDocuments } from 'yaml';
import { startApiServer, type ApiServer } from '../../local-cluster/apiserver/server.js';
import type { Resource } from '../../core/config/model.js';
import { kubeConfigForServer } from '../../core/kube/config.js';
import { startController, type Controller, type ControllerOptions } from '../../controller/controller.js';
import { ControllerClient, type ConfigUpdate } from '../../node-agent/controller-client/client.js';
import { startRedis, type TestRedis } from './redis.js';

export const TD = 'cluster.local';
export const AUDIENCE = 'ambient-controller';
export const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const GATEWAY_API = { group: 'gateway.networking.k8s.io', version: 'v1' };

export interface ApiEnv {
  redis: TestRedis;
  api: ApiServer;
  kc: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  close(): Promise<void>;
}

/** The mesh's CRDs as shipped: manifests/crds.yaml. */
export const MESH_CRDS_FILE = new URL('../../../manifests/crds.yaml', import.meta.url);

interface Crd {
  metadata: { name: string };
  status?: { conditions?: Array<{ type: string; status: string }> };
  [k: string]: unknown;
}

export function meshCrds(): Crd[] {
  return parseAllDocuments(readFileSync(MESH_CRDS_FILE, 'utf8'))
    .map((d) => d.toJS() as Crd | null)
    .filter((d): d is Crd => !!d);
}

const CRDS_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/**
 * Installs the mesh's CRDs (manifests/crds.yaml) as a user does before anything creates
 * ambient.dev objects, and waits until each is Established. Already installed is fine.
 */
export async function installMeshCrds(kc: KubeConfig, timeoutMs = 10_000): Promise<void> {
  // Plain JSON, not client-node's typed CRD client: its serializer drops the schema's
  // `enum` and x-kubernetes-* keys of an object that is not one of its model classes.
  for (const crd of meshCrds()) {
    await kubeRequest(kc, 'POST', CRDS_PATH, crd).catch((e: unknown) => {
      if (!(e instanceof KubeRequestError && e.statusCode === 409)) throw e;
    });
  }
  for (const crd of meshCrds()) {
    await pollUntil(`CRD ${crd.metadata.name} to be Established`, async () => {
      const got = await kubeRequest<Crd>(kc, 'GET', `${CRDS_PATH}/${crd.metadata.name}`);
      return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') || undefined;
    }, timeoutMs);
  }
}

/** The local API server on a fresh Redis (keys under `prefix`), with the mesh's CRDs installed and `namespaces` created. */
export async function startApiEnv(prefix: string, namespaces: readonly string[]): Promise<ApiEnv> {
  const redis = await startRedis();
  const api = await startApiServer({ redisUrl: redis.url, prefix });
  const kc = kubeConfigForServer(api.url);
  await installMeshCrds(kc);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  for (const name of namespaces) {
    await core.createNamespace({ body: { metadata: { name } } }).catch((e: { code?: number }) => {
      if (e.code !== 409) throw e;
    });
  }
  return {
    redis,
    api,
    kc,
    core,
    custom,
    close: async () => {
      await api.close();
      await redis.stop();
    },
  };
}

/** A Running pod on node-1 with its IP, as the kubelet reports it. */
export async function createRunningPod(core: CoreV1Api, namespace: string, name: string, serviceAccount: string, ip: string): Promise<void> {
  await core.createNamespacedPod({ namespace, body: { metadata: { name }, spec: { nodeName: 'node-1', serviceAccountName: serviceAccount, containers: [{ name: 'c', image: 'busybox' }] } } });
  await core.patchNamespacedPodStatus({ namespace, name, body: { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } } }, MERGE);
}

/** A ServiceAccount token for the controller's audience, bound to a pod (what the pod's projected volume holds). */
export async function boundToken(core: CoreV1Api, namespace: string, serviceAccount: string, pod: string): Promise<string> {
  const tr = await core.createNamespacedServiceAccountToken({ namespace, name: serviceAccount, body: { spec: { audiences: [AUDIENCE], boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod } } } });
  return tr.status!.token;
}

/** A waypoint Gateway (class ambient-waypoint, the HBONE listener), with `listener` fields added to it. */
export async function createWaypointGateway(custom: CustomObjectsApi, namespace: string, name: string, listener: Record<string, unknown> = {}): Promise<void> {
  await custom.createNamespacedCustomObject({
    ...GATEWAY_API,
    plural: 'gateways',
    namespace,
    body: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name }, spec: { gatewayClassName: 'ambient-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE', ...listener }] } },
  });
}

/** The controller in-process on loopback, with short timings for tests (`extra` added). */
export function startTestController(kc: KubeConfig, extra: Partial<ControllerOptions> = {}): Promise<Controller> {
  return startController({
    kubeConfig: kc,
    trustDomain: TD,
    listen: { host: '127.0.0.1', port: 0 },
    metrics: { host: '127.0.0.1', port: 0 },
    audiences: [AUDIENCE],
    limits: { drainTimeoutMs: 1_000 },
    debounceMs: 20,
    ...extra,
  });
}

/** A config-stream client on node-1 with `token`: `held` is what it holds now, `everSeen` every kind it was sent. */
export function startConfigClient(controller: Controller, token: string) {
  const held = new Map<string, Resource>();
  const everSeen = new Set<string>();
  const updates: ConfigUpdate[] = [];
  const client = new ControllerClient({
    address: { host: '127.0.0.1', port: controller.address.port },
    trustBundle: controller.ca.trustBundle,
    controllerIdentity: 'ambient-controller.ambient-system.svc',
    token: () => token,
    node: 'node-1',
    onUpdate: (u) => {
      updates.push(u);
      if (u.full) held.clear();
      for (const r of u.removes) held.delete(`${r.kind}/${r.key}`);
      for (const r of u.upserts as Resource[]) {
        held.set(`${r.kind}/${r.key}`, r);
        everSeen.add(r.kind);
      }
    },
    limits: { reconnectMinMs: 50, reconnectMaxMs: 300, connectTimeoutMs: 3_000, requestTimeoutMs: 5_000 },
  });
  client.on('error', () => {});
  client.start();
  return { client, held, everSeen, updates };
}

/** Polls `cond` every 50 ms until it holds; fails naming `what` after `ms`. */
export async function waitForAsync(cond: () => Promise<boolean>, what: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls `fn` every 50 ms until it returns something other than undefined (an error counts
 * as not yet, and is named if time runs out); fails naming `what` after `ms`. */
export async function pollUntil<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
