// Builders of cluster objects for the translation tests: each returns the smallest object
// the API server would hold, with the fields a test names and sensible defaults.
import type { V1EndpointSlice, V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import type { MeshService, Resource, Workload } from '../../core/config/model.js';
import type { ClusterState, Gateway, PeerAuthentication, Problem, ReferenceGrantObject, RouteObject, TranslationResult } from './input.js';

export const TD = 'cluster.local';

export function namespace(name: string, labels: Record<string, string> = {}): V1Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

export interface PodOptions {
  ns?: string;
  uid?: string;
  ip?: string;
  ips?: string[];
  phase?: string;
  labels?: Record<string, string>;
  serviceAccountName?: string;
  node?: string;
  hostNetwork?: boolean;
  ready?: boolean;
  owner?: { kind: string; name: string; controller?: boolean };
  ports?: Array<{ name: string; containerPort: number; protocol?: string }>;
}

/** A stable address per pod, so that two builds of one cluster are equal. */
function addressFor(ns: string, name: string): string {
  let h = 0;
  for (const c of `${ns}/${name}`) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `10.244.${h % 250}.${(h >>> 8) % 250 + 1}`;
}

export function pod(name: string, o: PodOptions = {}): V1Pod {
  const ns = o.ns ?? 'default';
  const ips = o.ips ?? [o.ip ?? addressFor(ns, name)];
  const p: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, uid: o.uid ?? `uid-${ns}-${name}`, labels: o.labels ?? {} },
    spec: {
      nodeName: o.node ?? 'node1',
      containers: [{ name: 'app', image: 'app', ports: o.ports ?? [] }],
    },
    status: {
      phase: o.phase ?? 'Running',
      podIP: ips[0],
      podIPs: ips.map((ip) => ({ ip })),
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    },
  };
  if (o.serviceAccountName !== undefined) p.spec!.serviceAccountName = o.serviceAccountName;
  if (o.hostNetwork) p.spec!.hostNetwork = true;
  if (o.owner) p.metadata!.ownerReferences = [{ apiVersion: 'apps/v1', uid: `uid-${o.owner.name}`, controller: o.owner.controller ?? true, kind: o.owner.kind, name: o.owner.name }];
  return p;
}

export interface ServiceOptions {
  ns?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  type?: string;
  labels?: Record<string, string>;
  ports?: Array<{ name?: string; port: number; targetPort?: number | string; protocol?: string; appProtocol?: string }>;
}

export function service(name: string, o: ServiceOptions = {}): V1Service {
  const s: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: o.ns ?? 'default', labels: o.labels ?? {} },
    spec: { type: o.type ?? 'ClusterIP', clusterIP: o.clusterIP ?? '10.96.0.10', ports: (o.ports ?? [{ name: 'http', port: 80, targetPort: 8080 }]) as never },
  };
  if (o.clusterIPs) s.spec!.clusterIPs = o.clusterIPs;
  return s;
}

export function endpointSlice(
  serviceName: string,
  endpoints: Array<{ uid?: string; ip?: string; ready?: boolean }>,
  o: { ns?: string; name?: string; addressType?: string } = {},
): V1EndpointSlice {
  const ns = o.ns ?? 'default';
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    addressType: o.addressType ?? 'IPv4',
    metadata: { name: o.name ?? `${serviceName}-abcde`, namespace: ns, labels: { 'kubernetes.io/service-name': serviceName } },
    endpoints: endpoints.map((e) => {
      const out: V1EndpointSlice['endpoints'][number] = { addresses: [e.ip ?? '10.244.9.9'] };
      if (e.ready !== undefined) out.conditions = { ready: e.ready };
      if (e.uid !== undefined) out.targetRef = { kind: 'Pod', namespace: ns, name: 'p', uid: e.uid };
      return out;
    }),
  };
}

export function peerAuthentication(
  name: string,
  ns: string,
  mode: string | undefined,
  o: { selector?: Record<string, string>; created?: string | Date; portLevelMtls?: Record<string, { mode?: string }> } = {},
): PeerAuthentication {
  const pa: PeerAuthentication = {
    apiVersion: 'ambient.dev/v1',
    kind: 'PeerAuthentication',
    metadata: { name, namespace: ns, creationTimestamp: (o.created ?? '2024-01-01T00:00:00Z') as Date },
    spec: {},
  };
  if (mode !== undefined) pa.spec!.mtls = { mode };
  if (o.selector) pa.spec!.selector = { matchLabels: o.selector };
  if (o.portLevelMtls) pa.spec!.portLevelMtls = o.portLevelMtls;
  return pa;
}

