import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HttpRouteObject, ServiceRoute } from '../console/api-types.js';
import { backendRows, liveOf, matchesOf, renderSplit, renderTraffic, trafficView, writtenRows } from './traffic-view.js';

const backend = (name: string, weight: number, liveRequests: number | null = null, namespace = 'shop') => ({ name, namespace, port: 80, weight, liveShare: null, liveRequests });

/** GET /services/shop/echo's route: a matched rule 90/10, a catch-all rule 1/0. */
function route(live: [number | null, number | null] = [null, null]): ServiceRoute {
  return {
    namespace: 'shop',
    name: 'echo',
    kind: 'HTTPRoute',
    rules: [
      { matches: 'method GET, PathPrefix /api', backends: [backend('echo-v1', 90, live[0]), backend('echo-v2', 10, live[1])] },
      { matches: '', backends: [backend('echo-v1', 1, live[0]), backend('echo-v2', 0, live[1])] },
    ],
    conditions: [],
  };
}

const WRITTEN: HttpRouteObject = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'echo', namespace: 'shop' },
  spec: {
    parentRefs: [{ group: '', kind: 'Service', name: 'echo' }],
    rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/api' }, method: 'GET' }], backendRefs: [{ name: 'echo-v1', port: 80, weight: 90 }, { name: 'echo-v2', port: 80, weight: 10 }, { kind: 'ServiceImport', name: 'far', weight: 0 }] }],
  },
};

test('raw_route_matches_are_summarised_per_rule', () => {
  assert.equal(matchesOf({ matches: [{ path: { type: 'PathPrefix', value: '/api' }, method: 'GET' }] }), 'PathPrefix /api GET');
  assert.equal(matchesOf({}), '*');
  assert.equal(matchesOf({ matches: [{ headers: [{ name: 'a', value: 'b' }] }, { path: { value: '/x' } }] }), '1 header | PathPrefix /x');
});

test('rows_carry_each_backends_weight_and_share_of_its_rule_and_every_request_is_a_star', () => {
  const rows = backendRows([route()], 'shop');
  assert.deepEqual(
    rows.map((r) => [r.rule, r.matches, r.backend, r.port, r.weight, r.share]),
    [
      [0, 'method GET, PathPrefix /api', 'echo-v1', 80, 90, 90],
      [0, 'method GET, PathPrefix /api', 'echo-v2', 80, 10, 10],
      [1, '*', 'echo-v1', 80, 1, 100],
      [1, '*', 'echo-v2', 80, 0, 0],
    ],
  );
});

test('a_backend_of_another_namespace_is_named_with_it', () => {
  const r: ServiceRoute = { namespace: 'shop', name: 'x', kind: 'HTTPRoute', rules: [{ matches: '', backends: [{ ...backend('far', 1), namespace: 'other', port: null }] }], conditions: [] };
  assert.deepEqual(backendRows([r], 'shop').map((x) => [x.backend, x.port]), [['other/far', undefined]]);
});

test('live_requests_are_taken_per_backend_from_the_api', () => {
  assert.deepEqual(liveOf([route([45, 5])], 'shop', 'echo', '1m'), { available: true, window: '1m', requests: { 'echo-v1': 45, 'echo-v2': 5 } });
});

test('no_requests_in_the_window_or_no_measure_says_why', () => {
  for (const live of [[0, 0], [null, null]] as Array<[number | null, number | null]>) {
    const l = liveOf([route(live)], 'shop', 'echo', '30s');
    assert.equal(l.available, false);
    assert.match(!l.available ? l.reason : '', /^no requests to shop\/echo reached its backends in the last 30s of the controller's telemetry window/);
  }
});

test('table_shows_configured_and_live_shares', () => {
  const out = renderTraffic(trafficView('shop', 'echo', [route([45, 5])], '1m'), 'table');
  const lines = out.split('\n');
  assert.match(lines[0]!, /^ROUTE\s+RULE\s+MATCHES\s+BACKEND\s+PORT\s+WEIGHT\s+SHARE\s+LIVE$/);
  assert.match(lines[1]!, /^echo\s+0\s+method GET, PathPrefix \/api\s+echo-v1\s+80\s+90\s+90%\s+90% \(45 req\)$/);
  assert.match(lines[2]!, /^echo\s+0\s+method GET, PathPrefix \/api\s+echo-v2\s+80\s+10\s+10%\s+10% \(5 req\)$/);
  assert.match(out, /\nLIVE: requests to echo per backend over the last 1m, from the controller's telemetry window \(50 requests\)\n$/);
});

test('table_says_why_live_shares_are_unavailable', () => {
  const out = renderTraffic(trafficView('shop', 'echo', [route()], '1m'), 'table');
  assert.match(out, /\necho\s+1\s+\*\s+echo-v2\s+80\s+0\s+0%\s+-\n/);
  assert.match(out, /\nLIVE: unavailable: no requests to shop\/echo reached its backends in the last 1m/);
});

test('no_route_is_said_plainly', () => {
  assert.equal(renderTraffic(trafficView('shop', 'web', [], '1m'), 'table'), 'No HTTPRoute attaches to Service shop/web: its traffic goes to its own endpoints.\n');
});

test('json_carries_rows_and_live_data', () => {
  const j = JSON.parse(renderTraffic(trafficView('shop', 'echo', [route([9, 1])], '2m'), 'json')) as { routes: string[]; backends: unknown[]; live: unknown };
  assert.deepEqual(j.routes, ['echo']);
  assert.equal(j.backends.length, 4);
  assert.deepEqual(j.live, { available: true, window: '2m', requests: { 'echo-v1': 9, 'echo-v2': 1 } });
});

test('written_route_rows_name_other_kinds_with_their_kind', () => {
  assert.deepEqual(
    writtenRows(WRITTEN, 'shop').map((r) => [r.matches, r.backend, r.weight, r.share]),
    [
      ['PathPrefix /api GET', 'echo-v1', 90, 90],
      ['PathPrefix /api GET', 'echo-v2', 10, 10],
      ['PathPrefix /api GET', 'ServiceImport/far', 0, 0],
    ],
  );
});

test('split_prints_the_kubectl_line_then_the_weights_as_written', () => {
  const out = renderSplit('configured', WRITTEN, 'shop', 'echo-v1=90 echo-v2=10', 'table');
  const lines = out.trimEnd().split('\n');
  assert.equal(lines[0], 'httproute.gateway.networking.k8s.io/echo configured (echo-v1=90 echo-v2=10)');
  assert.match(lines[1]!, /^ROUTE\s+RULE\s+MATCHES\s+BACKEND\s+PORT\s+WEIGHT\s+SHARE$/);
  assert.match(lines[2]!, /^echo\s+0\s+PathPrefix \/api GET\s+echo-v1\s+80\s+90\s+90%$/);
  assert.equal(lines.length, 5);
  assert.deepEqual(JSON.parse(renderSplit('created', WRITTEN, 'shop', '', 'json')), WRITTEN);
});
