// The rolling window on a fake clock: every call says what time it is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EdgeSummary } from '../../core/observe/edge-summary.js';
import type { EdgeKey, Flow, TelemetryReport } from '../../core/observe/telemetry-wire.js';
import { mergeWindowEdges, TelemetryWindow, type MeshFlow } from './window.js';

const T0 = 1_700_000_000_000;
const AGENT = { role: 'node-agent' as const, node: 'node-1' };
const WAYPOINT = { role: 'waypoint' as const, node: 'node-2', waypoint: 'shop/waypoint' };
const SLEEP = { workload: 'sleep', namespace: 'apps', identity: 'spiffe://cluster.local/ns/apps/sa/sleep' };
const REVIEWS = { workload: 'reviews', namespace: 'shop', identity: 'spiffe://cluster.local/ns/shop/sa/reviews' };

const key = (over: Partial<EdgeKey> = {}): EdgeKey => ({ reporter: 'destination', source: SLEEP, destination: REVIEWS, port: 8080, protocol: 'tcp', mtls: true, viaWaypoint: false, ...over });

function tcpReport(n: number, over: Partial<EdgeKey> = {}): TelemetryReport {
  const s = new EdgeSummary(100);
  for (let i = 0; i < n; i++) {
    s.connectionOpened(key(over));
    s.connectionClosed(key(over), 100, 1000);
  }
  return { edges: s.take().edges, overflowEdges: 0, flows: [], droppedFlows: 0 };
}

function flow(over: Partial<Flow> = {}): Flow {
  return { time: T0, reporter: 'destination', source: SLEEP, destination: REVIEWS, port: 8080, protocol: 'tcp', mtls: true, viaWaypoint: false, verdict: 'allowed', durationMs: 1, bytesSent: 0, bytesReceived: 0, ...over };
}

test('reports_from_several_agents_merge_into_one_edge', () => {
  const w = new TelemetryWindow();
  w.ingest(AGENT, tcpReport(3), T0);
  w.ingest({ role: 'node-agent', node: 'node-3' }, tcpReport(2), T0 + 1_000);
  const g = w.graph({ windowMs: 60_000 }, T0 + 2_000);
  const e = g.edges.find((x) => x.source === 'workload/apps/sleep' && x.destination === 'workload/shop/reviews')!;
  assert.equal(e.connections, 5);
  assert.equal(e.bytes, 5 * 1100);
  assert.equal(e.connectionsPerSecond, 0.083); // 5 / 60, to the thousandth
});

test('the_source_agents_view_of_an_mtls_connection_is_not_counted_again', () => {
  const w = new TelemetryWindow();
  w.ingest(AGENT, tcpReport(3, { reporter: 'source' }), T0);
  w.ingest(AGENT, tcpReport(3), T0);
  const g = w.graph({ windowMs: 60_000 }, T0);
  assert.equal(g.edges.length, 1);
  assert.equal(g.edges[0]!.connections, 3);
  assert.equal(w.stats.uncounted, 1);
});

test('the_destination_agents_view_of_a_waypoint_tunnel_is_not_counted', () => {
  const w = new TelemetryWindow();
  w.ingest(AGENT, tcpReport(4, { viaWaypoint: true }), T0);
  assert.deepEqual(w.graph({ windowMs: 60_000 }, T0).edges, []);
});

test('a_waypoints_edges_carry_the_waypoint_from_the_caller_not_the_report', () => {
  const w = new TelemetryWindow();
  const s = new EdgeSummary(10);
  s.request(key({ reporter: 'waypoint', protocol: 'http', viaWaypoint: true, destination: { ...REVIEWS, service: 'shop/reviews.shop.svc.cluster.local' } }), { status: 200, durationMs: 5, bytesSent: 0, bytesReceived: 0 });
  const r = { edges: s.take().edges.map((e) => ({ ...e, waypoint: 'evil/wp' })), overflowEdges: 0, flows: [], droppedFlows: 0 };
  w.ingest(WAYPOINT, r, T0);
  const g = w.graph({ windowMs: 60_000 }, T0);
  assert.equal(g.nodes.find((n) => n.id === 'service/shop/reviews')!.waypoint, 'shop/waypoint');
});

test('what_fell_out_of_the_window_asked_for_is_not_in_the_graph', () => {
  const w = new TelemetryWindow({ bucketMs: 10_000, retentionMs: 60_000 });
  w.ingest(AGENT, tcpReport(1), T0);
  w.ingest(AGENT, tcpReport(2), T0 + 40_000);
  assert.equal(w.graph({ windowMs: 20_000 }, T0 + 45_000).edges[0]!.connections, 2);
  assert.equal(w.graph({ windowMs: 60_000 }, T0 + 45_000).edges[0]!.connections, 3);
});

test('buckets_older_than_the_retention_are_dropped', () => {
  const w = new TelemetryWindow({ bucketMs: 10_000, retentionMs: 30_000 });
  w.ingest(AGENT, tcpReport(1), T0);
  // asking for more than retention gets the retention
  const g = w.graph({ windowMs: 3_600_000 }, T0 + 45_000);
  assert.equal(g.windowMs, 30_000);
  assert.deepEqual(g.edges, []);
});

