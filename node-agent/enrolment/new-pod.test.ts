// The provisional Workload of a pod announced by the CNI plugin before the config speaks
// of it: the one the controller will derive (same rules, core/config/workload-of-pod.ts),
// STRICT when the PeerAuthentications cannot be read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { cluster, mustWorkload, namespace, peerAuthentication, pod } from '../../controller/translate/fixtures.js';
import { translate } from '../../controller/translate/translate.js';
import type { CniPod } from '../cni/handoff.js';
import { newPodJudge, NewPodUndecided, provisionalWorkload, type NewPodFacts } from './new-pod.js';

const OPTS = { node: 'node1', trustDomain: 'cluster.local', rootNamespace: 'ambient-system' };
const ENROLLED = { 'ambient.dev/dataplane-mode': 'ambient' };

/** The pod as the API server holds it when the CNI ADD runs: no address, not ready. */
function creating(p: V1Pod): V1Pod {
  return { ...p, status: { phase: 'Pending' } };
}

function cniOf(p: V1Pod, ips: string[]): CniPod {
  return { command: 'ADD', containerId: 'c1', netnsPath: '/var/run/netns/x', ifName: 'eth0', podUid: p.metadata!.uid!, podName: p.metadata!.name!, podNamespace: p.metadata!.namespace!, ips, cniVersion: '1.0.0' };
}

test('provisional_workload_in_strict_namespace_is_strict', () => {
  const p = pod('web-1', { ns: 'shop', owner: { kind: 'ReplicaSet', name: 'web-5d9f' }, labels: { 'pod-template-hash': '5d9f', app: 'web' } });
  const facts: NewPodFacts = { pod: creating(p), namespace: namespace('shop', ENROLLED), peerAuthentications: [peerAuthentication('strict', 'shop', 'STRICT')] };
  const w = provisionalWorkload(cniOf(p, ['10.244.1.9']), facts, OPTS);
  assert.equal(w?.mtlsMode, 'STRICT');
  assert.equal(w?.canonicalName, 'web');
  assert.deepEqual(w?.ips, ['10.244.1.9']);
});

test('provisional_workload_unreadable_peer_authentications_fail_closed_to_strict', () => {
  const p = pod('web-1', { ns: 'shop' });
  const w = provisionalWorkload(cniOf(p, ['10.244.1.9']), { pod: creating(p), namespace: namespace('shop', ENROLLED), peerAuthentications: undefined }, OPTS);
  assert.equal(w?.mtlsMode, 'STRICT');
});

test('provisional_workload_follows_mesh_wide_and_workload_policies', () => {
  const p = pod('db-0', { ns: 'data', labels: { app: 'db' } });
  const pas = [peerAuthentication('mesh', 'ambient-system', 'STRICT'), peerAuthentication('db', 'data', 'PERMISSIVE', { selector: { app: 'db' } })];
  const w = provisionalWorkload(cniOf(p, ['10.244.1.4']), { pod: creating(p), namespace: namespace('data', ENROLLED), peerAuthentications: pas }, OPTS);
  assert.equal(w?.mtlsMode, 'PERMISSIVE');
  const other = pod('cache-0', { ns: 'data', labels: { app: 'cache' } });
  const w2 = provisionalWorkload(cniOf(other, ['10.244.1.5']), { pod: creating(other), namespace: namespace('data', ENROLLED), peerAuthentications: pas }, OPTS);
  assert.equal(w2?.mtlsMode, 'STRICT');
});

test('provisional_workload_equals_what_the_controller_derives', () => {
  const labels = { 'pod-template-hash': '7c6b', 'app.kubernetes.io/name': 'reviews', 'app.kubernetes.io/version': 'v2' };
  const p = pod('reviews-7c6b-x2x', { ns: 'shop', labels, serviceAccountName: 'reviews', owner: { kind: 'ReplicaSet', name: 'reviews-7c6b' }, ip: '10.244.1.7', ready: false });
  const pas = [peerAuthentication('strict', 'shop', 'STRICT')];
  const provisional = provisionalWorkload(cniOf(p, ['10.244.1.7']), { pod: creating(p), namespace: namespace('shop', ENROLLED), peerAuthentications: pas }, OPTS);
  const later = mustWorkload(translate(cluster({ namespaces: [namespace('shop', ENROLLED)], pods: [p], peerAuthentications: pas }), { trustDomain: 'cluster.local' }), 'reviews-7c6b-x2x', 'shop');
  assert.deepEqual(provisional, later);
});

