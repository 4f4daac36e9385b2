// Unit tests of the inbound planner: one behaviour per test, named after it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Workload } from '../../core/config/model.js';
import { endpoint, service, stateOf, tcpPort, workload } from './fixtures.js';
import { planInbound, type InboundPlan } from './inbound-plan.js';

const CLIENT_ID = 'spiffe://cluster.local/ns/default/sa/client';
const WAYPOINT_ID = 'spiffe://cluster.local/ns/default/sa/waypoint';
const WAYPOINT_REF = { service: 'default/waypoint.default.svc.cluster.local', port: 15008 };

const waypointPod = workload('waypoint-0', { ips: ['10.244.2.50'], protocol: 'TCP', serviceAccount: 'waypoint' });
const waypointSvc = service('waypoint', { vips: ['10.96.0.99'], ports: [tcpPort(15008, 15008)], endpoints: [endpoint(waypointPod)] });

function server(over: Partial<Workload> = {}): Workload {
  return workload('server', { ips: ['10.244.1.10', 'fd00:10:244::a'], ...over });
}

function expectKind<K extends InboundPlan['kind']>(plan: InboundPlan, kind: K): Extract<InboundPlan, { kind: K }> {
  assert.equal(plan.kind, kind, `expected ${kind}, got ${JSON.stringify(plan)}`);
  return plan as Extract<InboundPlan, { kind: K }>;
}

test('plan_inbound_strict_rejects_plaintext', () => {
  const w = server({ mtlsMode: 'STRICT' });
  const plan = expectKind(planInbound(stateOf([w]), { localWorkload: w, target: { ip: '10.244.1.10', port: 8080 } }), 'reject');
  assert.equal(plan.status, 401);
  assert.equal(plan.reason, 'plaintext-strict');
  assert.match(plan.message, /PeerAuthentication mode STRICT/);
});

test('plan_inbound_permissive_accepts_plaintext', () => {
  const w = server({ mtlsMode: 'PERMISSIVE' });
  const plan = expectKind(planInbound(stateOf([w]), { localWorkload: w, target: { ip: '10.244.1.10', port: 8080 } }), 'accept');
  assert.deepEqual(plan.upstream, { ip: '10.244.1.10', port: 8080 });
  assert.equal(plan.mtls, false);
  assert.equal(plan.peerIdentity, undefined);
});

test('plan_inbound_port_level_strict_rejects_plaintext_on_that_port_only', () => {
  const w = server({ mtlsMode: 'PERMISSIVE', mtlsPorts: { '9090': 'STRICT' } });
  const onStrict = expectKind(planInbound(stateOf([w]), { localWorkload: w, target: { ip: '10.244.1.10', port: 9090 } }), 'reject');
  assert.equal(onStrict.status, 401);
  assert.equal(onStrict.reason, 'plaintext-strict');
  assert.match(onStrict.message, /on port 9090 \(PeerAuthentication portLevelMtls STRICT\)/);
  expectKind(planInbound(stateOf([w]), { localWorkload: w, target: { ip: '10.244.1.10', port: 8080 } }), 'accept');
});

test('plan_inbound_port_level_permissive_accepts_plaintext_under_strict', () => {
  const w = server({ mtlsMode: 'STRICT', mtlsPorts: { '8080': 'PERMISSIVE' } });
  expectKind(planInbound(stateOf([w]), { localWorkload: w, target: { ip: '10.244.1.10', port: 8080 } }), 'accept');
  expectKind(planInbound(stateOf([w]), { localWorkload: w, target: { ip: '10.244.1.10', port: 8081 } }), 'reject');
});

test('plan_inbound_strict_accepts_mtls', () => {
  const w = server({ mtlsMode: 'STRICT' });
  const plan = expectKind(
    planInbound(stateOf([w]), { localWorkload: w, peerIdentity: CLIENT_ID, target: { ip: '10.244.1.10', port: 8080 } }),
    'accept',
  );
  assert.equal(plan.mtls, true);
  assert.equal(plan.peerIdentity, CLIENT_ID);
  assert.equal(plan.reporter, 'destination');
  assert.equal(plan.localWorkload, w.uid);
});

