// Unit tests of the outbound planner: one behaviour per test, named after it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MeshService, Workload } from '../../core/config/model.js';
import { createCounters } from './balancer.js';
import { endpoint, service, stateOf, tcpPort, workload } from './fixtures.js';
import { planOutbound, type EndpointCandidate, type OutboundOptions, type OutboundPlan, type RejectPlan } from './outbound-plan.js';
import type { ProxyState } from '../state/snapshot.js';

const client = workload('client', { ips: ['10.244.1.5'] });
const first: OutboundOptions = { pick: () => 0 };

function rr(): OutboundOptions {
  return { counters: createCounters() };
}

/** A Service `reviews` at 10.96.0.10:9080 -> 9080 on the given pods. */
function reviews(pods: Workload[], over: Partial<MeshService> = {}): MeshService {
  return service('reviews', {
    vips: ['10.96.0.10'],
    ports: [tcpPort(9080, 9080, 'http')],
    endpoints: pods.map((p) => endpoint(p)),
    ...over,
  });
}

function expectKind<K extends OutboundPlan['kind']>(plan: OutboundPlan, kind: K): Extract<OutboundPlan, { kind: K }> {
  assert.equal(plan.kind, kind, `expected ${kind}, got ${JSON.stringify(plan)}`);
  return plan as Extract<OutboundPlan, { kind: K }>;
}

/** A waypoint pod and its Service `waypoint` (HBONE 15008), in namespace default. */
function waypointPods(n = 1, healthy = true): { pods: Workload[]; svc: MeshService } {
  const pods = Array.from({ length: n }, (_, i) =>
    workload(`waypoint-${i}`, { ips: [`10.244.2.${50 + i}`], protocol: 'TCP', serviceAccount: 'waypoint' }),
  );
  const svc = service('waypoint', {
    vips: ['10.96.0.99'],
    ports: [tcpPort(15008, 15008, 'mesh')],
    endpoints: pods.map((p) => endpoint(p, {}, healthy)),
  });
  return { pods, svc };
}
const WAYPOINT_REF = { service: 'default/waypoint.default.svc.cluster.local', port: 15008 };

// --- Service VIPs ---

test('plan_outbound_vip_picks_healthy_endpoint', () => {
  const sick = workload('reviews-sick', { ips: ['10.244.1.10'], healthy: false });
  const well = workload('reviews-well', { ips: ['10.244.1.11'] });
  const svc = reviews([], { endpoints: [endpoint(sick, {}, false), endpoint(well)] });
  const state = stateOf([client, sick, well, svc]);
  const opts = rr();
  for (let i = 0; i < 4; i++) {
    const plan = expectKind(planOutbound(state, client, { ip: '10.96.0.10', port: 9080 }, opts), 'hbone');
    assert.equal(plan.destinationWorkload, well.uid);
    assert.deepEqual(plan.target, { ip: '10.244.1.11', port: 9080 });
  }
});

test('plan_outbound_vip_without_healthy_endpoints_rejects', () => {
  const sick = workload('reviews-1', { ips: ['10.244.1.10'], healthy: false });
  const svc = reviews([], { endpoints: [endpoint(sick, {}, false)] });
  const plan = expectKind(planOutbound(stateOf([client, sick, svc]), client, { ip: '10.96.0.10', port: 9080 }, rr()), 'reject');
  assert.equal(plan.reason, 'no-healthy-endpoints');
  assert.equal(plan.service, svc.key);
  assert.match(plan.message, /no healthy endpoint \(1 endpoints, 0 ready\)/);
});

test('plan_outbound_vip_without_any_endpoint_rejects', () => {
  const plan = expectKind(planOutbound(stateOf([client, reviews([])]), client, { ip: '10.96.0.10', port: 9080 }, rr()), 'reject');
  assert.equal(plan.reason, 'no-healthy-endpoints');
});

