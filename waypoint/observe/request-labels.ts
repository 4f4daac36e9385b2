// Istio's standard request metric labels for a finished request, as the waypoint reports
// them (reporter="waypoint", as Istio's waypoints do). Pure: the record and a read-only view
// of the waypoint's config in, label values out. The workload and Service labels are derived
// exactly as the node agent's TCP metrics derive them (core/observe/istio-labels.ts).
// Label names and meanings: https://istio.io/latest/docs/reference/config/metrics/
import type { MeshService, Workload } from '../../core/config/model.js';
import { peerLabelValues, serviceLabelValues, UNKNOWN } from '../../core/observe/istio-labels.js';
import { formatResponseFlags, type RequestRecord } from './request-record.js';

export const REQUEST_LABELS = [
  'reporter',
  'source_workload',
  'source_canonical_service',
  'source_canonical_revision',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_cluster',
  'destination_workload',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_cluster',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const;

export type RequestLabel = (typeof REQUEST_LABELS)[number];

/** What the labels read from the waypoint's config (the node agent's ProxyState has the same two lookups). */
export interface LabelState {
  workloadByUid(uid: string): Workload | undefined;
  serviceByKey(key: string): MeshService | undefined;
}

/** The Service named by a key, or, when it is gone from the config, what the key says (`<ns>/<hostname>`). */
function serviceOf(key: string | undefined, state: LabelState): { hostname: string; name?: string; namespace: string } | undefined {
  if (key === undefined) return undefined;
  const s = state.serviceByKey(key);
  if (s !== undefined) return s;
  const slash = key.indexOf('/');
  if (slash <= 0) return undefined;
  const namespace = key.slice(0, slash);
  const hostname = key.slice(slash + 1);
  const [first, second] = hostname.split('.');
  return second === namespace && first ? { hostname, name: first, namespace } : { hostname, namespace };
}

/**
 * The labels of one request.
 * - destination_service*: the Service the client addressed (a route may send the request to
 *   another Service's endpoints; the metric is about the Service called, as Istio's is);
 *   destination_workload*: the endpoint chosen ("unknown" when none was: no route, no
 *   healthy endpoint).
 * - response_code: the status sent, "0" when the client left before one was sent (Envoy's).
 * - grpc_response_status: the grpc-status for gRPC requests, empty otherwise (Istio's).
 * - connection_security_policy: mutual_tls when the request came over HBONE, else none.
 * - source_cluster / destination_cluster: the configured cluster name (one cluster).
 */
export function requestMetricLabels(r: RequestRecord, state: LabelState, cluster: string): Record<RequestLabel, string> {
  const src = peerLabelValues(r.sourceWorkload === undefined ? undefined : state.workloadByUid(r.sourceWorkload));
  const dst = peerLabelValues(r.destinationWorkload === undefined ? undefined : state.workloadByUid(r.destinationWorkload));
  const svc = serviceLabelValues(serviceOf(r.destinationService, state));
  return {
    reporter: 'waypoint',
    source_workload: src.workload,
    source_canonical_service: src.canonical_service,
    source_canonical_revision: src.canonical_revision,
    source_workload_namespace: src.workload_namespace,
    source_principal: r.sourceIdentity || UNKNOWN,
    source_app: src.app,
    source_version: src.version,
    source_cluster: cluster,
    destination_workload: dst.workload,
    destination_canonical_service: dst.canonical_service,
    destination_canonical_revision: dst.canonical_revision,
    destination_workload_namespace: dst.workload_namespace,
    destination_principal: r.destinationIdentity || UNKNOWN,
    destination_app: dst.app,
    destination_version: dst.version,
    destination_service: svc.service,
    destination_service_name: svc.service_name,
    destination_service_namespace: svc.service_namespace,
    destination_cluster: cluster,
    request_protocol: r.protocol,
    response_code: String(r.status),
    grpc_response_status: r.protocol === 'grpc' && r.grpcStatus !== undefined ? String(r.grpcStatus) : '',
    response_flags: formatResponseFlags(r.responseFlags),
    connection_security_policy: r.mtls ? 'mutual_tls' : 'none',
  };
}

/** What decides a record's labels besides the config snapshot: the cache key. */
export function requestLabelKey(r: RequestRecord): string {
  return `${r.sourceWorkload ?? ''}\u0000${r.sourceIdentity ?? ''}\u0000${r.destinationService ?? ''}\u0000${r.destinationWorkload ?? ''}\u0000${r.destinationIdentity ?? ''}\u0000${r.protocol}\u0000${r.status}\u0000${r.protocol === 'grpc' ? (r.grpcStatus ?? '') : ''}\u0000${r.responseFlags.join(',')}\u0000${r.mtls ? 1 : 0}`;
}
