// Fixture data for the console's front-end tests: what the controller's API would answer
// for a small mesh (namespaces shop and payments, a canary split of echo, one DENY policy,
// a dry-run policy with findings), shaped by console/api-types.d.ts, and a synthetic graph of
// any size for the scale test. Not the API: test/support/browser-fixture-api.ts serves these.
import type {
  AuthzCheckRequest, AuthzCheckResult, Certificates, Flow, Graph, GraphEdge, GraphNode, MeshStatus, Policy, Rollout,
  Service, ServiceDetail, Workload, WorkloadDetail,
} from '../../console/api-types.js';

const TD = 'cluster.local';
const id = (ns: string, sa: string) => `spiffe://${TD}/ns/${ns}/sa/${sa}`;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A fixed "now" would make relative times stable, but the console reads the real clock;
 * the fixtures are made relative to the time they are built at instead. */
function iso(offsetMs: number, now = Date.now()): string {
  return new Date(now + offsetMs).toISOString();
}

export const FIXTURE_WORKLOADS: Workload[] = [
  { namespace: 'shop', name: 'client-5c7b9', identity: id('shop', 'client'), node: 'node-1', ips: ['10.244.1.11'], enrolled: true, waypoint: null, labels: { app: 'client' } },
  { namespace: 'shop', name: 'echo-v1-6f4d8', identity: id('shop', 'echo'), node: 'node-1', ips: ['10.244.1.12'], enrolled: true, waypoint: 'shop/waypoint', labels: { app: 'echo', version: 'v1' } },
  { namespace: 'shop', name: 'echo-v2-8a1c3', identity: id('shop', 'echo'), node: 'node-2', ips: ['10.244.2.13'], enrolled: true, waypoint: 'shop/waypoint', labels: { app: 'echo', version: 'v2' } },
  { namespace: 'shop', name: 'waypoint-77b6c', identity: id('shop', 'waypoint'), node: 'node-2', ips: ['10.244.2.20'], enrolled: true, waypoint: null, labels: { 'gateway.networking.k8s.io/gateway-name': 'waypoint' } },
  { namespace: 'payments', name: 'ledger-0', identity: id('payments', 'ledger'), node: 'node-2', ips: ['10.244.2.31'], enrolled: true, waypoint: null, labels: { app: 'ledger' } },
  { namespace: 'payments', name: 'billing-7f2aa', identity: id('payments', 'billing'), node: 'node-1', ips: ['10.244.1.32'], enrolled: false, waypoint: null, labels: { app: 'billing' } },
];

export const FIXTURE_SERVICES: Service[] = [
  { namespace: 'shop', name: 'echo', vips: ['10.96.0.20'], ports: [{ name: 'http', port: 8080, targetPort: 8080, protocol: 'TCP', appProtocol: 'http' }], endpoints: 2, waypoint: 'shop/waypoint' },
  { namespace: 'shop', name: 'echo-v1', vips: ['10.96.0.21'], ports: [{ name: 'http', port: 8080, targetPort: 8080, protocol: 'TCP', appProtocol: 'http' }], endpoints: 1, waypoint: 'shop/waypoint' },
  { namespace: 'shop', name: 'echo-v2', vips: ['10.96.0.22'], ports: [{ name: 'http', port: 8080, targetPort: 8080, protocol: 'TCP', appProtocol: 'http' }], endpoints: 1, waypoint: 'shop/waypoint' },
  { namespace: 'payments', name: 'ledger', vips: ['10.96.0.40'], ports: [{ name: null, port: 5432, targetPort: 5432, protocol: 'TCP', appProtocol: 'tcp' }], endpoints: 1, waypoint: null },
];

