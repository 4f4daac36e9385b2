// Runtime checks of the API's response shapes (console/api-types.d.ts): the required fields
// of each answer and their JSON types, so the real controller API (test/controller-api.test.ts)
// and the console's fixture API (browser-fixtures.ts) are held to the same shapes at run time,
// not only at compile time. Returns the problems found, each naming the path and the value.
type Kind = 'string' | 'number' | 'boolean' | 'array' | 'object' | 'null';
type Field = string | { of: string } | { items: string };
type Shape = Record<string, Field>;

const t = (...k: Kind[]): string => k.join('|');
const S = t('string');
const N = t('number');
const B = t('boolean');
const SN = t('string', 'null');
const NN = t('number', 'null');
const A = t('array');
const O = t('object');

export const SHAPES: Record<string, Shape> = {
  Condition: { type: S, status: S, reason: S, message: S },
  MeshStatus: { controller: { of: 'MeshStatusController' }, configVersion: S, agents: { items: 'Agent' }, waypoints: { items: 'Waypoint' }, problems: A },
  MeshStatusController: { leader: SN, replicas: { items: 'Replica' } },
  Replica: { name: S, node: S, ready: B, leader: B, version: S },
  Agent: { node: S, connected: B, ackedVersion: SN, nacks: A, problems: A },
  Waypoint: { namespace: S, name: S, address: SN, ready: B, replicas: N, conditions: { items: 'Condition' }, services: A },
  Workload: { namespace: S, name: S, identity: S, node: S, ips: A, enrolled: B, waypoint: SN, labels: O },
  WorkloadDetail: { namespace: S, name: S, identity: S, node: S, ips: A, enrolled: B, waypoint: SN, labels: O, certificate: t('object', 'null'), policies: { items: 'PolicyRef' }, inbound: { items: 'GraphEdge' }, outbound: { items: 'GraphEdge' } },
  PolicyRef: { namespace: S, name: S, kind: S, conditions: { items: 'Condition' } },
  ServicePort: { name: SN, port: N, targetPort: NN, protocol: S, appProtocol: SN },
  Service: { namespace: S, name: S, vips: A, ports: { items: 'ServicePort' }, endpoints: N, waypoint: SN },
  ServiceDetail: { namespace: S, name: S, vips: A, ports: { items: 'ServicePort' }, waypoint: SN, endpoints: { items: 'Endpoint' }, routes: { items: 'ServiceRoute' }, rollouts: { items: 'Rollout' } },
  Endpoint: { workload: S, ip: S, port: N, node: S, health: S, ejected: B, ejectedUntil: SN },
  ServiceRoute: { namespace: S, name: S, kind: S, rules: { items: 'RouteRule' }, conditions: { items: 'Condition' } },
  RouteRule: { matches: S, backends: { items: 'RouteBackend' } },
  RouteBackend: { name: S, namespace: S, port: NN, weight: N, liveShare: NN },
  Rollout: { metadata: { of: 'RolloutMeta' }, spec: O },
  RolloutMeta: { namespace: S, name: S },
  Policy: { namespace: S, name: S, kind: S, action: SN, dryRun: B, conditions: { items: 'Condition' }, findings: A },
  Certificates: { roots: { items: 'Certificate' }, workloads: { items: 'HeldCertificate' } },
  HeldCertificate: { kind: S, identity: S, namespace: S, workload: S, pod: SN, node: S, serial: S, notBefore: S, notAfter: S, issuer: SN, reportedAt: S },
  Certificate: { subject: S, fingerprint: S, notBefore: S, notAfter: S },
  Graph: { window: S, generatedAt: S, nodes: { items: 'GraphNode' }, edges: { items: 'GraphEdge' }, source: S, windows: A },
  GraphNode: { id: S, kind: S, namespace: S, name: S, health: S },
  GraphEdge: { id: S, source: S, target: S, sourceIdentity: S, port: N, protocol: S, mtls: B, waypoint: B, requestsPerSecond: NN, connectionsPerSecond: N, successRate: NN, p99LatencyMs: NN, bytesSent: N, bytesReceived: N, statusClasses: O, denied: N },
  Flow: { id: S, time: S, kind: S, verdict: S, policy: SN, source: { of: 'FlowSource' }, destination: { of: 'FlowDestination' }, protocol: S, method: SN, path: SN, status: NN, durationMs: N, bytesSent: N, bytesReceived: N, reporter: S },
  FlowSource: { namespace: SN, workload: SN, identity: SN },
  FlowDestination: { namespace: SN, workload: SN, service: SN, identity: SN, port: N },
};

/** Enumerations the console switches on. */
const ENUMS: Record<string, Record<string, readonly string[]>> = {
  Graph: { source: ['window', 'prometheus'] },
  GraphNode: { kind: ['workload', 'service'], health: ['healthy', 'degraded', 'failing', 'idle'] },
  GraphEdge: { protocol: ['tcp', 'http', 'grpc'] },
  Flow: { kind: ['connection', 'request'], verdict: ['allowed', 'denied', 'dry-run-deny'], protocol: ['tcp', 'http', 'grpc'] },
  Endpoint: { health: ['healthy', 'unhealthy', 'unknown'] },
  Condition: { status: ['True', 'False', 'Unknown'] },
  HeldCertificate: { kind: ['workload', 'waypoint'] },
  ServiceRoute: { kind: ['HTTPRoute', 'GRPCRoute', 'TCPRoute', 'TLSRoute'] },
};

const kindOf = (v: unknown): Kind => (v === null ? 'null' : Array.isArray(v) ? 'array' : (typeof v as Kind));

/** The problems of `value` as a `shape` (a key of SHAPES), `[]` when it conforms. */
export function shapeProblems(shape: string, value: unknown, path = shape): string[] {
  const fields = SHAPES[shape];
  if (!fields) return [`${path}: no shape ${shape}`];
  if (kindOf(value) !== 'object') return [`${path}: expected an object, got ${JSON.stringify(value)?.slice(0, 80)}`];
  const o = value as Record<string, unknown>;
  const out: string[] = [];
  for (const [k, f] of Object.entries(fields)) {
    const v = o[k];
    const p = `${path}.${k}`;
    if (!(k in o)) {
      out.push(`${p}: missing`);
      continue;
    }
    if (typeof f === 'string') {
      if (!f.split('|').includes(kindOf(v))) out.push(`${p}: expected ${f}, got ${JSON.stringify(v)?.slice(0, 80)}`);
      const allowed = ENUMS[shape]?.[k];
      if (allowed && !allowed.includes(v as string)) out.push(`${p}: ${JSON.stringify(v)} is not one of ${allowed.join(', ')}`);
    } else if ('of' in f) out.push(...shapeProblems(f.of, v, p));
    else if (!Array.isArray(v)) out.push(`${p}: expected an array of ${f.items}`);
    else v.forEach((x, i) => out.push(...shapeProblems(f.items, x, `${p}[${i}]`)));
  }
  return out;
}

/** `{items: [...]}` of `shape`. */
export function listProblems(shape: string, value: unknown, path = `List<${shape}>`): string[] {
  if (kindOf(value) !== 'object' || !Array.isArray((value as { items?: unknown }).items)) return [`${path}: expected {items: [...]}`];
  return (value as { items: unknown[] }).items.flatMap((x, i) => shapeProblems(shape, x, `${path}.items[${i}]`));
}
