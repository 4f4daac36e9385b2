// The waypoint's request metrics: Istio's names, labels and buckets, as /metrics shows them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { backend, client, getReviews, reviews, state, stateOf } from './fixtures.js';
import { REQUEST_LABELS, requestMetricLabels } from './request-labels.js';
import { DURATION_BUCKETS_MS, RequestMetrics, SIZE_BUCKETS_BYTES } from './request-metrics.js';
import { RESPONSE_FLAGS } from './request-record.js';

test('request_labels_are_istios_standard_set_with_reporter_waypoint', () => {
  assert.deepEqual(requestMetricLabels(getReviews(), state, 'Kubernetes'), {
    reporter: 'waypoint',
    source_workload: 'sleep',
    source_canonical_service: 'sleep',
    source_canonical_revision: 'v1',
    source_workload_namespace: 'apps',
    source_principal: 'spiffe://cluster.local/ns/apps/sa/sleep',
    source_app: 'sleep',
    source_version: 'v1',
    source_cluster: 'Kubernetes',
    destination_workload: 'reviews',
    destination_canonical_service: 'reviews',
    destination_canonical_revision: 'v2',
    destination_workload_namespace: 'shop',
    destination_principal: 'spiffe://cluster.local/ns/shop/sa/reviews',
    destination_app: 'reviews',
    destination_version: 'v2',
    destination_service: 'reviews.shop.svc.cluster.local',
    destination_service_name: 'reviews',
    destination_service_namespace: 'shop',
    destination_cluster: 'Kubernetes',
    request_protocol: 'http',
    response_code: '200',
    grpc_response_status: '',
    response_flags: '-',
    connection_security_policy: 'mutual_tls',
  });
  assert.deepEqual(Object.keys(requestMetricLabels(getReviews(), state, 'c')), [...REQUEST_LABELS]);
});

test('request_labels_of_a_request_with_no_backend_are_unknown_and_carry_the_flag', () => {
  const l = requestMetricLabels(getReviews({ destinationWorkload: undefined, destinationIdentity: undefined, status: 503, responseFlags: [RESPONSE_FLAGS.noHealthyUpstream] }), state, 'Kubernetes');
  assert.equal(l.destination_workload, 'unknown');
  assert.equal(l.destination_principal, 'unknown');
  assert.equal(l.destination_service, 'reviews.shop.svc.cluster.local');
  assert.equal(l.response_code, '503');
  assert.equal(l.response_flags, 'UH');
});

test('request_labels_grpc_carry_grpc_response_status', () => {
  const l = requestMetricLabels(getReviews({ protocol: 'grpc', grpcStatus: 14 }), state, 'Kubernetes');
  assert.equal(l.request_protocol, 'grpc');
  assert.equal(l.grpc_response_status, '14');
  assert.equal(requestMetricLabels(getReviews({ grpcStatus: 14 }), state, 'K').grpc_response_status, '', 'not gRPC: empty');
});

test('request_labels_client_gone_before_a_response_is_code_0_with_DC', () => {
  const l = requestMetricLabels(getReviews({ status: 0, responseFlags: [RESPONSE_FLAGS.downstreamTermination, RESPONSE_FLAGS.upstreamRequestTimeout] }), state, 'K');
  assert.equal(l.response_code, '0');
  assert.equal(l.response_flags, 'DC,UT', "several flags in Envoy's order");
});

test('request_labels_of_a_service_gone_from_the_config_come_from_its_key', () => {
  const l = requestMetricLabels(getReviews(), stateOf([client, backend], []), 'K');
  assert.equal(l.destination_service, 'reviews.shop.svc.cluster.local');
  assert.equal(l.destination_service_name, 'reviews');
  assert.equal(l.destination_service_namespace, 'shop');
});

test('request_metrics_expose_istios_four_metrics_with_istios_buckets', async () => {
  const registry = new Registry();
  const m = new RequestMetrics({ registry });
  m.record(getReviews({ durationMs: 7, requestBytes: 0, responseBytes: 1500 }), state);
  m.record(getReviews({ durationMs: 300, requestBytes: 50, responseBytes: 20 }), state);
  m.record(getReviews({ status: 503, responseFlags: [RESPONSE_FLAGS.upstreamConnectFailure] }), state);
  const text = await registry.metrics();
  assert.match(text, /# TYPE istio_requests_total counter/);
  assert.match(text, /# TYPE istio_request_duration_milliseconds histogram/);
  assert.match(text, /# TYPE istio_request_bytes histogram/);
  assert.match(text, /# TYPE istio_response_bytes histogram/);
  const line = (name: string, code: string, extra = '') =>
    text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`response_code="${code}"`) && l.includes(extra));
  assert.match(line('istio_requests_total', '200')!, / 2$/);
  assert.match(line('istio_requests_total', '503', 'response_flags="UF"')!, / 1$/);
  assert.match(line('istio_request_duration_milliseconds_bucket', '200', 'le="5"')!, / 0$/);
  assert.match(line('istio_request_duration_milliseconds_bucket', '200', 'le="10"')!, / 1$/);
  assert.match(line('istio_request_duration_milliseconds_bucket', '200', 'le="500"')!, / 2$/);
  assert.match(line('istio_request_duration_milliseconds_bucket', '200', 'le="+Inf"')!, / 2$/);
  assert.match(line('istio_request_duration_milliseconds_sum', '200')!, / 307$/);
  assert.match(line('istio_request_duration_milliseconds_count', '200')!, / 2$/);
  assert.match(line('istio_response_bytes_bucket', '200', 'le="100"')!, / 1$/);
  assert.match(line('istio_response_bytes_bucket', '200', 'le="10000"')!, / 2$/);
  assert.match(line('istio_request_bytes_bucket', '200', 'le="1"')!, / 1$/, 'an empty body falls in the first bucket');
  assert.match(line('istio_request_bytes_sum', '200')!, / 50$/);
  const buckets = (name: string) => text.split('\n').filter((l) => l.startsWith(`${name}_bucket{`) && l.includes('response_code="200"')).length;
  assert.equal(buckets('istio_request_duration_milliseconds'), DURATION_BUCKETS_MS.length + 1);
  assert.equal(buckets('istio_response_bytes'), SIZE_BUCKETS_BYTES.length + 1);
  assert.ok(text.includes('le="3600000"') && text.includes('le="10000000"'));
});

test('request_metrics_same_labels_under_a_new_snapshot_share_one_series', async () => {
  const registry = new Registry();
  const m = new RequestMetrics({ registry });
  m.record(getReviews(), state);
  m.record(getReviews(), stateOf([client, backend], [reviews]));
  const text = await registry.metrics();
  const lines = text.split('\n').filter((l) => l.startsWith('istio_requests_total{'));
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, / 2$/);
});

test('request_metrics_reset_empties_the_series', async () => {
  const registry = new Registry();
  const m = new RequestMetrics({ registry, cluster: 'east' });
  m.record(getReviews(), state);
  assert.match(await registry.metrics(), /source_cluster="east"/);
  registry.resetMetrics();
  assert.doesNotMatch(await registry.metrics(), /^istio_requests_total\{/m);
});
