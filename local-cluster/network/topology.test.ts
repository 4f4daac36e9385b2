import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isNetworkError, NetworkErrorCodes } from './errors.js';
import {
  buildTopology,
  clusterNetnsName,
  isClusterNetns,
  nodeForPodIp,
  nodeNetnsName,
  nodeOf,
  podNetnsName,
  podNetnsOf,
  validateClusterName,
} from './topology.js';

const invalid = (err: unknown) => isNetworkError(err, NetworkErrorCodes.INVALID);

test('cluster_namespace_is_amb_dash_cluster', () => {
  assert.equal(buildTopology({ cluster: 'local', nodes: 1 }).clusterNetns, 'amb-local');
  assert.equal(clusterNetnsName('t42'), 'amb-t42');
});

test('node_namespaces_are_one_based', () => {
  const t = buildTopology({ cluster: 'local', nodes: 3 });
  assert.deepEqual(
    t.nodes.map((n) => n.netns),
    ['amb-local-node1', 'amb-local-node2', 'amb-local-node3'],
  );
  assert.equal(nodeNetnsName('local', 7), 'amb-local-node7');
});

test('node_addresses_are_10_243_0_10_plus_i', () => {
  const t = buildTopology({ cluster: 'local', nodes: 50 });
  assert.equal(nodeOf(t, 1).address, '10.243.0.11');
  assert.equal(nodeOf(t, 2).address, '10.243.0.12');
  assert.equal(nodeOf(t, 50).address, '10.243.0.60');
  assert.ok(t.nodes.every((n) => n.prefixLength === 24));
});

test('control_plane_is_10_243_0_1_on_br0', () => {
  const t = buildTopology({ cluster: 'local', nodes: 1 });
  assert.equal(t.controlPlaneAddress, '10.243.0.1');
  assert.equal(t.prefixLength, 24);
});

test('node_switch_port_is_named_node_i', () => {
  const t = buildTopology({ cluster: 'local', nodes: 2 });
  assert.deepEqual(
    t.nodes.map((n) => n.switchPort),
    ['node1', 'node2'],
  );
});

test('node_pod_cidr_and_gateway_follow_the_index', () => {
  const n = nodeOf(buildTopology({ cluster: 'local', nodes: 3 }), 3);
  assert.equal(n.podCidr, '10.244.3.0/24');
  assert.equal(n.podGateway, '10.244.3.1');
});

test('service_and_pod_cidrs_are_the_design_ones', () => {
  const t = buildTopology({ cluster: 'local', nodes: 1 });
  assert.equal(t.serviceCidr, '10.96.0.0/16');
  assert.equal(t.podCidr, '10.244.0.0/16');
});

test('each_node_routes_every_other_nodes_pod_cidr_via_that_node', () => {
  const t = buildTopology({ cluster: 'local', nodes: 3 });
  assert.deepEqual(nodeOf(t, 2).routes, [
    { dst: '10.244.1.0/24', via: '10.243.0.11' },
    { dst: '10.244.3.0/24', via: '10.243.0.13' },
  ]);
});

test('single_node_has_no_routes', () => {
  assert.deepEqual(nodeOf(buildTopology({ cluster: 'local', nodes: 1 }), 1).routes, []);
});

test('no_route_anywhere_is_a_default_route', () => {
  const t = buildTopology({ cluster: 'local', nodes: 5 });
  const all = [...t.clusterRoutes, ...t.nodes.flatMap((n) => [...n.routes, n.serviceRoute])];
  assert.ok(all.length > 0);
  assert.ok(all.every((r) => r.dst !== '0.0.0.0/0' && (r.dst.startsWith('10.244.') || r.dst === '10.96.0.0/16')));
});

test('nodes_route_the_service_cidr_to_the_control_plane_address', () => {
  const t = buildTopology({ cluster: 'local', nodes: 2 });
  for (const n of t.nodes) assert.deepEqual(n.serviceRoute, { dst: '10.96.0.0/16', via: '10.243.0.1' });
});

test('cluster_namespace_routes_pod_cidrs_so_the_control_plane_can_answer_pods', () => {
  const t = buildTopology({ cluster: 'local', nodes: 2 });
  assert.deepEqual(t.clusterRoutes, [
    { dst: '10.244.1.0/24', via: '10.243.0.11' },
    { dst: '10.244.2.0/24', via: '10.243.0.12' },
  ]);
});

test('pod_netns_uses_first_12_hex_of_uid_without_dashes', () => {
  assert.equal(podNetnsName('local', '0A1B2C3D-4E5F-6789-abcd-ef0123456789'), 'amb-local-pod-0a1b2c3d4e5f');
});

test('pod_netns_name_is_stable_for_a_uid', () => {
  const uid = 'd0c5b0a8-3f7e-4c2b-9a1d-5e6f7a8b9c0d';
  assert.equal(podNetnsName('x', uid), podNetnsName('x', uid));
  assert.notEqual(podNetnsName('x', uid), podNetnsName('x', 'e0c5b0a8-3f7e-4c2b-9a1d-5e6f7a8b9c0d'));
});

test('pod_uid_that_is_not_hex_is_rejected', () => {
  assert.throws(() => podNetnsName('local', 'not-a-uid-at-all'), invalid);
  assert.throws(() => podNetnsName('local', '0123'), invalid);
});

