// Waypoint binding: `ambient.dev/use-waypoint` on Namespace, Service or Pod (most specific
// wins, `none` opts out), resolved to a Gateway of class ambient-waypoint in the namespace,
// filtered by the Gateway's `ambient.dev/waypoint-for`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Gateway } from './input.js';
import { cluster, mustService, mustWorkload, namespace, pod, problemsOf, service, TD, waypointGateway } from './fixtures.js';
import { translate } from './translate.js';
import { allowedNamespaces, bindingConsent, type AllowedNamespaces, type Waypoint } from './waypoints.js';

const USE = (name: string) => ({ 'ambient.dev/use-waypoint': name });
const REF = (name: string, port = 15008) => ({ service: `shop/${name}.shop.svc.cluster.local`, port });
const ALL = { waypointFor: 'all' };

function run(o: { nsLabels?: Record<string, string>; gateways?: Gateway[]; podLabels?: Record<string, string>; svcLabels?: Record<string, string> }) {
  return translate(
    cluster({
      namespaces: [namespace('shop', o.nsLabels ?? {})],
      gateways: o.gateways ?? [],
      pods: [pod('web', { ns: 'shop', labels: o.podLabels ?? {} })],
      services: [service('web', { ns: 'shop', labels: o.svcLabels ?? {} }), service('wp', { ns: 'shop', clusterIP: '10.96.0.99' }), service('other', { ns: 'shop', clusterIP: '10.96.0.98' })],
    }),
    { trustDomain: TD },
  );
}

test('use_waypoint_on_namespace_applies_to_services', () => {
  const r = run({ nsLabels: USE('wp'), gateways: [waypointGateway('wp', 'shop')] });
  assert.deepEqual(mustService(r, 'web', 'shop').waypoint, REF('wp'));
});

test('use_waypoint_on_namespace_applies_to_pods_when_waypoint_accepts_workload_traffic', () => {
  const r = run({ nsLabels: USE('wp'), gateways: [waypointGateway('wp', 'shop', ALL)] });
  assert.deepEqual(mustWorkload(r, 'web', 'shop').waypoint, REF('wp'));
});

test('use_waypoint_default_waypoint_for_is_service_so_pods_skip_it_quietly', () => {
  const r = run({ nsLabels: USE('wp'), gateways: [waypointGateway('wp', 'shop')] });
  assert.equal(mustWorkload(r, 'web', 'shop').waypoint, undefined);
  assert.deepEqual(problemsOf(r, 'Pod', 'shop/web'), []);
});

test('use_waypoint_on_pod_beats_namespace', () => {
  const r = run({ nsLabels: USE('wp'), podLabels: USE('other'), gateways: [waypointGateway('wp', 'shop', ALL), waypointGateway('other', 'shop', ALL)] });
  assert.deepEqual(mustWorkload(r, 'web', 'shop').waypoint, REF('other'));
});

test('use_waypoint_on_service_beats_namespace', () => {
  const r = run({ nsLabels: USE('wp'), svcLabels: USE('other'), gateways: [waypointGateway('wp', 'shop'), waypointGateway('other', 'shop')] });
  assert.deepEqual(mustService(r, 'web', 'shop').waypoint, REF('other'));
});

test('use_waypoint_none_opts_out', () => {
  const r = run({ nsLabels: USE('wp'), podLabels: USE('none'), svcLabels: USE('none'), gateways: [waypointGateway('wp', 'shop', ALL)] });
  assert.equal(mustWorkload(r, 'web', 'shop').waypoint, undefined);
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
  assert.deepEqual(r.problems, []);
});

test('use_waypoint_none_on_namespace_means_no_waypoint', () => {
  const r = run({ nsLabels: USE('none'), gateways: [waypointGateway('wp', 'shop', ALL)] });
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
  assert.equal(mustWorkload(r, 'web', 'shop').waypoint, undefined);
});

test('use_waypoint_naming_missing_gateway_gives_no_waypoint_and_a_problem_on_the_pod', () => {
  const r = run({ podLabels: USE('ghost') });
  assert.equal(mustWorkload(r, 'web', 'shop').waypoint, undefined);
  assert.match(problemsOf(r, 'Pod', 'shop/web')[0]?.message ?? '', /no Gateway of class ambient-waypoint named "ghost" in namespace shop/);
});

