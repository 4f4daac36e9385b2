// The traffic summaries node agents and waypoints report to the controller (POST
// /v1/telemetry on 15012, docs/protocol.md, docs/telemetry.md): what one edge and one flow
// look like on the wire, the bounds on a report, its validation, and the rule that says
// which reporter's view of a connection the mesh counts (so the same traffic seen by the
// source agent, the destination agent and a waypoint is counted once). Pure, shared by the
// data plane (which builds reports) and the controller (which checks and merges them).
import { HISTOGRAM_LENGTH } from './latency-histogram.js';

/** Who saw the traffic: the client's node agent, the server's node agent, or a waypoint. */
export type Reporter = 'source' | 'destination' | 'waypoint';
export type TrafficProtocol = 'tcp' | 'http' | 'grpc';
/** allowed; denied (enforced); would-deny (allowed, but a dry-run policy would deny it). */
export type Verdict = 'allowed' | 'denied' | 'would-deny';

/** One side of an edge. `workload` is the canonical workload name (the Deployment's, as
 * Istio's *_workload label), never a pod name: edges aggregate a workload's pods. */
export interface PeerRef {
  workload?: string;
  namespace?: string;
  /** SPIFFE ID (the peer certificate's, or the workload's). */
  identity?: string;
}

export interface DestinationRef extends PeerRef {
  /** The Service addressed: its key `<namespace>/<hostname>`. */
  service?: string;
}

export interface EdgeKey {
  reporter: Reporter;
  source: PeerRef;
  destination: DestinationRef;
  /** The destination port (the one the client addressed; for a waypoint, the endpoint's). */
  port: number;
  protocol: TrafficProtocol;
  mtls: boolean;
  /** Carried through a waypoint (the source's tunnel to it, the waypoint's own records, the
   * destination's tunnel from it). */
  viaWaypoint: boolean;
  /** The aggregate of what did not fit the summary's bound: no names, port 0. */
  other?: true;
  /** The waypoint (`<namespace>/<gateway>`) that reported it: set by the controller from
   * the authenticated caller, never taken from the report. */
  waypoint?: string;
}

/** Requests by status class; `none` counts requests answered with no status (the client left first). */
export interface StatusClasses {
  '2xx': number;
  '3xx': number;
  '4xx': number;
  '5xx': number;
  none: number;
}

export interface EdgeCounts {
  /** Bytes from source to destination (the request direction) and back. */
  bytesSent: number;
  bytesReceived: number;
  connectionsOpened: number;
  connectionsClosed: number;
  requests: StatusClasses;
  /** Request durations (http, grpc), LATENCY_BUCKETS_MS buckets. */
  latency: number[];
  allowed: number;
  denied: number;
  wouldDeny: number;
  /** Per deciding policy (`namespace/name`): how many it denied, and how many it would deny in dry run. Bounded (TELEMETRY_LIMITS.maxPoliciesPerEdge); others go under `other`. */
  policies: Record<string, { denied: number; wouldDeny: number }>;
}

export interface ReportedEdge extends EdgeKey, EdgeCounts {}

export interface FlowPeer extends PeerRef {
  /** The pod's name. */
  pod?: string;
}

export interface FlowDestination extends FlowPeer {
  service?: string;
}

/** One finished connection or request. Never a query string, header or body. */
export interface Flow {
  /** Epoch ms when it started. */
  time: number;
  reporter: Reporter;
  source: FlowPeer;
  destination: FlowDestination;
  port: number;
  protocol: TrafficProtocol;
  mtls: boolean;
  viaWaypoint: boolean;
  verdict: Verdict;
  /** The deciding policy (`namespace/name`): the enforced one, or for would-deny the dry-run one. */
  policy?: string;
  /** HTTP status (requests; 0 when none was sent). */
  status?: number;
  /** Envoy-style response flags ('-' when none). */
  flags?: string;
  durationMs: number;
  bytesSent: number;
  bytesReceived: number;
}

/** A workload certificate the reporter holds (docs/telemetry.md, "certificates"): metadata
 * only, never a key or the certificate itself. */
