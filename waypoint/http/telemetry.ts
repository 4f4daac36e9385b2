// The telemetry layer, first in the chain: the request's trace context (its span is a
// child of the incoming traceparent; the request sent upstream carries the waypoint's
// span as parent), and one RequestRecord per request handed to the sink (metrics, access
// log, span: waypoint/observe/) exactly once when the rest of the chain is done with it,
// whatever happened there. Body bytes and the gRPC status come from the forward layer
// (counted where bodies are piped; grpc-status from trailers, else headers) or from the
// waypoint's own answer.
import type { Workload } from '../../core/config/model.js';
import type { Tracer } from '../../core/trace/tracer.js';
import { RESPONSE_FLAGS, RequestTracker, type RequestSink, type ResponseFlag } from '../observe/request-record.js';
import { addTraceFields, connectTrace, startRequestTrace } from '../observe/request-trace.js';
import { isGrpcRequest } from './authz-decide.js';
import type { Headers, Layer } from './chain.js';

const KNOWN_FLAGS: ReadonlySet<string> = new Set(Object.values(RESPONSE_FLAGS));

export interface TelemetryLayerOptions {
  tracer: Tracer;
  sink: RequestSink;
  /** The workload owning an address (the client's, the endpoint's), from the held config. */
  workloadByIp: (ip: string) => Workload | undefined;
  onSinkError?: (err: unknown) => void;
}

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

function setTraceHeaders(headers: Headers, out: { traceparent?: string; tracestate?: string; baggage?: string }): void {
  for (const name of ['traceparent', 'tracestate', 'baggage'] as const) {
    const v = out[name];
    if (v === undefined) delete headers[name];
    else headers[name] = v;
  }
}

function parseAddress(s: string | undefined): { ip: string; port: number } | undefined {
  if (!s) return undefined;
  const i = s.lastIndexOf(':');
  const port = Number(s.slice(i + 1));
  return i > 0 && Number.isInteger(port) ? { ip: s.slice(0, i).replace(/^\[|\]$/g, ''), port } : undefined;
}

export function telemetryLayer(o: TelemetryLayerOptions): Layer {
  return async (ctx, next) => {
    const span = startRequestTrace(o.tracer, { traceparent: one(ctx.headers['traceparent']), tracestate: one(ctx.headers['tracestate']), baggage: one(ctx.headers['baggage']) }, ctx.source.connectTraceparent);
    setTraceHeaders(ctx.headers, span.outgoing);
    const upstreamTrace = connectTrace(span, o.tracer);
    if (upstreamTrace !== undefined) ctx.upstreamTrace = upstreamTrace;
    const peer = ctx.source.tunnelPeer;
    const client = peer ? o.workloadByIp(peer.host) : undefined;
    const length = Number(one(ctx.headers['content-length']));
    const userAgent = one(ctx.headers['user-agent']);
    // Built by assignment, fields present only when known (one object shape per kind of
    // request, no spread of small objects per request).
    const known: ConstructorParameters<typeof RequestTracker>[0] = {
      startedAt: Date.now() - (performance.now() - ctx.startedAt),
      method: ctx.method,
      authority: ctx.authority,
      path: ctx.path,
      scheme: ctx.scheme === 'https' ? 'https' : 'http',
      httpVersion: ctx.protocol === 'h2' ? '2' : '1.1',
      protocol: isGrpcRequest(ctx.headers) ? 'grpc' : 'http',
      sourceIdentity: ctx.source.identity,
      mtls: true,
    };
    // The client's workload only when the address belongs to the identity that proved itself.
    if (client && client.identity === ctx.source.identity) known.sourceWorkload = client.uid;
    if (ctx.source.address) known.sourceAddress = { ip: ctx.source.address.host, port: ctx.source.address.port };
    if (ctx.target.service !== undefined) known.destinationService = ctx.target.service;
    if (userAgent !== undefined) known.userAgent = userAgent;
    addTraceFields(known, span);
    const t = new RequestTracker(known, o.sink, o.onSinkError);
    if (Number.isInteger(length) && length >= 0) t.requestBytes = length;
    // What the waypoint answers by itself (a 403, a redirect, a 503 ...): its body's bytes
    // and, for a gRPC client, the grpc-status it carries.
    const respond = ctx.downstream.respond.bind(ctx.downstream);
    ctx.downstream.respond = (status, headers, body) => {
      ctx.record.responseBytes = body === undefined ? 0 : Buffer.byteLength(body);
      const g = headers?.['grpc-status'];
      if (g !== undefined && Number.isInteger(Number(g))) ctx.record.grpcStatus = Number(g);
      respond(status, headers, body);
    };
    try {
      await next();
    } finally {
      const r = ctx.record;
      const upstream = parseAddress(r.upstream);
      const backend = upstream ? o.workloadByIp(upstream.ip) : undefined;
      const action = ctx.action;
      const more: Parameters<RequestTracker['set']>[0] = {};
      if (action?.kind === 'forward' && action.service !== undefined && action.service !== ctx.target.service) more.backendService = action.service;
      if (upstream) more.upstream = upstream;
      if (backend) {
        more.destinationWorkload = backend.uid;
        more.destinationIdentity = backend.identity;
      }
      if (r.route !== undefined) more.route = r.route;
      if (r.rule !== undefined) more.rule = r.rule;
      if (r.grpcStatus !== undefined) more.grpcStatus = r.grpcStatus;
      if (r.authz !== undefined) more.authz = r.authz;
      t.set(more);
      // Bodies as counted where they were piped; content-length when the body never went upstream.
      if (r.requestBytes !== undefined) t.requestBytes = r.requestBytes;
      if (r.responseBytes !== undefined) t.responseBytes = r.responseBytes;
      for (const f of r.flags) if (KNOWN_FLAGS.has(f)) t.flag(f as ResponseFlag);
      t.status = r.status ?? 0;
      t.finish(r.error);
    }
  };
}
