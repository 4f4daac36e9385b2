// A test OTLP/HTTP trace receiver: a real HTTP server on 127.0.0.1 that accepts
// `POST /v1/traces` with `content-type: application/x-protobuf`, decodes each
// ExportTraceServiceRequest and keeps the spans, flattened, for assertions.
//
// Decoding: protobufjs (a dev dependency) with the OTLP messages below, copied field for
// field from opentelemetry-proto (opentelemetry/proto/collector/trace/v1/trace_service.proto,
// trace/v1/trace.proto, common/v1/common.proto, resource/v1/resource.proto). The exporter
// side (@opentelemetry/otlp-transformer) ships only an encoder for requests and a decoder
// for responses, not what a receiver needs; a decoder from the .proto text, independent of
// the exporter's own code, also checks that what we send is what the schema says.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';

const OTLP_TRACE_PROTO = `
syntax = "proto3";
package opentelemetry.proto;
message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  fixed32 flags = 16;
  string name = 5;
  enum SpanKind {
    SPAN_KIND_UNSPECIFIED = 0;
    SPAN_KIND_INTERNAL = 1;
    SPAN_KIND_SERVER = 2;
    SPAN_KIND_CLIENT = 3;
    SPAN_KIND_PRODUCER = 4;
    SPAN_KIND_CONSUMER = 5;
  }
  SpanKind kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  uint32 dropped_attributes_count = 10;
  uint32 dropped_events_count = 12;
  uint32 dropped_links_count = 14;
  Status status = 15;
}
message Status {
  string message = 2;
  enum StatusCode { STATUS_CODE_UNSET = 0; STATUS_CODE_OK = 1; STATUS_CODE_ERROR = 2; }
  StatusCode code = 3;
}
`;

const ExportTraceServiceRequest = protobuf.parse(OTLP_TRACE_PROTO, { keepCase: false }).root.lookupType('opentelemetry.proto.ExportTraceServiceRequest');

export type SpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
const KINDS: SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty when the span is a root. */
  parentSpanId: string;
  traceState: string;
  name: string;
  kind: SpanKind;
  /** Epoch nanoseconds. */
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Record<string, unknown>;
  status: { code: 'unset' | 'ok' | 'error'; message: string };
  /** The resource's attributes (service.name ...). */
  resource: Record<string, unknown>;
  scope: string;
}

interface PbKeyValue {
  key: string;
  value?: { stringValue?: string; boolValue?: boolean; intValue?: { toString(): string } | number; doubleValue?: number; arrayValue?: { values?: unknown[] }; bytesValue?: Uint8Array };
}

function attrs(list: PbKeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list ?? []) {
    const v = kv.value ?? {};
    if (v.stringValue !== undefined) out[kv.key] = v.stringValue;
    else if (v.boolValue !== undefined) out[kv.key] = v.boolValue;
    else if (v.intValue !== undefined) out[kv.key] = Number(v.intValue.toString());
    else if (v.doubleValue !== undefined) out[kv.key] = v.doubleValue;
    else if (v.bytesValue !== undefined) out[kv.key] = Buffer.from(v.bytesValue).toString('hex');
    else out[kv.key] = undefined;
  }
  return out;
}

const hex = (b: Uint8Array | undefined) => (b === undefined ? '' : Buffer.from(b).toString('hex'));
const nanos = (v: { toString(): string } | number | undefined) => BigInt(v === undefined ? 0 : v.toString());

/** Decodes one OTLP ExportTraceServiceRequest body into its spans. */
export function decodeExportTraceRequest(body: Uint8Array): ReceivedSpan[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const msg = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(body), { longs: String, enums: Number, defaults: false }) as any;
  const out: ReceivedSpan[] = [];
  for (const rs of msg.resourceSpans ?? []) {
    const resource = attrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const code = s.status?.code ?? 0;
        out.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          traceState: s.traceState ?? '',
          name: s.name ?? '',
          kind: KINDS[s.kind ?? 0] ?? 'unspecified',
          startTimeUnixNano: nanos(s.startTimeUnixNano),
          endTimeUnixNano: nanos(s.endTimeUnixNano),
          attributes: attrs(s.attributes),
          status: { code: code === 2 ? 'error' : code === 1 ? 'ok' : 'unset', message: s.status?.message ?? '' },
          resource,
          scope: ss.scope?.name ?? '',
        });
      }
    }
  }
  return out;
}

/** Bodies larger than this are refused (413): a test receiver, not a collector. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>`: set OTEL_EXPORTER_OTLP_ENDPOINT to it. */
  readonly endpoint: string;
  /** `http://127.0.0.1:<port>/v1/traces`. */
  readonly tracesUrl: string;
  readonly spans: ReceivedSpan[];
  /** Requests refused (wrong path, method or content type, or undecodable), with why. */
  readonly refused: string[];
  /** Resolves once `n` spans have arrived in total, or rejects after `timeoutMs`. */
  waitForSpans(n: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const refused: string[] = [];
  const waiters = new Set<() => void>();
  const server = http.createServer((req, res) => {
    const refuse = (status: number, why: string) => {
      refused.push(why);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(why);
      req.resume();
    };
    if (req.method !== 'POST' || req.url !== '/v1/traces') return refuse(404, `${req.method} ${req.url}`);
    if (!(req.headers['content-type'] ?? '').startsWith('application/x-protobuf')) return refuse(415, `content-type ${req.headers['content-type']}`);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      try {
        spans.push(...decodeExportTraceRequest(Buffer.concat(chunks)));
      } catch (err) {
        return refuse(400, `undecodable: ${(err as Error).message}`);
      }
      // An empty ExportTraceServiceResponse (every span accepted).
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.alloc(0));
      for (const w of waiters) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    tracesUrl: `${endpoint}/v1/traces`,
    spans,
    refused,
    waitForSpans(n, timeoutMs = 10_000) {
      if (spans.length >= n) return Promise.resolve(spans);
      return new Promise((resolve, reject) => {
        const check = () => {
          if (spans.length < n) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(spans);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`OTLP receiver: ${spans.length} of ${n} spans after ${timeoutMs} ms (refused: ${refused.join('; ') || 'none'})`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
