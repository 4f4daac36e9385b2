import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '../../core/config/model.js';
import type { Route } from '../../core/config/routes.js';
import { endpoint, resources, service, tcpPort, workload } from '../../node-agent/proxy/fixtures.js';
import type { TrafficPolicy } from '../../core/config/traffic-policy.js';
import { servedTrafficPolicy, serviceBackends, servedTarget, workloadBackend } from './served.js';
import { buildSnapshot, WaypointState } from './store.js';

const SELF = 'shop/waypoint.shop.svc.cluster.local';
const ref = { service: SELF, port: 15008 };

const api1 = workload('api-1', { namespace: 'shop', ips: ['10.244.1.5'], labels: { app: 'api' } });
const api2 = workload('api-2', { namespace: 'shop', ips: ['10.244.2.6'], protocol: 'TCP', healthy: false });
const api = service('api', { namespace: 'shop', vips: ['10.96.0.10'], ports: [tcpPort(80, 8080, 'http')], endpoints: [endpoint(api1), endpoint(api2)], waypoint: ref });
const other = service('other', { namespace: 'shop', vips: ['10.96.0.11'], ports: [tcpPort(80, 8080)] });
const pinned = workload('pinned', { namespace: 'shop', ips: ['10.244.1.9'], waypoint: ref });

function route(name: string, services: string[]): Route {
  return { key: `shop/HTTPRoute/${name}`, routeKind: 'HTTPRoute', name, namespace: 'shop', created: '2026-01-01T00:00:00Z', parents: services.map((s) => ({ service: s })), hostnames: [], rules: [] };
}
const asResource = (r: Route): Resource => ({ kind: 'Route', key: r.key, body: r }) as unknown as Resource;

const snap = buildSnapshot([...resources([api1, api2, pinned, api, other]), asResource(route('b', [api.key])), asResource(route('a', [api.key, other.key]))]);

test('served_service_vip_bound_to_this_waypoint_gives_service_and_port', () => {
  const t = servedTarget(snap, SELF, '10.96.0.10', 80);
  assert.equal(t.kind, 'service');
  assert.equal(t.kind === 'service' && t.service.key, api.key);
  assert.equal(t.kind === 'service' && t.port.targetPort, 8080);
});

test('served_service_of_another_waypoint_is_refused_not_relayed', () => {
  const t = servedTarget(snap, SELF, '10.96.0.11', 80);
  assert.equal(t.kind, 'refused');
  assert.match(t.kind === 'refused' ? t.reason : '', /does not use this waypoint/);
});

test('served_service_port_not_on_service_is_refused', () => {
  const t = servedTarget(snap, SELF, '10.96.0.10', 81);
  assert.equal(t.kind, 'refused');
});

test('served_workload_bound_to_this_waypoint_by_pod_ip', () => {
  const t = servedTarget(snap, SELF, '10.244.1.9', 9090);
  assert.deepEqual(t.kind === 'workload' && [t.workload.uid, t.port], ['uid-pinned', 9090]);
});

test('served_workload_without_waypoint_is_refused', () => {
  assert.equal(servedTarget(snap, SELF, '10.244.1.5', 8080).kind, 'refused');
});

test('served_unknown_address_is_refused', () => {
  assert.equal(servedTarget(snap, SELF, '192.0.2.1', 80).kind, 'refused');
});

test('backends_resolve_target_port_mesh_and_health_per_endpoint', () => {
  assert.deepEqual(serviceBackends(snap, api.key, 80), [
    { workloadUid: 'uid-api-1', ip: '10.244.1.5', port: 8080, mesh: true, identity: api1.identity, healthy: true },
    { workloadUid: 'uid-api-2', ip: '10.244.2.6', port: 8080, mesh: false, identity: api2.identity, healthy: false },
  ]);
});

test('backends_of_named_target_port_skip_endpoints_without_it', () => {
  const named = service('named', { namespace: 'shop', vips: ['10.96.0.12'], ports: [tcpPort(80, 0, 'http')], endpoints: [endpoint(api1, { '80': 9000 }), endpoint(api2)] });
  const s = buildSnapshot(resources([api1, api2, named]));
  assert.deepEqual(serviceBackends(s, named.key, 80).map((b) => `${b.ip}:${b.port}`), ['10.244.1.5:9000']);
});

