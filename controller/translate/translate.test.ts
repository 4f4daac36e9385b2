// translate() as a whole: output order and determinism, isolation of bad objects, the
// options, AuthorizationPolicy compiled to Policy resources, and a small realistic cluster end to end.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { isMeshError, ErrorCodes } from '../../core/errors.js';
import { validateResource } from '../../core/config/validate.js';
import { cluster, endpointSlice, mustService, mustWorkload, namespace, peerAuthentication, pod, problemsOf, service, TD, waypointGateway, workloadNamed } from './fixtures.js';
import { translate } from './translate.js';

function bookinfo() {
  return cluster({
    namespaces: [namespace('bookinfo', { 'ambient.dev/dataplane-mode': 'ambient', 'ambient.dev/use-waypoint': 'waypoint' }), namespace('ambient-system')],
    gateways: [waypointGateway('waypoint', 'bookinfo')],
    peerAuthentications: [peerAuthentication('mesh', 'ambient-system', 'STRICT')],
    pods: [
      pod('reviews-v1-7f9c-aaaaa', { ns: 'bookinfo', uid: 'b2', serviceAccountName: 'bookinfo-reviews', labels: { app: 'reviews', version: 'v1' }, ports: [{ name: 'http', containerPort: 9080 }] }),
      pod('reviews-v2-5d4c-bbbbb', { ns: 'bookinfo', uid: 'a1', serviceAccountName: 'bookinfo-reviews', labels: { app: 'reviews', version: 'v2' }, ports: [{ name: 'http', containerPort: 9080 }] }),
      pod('productpage-6b8f-ccccc', { ns: 'bookinfo', uid: 'c3', serviceAccountName: 'bookinfo-productpage', labels: { app: 'productpage', version: 'v1' } }),
      pod('waypoint-66f7-ddddd', { ns: 'bookinfo', uid: 'd4', serviceAccountName: 'waypoint', labels: { 'gateway.networking.k8s.io/gateway-name': 'waypoint' } }),
    ],
    services: [
      service('reviews', { ns: 'bookinfo', clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 9080, targetPort: 'http' }] }),
      service('productpage', { ns: 'bookinfo', clusterIP: '10.96.0.21', ports: [{ name: 'http', port: 9080 }] }),
      service('waypoint', { ns: 'bookinfo', clusterIP: '10.96.0.30', ports: [{ name: 'mesh', port: 15008 }] }),
    ],
    endpointSlices: [
      endpointSlice('reviews', [{ uid: 'b2' }, { uid: 'a1' }], { ns: 'bookinfo' }),
      endpointSlice('productpage', [{ uid: 'c3' }], { ns: 'bookinfo' }),
      endpointSlice('waypoint', [{ uid: 'd4' }], { ns: 'bookinfo' }),
    ],
  });
}