test('pod_netns_of_a_pod_is_its_own_and_of_a_host_network_pod_its_nodes', () => {
  const t = buildTopology({ cluster: 'local', nodes: 2 });
  const uid = '0A1B2C3D-4E5F-6789-abcd-ef0123456789';
  assert.equal(podNetnsOf(t, { metadata: { uid }, spec: { nodeName: 'node2' } }), 'amb-local-pod-0a1b2c3d4e5f');
  assert.equal(podNetnsOf(t, { metadata: { uid }, spec: { nodeName: 'node2', hostNetwork: true } }), 'amb-local-node2');
  assert.throws(() => podNetnsOf(t, { metadata: { uid }, spec: { nodeName: 'node9', hostNetwork: true } }), /node "node9", which is not in cluster local/);
  assert.throws(() => podNetnsOf(t, { metadata: {}, spec: {} }), invalid);
});

test('cluster_name_accepts_lowercase_digits_and_dash_up_to_20', () => {
  for (const ok of ['a', 'local', 't1234', 'my-test-1', 'a'.repeat(20)]) assert.equal(validateClusterName(ok), ok);
});

test('cluster_name_rejects_bad_characters_and_lengths_clearly', () => {
  for (const bad of ['', 'Local', 'a_b', 'a.b', 'a b', 'a'.repeat(21), '../x']) {
    assert.throws(
      () => buildTopology({ cluster: bad, nodes: 1 }),
      (err: unknown) => invalid(err) && /cluster name .* is invalid: use 1 to 20 characters/.test((err as Error).message),
      bad,
    );
  }
});

test('node_count_must_be_whole_1_to_50', () => {
  for (const bad of [0, -1, 51, 1.5, Number.NaN]) {
    assert.throws(() => buildTopology({ cluster: 'local', nodes: bad }), (err: unknown) => invalid(err) && /node count/.test((err as Error).message));
  }
  assert.equal(buildTopology({ cluster: 'local', nodes: 50 }).nodes.length, 50);
});

test('node_of_unknown_index_names_the_valid_range', () => {
  const t = buildTopology({ cluster: 'local', nodes: 2 });
  assert.throws(() => nodeOf(t, 3), (err: unknown) => invalid(err) && /nodes 1\.\.2/.test((err as Error).message));
});

test('is_cluster_netns_matches_switch_nodes_and_pods', () => {
  for (const n of ['amb-a', 'amb-a-node1', 'amb-a-node12', 'amb-a-pod-0123456789ab']) assert.ok(isClusterNetns('a', n), n);
});

test('is_cluster_netns_does_not_match_a_cluster_with_a_longer_name', () => {
  for (const n of ['amb-a2', 'amb-a2-node1', 'amb-ab-pod-0123456789ab', 'amb-a-nodex', 'amb-a-node0', 'amb-a-pod-xyz', 'amb-t-a-1-1', 'other']) {
    assert.equal(isClusterNetns('a', n), false, n);
  }
});

test('node_for_pod_ip_finds_the_owning_node', () => {
  const t = buildTopology({ cluster: 'local', nodes: 2 });
  assert.equal(nodeForPodIp(t, '10.244.2.7')?.index, 2);
  assert.equal(nodeForPodIp(t, '10.244.3.7'), undefined);
  assert.equal(nodeForPodIp(t, '10.96.0.1'), undefined);
});

test('dual_stack_gives_each_node_a_64_of_the_pod_ula_range_and_routes_between_them', () => {
  const t = buildTopology({ cluster: 'c', nodes: 2, dualStack: true });
  assert.equal(t.dualStack, true);
  assert.equal(t.ipv6?.controlPlaneAddress, 'fd00:10:243::1');
  assert.deepEqual(t.nodes[0]!.ipv6, {
    address: 'fd00:10:243::11',
    prefixLength: 64,
    podCidr: 'fd00:10:244:1::/64',
    podGateway: 'fd00:10:244:1::1',
    routes: [{ dst: 'fd00:10:244:2::/64', via: 'fd00:10:243::12' }],
  });
  assert.equal(buildTopology({ cluster: 'c', nodes: 50, dualStack: true }).nodes[49]!.ipv6?.podCidr, 'fd00:10:244:32::/64');
  assert.equal(nodeForPodIp(t, 'fd00:10:244:2::7')?.index, 2);
  // Single-stack: no IPv6 anywhere.
  const v4 = buildTopology({ cluster: 'c', nodes: 2 });
  assert.equal(v4.dualStack, false);
  assert.equal(v4.ipv6, undefined);
  assert.equal(v4.nodes[0]!.ipv6, undefined);
  assert.equal(nodeForPodIp(v4, 'fd00:10:244:2::7'), undefined);
});

test('dual_stack_has_no_ipv6_route_out_of_the_cluster', () => {
  const t = buildTopology({ cluster: 'c', nodes: 3, dualStack: true });
  for (const n of t.nodes) for (const r of n.ipv6!.routes) assert.match(r.dst, /^fd00:10:244:[0-9a-f]+::\/64$/);
  for (const r of t.ipv6!.clusterRoutes) assert.match(r.dst, /^fd00:10:244:[0-9a-f]+::\/64$/);
});