export const FIXTURE_POLICIES: Policy[] = [
  {
    namespace: 'shop', name: 'allow-client', kind: 'AuthorizationPolicy', action: 'ALLOW', dryRun: false,
    conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'compiled and distributed' }, { type: 'Enforced', status: 'True', reason: 'Enforced', message: 'enforced by the node agents of 2 workloads' }],
    findings: [],
  },
  {
    namespace: 'shop', name: 'deny-admin', kind: 'AuthorizationPolicy', action: 'DENY', dryRun: false,
    conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '' }, { type: 'Enforced', status: 'True', reason: 'Enforced', message: 'enforced at waypoint shop/waypoint' }],
    findings: [],
  },
  {
    namespace: 'payments', name: 'audit-ledger', kind: 'AuthorizationPolicy', action: 'DENY', dryRun: true,
    conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '' }, { type: 'Enforced', status: 'False', reason: 'DryRun', message: 'dry-run: evaluated and logged, not enforced' }],
    findings: ['would deny spiffe://cluster.local/ns/payments/sa/billing -> payments/ledger-0:5432 (14 connections in the last hour)'],
  },
  {
    namespace: 'payments', name: 'strict-mtls', kind: 'PeerAuthentication', action: null, dryRun: false,
    conditions: [{ type: 'Accepted', status: 'False', reason: 'Invalid', message: 'spec.mtls.mode: "STRIK" is not one of STRICT, PERMISSIVE, DISABLE' }],
    findings: [],
  },
];

export function fixtureRollout(): Rollout {
  return {
    metadata: { namespace: 'shop', name: 'echo-canary', generation: 3 },
    spec: { service: 'echo', stable: 'echo-v1', canary: 'echo-v2', steps: [10, 50, 100], interval: '1m', paused: false, gates: { minSuccessRate: 0.99, minRequests: 20 } },
    status: { phase: 'Progressing', step: 1, canaryWeight: 50, message: 'step 2 of 3: 50% to echo-v2 since 40s', observedGeneration: 3, failedGate: null },
  };
}

export function fixtureServiceDetail(svc: Service, weights: Record<string, number>, rollouts: Rollout[], now = Date.now()): ServiceDetail {
  const endpoints: ServiceDetail['endpoints'] =
    svc.name === 'echo'
      ? [
          { workload: 'shop/echo-v1-6f4d8', ip: '10.244.1.12', port: 8080, node: 'node-1', health: 'healthy', ejected: false, ejectedUntil: null },
          { workload: 'shop/echo-v2-8a1c3', ip: '10.244.2.13', port: 8080, node: 'node-2', health: 'unhealthy', ejected: true, ejectedUntil: iso(25_000, now) },
        ]
      : FIXTURE_WORKLOADS.filter((w) => w.namespace === svc.namespace && w.name.startsWith(svc.name)).map((w) => ({
          workload: `${w.namespace}/${w.name}`, ip: w.ips[0]!, port: svc.ports[0]!.port, node: w.node, health: 'healthy' as const, ejected: false, ejectedUntil: null,
        }));
  const total = Object.values(weights).reduce((a, b) => a + b, 0);
  const routes: ServiceDetail['routes'] =
    svc.name === 'echo'
      ? [
          {
            namespace: 'shop', name: 'echo', kind: 'HTTPRoute',
            rules: [{ matches: '', backends: Object.entries(weights).map(([name, weight]) => ({ name, namespace: 'shop', port: 8080, weight, liveShare: total > 0 ? weight / total : null })) }],
            conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '' }, { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: '' }],
          },
        ]
      : [];
  const { endpoints: _count, ...rest } = svc;
  return { ...rest, endpoints, routes, rollouts: svc.name === 'echo' ? rollouts : [] };
}

/** The HTTPRoute a split to `weights` writes for shop/echo. */
export function fixtureHttpRoute(weights: Record<string, number>, generation: number) {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute' as const,
    metadata: { namespace: 'shop', name: 'echo', generation, resourceVersion: String(1000 + generation) },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: 'echo', port: 8080 }],
      rules: [{ backendRefs: Object.entries(weights).map(([name, weight]) => ({ name, port: 8080, weight })) }],
    },
  };
}

