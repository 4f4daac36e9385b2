import assert from 'node:assert/strict';
import { test } from 'node:test';
import { observe } from '../../core/observe/latency-histogram.js';
import { emptyCounts, type EdgeKey } from '../../core/observe/telemetry-wire.js';
import { buildGraph, serviceName, type StoredEdge } from './graph.js';

const SLEEP = { workload: 'sleep', namespace: 'apps', identity: 'spiffe://cluster.local/ns/apps/sa/sleep' };
const REVIEWS = { workload: 'reviews', namespace: 'shop', identity: 'spiffe://cluster.local/ns/shop/sa/reviews' };
const SVC = 'shop/reviews.shop.svc.cluster.local';

function edge(over: Partial<EdgeKey> = {}, counts: Partial<ReturnType<typeof emptyCounts>> = {}): StoredEdge {
  return { reporter: 'destination', source: SLEEP, destination: REVIEWS, port: 8080, protocol: 'tcp', mtls: true, viaWaypoint: false, ...over, ...emptyCounts(), ...counts };
}

test('service_name_comes_from_the_hostname_of_the_key', () => {
  assert.deepEqual(serviceName(SVC), { namespace: 'shop', name: 'reviews' });
  assert.deepEqual(serviceName('shop/api.example.com'), { namespace: 'shop', name: 'api.example.com' });
});

test('a_workload_to_workload_edge_has_rates_over_the_window', () => {
  const g = buildGraph([edge({}, { connectionsOpened: 30, bytesSent: 600, bytesReceived: 600 })], { windowMs: 60_000, at: 0 });
  assert.deepEqual(g.nodes.map((n) => n.id), ['workload/apps/sleep', 'workload/shop/reviews']);
  const e = g.edges[0]!;
  assert.deepEqual([e.connectionsPerSecond, e.bytesPerSecond, e.requestsPerSecond, e.successRate, e.p99Ms, e.mtls], [0.5, 20, 0, null, null, true]);
  assert.equal(g.nodes[0]!.identity, SLEEP.identity);
});

test('traffic_to_a_service_goes_through_a_service_node_to_the_backend', () => {
  const latency = emptyCounts().latency;
  observe(latency, 20, 100);
  const g = buildGraph(
    [edge({ reporter: 'waypoint', protocol: 'http', viaWaypoint: true, destination: { ...REVIEWS, service: SVC }, waypoint: 'shop/waypoint' }, { requests: { '2xx': 90, '3xx': 0, '4xx': 0, '5xx': 10, none: 0 }, latency })],
    { windowMs: 10_000, at: 0 },
  );
  assert.deepEqual(g.edges.map((e) => [e.source, e.destination]), [
    ['service/shop/reviews', 'workload/shop/reviews'],
    ['workload/apps/sleep', 'service/shop/reviews'],
  ]);
  const e = g.edges[1]!;
  assert.deepEqual([e.requestsPerSecond, e.successRate, e.viaWaypoint, e.protocol], [10, 0.9, true, 'http']);
  assert.ok(e.p99Ms! > 10 && e.p99Ms! <= 25);
  assert.equal(g.nodes.find((n) => n.id === 'service/shop/reviews')!.waypoint, 'shop/waypoint');
  assert.equal(g.nodes.find((n) => n.id === 'service/shop/reviews')!.kind, 'service');
});

test('a_source_without_a_workload_is_the_unknown_node', () => {
  const g = buildGraph([edge({ source: {}, mtls: false })], { windowMs: 10_000, at: 0 });
  assert.equal(g.edges[0]!.source, 'unknown');
});

test('edges_of_several_ports_merge_and_denials_add_up_with_their_policies', () => {
  const g = buildGraph(
    [
      edge({ port: 1 }, { denied: 2, policies: { 'shop/deny': { denied: 2, wouldDeny: 0 } } }),
      edge({ port: 2 }, { denied: 1, wouldDeny: 1, policies: { 'shop/deny': { denied: 1, wouldDeny: 0 }, 'shop/dry': { denied: 0, wouldDeny: 1 } } }),
    ],
    { windowMs: 10_000, at: 0 },
  );
  assert.equal(g.edges.length, 1);
  assert.deepEqual([g.edges[0]!.denied, g.edges[0]!.wouldDeny], [3, 1]);
  assert.deepEqual(g.edges[0]!.policies, { 'shop/deny': { denied: 3, wouldDeny: 0 }, 'shop/dry': { denied: 0, wouldDeny: 1 } });
});

test('mtls_and_plaintext_traffic_are_separate_edges', () => {
  const g = buildGraph([edge(), edge({ mtls: false })], { windowMs: 10_000, at: 0 });
  assert.deepEqual(g.edges.map((e) => e.mtls).sort(), [false, true]);
});

test('a_namespace_filter_keeps_edges_touching_it', () => {
  const other = { workload: 'x', namespace: 'other' };
  const g = buildGraph([edge(), edge({ source: other, destination: { workload: 'y', namespace: 'other' } })], { windowMs: 10_000, at: 0, namespace: 'shop' });
  assert.equal(g.edges.length, 1);
  assert.deepEqual(g.nodes.map((n) => n.id), ['workload/apps/sleep', 'workload/shop/reviews']);
});

test('other_edges_join_the_other_node', () => {
  const g = buildGraph([edge({ other: true, source: {}, destination: {}, port: 0 }, { connectionsOpened: 1 })], { windowMs: 10_000, at: 0 });
  assert.deepEqual([g.edges[0]!.source, g.edges[0]!.destination], ['other', 'other']);
});
