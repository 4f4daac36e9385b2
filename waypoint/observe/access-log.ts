// One access-log line per request. The fields are a pure function of the record and the
// config snapshot (requestLogFields); the line is written by the logger's asynchronous
// destination (core/log.ts), so the request path only serialises it, as the node agent's
// connection log does (node-agent/observe/access-log.ts).
import type { Logger } from '../../core/log.js';
import type { LabelState } from './request-labels.js';
import { formatResponseFlags, type AddressRecord, type RequestRecord } from './request-record.js';

const addr = (a: AddressRecord | undefined): string | undefined => (a === undefined ? undefined : a.ip.includes(':') ? `[${a.ip}]:${a.port}` : `${a.ip}:${a.port}`);

/**
 * One flat object per request, with the node agent's key names where they mean the same
 * (`src.addr`, `src.identity`, `dst.service`, `dst.workload`, `bytes_sent`, `duration_ms`,
 * `response_flags`). Absent values are left out. Workloads are named by pod name.
 * `bytes_recv` counts request body bytes from the client, `bytes_sent` response body bytes
 * to it. `upstream` is the endpoint the request went to.
 */
export function requestLogFields(r: RequestRecord, state: LabelState): Record<string, unknown> {
  const src = r.sourceWorkload === undefined ? undefined : state.workloadByUid(r.sourceWorkload);
  const dst = r.destinationWorkload === undefined ? undefined : state.workloadByUid(r.destinationWorkload);
  const svc = r.destinationService === undefined ? undefined : state.serviceByKey(r.destinationService);
  const fields: Record<string, unknown> = {
    method: r.method,
    authority: r.authority,
    path: r.path,
    protocol: r.protocol === 'grpc' ? 'grpc' : `HTTP/${r.httpVersion}`,
    status: r.status,
    grpc_status: r.grpcStatus,
    duration_ms: r.durationMs,
    bytes_recv: r.requestBytes,
    bytes_sent: r.responseBytes,
    response_flags: formatResponseFlags(r.responseFlags),
    upstream: addr(r.upstream),
    'src.addr': addr(r.sourceAddress),
    'src.workload': src?.name,
    'src.namespace': src?.namespace,
    'src.identity': r.sourceIdentity,
    'dst.service': svc?.hostname ?? r.destinationService?.slice(r.destinationService.indexOf('/') + 1),
    'dst.backend_service': r.backendService,
    'dst.workload': dst?.name,
    'dst.namespace': dst?.namespace,
    'dst.identity': r.destinationIdentity,
    route: r.route,
    rule: r.rule,
    trace_id: r.traceId,
    span_id: r.spanId,
    mtls: r.mtls,
    error: r.error,
  };
  for (const k of Object.keys(fields)) if (fields[k] === undefined || fields[k] === '') delete fields[k];
  return fields;
}

/** Writes one `request` line per record at info level. */
export function writeRequestLog(logger: Logger, r: RequestRecord, state: LabelState): void {
  logger.info(requestLogFields(r, state), 'request');
}
