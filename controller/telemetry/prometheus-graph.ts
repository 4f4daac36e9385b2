// The traffic graph read from Prometheus, for windows longer than the controller's own
// (docs/telemetry.md, "When Prometheus is configured"). Pure: the PromQL instant queries
// (increases over the window of Istio's standard metrics, which every node agent and
// waypoint exports on 15020), the parsing of Prometheus' answers, and their conversion to
// the window's stored edges, so that buildGraph (graph.ts) draws both sources the same way.
//
// The reporter rule (docs/telemetry.md) is applied in the selectors: L7 from waypoints;
// L4 from waypoints and destination agents, and from source agents for plaintext only.
import { HISTOGRAM_LENGTH, LATENCY_BUCKETS_MS, newHistogram } from '../../core/observe/latency-histogram.js';
import { emptyCounts, statusClass, type TrafficProtocol } from '../../core/observe/telemetry-wire.js';
import { buildGraph, type Graph, type StoredEdge } from './graph.js';

/** The labels that key an edge (Istio's names). The metrics carry no port: edges from Prometheus have port 0. */
export const EDGE_LABELS = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_service',
  'destination_service_namespace',
  'request_protocol',
  'connection_security_policy',
] as const;

/** A namespace filter keeps series with any of these in the namespace (either end, or the Service addressed). */
export const NAMESPACE_LABELS = ['source_workload_namespace', 'destination_workload_namespace', 'destination_service_namespace'] as const;

export type GraphQueryName = 'requests' | 'latency' | 'requestBytes' | 'responseBytes' | 'tcpSent' | 'tcpReceived' | 'tcpOpened';

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~';
  value: string;
}

/** One series of an instant vector: its labels and its value (Prometheus sends numbers as strings). */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

const L7_REPORTERS: Matcher[][] = [[{ label: 'reporter', op: '=', value: 'waypoint' }]];
const L4_REPORTERS: Matcher[][] = [
  [{ label: 'reporter', op: '=~', value: 'waypoint|destination' }],
  [
    { label: 'reporter', op: '=', value: 'source' },
    { label: 'connection_security_policy', op: '!=', value: 'mutual_tls' },
  ],
];

/** A PromQL string literal: double-quoted, with backslash, quote and line breaks escaped, so
 * that no value (a namespace from the query string) can end the literal. */