test('use_waypoint_on_namespace_naming_missing_gateway_is_reported_once_on_the_namespace', () => {
  const r = run({ nsLabels: USE('ghost') });
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
  assert.equal(problemsOf(r, 'Namespace', 'shop').length, 1);
  assert.deepEqual(problemsOf(r, 'Service', 'shop/web'), []);
  assert.deepEqual(problemsOf(r, 'Pod', 'shop/web'), []);
});

test('use_waypoint_ignores_gateway_of_another_class', () => {
  const r = run({ svcLabels: USE('wp'), gateways: [waypointGateway('wp', 'shop', { className: 'istio' })] });
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
  assert.equal(problemsOf(r, 'Service', 'shop/web').length, 1);
});

test('use_waypoint_ignores_gateway_in_another_namespace', () => {
  const r = run({ svcLabels: USE('wp'), gateways: [waypointGateway('wp', 'elsewhere')] });
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
});

test('use_waypoint_on_pod_for_service_only_waypoint_is_reported', () => {
  const r = run({ podLabels: USE('wp'), gateways: [waypointGateway('wp', 'shop', { waypointFor: 'service' })] });
  assert.equal(mustWorkload(r, 'web', 'shop').waypoint, undefined);
  assert.match(problemsOf(r, 'Pod', 'shop/web')[0]?.message ?? '', /accepts service traffic .* not workload traffic/);
});

test('use_waypoint_on_service_for_workload_only_waypoint_is_reported', () => {
  const r = run({ svcLabels: USE('wp'), podLabels: USE('wp'), gateways: [waypointGateway('wp', 'shop', { waypointFor: 'workload' })] });
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
  assert.deepEqual(mustWorkload(r, 'web', 'shop').waypoint, REF('wp'));
  assert.equal(problemsOf(r, 'Service', 'shop/web').length, 1);
});

test('use_waypoint_waypoint_for_none_accepts_nothing', () => {
  const r = run({ nsLabels: USE('wp'), gateways: [waypointGateway('wp', 'shop', { waypointFor: 'none' })] });
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
  assert.equal(mustWorkload(r, 'web', 'shop').waypoint, undefined);
});

test('use_waypoint_unknown_waypoint_for_is_reported_and_defaults_to_service', () => {
  const r = run({ nsLabels: USE('wp'), gateways: [waypointGateway('wp', 'shop', { waypointFor: 'everything' })] });
  assert.deepEqual(mustService(r, 'web', 'shop').waypoint, REF('wp'));
  assert.match(problemsOf(r, 'Gateway', 'shop/wp')[0]?.message ?? '', /"everything" is not one of/);
});

test('use_waypoint_ref_carries_the_hbone_listener_port', () => {
  const r = run({ svcLabels: USE('wp'), gateways: [waypointGateway('wp', 'shop', { listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }, { name: 'mesh', port: 15009, protocol: 'HBONE' }] })] });
  assert.deepEqual(mustService(r, 'web', 'shop').waypoint, REF('wp', 15009));
});

test('use_waypoint_gateway_without_hbone_listener_is_unusable_and_reported', () => {
  const r = run({ svcLabels: USE('wp'), gateways: [waypointGateway('wp', 'shop', { listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] })] });
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
  assert.match(problemsOf(r, 'Gateway', 'shop/wp')[0]?.message ?? '', /no listener with protocol HBONE/);
  assert.match(problemsOf(r, 'Service', 'shop/web')[0]?.message ?? '', /not usable as a waypoint/);
});

test('use_waypoint_cluster_domain_option_shapes_the_ref', () => {
  const r = translate(cluster({ namespaces: [namespace('shop', USE('wp'))], gateways: [waypointGateway('wp', 'shop')], services: [service('web', { ns: 'shop' })] }), {
    trustDomain: TD,
    clusterDomain: 'corp.example',
  });
  assert.equal(mustService(r, 'web', 'shop').waypoint?.service, 'shop/wp.shop.svc.corp.example');
});