test('plan_outbound_vip_endpoint_unknown_to_agent_is_skipped', () => {
  const ghost = workload('ghost', { ips: ['10.244.1.99'] }); // listed as endpoint, but no Workload resource
  const real = workload('reviews-1', { ips: ['10.244.1.10'] });
  const svc = reviews([ghost, real]);
  const state = stateOf([client, real, svc]);
  const opts = rr();
  for (let i = 0; i < 3; i++) {
    assert.equal(expectKind(planOutbound(state, client, { ip: '10.96.0.10', port: 9080 }, opts), 'hbone').destinationWorkload, real.uid);
  }
});

test('plan_outbound_vip_unknown_port_rejects', () => {
  const pod = workload('reviews-1', { ips: ['10.244.1.10'] });
  const plan = expectKind(planOutbound(stateOf([client, pod, reviews([pod])]), client, { ip: '10.96.0.10', port: 8080 }, rr()), 'reject');
  assert.equal(plan.reason, 'unknown-service-port');
  assert.match(plan.message, /no TCP port 8080 \(ports: 9080\/TCP\)/);
});

test('plan_outbound_vip_udp_only_port_is_not_a_tcp_port', () => {
  const pod = workload('dns-1', { ips: ['10.244.1.10'] });
  const svc = service('dns', { vips: ['10.96.0.53'], ports: [{ port: 53, targetPort: 53, protocol: 'UDP' }], endpoints: [endpoint(pod)] });
  const plan = expectKind(planOutbound(stateOf([client, pod, svc]), client, { ip: '10.96.0.53', port: 53 }, rr()), 'reject');
  assert.equal(plan.reason, 'unknown-service-port');
});

test('plan_outbound_vip_to_enrolled_endpoint_tunnels_to_15008_with_target_port', () => {
  const pod = workload('reviews-1', { ips: ['10.244.1.10'], serviceAccount: 'bookinfo-reviews' });
  const svc = reviews([pod], { ports: [tcpPort(9080, 8080, 'http')] });
  const plan = expectKind(planOutbound(stateOf([client, pod, svc]), client, { ip: '10.96.0.10', port: 9080 }, rr()), 'hbone');
  assert.equal(plan.via, 'endpoint');
  assert.deepEqual(plan.peer, { ip: '10.244.1.10', port: 15008 });
  assert.deepEqual(plan.target, { ip: '10.244.1.10', port: 8080 });
  assert.equal(plan.expectedIdentity, 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews');
  assert.equal(plan.service, svc.key);
  assert.equal(plan.serviceHostname, 'reviews.default.svc.cluster.local');
  assert.equal(plan.waypoint, undefined);
});

test('plan_outbound_vip_to_unenrolled_endpoint_is_passthrough_to_target_port', () => {
  const pod = workload('legacy-1', { ips: ['10.244.1.20'], protocol: 'TCP' });
  const svc = reviews([pod], { ports: [tcpPort(9080, 8080)] });
  const plan = expectKind(planOutbound(stateOf([client, pod, svc]), client, { ip: '10.96.0.10', port: 9080 }, rr()), 'passthrough');
  assert.deepEqual(plan.target, { ip: '10.244.1.20', port: 8080 });
  assert.equal(plan.reason, 'not-enrolled');
  assert.equal(plan.service, svc.key);
  assert.equal(plan.destinationWorkload, pod.uid);
});

test('plan_outbound_named_target_port_resolved_per_endpoint', () => {
  // targetPort: http (named) -> 0 on the Service; each pod defines its own number.
  const a = workload('reviews-a', { ips: ['10.244.1.10'] });
  const b = workload('reviews-b', { ips: ['10.244.1.11'] });
  const svc = reviews([], { ports: [tcpPort(9080, 0, 'http')], endpoints: [endpoint(a, { '9080': 8080 }), endpoint(b, { '9080': 9090 })] });
  const state = stateOf([client, a, b, svc]);
  const opts = rr();
  const targets = [0, 1].map(() => expectKind(planOutbound(state, client, { ip: '10.96.0.10', port: 9080 }, opts), 'hbone').target);
  assert.deepEqual(targets, [
    { ip: '10.244.1.10', port: 8080 },
    { ip: '10.244.1.11', port: 9090 },
  ]);
});

test('plan_outbound_named_target_port_missing_on_endpoint_skips_it', () => {
  const a = workload('reviews-a', { ips: ['10.244.1.10'] }); // its pod has no port named http
  const b = workload('reviews-b', { ips: ['10.244.1.11'] });
  const svc = reviews([], { ports: [tcpPort(9080, 0, 'http')], endpoints: [endpoint(a), endpoint(b, { '9080': 9090 })] });
  const state = stateOf([client, a, b, svc]);
  const opts = rr();
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(expectKind(planOutbound(state, client, { ip: '10.96.0.10', port: 9080 }, opts), 'hbone').target, { ip: '10.244.1.11', port: 9090 });
  }
});

