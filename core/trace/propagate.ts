// How a proxy takes part in a trace (W3C Trace Context), pure: from the headers that came
// in, the context of the proxy's own span and the headers to send on.
//
// With tracing on (a sampler given): the span is a child of the incoming `traceparent`; the
// outgoing request carries the proxy's span as its parent, the incoming `tracestate`
// (validated, within its limits) and `baggage`. Without an incoming context the span
// continues `fallback` (the HBONE CONNECT's traceparent, which the source node agent
// starts for every connection), so that a request's span shares a trace id with the L4
// spans of its connection; with neither, a new trace starts. The fallback's sampled flag is
// not followed: the node agents set it on every CONNECT whatever they sample, so a span
// continuing it is sampled as a root would be (traceidratio on the same trace id gives
// the same answer at every hop).
//
// With tracing off (no sampler): nothing is started and headers pass unchanged, as the
// spec asks of a proxy that does not trace; the context still names the trace (incoming,
// else the fallback's) for the access log.
import { formatTraceparent, normalizeTracestate, parseTraceparent, type TraceParent } from './context.js';
import { formatBaggage, parseBaggage } from './baggage.js';
import { newSpanId, newTraceId } from './ids.js';
import { shouldSample, type SamplerConfig } from './sampler.js';

export interface TraceHeaders {
  traceparent?: string;
  tracestate?: string;
  baggage?: string;
}

export interface SpanStart {
  traceId: string;
  /** This proxy's span; with tracing off, the incoming parent's (no span of ours exists). */
  spanId: string;
  /** The caller's span, when the trace came in. */
  parentSpanId?: string;
  /** Whether this proxy records and exports its span (always false with tracing off). */
  sampled: boolean;
  /** The tracestate, cleaned, for the span and for forwarding. */
  tracestate?: string;
  /** What to set on the request sent upstream (replacing what came in). */
  outgoing: TraceHeaders;
}

function cleanBaggage(value: string | undefined): string | undefined {
  const members = parseBaggage(value);
  return members === undefined ? undefined : formatBaggage(members);
}

/** The context of a proxy's span for a request (or connection) with `incoming` headers. */
export function startSpan(incoming: TraceHeaders, fallback: string | undefined, sampler: SamplerConfig | undefined): SpanStart {
  const parent = parseTraceparent(incoming.traceparent);
  if (sampler === undefined) return passThrough(incoming, parent, fallback);
  const tracestate = parent === undefined ? undefined : normalizeTracestate(incoming.tracestate);
  const baggage = cleanBaggage(incoming.baggage);
  let traceId: string;
  let parentSpanId: string | undefined;
  let parentSampled: boolean | undefined;
  const via = parent ?? parseTraceparent(fallback);
  if (via !== undefined) {
    traceId = via.traceId;
    parentSpanId = via.spanId;
    if (parent !== undefined) parentSampled = parent.sampled;
  } else traceId = newTraceId();
  const span: TraceParent = { traceId, spanId: newSpanId(), sampled: shouldSample(sampler, traceId, parentSampled) };
  const outgoing: TraceHeaders = { traceparent: formatTraceparent(span) };
  if (tracestate !== undefined) outgoing.tracestate = tracestate;
  if (baggage !== undefined) outgoing.baggage = baggage;
  const out: SpanStart = { traceId, spanId: span.spanId, sampled: span.sampled, outgoing };
  if (parentSpanId !== undefined) out.parentSpanId = parentSpanId;
  if (tracestate !== undefined) out.tracestate = tracestate;
  return out;
}

function passThrough(incoming: TraceHeaders, parent: TraceParent | undefined, fallback: string | undefined): SpanStart {
  const outgoing: TraceHeaders = {};
  if (incoming.traceparent !== undefined) outgoing.traceparent = incoming.traceparent;
  if (incoming.tracestate !== undefined) outgoing.tracestate = incoming.tracestate;
  if (incoming.baggage !== undefined) outgoing.baggage = incoming.baggage;
  const named = parent ?? parseTraceparent(fallback);
  return { traceId: named?.traceId ?? '', spanId: named?.spanId ?? '', sampled: false, outgoing };
}
