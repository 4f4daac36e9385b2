// The traffic graph from the window's edges: pure. Each counted edge (the reporter rule
// was applied when it was stored, window.ts) becomes one or two graph edges:
// - to a Service (the traffic addressed one): source workload -> service, and, when the
//   endpoint's workload is known, service -> workload with the same counts (Kiali's
//   service nodes; the service -> workload edges give each backend's share);
// - else source workload -> destination workload.
// A side with no workload is the `unknown` node (traffic from outside the mesh, or a peer
// the reporter could not name); `other` edges join the `other` node to itself.
// Graph edges are merged over ports; rates are per second over the window asked for.
import { histogramCount, mergeHistogram, newHistogram, quantile } from '../../core/observe/latency-histogram.js';
import type { EdgeCounts, EdgeKey, StatusClasses, TrafficProtocol } from '../../core/observe/telemetry-wire.js';

export interface GraphNode {
  /** `workload/<ns>/<name>`, `service/<ns>/<name>`, `unknown` or `other`. */
  id: string;
  kind: 'workload' | 'service';
  namespace: string;
  name: string;
  /** A workload's SPIFFE ID, as its traffic proved it. */
  identity?: string;
  /** The waypoint (`<ns>/<gateway>`) that carried traffic to it. */
  waypoint?: string;
}

export interface GraphEdge {
  source: string;
  destination: string;
  protocol: TrafficProtocol;
  mtls: boolean;
  viaWaypoint: boolean;
  /** Requests (http, grpc) per second; 0 for tcp. */
  requestsPerSecond: number;
  /** Share of requests not answered 5xx (null: no requests). */
  successRate: number | null;
  /** 99th percentile request latency (ms) from the merged histograms (null: no requests). */
  p99Ms: number | null;
  /** Bytes both ways per second. */
  bytesPerSecond: number;
  /** Connections opened per second. */
  connectionsPerSecond: number;
  /** Connections or requests denied by policy in the window (a count). */
  denied: number;
  /** Allowed, but a dry-run policy would have denied them (a count). */
  wouldDeny: number;
  /** The totals behind the rates, over the window. */
  requests: number;
  errors: number;
  bytes: number;
  /** `bytes` by direction: source to destination, and back. */
  bytesSent: number;
  bytesReceived: number;
  /** Requests by status class over the window. */
  statusClasses: StatusClasses;
  /** The destination port when every merged observation had the same one; 0 when they differ. */
  port: number;
  connections: number;
  /** Policies that denied (or would deny) on this edge, with counts. */
  policies: Record<string, { denied: number; wouldDeny: number }>;
}

export interface Graph {
  windowMs: number;
  /** Epoch ms the graph was computed at (its window ends there). */
  at: number;
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Observations that went to `other` edges (a reporter's or a bucket's bound was reached). */
  overflowEdges: number;
}

export interface StoredEdge extends EdgeKey, EdgeCounts {}

const UNKNOWN: GraphNode = { id: 'unknown', kind: 'workload', namespace: '', name: 'unknown' };
const OTHER: GraphNode = { id: 'other', kind: 'workload', namespace: '', name: 'other' };

/** `<ns>/<hostname>` -> the Service's namespace and name (the hostname's first label when it is `<name>.<ns>.svc...`). */
export function serviceName(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  const namespace = slash > 0 ? key.slice(0, slash) : '';
  const hostname = key.slice(slash + 1);
  const [first, second] = hostname.split('.');
  return { namespace, name: second === namespace && first ? first : hostname };
}

interface Acc {
  edge: Omit<GraphEdge, 'requestsPerSecond' | 'successRate' | 'p99Ms' | 'bytesPerSecond' | 'connectionsPerSecond'>;
  latency: number[];
}

