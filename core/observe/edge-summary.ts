// What a node agent or waypoint carried since its last report, folded into edges (docs/
// telemetry.md): per (reporter, source, destination, port, protocol, mTLS, via waypoint)
// the L4 bytes and connections, the L7 requests by status class with a latency histogram,
// and the authorization verdicts with the deciding policies. Bounded: at most `maxEdges`
// distinct edges; an observation for a new edge beyond that goes to an `other` edge (no
// names, port 0) and is counted in `overflow`. take() hands everything over and starts
// afresh (reset on report). Pure: no clock, no I/O.
import { observe as observeLatency } from './latency-histogram.js';
import { addPolicy, edgeKeyString, emptyCounts, statusClass, TELEMETRY_LIMITS, type EdgeKey, type ReportedEdge, type Verdict } from './telemetry-wire.js';

export class EdgeSummary {
  readonly maxEdges: number;
  readonly maxPoliciesPerEdge: number;
  #edges = new Map<string, ReportedEdge>();
  /** Observations folded into an `other` edge since the last take(). */
  #overflow = 0;
  /** Edges held that are not `other` edges. */
  #named = 0;

  constructor(maxEdges: number = TELEMETRY_LIMITS.maxEdges, maxPoliciesPerEdge: number = TELEMETRY_LIMITS.maxPoliciesPerEdge) {
    if (!Number.isInteger(maxEdges) || maxEdges < 1) throw new RangeError(`maxEdges must be a positive integer, got ${maxEdges}`);
    if (!Number.isInteger(maxPoliciesPerEdge) || maxPoliciesPerEdge < 1) throw new RangeError(`maxPoliciesPerEdge must be a positive integer, got ${maxPoliciesPerEdge}`);
    this.maxEdges = maxEdges;
    this.maxPoliciesPerEdge = maxPoliciesPerEdge;
  }

  /** Distinct edges held now (`other` edges included). */
  get size(): number {
    return this.#edges.size;
  }

  get overflow(): number {
    return this.#overflow;
  }

  /** The edge of `key`, created when new; when maxEdges named edges are held, the `other`
   * edge of its reporter, protocol, mTLS and waypoint flag instead. */
  #track(key: EdgeKey): ReportedEdge {
    const k = edgeKeyString(key);
    const held = this.#edges.get(k);
    if (held !== undefined) return held;
    if (key.other !== true && this.#named >= this.maxEdges) {
      this.#overflow++;
      return this.#track({ reporter: key.reporter, source: {}, destination: {}, port: 0, protocol: key.protocol, mtls: key.mtls, viaWaypoint: key.viaWaypoint, other: true });
    }
    const e: ReportedEdge = {
      reporter: key.reporter,
      source: { ...key.source },
      destination: { ...key.destination },
      port: key.port,
      protocol: key.protocol,
      mtls: key.mtls,
      viaWaypoint: key.viaWaypoint,
      ...(key.other === true && { other: true as const }),
      ...emptyCounts(),
    };
    this.#edges.set(k, e);
    if (key.other !== true) this.#named++;
    return e;
  }

  /** A connection was established (counted once, when it opened). */
  connectionOpened(key: EdgeKey): void {
    this.#track(key).connectionsOpened++;
  }

  /** A connection ended: its bytes in each direction (source -> destination is `sent`). */
  connectionClosed(key: EdgeKey, sent: number, received: number): void {
    const e = this.#track(key);
    e.connectionsClosed++;
    e.bytesSent += sent;
    e.bytesReceived += received;
  }

  /** An HTTP or gRPC request ended. */
  request(key: EdgeKey, r: { status: number; grpcStatus?: number; durationMs: number; bytesSent: number; bytesReceived: number }): void {
    const e = this.#track(key);
    e.requests[statusClass(r.status, r.grpcStatus)]++;
    observeLatency(e.latency, r.durationMs);
    e.bytesSent += r.bytesSent;
    e.bytesReceived += r.bytesReceived;
  }

  /** An authorization verdict on the edge, with the policy that decided it (enforced, or the dry-run one for would-deny). */
  decision(key: EdgeKey, verdict: Verdict, policy?: string): void {
    const e = this.#track(key);
    if (verdict === 'allowed') e.allowed++;
    else if (verdict === 'denied') e.denied++;
    else e.wouldDeny++;
    if (policy !== undefined && verdict !== 'allowed') addPolicy(e, policy, verdict === 'denied' ? 1 : 0, verdict === 'would-deny' ? 1 : 0, this.maxPoliciesPerEdge);
  }

  /** Everything since the last take(), and a fresh start. */
  take(): { edges: ReportedEdge[]; overflow: number } {
    const out = { edges: [...this.#edges.values()], overflow: this.#overflow };
    this.#edges = new Map();
    this.#overflow = 0;
    this.#named = 0;
    return out;
  }
}