export interface ReportedCertificate {
  /** The SPIFFE ID it certifies. */
  identity: string;
  /** Lowercase hex, as the CA wrote it. */
  serial: string;
  /** Epoch ms. */
  notBefore: number;
  notAfter: number;
  /** SHA-256 fingerprint (colon-separated hex) of the CA certificate that issued it. */
  issuer?: string;
}

export interface TelemetryReport {
  edges: ReportedEdge[];
  /** Observations folded into an `other` edge since the last report (the summary was full). */
  overflowEdges: number;
  /** Flows since the last report, oldest first. */
  flows: Flow[];
  /** Flows overwritten in the reporter's ring before they could be reported. */
  droppedFlows: number;
  /** Every workload certificate the reporter holds now, replacing what it reported before;
   * absent when unchanged since its last report (it re-sends them every
   * certificateReportIntervalMs all the same, so the controller knows it still holds them). */
  certificates?: ReportedCertificate[];
}

/** The data plane's bounds on what it keeps and reports (docs/configuration.md). */
export const TELEMETRY_LIMITS = {
  /** Distinct edges a node agent or waypoint keeps between two reports; beyond, observations go to an `other` edge. */
  maxEdges: 2_000,
  /** Deciding policies kept per edge; beyond, counted under `other`. */
  maxPoliciesPerEdge: 16,
  /** Recent flows a node agent or waypoint keeps (ring buffer); one report carries at most these. */
  maxFlows: 1_000,
  /** How often a node agent or waypoint reports (ms). */
  reportIntervalMs: 5_000,
  /** Longest name (workload, namespace, identity, service key, policy) accepted in a report. */
  maxNameChars: 512,
  /** Workload certificates one report lists at most (one per identity the reporter holds); a reporter holding more reports the soonest to expire. */
  maxCertificates: 1_024,
  /** How often a reporter lists its certificates when they did not change (ms): the controller forgets a reporter's certificates 3 intervals after its last list. */
  certificateReportIntervalMs: 60_000,
} as const;

/** The policy key counts go under when an edge holds maxPoliciesPerEdge already. */
export const OTHER_POLICY = 'other';

/**
 * Whether the mesh counts this reporter's view of the traffic (docs/telemetry.md, "the
 * reporter rule"). Istio's rule (Kiali reads reporter="destination" for L4 and
 * reporter="waypoint" for L7), made exact for an ambient mesh:
 * - a waypoint's records always count (L7 requests, and tunnels it carried as TCP);
 * - a destination agent's count, except for tunnels from a waypoint (the waypoint counted them);
 * - a source agent's count only when no mesh proxy ends the connection (not mTLS: a
 *   passthrough to a workload outside the mesh, or refused before a tunnel); an mTLS
 *   connection always ends at a destination agent or a waypoint, which counts it.
 */
export function countedReporter(e: Pick<EdgeKey, 'reporter' | 'mtls' | 'viaWaypoint'>): boolean {
  if (e.reporter === 'waypoint') return true;
  if (e.reporter === 'destination') return !e.viaWaypoint;
  return !e.mtls;
}

/** The status class of an HTTP status, or of a gRPC status when the protocol is grpc and one was sent. */
export function statusClass(status: number, grpcStatus?: number): keyof StatusClasses {
  if (grpcStatus !== undefined && grpcStatus !== 0 && status < 400) {
    // gRPC failures travel in a 200: server-side ones (UNKNOWN, DEADLINE_EXCEEDED,
    // UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS) are 5xx, the caller's are 4xx.
    return [2, 4, 12, 13, 14, 15].includes(grpcStatus) ? '5xx' : '4xx';
  }
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  if (status >= 200) return '2xx';
  return 'none';
}

export function emptyCounts(): EdgeCounts {
  return {
    bytesSent: 0,
    bytesReceived: 0,
    connectionsOpened: 0,
    connectionsClosed: 0,
    requests: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, none: 0 },
    latency: new Array<number>(HISTOGRAM_LENGTH).fill(0),
    allowed: 0,
    denied: 0,
    wouldDeny: 0,
    policies: {},
  };
}

