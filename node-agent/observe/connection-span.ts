// One span per proxied connection, when tracing is on: the L4 path's part of a trace.
// Pure (connectionSpan); the tracer exports it (exportConnectionSpan, called by the
// connection-end sink, access-log.ts). With tracing off the sink does not call in here at all.
//
// Trace context: the HBONE CONNECT's traceparent (ConnectionRecord.traceparent).
// - Source agent (outbound over HBONE): the traceparent it sent names this agent's span:
//   the span has its trace id and span id and is a root.
// - Destination agent (inbound HBONE): the span is a child of the traceparent it received
//   (the source agent's span, or the waypoint's: the span of the request that opened the
//   waypoint's pooled upstream connection), with the CONNECT's tracestate.
// - Anything else (passthrough, plaintext inbound, rejected before a CONNECT): a new root.
// Sampling: the source agent puts the sampled flag on every CONNECT whatever it samples
// (core/hbone/client.ts), so that flag is followed only when the parent is a waypoint (whose
// flag is its real decision); otherwise the span is sampled as a root would be, which with
// traceidratio gives every agent the same answer for the same trace id.
import { parseTraceparent } from '../../core/trace/context.js';
import { newSpanId, newTraceId } from '../../core/trace/ids.js';
import { shouldSample, type SamplerConfig } from '../../core/trace/sampler.js';
import type { FinishedSpan, Tracer } from '../../core/trace/tracer.js';
import type { Address } from '../proxy/outbound-plan.js';
import type { ConnectionRecord } from '../proxy/record.js';
import { responseFlags } from './labels.js';

const addr = (a: Address | undefined) => (a === undefined ? undefined : a.ip.includes(':') ? `[${a.ip}]:${a.port}` : `${a.ip}:${a.port}`);

/** The span of a finished connection, or undefined when the sampler drops it. */
export function connectionSpan(r: ConnectionRecord, sampler: SamplerConfig): FinishedSpan | undefined {
  const tp = parseTraceparent(r.traceparent);
  let traceId: string;
  let spanId: string;
  let parentSpanId: string | undefined;
  let sampled: boolean;
  if (tp !== undefined && r.reporter === 'source') {
    traceId = tp.traceId;
    spanId = tp.spanId;
    sampled = shouldSample(sampler, traceId, undefined);
  } else if (tp !== undefined) {
    traceId = tp.traceId;
    spanId = newSpanId();
    parentSpanId = tp.spanId;
    sampled = shouldSample(sampler, traceId, r.via === 'waypoint' ? tp.sampled : undefined);
  } else {
    traceId = newTraceId();
    spanId = newSpanId();
    sampled = shouldSample(sampler, traceId, undefined);
  }
  if (!sampled) return undefined;
  const flags = responseFlags(r);
  const start = r.startedAt.getTime();
  const span: FinishedSpan = {
    name: r.reporter === 'source' ? 'outbound connection' : 'inbound connection',
    kind: r.reporter === 'source' ? 'client' : 'server',
    traceId,
    spanId,
    startMs: start,
    endMs: start + r.durationMs,
    attributes: {
      'network.transport': 'tcp',
      'client.address': r.client?.ip,
      'client.port': r.client?.port,
      'server.address': r.originalDst?.ip,
      'server.port': r.originalDst?.port,
      'network.peer.address': r.upstream?.ip,
      'network.peer.port': r.upstream?.port,
      'mesh.reporter': r.reporter,
      'mesh.direction': r.direction,
      'mesh.plan': r.plan,
      'mesh.via': r.via,
      'mesh.reason': r.reason,
      'mesh.source.principal': r.sourceIdentity,
      'mesh.source.workload': r.sourceWorkload,
      'mesh.destination.principal': r.destinationIdentity,
      'mesh.destination.workload': r.destinationWorkload,
      'mesh.destination.service': r.service,
      'mesh.upstream.address': addr(r.upstream),
      'mesh.mtls': r.mtls,
      'mesh.bytes_sent': r.bytesSent,
      'mesh.bytes_received': r.bytesReceived,
      'mesh.response_flags': flags,
      'mesh.authz.decision': r.authz?.decision,
      'mesh.authz.policy': r.authz?.policy,
    },
  };
  if (parentSpanId !== undefined) {
    span.parentSpanId = parentSpanId;
    if (r.tracestate !== undefined) span.tracestate = r.tracestate;
  }
  if (r.error !== undefined || r.plan === 'reject') {
    span.status = { error: true };
    const message = r.error ?? r.reason;
    if (message !== undefined) span.status.message = message;
  }
  return span;
}

/** Exports the connection's span when the tracer is on and samples it. */
export function exportConnectionSpan(tracer: Tracer, r: ConnectionRecord): void {
  if (!tracer.enabled || tracer.sampler === undefined) return;
  const span = connectionSpan(r, tracer.sampler);
  if (span !== undefined) tracer.export(span);
}