export function promString(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`;
}

/** A range for `[...]`: whole seconds, at least 1. */
export function promRange(windowMs: number): string {
  if (!Number.isFinite(windowMs) || windowMs <= 0) throw new RangeError(`window ${windowMs}ms is not a positive duration`);
  return `${Math.max(1, Math.ceil(windowMs / 1000))}s`;
}

export function promSelector(metric: string, matchers: readonly Matcher[]): string {
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(metric)) throw new RangeError(`${JSON.stringify(metric)} is not a metric name`);
  for (const m of matchers) if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(m.label)) throw new RangeError(`${JSON.stringify(m.label)} is not a label name`);
  return `${metric}{${matchers.map((m) => `${m.label}${m.op}${promString(m.value)}`).join(',')}}`;
}

/**
 * `sum by (by) (increase(metric{...}[range]))` for each matcher set, joined by `or`. With a
 * namespace, each set is asked once per NAMESPACE_LABELS label: PromQL has no "or" inside
 * a selector. The `by` labels include every namespace label, so a group matched by
 * several alternatives is the same group with the same value, and `or` keeps it once.
 */
export function sumIncrease(metric: string, sets: readonly (readonly Matcher[])[], by: readonly string[], range: string, namespace?: string): string {
  const all = namespace === undefined ? sets : sets.flatMap((m) => NAMESPACE_LABELS.map((label) => [...m, { label, op: '=' as const, value: namespace }]));
  return all.map((m) => `sum by (${by.join(', ')}) (increase(${promSelector(metric, m)}[${range}]))`).join(' or ');
}

/** The instant queries one graph needs, evaluated at the graph's end. */
export function graphQueries(q: { windowMs: number; namespace?: string }): Record<GraphQueryName, string> {
  const r = promRange(q.windowMs);
  const ns = q.namespace;
  const edge = [...EDGE_LABELS];
  return {
    requests: sumIncrease('istio_requests_total', L7_REPORTERS, [...edge, 'response_code', 'grpc_response_status'], r, ns),
    latency: sumIncrease('istio_request_duration_milliseconds_bucket', L7_REPORTERS, [...edge, 'le'], r, ns),
    requestBytes: sumIncrease('istio_request_bytes_sum', L7_REPORTERS, edge, r, ns),
    responseBytes: sumIncrease('istio_response_bytes_sum', L7_REPORTERS, edge, r, ns),
    // Istio counts the proxy's view of the request: received is client -> server.
    tcpReceived: sumIncrease('istio_tcp_received_bytes_total', L4_REPORTERS, edge, r, ns),
    tcpSent: sumIncrease('istio_tcp_sent_bytes_total', L4_REPORTERS, edge, r, ns),
    tcpOpened: sumIncrease('istio_tcp_connections_opened_total', L4_REPORTERS, edge, r, ns),
  };
}

/** Prometheus' answer to an instant query (`/api/v1/query`) as its samples; throws an
 * Error naming what is wrong (an error answer, another result type, a malformed series). */
export function parseQueryAnswer(body: unknown, maxSeries: number): PromSample[] {
  const o = body as { status?: unknown; error?: unknown; errorType?: unknown; data?: { resultType?: unknown; result?: unknown } } | null;
  if (o === null || typeof o !== 'object') throw new Error('the answer is not a JSON object');
  if (o.status !== 'success') {
    const why = typeof o.error === 'string' ? o.error : 'no error message';
    throw new Error(`Prometheus answered ${typeof o.errorType === 'string' ? o.errorType : 'an error'}: ${why.slice(0, 300)}`);
  }
  const data = o.data;
  if (data === undefined || data === null || typeof data !== 'object') throw new Error('the answer has no data');
  if (data.resultType !== 'vector') throw new Error(`the answer is a ${JSON.stringify(data.resultType)}, not a vector`);
  if (!Array.isArray(data.result)) throw new Error('the answer has no result list');
  if (data.result.length > maxSeries) throw new Error(`the answer has ${data.result.length} series, more than ${maxSeries}`);
  return data.result.map((s: unknown, i: number) => {
    const x = s as { metric?: unknown; value?: unknown } | null;
    const bad = () => new Error(`series ${i} is not {metric, value: [time, "number"]}`);
    if (x === null || typeof x !== 'object' || x.metric === null || typeof x.metric !== 'object' || Array.isArray(x.metric)) throw bad();
    const v = x.value;
    if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'number' || typeof v[1] !== 'string') throw bad();
    for (const lv of Object.values(x.metric)) if (typeof lv !== 'string') throw bad();
    return { metric: x.metric as Record<string, string>, value: [v[0], v[1]] };
  });
}

/** Istio's "unknown" (and an absent label) is no name. */
const named = (v: string | undefined): string | undefined => (v === undefined || v === '' || v === 'unknown' ? undefined : v);

function protocolOf(v: string | undefined, fallback: TrafficProtocol): TrafficProtocol {
  return v === 'http' || v === 'grpc' || v === 'tcp' ? v : fallback;
}

/** The window's edge key for a series' labels. */
export function edgeOf(m: Readonly<Record<string, string>>, fallback: TrafficProtocol): StoredEdge {
  const reporter = m['reporter'] === 'source' || m['reporter'] === 'destination' ? m['reporter'] : 'waypoint';
  const svcHost = named(m['destination_service']);
  const svcNs = named(m['destination_service_namespace']);
  const peer = (workload?: string, namespace?: string, identity?: string) => ({
    ...(named(workload) !== undefined && { workload: workload! }),
    ...(named(namespace) !== undefined && { namespace: namespace! }),
    ...(named(identity) !== undefined && { identity: identity! }),
  });
  return {
    reporter,
    source: peer(m['source_workload'], m['source_workload_namespace'], m['source_principal']),
    destination: {
      ...peer(m['destination_workload'], m['destination_workload_namespace'], m['destination_principal']),
      ...(svcHost !== undefined && svcNs !== undefined && { service: `${svcNs}/${svcHost}` }),
    },
    port: 0,
    protocol: protocolOf(m['request_protocol'], fallback),
    mtls: m['connection_security_policy'] === 'mutual_tls',
    viaWaypoint: reporter === 'waypoint',
    ...emptyCounts(),
  };
}

const edgeId = (m: Readonly<Record<string, string>>): string => EDGE_LABELS.map((l) => m[l] ?? '').join('\u0000');

/** A sample's value: increases are extrapolated floats; NaN, infinite or negative ones are dropped. */
function amount(s: PromSample): number | undefined {
  const v = Number(s.value[1]);
  return Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** The bucket index of an `le` label in LATENCY_BUCKETS_MS (the last: +Inf); undefined for another bound. */
export function bucketIndex(le: string | undefined): number | undefined {
  if (le === '+Inf') return HISTOGRAM_LENGTH - 1;
  if (le === undefined || le === '') return undefined;
  const i = LATENCY_BUCKETS_MS.indexOf(Number(le));
  return i < 0 ? undefined : i;
}

/** Cumulative `le` counts -> counts per bucket; a bucket Prometheus did not answer holds what the one below did. */
export function deCumulate(cumulative: ReadonlyArray<number | undefined>): number[] {
  const out = newHistogram();
  let below = 0;
  for (let i = 0; i < HISTOGRAM_LENGTH; i++) {
    const c = cumulative[i] ?? below;
    out[i] = Math.max(0, Math.round(c) - Math.round(below));
    below = Math.max(below, c);
  }
  return out;
}

/**
 * The answers of graphQueries as the window's edges. Increases are rounded to whole counts
 * (Prometheus extrapolates them to the window's ends); series without any increase in the
 * window are left out, as the window keeps no empty edges.
 */
export function promEdges(results: Partial<Record<GraphQueryName, readonly PromSample[]>>): StoredEdge[] {
  const edges = new Map<string, StoredEdge>();
  const latency = new Map<string, Array<number | undefined>>();
  const edge = (m: Record<string, string>, fallback: TrafficProtocol): StoredEdge => {
    const id = edgeId(m);
    let e = edges.get(id);
    if (e === undefined) {
      e = edgeOf(m, fallback);
      edges.set(id, e);
    }
    return e;
  };
  const each = (name: GraphQueryName, fallback: TrafficProtocol, add: (e: StoredEdge, v: number, m: Record<string, string>) => void) => {
    for (const s of results[name] ?? []) {
      const v = amount(s);
      if (v !== undefined) add(edge(s.metric, fallback), v, s.metric);
    }
  };
  each('requests', 'http', (e, v, m) => {
    const grpc = m['grpc_response_status'];
    const cls = statusClass(Number(m['response_code'] ?? 0) || 0, grpc !== undefined && grpc !== '' && Number.isInteger(Number(grpc)) ? Number(grpc) : undefined);
    e.requests[cls] += Math.round(v);
  });
  each('requestBytes', 'http', (e, v) => (e.bytesSent += Math.round(v)));
  each('responseBytes', 'http', (e, v) => (e.bytesReceived += Math.round(v)));
  each('tcpReceived', 'tcp', (e, v) => (e.bytesSent += Math.round(v)));
  each('tcpSent', 'tcp', (e, v) => (e.bytesReceived += Math.round(v)));
  each('tcpOpened', 'tcp', (e, v) => (e.connectionsOpened += Math.round(v)));
  for (const s of results.latency ?? []) {
    const i = bucketIndex(s.metric['le']);
    const v = amount(s);
    if (i === undefined || v === undefined) continue;
    const id = edgeId(s.metric);
    edge(s.metric, 'http');
    const cum = latency.get(id) ?? latency.set(id, new Array<number | undefined>(HISTOGRAM_LENGTH).fill(undefined)).get(id)!;
    cum[i] = v;
  }
  for (const [id, cum] of latency) edges.get(id)!.latency = deCumulate(cum);
  const r = (e: StoredEdge) => e.requests['2xx'] + e.requests['3xx'] + e.requests['4xx'] + e.requests['5xx'] + e.requests.none;
  return [...edges.values()].filter((e) => r(e) + e.bytesSent + e.bytesReceived + e.connectionsOpened + e.latency.reduce((a, b) => a + b, 0) > 0);
}

/** The graph of Prometheus' answers over `windowMs` ending at `at` (epoch ms). */
export function prometheusGraph(results: Partial<Record<GraphQueryName, readonly PromSample[]>>, o: { windowMs: number; at: number; namespace?: string }): Graph {
  return buildGraph(promEdges(results), o);
}