test('backends_of_unknown_service_or_port_are_empty', () => {
  assert.deepEqual(serviceBackends(snap, 'shop/nope.shop.svc.cluster.local', 80), []);
  assert.deepEqual(serviceBackends(snap, api.key, 81), []);
});

test('workload_backend_uses_primary_ip_and_given_port', () => {
  assert.deepEqual(workloadBackend(pinned, 9090).map((b) => `${b.ip}:${b.port}:${b.mesh}`), ['10.244.1.9:9090:true']);
});

test('snapshot_indexes_routes_by_parent_service_in_key_order', () => {
  assert.deepEqual(snap.routesFor(api.key).map((r) => r.name), ['a', 'b']);
  assert.deepEqual(snap.routesFor(other.key).map((r) => r.name), ['a']);
  assert.deepEqual(snap.routesFor('shop/none'), []);
  assert.equal(snap.mesh.policies().length, 0, 'routes are not filed as policies');
});

test('state_apply_swaps_snapshot_and_keeps_old_one_for_readers_in_flight', () => {
  const st = new WaypointState();
  assert.equal(st.synced(), false);
  st.apply({ version: 'v1', upserts: resources([api1, api]), removes: [] });
  const before = st.snapshot();
  st.apply({ version: 'v2', upserts: [asResource(route('r', [api.key]))], removes: [{ kind: 'Workload', key: api1.uid }] });
  assert.equal(st.version(), 'v2');
  assert.equal(before.mesh.workloadByUid(api1.uid)?.name, 'api-1', 'the old snapshot is unchanged');
  assert.equal(st.snapshot().mesh.workloadByUid(api1.uid), undefined);
  assert.deepEqual(st.snapshot().routesFor(api.key).map((r) => r.name), ['r']);
  assert.throws(() => {
    (st.snapshot().routes()[0] as { name: string }).name = 'x';
  }, TypeError);
});

function trafficPolicy(name: string, targets: TrafficPolicy['targets']): Resource {
  const body: TrafficPolicy = { key: `shop/${name}`, name, namespace: 'shop', created: '2026-01-01T00:00:00Z', targets, loadBalancer: { algorithm: 'LEAST_REQUEST', warmupMs: 0, localityPreference: true, ringSize: 1024, maglevTableSize: 65537 } };
  return { kind: 'TrafficPolicy', key: body.key, body } as Resource;
}

test('traffic_policy_for_a_served_service_port_prefers_the_port_policy', () => {
  const s = buildSnapshot([...resources([api1, api2, api]), trafficPolicy('whole', [{ service: api.key }]), trafficPolicy('port', [{ service: api.key, port: 80 }])]);
  assert.equal(s.trafficPolicyFor(api.key, 80)?.name, 'port');
  assert.equal(s.trafficPolicyFor(api.key, 81)?.name, 'whole');
  assert.equal(s.trafficPolicyFor(other.key, 80), undefined);
  assert.deepEqual(s.trafficPolicies().map((p) => p.name), ['port', 'whole']);
  assert.equal(servedTrafficPolicy(s, servedTarget(s, SELF, '10.96.0.10', 80))?.name, 'port');
});

test('traffic_policy_is_none_for_a_workload_called_directly_or_without_a_policy', () => {
  assert.equal(servedTrafficPolicy(snap, servedTarget(snap, SELF, '10.244.1.9', 8080)), undefined);
  assert.equal(servedTrafficPolicy(snap, servedTarget(snap, SELF, '10.96.0.10', 80)), undefined);
});

test('traffic_policies_are_applied_and_removed_by_the_one_writer_and_frozen', () => {
  const state = new WaypointState();
  state.apply({ upserts: [...resources([api1, api]), trafficPolicy('p', [{ service: api.key }])], removes: [] });
  const held = state.snapshot().trafficPolicyFor(api.key, 80);
  assert.equal(held?.name, 'p');
  assert.ok(Object.isFrozen(held) && Object.isFrozen(held.loadBalancer));
  state.apply({ upserts: [], removes: [{ kind: 'TrafficPolicy', key: 'shop/p' }] });
  assert.equal(state.snapshot().trafficPolicyFor(api.key, 80), undefined);
});
