import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyCounts } from '../../core/observe/telemetry-wire.js';
import type { MeshFlow } from '../telemetry/mesh-telemetry.js';
import { REPLICA_PARTS, mergeAgents, mergeFlows, newPeerFlows, parseAgentRows, parseHeldSnapshot, parseReplicaFlows, parseWindowEdges, partialFields, type AgentRow } from './replica-parts.js';

const src = { workload: 'client', namespace: 'apps', identity: 'spiffe://cluster.local/ns/apps/sa/client' };
const dst = { workload: 'echo', namespace: 'apps', service: 'apps/echo.apps.svc.cluster.local' };
const edge = (bytes: number, requests2xx = 0) => ({ reporter: 'destination' as const, source: src, destination: dst, port: 80, protocol: 'http' as const, mtls: true, viaWaypoint: false, ...emptyCounts(), bytesSent: bytes, requests: { ...emptyCounts().requests, '2xx': requests2xx } });
const flow = (seq: number, time: number): MeshFlow => ({ seq, time, node: 'node-1', reporter: 'destination', source: src, destination: dst, port: 80, protocol: 'tcp', mtls: true, viaWaypoint: false, verdict: 'allowed', durationMs: 1, bytesSent: 1, bytesReceived: 1 });
const agent = (node: string, connected = true, ackedVersion: string | null = '3'): AgentRow => ({ node, connected, ackedVersion, nacks: [], problems: [] });

test('edges_of_two_replicas_are_summed_per_edge_key', () => {
  const a = { windowMs: 60_000, at: 1, edges: [edge(100, 2)], overflowEdges: 1 };
  const b = { windowMs: 60_000, at: 2, edges: [edge(50, 3), { ...edge(7), port: 81 }], overflowEdges: 2 };
  const m = REPLICA_PARTS.edges.merge([a, b]);
  assert.equal(m.edges.length, 2);
  const p80 = m.edges.find((e) => e.port === 80)!;
  assert.deepEqual([p80.bytesSent, p80.requests['2xx'], m.overflowEdges], [150, 5, 3]);
});

test('flows_merge_by_time_and_keep_the_newest_limit', () => {
  const m = mergeFlows([{ replica: 'a', lastSeq: 2, flows: [flow(1, 10), flow(2, 30)] }, { replica: 'b', lastSeq: 1, flows: [flow(1, 20)] }], 2);
  assert.deepEqual(m.map((r) => `${r.replica}:${r.flow.seq}`), ['b:1', 'a:2']);
});

test('a_replica_answering_twice_adds_no_flow_twice', () => {
  const part = { replica: 'a', lastSeq: 1, flows: [flow(1, 10)] };
  assert.equal(mergeFlows([part, part, { ...part, replica: 'b' }], 10).length, 2);
});

test('flows_at_the_same_time_order_by_replica_then_seq', () => {
  const m = mergeFlows([{ replica: 'b', lastSeq: 2, flows: [flow(2, 5), flow(1, 5)] }, { replica: 'a', lastSeq: 9, flows: [flow(9, 5)] }], 10);
  assert.deepEqual(m.map((r) => `${r.replica}:${r.flow.seq}`), ['a:9', 'b:1', 'b:2']);
});

test('agents_merge_one_row_per_node_the_connected_one_winning', () => {
  const own = [agent('node-2', false, null), agent('node-1')];
  const peer = [agent('node-2', true, '7'), agent('node-3')];
  const m = mergeAgents([own, peer]);
  assert.deepEqual(m.map((r) => [r.node, r.connected, r.ackedVersion]), [['node-1', true, '3'], ['node-2', true, '7'], ['node-3', true, '3']]);
});

test('agents_seen_connected_by_two_replicas_keep_this_replicas_row', () => {
  assert.equal(mergeAgents([[agent('n', true, '1')], [agent('n', true, '2')]])[0]!.ackedVersion, '1');
});

test('a_peers_window_edges_are_checked_and_keep_their_waypoint', () => {
  const w = parseWindowEdges(JSON.parse(JSON.stringify({ windowMs: 1, at: 2, overflowEdges: 0, edges: [{ ...edge(1), reporter: 'waypoint', waypoint: 'apps/waypoint' }] })), 'edges');
  assert.equal(w.edges[0]!.waypoint, 'apps/waypoint');
  assert.throws(() => parseWindowEdges({ windowMs: 1, at: 2, overflowEdges: 0, edges: [{ ...edge(1), bytesSent: -1 }] }, 'edges'), /edges\.edges\[0\]\.bytesSent must be a non-negative integer/);
  assert.throws(() => parseWindowEdges({ windowMs: 1, at: 2, edges: [] }, 'edges'), /edges\.overflowEdges/);
});

test('a_peers_flows_are_checked_with_their_seq_and_node', () => {
  const ok = parseReplicaFlows(JSON.parse(JSON.stringify({ replica: 'b', lastSeq: 4, flows: [flow(4, 1)] })), 'flows');
  assert.deepEqual([ok.replica, ok.flows[0]!.seq, ok.flows[0]!.node], ['b', 4, 'node-1']);
  assert.throws(() => parseReplicaFlows({ replica: 'b', lastSeq: 4, flows: [{ ...flow(4, 1), seq: 'x' }] }, 'flows'), /flows\.flows\[0\]\.seq/);
  assert.throws(() => parseReplicaFlows({ lastSeq: 4, flows: [] }, 'flows'), /flows\.replica/);
});