test('plan_inbound_target_not_local_is_400', () => {
  const w = server();
  const other = workload('other', { ips: ['10.244.1.11'] });
  const state = stateOf([w, other]);
  for (const ip of ['10.244.1.11', '10.96.0.10', '93.184.216.34', '127.0.0.1']) {
    const plan = expectKind(planInbound(state, { localWorkload: w, peerIdentity: CLIENT_ID, target: { ip, port: 8080 } }), 'reject');
    assert.equal(plan.status, 400, ip);
    assert.equal(plan.reason, 'target-not-local');
    assert.match(plan.message, /does not relay/);
  }
});

test('plan_inbound_target_on_any_own_address_is_accepted', () => {
  const w = server();
  const state = stateOf([w]);
  const v6 = expectKind(planInbound(state, { localWorkload: w, peerIdentity: CLIENT_ID, target: { ip: 'FD00:10:244:0:0:0:0:A', port: 80 } }), 'accept');
  assert.deepEqual(v6.upstream, { ip: 'fd00:10:244::a', port: 80 });
  const mapped = expectKind(planInbound(state, { localWorkload: w, peerIdentity: CLIENT_ID, target: { ip: '::ffff:10.244.1.10', port: 80 } }), 'accept');
  assert.deepEqual(mapped.upstream, { ip: '10.244.1.10', port: 80 });
});

test('plan_inbound_target_agent_port_is_400', () => {
  const w = server();
  const state = stateOf([w]);
  for (const port of [15001, 15006, 15008, 15053]) {
    const plan = expectKind(planInbound(state, { localWorkload: w, peerIdentity: CLIENT_ID, target: { ip: '10.244.1.10', port } }), 'reject');
    assert.equal(plan.status, 400, `port ${port}`);
    assert.equal(plan.reason, 'agent-port');
  }
});

test('plan_inbound_non_local_target_checked_before_strict_mtls', () => {
  const w = server({ mtlsMode: 'STRICT' });
  const plan = expectKind(planInbound(stateOf([w]), { localWorkload: w, target: { ip: '10.244.9.9', port: 8080 } }), 'reject');
  assert.equal(plan.status, 400);
});

test('plan_inbound_workload_missing_from_config_is_503', () => {
  const w = server();
  const plan = expectKind(planInbound(stateOf([]), { localWorkload: w, peerIdentity: CLIENT_ID, target: { ip: '10.244.1.10', port: 8080 } }), 'reject');
  assert.equal(plan.status, 503);
  assert.equal(plan.reason, 'workload-unknown');
});

test('plan_inbound_uses_newest_mtls_mode_from_state', () => {
  const stale = server({ mtlsMode: 'PERMISSIVE' });
  const fresh = server({ mtlsMode: 'STRICT' });
  const plan = expectKind(planInbound(stateOf([fresh]), { localWorkload: stale, target: { ip: '10.244.1.10', port: 8080 } }), 'reject');
  assert.equal(plan.status, 401);
});

test('plan_inbound_without_waypoint_is_never_flagged', () => {
  const w = server();
  const plan = expectKind(planInbound(stateOf([w]), { localWorkload: w, peerIdentity: CLIENT_ID, target: { ip: '10.244.1.10', port: 8080 } }), 'accept');
  assert.equal(plan.bypassedWaypoint, false);
  assert.equal(plan.fromWaypoint, false);
  assert.equal(plan.waypoint, undefined);
});

test('plan_inbound_from_waypoint_identity_not_flagged', () => {
  const w = server({ waypoint: WAYPOINT_REF });
  const plan = expectKind(
    planInbound(stateOf([w, waypointPod, waypointSvc]), { localWorkload: w, peerIdentity: WAYPOINT_ID, peerIp: '10.244.2.50', target: { ip: '10.244.1.10', port: 8080 } }),
    'accept',
  );
  assert.equal(plan.fromWaypoint, true);
  assert.equal(plan.bypassedWaypoint, false);
  assert.equal(plan.waypoint, waypointSvc.key);
});

test('plan_inbound_bypassing_waypoint_is_accepted_but_flagged', () => {
  const w = server({ waypoint: WAYPOINT_REF });
  const plan = expectKind(
    planInbound(stateOf([w, waypointPod, waypointSvc]), { localWorkload: w, peerIdentity: CLIENT_ID, target: { ip: '10.244.1.10', port: 8080 } }),
    'accept',
  );
  assert.equal(plan.fromWaypoint, false);
  assert.equal(plan.bypassedWaypoint, true);
});