test('plan_outbound_named_target_port_missing_everywhere_rejects', () => {
  const a = workload('reviews-a', { ips: ['10.244.1.10'] });
  const svc = reviews([a], { ports: [tcpPort(9080, 0, 'http')] });
  const plan = expectKind(planOutbound(stateOf([client, a, svc]), client, { ip: '10.96.0.10', port: 9080 }, rr()), 'reject');
  assert.equal(plan.reason, 'no-healthy-endpoints');
});

test('plan_outbound_numeric_target_port_applies_to_every_endpoint', () => {
  const a = workload('reviews-a', { ips: ['10.244.1.10'] });
  const svc = reviews([], { ports: [tcpPort(9080, 8080)], endpoints: [endpoint(a)] });
  const plan = expectKind(planOutbound(stateOf([client, a, svc]), client, { ip: '10.96.0.10', port: 9080 }, rr()), 'hbone');
  assert.deepEqual(plan.target, { ip: '10.244.1.10', port: 8080 });
});

test('plan_outbound_host_network_pod_ip_is_not_a_mesh_workload', () => {
  // A host-network pod's IP is its node's: traffic to it is not for that pod in particular.
  const hostPod = workload('node-exporter', { ips: ['172.18.0.2'], protocol: 'TCP', hostNetwork: true });
  const plan = expectKind(planOutbound(stateOf([client, hostPod]), client, { ip: '172.18.0.2', port: 9100 }, first), 'passthrough');
  assert.equal(plan.reason, 'unknown-destination');
  assert.equal(plan.destinationWorkload, undefined);
});

test('plan_outbound_vip_with_host_network_endpoint_is_passthrough_to_it', () => {
  const hostPod = workload('node-exporter', { ips: ['172.18.0.2'], protocol: 'TCP', hostNetwork: true });
  const svc = service('metrics', { vips: ['10.96.0.20'], ports: [tcpPort(9100, 9100)], endpoints: [endpoint(hostPod)] });
  const plan = expectKind(planOutbound(stateOf([client, hostPod, svc]), client, { ip: '10.96.0.20', port: 9100 }, rr()), 'passthrough');
  assert.deepEqual(plan.target, { ip: '172.18.0.2', port: 9100 });
  assert.equal(plan.destinationWorkload, hostPod.uid);
});

test('plan_outbound_vip_shared_by_services_prefers_source_namespace', () => {
  const a = workload('a', { ips: ['10.244.1.10'], namespace: 'other' });
  const b = workload('b', { ips: ['10.244.1.11'] });
  const inOther = service('shared', { namespace: 'other', vips: ['10.96.0.50'], ports: [tcpPort(80, 80)], endpoints: [endpoint(a)] });
  const inDefault = service('shared', { vips: ['10.96.0.50'], ports: [tcpPort(80, 80)], endpoints: [endpoint(b)] });
  const plan = expectKind(planOutbound(stateOf([client, a, b, inOther, inDefault]), client, { ip: '10.96.0.50', port: 80 }, rr()), 'hbone');
  assert.equal(plan.service, inDefault.key);
  assert.equal(plan.destinationWorkload, b.uid);
});

