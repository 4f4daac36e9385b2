import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyWeights, attachesTo, backendPort, checkWeights, parseWeightArg, planSplit, routesOfService, weightsTo, type HTTPRouteObject, type RouteRule, type ServiceObject, type SplitRequest } from './traffic-split.js';

const svc = (name: string, ...ports: number[]): ServiceObject => ({ metadata: { name, namespace: 'shop' }, spec: { ports: ports.map((port) => ({ port })) } });
const SERVICES = [svc('echo', 80), svc('echo-v1', 80), svc('echo-v2', 80)];

function route(name: string, parent: string, rules: RouteRule[], more: Record<string, unknown> = {}): HTTPRouteObject {
  return { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name, namespace: 'shop', resourceVersion: '7' }, spec: { parentRefs: [{ group: '', kind: 'Service', name: parent, ...more }], rules } };
}

function req(o: Partial<SplitRequest>): SplitRequest {
  return { namespace: 'shop', service: 'echo', routes: [], services: SERVICES, weights: [{ name: 'echo-v1', weight: 90 }, { name: 'echo-v2', weight: 10 }], ...o };
}

test('parse_weight_arg_reads_name_and_integer_weight', () => {
  assert.deepEqual(parseWeightArg('echo-v1=90'), { name: 'echo-v1', weight: 90 });
  assert.deepEqual(parseWeightArg('echo-v2=0'), { name: 'echo-v2', weight: 0 });
});

test('parse_weight_arg_refuses_negative_fractional_and_missing_weights', () => {
  assert.throws(() => parseWeightArg('echo-v1=-1'), /weight "-1" is not an integer/);
  assert.throws(() => parseWeightArg('echo-v1=1.5'), /weight "1.5" is not an integer/);
  assert.throws(() => parseWeightArg('echo-v1'), /is not BACKEND=WEIGHT/);
  assert.throws(() => parseWeightArg('Echo=1'), /is not a Service name/);
  assert.throws(() => parseWeightArg('echo=1000001'), /from 0 to 1000000/);
});

test('check_weights_refuses_all_zero_duplicates_and_nothing', () => {
  assert.match(checkWeights([{ name: 'a', weight: 0 }, { name: 'b', weight: 0 }])!, /every weight is 0/);
  assert.match(checkWeights([{ name: 'a', weight: 1 }, { name: 'a', weight: 2 }])!, /named twice/);
  assert.match(checkWeights([])!, /no backend given/);
  assert.equal(checkWeights([{ name: 'a', weight: 0 }, { name: 'b', weight: 5 }]), undefined);
});

test('to_gives_the_named_backend_everything', () => {
  assert.deepEqual(weightsTo('echo-v2'), [{ name: 'echo-v2', weight: 100 }]);
});

test('attaches_to_needs_core_group_service_kind_and_name', () => {
  assert.equal(attachesTo({ group: '', kind: 'Service', name: 'echo' }, 'shop', 'echo'), true);
  assert.equal(attachesTo({ kind: 'Service', name: 'echo' }, 'shop', 'echo'), false, 'group defaults to the Gateway API group');
  assert.equal(attachesTo({ group: '', kind: 'Service', name: 'echo', namespace: 'other' }, 'shop', 'echo'), false);
  assert.equal(attachesTo({ group: '', kind: 'Service', name: 'echo', namespace: 'shop' }, 'shop', 'echo'), true);
  assert.equal(attachesTo({ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'echo' }, 'shop', 'echo'), false);
});

test('routes_of_service_lists_only_routes_with_a_parent_ref_to_it', () => {
  const rs = [route('a', 'echo', []), route('b', 'other', []), { metadata: { name: 'c', namespace: 'shop' } }];
  assert.deepEqual(routesOfService(rs, 'shop', 'echo').map((r) => r.metadata?.name), ['a']);
});

test('no_route_creates_one_named_after_the_service_with_ports_and_weights', () => {
  const w = planSplit(req({}));
  assert.equal(w.verb, 'create');
  assert.ok(w.verb === 'create');
  assert.equal(w.name, 'echo');
  assert.deepEqual(w.body.spec, { parentRefs: [{ group: '', kind: 'Service', name: 'echo' }], rules: [{ backendRefs: [{ name: 'echo-v1', port: 80, weight: 90 }, { name: 'echo-v2', port: 80, weight: 10 }] }] });
  assert.deepEqual(w.body.metadata, { name: 'echo', namespace: 'shop' });
});

test('no_route_with_route_option_creates_that_name', () => {
  const w = planSplit(req({ route: 'echo-split' }));
  assert.ok(w.verb === 'create');
  assert.equal(w.name, 'echo-split');
});