/** Adds `from` into `into`, keeping at most `maxPolicies` policy entries (the rest under `other`). */
export function addCounts(into: EdgeCounts, from: EdgeCounts, maxPolicies: number = TELEMETRY_LIMITS.maxPoliciesPerEdge): void {
  into.bytesSent += from.bytesSent;
  into.bytesReceived += from.bytesReceived;
  into.connectionsOpened += from.connectionsOpened;
  into.connectionsClosed += from.connectionsClosed;
  for (const k of STATUS_KEYS) into.requests[k] += from.requests[k];
  for (let i = 0; i < HISTOGRAM_LENGTH; i++) into.latency[i]! += from.latency[i] ?? 0;
  into.allowed += from.allowed;
  into.denied += from.denied;
  into.wouldDeny += from.wouldDeny;
  for (const [p, c] of Object.entries(from.policies)) addPolicy(into, p, c.denied, c.wouldDeny, maxPolicies);
}

export function addPolicy(into: EdgeCounts, policy: string, denied: number, wouldDeny: number, maxPolicies: number = TELEMETRY_LIMITS.maxPoliciesPerEdge): void {
  let key = policy;
  if (!(key in into.policies) && Object.keys(into.policies).length >= maxPolicies) key = OTHER_POLICY;
  const c = (into.policies[key] ??= { denied: 0, wouldDeny: 0 });
  c.denied += denied;
  c.wouldDeny += wouldDeny;
}

export const STATUS_KEYS = ['2xx', '3xx', '4xx', '5xx', 'none'] as const;

/** A stable string for an edge's key (the fields that identify it, in a fixed order). */
export function edgeKeyString(k: EdgeKey): string {
  return JSON.stringify([
    k.reporter,
    k.source.workload ?? null,
    k.source.namespace ?? null,
    k.source.identity ?? null,
    k.destination.workload ?? null,
    k.destination.namespace ?? null,
    k.destination.identity ?? null,
    k.destination.service ?? null,
    k.port,
    k.protocol,
    k.mtls,
    k.viaWaypoint,
    k.other === true,
    k.waypoint ?? null,
  ]);
}

// ---- validation (the controller reads reports with this) ------------------------------

/** A report that is not what the protocol says: names the field and the value. */
export class ReportShapeError extends Error {}

type Obj = Record<string, unknown>;

function fail(path: string, what: string, v: unknown): never {
  let shown: string;
  try {
    shown = JSON.stringify(v)?.slice(0, 80) ?? String(v);
  } catch {
    shown = String(v);
  }
  throw new ReportShapeError(`${path} must be ${what}, got ${shown}`);
}

function obj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'an object', v);
  return v as Obj;
}

function count(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(path, 'a non-negative integer', v);
  return v as number;
}

function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, 'true or false', v);
  return v as boolean;
}

function name(v: unknown, path: string, maxChars: number): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > maxChars) fail(path, `a string of 1 to ${maxChars} characters`, v);
  return v as string;
}

function oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) fail(path, `one of ${allowed.join(', ')}`, v);
  return v as T;
}

const REPORTERS: readonly Reporter[] = ['source', 'destination', 'waypoint'];
const PROTOCOLS: readonly TrafficProtocol[] = ['tcp', 'http', 'grpc'];
const VERDICTS: readonly Verdict[] = ['allowed', 'denied', 'would-deny'];

function peer<T extends FlowDestination>(v: unknown, path: string, o: { pod: boolean; service: boolean; max: number }): T {
  const p = obj(v, path);
  const out: FlowDestination = {};
  for (const f of ['workload', 'namespace', 'identity'] as const) {
    const s = name(p[f], `${path}.${f}`, o.max);
    if (s !== undefined) out[f] = s;
  }
  if (o.pod) {
    const s = name(p['pod'], `${path}.pod`, o.max);
    if (s !== undefined) out.pod = s;
  }
  if (o.service) {
    const s = name(p['service'], `${path}.service`, o.max);
    if (s !== undefined) out.service = s;
  }
  return out as T;
}

function port(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) fail(path, 'a port (0-65535)', v);
  return v as number;
}

