import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isNetworkError } from './errors.js';
import { assertContained, createPlan, destroyOrder, parseNetnsList, type IpStep, type Step } from './nodes-plan.js';
import { buildTopology } from './topology.js';

const topo = buildTopology({ cluster: 'c1', nodes: 2 });
const plan = createPlan(topo);
const ipSteps = plan.filter((s): s is IpStep => s.kind === 'ip').map((s) => s.args.join(' '));
const sysctls = plan.filter((s) => s.kind === 'sysctl');

test('plan_creates_cluster_namespace_before_anything_else', () => {
  assert.equal(ipSteps[0], 'netns add amb-c1');
});

test('plan_creates_br0_with_control_plane_address_in_cluster_namespace', () => {
  assert.ok(ipSteps.includes('-n amb-c1 link add br0 type bridge'));
  assert.ok(ipSteps.includes('-n amb-c1 addr add 10.243.0.1/24 dev br0'));
  assert.ok(ipSteps.includes('-n amb-c1 link set br0 up'));
});

test('plan_creates_each_veth_inside_the_cluster_namespace_with_peer_in_the_node', () => {
  assert.ok(ipSteps.includes('-n amb-c1 link add node1 type veth peer name eth0 netns amb-c1-node1'));
  assert.ok(ipSteps.includes('-n amb-c1 link add node2 type veth peer name eth0 netns amb-c1-node2'));
});

test('plan_enslaves_switch_ports_to_br0', () => {
  assert.ok(ipSteps.includes('-n amb-c1 link set node1 master br0'));
  assert.ok(ipSteps.includes('-n amb-c1 link set node2 up'));
});

test('plan_addresses_node_eth0', () => {
  assert.ok(ipSteps.includes('-n amb-c1-node2 addr add 10.243.0.12/24 dev eth0'));
  assert.ok(ipSteps.includes('-n amb-c1-node2 link set eth0 up'));
});

test('plan_sets_lo_up_in_every_namespace', () => {
  for (const ns of ['amb-c1', 'amb-c1-node1', 'amb-c1-node2']) assert.ok(ipSteps.includes(`-n ${ns} link set lo up`), ns);
});

test('plan_routes_other_nodes_pod_cidrs', () => {
  assert.ok(ipSteps.includes('-n amb-c1-node1 route add 10.244.2.0/24 via 10.243.0.12 dev eth0'));
  assert.ok(ipSteps.includes('-n amb-c1-node2 route add 10.244.1.0/24 via 10.243.0.11 dev eth0'));
  assert.ok(ipSteps.includes('-n amb-c1 route add 10.244.1.0/24 via 10.243.0.11 dev br0'));
});

test('plan_routes_the_service_cidr_via_the_control_plane_in_nodes', () => {
  assert.ok(ipSteps.includes('-n amb-c1-node1 route add 10.96.0.0/16 via 10.243.0.1 dev eth0'));
  assert.ok(ipSteps.includes('-n amb-c1-node2 route add 10.96.0.0/16 via 10.243.0.1 dev eth0'));
});

test('plan_adds_no_default_route', () => {
  assert.ok(!ipSteps.some((s) => / route add (default|0\.0\.0\.0\/0)/.test(s)));
});

test('plan_forwards_only_in_node_namespaces', () => {
  const fwd = sysctls.filter((s) => s.kind === 'sysctl' && s.key === 'net.ipv4.ip_forward');
  assert.deepEqual(
    fwd.map((s) => s.kind === 'sysctl' && `${s.netns}=${s.value}`),
    ['amb-c1=0', 'amb-c1-node1=1', 'amb-c1-node2=1'],
  );
});

test('plan_turns_bridge_nf_call_iptables_on_in_nodes', () => {
  const nf = sysctls.filter((s) => s.kind === 'sysctl' && s.key === 'net.bridge.bridge-nf-call-iptables');
  assert.deepEqual(
    nf.map((s) => s.kind === 'sysctl' && `${s.netns}=${s.value}`),
    ['amb-c1=0', 'amb-c1-node1=1', 'amb-c1-node2=1'],
  );
});