test('provisional_workload_has_the_port_level_modes_the_controller_derives', () => {
  const p = pod('web-1', { ns: 'shop', labels: { app: 'web' }, ip: '10.244.1.8', ready: false });
  const pas = [peerAuthentication('strict', 'shop', 'STRICT'), peerAuthentication('web', 'shop', undefined, { selector: { app: 'web' }, portLevelMtls: { '9000': { mode: 'PERMISSIVE' } } })];
  const provisional = provisionalWorkload(cniOf(p, ['10.244.1.8']), { pod: creating(p), namespace: namespace('shop', ENROLLED), peerAuthentications: pas }, OPTS);
  assert.deepEqual(provisional?.mtlsPorts, { '9000': 'PERMISSIVE' });
  const later = mustWorkload(translate(cluster({ namespaces: [namespace('shop', ENROLLED)], pods: [p], peerAuthentications: pas }), { trustDomain: 'cluster.local' }), 'web-1', 'shop');
  assert.deepEqual(provisional, later);
});

test('provisional_workload_of_a_pod_not_enrolled_is_none', () => {
  const p = pod('web-1', { ns: 'plain' });
  assert.equal(provisionalWorkload(cniOf(p, ['10.244.1.9']), { pod: creating(p), namespace: namespace('plain'), peerAuthentications: [] }, OPTS), undefined);
});

test('provisional_workload_of_a_replaced_pod_is_undecided', () => {
  const q = pod('web-1', { ns: 'shop', uid: 'new-uid' });
  const announced = { ...cniOf(q, ['10.244.1.9']), podUid: 'old-uid' };
  assert.throws(() => provisionalWorkload(announced, { pod: creating(q), namespace: namespace('shop', ENROLLED), peerAuthentications: [] }, OPTS), NewPodUndecided);
});

test('new_pod_judge_api_failure_is_undecided', async () => {
  const judge = newPodJudge(() => Promise.reject(new Error('connection refused')), OPTS);
  await assert.rejects(judge(cniOf(pod('web-1', { ns: 'shop' }), ['10.244.1.9'])), /connection refused/);
});

// The reader against the local API server (real Redis): the REST paths the agent uses
// without @kubernetes/client-node read the pod, its namespace and the PeerAuthentications
// of its namespace and of the root namespace.
test('kube_new_pod_reader_reads_the_pod_its_namespace_and_peer_authentications_over_rest', async (t) => {
  const { startRedis } = await import('../../test/support/redis.js');
  const { startApiServer } = await import('../../local-cluster/apiserver/server.js');
  const { accessFromPlan } = await import('../../core/kube/access.js');
  const { kubeRequest } = await import('../../core/kube/rest.js');
  const { kubeNewPodReader } = await import('./new-pod.js');
  const { installMeshCrds } = await import('../../test/support/control-plane.js');
  const { kubeConfigForServer } = await import('../../core/kube/config.js');
  const redis = await startRedis();
  t.after(() => redis.stop());
  const api = await startApiServer({ redisUrl: redis.url, prefix: 'newpod:' });
  t.after(() => api.close());
  // PeerAuthentication is served once its CRD is, as on a real cluster.
  await installMeshCrds(kubeConfigForServer(api.url));
  const access = accessFromPlan({ server: api.url, source: 'test', insecure: false });
  const post = (path: string, body: unknown) => kubeRequest(access, 'POST', path, body);
  for (const ns of ['shop', 'ambient-system']) await post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: ns === 'shop' ? ENROLLED : {} } });
  const created = await kubeRequest<V1Pod>(access, 'POST', '/api/v1/namespaces/shop/pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', labels: { app: 'web' } },
    spec: { containers: [{ name: 'app', image: 'busybox' }] },
  });
  const pa = (name: string, ns: string, mode: string) => ({ apiVersion: 'ambient.dev/v1', kind: 'PeerAuthentication', metadata: { name, namespace: ns }, spec: { mtls: { mode } } });
  await post('/apis/ambient.dev/v1/namespaces/shop/peerauthentications', pa('strict', 'shop', 'STRICT'));
  await post('/apis/ambient.dev/v1/namespaces/ambient-system/peerauthentications', pa('mesh', 'ambient-system', 'PERMISSIVE'));

  const read = kubeNewPodReader(access, { rootNamespace: 'ambient-system' });
  const facts = await read(cniOf(created, ['10.244.1.9']));
  assert.equal(facts.pod.metadata?.uid, created.metadata?.uid);
  assert.equal(facts.namespace.metadata?.labels?.['ambient.dev/dataplane-mode'], 'ambient');
  assert.deepEqual(facts.peerAuthentications?.map((p) => p.metadata?.name).sort(), ['mesh', 'strict']);
  const w = provisionalWorkload(cniOf(created, ['10.244.1.9']), facts, OPTS);
  assert.equal(w?.mtlsMode, 'STRICT');

  // A pod the API server does not have: the read fails (the CNI ADD fails closed and is retried).
  await assert.rejects(read({ ...cniOf(created, ['10.244.1.10']), podName: 'gone' }), /404/);
});