test('waypoint_own_pods_and_service_get_no_waypoint', () => {
  const r = translate(
    cluster({
      namespaces: [namespace('shop', USE('wp'))],
      gateways: [waypointGateway('wp', 'shop', ALL)],
      pods: [pod('wp-abc-12345', { ns: 'shop', labels: { 'gateway.networking.k8s.io/gateway-name': 'wp' } })],
      services: [service('wp', { ns: 'shop', clusterIP: '10.96.0.99' })],
    }),
    { trustDomain: TD },
  );
  assert.equal(mustWorkload(r, 'wp-abc-12345', 'shop').waypoint, undefined);
  assert.equal(mustService(r, 'wp', 'shop').waypoint, undefined);
});

test('waypoint_gateway_without_its_service_is_reported', () => {
  const r = translate(cluster({ namespaces: [namespace('shop')], gateways: [waypointGateway('lonely', 'shop')] }), { trustDomain: TD });
  assert.match(problemsOf(r, 'Gateway', 'shop/lonely')[0]?.message ?? '', /Service shop\/lonely does not exist/);
});

// ambient.dev/use-waypoint-namespace: a waypoint in another namespace (Istio's istio.io/use-waypoint-namespace).
const USE_IN = (name: string, ns: string) => ({ 'ambient.dev/use-waypoint': name, 'ambient.dev/use-waypoint-namespace': ns });
const REF_IN = (name: string, ns: string, port = 15008) => ({ service: `${ns}/${name}.${ns}.svc.cluster.local`, port });
const FROM_ALL = { from: 'All' };

function runCross(o: { nsLabels?: Record<string, string>; podLabels?: Record<string, string>; svcLabels?: Record<string, string>; gateways?: Gateway[] }) {
  return translate(
    cluster({
      namespaces: [namespace('shop', o.nsLabels ?? {}), namespace('mesh-infra')],
      gateways: o.gateways ?? [waypointGateway('shared', 'mesh-infra', { ...ALL, allowedNamespaces: FROM_ALL })],
      pods: [pod('web', { ns: 'shop', labels: o.podLabels ?? {} })],
      services: [service('web', { ns: 'shop', labels: o.svcLabels ?? {} }), service('shared', { ns: 'mesh-infra', clusterIP: '10.96.0.77' })],
    }),
    { trustDomain: TD },
  );
}

test('use_waypoint_namespace_on_service_binds_to_a_waypoint_in_that_namespace', () => {
  const r = runCross({ svcLabels: USE_IN('shared', 'mesh-infra') });
  assert.deepEqual(mustService(r, 'web', 'shop').waypoint, REF_IN('shared', 'mesh-infra'));
  assert.deepEqual(r.problems, []);
});

test('use_waypoint_namespace_on_namespace_applies_to_its_services_and_pods', () => {
  const r = runCross({ nsLabels: USE_IN('shared', 'mesh-infra') });
  assert.deepEqual(mustService(r, 'web', 'shop').waypoint, REF_IN('shared', 'mesh-infra'));
  assert.deepEqual(mustWorkload(r, 'web', 'shop').waypoint, REF_IN('shared', 'mesh-infra'));
});

test('use_waypoint_namespace_goes_with_the_use_waypoint_label_on_the_same_object', () => {
  // The pod's own use-waypoint names a waypoint of its own namespace: the namespace's
  // use-waypoint-namespace does not apply to it.
  const r = runCross({ nsLabels: USE_IN('shared', 'mesh-infra'), podLabels: USE('local'), gateways: [waypointGateway('shared', 'mesh-infra', { ...ALL, allowedNamespaces: FROM_ALL }), waypointGateway('local', 'shop', ALL)] });
  assert.deepEqual(mustWorkload(r, 'web', 'shop').waypoint, REF('local'));
});

test('use_waypoint_namespace_naming_a_missing_waypoint_is_reported_with_both_labels', () => {
  const r = runCross({ svcLabels: USE_IN('shared', 'elsewhere') });
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
  const m = problemsOf(r, 'Service', 'shop/web')[0]?.message ?? '';
  assert.match(m, /ambient.dev\/use-waypoint-namespace="elsewhere"/);
  assert.match(m, /no Gateway of class ambient-waypoint named "shared" in namespace elsewhere/);
});

