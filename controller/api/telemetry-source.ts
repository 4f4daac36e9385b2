// THE SEAM WITH THE TELEMETRY HELPER (controller/telemetry/): the traffic graph and recent
// flows the API serves at GET /api/v1/graph and GET /api/v1/flows. The API defines this
// interface; until the telemetry window is wired into startController (ApiOptions.telemetry),
// EMPTY_TELEMETRY answers, and every answer says `source: "none"`.
export interface GraphQuery {
  /** Only nodes and edges touching this namespace; absent: all. */
  namespace?: string;
  /** The window in ms (`window=5m`). */
  windowMs: number;
}

export interface GraphNode {
  id: string;
  kind: 'workload' | 'service' | 'external';
  namespace?: string;
  name: string;
  identity?: string;
}

export interface GraphEdge {
  source: string;
  destination: string;
  port?: number;
  protocol?: string;
  mtls?: boolean;
  waypoint?: boolean;
  [metric: string]: unknown;
}

export interface Graph {
  /** What filled it: `none` until the telemetry window is wired. */
  source: string;
  windowMs: number;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export interface FlowsQuery {
  namespace?: string;
  limit: number;
}

export interface Flows {
  source: string;
  flows: Array<Record<string, unknown>>;
}

export interface TelemetrySource {
  graph(q: GraphQuery): Promise<Graph> | Graph;
  flows(q: FlowsQuery): Promise<Flows> | Flows;
}

/** No telemetry wired: empty answers, saying so. */
export const EMPTY_TELEMETRY: TelemetrySource = {
  graph: (q) => ({ source: 'none', windowMs: q.windowMs, nodes: [], edges: [] }),
  flows: () => ({ source: 'none', flows: [] }),
};
