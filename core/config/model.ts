// The mesh's configuration model: what the controller computes from cluster objects and
// pushes to node agents and waypoints (DESIGN.md "Configuration model"). Six kinds of
// resource (Route, the compiled HTTPRoute/GRPCRoute, is defined in ./routes.ts and goes to
// waypoints only; so does RequestAuthn, the compiled RequestAuthentication of
// ./request-authn.ts, and TrafficPolicy, the compiled TrafficPolicy of ./traffic-policy.ts), each named by a stable key, each validated on its own so that one bad
// resource is rejected alone (core/config/validate.ts). Shaped after ztunnel's Workload,
// Service and Authorization resources, in JSON.
import type { RequestAuthn } from './request-authn.js';
import type { Route } from './routes.js';
import type { TrafficPolicy } from './traffic-policy.js';

/** How a workload's traffic is carried. */
export type TunnelProtocol = 'HBONE' | 'TCP';

export type MtlsMode = 'STRICT' | 'PERMISSIVE';

export interface WaypointRef {
  /** The waypoint Service's key (`<namespace>/<hostname>`), resolved to its VIPs by the
   * reader. The Service is named after the waypoint's Gateway, as Istio names it. */
  service: string;
  /** HBONE port on the waypoint: the Gateway's HBONE listener, normally 15008. */
  port: number;
}

export interface Workload {
  /** Pod uid: the resource key. */
  uid: string;
  name: string;
  namespace: string;
  serviceAccount: string;
  /** spiffe://<td>/ns/<ns>/sa/<sa>: the identity its certificates carry. */
  identity: string;
  node: string;
  /** Primary address first (status.podIPs order). */
  ips: string[];
  /** HBONE when the pod is enrolled in the mesh (captured by its node agent), else TCP. */
  protocol: TunnelProtocol;
  /** The pod shares its node's network namespace: its IPs are the node's, shared with the
   * node itself and every other host-network pod on it, so they must never be used to
   * identify a peer (an agent leaves them out of its IP -> workload index). Such a pod is
   * never enrolled. Absent means false. */
  hostNetwork?: boolean;
  /** Labels, for policy selectors and metrics (app, version). */
  labels: Record<string, string>;
  /** The workload's owner, for metrics: the Deployment name when there is one. */
  canonicalName: string;
  canonicalRevision: string;
  /** Traffic to this workload goes through this waypoint, when set. */
  waypoint?: WaypointRef;
  /** STRICT: only HBONE (mTLS) is accepted inbound; PERMISSIVE: plaintext too. */
  mtlsMode: MtlsMode;
  /** Port-level modes (PeerAuthentication portLevelMtls of the workload policy selecting
   * the pod), resolved: key = the workload's target (container) port as a decimal string;
   * holds only the ports whose mode differs from mtlsMode. Absent: every port has mtlsMode.
   * The mode of a port: `mtlsPorts?.[String(port)] ?? mtlsMode`. */
  mtlsPorts?: Record<string, MtlsMode>;
  /** Health as the cluster reports it (pod Ready). */
  healthy: boolean;
}

export interface ServicePort {
  name?: string;
  port: number;
  /** Port on the endpoints; 0 when named and resolved per endpoint (see Endpoint.ports). */
  targetPort: number;
  protocol: 'TCP' | 'UDP';
  /** appProtocol when set (http, http2, grpc, tcp), for waypoints. */
  appProtocol?: string;
}

export interface Endpoint {
  workloadUid: string;
  /** Named targetPorts resolved on this endpoint's pod: TCP service port (decimal string)
   * -> container port. Holds an entry only for TCP ports whose ServicePort.targetPort is 0;
   * when such a port has no entry the pod does not declare that port name, and this
   * endpoint does not serve that service port (Kubernetes' FindPort, and ztunnel's rule).
   * UDP ports are not resolved: no mesh component carries UDP. Use `endpointTargetPort`. */
  ports: Record<string, number>;
  /** EndpointSlice `conditions.ready` (absent counts as ready, as the API says). */
  healthy: boolean;
}

export interface MeshService {
  /** `<namespace>/<hostname>`: the resource key. */
  key: string;
  name: string;
  namespace: string;
  /** name.namespace.svc.<cluster domain> */
  hostname: string;
  /** Cluster IPs; empty for a headless Service. */
  vips: string[];
  ports: ServicePort[];
  /** Sorted by workloadUid; each references a Workload sent in the same version. */
  endpoints: Endpoint[];
  waypoint?: WaypointRef;
}

/** What an authorization policy does when one of its rules matches (Istio's actions;
 * CUSTOM is refused at compilation). AUDIT only records. */
export type PolicyAction = 'ALLOW' | 'DENY' | 'AUDIT';

/** A `targetRefs` entry (Istio's PolicyTargetReference), in the policy's own namespace. */
export interface PolicyTargetRef {
  /** '' for a core Service, 'gateway.networking.k8s.io' for a Gateway. */
  group: string;
  kind: 'Service' | 'Gateway';
  name: string;
}

/**
 * A compiled authorization policy (AuthorizationPolicy.ambient.dev/v1, Istio's
 * security.istio.io/v1 schema), evaluated by core/policy. Compiled by the controller
 * (core/policy/compile.ts), which has already validated every value: IPs and CIDRs are
 * canonical, ports are numbers, `when` keys are ones the engine knows.
 */