test('a_peers_agent_rows_are_checked', () => {
  assert.deepEqual(parseAgentRows([agent('n')], 'agents'), [agent('n')]);
  assert.throws(() => parseAgentRows([{ ...agent('n'), connected: 'yes' }], 'agents'), /agents\[0\]\.connected/);
  assert.throws(() => parseAgentRows({}, 'agents'), /agents must be an array/);
});

test('a_live_view_starts_at_a_peers_newest_flow_then_follows_it', () => {
  const first = newPeerFlows(undefined, { replica: 'b', lastSeq: 5, flows: [flow(5, 1)] });
  assert.deepEqual([first.flows.length, first.cursor], [0, 5]);
  const next = newPeerFlows(5, { replica: 'b', lastSeq: 7, flows: [flow(5, 1), flow(6, 2), flow(7, 3)] });
  assert.deepEqual([next.flows.map((f) => f.seq), next.cursor], [[6, 7], 7]);
});

test('a_restarted_peer_starts_over_from_its_new_numbering', () => {
  assert.deepEqual(newPeerFlows(900, { replica: 'b', lastSeq: 3, flows: [] }), { flows: [], cursor: 3 });
});

test('an_answer_is_partial_only_when_a_replica_is_missing', () => {
  assert.deepEqual(partialFields({ unanswered: [] }), {});
  assert.deepEqual(partialFields({ unanswered: [{ replica: 'b', reason: 'no answer within 2000 ms' }] }), { partial: true, unanswered: [{ replica: 'b', reason: 'no answer within 2000 ms' }] });
});

test('a_replica_missing_from_two_parts_is_named_once', () => {
  const u = { unanswered: [{ replica: 'b', reason: 'no answer within 2000 ms' }] };
  assert.deepEqual(partialFields(u, u, { unanswered: [] }).unanswered?.map((x) => x.replica), ['b']);
});

test('waypoint_streams_of_every_replica_are_listed_by_identity_then_node', () => {
  const stream = (node: string) => ({ identity: 'spiffe://cluster.local/ns/apps/sa/waypoint', node, ackedVersion: '3', synced: true, rejected: [] });
  assert.deepEqual(REPLICA_PARTS.waypointStreams.merge([[stream('node-2')], [stream('node-1'), stream('node-3')]]).map((s) => s.node), ['node-1', 'node-2', 'node-3']);
  assert.deepEqual(REPLICA_PARTS.waypointStreams.parse(JSON.parse(JSON.stringify([stream('node-1')])), 'waypointStreams'), [stream('node-1')]);
  assert.throws(() => REPLICA_PARTS.waypointStreams.parse([{ ...stream('node-1'), identity: '' }], 'waypointStreams'), /waypointStreams\[0\]\.identity/);
});

test('a_peers_agent_row_keeps_its_identity_sync_state_refusals_and_enrolment', () => {
  const row = { ...agent('node-1'), controllerVersion: '7', identity: 'spiffe://cluster.local/ns/ambient-system/sa/ambient-node-agent', synced: false, rejected: [{ kind: 'Workload', key: 'apps/echo', version: '3', error: 'bad port' }], enrolled: 4 };
  assert.deepEqual(parseAgentRows(JSON.parse(JSON.stringify([row])), 'agents'), [row]);
  assert.throws(() => parseAgentRows([{ ...row, enrolled: -1 }], 'agents'), /agents\[0\]\.enrolled/);
});

test('held_certificates_of_two_replicas_keep_the_latest_list_per_reporter', () => {
  const cert = (serial: string) => ({ identity: 'spiffe://cluster.local/ns/apps/sa/echo', serial, notBefore: 1, notAfter: 2 });
  const a = { at: 10, sets: [{ role: 'node-agent' as const, node: 'node-1', reportedAt: 5, certificates: [cert('aa')] }] };
  const b = parseHeldSnapshot(JSON.parse(JSON.stringify({ at: 12, sets: [{ role: 'node-agent', node: 'node-1', reportedAt: 9, certificates: [cert('bb')] }, { role: 'node-agent', node: 'node-2', reportedAt: 8, certificates: [cert('cc')] }] })), 'certificates');
  const m = REPLICA_PARTS.certificates.merge([a, b]);
  assert.deepEqual(m.sets.map((s) => [s.node, s.certificates[0]!.serial]), [['node-1', 'bb'], ['node-2', 'cc']]);
  assert.throws(() => parseHeldSnapshot({ at: 1, sets: [{ role: 'admin', node: 'n', reportedAt: 1, certificates: [] }] }, 'certificates'), /certificates\.sets\[0\]\.role/);
  assert.throws(() => parseHeldSnapshot({ at: 1, sets: [{ role: 'node-agent', node: 'n', reportedAt: 1, certificates: [{ ...cert('zz'), identity: 'x' }] }] }, 'certificates'), /certificates\.sets\[0\]\.certificates\[0\]\.identity/);
});