test('translate_bookinfo_end_to_end', () => {
  const r = translate(bookinfo(), { trustDomain: TD });
  assert.deepEqual(r.problems, []);
  const reviews = mustWorkload(r, 'reviews-v1-7f9c-aaaaa', 'bookinfo');
  assert.equal(reviews.protocol, 'HBONE');
  assert.equal(reviews.mtlsMode, 'STRICT');
  assert.equal(reviews.identity, 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews');
  assert.equal(reviews.canonicalName, 'reviews');
  assert.equal(reviews.canonicalRevision, 'v1');
  assert.equal(reviews.waypoint, undefined, 'the waypoint is for service traffic by default');
  const svc = mustService(r, 'reviews', 'bookinfo');
  assert.deepEqual(svc.waypoint, { service: 'bookinfo/waypoint.bookinfo.svc.cluster.local', port: 15008 });
  assert.deepEqual(svc.endpoints, [
    { workloadUid: 'a1', ports: { '9080': 9080 }, healthy: true },
    { workloadUid: 'b2', ports: { '9080': 9080 }, healthy: true },
  ]);
  assert.equal(mustService(r, 'waypoint', 'bookinfo').waypoint, undefined);
  assert.equal(mustWorkload(r, 'waypoint-66f7-ddddd', 'bookinfo').protocol, 'TCP');
});

test('translate_output_is_sorted_by_kind_then_key', () => {
  const r = translate(bookinfo(), { trustDomain: TD });
  assert.deepEqual(
    r.resources.map((x) => `${x.kind} ${x.key}`),
    [
      'Workload a1',
      'Workload b2',
      'Workload c3',
      'Workload d4',
      'Service bookinfo/productpage.bookinfo.svc.cluster.local',
      'Service bookinfo/reviews.bookinfo.svc.cluster.local',
      'Service bookinfo/waypoint.bookinfo.svc.cluster.local',
    ],
  );
});

test('translate_is_deterministic_whatever_the_input_order', () => {
  const a = bookinfo();
  const b = bookinfo();
  for (const list of [b.namespaces, b.pods, b.services, b.endpointSlices, b.peerAuthentications, b.gateways!]) (list as unknown[]).reverse();
  b.pods[0]!.metadata!.labels = Object.fromEntries(Object.entries(b.pods[0]!.metadata!.labels!).reverse());
  assert.equal(JSON.stringify(translate(a, { trustDomain: TD })), JSON.stringify(translate(b, { trustDomain: TD })));
});

test('translate_problems_are_sorted', () => {
  const r = translate(
    cluster({
      pods: [pod('z', { serviceAccountName: 'Z' }), pod('a', { serviceAccountName: 'A' })],
      services: [service('bad', { clusterIP: 'x' })],
      authorizationPolicies: [{ metadata: { name: 'p', namespace: 'default' }, spec: { action: 'PERMIT' } }],
    }),
    { trustDomain: TD },
  );
  assert.deepEqual(r.problems.map((p) => `${p.kind} ${p.key}`), ['AuthorizationPolicy default/p', 'Pod default/a', 'Pod default/z', 'Service default/bad']);
});

test('translate_every_resource_passes_the_agents_validation', () => {
  for (const res of translate(bookinfo(), { trustDomain: TD }).resources) {
    const v = validateResource(JSON.parse(JSON.stringify(res)));
    assert.ok(v.ok, v.ok ? '' : v.error);
    assert.deepEqual(v.resource, res);
  }
});

test('translate_resource_the_agents_would_nack_is_left_out_and_reported', () => {
  const r = translate(cluster({ pods: [pod('odd', { node: 'Node_1' }), pod('good')] }), { trustDomain: TD });
  assert.equal(workloadNamed(r, 'odd'), undefined);
  assert.ok(workloadNamed(r, 'good'));
  assert.match(problemsOf(r, 'Pod', 'default/odd')[0]?.message ?? '', /invalid resource, left out: Workload uid-default-odd: node: "Node_1" is not a DNS-1123 subdomain/);
});

test('translate_does_not_modify_its_input', () => {
  const input = bookinfo();
  const before = JSON.stringify(input);
  translate(input, { trustDomain: TD });
  assert.equal(JSON.stringify(input), before);
});

test('translate_unexpected_failure_is_confined_to_its_object', () => {
  const evil = pod('evil');
  Object.defineProperty(evil.spec!, 'nodeName', {
    get() {
      throw new Error('boom');
    },
  });
  const r = translate(cluster({ pods: [evil as V1Pod, pod('good')] }), { trustDomain: TD });
  assert.equal(workloadNamed(r, 'evil'), undefined);
  assert.ok(workloadNamed(r, 'good'));
  assert.match(problemsOf(r, 'Pod', 'default/evil')[0]?.message ?? '', /internal error while translating: boom/);
});

test('translate_null_objects_in_lists_are_reported_not_thrown', () => {
  const r = translate(
    cluster({ namespaces: [null as never], pods: [null as never, pod('good')], services: [null as never], endpointSlices: [null as never], peerAuthentications: [null as never], gateways: [null as never] }),
    { trustDomain: TD },
  );
  assert.ok(workloadNamed(r, 'good'));
});

test('translate_authorization_policy_is_compiled_to_a_policy_resource', () => {
  const r = translate(cluster({ authorizationPolicies: [{ metadata: { name: 'allow-nothing', namespace: 'shop' }, spec: {} }] }), { trustDomain: TD });
  assert.deepEqual(r.resources.filter((x) => x.kind === 'Policy').map((x) => x.body), [{ key: 'shop/allow-nothing', name: 'allow-nothing', namespace: 'shop', scope: 'namespace', action: 'ALLOW', rules: [] }]);
  assert.deepEqual(problemsOf(r, 'AuthorizationPolicy', 'shop/allow-nothing'), []);
});

test('translate_rejects_invalid_trust_domain', () => {
  assert.throws(() => translate(cluster(), { trustDomain: 'Bad Domain' }), (err) => isMeshError(err, ErrorCodes.SPIFFE_INVALID));
});

test('translate_rejects_invalid_cluster_domain_and_root_namespace', () => {
  assert.throws(() => translate(cluster(), { trustDomain: TD, clusterDomain: 'bad_domain' }), /clusterDomain "bad_domain"/);
  assert.throws(() => translate(cluster(), { trustDomain: TD, rootNamespace: 'Root' }), /rootNamespace "Root"/);
});

test('translate_empty_cluster_is_empty', () => {
  assert.deepEqual(translate(cluster({ namespaces: [] }), { trustDomain: TD }), { resources: [], problems: [], policyStatuses: [], routeStatuses: [], trafficPolicyStatuses: [], requestAuthnStatuses: [] });
});
