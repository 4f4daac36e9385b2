// `ambientctl services`' HEALTH column and endpoint rows, from fixture JSON shaped as the
// agents' /config_dump and the waypoint pods' /debug/endpoints answer it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endpoint, service, tcpPort, workload } from '../../node-agent/proxy/fixtures.js';
import { render } from '../output.js';
import type { AgentDump, EndpointStateDocument, EndpointStateEntry, EndpointStateTarget, WaypointEndpointsProbe } from './types.js';
import { ENDPOINT_COLUMNS, SERVICE_COLUMNS, endpointHealthText, endpointRows, healthText, healthWarnings, serviceHealth, serviceRows, shortDuration, waypointsOf } from './view.js';
import { waypointGateway } from './transport.js';

const WP = { service: 'shop/waypoint.shop.svc.cluster.local', port: 15008 };
const a = workload('echo-a', { uid: 'uid-a', namespace: 'shop', node: 'node-1', ips: ['10.244.1.5'] });
const b = workload('echo-b', { uid: 'uid-b', namespace: 'shop', node: 'node-2', ips: ['10.244.2.6'] });
const c = workload('echo-c', { uid: 'uid-c', namespace: 'shop', node: 'node-2', ips: ['10.244.2.7'] });
const echo = service('echo', { namespace: 'shop', vips: ['10.96.0.30'], ports: [tcpPort(80, 8080, 'http')], endpoints: [endpoint(a), endpoint(b), endpoint(c)], waypoint: WP });
const plain = service('db', { namespace: 'shop', vips: ['10.96.0.31'], ports: [tcpPort(5432, 5432)], endpoints: [endpoint(c)] });

function dump(): AgentDump {
  return {
    node: 'node-1',
    ready: true,
    controller: { address: 'ambient-controller.ambient-system.svc:15012', connected: true, resources: 5, ackedVersion: '7' },
    enrolled: [],
    failures: [],
    workloads: [a, b, c],
    services: [plain, echo],
    policies: [],
    certificates: [],
    warnings: [],
  };
}

const healthy = (ip: string, node: string, name: string): EndpointStateEntry => ({ address: `${ip}:8080`, workload: name, namespace: 'shop', node, locality: node === 'node-1' ? 'node' : 'any', health: 'healthy', inRotation: true, activeRequests: 0, weight: 1 });

function target(endpoints: EndpointStateEntry[], over: Partial<EndpointStateTarget> = {}): EndpointStateTarget {
  const ejected = endpoints.filter((e) => e.health === 'ejected').length;
  return {
    service: echo.key,
    name: 'echo',
    namespace: 'shop',
    port: 80,
    trafficPolicy: 'shop/echo',
    algorithm: 'LEAST_REQUEST',
    localityPreference: true,
    warmupMs: 30_000,
    outlierDetection: true,
    minHealthPercent: 0,
    panic: false,
    tier: 'any',
    counts: { total: endpoints.length, healthy: endpoints.length - ejected, ejected, warming: endpoints.filter((e) => e.health === 'warming').length, unready: 0 },
    endpoints,
    ...over,
  };
}

const doc = (targets: EndpointStateTarget[]): EndpointStateDocument => ({ waypoint: WP.service, node: 'node-1', generatedAt: '2026-12-04T00:00:00.000Z', targets });

const ALL_HEALTHY = [healthy('10.244.1.5', 'node-1', 'echo-a'), healthy('10.244.2.6', 'node-2', 'echo-b'), healthy('10.244.2.7', 'node-2', 'echo-c')];
const ONE_EJECTED: EndpointStateEntry[] = [
  ALL_HEALTHY[0]!,
  { ...ALL_HEALTHY[1]!, health: 'ejected', inRotation: false, ejection: { count: 2, remainingMs: 12_400, reason: 'consecutive-5xx' } },
  { ...ALL_HEALTHY[2]!, health: 'warming', warming: { sharePercent: 33.3, remainingMs: 20_000 }, activeRequests: 2 },
];

const probe = (...docs: Array<EndpointStateDocument | string>): WaypointEndpointsProbe => ({
  waypoint: WP.service,
  pods: docs.map((d, i) => (typeof d === 'string' ? { pod: `shop/waypoint-${i}`, ok: false as const, error: d } : { pod: `shop/waypoint-${i}`, ok: true as const, doc: d })),
});

test('health_column_counts_healthy_endpoints_and_names_ejected_and_warming', () => {
  const rows = serviceRows([dump()], [probe(doc([target(ONE_EJECTED)]))]);
  const table = render(rows, SERVICE_COLUMNS, 'table');
  assert.match(table.split('\n')[0]!, /\sHEALTH$/);
  assert.match(table, /^shop\s+echo\s+.*waypoint\.shop\.svc\.cluster\.local:15008\s+2\/3 \(1 ejected, 1 warming\)$/m);
  assert.match(table, /^shop\s+db\s+.*\s+-\s+-$/m, 'no waypoint: health is -');
  assert.deepEqual(rows.find((r) => r.name === 'db')!.health, { state: 'none' });
});

test('all_healthy_reads_n_of_n_healthy', () => {
  const [row] = serviceRows([dump()], [probe(doc([target(ALL_HEALTHY)]))]).filter((r) => r.name === 'echo');
  assert.equal(healthText(row!.health), '3/3 healthy');
});

test('an_endpoint_is_counted_by_its_worst_state_in_any_waypoint_replica', () => {
  const h = serviceHealth(echo, probe(doc([target(ALL_HEALTHY)]), doc([target(ONE_EJECTED)])));
  assert.equal(h.state, 'known');
  assert.equal(healthText(h), '2/3 (1 ejected, 1 warming)');
});