export function parseEdge(v: unknown, path: string, limits: ReportLimits): ReportedEdge {
  const e = obj(v, path);
  const max = limits.maxNameChars;
  const reqs = obj(e['requests'], `${path}.requests`);
  const latency = e['latency'];
  if (!Array.isArray(latency) || latency.length !== HISTOGRAM_LENGTH) fail(`${path}.latency`, `an array of ${HISTOGRAM_LENGTH} counts`, latency);
  const policies = obj(e['policies'], `${path}.policies`);
  const names = Object.keys(policies);
  if (names.length > limits.maxPoliciesPerEdge + 1) fail(`${path}.policies`, `at most ${limits.maxPoliciesPerEdge + 1} entries`, names.length);
  const edge: ReportedEdge = {
    reporter: oneOf(e['reporter'], `${path}.reporter`, REPORTERS),
    source: peer(e['source'], `${path}.source`, { pod: false, service: false, max }),
    destination: peer(e['destination'], `${path}.destination`, { pod: false, service: true, max }),
    port: port(e['port'], `${path}.port`),
    protocol: oneOf(e['protocol'], `${path}.protocol`, PROTOCOLS),
    mtls: bool(e['mtls'], `${path}.mtls`),
    viaWaypoint: bool(e['viaWaypoint'], `${path}.viaWaypoint`),
    bytesSent: count(e['bytesSent'], `${path}.bytesSent`),
    bytesReceived: count(e['bytesReceived'], `${path}.bytesReceived`),
    connectionsOpened: count(e['connectionsOpened'], `${path}.connectionsOpened`),
    connectionsClosed: count(e['connectionsClosed'], `${path}.connectionsClosed`),
    requests: {
      '2xx': count(reqs['2xx'], `${path}.requests.2xx`),
      '3xx': count(reqs['3xx'], `${path}.requests.3xx`),
      '4xx': count(reqs['4xx'], `${path}.requests.4xx`),
      '5xx': count(reqs['5xx'], `${path}.requests.5xx`),
      none: count(reqs['none'], `${path}.requests.none`),
    },
    latency: (latency as unknown[]).map((c, i) => count(c, `${path}.latency[${i}]`)),
    allowed: count(e['allowed'], `${path}.allowed`),
    denied: count(e['denied'], `${path}.denied`),
    wouldDeny: count(e['wouldDeny'], `${path}.wouldDeny`),
    policies: {},
  };
  for (const p of names) {
    name(p, `${path}.policies key`, max);
    const c = obj(policies[p], `${path}.policies[${JSON.stringify(p)}]`);
    edge.policies[p] = { denied: count(c['denied'], `${path}.policies[${JSON.stringify(p)}].denied`), wouldDeny: count(c['wouldDeny'], `${path}.policies[${JSON.stringify(p)}].wouldDeny`) };
  }
  if (e['other'] !== undefined) {
    if (e['other'] !== true) fail(`${path}.other`, 'true or absent', e['other']);
    edge.other = true;
  }
  // `waypoint` is the controller's to set, from who called: whatever the report says is dropped.
  return edge;
}

export function parseFlow(v: unknown, path: string, limits: ReportLimits): Flow {
  const f = obj(v, path);
  const max = limits.maxNameChars;
  const flow: Flow = {
    time: count(f['time'], `${path}.time`),
    reporter: oneOf(f['reporter'], `${path}.reporter`, REPORTERS),
    source: peer(f['source'], `${path}.source`, { pod: true, service: false, max }),
    destination: peer(f['destination'], `${path}.destination`, { pod: true, service: true, max }),
    port: port(f['port'], `${path}.port`),
    protocol: oneOf(f['protocol'], `${path}.protocol`, PROTOCOLS),
    mtls: bool(f['mtls'], `${path}.mtls`),
    viaWaypoint: bool(f['viaWaypoint'], `${path}.viaWaypoint`),
    verdict: oneOf(f['verdict'], `${path}.verdict`, VERDICTS),
    durationMs: count(f['durationMs'], `${path}.durationMs`),
    bytesSent: count(f['bytesSent'], `${path}.bytesSent`),
    bytesReceived: count(f['bytesReceived'], `${path}.bytesReceived`),
  };
  const policy = name(f['policy'], `${path}.policy`, max);
  if (policy !== undefined) flow.policy = policy;
  if (f['status'] !== undefined) {
    const s = f['status'];
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 0 || s > 999) fail(`${path}.status`, 'an HTTP status (0-999)', s);
    flow.status = s as number;
  }
  const flags = name(f['flags'], `${path}.flags`, 64);
  if (flags !== undefined) flow.flags = flags;
  return flow;
}