export interface Policy {
  /** `<namespace>/<name>`: the resource key. */
  key: string;
  name: string;
  namespace: string;
  /**
   * Which workloads it applies to:
   *  - 'global': a policy in the root namespace: workloads of every namespace;
   *  - 'namespace': workloads of its own namespace;
   *    both narrowed by `selector` when present (Istio: "If the authorization policy is in
   *    the root namespace, the selector will additionally match with pods in all namespaces");
   *  - 'targets': attached with `targetRefs`; enforced by the waypoints of those targets,
   *    never by a node agent.
   */
  scope: 'global' | 'namespace' | 'targets';
  /** matchLabels; absent: every workload in scope. Never set with scope 'targets'. */
  selector?: Record<string, string>;
  /** Set exactly when scope is 'targets'. */
  targetRefs?: PolicyTargetRef[];
  action: PolicyAction;
  /** Annotation ambient.dev/dry-run: "true": evaluated and recorded, never enforced. */
  dryRun?: boolean;
  /** Set when the object could not be compiled (why, naming field and value): this resource
   * is its fail-closed stand-in, with the object's own scope and action and no rules of its
   * own (DENY: deny everything it selects; ALLOW: allow nothing). */
  rejected?: string;
  rules: PolicyRule[];
}

/** `rules[].from[].source`; every field optional. Values keep Istio's matching forms
 * (exact, `prefix*`, `*suffix`, `*`), IP blocks are canonical CIDRs. */
export interface PolicySource {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  serviceAccounts?: string[];
  notServiceAccounts?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
}

/** `rules[].to[].operation`; every field optional. */
export interface PolicyOperation {
  hosts?: string[];
  notHosts?: string[];
  ports?: number[];
  notPorts?: number[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}

/** `rules[].when[]`. */
export interface PolicyCondition {
  key: string;
  values?: string[];
  notValues?: string[];
}

/** One rule; `from[i]` is the spec's `from[i].source`, `to[i]` its `to[i].operation`
 * (indexes kept, so that messages name the spec's own paths). */
export interface PolicyRule {
  from: PolicySource[];
  to: PolicyOperation[];
  when: PolicyCondition[];
}

export type ResourceKind = 'Workload' | 'Service' | 'Policy' | 'Route' | 'RequestAuthn' | 'TrafficPolicy';

/** Every kind, in the order resources are listed: a Service's endpoints and a Workload's
 * waypoint refer to resources listed before or beside them, never to a later kind (a
 * Route's parents and backends are Services, listed before it). */
export const RESOURCE_KINDS: readonly ResourceKind[] = Object.freeze(['Workload', 'Service', 'Policy', 'Route', 'RequestAuthn', 'TrafficPolicy']);

/** The kinds a node agent is sent: Routes, RequestAuthns (compiled RequestAuthentications)
 * and TrafficPolicies (./traffic-policy.ts) are for waypoints only (node agents never route
 * by HTTP, see a JWT, nor balance or retry requests). */
export function isNodeAgentKind(kind: ResourceKind): boolean {
  return kind !== 'Route' && kind !== 'RequestAuthn' && kind !== 'TrafficPolicy';
}

export type ResourceBody<K extends ResourceKind> = K extends 'Workload' ? Workload : K extends 'Service' ? MeshService : K extends 'Route' ? Route : K extends 'RequestAuthn' ? RequestAuthn : K extends 'TrafficPolicy' ? TrafficPolicy : Policy;

/** One resource on the wire: its kind, key and body. */
export interface Resource<K extends ResourceKind = ResourceKind> {
  kind: K;
  key: string;
  body: ResourceBody<K>;
}

export function resourceKey(kind: ResourceKind, body: Workload | MeshService | Policy | Route | RequestAuthn | TrafficPolicy): string {
  return kind === 'Workload' ? (body as Workload).uid : (body as MeshService | Policy | Route | RequestAuthn | TrafficPolicy).key;
}

/** A resource's identity across kinds (`Workload/<uid>`, `Service/<ns>/<host>`): keys of
 * different kinds may coincide, kind names hold no '/'. */
export function resourceId(kind: ResourceKind, key: string): string {
  return `${kind}/${key}`;
}

/** Total order of resources: by kind (RESOURCE_KINDS order), then key by UTF-16 code
 * units (never localeCompare: the order must not depend on the process's locale). */
export function compareResources(a: { kind: ResourceKind; key: string }, b: { kind: ResourceKind; key: string }): number {
  const k = RESOURCE_KINDS.indexOf(a.kind) - RESOURCE_KINDS.indexOf(b.kind);
  if (k !== 0) return k;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** The port on `endpoint` that traffic for `port` goes to; undefined when this endpoint
 * does not serve it (a named targetPort its pod does not declare). */
export function endpointTargetPort(port: ServicePort, endpoint: Endpoint): number | undefined {
  if (port.targetPort !== 0) return port.targetPort;
  if (port.protocol !== 'TCP') return undefined;
  return Object.hasOwn(endpoint.ports, String(port.port)) ? endpoint.ports[String(port.port)] : undefined;
}
