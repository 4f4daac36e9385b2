import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EdgeSummary } from './edge-summary.js';
import { bucketOf } from './latency-histogram.js';
import type { EdgeKey } from './telemetry-wire.js';

const SLEEP = { workload: 'sleep', namespace: 'apps', identity: 'spiffe://cluster.local/ns/apps/sa/sleep' };
const key = (over: Partial<EdgeKey> = {}): EdgeKey => ({
  reporter: 'destination',
  source: SLEEP,
  destination: { workload: 'reviews', namespace: 'shop', identity: 'spiffe://cluster.local/ns/shop/sa/reviews', service: 'shop/reviews.shop.svc.cluster.local' },
  port: 8080,
  protocol: 'tcp',
  mtls: true,
  viaWaypoint: false,
  ...over,
});

test('connections_on_one_edge_merge_their_counts_and_bytes', () => {
  const s = new EdgeSummary(10);
  s.connectionOpened(key());
  s.connectionOpened(key());
  s.connectionClosed(key(), 100, 2000);
  s.connectionClosed(key(), 50, 10);
  const { edges } = s.take();
  assert.equal(edges.length, 1);
  assert.deepEqual([edges[0]!.connectionsOpened, edges[0]!.connectionsClosed, edges[0]!.bytesSent, edges[0]!.bytesReceived], [2, 2, 150, 2010]);
});

test('edges_differing_in_port_protocol_or_mtls_are_kept_apart', () => {
  const s = new EdgeSummary(10);
  s.connectionOpened(key());
  s.connectionOpened(key({ port: 9090 }));
  s.connectionOpened(key({ mtls: false }));
  s.connectionOpened(key({ reporter: 'source', mtls: false }));
  assert.equal(s.take().edges.length, 4);
});

test('requests_count_by_status_class_with_their_latency', () => {
  const s = new EdgeSummary(10);
  const k = key({ reporter: 'waypoint', protocol: 'http', viaWaypoint: true });
  s.request(k, { status: 200, durationMs: 3, bytesSent: 0, bytesReceived: 10 });
  s.request(k, { status: 503, durationMs: 700, bytesSent: 5, bytesReceived: 0 });
  s.request(k, { status: 0, durationMs: 1, bytesSent: 0, bytesReceived: 0 });
  const e = s.take().edges[0]!;
  assert.deepEqual(e.requests, { '2xx': 1, '3xx': 0, '4xx': 0, '5xx': 1, none: 1 });
  assert.equal(e.latency[bucketOf(3)], 1);
  assert.equal(e.latency[bucketOf(700)], 1);
  assert.equal(e.bytesReceived, 10);
});

test('decisions_count_verdicts_and_name_the_deciding_policy', () => {
  const s = new EdgeSummary(10);
  s.decision(key(), 'allowed', 'shop/allow-sleep');
  s.decision(key(), 'denied', 'shop/deny-sleep');
  s.decision(key(), 'denied', 'shop/deny-sleep');
  s.decision(key(), 'would-deny', 'shop/dry');
  const e = s.take().edges[0]!;
  assert.deepEqual([e.allowed, e.denied, e.wouldDeny], [1, 2, 1]);
  assert.deepEqual(e.policies, { 'shop/deny-sleep': { denied: 2, wouldDeny: 0 }, 'shop/dry': { denied: 0, wouldDeny: 1 } });
});

test('policies_beyond_the_per_edge_bound_are_counted_under_other', () => {
  const s = new EdgeSummary(10, 2);
  for (const p of ['a/1', 'a/2', 'a/3', 'a/4']) s.decision(key(), 'denied', p);
  assert.deepEqual(Object.keys(s.take().edges[0]!.policies).sort(), ['a/1', 'a/2', 'other']);
});

test('beyond_max_edges_new_edges_fold_into_an_other_edge_and_the_overflow_is_counted', () => {
  const s = new EdgeSummary(2);
  s.connectionOpened(key({ port: 1 }));
  s.connectionOpened(key({ port: 2 }));
  s.connectionOpened(key({ port: 3 }));
  s.connectionOpened(key({ port: 4 }));
  // An edge already held still counts on its own.
  s.connectionOpened(key({ port: 1 }));
  const { edges, overflow } = s.take();
  assert.equal(overflow, 2);
  assert.equal(edges.length, 3);
  const other = edges.find((e) => e.other === true)!;
  assert.deepEqual([other.port, other.source, other.destination, other.connectionsOpened], [0, {}, {}, 2]);
  assert.equal(edges.find((e) => e.port === 1)!.connectionsOpened, 2);
});

test('take_hands_everything_over_and_starts_afresh', () => {
  const s = new EdgeSummary(1);
  s.connectionOpened(key({ port: 1 }));
  s.connectionOpened(key({ port: 2 }));
  assert.equal(s.take().edges.length, 2);
  assert.equal(s.size, 0);
  assert.equal(s.overflow, 0);
  // The bound is whole again after a take.
  s.connectionOpened(key({ port: 2 }));
  assert.equal(s.take().edges[0]!.port, 2);
});

test('the_summary_keeps_its_own_copy_of_the_key', () => {
  const s = new EdgeSummary(10);
  const k = key();
  s.connectionOpened(k);
  (k.source as { workload?: string }).workload = 'changed';
  assert.equal(s.take().edges[0]!.source.workload, 'sleep');
});
