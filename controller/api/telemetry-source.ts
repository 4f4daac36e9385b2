// THE SEAM BETWEEN THE API AND THE TELEMETRY WINDOW (controller/telemetry/): what GET
// /api/v1/graph, /api/v1/flows and /api/v1/flows/stream answer. The queries are the
// window's own (GraphQuery, FlowsQuery); the answers are the API's response shapes
// (console/api-types.d.ts, shared with the console and its fixture API). The conversion
// from the window's graph and flows to those shapes is pure and lives here, once.
import type { Flow, Graph, GraphEdge, GraphNode, List } from '../../console/api-types.js';
import { serviceName, type Graph as WindowGraph } from '../telemetry/graph.js';
import type { FlowsQuery, GraphQuery, MeshFlow, MeshTelemetry } from '../telemetry/mesh-telemetry.js';

export type { FlowsQuery, GraphQuery } from '../telemetry/mesh-telemetry.js';

/** A graph before the API says where it came from and which windows it offers (graph-answer.ts adds both). */
export type GraphSnapshot = Omit<Graph, 'source' | 'windows'>;

export interface TelemetrySource {
  /** `window` is how the caller wrote it (`5m`), echoed in the answer. */
  graph(q: GraphQuery & { window: string }): GraphSnapshot | Promise<GraphSnapshot>;
  flows(q: FlowsQuery): List<Flow> | Promise<List<Flow>>;
  /** Every flow stored from now on, until the returned function is called. Throws
   * RangeError when the window has its maximum of subscribers (the API answers 503). */
  subscribe(listener: (f: Flow, namespaces: readonly string[]) => void): () => void;
}

/** A node's health from the success rate of the traffic it received (the console colours by it). */
export const HEALTHY_SUCCESS_RATE = 0.99;
export const DEGRADED_SUCCESS_RATE = 0.95;

/** `workload/<ns>/<name>` (the window's id) -> `workload:<ns>/<name>` (the API's); `unknown` and `other` stay. */
export function apiNodeId(id: string): string {
  const m = /^(workload|service)\/(.*)$/.exec(id);
  return m ? `${m[1]}:${m[2]}` : id;
}

export function nodeHealth(received: readonly GraphEdge[]): GraphNode['health'] {
  let requests = 0;
  let ok = 0;
  let connections = 0;
  for (const e of received) {
    connections += e.connectionsPerSecond;
    if (e.requestsPerSecond !== null && e.requestsPerSecond > 0 && e.successRate !== null) {
      requests += e.requestsPerSecond;
      ok += e.requestsPerSecond * e.successRate;
    }
  }
  if (requests === 0) return connections > 0 || received.some((e) => e.bytesSent + e.bytesReceived > 0) ? 'healthy' : 'idle';
  const rate = ok / requests;
  return rate >= HEALTHY_SUCCESS_RATE ? 'healthy' : rate >= DEGRADED_SUCCESS_RATE ? 'degraded' : 'failing';
}

/** The window's graph as the API answers it. */
export function toApiGraph(g: WindowGraph, window: string): GraphSnapshot {
  const identities = new Map(g.nodes.map((n) => [n.id, n.identity ?? '']));
  const edges: GraphEdge[] = g.edges.map((e) => {
    const source = apiNodeId(e.source);
    const target = apiNodeId(e.destination);
    return {
      id: `${source}->${target}/${e.protocol}${e.mtls ? '/mtls' : ''}${e.viaWaypoint ? '/waypoint' : ''}`,
      source,
      target,
      sourceIdentity: identities.get(e.source) ?? '',
      port: e.port,
      protocol: e.protocol,
      mtls: e.mtls,
      waypoint: e.viaWaypoint,
      requestsPerSecond: e.protocol === 'tcp' ? null : e.requestsPerSecond,
      connectionsPerSecond: e.connectionsPerSecond,
      successRate: e.successRate,
      p99LatencyMs: e.p99Ms,
      bytesSent: e.bytesSent,
      bytesReceived: e.bytesReceived,
      statusClasses: { ...e.statusClasses },
      denied: e.denied,
    };
  });
  const nodes: GraphNode[] = g.nodes.map((n) => {
    const id = apiNodeId(n.id);
    return { id, kind: n.kind, namespace: n.namespace, name: n.name, health: nodeHealth(edges.filter((e) => e.target === id)) };
  });
  return { window, generatedAt: new Date(g.at).toISOString(), nodes, edges };
}

/** `<ns>/<hostname>` (a Service key) -> `<ns>/<name>`. */
const serviceRef = (key: string | undefined): string | null => {
  if (key === undefined) return null;
  const s = serviceName(key);
  return `${s.namespace}/${s.name}`;
};

/** One flow the window holds as the API answers it. */
export function toApiFlow(f: MeshFlow): Flow {
  const request = f.protocol !== 'tcp';
  return {
    id: String(f.seq),
    time: new Date(f.time).toISOString(),
    kind: request ? 'request' : 'connection',
    verdict: f.verdict === 'would-deny' ? 'dry-run-deny' : f.verdict,
    policy: f.policy ?? null,
    source: { namespace: f.source.namespace ?? null, workload: f.source.workload ?? null, identity: f.source.identity ?? null },
    destination: {
      namespace: f.destination.namespace ?? null,
      workload: f.destination.workload ?? null,
      service: serviceRef(f.destination.service),
      identity: f.destination.identity ?? null,
      port: f.port,
    },
    protocol: f.protocol,
    // The data plane reports no method or path (docs/telemetry.md: never a request's content).
    method: null,
    path: null,
    status: request && f.status !== undefined && f.status > 0 ? f.status : null,
    durationMs: f.durationMs,
    bytesSent: f.bytesSent,
    bytesReceived: f.bytesReceived,
    reporter: f.reporter === 'waypoint' ? `waypoint ${f.waypoint ?? 'unknown'}` : `node agent on ${f.node}`,
  };
}

/** The namespaces a flow touches (the namespace filter of /flows/stream). */
export function flowNamespaces(f: MeshFlow): string[] {
  const out = new Set<string>();
  if (f.source.namespace) out.add(f.source.namespace);
  if (f.destination.namespace) out.add(f.destination.namespace);
  if (f.destination.service) out.add(serviceName(f.destination.service).namespace);
  return [...out];
}

/** The API's view of the controller's telemetry window. */
export function meshTelemetrySource(t: Pick<MeshTelemetry, 'graph' | 'flows' | 'subscribe'>): TelemetrySource {
  return {
    graph: ({ window, ...q }) => toApiGraph(t.graph(q), window),
    flows: (q) => ({ items: t.flows(q).flows.map(toApiFlow) }),
    subscribe: (listener) => t.subscribe((f) => listener(toApiFlow(f), flowNamespaces(f))),
  };
}

/** No telemetry window (tests of the API alone): empty answers. */
export const EMPTY_TELEMETRY: TelemetrySource = {
  graph: (q) => ({ window: q.window, generatedAt: new Date().toISOString(), nodes: [], edges: [] }),
  flows: () => ({ items: [] }),
  subscribe: () => () => undefined,
};
