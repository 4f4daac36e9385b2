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
  // Only the fields that have a value are set, in the line's order (an object whose keys
  // are deleted afterwards turns into a slow dictionary, serialised once per request).
  const fields: Record<string, unknown> = {};
  const put = (k: string, v: unknown) => {
    if (v !== undefined && v !== '') fields[k] = v;
  };
  put('method', r.method);
  put('authority', r.authority);
  put('path', r.path);
  put('protocol', r.protocol === 'grpc' ? 'grpc' : `HTTP/${r.httpVersion}`);
  put('status', r.status);
  put('grpc_status', r.grpcStatus);
  put('duration_ms', r.durationMs);
  put('bytes_recv', r.requestBytes);
  put('bytes_sent', r.responseBytes);
  put('response_flags', formatResponseFlags(r.responseFlags));
  put('upstream', addr(r.upstream));
  put('src.addr', addr(r.sourceAddress));
  put('src.workload', src?.name);
  put('src.namespace', src?.namespace);
  put('src.identity', r.sourceIdentity);
  put('dst.service', svc?.hostname ?? r.destinationService?.slice(r.destinationService.indexOf('/') + 1));
  put('dst.backend_service', r.backendService);
  put('dst.workload', dst?.name);
  put('dst.namespace', dst?.namespace);
  put('dst.identity', r.destinationIdentity);
  put('route', r.route);
  put('rule', r.rule);
  put('trace_id', r.traceId);
  put('span_id', r.spanId);
  put('mtls', r.mtls);
  put('error', r.error);
  return fields;
}

/** Writes one `request` line per record at info level. */
export function writeRequestLog(logger: Logger, r: RequestRecord, state: LabelState): void {
  logger.info(requestLogFields(r, state), 'request');
}
