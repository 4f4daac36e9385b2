// The waypoint's RequestSink: for each finished request, the request metrics, the traffic
// summary for the controller (request-telemetry.ts), one access-log line and (when tracing is on and the request was sampled) its span. The
// config snapshot is read when the record arrives, so names resolve against the newest.
import type { Logger } from '../../core/log.js';
import { NOOP_TRACER, type Tracer } from '../../core/trace/tracer.js';
import { writeRequestLog } from './access-log.js';
import type { LabelState } from './request-labels.js';
import type { RequestMetrics } from './request-metrics.js';
import type { RequestSink } from './request-record.js';
import { requestSpan } from './request-span.js';
import type { TrafficTelemetry } from '../../node-agent/observe/telemetry.js';
import { recordRequest } from './request-telemetry.js';

export interface RequestSinkOptions {
  getState: () => LabelState;
  /** The access log; none: no lines. */
  accessLog?: Logger;
  metrics?: RequestMetrics;
  /** Default: the no-op tracer (no spans). */
  tracer?: Tracer;
  /** The traffic summary reported to the controller (request-telemetry.ts); none: not kept. */
  telemetry?: TrafficTelemetry;
}

export function requestSink(opts: RequestSinkOptions): RequestSink {
  const tracer = opts.tracer ?? NOOP_TRACER;
  return (record) => {
    const state = opts.getState();
    opts.metrics?.record(record, state);
    if (opts.telemetry !== undefined) recordRequest(opts.telemetry, record, state);
    if (opts.accessLog !== undefined) writeRequestLog(opts.accessLog, record, state);
    if (tracer.enabled && record.sampled === true && record.traceId && record.spanId) tracer.export(requestSpan(record));
  };
}
