// What the controller's API serves for GET /api/v1/graph and /api/v1/flows (controller/
// api/telemetry-source.ts reads it through this class): the rolling window fed by the
// reports of the node agents and waypoints connected to this replica, on the real clock.
//
// Several replicas: each holds what its own clients reported; the API merges the other
// replicas' edges and flows with these (controller/api/mesh-wide.ts, docs/telemetry.md).
//
// The certificates reporters list travel in the same reports; they are kept apart, in
// `certificates` (certificates.ts: the latest list per reporter).
import type { TelemetryReport } from '../../core/observe/telemetry-wire.js';
import { HeldCertificates, type HeldCertificatesLimits, type HeldCertificatesSnapshot } from './certificates.js';
import type { Graph } from './graph.js';
import type { TelemetryWindowLimits } from './limits.js';
import { TelemetryWindow, type FlowListener, type FlowsAnswer, type FlowsQuery, type GraphQuery, type ReportSource, type WindowEdges } from './window.js';

export type { Graph, GraphEdge, GraphNode } from './graph.js';
export type { HeldCertificatesSnapshot, HeldSet } from './certificates.js';
export type { FlowListener, FlowsAnswer, FlowsQuery, GraphQuery, MeshFlow, ReportSource, WindowEdges } from './window.js';

export class MeshTelemetry {
  readonly window: TelemetryWindow;
  readonly certificates: HeldCertificates;
  readonly #now: () => number;

  constructor(o: { limits?: Partial<TelemetryWindowLimits>; certificateLimits?: Partial<HeldCertificatesLimits>; now?: () => number } = {}) {
    this.window = new TelemetryWindow(o.limits);
    this.certificates = new HeldCertificates(o.certificateLimits);
    this.#now = o.now ?? Date.now;
  }

  /** A screened report from `from` (the report endpoint on 15012 calls this). `certificates`
   * in the answer: how many listed certificates were kept (absent when it listed none). */
  ingest(from: ReportSource, report: TelemetryReport): { edges: number; flows: number; certificates?: number } {
    const now = this.#now();
    const kept = this.window.ingest(from, report, now);
    if (report.certificates === undefined) return kept;
    return { ...kept, certificates: this.certificates.record(from, report.certificates, now) ? report.certificates.length : 0 };
  }

  /** The certificates this replica's clients hold (for the API, and for a peer replica to
   * merge: certificates.ts mergeHeldSnapshots). */
  heldCertificates(): HeldCertificatesSnapshot {
    return this.certificates.snapshot(this.#now());
  }

  /** The graph of what this replica's clients reported; with `peers` (other replicas' edges(), same window), the whole mesh's. */
  graph(q: GraphQuery, peers: readonly WindowEdges[] = []): Graph {
    return this.window.graph(q, this.#now(), peers);
  }

  /** This replica's edges over the window, for a peer replica to merge (graph's `peers`). */
  edges(q: Pick<GraphQuery, 'windowMs'>): WindowEdges {
    return this.window.edges(q, this.#now());
  }

  flows(q: FlowsQuery): FlowsAnswer {
    return this.window.flows(q);
  }

  subscribe(listener: FlowListener): () => void {
    return this.window.subscribe(listener);
  }
}