export interface ReportLimits {
  maxEdges: number;
  maxFlows: number;
  maxPoliciesPerEdge: number;
  maxNameChars: number;
  /** Absent: TELEMETRY_LIMITS.maxCertificates. */
  maxCertificates?: number;
}

const SERIAL = /^[0-9a-f]{1,128}$/;
const FINGERPRINT = /^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/;

export function parseCertificate(v: unknown, path: string, limits: ReportLimits): ReportedCertificate {
  const c = obj(v, path);
  const identity = name(c['identity'], `${path}.identity`, limits.maxNameChars);
  if (identity === undefined || !identity.startsWith('spiffe://')) fail(`${path}.identity`, 'a SPIFFE ID (spiffe://...)', c['identity']);
  const serial = c['serial'];
  if (typeof serial !== 'string' || !SERIAL.test(serial)) fail(`${path}.serial`, 'lowercase hex (1 to 128 digits)', serial);
  const notBefore = count(c['notBefore'], `${path}.notBefore`);
  const notAfter = count(c['notAfter'], `${path}.notAfter`);
  if (notAfter < notBefore) fail(`${path}.notAfter`, `at or after notBefore (${notBefore})`, notAfter);
  const cert: ReportedCertificate = { identity: identity!, serial: serial as string, notBefore, notAfter };
  if (c['issuer'] !== undefined) {
    if (typeof c['issuer'] !== 'string' || !FINGERPRINT.test(c['issuer'])) fail(`${path}.issuer`, 'a SHA-256 fingerprint (32 colon-separated uppercase hex bytes)', c['issuer']);
    cert.issuer = c['issuer'] as string;
  }
  return cert;
}

/** A report's certificate list: bounded, one entry per identity. */
function parseCertificates(v: unknown, limits: ReportLimits): ReportedCertificate[] {
  const max = limits.maxCertificates ?? TELEMETRY_LIMITS.maxCertificates;
  if (!Array.isArray(v) || v.length > max) fail('certificates', `an array of at most ${max} certificates`, Array.isArray(v) ? v.length : v);
  const seen = new Set<string>();
  return (v as unknown[]).map((c, i) => {
    const cert = parseCertificate(c, `certificates[${i}]`, limits);
    if (seen.has(cert.identity)) fail(`certificates[${i}].identity`, 'listed once per report', cert.identity);
    seen.add(cert.identity);
    return cert;
  });
}

/**
 * A report from JSON text, checked field by field: a ReportShapeError names the first field
 * that is wrong. `limits`: what the reader accepts (the summary's `other` edges come on top
 * of maxEdges: one per reporter, protocol, mtls and waypoint combination, at most 36).
 */
export function parseTelemetryReport(text: string, limits: ReportLimits = TELEMETRY_LIMITS): TelemetryReport {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new ReportShapeError('the body must be JSON {"edges": [...], "overflowEdges": n, "flows": [...], "droppedFlows": n}');
  }
  const r = obj(v, 'report');
  const edges = r['edges'];
  const flows = r['flows'];
  const maxEdges = limits.maxEdges + 36;
  if (!Array.isArray(edges) || edges.length > maxEdges) fail('edges', `an array of at most ${maxEdges} edges`, Array.isArray(edges) ? edges.length : edges);
  if (!Array.isArray(flows) || flows.length > limits.maxFlows) fail('flows', `an array of at most ${limits.maxFlows} flows`, Array.isArray(flows) ? flows.length : flows);
  const report: TelemetryReport = {
    edges: edges.map((e, i) => parseEdge(e, `edges[${i}]`, limits)),
    overflowEdges: count(r['overflowEdges'], 'overflowEdges'),
    flows: flows.map((f, i) => parseFlow(f, `flows[${i}]`, limits)),
    droppedFlows: count(r['droppedFlows'], 'droppedFlows'),
  };
  if (r['certificates'] !== undefined) report.certificates = parseCertificates(r['certificates'], limits);
  return report;
}
