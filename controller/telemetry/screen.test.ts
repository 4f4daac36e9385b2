import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MeshService, Workload } from '../../core/config/model.js';
import { EdgeSummary } from '../../core/observe/edge-summary.js';
import type { EdgeKey, Flow, TelemetryReport } from '../../core/observe/telemetry-wire.js';
import { MeshIndex, screenCertificates, screenReport } from './screen.js';

function wl(name: string, pod: string, node: string, namespace = 'shop', over: Partial<Workload> = {}): Workload {
  return { uid: `uid-${pod}`, name: pod, namespace, serviceAccount: name, identity: `spiffe://cluster.local/ns/${namespace}/sa/${name}`, node, ips: [], protocol: 'HBONE', labels: {}, canonicalName: name, canonicalRevision: 'v1', mtlsMode: 'STRICT', healthy: true, ...over };
}
const WP = { service: 'shop/waypoint.shop.svc.cluster.local', port: 15008 };
const reviews = wl('reviews', 'reviews-1', 'node-1');
const ratings = wl('ratings', 'ratings-1', 'node-2');
const direct = wl('direct', 'direct-1', 'node-2', 'shop', { waypoint: WP });
const svc = (name: string, waypoint?: typeof WP): MeshService => ({ key: `shop/${name}.shop.svc.cluster.local`, name, namespace: 'shop', hostname: `${name}.shop.svc.cluster.local`, vips: [], ports: [], endpoints: [], ...(waypoint && { waypoint }) });
const ix = MeshIndex.of([...[reviews, ratings, direct].map((body) => ({ kind: 'Workload', body })), ...[svc('reviews', WP), svc('ratings')].map((body) => ({ kind: 'Service', body }))]);

const AGENT1 = { role: 'node-agent' as const, node: 'node-1' };
const WAYPOINT = { role: 'waypoint' as const, node: 'node-3', waypoint: { namespace: 'shop', gateway: 'waypoint' } };
const peer = (w: Workload) => ({ workload: w.canonicalName, namespace: w.namespace, identity: w.identity });

function edges(...keys: EdgeKey[]): TelemetryReport {
  const s = new EdgeSummary(10);
  for (const k of keys) s.connectionOpened(k);
  return { edges: s.take().edges, overflowEdges: 0, flows: [], droppedFlows: 0 };
}
const tcp = (reporter: EdgeKey['reporter'], source: EdgeKey['source'], destination: EdgeKey['destination']): EdgeKey => ({ reporter, source, destination, port: 80, protocol: 'tcp', mtls: true, viaWaypoint: false });

test('a_node_agent_may_report_its_own_nodes_workload_as_destination', () => {
  assert.deepEqual(screenReport(AGENT1, edges(tcp('destination', {}, peer(reviews))), ix), { ok: true });
});

test('a_node_agent_may_report_its_own_nodes_workload_as_source', () => {
  assert.deepEqual(screenReport(AGENT1, edges(tcp('source', peer(reviews), peer(ratings))), ix), { ok: true });
});

test('a_node_agent_may_not_report_another_nodes_workload', () => {
  const r = screenReport(AGENT1, edges(tcp('destination', peer(reviews), peer(ratings))), ix);
  assert.equal(r.ok, false);
  assert.match((r as { reason: string }).reason, /edges\[0\]: the destination shop\/ratings .* is not a workload on node node-1/);
});

test('a_node_agent_may_not_claim_another_identity_for_its_workload', () => {
  const r = screenReport(AGENT1, edges(tcp('destination', {}, { ...peer(reviews), identity: ratings.identity })), ix);
  assert.equal(r.ok, false);
});

test('a_node_agent_may_not_report_as_waypoint', () => {
  const r = screenReport(AGENT1, edges({ ...tcp('waypoint', {}, peer(reviews)), viaWaypoint: true }), ix);
  assert.match((r as { reason: string }).reason, /not as waypoint/);
});

test('the_reporting_side_must_name_itself', () => {
  const r = screenReport(AGENT1, edges(tcp('destination', {}, { workload: 'reviews', namespace: 'shop' })), ix);
  assert.match((r as { reason: string }).reason, /must name its workload, namespace and identity/);
});

test('other_edges_carry_no_names_and_pass', () => {
  const r = edges(tcp('destination', {}, peer(reviews)));
  r.edges.push({ ...r.edges[0]!, source: {}, destination: {}, port: 0, other: true });
  assert.deepEqual(screenReport(AGENT1, r, ix), { ok: true });
});