test('plan_outbound_ipv6_vip_uses_endpoint_ipv6_address', () => {
  const pod = workload('reviews-1', { ips: ['10.244.1.10', 'fd00:10:244::a'] });
  const svc = reviews([pod], { vips: ['10.96.0.10', 'fd00:10:96::a'] });
  const state = stateOf([client, pod, svc]);
  const v6 = expectKind(planOutbound(state, client, { ip: 'FD00:10:96:0::A', port: 9080 }, rr()), 'hbone');
  assert.deepEqual(v6.peer, { ip: 'fd00:10:244::a', port: 15008 });
  assert.deepEqual(v6.target, { ip: 'fd00:10:244::a', port: 9080 });
  const v4 = expectKind(planOutbound(state, client, { ip: '10.96.0.10', port: 9080 }, rr()), 'hbone');
  assert.deepEqual(v4.peer, { ip: '10.244.1.10', port: 15008 });
});

// --- load balancing ---

test('plan_outbound_round_robin_over_vip_endpoints', () => {
  const pods = [10, 11, 12].map((n) => workload(`reviews-${n}`, { ips: [`10.244.1.${n}`] }));
  const state = stateOf([client, ...pods, reviews(pods)]);
  const opts = rr();
  const seen = Array.from({ length: 6 }, () => expectKind(planOutbound(state, client, { ip: '10.96.0.10', port: 9080 }, opts), 'hbone').destinationWorkload);
  assert.deepEqual(seen, [...pods, ...pods].map((p) => p.uid));
});

test('plan_outbound_injected_picker_chooses_endpoint_and_sees_service_key', () => {
  const pods = [10, 11].map((n) => workload(`reviews-${n}`, { ips: [`10.244.1.${n}`] }));
  const svc = reviews(pods);
  let seen: { n: number; key: string } | undefined;
  const pick = (c: readonly EndpointCandidate[], key: string): number => {
    seen = { n: c.length, key };
    return 1;
  };
  const plan = expectKind(planOutbound(stateOf([client, ...pods, svc]), client, { ip: '10.96.0.10', port: 9080 }, { pick }), 'hbone');
  assert.equal(plan.destinationWorkload, pods[1]!.uid);
  assert.deepEqual(seen, { n: 2, key: svc.key });
});

test('plan_outbound_picker_out_of_range_throws', () => {
  const pod = workload('reviews-1', { ips: ['10.244.1.10'] });
  const state = stateOf([client, pod, reviews([pod])]);
  assert.throws(() => planOutbound(state, client, { ip: '10.96.0.10', port: 9080 }, { pick: () => 1 }), RangeError);
  assert.throws(() => planOutbound(state, client, { ip: '10.96.0.10', port: 9080 }, { pick: () => -1 }), RangeError);
});

// --- pods addressed by IP, and the rest of the world ---

test('plan_outbound_enrolled_pod_ip_uses_hbone_with_its_identity', () => {
  const server = workload('server', { ips: ['10.244.2.7'], namespace: 'shop', serviceAccount: 'cart' });
  const plan = expectKind(planOutbound(stateOf([client, server]), client, { ip: '10.244.2.7', port: 8080 }, first), 'hbone');
  assert.equal(plan.via, 'endpoint');
  assert.deepEqual(plan.peer, { ip: '10.244.2.7', port: 15008 });
  assert.deepEqual(plan.target, { ip: '10.244.2.7', port: 8080 });
  assert.equal(plan.expectedIdentity, 'spiffe://cluster.local/ns/shop/sa/cart');
  assert.equal(plan.destinationWorkload, server.uid);
  assert.equal(plan.service, undefined);
});

test('plan_outbound_unenrolled_pod_is_passthrough', () => {
  const legacy = workload('legacy', { ips: ['10.244.2.8'], protocol: 'TCP' });
  const plan = expectKind(planOutbound(stateOf([client, legacy]), client, { ip: '10.244.2.8', port: 8080 }, first), 'passthrough');
  assert.deepEqual(plan.target, { ip: '10.244.2.8', port: 8080 });
  assert.equal(plan.reason, 'not-enrolled');
  assert.equal(plan.destinationWorkload, legacy.uid);
});

test('plan_outbound_unknown_ip_is_passthrough', () => {
  const plan = expectKind(planOutbound(stateOf([client]), client, { ip: '93.184.216.34', port: 443 }, first), 'passthrough');
  assert.deepEqual(plan.target, { ip: '93.184.216.34', port: 443 });
  assert.equal(plan.reason, 'unknown-destination');
  assert.equal(plan.destinationWorkload, undefined);
});

