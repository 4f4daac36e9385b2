// What a finished connection looks like to an operator: Istio's standard TCP metric labels
// and one flat access-log object. Pure functions of the record and the agent's state
// (DESIGN.md section 7, "Record each connection's outcome exactly once": the record is
// built by the proxy; here it is only described).
//
// Label names, their meaning and the "unknown" fallback follow Istio's standard metrics
// (https://istio.io/latest/docs/reference/config/metrics/), as ztunnel reports them
// (ztunnel src/proxy/metrics.rs `CommonTrafficLabels`), so dashboards and alerts written
// for Istio work unchanged.
import type { MeshService } from '../../core/config/model.js';
import { peerLabelValues, serviceLabelValues, UNKNOWN } from '../../core/observe/istio-labels.js';
import type { Address } from '../proxy/outbound-plan.js';
import type { ConnectionRecord } from '../proxy/record.js';
import type { ProxyState } from '../state/snapshot.js';

export const TCP_LABELS = [
  'reporter',
  'source_workload',
  'source_canonical_service',
  'source_canonical_revision',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'destination_workload',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'request_protocol',
  'response_flags',
  'connection_security_policy',
] as const;

export type TcpLabel = (typeof TCP_LABELS)[number];

export { UNKNOWN };

/**
 * The response_flags values this agent reports: a small fixed set, so that a label never
 * explodes in cardinality. Envoy's short flags where one means the same thing
 * (https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage,
 * %RESPONSE_FLAGS%), and ztunnel's `DENY` for a connection refused by policy (Envoy has no
 * flag for an RBAC denial; ztunnel src/proxy/metrics.rs `ResponseFlags`).
 */
export const RESPONSE_FLAGS = {
  /** Nothing went wrong. */
  none: '-',
  /** Refused by policy: authorization, or plaintext to a workload that requires mTLS (STRICT). */
  denied: 'DENY',
  /** No route: the agent had no acceptable place to send it (a Service port that does not
   * exist, a loop through the agent's own ports, a target that is not the pod's, or no
   * decision could be made at all). */
  noRoute: 'NR',
  /** No healthy upstream: a Service without a ready endpoint, an unavailable waypoint, or a
   * destination pod the agent does not know (yet). */
  noHealthyUpstream: 'UH',
  /** Upstream connect failure: the TCP connect, the HBONE tunnel, or the destination's
   * connect to its app failed. */
  upstreamConnectFailure: 'UF',
  /** Upstream connection termination: the upstream reset or failed after connecting. */
  upstreamTermination: 'UC',
  /** Downstream connection termination: the client left or reset (before or after the upstream connected). */
  downstreamTermination: 'DC',
  /** Downstream protocol error: an HBONE request that was not a valid CONNECT. */
  downstreamProtocolError: 'DPE',
} as const;

export type ResponseFlag = (typeof RESPONSE_FLAGS)[keyof typeof RESPONSE_FLAGS];

// The planners' reject reasons (outbound-plan.ts OutboundRejectReason, inbound-plan.ts
// InboundRejectReason). A reason not listed here (a newer planner) is DENY when it names a
// policy decision, else NR.
const REJECT_FLAGS: Readonly<Record<string, ResponseFlag>> = {
  'plaintext-strict': RESPONSE_FLAGS.denied,
  'authz-denied': RESPONSE_FLAGS.denied,
  'no-healthy-endpoints': RESPONSE_FLAGS.noHealthyUpstream,
  'waypoint-unavailable': RESPONSE_FLAGS.noHealthyUpstream,
  'workload-unknown': RESPONSE_FLAGS.noHealthyUpstream,
  'unknown-service-port': RESPONSE_FLAGS.noRoute,
  'agent-port': RESPONSE_FLAGS.noRoute,
  'target-not-local': RESPONSE_FLAGS.noRoute,
  'source-not-local': RESPONSE_FLAGS.noRoute,
};
const POLICY_REASON = /deny|denied|policy|authz|unauthori[sz]ed/i;