test('creating_refuses_when_a_route_of_that_name_attaches_elsewhere', () => {
  const w = planSplit(req({ routes: [route('echo', 'other', [])] }));
  assert.ok(w.verb === 'refuse');
  assert.match(w.message, /HTTPRoute shop\/echo exists and does not attach to Service echo/);
});

test('one_route_is_patched_keeping_port_and_filters_of_existing_backend_refs', () => {
  const filters = [{ type: 'RequestHeaderModifier', requestHeaderModifier: { add: [{ name: 'x', value: '1' }] } }];
  const r = route('echo', 'echo', [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'echo-v1', port: 8080, filters }] }]);
  const w = planSplit(req({ routes: [r] }));
  assert.ok(w.verb === 'patch');
  assert.equal(w.name, 'echo');
  assert.deepEqual(w.body.metadata, { resourceVersion: '7' });
  assert.deepEqual(w.body.spec.rules, [
    { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'echo-v1', port: 8080, filters, weight: 90 }, { name: 'echo-v2', port: 80, weight: 10 }] },
  ]);
});

test('every_rule_with_backend_refs_gets_the_weights', () => {
  const r = route('echo', 'echo', [{ backendRefs: [{ name: 'echo-v1', port: 80 }] }, { matches: [{ path: { type: 'Exact', value: '/x' } }], backendRefs: [{ name: 'echo-v1', port: 80 }] }]);
  const w = planSplit(req({ routes: [r] }));
  assert.ok(w.verb === 'patch');
  for (const rule of w.rules) assert.deepEqual(rule.backendRefs?.map((b) => [b.name, b.weight]), [['echo-v1', 90], ['echo-v2', 10]]);
});

test('backends_not_named_are_kept_with_weight_zero', () => {
  const r = route('echo', 'echo', [{ backendRefs: [{ name: 'echo-v1', port: 80, weight: 50 }, { name: 'echo-v3', port: 80, weight: 50 }] }]);
  const w = planSplit(req({ routes: [r], weights: weightsTo('echo-v1') }));
  assert.ok(w.verb === 'patch');
  assert.deepEqual(w.rules[0]!.backendRefs, [{ name: 'echo-v1', port: 80, weight: 100 }, { name: 'echo-v3', port: 80, weight: 0 }]);
});

test('zero_weights_are_kept_in_the_route', () => {
  const r = route('echo', 'echo', [{ backendRefs: [{ name: 'echo-v1', port: 80, weight: 90 }, { name: 'echo-v2', port: 80, weight: 10 }] }]);
  const w = planSplit(req({ routes: [r], weights: weightsTo('echo-v2') }));
  assert.ok(w.verb === 'patch');
  assert.deepEqual(w.rules[0]!.backendRefs, [{ name: 'echo-v1', port: 80, weight: 0 }, { name: 'echo-v2', port: 80, weight: 100 }]);
});

test('a_route_already_carrying_the_weights_needs_no_write', () => {
  const r = route('echo', 'echo', [{ backendRefs: [{ name: 'echo-v1', port: 80, weight: 90 }, { name: 'echo-v2', port: 80, weight: 10 }] }]);
  assert.deepEqual(planSplit(req({ routes: [r] })), { verb: 'none', name: 'echo' });
});

test('a_backend_named_twice_in_a_rule_gets_its_weight_once', () => {
  const rules = applyWeights([{ backendRefs: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }], 'shop', [{ name: 'a', weight: 5 }], () => 80);
  assert.ok(Array.isArray(rules));
  assert.deepEqual(rules[0]!.backendRefs?.map((b) => b.weight), [5, 0]);
});

test('backend_refs_to_other_kinds_or_namespaces_get_zero', () => {
  const rules = applyWeights([{ backendRefs: [{ name: 'echo-v1', namespace: 'other', port: 80 }, { group: 'x.io', kind: 'Thing', name: 'echo-v1' }] }], 'shop', [{ name: 'echo-v1', weight: 1 }], () => 80);
  assert.ok(Array.isArray(rules));
  assert.deepEqual(rules[0]!.backendRefs, [{ name: 'echo-v1', namespace: 'other', port: 80, weight: 0 }, { group: 'x.io', kind: 'Thing', name: 'echo-v1', weight: 0 }, { name: 'echo-v1', port: 80, weight: 1 }]);
});