test('plan_outbound_ipv4_mapped_destination_matches_workload', () => {
  const server = workload('server', { ips: ['10.244.2.7'] });
  const plan = expectKind(planOutbound(stateOf([client, server]), client, { ip: '::ffff:10.244.2.7', port: 8080 }, first), 'hbone');
  assert.deepEqual(plan.target, { ip: '10.244.2.7', port: 8080 });
  assert.deepEqual(plan.originalDst, { ip: '10.244.2.7', port: 8080 });
});

test('plan_outbound_unhealthy_pod_addressed_by_ip_is_still_reached', () => {
  // Readiness gates Service load balancing, not a direct connection (kube-proxy alike).
  const server = workload('server', { ips: ['10.244.2.7'], healthy: false });
  expectKind(planOutbound(stateOf([client, server]), client, { ip: '10.244.2.7', port: 8080 }, first), 'hbone');
});

test('plan_outbound_own_pod_ip_hairpins_through_hbone', () => {
  const plan = expectKind(planOutbound(stateOf([client]), client, { ip: '10.244.1.5', port: 8080 }, first), 'hbone');
  assert.deepEqual(plan.peer, { ip: '10.244.1.5', port: 15008 });
  assert.equal(plan.expectedIdentity, client.identity);
});

test('plan_outbound_carries_source_identity_and_reporter', () => {
  const state = stateOf([client]);
  for (const plan of [
    planOutbound(state, client, { ip: '93.184.216.34', port: 443 }, first),
    planOutbound(state, client, { ip: '10.244.1.5', port: 8080 }, first),
    planOutbound(state, client, { ip: '127.0.0.1', port: 15001 }, first),
  ]) {
    assert.equal(plan.sourceIdentity, 'spiffe://cluster.local/ns/default/sa/client');
    assert.equal(plan.sourceWorkload, client.uid);
    assert.equal(plan.reporter, 'source');
  }
});

// --- waypoints ---

test('plan_outbound_service_with_waypoint_goes_to_waypoint', () => {
  const { pods, svc: wp } = waypointPods();
  const pod = workload('reviews-1', { ips: ['10.244.1.10'] });
  const svc = reviews([pod], { waypoint: WAYPOINT_REF });
  const plan = expectKind(planOutbound(stateOf([client, pod, svc, ...pods, wp]), client, { ip: '10.96.0.10', port: 9080 }, rr()), 'hbone');
  assert.equal(plan.via, 'waypoint');
  assert.deepEqual(plan.peer, { ip: '10.244.2.50', port: 15008 });
  assert.deepEqual(plan.target, { ip: '10.96.0.10', port: 9080 }, 'CONNECT target is the original VIP:port');
  assert.equal(plan.expectedIdentity, 'spiffe://cluster.local/ns/default/sa/waypoint');
  assert.equal(plan.service, svc.key);
  assert.deepEqual(plan.waypoint, { service: wp.key, workload: pods[0]!.uid });
  assert.equal(plan.destinationWorkload, pods[0]!.uid);
});

test('plan_outbound_service_waypoint_applies_without_healthy_endpoints_or_known_port', () => {
  const { pods, svc: wp } = waypointPods();
  const svc = reviews([], { waypoint: WAYPOINT_REF });
  const state = stateOf([client, svc, ...pods, wp]);
  assert.equal(expectKind(planOutbound(state, client, { ip: '10.96.0.10', port: 9080 }, rr()), 'hbone').via, 'waypoint');
  assert.equal(expectKind(planOutbound(state, client, { ip: '10.96.0.10', port: 1234 }, rr()), 'hbone').via, 'waypoint');
});

test('plan_outbound_service_waypoint_round_robins_over_waypoint_pods', () => {
  const { pods, svc: wp } = waypointPods(2);
  const svc = reviews([], { waypoint: WAYPOINT_REF });
  const state = stateOf([client, svc, ...pods, wp]);
  const opts = rr();
  const peers = [0, 1, 2].map(() => expectKind(planOutbound(state, client, { ip: '10.96.0.10', port: 9080 }, opts), 'hbone').peer.ip);
  assert.deepEqual(peers, ['10.244.2.50', '10.244.2.51', '10.244.2.50']);
});