test('use_waypoint_namespace_on_namespace_naming_a_missing_waypoint_is_reported_on_the_namespace', () => {
  const r = runCross({ nsLabels: USE_IN('ghost', 'mesh-infra') });
  assert.match(problemsOf(r, 'Namespace', 'shop')[0]?.message ?? '', /no Gateway of class ambient-waypoint named "ghost" in namespace mesh-infra/);
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
});

test('use_waypoint_namespace_still_honours_the_waypoints_traffic_type', () => {
  const r = runCross({ podLabels: USE_IN('shared', 'mesh-infra'), gateways: [waypointGateway('shared', 'mesh-infra', { allowedNamespaces: FROM_ALL })] });
  assert.equal(mustWorkload(r, 'web', 'shop').waypoint, undefined);
  assert.match(problemsOf(r, 'Pod', 'shop/web')[0]?.message ?? '', /accepts service traffic .* not workload traffic/);
});

test('use_waypoint_namespace_alone_without_use_waypoint_does_nothing', () => {
  const r = runCross({ svcLabels: { 'ambient.dev/use-waypoint-namespace': 'mesh-infra' } });
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
  assert.deepEqual(r.problems, []);
});

// Consent: the waypoint's HBONE listener's allowedRoutes.namespaces says who may use it
// (Same by default, All, or Selector on the binding object's Namespace labels).
function runConsent(o: { allowed?: unknown; listeners?: Array<{ name?: string; port?: number; protocol?: string; allowedRoutes?: unknown }>; shopLabels?: Record<string, string>; svcLabels?: Record<string, string>; podLabels?: Record<string, string>; infraLabels?: Record<string, string>; infraSvcLabels?: Record<string, string> }) {
  return translate(
    cluster({
      namespaces: [namespace('shop', o.shopLabels ?? {}), namespace('mesh-infra', o.infraLabels ?? {})],
      gateways: [waypointGateway('shared', 'mesh-infra', { ...ALL, ...(o.allowed !== undefined ? { allowedNamespaces: o.allowed } : {}), ...(o.listeners ? { listeners: o.listeners } : {}) })],
      pods: [pod('web', { ns: 'shop', labels: o.podLabels ?? {} })],
      services: [
        service('web', { ns: 'shop', labels: o.svcLabels ?? USE_IN('shared', 'mesh-infra') }),
        service('shared', { ns: 'mesh-infra', clusterIP: '10.96.0.77' }),
        service('api', { ns: 'mesh-infra', clusterIP: '10.96.0.78', labels: o.infraSvcLabels ?? { 'ambient.dev/use-waypoint': 'shared' } }),
      ],
    }),
    { trustDomain: TD },
  );
}
const SHARED = REF_IN('shared', 'mesh-infra');
const problem = (r: ReturnType<typeof translate>, kind: string, key: string) => problemsOf(r, kind, key)[0]?.message ?? '';

