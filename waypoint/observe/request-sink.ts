// The waypoint's RequestSink: for each finished request, the request metrics, one
// access-log line and (when tracing is on and the request was sampled) its span. The
// config snapshot is read when the record arrives, so names resolve against the newest.
import type { Logger } from '../../core/log.js';
import { NOOP_TRACER, type Tracer } from '../../core/trace/tracer.js';
import { writeRequestLog } from './access-log.js';
import type { LabelState } from './request-labels.js';
import type { RequestMetrics } from './request-metrics.js';
import type { RequestSink } from './request-record.js';
import { requestSpan } from './request-span.js';

export interface RequestSinkOptions {
  getState: () => LabelState;
  /** The access log; none: no lines. */
  accessLog?: Logger;
  metrics?: RequestMetrics;
  /** Default: the no-op tracer (no spans). */
  tracer?: Tracer;
}

export function requestSink(opts: RequestSinkOptions): RequestSink {
  const tracer = opts.tracer ?? NOOP_TRACER;
  return (record) => {
    const state = opts.getState();
    opts.metrics?.record(record, state);
    if (opts.accessLog !== undefined) writeRequestLog(opts.accessLog, record, state);
    if (tracer.enabled && record.sampled === true && record.traceId && record.spanId) tracer.export(requestSpan(record));
  };
}
