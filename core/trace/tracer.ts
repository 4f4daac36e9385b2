// Exporting finished spans with OpenTelemetry's SDK, over OTLP HTTP/protobuf. The mesh
// decides ids and sampling itself (propagate.ts, sampler.ts): the context of a span is
// known when a request or connection starts, without any SDK object, and only a sampled
// span, once finished, becomes an SDK span (started and ended at the recorded times with
// the recorded ids) and goes to the batch exporter. With tracing off the SDK is not even
// loaded (the programs import this module's types only, and `createTracer` imports the
// SDK on demand), so a proxy that does not trace pays nothing per request or connection.
import type { Logger } from '../log.js';
import type { TracingConfig } from './config.js';
import type { SamplerConfig } from './sampler.js';

export type SpanKindName = 'server' | 'client' | 'internal';
export type AttributeValue = string | number | boolean;

/** A span as the mesh records it: ids decided at its start, times and attributes at its end. */
export interface FinishedSpan {
  name: string;
  kind: SpanKindName;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  tracestate?: string;
  /** Epoch milliseconds (fractions allowed). */
  startMs: number;
  endMs: number;
  attributes: Record<string, AttributeValue | undefined>;
  /** `error` marks the span failed (OpenTelemetry status ERROR) with `message`. */
  status?: { error: true; message?: string };
}

export interface Tracer {
  /** False for the no-op tracer: callers skip building spans altogether. */
  readonly enabled: boolean;
  /** How new spans are sampled (undefined with tracing off: propagate.ts passes headers through). */
  readonly sampler: SamplerConfig | undefined;
  /** Queues a finished, sampled span for export (batched, off the request path). */
  export(span: FinishedSpan): void;
  /** Sends what is queued now. */
  forceFlush(): Promise<void>;
  /** Sends what is queued and stops. */
  shutdown(): Promise<void>;
}

export const NOOP_TRACER: Tracer = Object.freeze({
  enabled: false,
  sampler: undefined,
  export() {},
  forceFlush: async () => {},
  shutdown: async () => {},
});

export interface TracerOptions {
  /** `service.name` of the spans' resource (OTEL_SERVICE_NAME wins when set). */
  serviceName: string;
  /** More resource attributes (e.g. `k8s.node.name`). */
  resource?: Record<string, string>;
  logger?: Logger;
  /** Export batching (the BatchSpanProcessor's; defaults in TRACE_EXPORT_DEFAULTS). */
  batch?: Partial<typeof TRACE_EXPORT_DEFAULTS>;
}

/** Limits of span export (docs/configuration.md, "Tracing"). */
export const TRACE_EXPORT_DEFAULTS = {
  /** Finished spans queued for export at most; beyond, new spans are dropped (and counted by the SDK). */
  maxQueueSize: 2048,
  /** Spans per OTLP request. */
  maxExportBatchSize: 512,
  /** A queue that does not fill is sent this often. */
  scheduledDelayMillis: 5000,
  /** One OTLP request may take this long. */
  exportTimeoutMillis: 10000,
} as const;

/** A tracer exporting to `config.endpoint`, or the no-op tracer when `config` is undefined. */
export async function createTracer(config: TracingConfig | undefined, opts: TracerOptions): Promise<Tracer> {
  if (config === undefined) return NOOP_TRACER;
  const [api, sdk, resources, semconv, otlp] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'),
    import('@opentelemetry/exporter-trace-otlp-proto'),
  ]);
  // The SDK asks its id generator for ids; it is told the ones the mesh decided, one span
  // at a time (startSpan is synchronous).
  let nextTraceId = '';
  let nextSpanId = '';
  const idGenerator = {
    generateTraceId: () => nextTraceId,
    generateSpanId: () => nextSpanId,
  };
  const batch = { ...TRACE_EXPORT_DEFAULTS, ...opts.batch };
  const exporter = new otlp.OTLPTraceExporter({ url: config.endpoint, timeoutMillis: batch.exportTimeoutMillis });
  const processor = new sdk.BatchSpanProcessor(exporter, batch);
  const provider = new sdk.BasicTracerProvider({
    resource: resources.resourceFromAttributes({
      [semconv.ATTR_SERVICE_NAME]: config.serviceName ?? opts.serviceName,
      ...opts.resource,
    }),
    // Only sampled spans reach the SDK (see above).
    sampler: new sdk.AlwaysOnSampler(),
    idGenerator,
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer('ambient-mesh');
  const KIND = { server: api.SpanKind.SERVER, client: api.SpanKind.CLIENT, internal: api.SpanKind.INTERNAL } as const;
  const hr = (ms: number): [number, number] => {
    const s = Math.floor(ms / 1000);
    return [s, Math.round((ms - s * 1000) * 1e6)];
  };
  const log = opts.logger;
  return {
    enabled: true,
    sampler: config.sampler,
    export(s) {
      try {
        let ctx = api.ROOT_CONTEXT;
        if (s.parentSpanId !== undefined) {
          const parent: import('@opentelemetry/api').SpanContext = { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: api.TraceFlags.SAMPLED, isRemote: true };
          if (s.tracestate !== undefined) parent.traceState = api.createTraceState(s.tracestate);
          ctx = api.trace.setSpanContext(ctx, parent);
        }
        nextTraceId = s.traceId;
        nextSpanId = s.spanId;
        const attributes: Record<string, AttributeValue> = {};
        for (const k in s.attributes) {
          const v = s.attributes[k];
          if (v !== undefined && v !== '') attributes[k] = v;
        }
        const span = tracer.startSpan(s.name, { kind: KIND[s.kind], startTime: hr(s.startMs), attributes }, ctx);
        if (s.status !== undefined) span.setStatus({ code: api.SpanStatusCode.ERROR, ...(s.status.message !== undefined && { message: s.status.message }) });
        span.end(hr(Math.max(s.endMs, s.startMs)));
      } catch (err) {
        // A span is never worth a failed request or connection.
        log?.warn({ err: (err as Error).message }, 'tracing: span not exported');
      }
    },
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
