// The waypoint's span for a request, with OpenTelemetry's semantic-convention attributes
// for an HTTP server span (https://opentelemetry.io/docs/specs/semconv/http/http-spans/)
// and, for gRPC, the RPC ones (https://opentelemetry.io/docs/specs/semconv/rpc/grpc/),
// plus the mesh's own attributes under `mesh.`. Pure: the record in, the span out; the
// tracer exports it.
//
// Name: `{method}` for HTTP (semconv: `{method} {http.route}` needs a route template, which
// Gateway API routes do not have), `{service}/{method}` for gRPC (rpc semconv).
// Status: ERROR for 5xx (a server span leaves 4xx unset), and for gRPC the codes semconv
// calls server errors (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE,
// DATA_LOSS); also when the client left before a response (status 0).
import type { FinishedSpan } from '../../core/trace/tracer.js';
import { formatResponseFlags, type AddressRecord, type RequestRecord } from './request-record.js';

const GRPC_SERVER_ERRORS = new Set([2, 4, 12, 13, 14, 15]);

/** host and port of an authority (`host`, `host:port`, `[v6]:port`). */
export function splitAuthority(authority: string, scheme: 'http' | 'https'): { host: string; port: number } {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(authority);
  const host = m?.[1] ?? authority;
  const port = m?.[2] !== undefined ? Number(m[2]) : scheme === 'https' ? 443 : 80;
  return { host: host.replace(/^\[(.*)\]$/, '$1'), port };
}

const addr = (a: AddressRecord | undefined) => (a === undefined ? undefined : a.ip.includes(':') ? `[${a.ip}]:${a.port}` : `${a.ip}:${a.port}`);

/** The span of a finished request whose record carries its trace context (traceId, spanId). */
export function requestSpan(r: RequestRecord): FinishedSpan {
  const q = r.path.indexOf('?');
  const path = q < 0 ? r.path : r.path.slice(0, q);
  const { host, port } = splitAuthority(r.authority, r.scheme);
  const grpc = r.protocol === 'grpc';
  const attributes: FinishedSpan['attributes'] = {
    'http.request.method': r.method,
    'url.path': path,
    'url.query': q < 0 ? undefined : r.path.slice(q + 1),
    'url.scheme': r.scheme,
    'server.address': host,
    'server.port': port,
    'network.protocol.name': 'http',
    'network.protocol.version': r.httpVersion,
    'client.address': r.sourceAddress?.ip,
    'client.port': r.sourceAddress?.port,
    'user_agent.original': r.userAgent,
    'http.request.body.size': r.requestBytes,
    'http.response.body.size': r.responseBytes,
    'http.response.status_code': r.status === 0 ? undefined : r.status,
    'mesh.source.principal': r.sourceIdentity,
    'mesh.destination.principal': r.destinationIdentity,
    'mesh.destination.service': r.destinationService,
    'mesh.backend.service': r.backendService,
    'mesh.upstream.address': addr(r.upstream),
    'mesh.route': r.route,
    'mesh.route.rule': r.rule,
    'mesh.response_flags': formatResponseFlags(r.responseFlags),
    'mesh.reporter': 'waypoint',
  };
  let name = r.method;
  let error = r.status === 0 || r.status >= 500;
  if (grpc) {
    // /package.Service/Method
    const [, service, method] = /^\/([^/]+)\/([^/]+)$/.exec(path) ?? [];
    if (service !== undefined && method !== undefined) {
      name = `${service}/${method}`;
      attributes['rpc.service'] = service;
      attributes['rpc.method'] = method;
    }
    attributes['rpc.system'] = 'grpc';
    if (r.grpcStatus !== undefined) {
      attributes['rpc.grpc.status_code'] = r.grpcStatus;
      error = GRPC_SERVER_ERRORS.has(r.grpcStatus) || r.status === 0;
    }
  }
  const span: FinishedSpan = {
    name,
    kind: 'server',
    traceId: r.traceId ?? '',
    spanId: r.spanId ?? '',
    startMs: r.startedAt,
    endMs: r.startedAt + r.durationMs,
    attributes,
  };
  if (r.parentSpanId !== undefined) span.parentSpanId = r.parentSpanId;
  if (r.tracestate !== undefined) span.tracestate = r.tracestate;
  if (error) {
    span.status = { error: true };
    const message = r.error ?? (r.status === 0 ? 'client left before the response' : grpc && r.grpcStatus !== undefined ? `grpc-status ${r.grpcStatus}` : undefined);
    if (message !== undefined) span.status.message = message;
  }
  return span;
}
