// The JSON the console reads from and sends to the controller's API (/api/v1, the routes of
// the API contract). Types only (a .d.ts, so the server build and the tests can import it
// with `import type` and nothing is emitted): the console's client (console/api.ts), the
// fixture API of the front-end tests (test/support/browser-fixture-api.ts) and the server
// agree on these shapes. Lists are `{ items: [...] }`; times are RFC 3339 strings.

/** Every error: `{"error": {"code": "AMB_...", "message": "..."}}` with the HTTP status. */
export interface ApiErrorBody {
  error: { code: string; message: string };
}

/** A Kubernetes status condition as the object's status holds it. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime?: string;
}

export interface List<T> extends PartialAnswer {
  items: T[];
}

/** Set when a controller replica did not answer its peer in time: the answer holds the
 * other replicas' parts (GET /status, /graph, /flows answer for every replica). */
export interface PartialAnswer {
  partial?: true;
  /** The replicas missing from the answer, and why. */
  unanswered?: Array<{ replica: string; reason: string }>;
}

/** GET /status */
export interface MeshStatus extends PartialAnswer {
  controller: {
    /** `name` of the leader replica; null while none holds the lease. */
    leader: string | null;
    replicas: Array<{ name: string; node: string; ready: boolean; leader: boolean; version: string }>;
  };
  /** The config version the answering replica distributes now (each replica numbers its own:
   * an agent's ACK is compared with its row's `controllerVersion`). */
  configVersion: string;
  agents: Array<{
    node: string;
    connected: boolean;
    /** The last config version the agent acknowledged; null before its first ACK. */
    ackedVersion: string | null;
    /** The config version of the replica the agent streams from (its ACK is up to date when equal). */
    controllerVersion?: string;
    nacks: Array<{ version: string; message: string }>;
    problems: string[];
    /** The agent's identity on its config stream. */
    identity?: string;
    /** Its stream is served (false while the controller has no config yet). */
    synced?: boolean;
    /** The resources it refused and still holds at another version (or not at all). */
    rejected?: RejectedResource[];
    /** The workloads on its node that are in the mesh (HBONE), by the controller's config. */
    enrolled?: number;
  }>;
  waypoints: Waypoint[];
  /** The waypoints' own config streams to this replica (a waypoint pod each). */
  waypointStreams?: ConfigStream[];
  problems: string[];
}

/** A resource a config client refused (NACKed) at a version. */
export interface RejectedResource {
  kind: string;
  key: string;
  version: string;
  error: string;
}

/** A config stream that is not a node agent's (a waypoint pod's). */
export interface ConfigStream {
  identity: string;
  node: string;
  ackedVersion: string | null;
  synced: boolean;
  rejected: RejectedResource[];
}

/** GET /waypoints (items) and in /status. */
export interface Waypoint {
  namespace: string;
  name: string;
  /** `waypoint.shop.svc.cluster.local:15008` */
  address: string | null;
  ready: boolean;
  replicas: number;
  conditions: Condition[];
  /** `namespace/name` of the Services it serves. */
  services: string[];
}

/** GET /workloads (items) */
export interface Workload {
  namespace: string;
  name: string;
  /** `spiffe://cluster.local/ns/<ns>/sa/<sa>` */
  identity: string;
  node: string;
  ips: string[];
  /** In the mesh (ambient capture on). */
  enrolled: boolean;
  /** `namespace/name` of its waypoint, null when none. */
  waypoint: string | null;
  labels: Record<string, string>;
  /** `HBONE` (in the mesh) or `TCP`. */
  protocol?: string;
  /** `STRICT`, `PERMISSIVE`, ... */
  mtlsMode?: string;
}

/** A policy that selects a workload, with its status. */
export interface PolicyRef {
  namespace: string;
  name: string;
  kind: string;
  conditions: Condition[];
}

/** GET /workloads/{namespace}/{name} */
export interface WorkloadDetail extends Workload {
  /** The certificate its node's agent holds for its identity, as the agent last reported it; null when none is reported. */
  certificate: { serial: string; notBefore: string; notAfter: string; issuer: string | null; reportedAt: string } | null;
  policies: PolicyRef[];
  inbound: GraphEdge[];
  outbound: GraphEdge[];
}

export interface ServicePort {
  name: string | null;
  port: number;
  targetPort: number | null;
  protocol: string;
  /** `http`, `grpc`, `tcp`: how the mesh treats it. */
  appProtocol: string | null;
}

/** GET /services (items) */
export interface Service {
  namespace: string;
  name: string;
  vips: string[];
  ports: ServicePort[];
  /** The number of endpoints. */
  endpoints: number;
  waypoint: string | null;
  /** `echo.shop.svc.cluster.local` */
  hostname?: string;
  /** The endpoints the data plane counts as healthy (its config; L7 health is `health`'s). */
  healthyEndpoints?: number;
  /** With `?health=true`: its endpoints as its waypoint's pods see them. */
  health?: ServiceHealth;
}