test('rules_without_backend_refs_are_left_alone', () => {
  const redirect = { filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https' } }] };
  const r = route('echo', 'echo', [redirect, { backendRefs: [{ name: 'echo-v1', port: 80 }] }]);
  const w = planSplit(req({ routes: [r] }));
  assert.ok(w.verb === 'patch');
  assert.deepEqual(w.rules[0], redirect);
});

test('several_attached_routes_are_refused_and_listed', () => {
  const w = planSplit(req({ routes: [route('b', 'echo', [{ backendRefs: [] }]), route('a', 'echo', [])] }));
  assert.ok(w.verb === 'refuse');
  assert.match(w.message, /2 HTTPRoutes attach to Service shop\/echo \(a, b\); pick one with --route NAME/);
});

test('route_option_picks_one_of_several', () => {
  const w = planSplit(req({ route: 'b', routes: [route('a', 'echo', [{ backendRefs: [{ name: 'echo-v1', port: 80 }] }]), route('b', 'echo', [{ backendRefs: [{ name: 'echo-v1', port: 80 }] }])] }));
  assert.ok(w.verb === 'patch');
  assert.equal(w.name, 'b');
});

test('route_option_naming_a_route_that_does_not_attach_is_refused', () => {
  const w = planSplit(req({ route: 'x', routes: [route('a', 'echo', [])] }));
  assert.ok(w.verb === 'refuse');
  assert.match(w.message, /HTTPRoute shop\/x does not attach to Service echo; the routes that do: a/);
});

test('a_missing_backend_service_is_refused', () => {
  const w = planSplit(req({ weights: [{ name: 'echo-v1', weight: 1 }, { name: 'echo-v9', weight: 1 }] }));
  assert.ok(w.verb === 'refuse');
  assert.equal(w.message, 'backend Service shop/echo-v9 does not exist');
});

test('a_missing_parent_service_is_refused', () => {
  const w = planSplit(req({ service: 'nope' }));
  assert.ok(w.verb === 'refuse');
  assert.equal(w.message, 'Service shop/nope does not exist');
});

test('all_zero_weights_are_refused', () => {
  const w = planSplit(req({ weights: [{ name: 'echo-v1', weight: 0 }] }));
  assert.ok(w.verb === 'refuse');
  assert.match(w.message, /every weight is 0/);
});

test('backend_port_is_the_only_port_or_the_one_matching_the_parent', () => {
  assert.equal(backendPort(svc('b', 9000), [80]), 9000);
  assert.equal(backendPort(svc('b', 80, 9090), [80]), 80);
  assert.match((backendPort(svc('b', 81, 9090), [80]) as { error: string }).error, /several ports \(81, 9090\) and none is the parent's \(80\)/);
  assert.match((backendPort(svc('b', 80, 9090), [80, 9090]) as { error: string }).error, /several ports matching the parent's/);
  assert.match((backendPort(svc('b'), [80]) as { error: string }).error, /has no ports/);
});

test('a_multi_port_backend_without_a_matching_port_is_refused_when_created', () => {
  const w = planSplit(req({ services: [svc('echo', 80), svc('echo-v1', 80), svc('echo-v2', 81, 82)] }));
  assert.ok(w.verb === 'refuse');
  assert.match(w.message, /backend Service echo-v2 has several ports/);
});

test('the_parent_refs_port_decides_a_multi_port_backend', () => {
  const services = [svc('echo', 80, 9090), svc('echo-v1', 80, 9090), svc('echo-v2', 80, 9090)];
  const r = route('echo', 'echo', [{ backendRefs: [{ name: 'echo-v1', port: 9090 }] }], { port: 9090 });
  const w = planSplit(req({ routes: [r], services }));
  assert.ok(w.verb === 'patch');
  assert.deepEqual(w.rules[0]!.backendRefs?.[1], { name: 'echo-v2', port: 9090, weight: 10 });
});

test('a_route_with_no_rules_gets_one', () => {
  const r = route('echo', 'echo', []);
  const w = planSplit(req({ routes: [r] }));
  assert.ok(w.verb === 'patch');
  assert.deepEqual(w.rules, [{ backendRefs: [{ name: 'echo-v1', port: 80, weight: 90 }, { name: 'echo-v2', port: 80, weight: 10 }] }]);
});

test('a_route_whose_rules_only_redirect_is_refused', () => {
  const w = planSplit(req({ routes: [route('echo', 'echo', [{ filters: [{ type: 'RequestRedirect' }] }])] }));
  assert.ok(w.verb === 'refuse');
  assert.match(w.message, /has no rule with backendRefs/);
});

test('routes_of_other_namespaces_are_ignored', () => {
  const r = { ...route('echo', 'echo', []), metadata: { name: 'echo', namespace: 'other' } };
  const w = planSplit(req({ routes: [r] }));
  assert.equal(w.verb, 'create');
});
