import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LATENCY_BUCKETS_MS } from '../../core/observe/latency-histogram.js';
import { bucketIndex, deCumulate, edgeOf, graphQueries, parseQueryAnswer, promEdges, prometheusGraph, promRange, promSelector, promString, sumIncrease, type PromSample } from './prometheus-graph.js';

const SLEEP = { source_workload: 'sleep', source_workload_namespace: 'apps', source_principal: 'spiffe://cluster.local/ns/apps/sa/sleep' };
const REVIEWS = {
  destination_workload: 'reviews',
  destination_workload_namespace: 'shop',
  destination_principal: 'spiffe://cluster.local/ns/shop/sa/reviews',
  destination_service: 'reviews.shop.svc.cluster.local',
  destination_service_namespace: 'shop',
};
const L7 = { reporter: 'waypoint', ...SLEEP, ...REVIEWS, request_protocol: 'http', connection_security_policy: 'mutual_tls' };
const L4 = { reporter: 'destination', ...SLEEP, ...REVIEWS, destination_service: 'db.shop.svc.cluster.local', request_protocol: 'tcp', connection_security_policy: 'mutual_tls' };
const sample = (metric: Record<string, string>, v: number | string): PromSample => ({ metric, value: [1_700_000_000, String(v)] });

test('a_label_value_with_a_quote_or_backslash_cannot_end_the_promql_string', () => {
  assert.equal(promString('shop'), '"shop"');
  assert.equal(promString('a"} or vector(1) or {x="'), '"a\\"} or vector(1) or {x=\\""');
  assert.equal(promString('a\\'), '"a\\\\"');
  assert.equal(promString('a\nb'), '"a\\nb"');
});

test('the_range_is_whole_seconds_rounded_up', () => {
  assert.deepEqual([3_600_000, 1_500, 1].map(promRange), ['3600s', '2s', '1s']);
  assert.throws(() => promRange(0), RangeError);
  assert.throws(() => promRange(Number.NaN), RangeError);
});

test('a_selector_refuses_a_metric_or_label_name_promql_would_not_read', () => {
  assert.equal(promSelector('istio_requests_total', [{ label: 'reporter', op: '=', value: 'waypoint' }]), 'istio_requests_total{reporter="waypoint"}');
  assert.throws(() => promSelector('a{b}', []), RangeError);
  assert.throws(() => promSelector('m', [{ label: 'x"', op: '=', value: '' }]), RangeError);
});

test('without_a_namespace_each_reporter_set_is_one_sum_of_increases', () => {
  const q = sumIncrease('m', [[{ label: 'reporter', op: '=', value: 'waypoint' }]], ['a', 'b'], '3600s');
  assert.equal(q, 'sum by (a, b) (increase(m{reporter="waypoint"}[3600s]))');
});

test('a_namespace_filter_asks_each_namespace_label_joined_by_or', () => {
  const q = sumIncrease('m', [[{ label: 'reporter', op: '=', value: 'waypoint' }]], ['a'], '60s', 'shop');
  assert.equal(
    q,
    'sum by (a) (increase(m{reporter="waypoint",source_workload_namespace="shop"}[60s])) or sum by (a) (increase(m{reporter="waypoint",destination_workload_namespace="shop"}[60s])) or sum by (a) (increase(m{reporter="waypoint",destination_service_namespace="shop"}[60s]))',
  );
});

test('a_hostile_namespace_stays_inside_its_string_in_every_query', () => {
  const qs = graphQueries({ windowMs: 3_600_000, namespace: 'x"}) or vector(1e9' });
  for (const q of Object.values(qs)) {
    assert.ok(q.includes('="x\\"}) or vector(1e9"'), q);
    // Outside its string literals (PromQL's escapes), the query has no vector() of its own.
    assert.ok(!q.replace(/"(?:[^"\\]|\\.)*"/g, '""').includes('vector('), q);
  }
});