/** One endpoint of a Service port as one waypoint pod balances it (its /debug/endpoints). */
export interface WaypointEndpointState {
  /** `ip:port` */
  address: string;
  workload?: string;
  node?: string;
  locality: string;
  health: 'healthy' | 'warming' | 'ejected';
  inRotation: boolean;
  activeRequests: number;
  ejection?: { count: number; remainingMs: number; reason?: string };
  warming?: { sharePercent: number; remainingMs: number };
}

/** One Service port as one waypoint pod balances it. */
export interface WaypointTargetState {
  service: string;
  port: number;
  trafficPolicy: string | null;
  algorithm: string;
  panic: boolean;
  endpoints: WaypointEndpointState[];
  endpointsLeftOut?: number;
}

/**
 * A Service's endpoints as its waypoint's pods see them. `none`: no waypoint (the node
 * agents do no L7 health); `unknown`: no waypoint pod told (`reason`); `known`: counted per
 * endpoint address, each in its worst state in any pod and on any port.
 */
export type ServiceHealth =
  | { state: 'none' }
  | { state: 'unknown'; reason: string }
  | {
      state: 'known';
      total: number;
      /** Not ejected (warming ones included). */
      healthy: number;
      ejected: number;
      warming: number;
      /** Some pod sends to every endpoint, ejected or not (minHealthPercent). */
      panic: boolean;
      /** Waypoint pods that answered, and asked. */
      pods: number;
      podsAsked: number;
      /** The pods that did not answer (with why), and other caveats. */
      unreachable: string[];
      waypointPods: Array<{ pod: string; targets: WaypointTargetState[] }>;
    };

export interface Endpoint {
  /** `namespace/name` of the workload. */
  workload: string;
  ip: string;
  port: number;
  node: string;
  health: 'healthy' | 'unhealthy' | 'unknown';
  /** Ejected by outlier detection (at its waypoint). */
  ejected: boolean;
  /** When the ejection ends; null when not ejected. */
  ejectedUntil: string | null;
  /** Why the health is `unknown` (no waypoint serves the Service, its /debug/endpoints failed, ...). */
  healthReason?: string;
}

export interface RouteBackend {
  /** The backend Service's name (in the route's namespace unless `namespace` says otherwise). */
  name: string;
  namespace: string;
  port: number | null;
  weight: number;
  /** The share of requests this backend received in the telemetry window, 0..1; null without traffic. */
  liveShare: number | null;
  /** The requests (connections on L4 routes) it received in the window; null when not measured (GET /routes). */
  liveRequests?: number | null;
}

export interface RouteRule {
  /** The matches as one line: `PathPrefix /api, header x-canary=1`; empty for every request. */
  matches: string;
  backends: RouteBackend[];
}

export interface ServiceRoute {
  namespace: string;
  name: string;
  kind: 'HTTPRoute' | 'GRPCRoute' | 'TCPRoute' | 'TLSRoute';
  rules: RouteRule[];
  conditions: Condition[];
}

/** GET /rollouts (items) and in a service; the Rollout object as the API server holds it. */
export interface Rollout {
  metadata: { namespace: string; name: string; generation?: number };
  spec: {
    service: string;
    stable: string;
    canary: string;
    steps?: number[];
    interval?: string;
    paused?: boolean;
    abort?: boolean;
    gates?: { minSuccessRate?: number; maxP99Latency?: string; minRequests?: number };
  };
  status?: {
    phase?: string;
    step?: number;
    canaryWeight?: number;
    message?: string;
    stepStartedAt?: string;
    observedGeneration?: number;
    failedGate?: { gate: string; measured: number; threshold: number } | null;
  };
}

/** GET /services/{namespace}/{name} */
export interface ServiceDetail extends Omit<Service, 'endpoints'> {
  endpoints: Endpoint[];
  routes: ServiceRoute[];
  rollouts: Rollout[];
  /** Why `rollouts` could not be listed (the Kubernetes API's answer); absent when they were. */
  rolloutsError?: string;
}

/** PUT /services/{namespace}/{name}/split body. */
export type SplitRequest = { weights: Record<string, number> } | { to: string };

/** The HTTPRoute a split wrote (answer of PUT .../split), as the API server holds it. */
export interface HttpRouteObject {
  apiVersion: string;
  kind: 'HTTPRoute';
  metadata: { namespace: string; name: string; resourceVersion?: string; generation?: number };
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}

/** GET /routes (items) */
export type Route = ServiceRoute;

/** GET /policies (items) */
export interface Policy {
  namespace: string;
  name: string;
  /** AuthorizationPolicy, PeerAuthentication, RequestAuthentication, TrafficPolicy, ... */
  kind: string;
  /** ALLOW, DENY, AUDIT, CUSTOM; null for kinds without one. */
  action: string | null;
  dryRun: boolean;
  conditions: Condition[];
  /** What the dry-run policy would have denied, one sentence each. */
  findings: string[];
  /** AuthorizationPolicy with a selector (or none): the workloads (`namespace/name`) it selects. */
  selects?: string[];
  /** AuthorizationPolicy with targetRefs (`Service/web`): enforced by those targets' waypoints. */
  targets?: string[];
}

