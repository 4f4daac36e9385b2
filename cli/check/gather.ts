// The facts `ambientctl check` decides on, read from the API server of the current cluster
// (the kubeconfig's, or the local cluster's: cli/context.ts) and from the controller's API
// (cli/api-client.ts). Thin: every request's answer, or its error, becomes a Fact; the
// decisions are in pre-checks.ts, installed-checks.ts and leftover-checks.ts.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Certificates, MeshStatus } from '../../console/api-types.js';
import { KubeRequestError, kubeRequest } from '../../core/kube/rest.js';
import type { ApiClient } from '../api-client.js';
import { withTimeout } from '../controller-link.js';
import { AGENT_DAEMONSET, CONTROLLER_DEPLOYMENT, MESH_GROUP, meshNamespace, WAYPOINT_GATEWAY_CLASS, known, nodeOs, unknown, type AccessAnswer, type Fact, type InstallKind, type KubeObject, type NodeFact, type ServerVersion } from './facts.js';
import type { InstalledFacts } from './installed-checks.js';
import { isMeshClusterObject, type LeftoverFacts } from './leftover-checks.js';
import { INSTALL_VERBS, type PreFacts, type Reachability } from './pre-checks.js';
import { readInstallObjects, type InstallObjects } from './install-objects.js';
import { meshesElsewhere } from '../install/cluster-ops.js';

export const GATHER_LIMITS = {
  /** Each request to the API server or the controller's API. */
  requestTimeoutMs: 10_000,
} as const;