test('plan_outbound_waypoint_without_healthy_pod_rejects_instead_of_bypassing', () => {
  const { pods, svc: wp } = waypointPods(1, false);
  const pod = workload('reviews-1', { ips: ['10.244.1.10'] });
  const svc = reviews([pod], { waypoint: WAYPOINT_REF });
  const plan = expectKind(planOutbound(stateOf([client, pod, svc, ...pods, wp]), client, { ip: '10.96.0.10', port: 9080 }, rr()), 'reject');
  assert.equal(plan.reason, 'waypoint-unavailable');
  assert.match(plan.message, /has no healthy endpoint/);
  assert.equal(plan.service, svc.key);
});

test('plan_outbound_unknown_waypoint_service_rejects', () => {
  const pod = workload('reviews-1', { ips: ['10.244.1.10'] });
  const svc = reviews([pod], { waypoint: WAYPOINT_REF });
  const plan = expectKind(planOutbound(stateOf([client, pod, svc]), client, { ip: '10.96.0.10', port: 9080 }, rr()), 'reject');
  assert.equal(plan.reason, 'waypoint-unavailable');
  assert.match(plan.message, /is unknown to this agent/);
});

test('plan_outbound_waypoint_peer_port_is_waypoint_service_target_port', () => {
  const wpPod = workload('waypoint-0', { ips: ['10.244.2.50'], protocol: 'TCP' });
  const wp = service('waypoint', { vips: ['10.96.0.99'], ports: [tcpPort(15008, 16008, 'mesh')], endpoints: [endpoint(wpPod)] });
  const svc = reviews([], { waypoint: WAYPOINT_REF });
  const plan = expectKind(planOutbound(stateOf([client, svc, wpPod, wp]), client, { ip: '10.96.0.10', port: 9080 }, rr()), 'hbone');
  assert.deepEqual(plan.peer, { ip: '10.244.2.50', port: 16008 });
});

test('plan_outbound_waypoint_service_without_hbone_port_uses_ref_port', () => {
  const wpPod = workload('waypoint-0', { ips: ['10.244.2.50'], protocol: 'TCP' });
  const wp = service('waypoint', { vips: ['10.96.0.99'], ports: [], endpoints: [endpoint(wpPod)] });
  const svc = reviews([], { waypoint: WAYPOINT_REF });
  const plan = expectKind(planOutbound(stateOf([client, svc, wpPod, wp]), client, { ip: '10.96.0.10', port: 9080 }, rr()), 'hbone');
  assert.deepEqual(plan.peer, { ip: '10.244.2.50', port: 15008 });
});

test('plan_outbound_workload_with_waypoint_addressed_by_ip_goes_to_waypoint', () => {
  const { pods, svc: wp } = waypointPods();
  const server = workload('server', { ips: ['10.244.3.3'], waypoint: WAYPOINT_REF });
  const plan = expectKind(planOutbound(stateOf([client, server, ...pods, wp]), client, { ip: '10.244.3.3', port: 8080 }, rr()), 'hbone');
  assert.equal(plan.via, 'waypoint');
  assert.deepEqual(plan.peer, { ip: '10.244.2.50', port: 15008 });
  assert.deepEqual(plan.target, { ip: '10.244.3.3', port: 8080 });
  assert.equal(plan.expectedIdentity, 'spiffe://cluster.local/ns/default/sa/waypoint');
  assert.equal(plan.service, undefined);
});

test('plan_outbound_service_addressed_ignores_endpoint_workload_waypoint', () => {
  const { pods, svc: wp } = waypointPods();
  const pod = workload('reviews-1', { ips: ['10.244.1.10'], waypoint: WAYPOINT_REF });
  const svc = reviews([pod]);
  const plan = expectKind(planOutbound(stateOf([client, pod, svc, ...pods, wp]), client, { ip: '10.96.0.10', port: 9080 }, rr()), 'hbone');
  assert.equal(plan.via, 'endpoint');
  assert.deepEqual(plan.peer, { ip: '10.244.1.10', port: 15008 });
});

