// A finished request in the waypoint's traffic summary (docs/telemetry.md): one L7 edge
// observation (status class, latency, bytes, the authorization verdict) and one flow. The
// waypoint is the reporter the mesh counts for L7 (core/observe/telemetry-wire.ts
// countedReporter). Pure mapping (requestEdge, requestFlow); recordRequest puts the result
// into the waypoint's TrafficTelemetry (the same one its TCP records go to).
import type { EdgeKey, Flow, FlowPeer, Verdict } from '../../core/observe/telemetry-wire.js';
import type { Workload } from '../../core/config/model.js';
import type { TrafficTelemetry } from '../../node-agent/observe/telemetry.js';
import type { LabelState } from './request-labels.js';
import { formatResponseFlags, type RequestRecord } from './request-record.js';

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

/** The request's verdict and deciding policy (the enforced one; the dry-run one for would-deny). */
export function requestVerdict(r: RequestRecord): { verdict: Verdict; policy?: string } {
  const a = r.authz;
  if (a === undefined) return { verdict: 'allowed' };
  if (a.decision === 'DENY') return { verdict: 'denied', ...(a.policy !== undefined && { policy: a.policy }) };
  if (a.dryRun?.decision === 'DENY') return { verdict: 'would-deny', ...(a.dryRun.policy !== undefined && { policy: a.dryRun.policy }) };
  return { verdict: 'allowed', ...(a.policy !== undefined && { policy: a.policy }) };
}

/** The edge of a request and its two sides as flows name them. */
export function requestEdge(r: RequestRecord, state: LabelState): { key: EdgeKey; source: FlowPeer; destination: Flow['destination'] } {
  const source = peerOf(r.sourceWorkload === undefined ? undefined : state.workloadByUid(r.sourceWorkload), r.sourceIdentity);
  const destination: Flow['destination'] = peerOf(r.destinationWorkload === undefined ? undefined : state.workloadByUid(r.destinationWorkload), r.destinationIdentity);
  if (r.destinationService !== undefined) destination.service = r.destinationService;
  const { pod: _s, ...src } = source;
  const { pod: _d, ...dst } = destination;
  return { key: { reporter: 'waypoint', source: src, destination: dst, port: r.upstream?.port ?? 0, protocol: r.protocol, mtls: r.mtls, viaWaypoint: true }, source, destination };
}

/** The flow of a finished request: never its path, query, headers or body. */
export function requestFlow(r: RequestRecord, e: ReturnType<typeof requestEdge>): Flow {
  const v = requestVerdict(r);
  return {
    time: Math.round(r.startedAt),
    reporter: 'waypoint',
    source: e.source,
    destination: e.destination,
    port: e.key.port,
    protocol: r.protocol,
    mtls: r.mtls,
    viaWaypoint: true,
    verdict: v.verdict,
    ...(v.policy !== undefined && { policy: v.policy }),
    status: r.status,
    flags: formatResponseFlags(r.responseFlags),
    durationMs: Math.max(0, Math.round(r.durationMs)),
    bytesSent: r.requestBytes,
    bytesReceived: r.responseBytes,
  };
}

/** Puts a finished request into the summary and the flow ring. */
export function recordRequest(t: TrafficTelemetry, r: RequestRecord, state: LabelState): void {
  const e = requestEdge(r, state);
  t.summary.request(e.key, { status: r.status, ...(r.protocol === 'grpc' && r.grpcStatus !== undefined && { grpcStatus: r.grpcStatus }), durationMs: r.durationMs, bytesSent: r.requestBytes, bytesReceived: r.responseBytes });
  const flow = requestFlow(r, e);
  if (r.authz !== undefined) t.summary.decision(e.key, flow.verdict, flow.policy);
  t.flows.push(flow);
}