test('panic_and_missing_replicas_are_said', () => {
  const h = serviceHealth(echo, probe(doc([target(ONE_EJECTED, { panic: true, tier: 'panic' })]), 'no answer from 127.0.0.1:15020/debug/endpoints within 3000 ms'));
  assert.equal(healthText(h), '2/3 (1 ejected, 1 warming, panic, 1/2 waypoint pods answered)');
  assert.ok(h.state === 'known' && h.unreachable[0]!.startsWith('shop/waypoint-1: no answer'));
});

test('a_waypoint_that_does_not_answer_is_unknown_with_the_reason', () => {
  const rows = serviceRows([dump()], [probe('connect ECONNREFUSED 127.0.0.1:15020')]);
  const row = rows.find((r) => r.name === 'echo')!;
  assert.equal(healthText(row.health), 'unknown');
  assert.deepEqual(row.health, { state: 'unknown', reason: 'no waypoint pod answered GET /debug/endpoints (shop/waypoint-0: connect ECONNREFUSED 127.0.0.1:15020)' });
  assert.deepEqual(healthWarnings(rows), ['shop/echo: health unknown: no waypoint pod answered GET /debug/endpoints (shop/waypoint-0: connect ECONNREFUSED 127.0.0.1:15020)']);
  const noPods = serviceHealth(echo, { waypoint: WP.service, pods: [], error: 'waypoint shop/waypoint has no running pod (0 found)' });
  assert.deepEqual(noPods, { state: 'unknown', reason: 'waypoint shop/waypoint has no running pod (0 found)' });
});

test('a_waypoint_whose_document_lacks_the_service_is_unknown', () => {
  const h = serviceHealth(echo, probe(doc([])));
  assert.equal(h.state, 'unknown');
  assert.match(h.state === 'unknown' ? h.reason : '', /do not list shop\/echo\.shop\.svc\.cluster\.local/);
});

test('endpoint_rows_one_per_endpoint_and_waypoint_pod_with_ejection_and_warming', () => {
  const rows = serviceRows([dump()], [probe(doc([target(ONE_EJECTED)]))]);
  const eps = endpointRows(rows);
  assert.equal(eps.length, 3, 'only the Service with a waypoint');
  const table = render(eps, ENDPOINT_COLUMNS, 'table');
  assert.match(table.split('\n')[0]!, /^NAMESPACE\s+SERVICE\s+PORT\s+ENDPOINT\s+WORKLOAD\s+NODE\s+LOCALITY\s+HEALTH\s+ACTIVE\s+IN ROTATION\s+LB\s+POLICY\s+WAYPOINT POD$/);
  assert.match(table, /^shop\s+echo\s+80\s+10\.244\.1\.5:8080\s+echo-a\s+node-1\s+node\s+healthy\s+0\s+yes\s+LEAST_REQUEST\s+shop\/echo\s+shop\/waypoint-0$/m);
  assert.match(table, /^shop\s+echo\s+80\s+10\.244\.2\.6:8080\s+echo-b\s+node-2\s+any\s+ejected \(2x, 12s left\)\s+0\s+no\s+/m);
  assert.match(table, /^shop\s+echo\s+80\s+10\.244\.2\.7:8080\s+echo-c\s+node-2\s+any\s+warming \(33\.3%, 20s left\)\s+2\s+yes\s+/m);
  const json = JSON.parse(render(eps, ENDPOINT_COLUMNS, 'json')) as Array<Record<string, unknown>>;
  assert.deepEqual(json[1]!['ejection'], { count: 2, remainingMs: 12_400, reason: 'consecutive-5xx' });
});

test('endpoint_rows_of_an_unknown_waypoint_carry_the_reason', () => {
  const eps = endpointRows(serviceRows([dump()], [probe('boom')]));
  assert.deepEqual(eps, [{ namespace: 'shop', service: 'echo', port: 0, address: '-', health: 'unknown', reason: 'no waypoint pod answered GET /debug/endpoints (shop/waypoint-0: boom)' }]);
});

test('json_rows_carry_the_full_state_of_each_waypoint_pod', () => {
  const rows = serviceRows([dump()], [probe(doc([target(ONE_EJECTED)]))]);
  const json = JSON.parse(render(rows, SERVICE_COLUMNS, 'json')) as Array<{ name: string; health: { waypointPods: Array<{ pod: string; targets: EndpointStateTarget[] }> } }>;
  const echoRow = json.find((r) => r.name === 'echo')!;
  assert.equal(echoRow.health.waypointPods[0]!.pod, 'shop/waypoint-0');
  assert.equal(echoRow.health.waypointPods[0]!.targets[0]!.endpoints[1]!.ejection!.reason, 'consecutive-5xx');
});

test('without_asking_the_waypoints_rows_have_no_health', () => {
  assert.ok(serviceRows([dump()]).every((r) => r.health === undefined));
});

test('helpers_waypoints_gateway_and_durations', () => {
  assert.deepEqual(waypointsOf([dump()]), [WP.service]);
  assert.deepEqual(waypointGateway(WP.service), { namespace: 'shop', name: 'waypoint' });
  assert.deepEqual([450, 12_400, 90_000, 3_600_000, 7_500_000].map(shortDuration), ['450ms', '12s', '1m30s', '1h', '2h5m']);
  assert.equal(endpointHealthText({ health: 'healthy' }), 'healthy');
});
