// One object per request collects what the waypoint learns as the request goes through the
// chain, and hands the finished record to the sink exactly once, however many paths try to
// end it (DESIGN.md section 7, "Record each connection's outcome exactly once", applied to
// requests; the node agent's ConnectionTracker in node-agent/proxy/record.ts is the model).
// The sink writes the request metrics, the access-log line and the span.

export interface AddressRecord {
  ip: string;
  port: number;
}

export type RequestProtocol = 'http' | 'grpc';

export interface RequestRecord {
  /** Epoch milliseconds when the request's headers arrived. */
  startedAt: number;
  /** Until the response ended (or the request failed), in milliseconds. */
  durationMs: number;
  method: string;
  /** :authority or Host, as the client sent it. */
  authority: string;
  /** The path with its query, as the client sent it (before any rewrite). */
  path: string;
  scheme: 'http' | 'https';
  /** The downstream HTTP version: `1.1` or `2`. */
  httpVersion: '1.0' | '1.1' | '2';
  /** grpc when the request is gRPC (content-type application/grpc*), else http. */
  protocol: RequestProtocol;
  /** The client's identity: the peer certificate's SPIFFE ID on the HBONE connection. */
  sourceIdentity?: string;
  /** The client's workload uid (from its address, when it carries `sourceIdentity`). */
  sourceWorkload?: string;
  /** The original client's address (the HBONE `forwarded` header, else the TCP peer). */
  sourceAddress?: AddressRecord;
  /** The Service the client addressed: its resource key `<namespace>/<hostname>`. */
  destinationService?: string;
  /** The backend Service a route chose, when it differs from destinationService (a split
   * to another Service): its key. Metrics label by the Service the client addressed. */
  backendService?: string;
  /** The chosen endpoint's workload uid. */
  destinationWorkload?: string;
  /** The chosen endpoint's identity (the one its HBONE certificate proved). */
  destinationIdentity?: string;
  /** Where the request went: the endpoint's ip:port (through HBONE to its node agent). */
  upstream?: AddressRecord;
  /** The route that matched: its key `<namespace>/<kind>/<name>`. */
  route?: string;
  /** The matched rule's name, when it has one. */
  rule?: string;
  /** The response status sent to the client; 0 when none was sent (the client left first). */
  status: number;
  /** grpc-status of a gRPC response (trailers, or headers for trailers-only), when present. */
  grpcStatus?: number;
  /** Envoy's response flags that apply (RESPONSE_FLAGS), in any order; empty when none. */
  responseFlags: ResponseFlag[];
  /** Request body bytes received from the client. */
  requestBytes: number;
  /** Response body bytes sent to the client. */
  responseBytes: number;
  /** The connection from the client was mutual TLS (HBONE); false for plaintext. */
  mtls: boolean;
  /** The trace and this waypoint's span (core/trace/propagate.ts startSpan). */
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  tracestate?: string;
  /** Whether the span is to be exported. */
  sampled?: boolean;
  /** user-agent, for the span. */
  userAgent?: string;
  /** Why the request failed, when it did (for the log and the span's status). */
  error?: string;
  /** The authorization layer's decision, when it decided (for the traffic summary). */
  authz?: RequestAuthzRecord;
}

/** An authorization decision as a request's record keeps it. */
export interface RequestAuthzRecord {
  decision: 'ALLOW' | 'DENY';
  /** `namespace/name` of the deciding policy. */
  policy?: string;
  /** With the dry-run policies enforced too, when one applies. */
  dryRun?: { decision: 'ALLOW' | 'DENY'; policy?: string };
}

/**
 * Envoy's response flags the waypoint reports, with Envoy's short names
 * (https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage,
 * %RESPONSE_FLAGS%), so that Istio's dashboards and alerts on `response_flags` read the
 * same. Listed in the order Envoy prints them when several apply.
 */