test('the_queries_follow_the_reporter_rule', () => {
  const q = graphQueries({ windowMs: 3_600_000 });
  assert.equal(q.requests, `sum by (reporter, source_workload, source_workload_namespace, source_principal, destination_workload, destination_workload_namespace, destination_principal, destination_service, destination_service_namespace, request_protocol, connection_security_policy, response_code, grpc_response_status) (increase(istio_requests_total{reporter="waypoint"}[3600s]))`);
  assert.match(q.latency, /^sum by \(.*, le\) \(increase\(istio_request_duration_milliseconds_bucket\{reporter="waypoint"\}\[3600s\]\)\)$/);
  // L4: waypoints and destination agents always; source agents for plaintext only.
  assert.match(q.tcpSent, /istio_tcp_sent_bytes_total\{reporter=~"waypoint\|destination"\}\[3600s\]\)\) or sum by .*istio_tcp_sent_bytes_total\{reporter="source",connection_security_policy!="mutual_tls"\}/);
  assert.match(q.tcpReceived, /istio_tcp_received_bytes_total/);
  assert.match(q.tcpOpened, /istio_tcp_connections_opened_total/);
  assert.match(q.requestBytes, /istio_request_bytes_sum\{reporter="waypoint"\}/);
  assert.match(q.responseBytes, /istio_response_bytes_sum\{reporter="waypoint"\}/);
});

test('a_success_answer_gives_its_samples', () => {
  const body = { status: 'success', data: { resultType: 'vector', result: [{ metric: { a: 'b' }, value: [1.5, '42'] }] } };
  assert.deepEqual(parseQueryAnswer(body, 10), [{ metric: { a: 'b' }, value: [1.5, '42'] }]);
});

test('an_error_answer_is_an_error_naming_prometheus_reason', () => {
  assert.throws(() => parseQueryAnswer({ status: 'error', errorType: 'bad_data', error: 'parse error at char 3' }, 10), /bad_data: parse error at char 3/);
});

test('a_matrix_or_malformed_answer_is_refused', () => {
  assert.throws(() => parseQueryAnswer({ status: 'success', data: { resultType: 'matrix', result: [] } }, 10), /"matrix", not a vector/);
  assert.throws(() => parseQueryAnswer('<html>', 10), /not a JSON object/);
  assert.throws(() => parseQueryAnswer({ status: 'success', data: { resultType: 'vector', result: [{ metric: { a: 1 }, value: [1, '2'] }] } }, 10), /series 0/);
  assert.throws(() => parseQueryAnswer({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, 2] }] } }, 10), /series 0/);
});

test('an_answer_with_more_series_than_allowed_is_refused', () => {
  const result = Array.from({ length: 3 }, () => ({ metric: {}, value: [1, '1'] }));
  assert.throws(() => parseQueryAnswer({ status: 'success', data: { resultType: 'vector', result } }, 2), /3 series, more than 2/);
});

test('labels_become_the_edge_key_with_unknown_as_no_name', () => {
  const e = edgeOf({ ...L7, source_workload: 'unknown', source_workload_namespace: 'unknown', source_principal: 'unknown' }, 'http');
  assert.deepEqual(e.source, {});
  assert.deepEqual(e.destination, { workload: 'reviews', namespace: 'shop', identity: 'spiffe://cluster.local/ns/shop/sa/reviews', service: 'shop/reviews.shop.svc.cluster.local' });
  assert.deepEqual([e.reporter, e.protocol, e.mtls, e.viaWaypoint, e.port], ['waypoint', 'http', true, true, 0]);
});

test('a_destination_agent_series_is_direct_and_plaintext_without_mutual_tls', () => {
  const e = edgeOf({ ...L4, connection_security_policy: 'none' }, 'tcp');
  assert.deepEqual([e.reporter, e.protocol, e.mtls, e.viaWaypoint], ['destination', 'tcp', false, false]);
});

test('requests_are_counted_by_status_class_with_grpc_failures_in_a_200', () => {
  const [e] = promEdges({
    requests: [
      sample({ ...L7, response_code: '200', grpc_response_status: '' }, 10),
      sample({ ...L7, response_code: '503', grpc_response_status: '' }, 2.4),
      sample({ ...L7, request_protocol: 'http', response_code: '200', grpc_response_status: '14' }, 1),
      sample({ ...L7, response_code: '0', grpc_response_status: '' }, 1),
    ],
  });
  assert.deepEqual(e!.requests, { '2xx': 10, '3xx': 0, '4xx': 0, '5xx': 3, none: 1 });
});

test('increases_are_rounded_and_nan_or_negative_ones_dropped', () => {
  const edges = promEdges({ tcpReceived: [sample(L4, 1023.6), sample({ ...L4, destination_workload: 'other' }, 'NaN'), sample({ ...L4, destination_workload: 'x' }, -3)] });
  assert.equal(edges.length, 1);
  assert.equal(edges[0]!.bytesSent, 1024);
});