export function waypointGateway(
  name: string,
  ns = 'default',
  o: { className?: string; waypointFor?: string; listeners?: Array<{ name?: string; port?: number; protocol?: string; allowedRoutes?: unknown }>; allowedNamespaces?: unknown } = {},
): Gateway {
  const labels: Record<string, string> = {};
  if (o.waypointFor !== undefined) labels['ambient.dev/waypoint-for'] = o.waypointFor;
  let listeners = o.listeners ?? [{ name: 'mesh', port: 15008, protocol: 'HBONE' }];
  // `allowedNamespaces`: the HBONE listener's allowedRoutes.namespaces (who may use the waypoint).
  if (o.allowedNamespaces !== undefined) listeners = listeners.map((l) => (l.protocol === 'HBONE' ? { ...l, allowedRoutes: { namespaces: o.allowedNamespaces } } : l));
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name, namespace: ns, labels },
    spec: { gatewayClassName: o.className ?? 'ambient-waypoint', listeners },
  };
}

export function cluster(parts: Partial<ClusterState> = {}): ClusterState {
  return {
    namespaces: parts.namespaces ?? [namespace('default')],
    pods: parts.pods ?? [],
    services: parts.services ?? [],
    endpointSlices: parts.endpointSlices ?? [],
    peerAuthentications: parts.peerAuthentications ?? [],
    ...(parts.gateways ? { gateways: parts.gateways } : {}),
    ...(parts.authorizationPolicies ? { authorizationPolicies: parts.authorizationPolicies } : {}),
    ...(parts.httpRoutes ? { httpRoutes: parts.httpRoutes } : {}),
    ...(parts.grpcRoutes ? { grpcRoutes: parts.grpcRoutes } : {}),
    ...(parts.referenceGrants ? { referenceGrants: parts.referenceGrants } : {}),
    ...(parts.requestAuthentications ? { requestAuthentications: parts.requestAuthentications } : {}),
  };
}

/** An HTTPRoute (or, with kind, a GRPCRoute) in `ns` with the given spec. */
export function route(name: string, spec: unknown, o: { ns?: string; kind?: 'HTTPRoute' | 'GRPCRoute'; created?: string; generation?: number } = {}): RouteObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: o.kind ?? 'HTTPRoute',
    metadata: { name, namespace: o.ns ?? 'default', creationTimestamp: (o.created ?? '2024-01-01T00:00:00Z') as unknown as Date, generation: o.generation ?? 1 },
    spec,
  };
}

/** A ReferenceGrant in `ns` letting `fromKind`s in `fromNs` refer to Services (all, or `name`). */
export function referenceGrant(name: string, ns: string, fromNs: string, o: { fromKind?: string; toName?: string } = {}): ReferenceGrantObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1beta1',
    kind: 'ReferenceGrant',
    metadata: { name, namespace: ns },
    spec: { from: [{ group: 'gateway.networking.k8s.io', kind: o.fromKind ?? 'HTTPRoute', namespace: fromNs }], to: [{ group: '', kind: 'Service', ...(o.toName ? { name: o.toName } : {}) }] },
  };
}

export function workloads(r: TranslationResult): Workload[] {
  return r.resources.filter((x): x is Resource<'Workload'> => x.kind === 'Workload').map((x) => x.body);
}

export function workloadNamed(r: TranslationResult, name: string, ns = 'default'): Workload | undefined {
  return workloads(r).find((w) => w.name === name && w.namespace === ns);
}

/** The workload of pod `name`; fails the test when there is none. */
export function mustWorkload(r: TranslationResult, name: string, ns = 'default'): Workload {
  const w = workloadNamed(r, name, ns);
  if (!w) throw new Error(`no Workload for pod ${ns}/${name}; problems: ${JSON.stringify(r.problems)}`);
  return w;
}

export function serviceNamed(r: TranslationResult, name: string, ns = 'default'): MeshService | undefined {
  return r.resources.filter((x): x is Resource<'Service'> => x.kind === 'Service').map((x) => x.body).find((s) => s.name === name && s.namespace === ns);
}

export function mustService(r: TranslationResult, name: string, ns = 'default'): MeshService {
  const s = serviceNamed(r, name, ns);
  if (!s) throw new Error(`no Service for ${ns}/${name}; problems: ${JSON.stringify(r.problems)}`);
  return s;
}

export function problemsOf(r: TranslationResult, kind: string, key: string): Problem[] {
  return r.problems.filter((p) => p.kind === kind && p.key === key);
}