test('plan_outbound_from_waypoint_does_not_loop_back_to_it', () => {
  const { pods, svc: wp } = waypointPods();
  const waypointAsSource = pods[0]!;
  const server = workload('server', { ips: ['10.244.3.3'], waypoint: WAYPOINT_REF });
  const svc = reviews([server], { waypoint: WAYPOINT_REF });
  const state = stateOf([server, svc, ...pods, wp]);
  const byIp = expectKind(planOutbound(state, waypointAsSource, { ip: '10.244.3.3', port: 8080 }, rr()), 'hbone');
  assert.equal(byIp.via, 'endpoint');
  assert.deepEqual(byIp.peer, { ip: '10.244.3.3', port: 15008 });
  const byVip = expectKind(planOutbound(state, waypointAsSource, { ip: '10.96.0.10', port: 9080 }, rr()), 'hbone');
  assert.equal(byVip.via, 'endpoint');
  assert.equal(byVip.sourceIdentity, 'spiffe://cluster.local/ns/default/sa/waypoint');
});

// --- loop protection and the source ---

test('plan_outbound_to_agent_port_rejected', () => {
  const server = workload('server', { ips: ['10.244.2.7'] });
  const state = stateOf([client, server]);
  for (const port of [15001, 15006, 15008, 15053]) {
    const plan: RejectPlan = expectKind(planOutbound(state, client, { ip: '10.244.2.7', port }, first), 'reject');
    assert.equal(plan.reason, 'agent-port', `port ${port}`);
  }
});

test('plan_outbound_agent_port_on_loopback_or_own_ip_rejected', () => {
  const state = stateOf([client]);
  for (const ip of ['127.0.0.1', '127.0.0.53', '::1', '::ffff:127.0.0.1', '10.244.1.5']) {
    const plan: RejectPlan = expectKind(planOutbound(state, client, { ip, port: 15001 }, first), 'reject');
    assert.equal(plan.reason, 'agent-port', ip);
    assert.match(plan.message, /node agent's own outbound port \(15001\)/);
  }
});

test('plan_outbound_agent_port_number_on_unenrolled_or_unknown_host_is_passthrough', () => {
  // 15008 on a host the agent does not serve is somebody else's port, e.g. a waypoint's.
  const legacy = workload('legacy', { ips: ['10.244.2.8'], protocol: 'TCP' });
  const state = stateOf([client, legacy]);
  assert.equal(expectKind(planOutbound(state, client, { ip: '10.244.2.8', port: 15008 }, first), 'passthrough').reason, 'not-enrolled');
  assert.equal(expectKind(planOutbound(state, client, { ip: '192.0.2.1', port: 15008 }, first), 'passthrough').reason, 'unknown-destination');
});

test('plan_outbound_vip_target_port_is_agent_port_on_enrolled_endpoint_rejected', () => {
  const pod = workload('reviews-1', { ips: ['10.244.1.10'] });
  const svc = reviews([pod], { ports: [tcpPort(9080, 15006)] });
  const plan = expectKind(planOutbound(stateOf([client, pod, svc]), client, { ip: '10.96.0.10', port: 9080 }, rr()), 'reject');
  assert.equal(plan.reason, 'agent-port');
  assert.equal(plan.service, svc.key);
});

test('plan_outbound_source_on_another_node_rejected', () => {
  const stranger = workload('stranger', { ips: ['10.244.9.9'], node: 'node-9' });
  const plan = expectKind(planOutbound(stateOf([client, stranger]), stranger, { ip: '93.184.216.34', port: 443 }, first), 'reject');
  assert.equal(plan.reason, 'source-not-local');
  assert.match(plan.message, /node-9.*node-1/);
});

test('plan_outbound_without_local_node_accepts_any_source', () => {
  const stranger = workload('stranger', { ips: ['10.244.9.9'], node: 'node-9' });
  const state: ProxyState = stateOf([client, stranger], null);
  expectKind(planOutbound(state, stranger, { ip: '93.184.216.34', port: 443 }, first), 'passthrough');
});
