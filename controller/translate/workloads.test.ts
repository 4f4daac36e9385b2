// Pod -> Workload: which pods are workloads, their identity, canonical name and revision,
// addresses and health, and rejection of a malformed pod on its own.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { cluster, mustWorkload, pod, problemsOf, TD, workloadNamed, workloads } from './fixtures.js';
import { translate } from './translate.js';

const one = (p: V1Pod, td = TD) => translate(cluster({ pods: [p] }), { trustDomain: td });

test('translate_identity_is_spiffe_of_namespace_and_service_account', () => {
  const r = translate(cluster({ pods: [pod('web', { ns: 'shop', serviceAccountName: 'web-sa' })] }), { trustDomain: 'example.org' });
  const w = mustWorkload(r, 'web', 'shop');
  assert.equal(w.identity, 'spiffe://example.org/ns/shop/sa/web-sa');
  assert.equal(w.serviceAccount, 'web-sa');
});

test('translate_pod_without_service_account_uses_default', () => {
  const w = mustWorkload(one(pod('web')), 'web');
  assert.equal(w.identity, 'spiffe://cluster.local/ns/default/sa/default');
});

test('malformed_pod_rejected_alone', () => {
  const r = translate(cluster({ pods: [pod('bad', { serviceAccountName: 'Not_Valid' }), pod('good')] }), { trustDomain: TD });
  assert.equal(workloadNamed(r, 'bad'), undefined);
  assert.ok(mustWorkload(r, 'good'));
  const [p] = problemsOf(r, 'Pod', 'default/bad');
  assert.match(p?.message ?? '', /spec\.serviceAccountName: .*"Not_Valid" is not a DNS-1123 subdomain/);
});

test('translate_pod_with_invalid_ip_rejected_naming_the_field', () => {
  const r = translate(cluster({ pods: [pod('bad', { ips: ['10.0.0.1', '10.0.0.x'] }), pod('good')] }), { trustDomain: TD });
  assert.equal(workloadNamed(r, 'bad'), undefined);
  assert.ok(workloadNamed(r, 'good'));
  assert.equal(problemsOf(r, 'Pod', 'default/bad')[0]?.message, 'status.podIPs[1]: "10.0.0.x" is not an IP address');
});

test('translate_pod_without_uid_rejected_alone', () => {
  const bad = pod('bad');
  delete bad.metadata!.uid;
  const r = translate(cluster({ pods: [bad, pod('good')] }), { trustDomain: TD });
  assert.deepEqual(workloads(r).map((w) => w.name), ['good']);
  assert.match(problemsOf(r, 'Pod', 'default/bad')[0]?.message ?? '', /metadata\.uid is missing/);
});

test('translate_pod_with_non_string_label_rejected_alone', () => {
  const bad = pod('bad');
  (bad.metadata!.labels as Record<string, unknown>).app = 7;
  const r = translate(cluster({ pods: [bad, pod('good')] }), { trustDomain: TD });
  assert.equal(workloadNamed(r, 'bad'), undefined);
  assert.ok(workloadNamed(r, 'good'));
  assert.match(problemsOf(r, 'Pod', 'default/bad')[0]?.message ?? '', /metadata\.labels\["app"\] is not a string/);
});

test('translate_two_pods_with_one_uid_keep_the_first_by_name', () => {
  const r = translate(cluster({ pods: [pod('zeta', { uid: 'same' }), pod('alpha', { uid: 'same' })] }), { trustDomain: TD });
  assert.deepEqual(workloads(r).map((w) => w.name), ['alpha']);
  assert.match(problemsOf(r, 'Pod', 'default/zeta')[0]?.message ?? '', /also the uid of pod default\/alpha/);
});

test('translate_running_pod_is_a_workload_keyed_by_uid', () => {
  const r = one(pod('web', { uid: 'u-1' }));
  assert.equal(r.resources.length, 1);
  assert.equal(r.resources[0]!.kind, 'Workload');
  assert.equal(r.resources[0]!.key, 'u-1');
});

test('translate_pending_pod_with_ip_is_a_workload', () => {
  assert.ok(workloadNamed(one(pod('web', { phase: 'Pending' })), 'web'));
});

test('translate_pending_pod_without_ip_is_not_a_workload', () => {
  const p = pod('web', { phase: 'Pending' });
  delete p.status!.podIP;
  delete p.status!.podIPs;
  const r = one(p);
  assert.deepEqual(r.resources, []);
  assert.deepEqual(r.problems, []);
});

test('translate_finished_pods_are_not_workloads', () => {
  const r = translate(cluster({ pods: [pod('done', { phase: 'Succeeded' }), pod('crashed', { phase: 'Failed' })] }), { trustDomain: TD });
  assert.deepEqual(r.resources, []);
});

