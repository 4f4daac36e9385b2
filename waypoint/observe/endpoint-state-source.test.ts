// What /debug/endpoints is collected from in a waypoint started whole (start.ts): the
// targets its config names, their ready and unready endpoints and workloads, and the
// picker's balancers; read without creating a balancer or an outlier detector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../../core/config/model.js';
import type { Route } from '../../core/config/routes.js';
import type { TrafficPolicy } from '../../core/config/traffic-policy.js';
import { endpoint, resources, service, tcpPort, workload } from '../../node-agent/proxy/fixtures.js';
import { EndpointPicker } from '../balance/picker.js';
import { seededRandom } from '../balance/random.js';
import { OutlierRegistry } from '../resilience/outlier-layer.js';
import { serviceBackends } from '../state/served.js';
import { buildSnapshot } from '../state/store.js';
import { collectEndpointState, configuredTargets, snapshotSources } from './endpoint-state-source.js';

const SELF = 'shop/waypoint.shop.svc.cluster.local';
const ref = { service: SELF, port: 15008 };
const api1 = workload('api-1', { namespace: 'shop', ips: ['10.244.1.5'], node: 'node-1' });
const api2 = workload('api-2', { namespace: 'shop', ips: ['10.244.2.6'], node: 'node-2', healthy: false });
const v2 = workload('api-v2', { namespace: 'shop', ips: ['10.244.2.8'], node: 'node-2' });
const api = service('api', { namespace: 'shop', vips: ['10.96.0.10'], ports: [tcpPort(80, 8080, 'http'), tcpPort(9090, 9090, 'admin')], endpoints: [endpoint(api1), endpoint(api2)], waypoint: ref });
const apiV2 = service('api-v2', { namespace: 'shop', vips: ['10.96.0.12'], ports: [tcpPort(80, 8080, 'http')], endpoints: [endpoint(v2)] });
const other = service('other', { namespace: 'shop', vips: ['10.96.0.11'], ports: [tcpPort(80, 8080)] });

const route: Route = {
  key: 'shop/HTTPRoute/api',
  routeKind: 'HTTPRoute',
  name: 'api',
  namespace: 'shop',
  created: '2026-01-01T00:00:00Z',
  parents: [{ service: api.key }],
  hostnames: [],
  rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], filters: [], backends: [{ service: api.key, port: 80, weight: 90, filters: [] }, { service: apiV2.key, port: 80, weight: 10, filters: [] }] }],
} as unknown as Route;

const tp: TrafficPolicy = {
  key: 'shop/api',
  name: 'api',
  namespace: 'shop',
  created: '2026-01-01T00:00:00Z',
  targets: [{ service: api.key }],
  loadBalancer: { algorithm: 'LEAST_REQUEST', warmupMs: 0, localityPreference: true, ringSize: 1024, maglevTableSize: 65537 },
  outlierDetection: { consecutive5xxErrors: 5, consecutiveGatewayErrors: 0, intervalMs: 10_000, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 10, minHealthPercent: 0 },
};

const snap = buildSnapshot([
  ...resources([api1, api2, v2, api, apiV2, other]),
  { kind: 'Route', key: route.key, body: route } as unknown as Resource,
  { kind: 'TrafficPolicy', key: tp.key, body: tp } as unknown as Resource,
]);

function waypoint() {
  const ready = (s: string, p: number) => serviceBackends(snap, s, p).filter((b) => b.healthy);
  const outliers = new OutlierRegistry({ policyFor: (s, p) => snap.trafficPolicyFor(s, p), now: () => 0 });
  const picker = new EndpointPicker({ endpoints: ready, policyFor: (s, p) => snap.trafficPolicyFor(s, p), outliers, local: { node: 'node-1' }, locate: (uid) => ({ node: snap.mesh.workloadByUid(uid)?.node ?? '' }), now: () => 0, random: seededRandom(1) });
  const collect = () => collectEndpointState({ picker, ...snapshotSources(() => snap, SELF, ready), local: { node: 'node-1' }, waypoint: SELF, now: () => 0 });
  return { picker, outliers, collect };
}

test('configured_targets_are_the_bound_services_ports_and_their_routes_backends', () => {
  const t = configuredTargets(snap, SELF).map((x) => `${x.service}:${x.port}`);
  assert.deepEqual([...new Set(t)].sort(), [`${apiV2.key}:80`, `${api.key}:80`, `${api.key}:9090`]);
  assert.ok(!t.some((x) => x.startsWith(other.key)), 'a Service of another waypoint is not shown');
});

test('collected_document_names_workloads_nodes_policy_and_unready_endpoints', () => {
  const doc = waypoint().collect();
  assert.equal(doc.waypoint, SELF);
  const t = doc.targets.find((x) => x.service === api.key && x.port === 80)!;
  assert.equal(t.name, 'api');
  assert.equal(t.trafficPolicy, 'shop/api');
  assert.equal(t.algorithm, 'LEAST_REQUEST');
  assert.deepEqual(t.counts, { total: 1, healthy: 1, ejected: 0, warming: 0, unready: 1 });
  assert.deepEqual(t.endpoints, [{ address: '10.244.1.5:8080', workload: 'api-1', namespace: 'shop', node: 'node-1', locality: 'node', health: 'healthy', inRotation: true, activeRequests: 0, weight: 1 }]);
  const backend = doc.targets.find((x) => x.service === apiV2.key)!;
  assert.equal(backend.trafficPolicy, null);
  assert.equal(backend.endpoints[0]!.workload, 'api-v2');
});

test('collecting_creates_no_balancer_and_no_outlier_detector', () => {
  const w = waypoint();
  w.collect();
  assert.equal(w.picker.cache.size, 0);
  assert.equal(w.outliers.peek(api.key, 80), undefined);
  assert.deepEqual([...w.outliers.ejectedCounts()], []);
});

test('a_port_balanced_but_not_in_the_config_is_listed_too', () => {
  const w = waypoint();
  const picked = w.picker.pick(api.key, 80);
  assert.ok(picked.endpoint);
  picked.release();
  w.picker.pick('shop/gone.shop.svc.cluster.local', 80);
  const doc = w.collect();
  assert.ok(doc.targets.some((x) => x.service === 'shop/gone.shop.svc.cluster.local' && x.port === 80 && x.counts.total === 0 && x.tier === 'empty'));
  assert.ok(w.outliers.peek(api.key, 80), 'the pick made the detector, as before');
});