test('tcp_received_is_bytes_sent_and_tcp_sent_is_bytes_received', () => {
  const [e] = promEdges({ tcpReceived: [sample(L4, 100)], tcpSent: [sample(L4, 7000)], tcpOpened: [sample(L4, 3)] });
  assert.deepEqual([e!.bytesSent, e!.bytesReceived, e!.connectionsOpened], [100, 7000, 3]);
});

test('request_and_response_body_sums_are_an_l7_edge_bytes', () => {
  const [e] = promEdges({ requests: [sample({ ...L7, response_code: '200', grpc_response_status: '' }, 4)], requestBytes: [sample(L7, 40)], responseBytes: [sample(L7, 6000)] });
  assert.deepEqual([e!.bytesSent, e!.bytesReceived], [40, 6000]);
});

test('series_without_any_increase_make_no_edge', () => {
  assert.deepEqual(promEdges({ tcpSent: [sample(L4, 0)], requests: [sample({ ...L7, response_code: '200' }, 0)] }), []);
});

test('le_bounds_map_to_the_fixed_buckets_and_others_are_ignored', () => {
  assert.equal(bucketIndex('0.5'), 0);
  assert.equal(bucketIndex('10'), 3);
  assert.equal(bucketIndex('+Inf'), LATENCY_BUCKETS_MS.length);
  assert.equal(bucketIndex('7'), undefined);
  assert.equal(bucketIndex(undefined), undefined);
});

test('cumulative_buckets_become_counts_per_bucket', () => {
  const cum: Array<number | undefined> = new Array(LATENCY_BUCKETS_MS.length + 1).fill(undefined);
  cum[2] = 4; // le=5
  cum[3] = 9.9; // le=10
  cum[LATENCY_BUCKETS_MS.length] = 10;
  const h = deCumulate(cum);
  assert.deepEqual([h[0], h[1], h[2], h[3], h[4], h[LATENCY_BUCKETS_MS.length]], [0, 0, 4, 6, 0, 0]);
  assert.equal(h.reduce((a, b) => a + b, 0), 10);
});

test('the_p99_comes_from_the_bucket_increases_as_the_window_computes_it', () => {
  const le = (b: string, v: number) => sample({ ...L7, le: b }, v);
  const g = prometheusGraph(
    {
      requests: [sample({ ...L7, response_code: '200', grpc_response_status: '' }, 100)],
      latency: [le('5', 0), le('10', 0), le('25', 50), le('50', 100), le('+Inf', 100)],
    },
    { windowMs: 3_600_000, at: 0 },
  );
  const e = g.edges.find((x) => x.destination === 'service/shop/reviews')!;
  assert.equal(e.p99Ms, 49.5);
});

test('a_graph_from_prometheus_has_the_service_and_backend_hops_and_rates_over_the_window', () => {
  const g = prometheusGraph({ requests: [sample({ ...L7, response_code: '200', grpc_response_status: '' }, 3600)], responseBytes: [sample(L7, 7200)] }, { windowMs: 3_600_000, at: 0 });
  assert.deepEqual(g.nodes.map((n) => n.id), ['service/shop/reviews', 'workload/apps/sleep', 'workload/shop/reviews']);
  const hop = g.edges.find((e) => e.source === 'workload/apps/sleep')!;
  assert.deepEqual([hop.destination, hop.requestsPerSecond, hop.successRate, hop.bytesReceived, hop.viaWaypoint, hop.mtls], ['service/shop/reviews', 1, 1, 7200, true, true]);
  assert.ok(g.edges.some((e) => e.source === 'service/shop/reviews' && e.destination === 'workload/shop/reviews'));
});

test('the_namespace_filter_applies_to_the_graph_as_to_the_window', () => {
  const other = { ...L4, source_workload: 'batch', source_workload_namespace: 'jobs', destination_workload: 'store', destination_workload_namespace: 'data', destination_service: 'store.data.svc.cluster.local', destination_service_namespace: 'data' };
  const g = prometheusGraph({ tcpSent: [sample(L4, 10), sample(other, 5)] }, { windowMs: 60_000, at: 0, namespace: 'jobs' });
  assert.deepEqual(g.nodes.map((n) => n.id), ['service/data/store', 'workload/jobs/batch']);
});