const edge = (src: string, dst: string, o: Partial<GraphEdge> = {}): GraphEdge => ({
  id: `${src}->${dst}:${o.port ?? 8080}`, source: src, target: dst, sourceIdentity: o.sourceIdentity ?? '', port: 8080, protocol: 'http', mtls: true, waypoint: false,
  requestsPerSecond: 12.5, connectionsPerSecond: 0.4, successRate: 1, p99LatencyMs: 8.2, bytesSent: 182_000, bytesReceived: 1_240_000,
  statusClasses: { '2xx': 3750 }, denied: 0, ...o,
});

export function fixtureGraph(window = '5m'): Graph {
  const nodes: GraphNode[] = [
    ...FIXTURE_WORKLOADS.filter((w) => !w.name.startsWith('waypoint')).map((w) => ({ id: `workload:${w.namespace}/${w.name}`, kind: 'workload' as const, namespace: w.namespace, name: w.name, health: w.name.startsWith('echo-v2') ? ('degraded' as const) : ('healthy' as const) })),
    ...FIXTURE_SERVICES.map((s) => ({ id: `service:${s.namespace}/${s.name}`, kind: 'service' as const, namespace: s.namespace, name: s.name, health: 'healthy' as const })),
  ];
  const edges: GraphEdge[] = [
    edge('workload:shop/client-5c7b9', 'service:shop/echo', { sourceIdentity: id('shop', 'client'), waypoint: true, requestsPerSecond: 25, statusClasses: { '2xx': 7400, '4xx': 60, '5xx': 40 }, successRate: 0.9947, denied: 3 }),
    edge('service:shop/echo', 'workload:shop/echo-v1-6f4d8', { sourceIdentity: id('shop', 'waypoint'), waypoint: true, requestsPerSecond: 12.6 }),
    edge('service:shop/echo', 'workload:shop/echo-v2-8a1c3', { sourceIdentity: id('shop', 'waypoint'), waypoint: true, requestsPerSecond: 12.4, successRate: 0.968, p99LatencyMs: 240, statusClasses: { '2xx': 3600, '5xx': 120 } }),
    edge('workload:shop/echo-v1-6f4d8', 'service:payments/ledger', { sourceIdentity: id('shop', 'echo'), port: 5432, protocol: 'tcp', requestsPerSecond: null, successRate: 1, p99LatencyMs: null, statusClasses: {} }),
    edge('workload:payments/billing-7f2aa', 'workload:payments/ledger-0', { sourceIdentity: id('payments', 'billing'), port: 5432, protocol: 'tcp', mtls: false, requestsPerSecond: null, connectionsPerSecond: 0.2, successRate: 0.8, p99LatencyMs: null, statusClasses: {}, denied: 0 }),
  ];
  // The fixture plays a controller with a Prometheus configured: windows over 15m come from it.
  const source = ['1h', '6h', '24h'].includes(window) ? ('prometheus' as const) : ('window' as const);
  return { window, generatedAt: new Date().toISOString(), nodes, edges, source, windows: ['1m', '5m', '15m', '1h', '6h', '24h'] };
}

/** A synthetic graph: `workloads` workloads in `namespaces` namespaces (a service for every
 * fourth) and `edges` edges between random pairs, from a seeded generator (same every run). */
