// The controller's rolling window of what node agents and waypoints reported (docs/
// telemetry.md): edges in buckets of bucketMs over retentionMs, and the recent flows in one
// ring. Pure: every call takes `now` (epoch ms); no timers, no I/O.
//
// Reports are merged as they arrive into the bucket of their arrival time (a report covers
// the reportIntervalMs before it; a rate over a window of N buckets is off by at most one
// report interval at its edges). The reporter rule (countedReporter) is applied here, once:
// what the mesh does not count (the source agent's view of an mTLS connection, the
// destination agent's view of a waypoint's tunnel) is not stored at all, so the same
// traffic is never counted twice whichever reporters sent it.
import { FlowRing } from '../../core/observe/flow-ring.js';
import { addCounts, countedReporter, edgeKeyString, emptyCounts, type EdgeKey, type Flow, type TelemetryReport } from '../../core/observe/telemetry-wire.js';
import { buildGraph, type Graph, type StoredEdge } from './graph.js';
import { TELEMETRY_WINDOW_DEFAULTS, type TelemetryWindowLimits } from './limits.js';

/** Who sent a report: set from the authenticated caller, never from the report. */
export interface ReportSource {
  role: 'node-agent' | 'waypoint';
  node: string;
  /** A waypoint's `<namespace>/<gateway>`. */
  waypoint?: string;
}

/** A flow as the controller keeps it: numbered, with who reported it. */
export interface MeshFlow extends Flow {
  seq: number;
  /** The node of the reporting agent or waypoint pod. */
  node: string;
  /** The waypoint that reported it (`<namespace>/<gateway>`). */
  waypoint?: string;
}

export interface GraphQuery {
  namespace?: string;
  /** How far back (ms); clamped to [bucketMs, retentionMs]. */
  windowMs: number;
}

export interface FlowsQuery {
  namespace?: string;
  /** At most this many (the newest), at most maxFlowsPerQuery. */
  limit: number;
  /** Only flows after this sequence number (a live view's last row). */
  sinceSeq?: number;
}

export interface FlowsAnswer {
  flows: MeshFlow[];
  /** The newest sequence number held: ask with sinceSeq = lastSeq next time. */
  lastSeq: number;
  /** Flows after sinceSeq no longer held (overwritten) or beyond the limit. */
  missed: number;
}

export type FlowListener = (flow: MeshFlow) => void;

/** A window's edges summed over a time span: everything in it adds up (counters and
 * fixed-bucket histograms), so windows of several replicas merge exactly. */
export interface WindowEdges {
  windowMs: number;
  at: number;
  edges: StoredEdge[];
  overflowEdges: number;
}

function addEdge(into: Map<string, StoredEdge>, k: string, e: StoredEdge, maxPolicies: number): void {
  let s = into.get(k);
  if (s === undefined) {
    s = { ...e, source: { ...e.source }, destination: { ...e.destination }, ...emptyCounts() };
    into.set(k, s);
  }
  addCounts(s, e, maxPolicies);
}

/** Several replicas' windows (the same span) as one: each connection was counted by one
 * reporter connected to one replica, so adding is exact. */
export function mergeWindowEdges(parts: readonly WindowEdges[], maxPoliciesPerEdge: number = TELEMETRY_WINDOW_DEFAULTS.maxPoliciesPerEdge): WindowEdges {
  const sum = new Map<string, StoredEdge>();
  let overflow = 0;
  for (const p of parts) {
    overflow += p.overflowEdges;
    for (const e of p.edges) addEdge(sum, edgeKeyString(e), e, maxPoliciesPerEdge);
  }
  return { windowMs: parts[0]?.windowMs ?? 0, at: parts[0]?.at ?? 0, edges: [...sum.values()], overflowEdges: overflow };
}

interface Bucket {
  index: number;
  edges: Map<string, StoredEdge>;
  named: number;
  overflow: number;
}

export class TelemetryWindow {
  readonly limits: TelemetryWindowLimits;
  readonly #buckets = new Map<number, Bucket>();
  readonly #flows: FlowRing<MeshFlow>;
  readonly #listeners = new Set<FlowListener>();
  /** Edges and flows not stored because the reporter rule does not count them. */
  readonly stats = { reports: 0, edges: 0, flows: 0, uncounted: 0, droppedFlows: 0 };