// The record carries failures as text, written by the executors; these patterns match the
// texts they write (node-agent/proxy/outbound.ts, inbound.ts, accepted.ts, pipe.ts and
// core/hbone/server.ts, tunnel.ts). Tests pin each one (labels.test.ts).
/** The destination's HBONE server answered 401 (core/hbone/client.ts statusError). */
const DENIED_BY_PEER = /^hbone to .*\bdenied\b.*\(401\)/;
const CONNECT_FAILED = [
  /^passthrough to \S+ failed: /, // outbound passthrough connect
  /^hbone to \S+: /, // outbound tunnel: TLS, CONNECT, or the destination's 503
  /^app \S+ unreachable: /, // inbound plaintext: the app in the pod
  /^upstream \S+ unreachable: /, // inbound HBONE: the app in the pod (answered 503)
];
/** An open connection the destination closed because a config change denies it
 * (authorize.ts revokedMessage). */
const REVOKED = /^connection closed: now denied\b/;
const CLIENT_LEFT_EARLY = [/^client closed before the upstream connected$/, /^stream reset by peer before the upstream connected$/];

/** The response_flags value for a finished connection; see RESPONSE_FLAGS. */
export function responseFlags(r: ConnectionRecord): ResponseFlag {
  if (r.plan === 'reject') {
    if (r.reason !== undefined) return REJECT_FLAGS[r.reason] ?? (POLICY_REASON.test(r.reason) ? RESPONSE_FLAGS.denied : RESPONSE_FLAGS.noRoute);
    // An inbound HBONE stream that never reached the planner: it was malformed, or the
    // peer gave up first.
    if (r.error !== undefined && CLIENT_LEFT_EARLY.some((p) => p.test(r.error!))) return RESPONSE_FLAGS.downstreamTermination;
    return RESPONSE_FLAGS.downstreamProtocolError;
  }
  const error = r.error;
  if (error === undefined) return RESPONSE_FLAGS.none;
  if (DENIED_BY_PEER.test(error) || REVOKED.test(error)) return RESPONSE_FLAGS.denied;
  if (CONNECT_FAILED.some((p) => p.test(error))) return RESPONSE_FLAGS.upstreamConnectFailure;
  if (CLIENT_LEFT_EARLY.some((p) => p.test(error))) return RESPONSE_FLAGS.downstreamTermination;
  // After the upstream connected: which side failed. The pipes name the side: `client:` /
  // `upstream:` (pipe.ts), `tcp:` (the socket) / `stream` (the HTTP/2 stream) in
  // tunnel.ts and server.ts; outbound the socket is the app (downstream), inbound HBONE the
  // stream is the remote peer (downstream).
  const outbound = r.direction === 'outbound';
  if (error.startsWith('client:')) return RESPONSE_FLAGS.downstreamTermination;
  if (error.startsWith('upstream:')) return RESPONSE_FLAGS.upstreamTermination;
  if (error.startsWith('tcp:')) return outbound ? RESPONSE_FLAGS.downstreamTermination : RESPONSE_FLAGS.upstreamTermination;
  if (error.startsWith('stream')) return outbound ? RESPONSE_FLAGS.upstreamTermination : RESPONSE_FLAGS.downstreamTermination;
  // No plan was made ("planning failed: ..."): nowhere to send it.
  if (r.plan === 'none') return RESPONSE_FLAGS.noRoute;
  return RESPONSE_FLAGS.none;
}

/** The Service a record is about. Outbound: the one the app addressed (record.service).
 * Inbound, where the record names none: the destination pod's only Service, or the only
 * one of its Services with a port targeting the port connected to, as ztunnel guesses it
 * (`guess_inbound_service`); none when that is ambiguous. */
export function recordService(r: ConnectionRecord, state: ProxyState): { hostname: string; name?: string; namespace: string } | undefined {
  if (r.service !== undefined) {
    const s = state.serviceByKey(r.service);
    if (s !== undefined) return s;
    // Gone from the state since (a push in between): the key still says `<ns>/<hostname>`.
    const slash = r.service.indexOf('/');
    if (slash <= 0) return undefined;
    const namespace = r.service.slice(0, slash);
    const hostname = r.service.slice(slash + 1);
    const [first, second] = hostname.split('.');
    return second === namespace && first ? { hostname, name: first, namespace } : { hostname, namespace };
  }
  if (r.reporter !== 'destination' || r.destinationWorkload === undefined) return undefined;
  const services = state.servicesForWorkload(r.destinationWorkload);
  if (services.length === 1) return services[0];
  const port = r.originalDst?.port;
  if (port === undefined) return undefined;
  const uid = r.destinationWorkload;
  const matching = services.filter((s) => targetsPort(s, uid, port));
  return matching.length === 1 ? matching[0] : undefined;
}