/** The graph of `edges` (already summed over the window), restricted to `namespace` when given. */
export function buildGraph(edges: Iterable<StoredEdge>, o: { windowMs: number; at: number; namespace?: string; overflowEdges?: number }): Graph {
  const nodes = new Map<string, GraphNode>();
  const acc = new Map<string, Acc>();
  const node = (n: GraphNode): string => {
    const held = nodes.get(n.id);
    if (held === undefined) nodes.set(n.id, { ...n });
    else {
      if (held.identity === undefined && n.identity !== undefined) held.identity = n.identity;
      if (held.waypoint === undefined && n.waypoint !== undefined) held.waypoint = n.waypoint;
    }
    return n.id;
  };
  const workloadNode = (p: { workload?: string; namespace?: string; identity?: string }, waypoint?: string): GraphNode => {
    if (p.workload === undefined || p.namespace === undefined) return UNKNOWN;
    return { id: `workload/${p.namespace}/${p.workload}`, kind: 'workload', namespace: p.namespace, name: p.workload, ...(p.identity !== undefined && { identity: p.identity }), ...(waypoint !== undefined && { waypoint }) };
  };
  const add = (src: GraphNode, dst: GraphNode, e: StoredEdge) => {
    if (o.namespace !== undefined && src.namespace !== o.namespace && dst.namespace !== o.namespace) return;
    const s = node(src);
    const d = node(dst);
    const key = `${s}\u0000${d}\u0000${e.protocol}\u0000${e.mtls}\u0000${e.viaWaypoint}`;
    let a = acc.get(key);
    if (a === undefined) {
      a = {
        edge: { source: s, destination: d, protocol: e.protocol, mtls: e.mtls, viaWaypoint: e.viaWaypoint, denied: 0, wouldDeny: 0, requests: 0, errors: 0, bytes: 0, bytesSent: 0, bytesReceived: 0, statusClasses: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, none: 0 }, port: e.port, connections: 0, policies: {} },
        latency: newHistogram(),
      };
      acc.set(key, a);
    }
    const g = a.edge;
    const r = e.requests;
    g.requests += r['2xx'] + r['3xx'] + r['4xx'] + r['5xx'] + r.none;
    g.errors += r['5xx'];
    g.bytes += e.bytesSent + e.bytesReceived;
    g.bytesSent += e.bytesSent;
    g.bytesReceived += e.bytesReceived;
    for (const k of ['2xx', '3xx', '4xx', '5xx', 'none'] as const) g.statusClasses[k] += r[k];
    if (g.port !== e.port) g.port = 0;
    g.connections += e.connectionsOpened;
    g.denied += e.denied;
    g.wouldDeny += e.wouldDeny;
    for (const [p, c] of Object.entries(e.policies)) {
      const held = (g.policies[p] ??= { denied: 0, wouldDeny: 0 });
      held.denied += c.denied;
      held.wouldDeny += c.wouldDeny;
    }
    mergeHistogram(a.latency, e.latency);
  };
  for (const e of edges) {
    if (e.other === true) {
      add(OTHER, OTHER, e);
      continue;
    }
    const src = workloadNode(e.source);
    const dstWorkload = e.destination.workload !== undefined ? workloadNode(e.destination, e.waypoint) : undefined;
    if (e.destination.service !== undefined) {
      const svc = serviceName(e.destination.service);
      const svcNode: GraphNode = { id: `service/${svc.namespace}/${svc.name}`, kind: 'service', namespace: svc.namespace, name: svc.name, ...(e.waypoint !== undefined && { waypoint: e.waypoint }) };
      add(src, svcNode, e);
      if (dstWorkload !== undefined) add(svcNode, dstWorkload, e);
    } else {
      add(src, dstWorkload ?? UNKNOWN, e);
    }
  }
  const seconds = o.windowMs / 1000;
  const round = (n: number) => Math.round(n * 1000) / 1000;
  const out: GraphEdge[] = [];
  for (const { edge, latency } of acc.values()) {
    const p99 = histogramCount(latency) > 0 ? quantile(latency, 0.99) : undefined;
    out.push({
      ...edge,
      requestsPerSecond: round(edge.requests / seconds),
      successRate: edge.requests > 0 ? round((edge.requests - edge.errors) / edge.requests) : null,
      p99Ms: p99 === undefined ? null : round(p99),
      bytesPerSecond: round(edge.bytes / seconds),
      connectionsPerSecond: round(edge.connections / seconds),
    });
  }
  out.sort((a, b) => (a.source === b.source ? (a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0) : a.source < b.source ? -1 : 1));
  const ns = [...nodes.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { windowMs: o.windowMs, at: o.at, nodes: ns, edges: out, overflowEdges: o.overflowEdges ?? 0 };
}
