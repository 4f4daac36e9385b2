// Unit tests of the agent's indexed config snapshot.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Policy } from '../../core/config/model.js';
import { endpoint, resources, service, stateOf, tcpPort, workload } from '../proxy/fixtures.js';
import { buildState } from './snapshot.js';

const a = workload('a', { ips: ['10.244.1.10', 'fd00:10:244::a'] });
const b = workload('b', { ips: ['10.244.2.10'], node: 'node-2' });
const reviews = service('reviews', {
  vips: ['10.96.0.10', 'fd00:10:96::a'],
  ports: [tcpPort(9080, 9080, 'http'), { port: 9090, targetPort: 9090, protocol: 'UDP' }],
  endpoints: [endpoint(a), endpoint(b)],
});

test('state_finds_workload_by_ip_in_any_spelling', () => {
  const state = stateOf([a, b]);
  assert.equal(state.workloadByIp('10.244.1.10')?.uid, a.uid);
  assert.equal(state.workloadByIp('::ffff:10.244.1.10')?.uid, a.uid);
  assert.equal(state.workloadByIp('FD00:10:244:0:0:0:0:a')?.uid, a.uid);
  assert.equal(state.workloadByIp('10.244.9.9'), undefined);
});

test('state_leaves_host_network_pods_out_of_ip_index', () => {
  const hostPod = workload('kube-proxy', { ips: ['172.18.0.2'], protocol: 'TCP', hostNetwork: true });
  const state = stateOf([hostPod]);
  assert.equal(state.workloadByIp('172.18.0.2'), undefined);
  assert.equal(state.workloadByUid(hostPod.uid)?.name, 'kube-proxy');
});

test('state_finds_workload_by_uid', () => {
  const state = stateOf([a, b]);
  assert.equal(state.workloadByUid(b.uid)?.name, 'b');
  assert.equal(state.workloadByUid('nope'), undefined);
});

test('state_finds_service_by_key', () => {
  assert.equal(stateOf([reviews]).serviceByKey('default/reviews.default.svc.cluster.local'), reviews);
});

test('state_service_by_vip_and_port', () => {
  const state = stateOf([a, b, reviews]);
  const m = state.serviceByVip('10.96.0.10', 9080);
  assert.equal(m?.service.key, reviews.key);
  assert.equal(m?.servicePort?.port, 9080);
  assert.equal(state.serviceByVip('fd00:10:96:0::a', 9080)?.service.key, reviews.key);
  assert.equal(state.serviceByVip('10.96.0.11', 9080), undefined);
});

test('state_service_by_vip_unknown_or_udp_port_still_names_service', () => {
  const state = stateOf([reviews]);
  for (const port of [1234, 9090]) {
    const m = state.serviceByVip('10.96.0.10', port);
    assert.equal(m?.service.key, reviews.key);
    assert.equal(m?.servicePort, undefined, `port ${port}`);
  }
});

test('state_shared_vip_prefers_service_with_port_then_namespace', () => {
  const x = service('x', { namespace: 'ns-x', vips: ['10.96.1.1'], ports: [tcpPort(80, 80)] });
  const y = service('y', { namespace: 'ns-y', vips: ['10.96.1.1'], ports: [tcpPort(80, 80), tcpPort(443, 443)] });
  const state = stateOf([x, y]);
  assert.equal(state.serviceByVip('10.96.1.1', 443)?.service.key, y.key);
  assert.equal(state.serviceByVip('10.96.1.1', 80, 'ns-y')?.service.key, y.key);
  assert.equal(state.serviceByVip('10.96.1.1', 80, 'ns-x')?.service.key, x.key);
  assert.equal(state.serviceByVip('10.96.1.1', 80)?.service.key, x.key, 'smallest key without a preference');
  assert.ok(state.warnings.some((w) => w.includes('VIP 10.96.1.1 is shared')));
});

