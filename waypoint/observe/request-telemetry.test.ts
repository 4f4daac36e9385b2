import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrafficTelemetry } from '../../node-agent/observe/telemetry.js';
import { backend, client, getReviews, reviews, state } from './fixtures.js';
import { recordRequest, requestEdge, requestFlow, requestVerdict } from './request-telemetry.js';

test('a_request_is_a_waypoint_edge_from_the_client_to_the_service_and_backend', () => {
  const e = requestEdge(getReviews(), state);
  assert.deepEqual(e.key, {
    reporter: 'waypoint',
    source: { workload: 'sleep', namespace: 'apps', identity: client.identity },
    destination: { workload: 'reviews', namespace: 'shop', identity: backend.identity, service: reviews.key },
    port: 8080,
    protocol: 'http',
    mtls: true,
    viaWaypoint: true,
  });
});

test('a_requests_flow_never_carries_its_path_or_query', () => {
  const f = requestFlow(getReviews(), requestEdge(getReviews(), state));
  assert.equal(JSON.stringify(f).includes('/reviews/1'), false);
  assert.equal(JSON.stringify(f).includes('x=2'), false);
  assert.deepEqual([f.status, f.verdict, f.bytesReceived, f.source.pod, f.destination.pod], [200, 'allowed', 1500, 'sleep-7d9f', 'reviews-v2-abc']);
});

test('a_denied_request_names_its_policy', () => {
  assert.deepEqual(requestVerdict(getReviews({ status: 403, authz: { decision: 'DENY', policy: 'shop/deny-get' } })), { verdict: 'denied', policy: 'shop/deny-get' });
  assert.deepEqual(requestVerdict(getReviews({ authz: { decision: 'ALLOW', dryRun: { decision: 'DENY', policy: 'shop/dry' } } })), { verdict: 'would-deny', policy: 'shop/dry' });
  assert.deepEqual(requestVerdict(getReviews()), { verdict: 'allowed' });
});

test('requests_fold_into_one_edge_by_status_class_with_decisions', () => {
  const t = new TrafficTelemetry();
  recordRequest(t, getReviews({ authz: { decision: 'ALLOW' } }), state);
  recordRequest(t, getReviews({ status: 403, authz: { decision: 'DENY', policy: 'shop/deny-get' } }), state);
  recordRequest(t, getReviews({ status: 503 }), state);
  const r = t.takeReport()!;
  assert.equal(r.edges.length, 1);
  const e = r.edges[0]!;
  assert.deepEqual(e.requests, { '2xx': 1, '3xx': 0, '4xx': 1, '5xx': 1, none: 0 });
  assert.deepEqual([e.allowed, e.denied], [1, 1]);
  assert.deepEqual(r.flows.map((f) => f.verdict), ['allowed', 'denied', 'allowed']);
});

test('a_grpc_failure_counts_by_its_grpc_status', () => {
  const t = new TrafficTelemetry();
  recordRequest(t, getReviews({ protocol: 'grpc', status: 200, grpcStatus: 14 }), state);
  assert.equal(t.takeReport()!.edges[0]!.requests['5xx'], 1);
});