test('plan_inbound_plaintext_to_workload_with_waypoint_is_flagged', () => {
  const w = server({ waypoint: WAYPOINT_REF });
  const plan = expectKind(planInbound(stateOf([w, waypointPod, waypointSvc]), { localWorkload: w, target: { ip: '10.244.1.10', port: 8080 } }), 'accept');
  assert.equal(plan.bypassedWaypoint, true);
});

test('plan_inbound_waypoint_identity_from_other_ip_is_flagged', () => {
  // Another pod running under the waypoint's service account is not the waypoint.
  const w = server({ waypoint: WAYPOINT_REF });
  const plan = expectKind(
    planInbound(stateOf([w, waypointPod, waypointSvc]), { localWorkload: w, peerIdentity: WAYPOINT_ID, peerIp: '10.244.7.7', target: { ip: '10.244.1.10', port: 8080 } }),
    'accept',
  );
  assert.equal(plan.fromWaypoint, false);
  assert.equal(plan.bypassedWaypoint, true);
});

test('plan_inbound_waypoint_of_backed_service_counts_as_from_waypoint', () => {
  const w = server();
  const svc = service('reviews', { vips: ['10.96.0.10'], ports: [tcpPort(9080, 8080)], endpoints: [endpoint(w)], waypoint: WAYPOINT_REF });
  const plan = expectKind(
    planInbound(stateOf([w, svc, waypointPod, waypointSvc]), { localWorkload: w, peerIdentity: WAYPOINT_ID, target: { ip: '10.244.1.10', port: 8080 } }),
    'accept',
  );
  assert.equal(plan.fromWaypoint, true);
  assert.equal(plan.bypassedWaypoint, false, 'the pod itself has no waypoint');
  assert.deepEqual(plan.services, [svc.key]);
});

test('plan_inbound_caller_from_waypoint_decision_is_used', () => {
  const w = server({ waypoint: WAYPOINT_REF });
  const state = stateOf([w, waypointPod, waypointSvc]);
  const target = { ip: '10.244.1.10', port: 8080 };
  const claimed = expectKind(planInbound(state, { localWorkload: w, peerIdentity: CLIENT_ID, target, fromWaypoint: true }), 'accept');
  assert.equal(claimed.bypassedWaypoint, false);
  const denied = expectKind(planInbound(state, { localWorkload: w, peerIdentity: WAYPOINT_ID, target, fromWaypoint: false }), 'accept');
  assert.equal(denied.bypassedWaypoint, true);
});

test('plan_inbound_unknown_waypoint_service_flags_every_connection', () => {
  const w = server({ waypoint: WAYPOINT_REF });
  const plan = expectKind(planInbound(stateOf([w]), { localWorkload: w, peerIdentity: WAYPOINT_ID, target: { ip: '10.244.1.10', port: 8080 } }), 'accept');
  assert.equal(plan.bypassedWaypoint, true);
});

test('plan_inbound_provisional_workload_decides_until_config_has_the_pod', () => {
  const w = server({ mtlsMode: 'STRICT' });
  const plan = expectKind(planInbound(stateOf([]), { localWorkload: w, provisional: w, target: { ip: '10.244.1.10', port: 8080 } }), 'reject');
  assert.equal(plan.reason, 'plaintext-strict');
  const accepted = expectKind(planInbound(stateOf([]), { localWorkload: w, provisional: w, peerIdentity: CLIENT_ID, target: { ip: '10.244.1.10', port: 8080 } }), 'accept');
  assert.equal(accepted.mtls, true);
});

test('plan_inbound_config_overrides_the_provisional_workload', () => {
  const provisional = server({ mtlsMode: 'PERMISSIVE' });
  const inConfig = server({ mtlsMode: 'STRICT' });
  const plan = expectKind(planInbound(stateOf([inConfig]), { localWorkload: provisional, provisional, target: { ip: '10.244.1.10', port: 8080 } }), 'reject');
  assert.equal(plan.reason, 'plaintext-strict');
});

test('plan_inbound_provisional_of_another_pod_is_ignored', () => {
  const w = server();
  const other = workload('other', { uid: 'uid-other', ips: ['10.244.1.10'] });
  const plan = expectKind(planInbound(stateOf([]), { localWorkload: w, provisional: other, target: { ip: '10.244.1.10', port: 8080 } }), 'reject');
  assert.equal(plan.reason, 'workload-unknown');
});
