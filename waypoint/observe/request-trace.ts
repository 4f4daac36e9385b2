// Tracing for the request chain: the context of the waypoint's span when a request
// arrives (core/trace/propagate.ts), the headers to send upstream, and the record's trace
// fields. With the no-op tracer this is string work only: no SDK object per request.
import { startSpan, type SpanStart, type TraceHeaders } from '../../core/trace/propagate.js';
import type { Tracer } from '../../core/trace/tracer.js';
import type { RequestRecord } from './request-record.js';
import type { ConnectTrace } from '../http/chain.js';

/**
 * The waypoint's span for a request with `incoming` trace headers, arriving on an HBONE
 * tunnel whose CONNECT carried `connectTraceparent` (HboneRequest.traceparent).
 * Set `outgoing` on the request sent upstream (replacing the incoming traceparent,
 * tracestate and baggage), and pass connectTrace(span) to the upstream HBONE connect,
 * so the destination node agent's span is a child of the waypoint's.
 */
export function startRequestTrace(tracer: Tracer, incoming: TraceHeaders, connectTraceparent?: string): SpanStart {
  return startSpan(incoming, connectTraceparent, tracer.sampler);
}

/** The record's trace fields from a started span (the access log's trace_id; the span's ids). */
export function traceFields(s: SpanStart): Pick<RequestRecord, 'traceId' | 'spanId' | 'parentSpanId' | 'tracestate' | 'sampled'> {
  const out: Pick<RequestRecord, 'traceId' | 'spanId' | 'parentSpanId' | 'tracestate' | 'sampled'> = { sampled: s.sampled };
  addTraceFields(out, s);
  return out;
}

/**
 * What the upstream HBONE CONNECT of a request carries: the waypoint span's traceparent
 * (its sampled flag is the waypoint's decision, which the destination agent follows: a
 * dropped trace stays dropped there too) and tracestate. Undefined with tracing off (no
 * span of ours: the HBONE client then starts a context of its own, as a node agent does).
 * A pooled connection carries the context of the request that opened it.
 */
export function connectTrace(s: SpanStart, tracer: Tracer): ConnectTrace | undefined {
  if (tracer.sampler === undefined || s.outgoing.traceparent === undefined) return undefined;
  return s.outgoing.tracestate === undefined ? { traceparent: s.outgoing.traceparent } : { traceparent: s.outgoing.traceparent, tracestate: s.outgoing.tracestate };
}

/** traceFields(s), assigned onto `out` (the record being built) instead of a new object. */
export function addTraceFields(out: Pick<RequestRecord, 'traceId' | 'spanId' | 'parentSpanId' | 'tracestate' | 'sampled'>, s: SpanStart): void {
  out.sampled = s.sampled;
  if (s.traceId !== '') out.traceId = s.traceId;
  if (s.sampled) {
    out.spanId = s.spanId;
    if (s.parentSpanId !== undefined) out.parentSpanId = s.parentSpanId;
    if (s.tracestate !== undefined) out.tracestate = s.tracestate;
  }
}