test('plan_never_acts_in_the_host_namespace', () => {
  for (const s of plan) {
    if (s.kind === 'sysctl') assert.match(s.netns, /^amb-c1/);
    else assert.ok(s.args[0] === '-n' || (s.args[0] === 'netns' && s.args[1] === 'add'), s.args.join(' '));
  }
});

test('routes_come_after_every_node_address', () => {
  const lastAddr = Math.max(...ipSteps.map((s, i) => (/ addr add /.test(s) ? i : -1)));
  const firstRoute = ipSteps.findIndex((s) => / route add /.test(s));
  assert.ok(firstRoute > lastAddr);
});

test('contained_guard_rejects_a_host_namespace_step', () => {
  const host: Step[] = [{ kind: 'ip', args: ['link', 'add', 'x', 'type', 'veth'] }];
  assert.throws(() => assertContained('c1', host), (e: unknown) => isNetworkError(e) && /not inside a namespace of cluster c1/.test((e as Error).message));
});

test('contained_guard_rejects_another_clusters_namespace', () => {
  assert.throws(() => assertContained('c1', [{ kind: 'ip', args: ['-n', 'amb-c2-node1', 'link', 'set', 'lo', 'up'] }]), isNetworkError);
  assert.throws(() => assertContained('c1', [{ kind: 'sysctl', netns: 'amb-c12', key: 'k', value: '1' }]), isNetworkError);
  assert.throws(() => assertContained('c1', [{ kind: 'ip', args: ['netns', 'exec', 'amb-c1', 'ip', 'link'] }]), isNetworkError);
});

test('parse_netns_list_takes_names_with_or_without_ids', () => {
  assert.deepEqual(parseNetnsList('amb-c1-node1 (id: 2)\namb-c1\n\nother (id: 0)\n'), ['amb-c1-node1', 'amb-c1', 'other']);
  assert.deepEqual(parseNetnsList(''), []);
});

test('destroy_order_is_pods_then_nodes_then_switch_and_only_ours', () => {
  const names = ['amb-c1', 'amb-c1-node10', 'amb-c1-node2', 'amb-c12-node1', 'amb-c1-pod-0123456789ab', 'amb-t-x-1-1', 'amb-c1-node1'];
  assert.deepEqual(destroyOrder('c1', names), ['amb-c1-pod-0123456789ab', 'amb-c1-node1', 'amb-c1-node2', 'amb-c1-node10', 'amb-c1']);
});

test('dual_stack_plan_adds_ipv6_addresses_forwarding_and_routes_inside_cluster_namespaces', () => {
  const t6 = buildTopology({ cluster: 'c1', nodes: 2, dualStack: true });
  const p6 = createPlan(t6);
  const ip6 = p6.filter((s): s is IpStep => s.kind === 'ip').map((s) => s.args.join(' '));
  assert.ok(ip6.includes('-n amb-c1 addr add fd00:10:243::1/64 dev br0 nodad'));
  assert.ok(ip6.includes('-n amb-c1-node1 addr add fd00:10:243::11/64 dev eth0 nodad'));
  assert.ok(ip6.includes('-n amb-c1-node1 route add fd00:10:244:2::/64 via fd00:10:243::12 dev eth0'));
  assert.ok(ip6.includes('-n amb-c1 route add fd00:10:244:1::/64 via fd00:10:243::11 dev br0'));
  assert.ok(p6.some((s) => s.kind === 'sysctl' && s.netns === 'amb-c1-node2' && s.key === 'net.ipv6.conf.all.forwarding' && s.value === '1'));
  assert.ok(p6.some((s) => s.kind === 'sysctl' && s.netns === 'amb-c1' && s.key === 'net.ipv6.conf.all.forwarding' && s.value === '0'));
  assert.doesNotThrow(() => assertContained('c1', p6));
  // Single-stack plans carry no IPv6.
  assert.ok(!ipSteps.some((s) => s.includes('fd00:')));
});
