// The local cluster's controller manager: the Deployment, scheduler, EndpointSlice and
// ServiceAccount controllers, level-triggered. Any change schedules one reconcile pass
// over the caches; each controller's decision is a pure planner, this file only applies
// the plans through the API server, as kube-controller-manager does.
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
  type V1DaemonSet,
  type V1Deployment,
  type V1EndpointSlice,
  type V1Namespace,
  type V1Node,
  type V1Pod,
  type V1Service,
  type V1ServiceAccount,
} from '@kubernetes/client-node';
import { watchResource, type Watched } from '../../core/kube/informer.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { planDaemonSet } from './daemonsets.js';
import { planDeployment } from './deployments.js';
import { planEndpointSlice, sameSlice, MANAGED_BY, MANAGED_BY_LABEL } from './endpointslices.js';
import { nodeLoad, pickNode } from './scheduler.js';

const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface ControllerManager {
  synced: Promise<void>;
  /** Runs one reconcile pass now (tests). */
  reconcile(): Promise<void>;
  stop(): Promise<void>;
}

function isNodeReady(n: V1Node): boolean {
  return (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function ownedBy(p: V1Pod, uid: string | undefined): boolean {
  return !!uid && (p.metadata?.ownerReferences ?? []).some((o) => o.uid === uid);
}

export function startControllers(kc: KubeConfig, logger: Logger = silentLogger): ControllerManager {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const onChange = () => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void kick(), 30);
  };
  const watch = <T extends KubernetesObject>(apiVersion: string, kind: string, plural: string): Watched<T> =>
    watchResource<T>(kc, { apiVersion, kind, plural }, { onChange, logger });
  const pods = watch<V1Pod>('v1', 'Pod', 'pods');
  const deployments = watch<V1Deployment>('apps/v1', 'Deployment', 'deployments');
  const daemonSets = watch<V1DaemonSet>('apps/v1', 'DaemonSet', 'daemonsets');
  const services = watch<V1Service>('v1', 'Service', 'services');
  const slices = watch<V1EndpointSlice>('discovery.k8s.io/v1', 'EndpointSlice', 'endpointslices');
  const nodes = watch<V1Node>('v1', 'Node', 'nodes');
  const namespaces = watch<V1Namespace>('v1', 'Namespace', 'namespaces');
  const serviceAccounts = watch<V1ServiceAccount>('v1', 'ServiceAccount', 'serviceaccounts');
  const all = [pods, deployments, daemonSets, services, slices, nodes, namespaces, serviceAccounts];
  const synced = Promise.all(all.map((w) => w.synced)).then(() => undefined);

  // One pass at a time; a change during a pass asks for one more.
  async function kick(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await reconcile();
        } catch (err) {
          logger.warn({ err: (err as Error).message }, 'reconcile failed; retrying');
          setTimeout(onChange, 1000).unref();
        }
      } while (again && !stopped);
    })();
    try {
      await running;
    } finally {
      running = undefined;
    }
  }

  async function attempt(what: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code === 404 || code === 409) return; // someone else got there first; the next pass sees it
      logger.warn({ err: (err as Error).message, what }, 'controller write failed');
    }
  }

  async function reconcile(): Promise<void> {
    await synced;
    const readyNodes = nodes.list().filter(isNodeReady).map((n) => n.metadata!.name!);
    const allPods = pods.list();
    const load = nodeLoad(allPods);

    // ServiceAccounts: every namespace has "default".
    for (const ns of namespaces.list()) {
      const name = ns.metadata!.name!;
      if (ns.status?.phase === 'Terminating' || serviceAccounts.get('default', name)) continue;
      await attempt(`serviceaccount ${name}/default`, () =>
        objects.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: name } }),
      );
    }

    // Scheduler: bare pods get a node.
    for (const p of allPods) {
      if (p.spec?.nodeName || p.metadata?.deletionTimestamp) continue;
      const node = pickNode(readyNodes, load);
      if (!node) break;
      load.set(node, (load.get(node) ?? 0) + 1);
      await attempt(`bind ${p.metadata!.namespace}/${p.metadata!.name}`, () =>
        core.patchNamespacedPod({ name: p.metadata!.name!, namespace: p.metadata!.namespace!, body: { spec: { nodeName: node } } }, MERGE),
      );
    }

    // Deployments.
    for (const d of deployments.list()) {
      const owned = allPods.filter((p) => ownedBy(p, d.metadata?.uid));
      const plan = planDeployment(d, owned, readyNodes, load);
      for (const pod of plan.create) await attempt(`create pod for ${d.metadata!.name}`, () => objects.create(pod));
      for (const name of plan.delete) {
        await attempt(`delete pod ${name}`, () => objects.delete({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: d.metadata!.namespace! } }));
      }
      const cur = d.status ?? {};
      const s = plan.status;
      if (cur.replicas !== s.replicas || cur.readyReplicas !== s.readyReplicas || cur.updatedReplicas !== s.updatedReplicas || cur.observedGeneration !== s.observedGeneration) {
        await attempt(`status of deployment ${d.metadata!.name}`, () =>
          apps.patchNamespacedDeploymentStatus({ name: d.metadata!.name!, namespace: d.metadata!.namespace!, body: { status: s } }, MERGE),
        );
      }
    }

    // DaemonSets: one pod per ready node.
    for (const ds of daemonSets.list()) {
      const plan = planDaemonSet(ds, allPods.filter((p) => ownedBy(p, ds.metadata?.uid)), readyNodes);
      for (const pod of plan.create) await attempt(`create pod for daemonset ${ds.metadata!.name}`, () => objects.create(pod));
      for (const name of plan.delete) {
        await attempt(`delete pod ${name}`, () => objects.delete({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ds.metadata!.namespace! } }));
      }
      if (JSON.stringify(ds.status ?? {}) !== JSON.stringify({ ...(ds.status ?? {}), ...plan.status })) {
        await attempt(`status of daemonset ${ds.metadata!.name}`, () =>
          apps.patchNamespacedDaemonSetStatus({ name: ds.metadata!.name!, namespace: ds.metadata!.namespace!, body: { status: plan.status } }, MERGE),
        );
      }
    }

    // EndpointSlices.
    for (const svc of services.list()) {
      const want = planEndpointSlice(svc, allPods);
      if (!want) continue;
      const have = slices.get(want.metadata!.name!, want.metadata!.namespace!);
      if (sameSlice(have, want)) continue;
      if (have) {
        await attempt(`update endpointslice ${want.metadata!.name}`, () =>
          objects.replace({ ...want, metadata: { ...want.metadata, resourceVersion: have.metadata!.resourceVersion! } }),
        );
      } else {
        await attempt(`create endpointslice ${want.metadata!.name}`, () => objects.create(want));
      }
    }
    for (const s of slices.list()) {
      if (s.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) continue;
      if (!services.get(s.metadata.name!, s.metadata.namespace)) {
        await attempt(`delete endpointslice ${s.metadata.name}`, () => objects.delete(s));
      }
    }
  }

  onChange();
  return {
    synced,
    reconcile: () => kick(),
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await Promise.all(all.map((w) => w.stop()));
      await running;
    },
  };
}