test('a_bucket_over_its_edge_bound_folds_new_edges_into_other_and_counts_them', () => {
  const w = new TelemetryWindow({ maxEdgesPerBucket: 1 });
  w.ingest(AGENT, tcpReport(1, { port: 1 }), T0);
  w.ingest(AGENT, tcpReport(1, { port: 2 }), T0);
  const g = w.graph({ windowMs: 60_000 }, T0);
  assert.equal(g.overflowEdges, 1);
  assert.ok(g.edges.some((e) => e.source === 'other' && e.destination === 'other' && e.connections === 1));
});

test('a_reporters_own_overflow_count_adds_to_the_graphs', () => {
  const w = new TelemetryWindow();
  w.ingest(AGENT, { ...tcpReport(1), overflowEdges: 7 }, T0);
  assert.equal(w.graph({ windowMs: 60_000 }, T0).overflowEdges, 7);
});

test('flows_are_numbered_and_named_with_the_reporting_node', () => {
  const w = new TelemetryWindow();
  w.ingest(AGENT, { edges: [], overflowEdges: 0, flows: [flow(), flow({ verdict: 'denied', policy: 'shop/deny' })], droppedFlows: 0 }, T0);
  const a = w.flows({ limit: 10 });
  assert.deepEqual(a.flows.map((f) => [f.seq, f.node, f.verdict, f.policy]), [[1, 'node-1', 'allowed', undefined], [2, 'node-1', 'denied', 'shop/deny']]);
  assert.equal(a.lastSeq, 2);
  assert.deepEqual(w.flows({ limit: 10, sinceSeq: 2 }).flows, []);
});

test('flows_filter_by_namespace_on_either_side', () => {
  const w = new TelemetryWindow();
  w.ingest(AGENT, { edges: [], overflowEdges: 0, flows: [flow(), flow({ source: { namespace: 'x' }, destination: { namespace: 'y' } })], droppedFlows: 0 }, T0);
  assert.equal(w.flows({ limit: 10, namespace: 'apps' }).flows.length, 1);
  assert.equal(w.flows({ limit: 10, namespace: 'y' }).flows.length, 1);
  assert.equal(w.flows({ limit: 10, namespace: 'z' }).flows.length, 0);
});

test('a_flow_to_a_service_with_no_backend_chosen_belongs_to_the_services_namespace', () => {
  const w = new TelemetryWindow();
  w.ingest(AGENT, { edges: [], overflowEdges: 0, flows: [flow({ source: { namespace: 'x' }, destination: { service: 'shop/api.shop.svc.cluster.local' } })], droppedFlows: 0 }, T0);
  assert.equal(w.flows({ limit: 10, namespace: 'shop' }).flows.length, 1);
});

test('a_flow_the_reporter_rule_does_not_count_is_not_kept', () => {
  const w = new TelemetryWindow();
  w.ingest(AGENT, { edges: [], overflowEdges: 0, flows: [flow({ reporter: 'source' })], droppedFlows: 0 }, T0);
  assert.equal(w.flows({ limit: 10 }).flows.length, 0);
});

test('flows_limit_is_capped_by_max_flows_per_query', () => {
  const w = new TelemetryWindow({ maxFlowsPerQuery: 2 });
  w.ingest(AGENT, { edges: [], overflowEdges: 0, flows: [flow(), flow(), flow()], droppedFlows: 0 }, T0);
  const a = w.flows({ limit: 100 });
  assert.deepEqual(a.flows.map((f) => f.seq), [2, 3]);
  assert.equal(a.missed, 1);
});

test('subscribers_see_every_new_flow_until_they_unsubscribe', () => {
  const w = new TelemetryWindow();
  const seen: MeshFlow[] = [];
  const off = w.subscribe((f) => seen.push(f));
  w.subscribe(() => {
    throw new Error('a broken listener');
  });
  w.ingest(AGENT, { edges: [], overflowEdges: 0, flows: [flow()], droppedFlows: 0 }, T0);
  off();
  w.ingest(AGENT, { edges: [], overflowEdges: 0, flows: [flow()], droppedFlows: 0 }, T0);
  assert.deepEqual(seen.map((f) => f.seq), [1]);
});

test('subscribers_beyond_the_bound_are_refused', () => {
  const w = new TelemetryWindow({ maxSubscribers: 1 });
  w.subscribe(() => {});
  assert.throws(() => w.subscribe(() => {}), /maxSubscribers 1/);
});

test('a_limit_that_is_not_a_positive_integer_is_refused', () => {
  assert.throws(() => new TelemetryWindow({ bucketMs: 0 }), /bucketMs must be a positive integer/);
});

test('two_replicas_windows_merge_into_the_whole_meshs_graph', () => {
  const a = new TelemetryWindow();
  const b = new TelemetryWindow();
  a.ingest(AGENT, tcpReport(2), T0);
  b.ingest({ role: 'node-agent', node: 'node-3' }, tcpReport(3), T0);
  const g = a.graph({ windowMs: 60_000 }, T0, [b.edges({ windowMs: 60_000 }, T0)]);
  assert.equal(g.edges[0]!.connections, 5);
  assert.equal(a.graph({ windowMs: 60_000 }, T0).edges[0]!.connections, 2, 'alone, a replica answers for its own clients');
});

test('merging_windows_adds_overflow_counts', () => {
  const w = { windowMs: 10_000, at: T0, edges: [], overflowEdges: 2 };
  assert.equal(mergeWindowEdges([w, { ...w, overflowEdges: 3 }]).overflowEdges, 5);
});
