import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePrometheusText, type Sample } from '../core/observe/prom-text.js';
import { backendRows, liveRequests, matchesOf, renderTraffic, trafficView } from './traffic-view.js';

const ROUTE = {
  metadata: { name: 'echo', namespace: 'shop' },
  spec: {
    parentRefs: [{ group: '', kind: 'Service', name: 'echo' }],
    rules: [
      { matches: [{ path: { type: 'PathPrefix', value: '/api' }, method: 'GET' }], backendRefs: [{ name: 'echo-v1', port: 80, weight: 90 }, { name: 'echo-v2', port: 80, weight: 10 }] },
      { backendRefs: [{ name: 'echo-v1', port: 80 }, { name: 'echo-v2', port: 80, weight: 0 }] },
    ],
  },
};

function samples(counts: Record<string, number>): Sample[] {
  const l = (w: string, code = '200') => `reporter="waypoint",destination_service_name="echo",destination_service_namespace="shop",destination_workload="${w}",destination_workload_namespace="shop",response_code="${code}"`;
  return parsePrometheusText(Object.entries(counts).map(([w, n]) => `istio_requests_total{${l(w)}} ${n}`).join('\n')).samples;
}

const WORKLOADS = new Map([
  ['echo-v1', new Set(['shop/echo-v1'])],
  ['echo-v2', new Set(['shop/echo-v2'])],
]);

test('matches_are_summarised_per_rule', () => {
  assert.equal(matchesOf(ROUTE.spec.rules[0]), 'PathPrefix /api GET');
  assert.equal(matchesOf(ROUTE.spec.rules[1]), '*');
  assert.equal(matchesOf({ matches: [{ headers: [{ name: 'a', value: 'b' }] }, { path: { value: '/x' } }] }), '1 header | PathPrefix /x');
});

test('rows_carry_each_backends_weight_and_share_of_its_rule', () => {
  const rows = backendRows([ROUTE], 'shop');
  assert.deepEqual(rows.map((r) => [r.rule, r.backend, r.port, r.weight, r.share]), [
    [0, 'echo-v1', 80, 90, 90],
    [0, 'echo-v2', 80, 10, 10],
    [1, 'echo-v1', 80, 1, 100],
    [1, 'echo-v2', 80, 0, 0],
  ]);
});

test('backend_refs_of_other_kinds_are_named_with_their_kind', () => {
  const rows = backendRows([{ metadata: { name: 'r' }, spec: { rules: [{ backendRefs: [{ group: 'x.io', kind: 'Thing', name: 't', weight: 1 }] }] } }], 'shop');
  assert.equal(rows[0]!.backend, 'Thing/t');
});

test('live_requests_are_deltas_over_the_window_per_backend', () => {
  const before = new Map([['wp-0', samples({ 'echo-v1': 100, 'echo-v2': 5 })]]);
  const now = new Map([['wp-0', samples({ 'echo-v1': 190, 'echo-v2': 15 })]]);
  assert.deepEqual(liveRequests('echo', 'shop', WORKLOADS, before, now), { requests: { 'echo-v1': 90, 'echo-v2': 10 }, notes: [] });
});

test('live_requests_with_no_window_count_since_the_waypoints_started', () => {
  const now = new Map([['wp-0', samples({ 'echo-v1': 3 })], ['wp-1', samples({ 'echo-v1': 4, 'echo-v2': 1 })]]);
  assert.deepEqual(liveRequests('echo', 'shop', WORKLOADS, new Map(), now).requests, { 'echo-v1': 7, 'echo-v2': 1 });
});

test('backends_sharing_a_workload_or_without_endpoints_are_noted', () => {
  const w = new Map([['a', new Set(['shop/echo'])], ['b', new Set(['shop/echo'])], ['c', new Set<string>()]]);
  const { notes } = liveRequests('echo', 'shop', w, new Map(), new Map());
  assert.deepEqual(notes, ['backends a and b both run as workload shop/echo: their requests cannot be told apart', 'backend c has no endpoints: nothing can be counted for it']);
});

test('table_shows_configured_and_live_shares', () => {
  const out = renderTraffic(trafficView('shop', 'echo', [ROUTE], { available: true, windowMs: 5000, pods: 1, unreachable: [], requests: { 'echo-v1': 90, 'echo-v2': 10 }, notes: [] }), 'table');
  const lines = out.split('\n');
  assert.match(lines[0]!, /^ROUTE\s+RULE\s+MATCHES\s+BACKEND\s+PORT\s+WEIGHT\s+SHARE\s+LIVE$/);
  assert.match(lines[1]!, /^echo\s+0\s+PathPrefix \/api GET\s+echo-v1\s+80\s+90\s+90%\s+90% \(90 req\)$/);
  assert.match(out, /LIVE: requests to echo per backend over the last 5s, from 1 waypoint pod \(100 requests\)/);
});

test('table_says_why_live_shares_are_unavailable', () => {
  const out = renderTraffic(trafficView('shop', 'echo', [ROUTE], { available: false, reason: 'no waypoint' }), 'table');
  assert.match(out, /LIVE: unavailable: no waypoint\n$/);
  assert.match(out, /echo-v2\s+80\s+10\s+10%\s+-/);
});

test('no_route_is_said_plainly', () => {
  assert.match(renderTraffic(trafficView('shop', 'echo', [], { available: false, reason: 'x' }), 'table'), /^No HTTPRoute attaches to Service shop\/echo/);
});

test('json_carries_rows_and_live_data', () => {
  const data = JSON.parse(renderTraffic(trafficView('shop', 'echo', [ROUTE], { available: false, reason: 'why' }), 'json')) as { routes: string[]; backends: unknown[]; live: unknown };
  assert.deepEqual(data.routes, ['echo']);
  assert.equal(data.backends.length, 4);
  assert.deepEqual(data.live, { available: false, reason: 'why' });
});