function targetsPort(s: MeshService, uid: string, port: number): boolean {
  const endpoint = s.endpoints.find((e) => e.workloadUid === uid);
  return s.ports.some((p) => p.protocol === 'TCP' && (p.targetPort === port || (p.targetPort === 0 && endpoint?.ports[String(p.port)] === port)));
}

/**
 * Istio's standard TCP metric labels for a connection. Workloads are looked up by uid and
 * the Service by key in `state`; what is missing is "unknown", as Istio reports it.
 *
 * - *_workload is Workload.canonicalName, "the workload's owner, for metrics" in the config
 *   model, which carries no separate Deployment name; *_canonical_service is the same
 *   value, since the controller derives canonicalName from the canonical-name labels
 *   first, as Istio derives the canonical service (controller/translate/workloads.ts).
 * - source_principal / destination_principal: the SPIFFE IDs the record holds (the peer
 *   certificate's on the destination side).
 * - connection_security_policy: `mutual_tls` when the connection was carried over HBONE,
 *   else `none`, on both reporters, as ztunnel reports it (Envoy's sidecars say `unknown`
 *   on the source side because they cannot tell; we can).
 */
export function tcpMetricLabels(r: ConnectionRecord, state: ProxyState): Record<TcpLabel, string> {
  const src = r.sourceWorkload === undefined ? undefined : state.workloadByUid(r.sourceWorkload);
  const dst = r.destinationWorkload === undefined ? undefined : state.workloadByUid(r.destinationWorkload);
  const source = peerLabelValues(src);
  const destination = peerLabelValues(dst);
  const service = serviceLabelValues(recordService(r, state));
  return {
    reporter: r.reporter,
    source_workload: source.workload,
    source_canonical_service: source.canonical_service,
    source_canonical_revision: source.canonical_revision,
    source_workload_namespace: source.workload_namespace,
    source_principal: r.sourceIdentity || UNKNOWN,
    source_app: source.app,
    destination_workload: destination.workload,
    destination_canonical_service: destination.canonical_service,
    destination_canonical_revision: destination.canonical_revision,
    destination_workload_namespace: destination.workload_namespace,
    destination_principal: r.destinationIdentity || UNKNOWN,
    destination_app: destination.app,
    destination_service: service.service,
    destination_service_name: service.service_name,
    destination_service_namespace: service.service_namespace,
    request_protocol: 'tcp',
    response_flags: responseFlags(r),
    connection_security_policy: r.mtls ? 'mutual_tls' : 'none',
  };
}

const addr = (a: Address | undefined): string | undefined => (a === undefined ? undefined : a.ip.includes(':') ? `[${a.ip}]:${a.port}` : `${a.ip}:${a.port}`);

/**
 * One flat object per connection for the access log, with ztunnel's key names
 * (`src.addr`, `dst.workload`, ...: ztunnel src/proxy/metrics.rs `ConnectionResult`).
 * Absent values are left out rather than written as "unknown": a log line says what is
 * known. Workloads are named by pod name (as ztunnel's log does), not by canonical name.
 *
 * `dst.addr` is where the bytes went: the upstream the agent connected to, except for an
 * outbound HBONE tunnel, where the upstream is the tunnel's peer (`dst.hbone_addr`, port
 * 15008) and `dst.addr` is the destination the app addressed. `dst.original_addr` is the
 * address the app addressed when it differs from `dst.addr` (a Service VIP).
 * `bytes_sent` counts client -> upstream, `bytes_recv` upstream -> client.
 */
