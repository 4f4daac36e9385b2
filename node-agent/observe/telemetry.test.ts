// The node agent's traffic summary from connection records (pure mapping and the bounded holder).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stateOf, workload } from '../proxy/fixtures.js';
import { client, connectionRecord, outboundToReviews, reviews, server, state } from './fixtures.js';
import { connectionEdgeKey, connectionVerdict, TrafficTelemetry } from './telemetry.js';

/** The destination agent's record of client -> reviews. */
const inbound = (over: Parameters<typeof connectionRecord>[0] = {}) =>
  outboundToReviews({ direction: 'inbound-hbone', reporter: 'destination', plan: 'accept', originalDst: { ip: '10.244.2.7', port: 8080 }, upstream: { ip: '10.244.2.7', port: 8080 }, ...over });

test('the_destination_agents_record_is_an_edge_from_the_client_to_the_workload_and_its_service', () => {
  const k = connectionEdgeKey(inbound(), state)!;
  assert.deepEqual(k.key, {
    reporter: 'destination',
    source: { workload: 'sleep', namespace: 'apps', identity: client.identity },
    destination: { workload: 'reviews', namespace: 'shop', identity: server.identity, service: reviews.key },
    port: 8080,
    protocol: 'tcp',
    mtls: true,
    viaWaypoint: false,
  });
  assert.equal(k.destination.pod, 'reviews-v2-abc');
});

test('the_source_agents_record_of_an_mtls_connection_is_not_kept', () => {
  assert.equal(connectionEdgeKey(outboundToReviews(), state), undefined);
});

test('the_source_agents_record_of_a_passthrough_is_kept', () => {
  assert.equal(connectionEdgeKey(outboundToReviews({ plan: 'passthrough', mtls: false }), state)?.key.reporter, 'source');
});

test('a_tunnel_from_a_waypoint_is_left_to_the_waypoint', () => {
  assert.equal(connectionEdgeKey(inbound({ via: 'waypoint' }), state), undefined);
});

test('with_a_node_only_records_whose_reporting_side_runs_there_are_kept', () => {
  assert.notEqual(connectionEdgeKey(inbound(), state, 'node-1'), undefined);
  assert.equal(connectionEdgeKey(inbound(), state, 'node-2'), undefined);
  const elsewhere = workload('far', { namespace: 'shop', node: 'node-9' });
  assert.equal(connectionEdgeKey(inbound({ destinationWorkload: elsewhere.uid }), stateOf([client, elsewhere]), 'node-1'), undefined);
});

test('verdict_is_the_enforced_decision_with_its_policy', () => {
  assert.deepEqual(connectionVerdict(inbound({ plan: 'reject', reason: 'authz-denied', authz: { decision: 'DENY', policy: 'shop/deny-sleep', rule: 0 } })), { verdict: 'denied', policy: 'shop/deny-sleep' });
  assert.deepEqual(connectionVerdict(inbound({ authz: { decision: 'ALLOW', policy: 'shop/allow', dryRun: { decision: 'DENY', policy: 'shop/dry' } } })), { verdict: 'would-deny', policy: 'shop/dry' });
  assert.deepEqual(connectionVerdict(inbound({ authz: { decision: 'ALLOW', policy: 'shop/allow' } })), { verdict: 'allowed', policy: 'shop/allow' });
});

test('a_strict_mtls_refusal_without_a_decision_is_denied', () => {
  assert.equal(connectionVerdict(inbound({ plan: 'reject', reason: 'plaintext-strict', mtls: false })).verdict, 'denied');
});

test('a_finished_connection_counts_bytes_and_its_flow_carries_the_verdict', () => {
  const t = new TrafficTelemetry({ node: 'node-1' });
  t.connectionOpened(inbound(), state);
  t.connectionEnded(inbound(), state);
  t.connectionEnded(inbound({ plan: 'reject', reason: 'authz-denied', bytesSent: 0, bytesReceived: 0, authz: { decision: 'DENY', policy: 'shop/deny-sleep' } }), state);
  const r = t.takeReport()!;
  assert.equal(r.edges.length, 1);
  const e = r.edges[0]!;
  assert.deepEqual([e.connectionsOpened, e.connectionsClosed, e.bytesSent, e.bytesReceived, e.allowed, e.denied], [1, 2, 100, 2048, 0, 1]);
  assert.deepEqual(e.policies, { 'shop/deny-sleep': { denied: 1, wouldDeny: 0 } });
  assert.deepEqual(r.flows.map((f) => [f.verdict, f.policy, f.flags]), [['allowed', undefined, '-'], ['denied', 'shop/deny-sleep', 'DENY']]);
});

test('a_report_carries_only_what_came_since_the_last_one', () => {
  const t = new TrafficTelemetry();
  assert.equal(t.takeReport(), undefined);
  t.connectionEnded(inbound(), state);
  assert.equal(t.takeReport()!.flows.length, 1);
  assert.equal(t.takeReport(), undefined);
});

test('flows_overwritten_before_a_report_are_counted_as_dropped', () => {
  const t = new TrafficTelemetry({ maxFlows: 2 });
  for (let i = 0; i < 5; i++) t.connectionEnded(inbound(), state);
  const r = t.takeReport()!;
  assert.deepEqual([r.flows.length, r.droppedFlows], [2, 3]);
});