export function syntheticGraph(workloads: number, edges: number, namespaces = 20, seed = 1): Graph {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
  const nodes: GraphNode[] = [];
  for (let i = 0; i < workloads; i++) {
    const ns = `team-${String(i % namespaces).padStart(2, '0')}`;
    const health = rnd() < 0.05 ? 'failing' : rnd() < 0.1 ? 'degraded' : 'healthy';
    nodes.push({ id: `workload:${ns}/app-${i}`, kind: 'workload', namespace: ns, name: `app-${i}`, health });
    if (i % 4 === 0) nodes.push({ id: `service:${ns}/svc-${i}`, kind: 'service', namespace: ns, name: `svc-${i}`, health: 'healthy' });
  }
  const out: GraphEdge[] = [];
  const seen = new Set<string>();
  let guard = 0;
  while (out.length < edges && guard++ < edges * 20) {
    const a = nodes[Math.floor(rnd() * nodes.length)]!;
    const b = nodes[Math.floor(rnd() * nodes.length)]!;
    if (a === b || seen.has(`${a.id}|${b.id}`)) continue;
    seen.add(`${a.id}|${b.id}`);
    const sr = rnd();
    out.push(edge(a.id, b.id, {
      id: `e${out.length}`,
      sourceIdentity: id(a.namespace, a.name),
      mtls: rnd() > 0.02,
      waypoint: rnd() < 0.3,
      requestsPerSecond: Math.round(rnd() * 5000) / 100,
      successRate: sr < 0.05 ? 0.9 : sr < 0.1 ? 0.97 : 1,
    }));
  }
  return { window: '5m', generatedAt: new Date().toISOString(), nodes, edges: out, source: 'window', windows: ['1m', '5m', '15m'] };
}

export function fixtureWorkloadDetail(w: Workload, graph: Graph, now = Date.now()): WorkloadDetail {
  const nodeId = `workload:${w.namespace}/${w.name}`;
  const policies = FIXTURE_POLICIES.filter((p) => p.namespace === w.namespace && p.kind === 'AuthorizationPolicy').map(({ namespace, name, kind, conditions }) => ({ namespace, name, kind, conditions }));
  return {
    ...w,
    certificate: w.enrolled ? { serial: '4fa2197c', notBefore: iso(-2 * HOUR, now), notAfter: iso(22 * HOUR, now), issuer: SIGNING_FINGERPRINT, reportedAt: iso(-20_000, now) } : null,
    policies,
    inbound: graph.edges.filter((e) => e.target === nodeId),
    outbound: graph.edges.filter((e) => e.source === nodeId),
  };
}

export function fixtureStatus(): MeshStatus {
  return {
    controller: {
      leader: 'ambient-controller-0',
      replicas: [
        { name: 'ambient-controller-0', node: 'node-1', ready: true, leader: true, version: '0.1.0' },
        { name: 'ambient-controller-1', node: 'node-2', ready: true, leader: false, version: '0.1.0' },
      ],
    },
    configVersion: 'v42',
    agents: [
      { node: 'node-1', connected: true, ackedVersion: 'v42', nacks: [], problems: [] },
      { node: 'node-2', connected: true, ackedVersion: 'v41', nacks: [{ version: 'v42', message: 'AMB_CONFIG_INVALID: workload shop/echo-v2-8a1c3: ip "10.244.2" is not an address' }], problems: ['config v42 refused; running v41'] },
    ],
    waypoints: [
      {
        namespace: 'shop', name: 'waypoint', address: 'waypoint.shop.svc.cluster.local:15008', ready: true, replicas: 1,
        conditions: [{ type: 'Programmed', status: 'True', reason: 'Programmed', message: '1 of 1 replicas ready' }], services: ['shop/echo', 'shop/echo-v1', 'shop/echo-v2'],
      },
    ],
    problems: ['agent on node-2 refused config v42 (NACK)'],
  };
}

const SIGNING_FINGERPRINT = '21:7A:C0:4B:90:1F:6E:D3:58:A2:0C:77:E4:19:B5:3D:6A:F0:82:C9:11:4E:DB:65:3C:A8:07:9F:E2:50:BD:34';