export const RESPONSE_FLAGS = {
  /** No healthy upstream: the chosen Service has no ready endpoint. */
  noHealthyUpstream: 'UH',
  /** Upstream connect failure: the HBONE tunnel or connection to the endpoint failed. */
  upstreamConnectFailure: 'UF',
  /** Upstream overflow: a connection pool or circuit-breaker limit refused the request. */
  upstreamOverflow: 'UO',
  /** No route matched (404), or the matched backend does not exist (500). */
  noRoute: 'NR',
  /** Upstream retry limit exceeded. */
  upstreamRetryLimitExceeded: 'URX',
  /** Downstream connection termination: the client left before the response ended. */
  downstreamTermination: 'DC',
  /** Upstream connection termination: the endpoint reset or closed mid-response. */
  upstreamTermination: 'UC',
  /** Upstream request timeout (a route's `timeouts.request` or `backendRequest`; 504). */
  upstreamRequestTimeout: 'UT',
  /** Rate limited (429). */
  rateLimited: 'RL',
  /** Denied by the request authentication (an invalid JWT; 401), as Envoy reports an
   * external authorization denial. */
  unauthorizedExternalService: 'UAEX',
  /** Downstream protocol error: the client's HTTP was malformed. */
  downstreamProtocolError: 'DPE',
  /** Upstream protocol error: the endpoint's HTTP was malformed. */
  upstreamProtocolError: 'UPE',
} as const;

export type ResponseFlag = (typeof RESPONSE_FLAGS)[keyof typeof RESPONSE_FLAGS];

const FLAG_ORDER: readonly string[] = Object.values(RESPONSE_FLAGS);

/** The response_flags value: the flags in Envoy's order joined by `,`, or `-` when none. */
export function formatResponseFlags(flags: readonly ResponseFlag[]): string {
  if (flags.length === 0) return '-';
  if (flags.length === 1) return flags[0]!;
  return [...new Set(flags)].sort((a, b) => FLAG_ORDER.indexOf(a) - FLAG_ORDER.indexOf(b)).join(',');
}

export type RequestSink = (record: RequestRecord) => void;

type Known = Omit<RequestRecord, 'durationMs' | 'status' | 'responseFlags' | 'requestBytes' | 'responseBytes'>;

/**
 * A request's record while it is in flight. The first layer creates it; layers add what
 * they learn with `set()`, `flag()` and the byte counters; the last one to see the request
 * calls `finish()`; only the first call reaches the sink.
 */
export class RequestTracker {
  status = 0;
  requestBytes = 0;
  responseBytes = 0;
  readonly #record: RequestRecord;
  readonly #sink: RequestSink;
  readonly #onSinkError: (err: unknown) => void;
  readonly #now: () => number;
  #done = false;

  /** `known` is taken over: it becomes the record (no copy per request); pass a fresh object. */
  constructor(known: Known, sink: RequestSink, onSinkError: (err: unknown) => void = () => {}, now: () => number = Date.now) {
    const r = known as RequestRecord;
    r.durationMs = 0;
    r.status = 0;
    r.responseFlags = [];
    r.requestBytes = 0;
    r.responseBytes = 0;
    this.#record = r;
    this.#sink = sink;
    this.#onSinkError = onSinkError;
    this.#now = now;
  }

  get finished(): boolean {
    return this.#done;
  }

  /** Adds what was learnt (route, backend, identity ...); ignored once finished. */
  set(more: Partial<Known> & { grpcStatus?: number; error?: string; authz?: RequestAuthzRecord }): void {
    if (this.#done) return;
    const r = this.#record as unknown as Record<string, unknown>;
    for (const k in more) {
      const v = (more as Record<string, unknown>)[k];
      if (v !== undefined) r[k] = v;
    }
  }

  /** Adds a response flag (once). */
  flag(f: ResponseFlag): void {
    if (!this.#done && !this.#record.responseFlags.includes(f)) this.#record.responseFlags.push(f);
  }

  /** Ends the record and hands it to the sink; only the first call counts. */
  finish(error?: string): void {
    if (this.#done) return;
    this.#done = true;
    const r = this.#record;
    r.status = this.status;
    r.requestBytes = this.requestBytes;
    r.responseBytes = this.responseBytes;
    r.durationMs = Math.max(0, this.#now() - r.startedAt);
    if (error !== undefined) r.error ??= error;
    try {
      this.#sink(r);
    } catch (err) {
      this.#onSinkError(err);
    }
  }
}