interface Item {
  metadata?: { name?: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

const errorText = (err: unknown): string => (err as Error).message ?? String(err);

async function fact<T>(what: string, p: () => Promise<T>): Promise<Fact<T>> {
  try {
    return known(await withTimeout(p(), GATHER_LIMITS.requestTimeoutMs, what));
  } catch (err) {
    return unknown(errorText(err));
  }
}

const get = <T>(kc: KubeConfig, path: string) => kubeRequest<T>(kc, 'GET', path);

/** The object at `path`, or null when the API server says it does not exist. */
async function getOrNull<T>(kc: KubeConfig, path: string): Promise<T | null> {
  try {
    return await get<T>(kc, path);
  } catch (err) {
    if (err instanceof KubeRequestError && err.statusCode === 404) return null;
    throw err;
  }
}

type DiscoveryResource = { name: string; kind: string; namespaced: boolean };
const gvPath = (gv: string) => (gv.includes('/') ? `/apis/${gv}` : `/api/${gv}`);

/** Discovery of each group-version (its main resources, no subresources); one not served is absent. */
async function discover(kc: KubeConfig, gvs: string[]): Promise<Record<string, DiscoveryResource[]>> {
  const out: Record<string, DiscoveryResource[]> = {};
  await Promise.all(
    [...new Set(gvs)].map(async (gv) => {
      const list = await getOrNull<{ resources?: DiscoveryResource[] }>(kc, gvPath(gv));
      if (list) out[gv] = (list.resources ?? []).filter((r) => !r.name.includes('/'));
    }),
  );
  return out;
}

/** What install would create, with the plural discovery gives (lower-case kind + s when its group is not served). */
function installKinds(objects: InstallObjects, served: Record<string, DiscoveryResource[]>): InstallKind[] {
  return objects.kinds.map(({ apiVersion, kind }) => {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') as [string, string] : ['', apiVersion];
    const r = served[apiVersion]?.find((x) => x.kind === kind);
    return { group, version, kind, resource: r?.name ?? `${kind.toLowerCase()}s`, namespaced: r?.namespaced ?? !['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'].includes(kind) };
  });
}

async function selfReview(kc: KubeConfig, verb: string, k: InstallKind, namespace: string | undefined): Promise<{ allowed: boolean; reason?: string }> {
  const answer = await kubeRequest<{ status?: { allowed?: boolean; reason?: string } }>(kc, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: { resourceAttributes: { verb, group: k.group, resource: k.resource, ...(namespace !== undefined && { namespace }) } },
  });
  return { allowed: answer.status?.allowed === true, ...(answer.status?.reason && { reason: answer.status.reason }) };
}

const items = (list: { items?: KubeObject[] } | null): KubeObject[] => list?.items ?? [];
const nodeFacts = (nodes: KubeObject[]): NodeFact[] => nodes.map((n) => ({ name: n.metadata?.name ?? '', os: nodeOs(n) }));

/** The CRDs of the mesh's group. */
async function meshCrds(kc: KubeConfig): Promise<KubeObject[]> {
  return items(await get(kc, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions')).filter((c) => c.spec?.group === MESH_GROUP);
}

/** The API server's address and version (GET /version, open to every user). */
export async function gatherReachability(kc: KubeConfig): Promise<Reachability> {
  const server = kc.getCurrentCluster()?.server ?? '(no server in the kubeconfig)';
  return { server, version: await fact('GET /version', () => get<ServerVersion>(kc, '/version')) };
}

export async function gatherPre(kc: KubeConfig, reach: Reachability, objects?: InstallObjects): Promise<PreFacts> {
  const user = kc.getCurrentUser()?.name ?? '';
  objects ??= await readInstallObjects();
  const base = { ...reach, user, installKinds: objects.kinds };
  if (!reach.version.ok) {
    const skipped = unknown('the API server is not reachable');
    return { ...base, served: skipped, access: [], nodes: skipped, existing: skipped };
  }
  const gvs = ['apiextensions.k8s.io/v1', 'gateway.networking.k8s.io/v1', ...objects.kinds.map((k) => k.apiVersion)];
  const discovered = await fact('discovery', () => discover(kc, gvs));
  const served = discovered.ok ? known(Object.fromEntries(Object.entries(discovered.value).map(([gv, rs]) => [gv, rs.map((r) => r.name)]))) : discovered;
  const kinds = installKinds(objects, discovered.ok ? discovered.value : {});
  const access: AccessAnswer[] = await Promise.all(
    kinds.flatMap((k) =>
      INSTALL_VERBS.map(async (verb) => {
        const namespace = k.namespaced ? meshNamespace() : undefined;
        return { verb, kind: k, ...(namespace !== undefined && { namespace }), answer: await fact(`SelfSubjectAccessReview ${verb} ${k.resource}`, () => selfReview(kc, verb, k, namespace)) };
      }),
    ),
  );
  const nodes = await fact('listing the nodes', async () => nodeFacts(items(await get(kc, '/api/v1/nodes'))));
  const crdsServed = discovered.ok && (discovered.value['apiextensions.k8s.io/v1'] ?? []).some((r) => r.name === 'customresourcedefinitions');
  const existing = await fact('looking for an installed mesh', async () => ({
    namespace: (await getOrNull(kc, `/api/v1/namespaces/${meshNamespace()}`)) !== null,
    controller: (await getOrNull(kc, `/apis/apps/v1/namespaces/${meshNamespace()}/deployments/${CONTROLLER_DEPLOYMENT}`)) !== null,
    agents: (await getOrNull(kc, `/apis/apps/v1/namespaces/${meshNamespace()}/daemonsets/${AGENT_DAEMONSET}`)) !== null,
    crds: crdsServed ? (await meshCrds(kc)).map((c) => c.metadata?.name as string).sort() : [],
  }));
  return { ...base, served, access, nodes, existing };
}

const podsOf = (app: string) => `/api/v1/namespaces/${meshNamespace()}/pods?labelSelector=${encodeURIComponent(`app=${app}`)}`;

/** Whether the mesh is there: its controller Deployment and node-agent DaemonSet (null when absent). */
export async function gatherPresence(kc: KubeConfig): Promise<Pick<InstalledFacts, 'controller' | 'agents'>> {
  const [controller, agents] = await Promise.all([
    fact('reading the controller Deployment', () => getOrNull<KubeObject>(kc, `/apis/apps/v1/namespaces/${meshNamespace()}/deployments/${CONTROLLER_DEPLOYMENT}`)),
    fact('reading the node-agent DaemonSet', () => getOrNull<KubeObject>(kc, `/apis/apps/v1/namespaces/${meshNamespace()}/daemonsets/${AGENT_DAEMONSET}`)),
  ]);
  return { controller, agents };
}

/** The installed mesh's facts; `api` opens the controller's API (its failure is the API facts' error). */
export async function gatherInstalled(kc: KubeConfig, presence: Pick<InstalledFacts, 'controller' | 'agents'>, api: () => Promise<ApiClient>, objects?: InstallObjects): Promise<InstalledFacts> {
  objects ??= await readInstallObjects();
  const [crds, controllerPods, agentPods, nodes] = await Promise.all([
    fact('listing the CRDs', () => meshCrds(kc)),
    fact('listing the controller pods', async () => items(await get(kc, podsOf(CONTROLLER_DEPLOYMENT)))),
    fact('listing the agent pods', async () => items(await get(kc, podsOf(AGENT_DAEMONSET)))),
    fact('listing the nodes', async () => items(await get(kc, '/api/v1/nodes'))),
  ]);
  let client: Fact<ApiClient>;
  try {
    client = known(await api());
  } catch (err) {
    client = unknown(errorText(err));
  }
  const ask = <T>(path: string): Promise<Fact<T>> => (client.ok ? fact(`GET /api/v1${path}`, () => client.value.get<T>(path)) : Promise.resolve(unknown(client.error)));
  const [status, certificates] = await Promise.all([ask<MeshStatus>('/status'), ask<Certificates>('/certificates')]);
  return { expectedCrds: objects.crds, crds, ...presence, controllerPods, agentPods, nodes, status, certificates, now: Date.now() };
}

export async function gatherLeftovers(kc: KubeConfig): Promise<LeftoverFacts> {
  const names = (list: { items?: Item[] }) => (list.items ?? []).map((i) => i.metadata?.name ?? '');
  const [namespace, crds, clusterRoles, clusterRoleBindings, agentPods, gatewayClass, elsewhere] = await Promise.all([
    fact(`reading namespace ${meshNamespace()}`, async () => {
      const ns = await getOrNull<Item>(kc, `/api/v1/namespaces/${meshNamespace()}`);
      return { exists: ns !== null, terminating: !!ns?.metadata?.deletionTimestamp || ns?.status?.['phase'] === 'Terminating' };
    }),
    fact('listing the CRDs', async () => {
      // A cluster that serves no CRDs has none left.
      const served = await getOrNull(kc, '/apis/apiextensions.k8s.io/v1');
      return served ? (await meshCrds(kc)).map((c) => c.metadata?.name as string).sort() : [];
    }),
    fact('listing ClusterRoles', async () => names((await getOrNull<{ items?: Item[] }>(kc, '/apis/rbac.authorization.k8s.io/v1/clusterroles')) ?? {}).filter(isMeshClusterObject).sort()),
    fact('listing ClusterRoleBindings', async () => names((await getOrNull<{ items?: Item[] }>(kc, '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings')) ?? {}).filter(isMeshClusterObject).sort()),
    fact('listing the agent pods', async () => items(await get(kc, podsOf(AGENT_DAEMONSET))).map((p) => ({ name: p.metadata?.name ?? '', node: p.spec?.nodeName ?? '' }))),
    fact(`reading GatewayClass ${WAYPOINT_GATEWAY_CLASS}`, async () => {
      const served = await getOrNull(kc, '/apis/gateway.networking.k8s.io/v1');
      return served ? (await getOrNull(kc, `/apis/gateway.networking.k8s.io/v1/gatewayclasses/${WAYPOINT_GATEWAY_CLASS}`)) !== null : false;
    }),
    fact(`looking for ${CONTROLLER_DEPLOYMENT} in other namespaces`, () => meshesElsewhere(kc, meshNamespace())),
  ]);
  return { namespace, crds, clusterRoles, clusterRoleBindings, agentPods, gatewayClass, elsewhere };
}