function flowOf(over: Partial<Flow>): TelemetryReport {
  const f: Flow = { time: 0, reporter: 'destination', source: {}, destination: { ...peer(reviews), pod: 'reviews-1' }, port: 80, protocol: 'tcp', mtls: true, viaWaypoint: false, verdict: 'allowed', durationMs: 0, bytesSent: 0, bytesReceived: 0, ...over };
  return { edges: [], overflowEdges: 0, flows: [f], droppedFlows: 0 };
}

test('a_node_agents_flow_must_name_a_pod_on_its_node', () => {
  assert.deepEqual(screenReport(AGENT1, flowOf({}), ix), { ok: true });
  const r = screenReport(AGENT1, flowOf({ destination: { ...peer(reviews), pod: 'reviews-on-another-node' } }), ix);
  assert.match((r as { reason: string }).reason, /flows\[0\]: pod shop\/reviews-on-another-node of reviews is not on node node-1/);
});

test('a_waypoint_may_report_traffic_to_a_service_bound_to_it', () => {
  const k: EdgeKey = { ...tcp('waypoint', peer(ratings), { ...peer(reviews), service: 'shop/reviews.shop.svc.cluster.local' }), protocol: 'http', viaWaypoint: true };
  assert.deepEqual(screenReport(WAYPOINT, edges(k), ix), { ok: true });
});

test('a_waypoint_may_not_report_traffic_to_a_service_not_bound_to_it', () => {
  const k: EdgeKey = { ...tcp('waypoint', peer(reviews), { ...peer(ratings), service: 'shop/ratings.shop.svc.cluster.local' }), viaWaypoint: true };
  const r = screenReport(WAYPOINT, edges(k), ix);
  assert.match((r as { reason: string }).reason, /Service shop\/ratings\.shop\.svc\.cluster\.local is not bound to waypoint shop\/waypoint/);
});

test('a_waypoint_may_report_a_workload_bound_to_it_called_directly', () => {
  assert.deepEqual(screenReport(WAYPOINT, edges({ ...tcp('waypoint', {}, peer(direct)), viaWaypoint: true }), ix), { ok: true });
  assert.equal(screenReport(WAYPOINT, edges({ ...tcp('waypoint', {}, peer(ratings)), viaWaypoint: true }), ix).ok, false);
});

test('a_waypoint_may_not_report_as_an_agent', () => {
  const r = screenReport(WAYPOINT, edges(tcp('destination', {}, peer(reviews))), ix);
  assert.match((r as { reason: string }).reason, /a waypoint reports as waypoint, not as destination/);
});

// ---- certificates ----------------------------------------------------------------------

const held = (identity: string, serial = '0a') => ({ identity, serial, notBefore: 0, notAfter: 1 });

test('a_node_agent_may_list_certificates_of_its_own_nodes_identities', () => {
  assert.deepEqual(screenCertificates(AGENT1, [held(reviews.identity)], ix), { kept: [held(reviews.identity)], refused: [] });
});

test('attack_a_node_agent_listing_another_nodes_identity_loses_that_entry_only', () => {
  const r = screenCertificates(AGENT1, [held(reviews.identity), held(ratings.identity, 'ff')], ix);
  assert.deepEqual(r.kept, [held(reviews.identity)]);
  assert.equal(r.refused.length, 1);
  assert.match(r.refused[0]!, /certificates\[1\]: no workload on node node-1 has identity spiffe:\/\/cluster\.local\/ns\/shop\/sa\/ratings/);
});

test('a_node_agent_may_not_list_an_identity_no_workload_has', () => {
  const r = screenCertificates(AGENT1, [held('spiffe://cluster.local/ns/kube-system/sa/admin')], ix);
  assert.deepEqual(r.kept, []);
  assert.equal(r.refused.length, 1);
});

test('a_waypoint_may_list_only_its_own_certificate', () => {
  const own = 'spiffe://cluster.local/ns/shop/sa/waypoint';
  const w = { ...WAYPOINT, identity: own };
  const r = screenCertificates(w, [held(own), held(reviews.identity)], ix);
  assert.deepEqual(r.kept, [held(own)]);
  assert.match(r.refused[0]!, /certificates\[1\]: a waypoint lists only its own certificate/);
  assert.deepEqual(screenCertificates({ role: 'waypoint', node: 'node-3', identity: own }, [held(own)], ix).kept, [], 'an unknown waypoint lists nothing');
});