test('state_service_by_hostname_ignores_case_and_trailing_dot', () => {
  const state = stateOf([reviews]);
  assert.equal(state.serviceByHostname('Reviews.Default.svc.cluster.local.')?.key, reviews.key);
  assert.equal(state.serviceByHostname('reviews'), undefined, 'short names are the DNS proxy’s job');
});

test('state_hostname_shared_prefers_namespace', () => {
  const one = { ...service('ext', { namespace: 'one' }), hostname: 'api.example.com', key: 'one/api.example.com' };
  const two = { ...service('ext', { namespace: 'two' }), hostname: 'api.example.com', key: 'two/api.example.com' };
  const state = stateOf([one, two]);
  assert.equal(state.serviceByHostname('api.example.com', 'two')?.key, two.key);
  assert.equal(state.serviceByHostname('api.example.com')?.key, one.key);
});

test('state_services_for_workload', () => {
  const state = stateOf([a, b, reviews]);
  assert.deepEqual(state.servicesForWorkload(a.uid).map((s) => s.key), [reviews.key]);
  assert.deepEqual(state.servicesForWorkload('nobody'), []);
});

test('state_local_workloads_are_those_on_local_node', () => {
  assert.deepEqual(stateOf([a, b], 'node-2').localWorkloads().map((w) => w.uid), [b.uid]);
  assert.equal(stateOf([a, b], 'node-2').localNode, 'node-2');
  assert.equal(stateOf([a, b], null).localWorkloads().length, 2);
});

test('state_ip_claimed_twice_prefers_healthy_and_warns', () => {
  const old = workload('old', { uid: 'uid-0-old', ips: ['10.244.1.50'], healthy: false });
  const fresh = workload('fresh', { uid: 'uid-1-fresh', ips: ['10.244.1.50'] });
  for (const order of [[old, fresh], [fresh, old]]) {
    const state = stateOf(order);
    assert.equal(state.workloadByIp('10.244.1.50')?.uid, fresh.uid);
    assert.ok(state.warnings.some((w) => w.includes('10.244.1.50')));
  }
});

test('state_duplicate_key_last_wins_and_warns', () => {
  const v1 = workload('dup', { ips: ['10.244.1.60'] });
  const v2 = workload('dup', { ips: ['10.244.1.61'] });
  const state = buildState(resources([v1, v2]));
  assert.deepEqual(state.workloadByUid(v1.uid)?.ips, ['10.244.1.61']);
  assert.equal(state.workloadByIp('10.244.1.60'), undefined);
  assert.ok(state.warnings.some((w) => w.includes('more than once')));
});

test('state_answers_do_not_depend_on_resource_order', () => {
  const objs = [a, b, reviews];
  const s1 = stateOf(objs);
  const s2 = stateOf([...objs].reverse());
  assert.deepEqual(s1.workloads().map((w) => w.uid), s2.workloads().map((w) => w.uid));
  assert.deepEqual(s1.services().map((s) => s.key), s2.services().map((s) => s.key));
});

test('state_is_read_only', () => {
  const w = workload('frozen', { ips: ['10.244.1.70'] });
  const state = stateOf([w]);
  assert.throws(() => {
    (state.workloadByUid(w.uid) as { mtlsMode: string }).mtlsMode = 'PERMISSIVE';
  }, TypeError);
  assert.throws(() => {
    (state.workloadByUid(w.uid)!.ips as string[]).push('10.0.0.1');
  }, TypeError);
  assert.throws(() => {
    (state.workloads() as unknown[]).push(w);
  }, TypeError);
  assert.throws(() => {
    (state as { localNode: string | undefined }).localNode = 'elsewhere';
  }, TypeError);
});

test('state_keeps_policies', () => {
  const p: Policy = { key: 'default/deny-all', name: 'deny-all', namespace: 'default', scope: 'namespace', action: 'DENY', rules: [] };
  const state = buildState([...resources([a]), { kind: 'Policy', key: p.key, body: p }]);
  assert.deepEqual(state.policies().map((x) => x.key), [p.key]);
  assert.equal(state.workloads().length, 1);
});