test('translate_dual_stack_pod_lists_both_addresses_primary_first', () => {
  const w = mustWorkload(one(pod('web', { ips: ['10.244.1.5', 'fd00::5'] })), 'web');
  assert.deepEqual(w.ips, ['10.244.1.5', 'fd00::5']);
});

test('translate_pod_with_only_pod_ip_uses_it', () => {
  const p = pod('web', { ip: '10.244.1.7' });
  delete p.status!.podIPs;
  assert.deepEqual(mustWorkload(one(p), 'web').ips, ['10.244.1.7']);
});

test('translate_pod_health_follows_ready_condition', () => {
  const r = translate(cluster({ pods: [pod('up'), pod('down', { ready: false })] }), { trustDomain: TD });
  assert.equal(mustWorkload(r, 'up').healthy, true);
  assert.equal(mustWorkload(r, 'down').healthy, false);
});

test('translate_workload_carries_node_and_labels', () => {
  const w = mustWorkload(one(pod('web', { node: 'node3', labels: { app: 'web', tier: 'front' } })), 'web');
  assert.equal(w.node, 'node3');
  assert.deepEqual(w.labels, { app: 'web', tier: 'front' });
});

test('canonical_name_prefers_istio_label_then_app_kubernetes_io_name_then_app', () => {
  const r = translate(
    cluster({
      pods: [
        pod('a', { labels: { 'service.istio.io/canonical-name': 'istio', 'app.kubernetes.io/name': 'k8s', app: 'plain' } }),
        pod('b', { labels: { 'app.kubernetes.io/name': 'k8s', app: 'plain' } }),
        pod('c', { labels: { app: 'plain' } }),
      ],
    }),
    { trustDomain: TD },
  );
  assert.equal(mustWorkload(r, 'a').canonicalName, 'istio');
  assert.equal(mustWorkload(r, 'b').canonicalName, 'k8s');
  assert.equal(mustWorkload(r, 'c').canonicalName, 'plain');
});

test('canonical_name_falls_back_to_deployment_behind_replicaset', () => {
  const p = pod('reviews-v1-5d4c8b7f9-x2x7q', { labels: { 'pod-template-hash': '5d4c8b7f9' }, owner: { kind: 'ReplicaSet', name: 'reviews-v1-5d4c8b7f9' } });
  assert.equal(mustWorkload(one(p), 'reviews-v1-5d4c8b7f9-x2x7q').canonicalName, 'reviews-v1');
});

test('canonical_name_uses_deployment_owning_the_pod_directly', () => {
  const p = pod('echo-6b8f7c-abcde', { labels: { 'pod-template-hash': '6b8f7c' }, owner: { kind: 'Deployment', name: 'echo' } });
  assert.equal(mustWorkload(one(p), 'echo-6b8f7c-abcde').canonicalName, 'echo');
});

test('canonical_name_falls_back_to_pod_name_for_statefulset_and_bare_pods', () => {
  const r = translate(cluster({ pods: [pod('db-0', { owner: { kind: 'StatefulSet', name: 'db' } }), pod('bare')] }), { trustDomain: TD });
  assert.equal(mustWorkload(r, 'db-0').canonicalName, 'db-0');
  assert.equal(mustWorkload(r, 'bare').canonicalName, 'bare');
});

test('canonical_name_ignores_replicaset_whose_name_lacks_the_hash', () => {
  const p = pod('odd-abcde', { labels: { 'pod-template-hash': '5d4c8b7f9' }, owner: { kind: 'ReplicaSet', name: 'odd' } });
  assert.equal(mustWorkload(one(p), 'odd-abcde').canonicalName, 'odd-abcde');
});

test('canonical_name_ignores_owner_that_is_not_the_controller', () => {
  const p = pod('web-abcde', { labels: { 'pod-template-hash': 'h1' }, owner: { kind: 'ReplicaSet', name: 'web-h1', controller: false } });
  assert.equal(mustWorkload(one(p), 'web-abcde').canonicalName, 'web-abcde');
});

test('canonical_revision_prefers_istio_label_then_app_kubernetes_io_version_then_version_else_latest', () => {
  const r = translate(
    cluster({
      pods: [
        pod('a', { labels: { 'service.istio.io/canonical-revision': 'r1', 'app.kubernetes.io/version': 'r2', version: 'r3' } }),
        pod('b', { labels: { 'app.kubernetes.io/version': 'r2', version: 'r3' } }),
        pod('c', { labels: { version: 'r3' } }),
        pod('d'),
      ],
    }),
    { trustDomain: TD },
  );
  assert.deepEqual(['a', 'b', 'c', 'd'].map((n) => mustWorkload(r, n).canonicalRevision), ['r1', 'r2', 'r3', 'latest']);
});
