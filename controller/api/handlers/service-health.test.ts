// GET /services?health=true: a Service's health from what its waypoint's pods answered
// (their /debug/endpoints documents, shaped as waypoint/observe/endpoint-state.ts writes them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EndpointStateDocument, EndpointStateEntry, EndpointStateTarget } from '../../../waypoint/observe/endpoint-state.js';
import { serviceHealth, type WaypointAnswers } from './service-health.js';

const WP = { service: 'shop/waypoint.shop.svc.cluster.local', port: 15008 };
const echo = { key: 'shop/echo.shop.svc.cluster.local', waypoint: WP };

const healthy = (ip: string, node: string, name: string): EndpointStateEntry => ({ address: `${ip}:8080`, workload: name, namespace: 'shop', node, locality: node === 'node-1' ? 'node' : 'any', health: 'healthy', inRotation: true, activeRequests: 0, weight: 1 });

function target(endpoints: EndpointStateEntry[], over: Partial<EndpointStateTarget> = {}): EndpointStateTarget {
  const ejected = endpoints.filter((e) => e.health === 'ejected').length;
  return {
    service: echo.key, name: 'echo', namespace: 'shop', port: 80, trafficPolicy: 'shop/echo', algorithm: 'LEAST_REQUEST', localityPreference: true, warmupMs: 30_000,
    outlierDetection: true, minHealthPercent: 0, panic: false, tier: 'any',
    counts: { total: endpoints.length, healthy: endpoints.length - ejected, ejected, warming: endpoints.filter((e) => e.health === 'warming').length, unready: 0 },
    endpoints, ...over,
  };
}

const doc = (targets: EndpointStateTarget[]): EndpointStateDocument => ({ waypoint: WP.service, node: 'node-1', generatedAt: '2026-12-04T00:00:00.000Z', targets });
const ALL_HEALTHY = [healthy('10.244.1.5', 'node-1', 'echo-a'), healthy('10.244.2.6', 'node-2', 'echo-b'), healthy('10.244.2.7', 'node-2', 'echo-c')];
const ONE_EJECTED: EndpointStateEntry[] = [
  ALL_HEALTHY[0]!,
  { ...ALL_HEALTHY[1]!, health: 'ejected', inRotation: false, ejection: { count: 2, remainingMs: 12_400, reason: 'consecutive-5xx' } },
  { ...ALL_HEALTHY[2]!, health: 'warming', warming: { sharePercent: 33.3, remainingMs: 20_000 }, activeRequests: 2 },
];

const answers = (...docs: Array<EndpointStateDocument | string>): WaypointAnswers => ({
  waypoint: WP.service,
  pods: docs.map((d, i) => (typeof d === 'string' ? { pod: `shop/waypoint-${i}`, ok: false as const, error: d } : { pod: `shop/waypoint-${i}`, ok: true as const, targets: d.targets })),
});

test('a Service without a waypoint has no L7 health', () => {
  assert.deepEqual(serviceHealth({ key: 'shop/db.shop.svc.cluster.local', waypoint: undefined }, undefined), { state: 'none' });
});

test('endpoints are counted once each, ejected and warming named, with every pod\'s full state', () => {
  const h = serviceHealth(echo, answers(doc([target(ONE_EJECTED)])));
  assert.equal(h.state, 'known');
  if (h.state !== 'known') return;
  assert.deepEqual([h.total, h.healthy, h.ejected, h.warming, h.panic, h.pods, h.podsAsked], [3, 2, 1, 1, false, 1, 1]);
  assert.equal(h.waypointPods[0]!.targets[0]!.endpoints[1]!.ejection!.reason, 'consecutive-5xx');
});

test('an endpoint counts in its worst state in any waypoint pod', () => {
  const h = serviceHealth(echo, answers(doc([target(ALL_HEALTHY)]), doc([target(ONE_EJECTED)])));
  assert.ok(h.state === 'known');
  assert.deepEqual([h.total, h.healthy, h.ejected, h.warming, h.pods], [3, 2, 1, 1, 2]);
});

test('panic and a pod that did not answer are said', () => {
  const h = serviceHealth(echo, answers(doc([target(ONE_EJECTED, { panic: true, tier: 'panic' })]), 'no answer within 1500 ms'));
  assert.ok(h.state === 'known');
  assert.equal(h.panic, true);
  assert.deepEqual([h.pods, h.podsAsked], [1, 2]);
  assert.deepEqual(h.unreachable, ['shop/waypoint-1: no answer within 1500 ms']);
});

test('no pod answering, no pod at all, or not asked: unknown with the reason', () => {
  assert.deepEqual(serviceHealth(echo, answers('connect ECONNREFUSED')), { state: 'unknown', reason: 'no waypoint pod answered GET /debug/endpoints (shop/waypoint-0: connect ECONNREFUSED)' });
  assert.deepEqual(serviceHealth(echo, { waypoint: WP.service, pods: [], error: 'waypoint shop/waypoint has no running pod with an IP' }), { state: 'unknown', reason: 'waypoint shop/waypoint has no running pod with an IP' });
  assert.deepEqual(serviceHealth(echo, undefined), { state: 'unknown', reason: `waypoint ${WP.service} was not asked` });
});

test("a waypoint whose document does not list the Service (yet) is unknown", () => {
  const h = serviceHealth(echo, answers(doc([])));
  assert.ok(h.state === 'unknown');
  assert.match(h.reason, /do not list shop\/echo\.shop\.svc\.cluster\.local/);
});

test('endpoints left out of the document are said', () => {
  const h = serviceHealth(echo, answers(doc([target(ALL_HEALTHY, { endpointsLeftOut: 4 })])));
  assert.ok(h.state === 'known');
  assert.match(h.unreachable.join('\n'), /left out of the waypoint's document/);
});