export function accessLogFields(r: ConnectionRecord, state: ProxyState): Record<string, unknown> {
  const src = r.sourceWorkload === undefined ? undefined : state.workloadByUid(r.sourceWorkload);
  const dst = r.destinationWorkload === undefined ? undefined : state.workloadByUid(r.destinationWorkload);
  const svc = recordService(r, state);
  const outboundHbone = r.direction === 'outbound' && r.plan === 'hbone';
  const dstAddr = outboundHbone ? addr(r.originalDst) : (addr(r.upstream) ?? addr(r.originalDst));
  const original = addr(r.originalDst);
  const fields: Record<string, unknown> = {
    'src.addr': addr(r.client),
    'src.workload': src?.name,
    'src.namespace': src?.namespace,
    'src.identity': r.sourceIdentity,
    'dst.addr': dstAddr,
    'dst.hbone_addr': outboundHbone ? addr(r.upstream) : undefined,
    'dst.original_addr': original !== dstAddr ? original : undefined,
    'dst.service': svc?.hostname,
    'dst.workload': dst?.name,
    'dst.namespace': dst?.namespace,
    'dst.identity': r.destinationIdentity,
    direction: r.direction,
    reporter: r.reporter,
    plan: r.plan,
    via: r.via,
    reason: r.reason,
    response_flags: responseFlags(r),
    bytes_sent: r.bytesSent,
    bytes_recv: r.bytesReceived,
    duration_ms: r.durationMs,
    mtls: r.mtls,
    error: r.error,
    // The HBONE CONNECT's trace id: the same in both agents' lines and the waypoint's
    // request lines (docs/observability.md).
    trace_id: r.traceparent?.slice(3, 35),
    // The authorization decision (inbound): the enforced one, and what the dry-run
    // policies would have decided when one applies.
    'authz.decision': r.authz?.decision,
    'authz.policy': r.authz?.policy,
    'authz.rule': r.authz?.rule,
    'authz.dry_run_decision': r.authz?.dryRun?.decision,
    'authz.dry_run_policy': r.authz?.dryRun?.policy,
    'authz.dry_run_rule': r.authz?.dryRun?.rule,
  };
  for (const k of Object.keys(fields)) if (fields[k] === undefined || fields[k] === '') delete fields[k];
  return fields;
}

/** Labels of ambient_authorization_decisions_total, exactly these. Their values are bounded
 * by the config, as the TCP metrics' are: workloads by canonical name (not pod), policies by
 * `namespace/name`, and fixed words for the rest. */
export const AUTHZ_LABELS = [
  'reporter',
  'destination_workload',
  'destination_workload_namespace',
  'policy',
  'action',
  'decision',
  'dry_run',
] as const;

export type AuthzLabel = (typeof AUTHZ_LABELS)[number];

/** What one decision made by the agent's enforcer contributes to the counter (enforcer.ts
 * DecisionEvent, taken apart so that this stays a pure function of data). */
export interface AuthzDecisionInput {
  kind: 'connect' | 'revoke';
  destination: { canonicalName: string; namespace: string };
  enforced: { decision: 'ALLOW' | 'DENY'; policy?: string; action?: 'ALLOW' | 'DENY' };
  dryRun?: { decision: 'ALLOW' | 'DENY'; policy?: string; action?: 'ALLOW' | 'DENY' };
  /** AUDIT policies whose rule matched, in the enforced decision and in the dry-run one. */
  audits: readonly string[];
  dryRunAudits: readonly string[];
}

/**
 * The label sets one decision counts under: the enforced decision (policy and action "none"
 * when no policy decided: no policy at all, no ALLOW rule matched, or no decision could be
 * made); the dry-run decision with dry_run="true" when a dry-run policy applies; one
 * action="AUDIT" entry per matched AUDIT policy (dry_run="true" for those only the dry-run
 * evaluation matched). A connection closed after a config change counts its new, enforced
 * decision only.
 */
export function authzDecisionLabels(e: AuthzDecisionInput): Array<Record<AuthzLabel, string>> {
  const base = {
    reporter: 'destination',
    destination_workload: e.destination.canonicalName || UNKNOWN,
    destination_workload_namespace: e.destination.namespace || UNKNOWN,
  };
  const one = (d: AuthzDecisionInput['enforced'], dryRun: boolean): Record<AuthzLabel, string> => ({
    ...base,
    policy: d.policy ?? 'none',
    action: d.action ?? 'none',
    decision: d.decision,
    dry_run: String(dryRun),
  });
  const out = [one(e.enforced, false)];
  if (e.kind === 'revoke') return out;
  if (e.dryRun !== undefined) out.push(one(e.dryRun, true));
  for (const policy of e.audits) out.push({ ...base, policy, action: 'AUDIT', decision: e.enforced.decision, dry_run: 'false' });
  const enforcedAudits = new Set(e.audits);
  for (const policy of e.dryRunAudits) {
    if (!enforcedAudits.has(policy)) out.push({ ...base, policy, action: 'AUDIT', decision: e.dryRun?.decision ?? e.enforced.decision, dry_run: 'true' });
  }
  return out;
}