  constructor(limits: Partial<TelemetryWindowLimits> = {}) {
    this.limits = { ...TELEMETRY_WINDOW_DEFAULTS, ...limits };
    for (const [k, v] of Object.entries(this.limits)) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`telemetry limit ${k} must be a positive integer, got ${v}`);
    }
    this.#flows = new FlowRing<MeshFlow>(this.limits.maxFlows);
  }

  #bucket(now: number): Bucket {
    const index = Math.floor(now / this.limits.bucketMs);
    let b = this.#buckets.get(index);
    if (b === undefined) {
      this.#prune(now);
      b = { index, edges: new Map(), named: 0, overflow: 0 };
      this.#buckets.set(index, b);
    }
    return b;
  }

  #oldestIndex(now: number, windowMs: number): number {
    return Math.floor((now - windowMs) / this.limits.bucketMs) + 1;
  }

  #prune(now: number): void {
    const oldest = this.#oldestIndex(now, this.limits.retentionMs);
    for (const i of this.#buckets.keys()) if (i < oldest) this.#buckets.delete(i);
  }

  #store(b: Bucket, e: StoredEdge): void {
    let k = edgeKeyString(e);
    let held = b.edges.get(k);
    if (held === undefined) {
      if (e.other !== true && b.named >= this.limits.maxEdgesPerBucket) {
        b.overflow++;
        const other: EdgeKey = { reporter: e.reporter, source: {}, destination: {}, port: 0, protocol: e.protocol, mtls: e.mtls, viaWaypoint: e.viaWaypoint, other: true };
        k = edgeKeyString(other);
        held = b.edges.get(k);
        if (held === undefined) b.edges.set(k, (held = { ...other, ...emptyCounts() }));
      } else {
        const key: EdgeKey = { reporter: e.reporter, source: { ...e.source }, destination: { ...e.destination }, port: e.port, protocol: e.protocol, mtls: e.mtls, viaWaypoint: e.viaWaypoint };
        if (e.other === true) key.other = true;
        if (e.waypoint !== undefined) key.waypoint = e.waypoint;
        b.edges.set(k, (held = { ...key, ...emptyCounts() }));
        if (e.other !== true) b.named++;
      }
    }
    addCounts(held, e, this.limits.maxPoliciesPerEdge);
  }

  /** Merges a report (already screened: the caller may report all of it). Returns what was kept. */
  ingest(from: ReportSource, report: TelemetryReport, now: number): { edges: number; flows: number } {
    const b = this.#bucket(now);
    this.stats.reports++;
    let edges = 0;
    let flows = 0;
    for (const e of report.edges) {
      if (!countedReporter(e)) {
        this.stats.uncounted++;
        continue;
      }
      const stored: StoredEdge = { ...e };
      if (e.reporter === 'waypoint' && from.waypoint !== undefined) stored.waypoint = from.waypoint;
      else delete stored.waypoint;
      this.#store(b, stored);
      edges++;
    }
    b.overflow += report.overflowEdges;
    this.stats.droppedFlows += report.droppedFlows;
    for (const f of report.flows) {
      if (!countedReporter(f)) {
        this.stats.uncounted++;
        continue;
      }
      const flow: MeshFlow = { ...f, seq: 0, node: from.node, ...(from.waypoint !== undefined && { waypoint: from.waypoint }) };
      flow.seq = this.#flows.push(flow);
      flows++;
      for (const l of this.#listeners) {
        try {
          l(flow);
        } catch {
          // a listener's failure is its own
        }
      }
    }
    this.stats.edges += edges;
    this.stats.flows += flows;
    return { edges, flows };
  }

  /** The window's edges summed over the last `windowMs` (clamped to [bucketMs, retentionMs]):
   * what graph() draws, and what a peer replica would merge with its own (mergeWindowEdges). */
  edges(q: Pick<GraphQuery, 'windowMs'>, now: number): WindowEdges {
    const windowMs = Math.min(Math.max(Math.round(q.windowMs), this.limits.bucketMs), this.limits.retentionMs);
    this.#prune(now);
    const oldest = this.#oldestIndex(now, windowMs);
    const sum = new Map<string, StoredEdge>();
    let overflow = 0;
    for (const b of this.#buckets.values()) {
      if (b.index < oldest) continue;
      overflow += b.overflow;
      for (const [k, e] of b.edges) addEdge(sum, k, e, this.limits.maxPoliciesPerEdge);
    }
    return { windowMs, at: now, edges: [...sum.values()], overflowEdges: overflow };
  }

  /** The graph over the last `windowMs` (see graph.ts); with `peers`, their windows' edges merged in. */
  graph(q: GraphQuery, now: number, peers: readonly WindowEdges[] = []): Graph {
    const own = this.edges(q, now);
    const merged = peers.length === 0 ? own : mergeWindowEdges([own, ...peers], this.limits.maxPoliciesPerEdge);
    return buildGraph(merged.edges, { windowMs: own.windowMs, at: now, overflowEdges: merged.overflowEdges, ...(q.namespace !== undefined && { namespace: q.namespace }) });
  }

  /** Recent flows, oldest first: the newest `limit` after `sinceSeq`, touching `namespace`
   * when given (the source's, the destination workload's or the destination Service's). */
  flows(q: FlowsQuery): FlowsAnswer {
    const limit = Math.max(0, Math.min(Math.floor(q.limit), this.limits.maxFlowsPerQuery));
    const ns = q.namespace;
    const filter = ns === undefined ? undefined : (f: MeshFlow) => f.source.namespace === ns || f.destination.namespace === ns || f.destination.service?.startsWith(`${ns}/`) === true;
    const { items, missed } = this.#flows.since(Math.max(0, q.sinceSeq ?? 0), limit, filter);
    return { flows: items.map((i) => i.item), lastSeq: this.#flows.lastSeq, missed };
  }

  /** Calls `listener` with every flow stored from now on; returns the unsubscribe. Throws
   * RangeError beyond maxSubscribers. */
  subscribe(listener: FlowListener): () => void {
    if (this.#listeners.size >= this.limits.maxSubscribers) throw new RangeError(`too many flow subscribers (maxSubscribers ${this.limits.maxSubscribers})`);
    const l: FlowListener = (f) => listener(f);
    this.#listeners.add(l);
    return () => {
      this.#listeners.delete(l);
    };
  }

  get subscribers(): number {
    return this.#listeners.size;
  }
}
