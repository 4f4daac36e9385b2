// The traffic summary the node agent (and a waypoint, for what it carries as TCP) keeps
// for the controller (docs/telemetry.md): each connection's record folded into an edge of
// the EdgeSummary, and one flow in the FlowRing, reported every few seconds by the
// TelemetryReporter (telemetry-reporter.ts). The mapping from a record is pure
// (connectionEdgeKey, connectionVerdict, connectionFlow); the class only holds the two
// bounded structures.
//
// What is kept is what the controller will count (countedReporter, the reporter rule) and
// what this proxy may report: a node agent reports only connections whose reporting side
// (the source for an outbound record, the destination for an inbound one) is a workload on
// its own node, since the controller refuses anything else.
import type { Workload } from '../../core/config/model.js';
import { EdgeSummary } from '../../core/observe/edge-summary.js';
import { FlowRing } from '../../core/observe/flow-ring.js';
import { countedReporter, TELEMETRY_LIMITS, type EdgeKey, type Flow, type FlowPeer, type TelemetryReport, type Verdict } from '../../core/observe/telemetry-wire.js';
import type { ConnectionRecord } from '../proxy/record.js';
import type { ProxyState } from '../state/snapshot.js';
import { recordService, responseFlags, RESPONSE_FLAGS } from './labels.js';

type Lookup = Pick<ProxyState, 'workloadByUid' | 'serviceByKey' | 'servicesForWorkload'>;

function peerOf(w: Workload | undefined, identity: string | undefined): FlowPeer {
  const p: FlowPeer = {};
  if (w !== undefined) {
    p.workload = w.canonicalName || w.name;
    p.namespace = w.namespace;
    p.pod = w.name;
  }
  const id = identity || w?.identity;
  if (id) p.identity = id;
  return p;
}

const keyPeer = (p: FlowPeer) => {
  const { pod: _pod, ...rest } = p;
  return rest;
};

/** The connection's verdict and deciding policy: the enforced decision (a DENY response
 * flag counts as denied when the record carries no decision: STRICT mTLS, a waypoint's TCP
 * refusal), would-deny when only a dry-run policy denies. */
export function connectionVerdict(r: ConnectionRecord): { verdict: Verdict; policy?: string } {
  const a = r.authz;
  if (a !== undefined) {
    if (a.decision === 'DENY') return { verdict: 'denied', ...(a.policy !== undefined && { policy: a.policy }) };
    if (a.dryRun?.decision === 'DENY') return { verdict: 'would-deny', ...(a.dryRun.policy !== undefined && { policy: a.dryRun.policy }) };
    return { verdict: 'allowed', ...(a.policy !== undefined && { policy: a.policy }) };
  }
  return { verdict: responseFlags(r) === RESPONSE_FLAGS.denied ? 'denied' : 'allowed' };
}

/** A record's source and destination as flows name them. */
function peers(r: ConnectionRecord, state: Lookup): { source: FlowPeer; destination: Flow['destination'] } {
  const src = r.sourceWorkload === undefined ? undefined : state.workloadByUid(r.sourceWorkload);
  const dst = r.destinationWorkload === undefined ? undefined : state.workloadByUid(r.destinationWorkload);
  const destination: Flow['destination'] = peerOf(dst, r.destinationIdentity);
  const svc = recordService(r, state as ProxyState);
  if (svc !== undefined) destination.service = `${svc.namespace}/${svc.hostname}`;
  return { source: peerOf(src, r.sourceIdentity), destination };
}

/**
 * The edge a connection record belongs to, or undefined when it is not reported: the
 * reporter rule does not count it, or (with `node`) its reporting side is not a workload on
 * that node.
 */
export function connectionEdgeKey(r: ConnectionRecord, state: Lookup, node?: string): { key: EdgeKey; source: FlowPeer; destination: Flow['destination'] } | undefined {
  const viaWaypoint = r.reporter === 'waypoint' || r.via === 'waypoint';
  if (!countedReporter({ reporter: r.reporter, mtls: r.mtls, viaWaypoint })) return undefined;
  if (node !== undefined && r.reporter !== 'waypoint') {
    const uid = r.reporter === 'source' ? r.sourceWorkload : r.destinationWorkload;
    const local = uid === undefined ? undefined : state.workloadByUid(uid);
    if (local === undefined || local.node !== node) return undefined;
  }
  const { source, destination } = peers(r, state);
  return {
    key: { reporter: r.reporter, source: keyPeer(source), destination: keyPeer(destination), port: r.originalDst?.port ?? 0, protocol: 'tcp', mtls: r.mtls, viaWaypoint },
    source,
    destination,
  };
}

/** The flow of a finished connection. */
export function connectionFlow(r: ConnectionRecord, k: NonNullable<ReturnType<typeof connectionEdgeKey>>): Flow {
  const v = connectionVerdict(r);
  return {
    time: r.startedAt.getTime(),
    reporter: r.reporter,
    source: k.source,
    destination: k.destination,
    port: k.key.port,
    protocol: 'tcp',
    mtls: r.mtls,
    viaWaypoint: k.key.viaWaypoint,
    verdict: v.verdict,
    ...(v.policy !== undefined && { policy: v.policy }),
    flags: responseFlags(r),
    durationMs: Math.max(0, Math.round(r.durationMs)),
    bytesSent: r.bytesSent,
    bytesReceived: r.bytesReceived,
  };
}

export interface TrafficTelemetryOptions {
  /** A node agent's node: only connections whose reporting side runs there are kept. Absent (a waypoint): all. */
  node?: string;
  maxEdges?: number;
  maxFlows?: number;
}

/** The summary since the last report and the recent flows; see the header. */
export class TrafficTelemetry {
  readonly summary: EdgeSummary;
  readonly flows: FlowRing<Flow>;
  readonly #node: string | undefined;
  #reportedSeq = 0;

  constructor(o: TrafficTelemetryOptions = {}) {
    this.summary = new EdgeSummary(o.maxEdges ?? TELEMETRY_LIMITS.maxEdges);
    this.flows = new FlowRing<Flow>(o.maxFlows ?? TELEMETRY_LIMITS.maxFlows);
    this.#node = o.node;
  }

  connectionOpened(r: ConnectionRecord, state: Lookup): void {
    const k = connectionEdgeKey(r, state, this.#node);
    if (k !== undefined) this.summary.connectionOpened(k.key);
  }

  connectionEnded(r: ConnectionRecord, state: Lookup): void {
    const k = connectionEdgeKey(r, state, this.#node);
    if (k === undefined) return;
    // Istio's direction words: the record's bytesSent is client -> upstream.
    this.summary.connectionClosed(k.key, r.bytesSent, r.bytesReceived);
    const flow = connectionFlow(r, k);
    if (r.authz !== undefined || flow.verdict === 'denied') this.summary.decision(k.key, flow.verdict, flow.policy);
    this.flows.push(flow);
  }

  /** What to report now (edges since the last call, flows not reported yet), or undefined when there is nothing. */
  takeReport(): TelemetryReport | undefined {
    const { edges, overflow } = this.summary.take();
    const { items, missed } = this.flows.since(this.#reportedSeq);
    this.#reportedSeq = this.flows.lastSeq;
    if (edges.length === 0 && items.length === 0 && missed === 0) return undefined;
    return { edges, overflowEdges: overflow, flows: items.map((i) => i.item), droppedFlows: missed };
  }
}
