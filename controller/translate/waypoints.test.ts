// Waypoint binding: `ambient.dev/use-waypoint` on Namespace, Service or Pod (most specific
// wins, `none` opts out), resolved to a Gateway of class ambient-waypoint in the namespace,
// filtered by the Gateway's `ambient.dev/waypoint-for`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Gateway } from './input.js';
import { cluster, mustService, mustWorkload, namespace, pod, problemsOf, service, TD, waypointGateway } from './fixtures.js';
import { translate } from './translate.js';

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

function runCross(o: { nsLabels?: Record<string, string>; podLabels?: Record<string, string>; svcLabels?: Record<string, string>; gateways?: Gateway[] }) {
  return translate(
    cluster({
      namespaces: [namespace('shop', o.nsLabels ?? {}), namespace('mesh-infra')],
      gateways: o.gateways ?? [waypointGateway('shared', 'mesh-infra', ALL)],
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
  const r = runCross({ nsLabels: USE_IN('shared', 'mesh-infra'), podLabels: USE('local'), gateways: [waypointGateway('shared', 'mesh-infra', ALL), waypointGateway('local', 'shop', ALL)] });
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
  const r = runCross({ podLabels: USE_IN('shared', 'mesh-infra'), gateways: [waypointGateway('shared', 'mesh-infra')] });
  assert.equal(mustWorkload(r, 'web', 'shop').waypoint, undefined);
  assert.match(problemsOf(r, 'Pod', 'shop/web')[0]?.message ?? '', /accepts service traffic .* not workload traffic/);
});

test('use_waypoint_namespace_alone_without_use_waypoint_does_nothing', () => {
  const r = runCross({ svcLabels: { 'ambient.dev/use-waypoint-namespace': 'mesh-infra' } });
  assert.equal(mustService(r, 'web', 'shop').waypoint, undefined);
  assert.deepEqual(r.problems, []);
});
