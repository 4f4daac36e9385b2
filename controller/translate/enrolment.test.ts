// Enrolment: which pods are HBONE (captured by their node agent) and which stay TCP
// (DESIGN.md section 3, `ambient.dev/dataplane-mode`; Istio's pod-overrides-namespace rule).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cluster, mustWorkload, namespace, pod, problemsOf, TD, waypointGateway } from './fixtures.js';
import { translate } from './translate.js';

const AMBIENT = { 'ambient.dev/dataplane-mode': 'ambient' };
const NONE = { 'ambient.dev/dataplane-mode': 'none' };

test('translate_pod_in_labelled_namespace_is_hbone', () => {
  const r = translate(cluster({ namespaces: [namespace('shop', AMBIENT)], pods: [pod('web', { ns: 'shop' })] }), { trustDomain: TD });
  assert.equal(mustWorkload(r, 'web', 'shop').protocol, 'HBONE');
});

test('translate_pod_in_unlabelled_namespace_is_tcp', () => {
  const r = translate(cluster({ namespaces: [namespace('shop')], pods: [pod('web', { ns: 'shop' })] }), { trustDomain: TD });
  assert.equal(mustWorkload(r, 'web', 'shop').protocol, 'TCP');
});

test('translate_pod_opt_out_label_none_is_tcp', () => {
  const r = translate(cluster({ namespaces: [namespace('shop', AMBIENT)], pods: [pod('web', { ns: 'shop', labels: NONE })] }), { trustDomain: TD });
  assert.equal(mustWorkload(r, 'web', 'shop').protocol, 'TCP');
  assert.deepEqual(r.problems, []);
});

test('translate_pod_label_ambient_enrols_it_in_unlabelled_namespace', () => {
  const r = translate(cluster({ namespaces: [namespace('shop')], pods: [pod('web', { ns: 'shop', labels: AMBIENT }), pod('db', { ns: 'shop' })] }), { trustDomain: TD });
  assert.equal(mustWorkload(r, 'web', 'shop').protocol, 'HBONE');
  assert.equal(mustWorkload(r, 'db', 'shop').protocol, 'TCP');
});

test('translate_pod_label_ambient_enrols_it_in_namespace_labelled_none', () => {
  const r = translate(cluster({ namespaces: [namespace('shop', NONE)], pods: [pod('web', { ns: 'shop', labels: AMBIENT })] }), { trustDomain: TD });
  assert.equal(mustWorkload(r, 'web', 'shop').protocol, 'HBONE');
});

test('translate_pod_in_namespace_missing_from_input_is_tcp', () => {
  const r = translate(cluster({ namespaces: [], pods: [pod('web', { ns: 'ghost' })] }), { trustDomain: TD });
  assert.equal(mustWorkload(r, 'web', 'ghost').protocol, 'TCP');
});

test('translate_host_network_pod_is_never_enrolled', () => {
  const r = translate(
    cluster({ namespaces: [namespace('shop', AMBIENT)], pods: [pod('agent', { ns: 'shop', hostNetwork: true }), pod('forced', { ns: 'shop', hostNetwork: true, labels: AMBIENT })] }),
    { trustDomain: TD },
  );
  assert.equal(mustWorkload(r, 'agent', 'shop').protocol, 'TCP');
  assert.equal(mustWorkload(r, 'forced', 'shop').protocol, 'TCP');
  assert.match(problemsOf(r, 'Pod', 'shop/forced')[0]?.message ?? '', /host-network pod is never enrolled/);
});

test('translate_host_network_pod_is_marked_so_agents_do_not_index_its_node_ip', () => {
  const r = translate(cluster({ pods: [pod('agent', { hostNetwork: true }), pod('app')] }), { trustDomain: TD });
  assert.equal(mustWorkload(r, 'agent').hostNetwork, true);
  assert.equal(mustWorkload(r, 'app').hostNetwork, undefined);
});

test('translate_unknown_mode_on_pod_is_reported_and_namespace_setting_applies', () => {
  const r = translate(
    cluster({ namespaces: [namespace('shop', AMBIENT)], pods: [pod('web', { ns: 'shop', labels: { 'ambient.dev/dataplane-mode': 'Ambient' } })] }),
    { trustDomain: TD },
  );
  assert.equal(mustWorkload(r, 'web', 'shop').protocol, 'HBONE');
  assert.match(problemsOf(r, 'Pod', 'shop/web')[0]?.message ?? '', /"Ambient" is neither "ambient" nor "none"/);
});

test('translate_unknown_mode_on_namespace_is_reported_and_does_not_enrol', () => {
  const r = translate(cluster({ namespaces: [namespace('shop', { 'ambient.dev/dataplane-mode': 'on' })], pods: [pod('web', { ns: 'shop' })] }), { trustDomain: TD });
  assert.equal(mustWorkload(r, 'web', 'shop').protocol, 'TCP');
  assert.equal(problemsOf(r, 'Namespace', 'shop').length, 1);
});

test('translate_waypoint_own_pod_is_never_captured', () => {
  const r = translate(
    cluster({
      namespaces: [namespace('shop', AMBIENT)],
      gateways: [waypointGateway('wp', 'shop')],
      pods: [pod('wp-7d9f-abcde', { ns: 'shop', labels: { 'gateway.networking.k8s.io/gateway-name': 'wp' } }), pod('web', { ns: 'shop' })],
    }),
    { trustDomain: TD },
  );
  assert.equal(mustWorkload(r, 'wp-7d9f-abcde', 'shop').protocol, 'TCP');
  assert.equal(mustWorkload(r, 'web', 'shop').protocol, 'HBONE');
});