test('consent_default_same_refuses_a_service_of_another_namespace', () => {
  const r = runConsent({});
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
  assert.match(problem(r, 'Service', 'shop/web'), /waypoint mesh-infra\/shared does not allow namespace "shop": its HBONE listener's allowedRoutes\.namespaces\.from is Same \(the default when unset\)/);
});

test('consent_default_same_still_serves_the_waypoints_own_namespace', () => {
  const r = runConsent({});
  assert.deepEqual(mustService(r, 'api', 'mesh-infra').waypoint, SHARED);
  assert.deepEqual(problemsOf(r, 'Service', 'mesh-infra/api'), []);
});

test('consent_explicit_same_refuses_another_namespace_and_says_so_without_default', () => {
  const r = runConsent({ allowed: { from: 'Same' } });
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
  const m = problem(r, 'Service', 'shop/web');
  assert.match(m, /allowedRoutes\.namespaces\.from is Same;/);
  assert.doesNotMatch(m, /default/);
});

test('consent_refusal_names_both_labels_and_says_traffic_goes_without_a_waypoint', () => {
  const m = problem(runConsent({}), 'Service', 'shop/web');
  assert.match(m, /ambient\.dev\/use-waypoint="shared" \(ambient\.dev\/use-waypoint-namespace="mesh-infra"\)/);
  assert.match(m, /traffic does not use a waypoint/);
});

test('consent_from_all_lets_any_namespace_bind', () => {
  const r = runConsent({ allowed: { from: 'All' } });
  assert.deepEqual(mustService(r, 'web', 'shop').waypoint, SHARED);
  assert.deepEqual(r.problems, []);
});

test('consent_selector_match_labels_allows_a_matching_namespace', () => {
  const r = runConsent({ allowed: { from: 'Selector', selector: { matchLabels: { team: 'web' } } }, shopLabels: { team: 'web' } });
  assert.deepEqual(mustService(r, 'web', 'shop').waypoint, SHARED);
});

test('consent_selector_refuses_a_namespace_whose_labels_do_not_match_and_shows_the_selector', () => {
  const r = runConsent({ allowed: { from: 'Selector', selector: { matchLabels: { team: 'web' } } }, shopLabels: { team: 'db' } });
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
  assert.match(problem(r, 'Service', 'shop/web'), /the labels of namespace shop do not match its HBONE listener's allowedRoutes\.namespaces\.selector \(team=web\)/);
});

test('consent_selector_match_expressions_in_notin_exists_doesnotexist', () => {
  const sel = (e: unknown) => ({ from: 'Selector', selector: { matchExpressions: [e] } });
  const bound = (allowed: unknown, shopLabels: Record<string, string>) => mustService(runConsent({ allowed, shopLabels }), 'web', 'shop').waypoint !== undefined;
  assert.equal(bound(sel({ key: 'team', operator: 'In', values: ['a', 'b'] }), { team: 'b' }), true);
  assert.equal(bound(sel({ key: 'team', operator: 'In', values: ['a', 'b'] }), { team: 'c' }), false);
  assert.equal(bound(sel({ key: 'team', operator: 'NotIn', values: ['a'] }), {}), true);
  assert.equal(bound(sel({ key: 'team', operator: 'NotIn', values: ['a'] }), { team: 'a' }), false);
  assert.equal(bound(sel({ key: 'mesh', operator: 'Exists' }), { mesh: '' }), true);
  assert.equal(bound(sel({ key: 'mesh', operator: 'Exists' }), {}), false);
  assert.equal(bound(sel({ key: 'legacy', operator: 'DoesNotExist' }), {}), true);
  assert.equal(bound(sel({ key: 'legacy', operator: 'DoesNotExist' }), { legacy: 'yes' }), false);
});

test('consent_selector_needs_every_requirement', () => {
  const allowed = { from: 'Selector', selector: { matchLabels: { team: 'web' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] } };
  assert.equal(mustService(runConsent({ allowed, shopLabels: { team: 'web' } }), 'web', 'shop').waypoint, undefined);
  assert.deepEqual(mustService(runConsent({ allowed, shopLabels: { team: 'web', env: 'prod' } }), 'web', 'shop').waypoint, SHARED);
});

test('consent_empty_selector_matches_every_namespace_as_in_kubernetes', () => {
  assert.deepEqual(mustService(runConsent({ allowed: { from: 'Selector', selector: {} } }), 'web', 'shop').waypoint, SHARED);
});

test('consent_selector_applies_to_the_waypoints_own_namespace_too', () => {
  const r = runConsent({ allowed: { from: 'Selector', selector: { matchLabels: { team: 'web' } } }, shopLabels: { team: 'web' } });
  assert.equal(mustService(r, 'api', 'mesh-infra').waypoint, undefined);
  assert.match(problem(r, 'Service', 'mesh-infra/api'), /does not allow namespace "mesh-infra": the labels of namespace mesh-infra do not match/);
});

test('consent_selector_is_evaluated_against_the_binding_objects_namespace_not_the_waypoints', () => {
  const r = runConsent({ allowed: { from: 'Selector', selector: { matchLabels: { team: 'web' } } }, infraLabels: { team: 'web' } });
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
});

test('consent_selector_without_selector_is_a_gateway_problem_and_allows_only_same', () => {
  const r = runConsent({ allowed: { from: 'Selector' } });
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
  assert.deepEqual(mustService(r, 'api', 'mesh-infra').waypoint, SHARED);
  assert.match(problem(r, 'Gateway', 'mesh-infra/shared'), /spec\.listeners\[0\]\.allowedRoutes\.namespaces\.from is Selector but .*selector is not set; only namespace mesh-infra may use this waypoint/);
  assert.match(problem(r, 'Service', 'shop/web'), /allowedRoutes is malformed \(reported on Gateway mesh-infra\/shared\), so only its own namespace may use it/);
});

test('consent_unknown_from_is_a_gateway_problem_and_allows_only_same', () => {
  const r = runConsent({ allowed: { from: 'Everyone' } });
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
  assert.match(problem(r, 'Gateway', 'mesh-infra/shared'), /allowedRoutes\.namespaces\.from "Everyone" is not one of All, Selector, Same/);
});

test('consent_malformed_selector_operator_is_a_gateway_problem_and_allows_only_same', () => {
  const r = runConsent({ allowed: { from: 'Selector', selector: { matchExpressions: [{ key: 'team', operator: 'Like', values: ['w'] }] } }, shopLabels: { team: 'w' } });
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
  assert.match(problem(r, 'Gateway', 'mesh-infra/shared'), /selector\.matchExpressions\[0\]\.operator "Like" is not one of In, NotIn, Exists, DoesNotExist/);
});

test('consent_misspelled_selector_field_is_refused_not_read_as_match_everything', () => {
  const r = runConsent({ allowed: { from: 'Selector', selector: { matchLabel: { team: 'web' } } } });
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
  assert.match(problem(r, 'Gateway', 'mesh-infra/shared'), /selector\.matchLabel is not a field of a label selector/);
});

test('consent_allowed_routes_of_the_wrong_type_is_a_gateway_problem', () => {
  const r = runConsent({ listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE', allowedRoutes: 'All' }] });
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
  assert.match(problem(r, 'Gateway', 'mesh-infra/shared'), /spec\.listeners\[0\]\.allowedRoutes "All" is not an object/);
});

test('consent_is_read_from_the_hbone_listener_not_another_listener', () => {
  const r = runConsent({
    listeners: [
      { name: 'http', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All' } } },
      { name: 'mesh', port: 15008, protocol: 'HBONE' },
    ],
  });
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
  assert.match(problem(r, 'Service', 'shop/web'), /from is Same \(the default when unset\)/);
});

test('consent_path_in_gateway_problem_names_the_hbone_listeners_index', () => {
  const r = runConsent({ listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }, { name: 'mesh', port: 15008, protocol: 'HBONE', allowedRoutes: { namespaces: { from: 'x' } } }] });
  assert.match(problem(r, 'Gateway', 'mesh-infra/shared'), /spec\.listeners\[1\]\.allowedRoutes\.namespaces\.from "x"/);
});

test('consent_selector_ignored_when_from_is_all_or_same', () => {
  assert.deepEqual(mustService(runConsent({ allowed: { from: 'All', selector: { matchLabels: { team: 'nobody' } } } }), 'web', 'shop').waypoint, SHARED);
  assert.equal(mustService(runConsent({ allowed: { from: 'Same', selector: {} } }), 'web', 'shop').waypoint, undefined);
});

test('consent_refusal_on_a_namespace_label_is_reported_once_on_the_namespace', () => {
  const r = runConsent({ shopLabels: USE_IN('shared', 'mesh-infra'), svcLabels: {} });
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
  assert.equal(mustWorkload(r, 'web', 'shop').waypoint, undefined);
  assert.match(problem(r, 'Namespace', 'shop'), /waypoint mesh-infra\/shared does not allow namespace "shop"/);
  assert.deepEqual(problemsOf(r, 'Service', 'shop/web'), []);
  assert.deepEqual(problemsOf(r, 'Pod', 'shop/web'), []);
});

test('consent_refusal_on_a_pod_label_is_reported_on_the_pod', () => {
  const r = runConsent({ podLabels: USE_IN('shared', 'mesh-infra'), svcLabels: {} });
  assert.equal(mustWorkload(r, 'web', 'shop').waypoint, undefined);
  assert.match(problem(r, 'Pod', 'shop/web'), /does not allow namespace "shop"/);
});

test('consent_is_checked_before_the_traffic_type', () => {
  const r = translate(
    cluster({
      namespaces: [namespace('shop'), namespace('mesh-infra')],
      gateways: [waypointGateway('shared', 'mesh-infra', { waypointFor: 'service' })],
      pods: [pod('web', { ns: 'shop', labels: USE_IN('shared', 'mesh-infra') })],
    }),
    { trustDomain: TD },
  );
  assert.match(problem(r, 'Pod', 'shop/web'), /does not allow namespace "shop"/);
});

test('consent_own_use_waypoint_label_in_the_waypoints_namespace_is_always_allowed_by_same', () => {
  const r = runConsent({ allowed: { from: 'Same' } });
  assert.deepEqual(mustService(r, 'api', 'mesh-infra').waypoint, SHARED);
});

// The pure pieces on their own.
test('allowed_namespaces_unset_is_same_by_default', () => {
  assert.deepEqual(allowedNamespaces({ name: 'mesh', port: 15008, protocol: 'HBONE' }, 'l'), { from: 'Same', defaulted: true });
  assert.deepEqual(allowedNamespaces({ allowedRoutes: {} }, 'l'), { from: 'Same', defaulted: true });
  assert.deepEqual(allowedNamespaces({ allowedRoutes: { namespaces: {} } }, 'l'), { from: 'Same', defaulted: true });
  assert.deepEqual(allowedNamespaces({ allowedRoutes: { namespaces: { from: null } } }, 'l'), { from: 'Same', defaulted: true });
});

test('allowed_namespaces_reads_all_same_and_selector', () => {
  assert.deepEqual(allowedNamespaces({ allowedRoutes: { namespaces: { from: 'All' } } }, 'l'), { from: 'All' });
  assert.deepEqual(allowedNamespaces({ allowedRoutes: { namespaces: { from: 'Same' } } }, 'l'), { from: 'Same' });
  assert.deepEqual(allowedNamespaces({ allowedRoutes: { namespaces: { from: 'Selector', selector: { matchLabels: { a: 'b' } } } } }, 'l'), {
    from: 'Selector',
    selector: { requirements: [{ key: 'a', operator: 'In', values: ['b'] }] },
  });
});

test('allowed_namespaces_from_is_case_sensitive', () => {
  const a = allowedNamespaces({ allowedRoutes: { namespaces: { from: 'all' } } }, 'l');
  assert.equal(a.from, 'Same');
  assert.match((a as { malformed?: string }).malformed ?? '', /from "all" is not one of All, Selector, Same/);
});

test('allowed_namespaces_namespaces_of_the_wrong_type_is_malformed', () => {
  assert.match((allowedNamespaces({ allowedRoutes: { namespaces: ['All'] } }, 'l') as { malformed?: string }).malformed ?? '', /l\.allowedRoutes\.namespaces \["All"\] is not an object/);
});

const wp = (allowed: AllowedNamespaces | undefined): Waypoint => ({ namespace: 'infra', name: 'wp', trafficFor: 'service', ...(allowed ? { ref: { service: 'infra/wp.infra.svc.cluster.local', port: 15008 }, allowed } : {}) });

test('binding_consent_same_allows_only_the_waypoints_namespace', () => {
  assert.deepEqual(bindingConsent(wp({ from: 'Same' }), 'infra', {}), { allowed: true });
  assert.equal(bindingConsent(wp({ from: 'Same' }), 'shop', {}).allowed, false);
});

test('binding_consent_message_names_waypoint_namespace_and_rule', () => {
  const c = bindingConsent(wp({ from: 'Same', defaulted: true }), 'other', {});
  assert.equal(c.allowed, false);
  assert.equal((c as { why: string }).why.startsWith(`waypoint infra/wp does not allow namespace "other": its HBONE listener's allowedRoutes.namespaces.from is Same`), true);
});

test('binding_consent_all_allows_everyone', () => {
  assert.deepEqual(bindingConsent(wp({ from: 'All' }), 'anyone', {}), { allowed: true });
});

test('binding_consent_selector_reads_the_given_namespace_labels', () => {
  const w = wp({ from: 'Selector', selector: { requirements: [{ key: 'team', operator: 'In', values: ['web'] }] } });
  assert.deepEqual(bindingConsent(w, 'shop', { team: 'web' }), { allowed: true });
  assert.equal(bindingConsent(w, 'shop', { team: 'db' }).allowed, false);
  assert.equal(bindingConsent(w, 'shop', {}).allowed, false);
});

test('binding_consent_unusable_waypoint_allows_nobody', () => {
  assert.equal(bindingConsent(wp(undefined), 'infra', {}).allowed, false);
});
