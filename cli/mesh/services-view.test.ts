// `ambientctl services` from the API's GET /services?health=true answer: the HEALTH column,
// the warnings under the table, and the endpoint rows (--endpoints, -o wide).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Service, ServiceHealth, WaypointEndpointState, WaypointTargetState } from '../../console/api-types.js';
import { render } from '../output.js';
import { ENDPOINT_COLUMNS, SERVICE_COLUMNS, endpointHealthText, endpointRows, healthText, healthWarnings, portText, serviceRows } from './services-view.js';

const ep = (ip: string, node: string, name: string, over: Partial<WaypointEndpointState> = {}): WaypointEndpointState => ({ address: `${ip}:8080`, workload: name, node, locality: node === 'node-1' ? 'node' : 'any', health: 'healthy', inRotation: true, activeRequests: 0, ...over });
const target = (endpoints: WaypointEndpointState[]): WaypointTargetState => ({ service: 'shop/echo.shop.svc.cluster.local', port: 80, trafficPolicy: 'shop/echo', algorithm: 'LEAST_REQUEST', panic: false, endpoints });
const ONE_EJECTED = [
  ep('10.244.1.5', 'node-1', 'echo-a'),
  ep('10.244.2.6', 'node-2', 'echo-b', { health: 'ejected', inRotation: false, ejection: { count: 2, remainingMs: 12_400, reason: 'consecutive-5xx' } }),
  ep('10.244.2.7', 'node-2', 'echo-c', { health: 'warming', warming: { sharePercent: 33.3, remainingMs: 20_000 }, activeRequests: 2 }),
];
const known: ServiceHealth = { state: 'known', total: 3, healthy: 2, ejected: 1, warming: 1, panic: false, pods: 1, podsAsked: 1, unreachable: [], waypointPods: [{ pod: 'shop/waypoint-0', targets: [target(ONE_EJECTED)] }] };

const svc = (name: string, over: Partial<Service> = {}): Service => ({
  namespace: 'shop', name, vips: ['10.96.0.30'], ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', appProtocol: 'http' }], endpoints: 3, waypoint: null,
  hostname: `${name}.shop.svc.cluster.local`, healthyEndpoints: 3, health: { state: 'none' }, ...over,
});

test('the columns users know, HEALTH from the waypoint; a Service without one has -', () => {
  const rows = serviceRows({ items: [svc('echo', { waypoint: 'shop/waypoint', health: known }), svc('db', { vips: [], ports: [{ name: 'pg', port: 5432, targetPort: null, protocol: 'TCP', appProtocol: null }], endpoints: 2, healthyEndpoints: 1 })] });
  const table = render(rows, SERVICE_COLUMNS, 'table');
  assert.match(table.split('\n')[0]!, /^NAMESPACE\s+NAME\s+HOSTNAME\s+VIPS\s+PORTS\s+ENDPOINTS\s+WAYPOINT\s+HEALTH$/);
  assert.match(table, /^shop\s+db\s+db\.shop\.svc\.cluster\.local\s+None\s+5432:named\/TCP\s+1\/2\s+-\s+-$/m);
  assert.match(table, /^shop\s+echo\s+echo\.shop\.svc\.cluster\.local\s+10\.96\.0\.30\s+80:8080\/TCP\s+3\/3\s+shop\/waypoint\s+2\/3 \(1 ejected, 1 warming\)$/m);
});

test('health text: all healthy, panic and missing pods, unknown', () => {
  assert.equal(healthText({ ...known, healthy: 3, ejected: 0, warming: 0 }), '3/3 healthy');
  assert.equal(healthText({ ...known, panic: true, podsAsked: 2 }), '2/3 (1 ejected, 1 warming, panic, 1/2 waypoint pods answered)');
  assert.equal(healthText({ state: 'unknown', reason: 'x' }), 'unknown');
  assert.equal(healthText(undefined), '-');
});

test('unknown health and unreachable pods are warnings', () => {
  const rows = serviceRows({ items: [svc('echo', { waypoint: 'shop/waypoint', health: { state: 'unknown', reason: 'waypoint shop/waypoint has no running pod with an IP' } }), svc('web', { waypoint: 'shop/waypoint', health: { ...known, unreachable: ['shop/waypoint-1: timeout'] } })] });
  assert.deepEqual(healthWarnings(rows), ['shop/echo: health unknown: waypoint shop/waypoint has no running pod with an IP', 'shop/web: shop/waypoint-1: timeout']);
});

test('endpoint rows: one per endpoint and waypoint pod, with ejection and warming', () => {
  const eps = endpointRows(serviceRows({ items: [svc('echo', { waypoint: 'shop/waypoint', health: known }), svc('db')] }));
  assert.equal(eps.length, 3, 'only the Service with a waypoint');
  const table = render(eps, ENDPOINT_COLUMNS, 'table');
  assert.match(table.split('\n')[0]!, /^NAMESPACE\s+SERVICE\s+PORT\s+ENDPOINT\s+WORKLOAD\s+NODE\s+LOCALITY\s+HEALTH\s+ACTIVE\s+IN ROTATION\s+LB\s+POLICY\s+WAYPOINT POD$/);
  assert.match(table, /^shop\s+echo\s+80\s+10\.244\.1\.5:8080\s+echo-a\s+node-1\s+node\s+healthy\s+0\s+yes\s+LEAST_REQUEST\s+shop\/echo\s+shop\/waypoint-0$/m);
  assert.match(table, /^shop\s+echo\s+80\s+10\.244\.2\.6:8080\s+echo-b\s+node-2\s+any\s+ejected \(2x, 12s left\)\s+0\s+no\s+/m);
  assert.match(table, /^shop\s+echo\s+80\s+10\.244\.2\.7:8080\s+echo-c\s+node-2\s+any\s+warming \(33\.3%, 20s left\)\s+2\s+yes\s+/m);
});

test('endpoint rows of an unknown waypoint carry the reason', () => {
  const eps = endpointRows(serviceRows({ items: [svc('echo', { waypoint: 'shop/waypoint', health: { state: 'unknown', reason: 'boom' } })] }));
  assert.deepEqual(eps, [{ namespace: 'shop', service: 'echo', port: 0, address: '-', health: 'unknown', reason: 'boom' }]);
});

test('json rows carry the full state of each waypoint pod', () => {
  const json = JSON.parse(render(serviceRows({ items: [svc('echo', { waypoint: 'shop/waypoint', health: known })] }), SERVICE_COLUMNS, 'json')) as Array<{ health: { waypointPods: Array<{ pod: string; targets: WaypointTargetState[] }> } }>;
  assert.equal(json[0]!.health.waypointPods[0]!.targets[0]!.endpoints[1]!.ejection!.reason, 'consecutive-5xx');
});

test('ports and endpoint health cells', () => {
  assert.deepEqual([portText({ port: 80, targetPort: 80, protocol: 'TCP' }), portText({ port: 80, targetPort: 8080, protocol: 'TCP' }), portText({ port: 53, targetPort: null, protocol: 'UDP' })], ['80/TCP', '80:8080/TCP', '53:named/UDP']);
  assert.equal(endpointHealthText({ health: 'healthy' }), 'healthy');
});

test('an answer without hostname or healthy counts (an older controller) still renders', () => {
  const { hostname: _h, healthyEndpoints: _e, health: _x, ...bare } = svc('echo');
  const [row] = serviceRows({ items: [bare] });
  assert.deepEqual([row!.hostname, row!.endpoints, row!.health], ['echo.shop', { healthy: 3, total: 3 }, undefined]);
});