/** A certificate's summary (fingerprint: SHA-256, colon-separated hex). */
export interface CertificateSummary {
  subject: string;
  fingerprint: string;
  notBefore: string;
  notAfter: string;
}

/** GET /certificates */
export interface Certificates extends PartialAnswer {
  roots: CertificateSummary[];
  /** The CA's signing certificate and the controller's serving certificate (absent in older answers). */
  signing?: CertificateSummary;
  serving?: CertificateSummary;
  /** The certificates the data plane holds, as node agents and waypoints last reported them. */
  workloads: HeldCertificate[];
}

/** A workload certificate a node agent holds for a pod's identity, or a waypoint's own. */
export interface HeldCertificate {
  kind: 'workload' | 'waypoint';
  /** SPIFFE ID. */
  identity: string;
  namespace: string;
  /** The workload's canonical name, or the waypoint's Gateway name. */
  workload: string;
  /** The pod; null for a waypoint (reported per node, not per pod). */
  pod: string | null;
  node: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  /** SHA-256 fingerprint of the CA certificate that issued it (compare with signing and roots); null when the holder could not tell. */
  issuer: string | null;
  /** When its holder last listed it. */
  reportedAt: string;
}

/** A node of the traffic graph: a workload or a service. */
export interface GraphNode {
  /** `workload:<ns>/<name>` or `service:<ns>/<name>`; `unknown` (a peer outside the mesh) and `other` (overflow) too. */
  id: string;
  kind: 'workload' | 'service';
  namespace: string;
  name: string;
  health: 'healthy' | 'degraded' | 'failing' | 'idle';
}

/** An edge of the traffic graph over the window. */
export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  /** The source's identity. */
  sourceIdentity: string;
  port: number;
  protocol: 'tcp' | 'http' | 'grpc';
  /** Carried over HBONE with mutual TLS. */
  mtls: boolean;
  /** Through a waypoint (L7). */
  waypoint: boolean;
  /** L7 requests per second; null for L4-only edges. */
  requestsPerSecond: number | null;
  connectionsPerSecond: number;
  /** Fraction of requests not 5xx (or connections not failed), 0..1; null without traffic. */
  successRate: number | null;
  p99LatencyMs: number | null;
  bytesSent: number;
  bytesReceived: number;
  /** Requests by status class (`2xx`: n). */
  statusClasses: Record<string, number>;
  /** Connections or requests denied by authorization in the window. */
  denied: number;
}

/** GET /graph */
export interface Graph extends PartialAnswer {
  /** `5m` */
  window: string;
  generatedAt: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Where the numbers come from: the controller's telemetry window, or Prometheus (windows longer than the controller's). */
  source: 'window' | 'prometheus';
  /** The windows a graph may be asked for now, shortest first (`1h`, `6h`, `24h` only when a Prometheus is configured). */
  windows: string[];
}

/** GET /flows (items) and each `flow` event of GET /flows/stream. */
export interface Flow {
  id: string;
  time: string;
  kind: 'connection' | 'request';
  verdict: 'allowed' | 'denied' | 'dry-run-deny';
  /** `namespace/name` of the deciding policy; null when none decided. */
  policy: string | null;
  source: { namespace: string | null; workload: string | null; identity: string | null };
  destination: { namespace: string | null; workload: string | null; service: string | null; identity: string | null; port: number };
  protocol: 'tcp' | 'http' | 'grpc';
  method: string | null;
  path: string | null;
  /** HTTP status; null for connections. */
  status: number | null;
  durationMs: number;
  bytesSent: number;
  bytesReceived: number;
  /** `node agent on node-1`, `waypoint shop/waypoint`. */
  reporter: string;
}

/** POST /authz/check body: as `ambientctl authz check FROM TO --port --method --path`. */
export interface AuthzCheckRequest {
  /** An identity (`spiffe://...`), `namespace/serviceaccount` or a workload `namespace/pod`. */
  from: string;
  /** A Service `namespace/name` (or `namespace/pod`). */
  to: string;
  port: number;
  method?: string;
  path?: string;
}

/** POST /authz/check answer: `ambientctl authz check -o json` (its stable fields). */
export interface AuthzCheckResult {
  decision: 'ALLOW' | 'DENY';
  reason: 'no-policy' | 'allow-matched' | 'deny-matched' | 'no-allow-matched';
  /** `namespace/name` of the deciding policy; null when none decided. */
  policy: string | null;
  rule: number | null;
  message: string;
  enforcedAt: string;
  enforcedBy: string;
  dryRun?: { decision: 'ALLOW' | 'DENY'; policy: string | null; rule: number | null; message: string };
  /** Every policy evaluated (the CLI's CheckedPolicy: more fields than these). */
  considered: Array<{ policy: string; action?: string; matched?: boolean }>;
  notes: string[];
}