export function fixtureCertificates(now = Date.now()): Certificates {
  return {
    roots: [{ subject: 'O=cluster.local, CN=ambient root CA', fingerprint: '9C:41:0B:7E:55:D2:AA:13:0E:C8:61:F4:20:97:3B:5D:8E:12:CC:40:71:9A:B6:E3:02:5F:DD:18:6C:A4:39:E1', notBefore: iso(-30 * DAY, now), notAfter: iso(335 * DAY, now) }],
    signing: { subject: 'O=cluster.local, CN=ambient signing CA', fingerprint: SIGNING_FINGERPRINT, notBefore: iso(-30 * DAY, now), notAfter: iso(60 * DAY, now) },
    serving: { subject: 'O=cluster.local, CN=ambient-controller.ambient-system.svc', fingerprint: '5E:02:9B:C4:71:AD:3F:E8:16:90:4C:D7:2B:68:F1:A3:0E:95:C2:7D:48:B1:E6:09:3A:DF:62:14:8C:F5:27:B0', notBefore: iso(-6 * HOUR, now), notAfter: iso(18 * HOUR, now) },
    workloads: FIXTURE_WORKLOADS.filter((w) => w.enrolled).map((w, i) => ({
      kind: 'workload' as const, identity: w.identity, namespace: w.namespace, workload: w.name, pod: w.name, node: w.node, serial: `4fa219${(0x10 + i).toString(16)}`,
      notBefore: iso(-(2 + i * 4) * HOUR, now), notAfter: iso((22 - i * 4) * HOUR, now), issuer: SIGNING_FINGERPRINT, reportedAt: iso(-20_000, now),
    })),
  };
}

let flowSeq = 0;
/** A flow; `o` overrides any field. */
export function fixtureFlow(o: Partial<Flow> = {}, now = Date.now()): Flow {
  flowSeq++;
  return {
    id: `f-${flowSeq}`, time: iso(0, now), kind: 'request', verdict: 'allowed', policy: 'shop/allow-client',
    source: { namespace: 'shop', workload: 'client-5c7b9', identity: id('shop', 'client') },
    destination: { namespace: 'shop', workload: 'echo-v1-6f4d8', service: 'echo', identity: id('shop', 'echo'), port: 8080 },
    protocol: 'http', method: 'GET', path: '/', status: 200, durationMs: 3.4, bytesSent: 120, bytesReceived: 512, reporter: 'waypoint shop/waypoint', ...o,
  };
}

export function fixtureFlows(now = Date.now()): Flow[] {
  return [
    fixtureFlow({ time: iso(-3000, now) }, now),
    fixtureFlow({ time: iso(-2000, now), verdict: 'denied', policy: 'shop/deny-admin', path: '/admin', status: 403, bytesReceived: 19 }, now),
    fixtureFlow({
      time: iso(-1000, now), kind: 'connection', verdict: 'dry-run-deny', policy: 'payments/audit-ledger', protocol: 'tcp', method: null, path: null, status: null,
      source: { namespace: 'payments', workload: 'billing-7f2aa', identity: id('payments', 'billing') },
      destination: { namespace: 'payments', workload: 'ledger-0', service: 'ledger', identity: id('payments', 'ledger'), port: 5432 }, durationMs: 1200, reporter: 'node agent on node-2',
    }, now),
  ];
}

/** The fixture's `authz check`: /admin on shop/echo is denied by shop/deny-admin rule 0;
 * the client is otherwise allowed by shop/allow-client rule 0; anything else matches no ALLOW rule. */
export function fixtureAuthzCheck(req: AuthzCheckRequest): AuthzCheckResult {
  const base = { enforcedAt: 'waypoint', enforcedBy: 'waypoint waypoint.shop.svc.cluster.local:15008', considered: [{ policy: 'shop/deny-admin', action: 'DENY' }, { policy: 'shop/allow-client', action: 'ALLOW' }], notes: [] as string[] };
  if (req.to === 'shop/echo' && (req.path ?? '').startsWith('/admin')) {
    return { ...base, decision: 'DENY', reason: 'deny-matched', policy: 'shop/deny-admin', rule: 0, message: 'denied by DENY policy shop/deny-admin rule 0' };
  }
  if (req.to === 'shop/echo' && (req.from === id('shop', 'client') || req.from === 'shop/client')) {
    return { ...base, decision: 'ALLOW', reason: 'allow-matched', policy: 'shop/allow-client', rule: 0, message: 'allowed by ALLOW policy shop/allow-client rule 0' };
  }
  return { ...base, decision: 'DENY', reason: 'no-allow-matched', policy: null, rule: null, message: 'no ALLOW rule matched (policies considered: shop/allow-client)' };
}
