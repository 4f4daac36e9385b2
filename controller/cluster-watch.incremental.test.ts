// ClusterWatch against the local API server (real Redis, real watches): after the first
// sync, one pod changing is translated alone and handed to the sink as one changed
// resource, not as a new whole set; a namespace's label translates that namespace's pods.
// The work is read from the translator's own counters, never timed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { Resource, ResourceKind } from '../core/config/model.js';
import { kubeConfigForServer } from '../core/kube/config.js';
import { startApiServer, type ApiServer } from '../local-cluster/apiserver/server.js';
import { waitFor } from '../test/support/net.js';
import { startRedis, type TestRedis } from '../test/support/redis.js';
import { ClusterWatch, type ConfigSink } from './cluster-watch.js';
import { installMeshCrds } from '../test/support/control-plane.js';

const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const PODS = 120;
const WAIT = 15_000;

let redis: TestRedis;
let api: ApiServer;
let kc: KubeConfig;
let core: CoreV1Api;

before(async () => {
  redis = await startRedis();
  api = await startApiServer({ redisUrl: redis.url, prefix: 'cwinc:' });
  kc = kubeConfigForServer(api.url);
  await installMeshCrds(kc);
  core = kc.makeApiClient(CoreV1Api);
  for (const ns of ['a', 'b']) {
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'app' } } });
  }
  for (let i = 0; i < PODS; i++) {
    const namespace = i % 2 === 0 ? 'a' : 'b';
    const name = `p${i}`;
    const ip = `10.244.${Math.floor(i / 200)}.${(i % 200) + 2}`;
    await core.createNamespacedPod({ namespace, body: { metadata: { name, labels: { app: 'x' } }, spec: { nodeName: `n${i % 3}`, serviceAccountName: 'app', containers: [{ name: 'c', image: 'x' }] } } });
    await core.patchNamespacedPodStatus({ namespace, name, body: { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } } }, MERGE);
  }
});

after(async () => {
  await api?.close();
  await redis?.stop();
});

interface Call {
  kind: 'set' | 'apply' | 'rescope';
  upserts: Resource[];
  removes: Array<{ kind: ResourceKind; key: string }>;
  placed: string[];
}

test('one_pod_changing_is_translated_alone_and_handed_over_as_one_resource', async (t) => {
  const calls: Call[] = [];
  let version = 0;
  const sink: ConfigSink = {
    setResources: (rs) => (calls.push({ kind: 'set', upserts: [...rs], removes: [], placed: [] }), ++version),
    applyChanges: (upserts, removes, placed) => (calls.push({ kind: 'apply', upserts: [...upserts], removes: [...removes], placed: [...(placed ?? [])] }), ++version),
    rescope: (nodes) => (calls.push({ kind: 'rescope', upserts: [], removes: [], placed: [...(nodes ?? [])] }), ++version),
  };
  const watch = new ClusterWatch({ kubeConfig: kc, sink, trustDomain: 'cluster.local', debounceMs: 20 });
  t.after(() => watch.stop());
  await watch.start();
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.kind, 'set');
  assert.equal(calls[0]!.upserts.filter((r) => r.kind === 'Workload').length, PODS);
  const first = { ...watch.translated! };
  assert.equal(first.pods, PODS);

  const pod = await core.readNamespacedPod({ namespace: 'a', name: 'p10' });
  await core.patchNamespacedPod({ namespace: 'a', name: 'p10', body: { metadata: { labels: { app: 'x', version: 'v2' } } } }, MERGE);
  await waitFor(() => calls.length === 2, WAIT, 'the change to reach the sink');
  assert.deepEqual({ kind: calls[1]!.kind, upserts: calls[1]!.upserts.map((r) => `${r.kind}/${r.key}`), removes: calls[1]!.removes, placed: calls[1]!.placed }, {
    kind: 'apply',
    upserts: [`Workload/${pod.metadata!.uid}`],
    removes: [],
    placed: ['n1'],
  });
  assert.equal(watch.translated!.pods - first.pods, 1, 'one pod translated');

  // A namespace's labels: its pods (half of them), not the other namespace's.
  const before = { ...watch.translated! };
  await core.patchNamespace({ name: 'b', body: { metadata: { labels: { 'ambient.dev/dataplane-mode': 'ambient' } } } }, MERGE);
  await waitFor(() => calls.length === 3, WAIT, 'the namespace change to reach the sink');
  assert.equal(calls[2]!.upserts.length, PODS / 2);
  assert.ok(calls[2]!.upserts.every((r) => r.kind === 'Workload' && (r.body as { protocol: string }).protocol === 'HBONE'));
  assert.equal(watch.translated!.pods - before.pods, PODS / 2);

  // A pod deleted: its Workload removed, nothing else translated.
  const gone = await core.readNamespacedPod({ namespace: 'b', name: 'p11' });
  const mid = { ...watch.translated! };
  await core.deleteNamespacedPod({ namespace: 'b', name: 'p11' });
  await waitFor(() => calls.length === 4, WAIT, 'the deletion to reach the sink');
  assert.deepEqual(calls[3]!.removes, [{ kind: 'Workload', key: gone.metadata!.uid }]);
  assert.deepEqual(calls[3]!.upserts, []);
  assert.equal(watch.translated!.pods - mid.pods, 0, 'a deleted pod is not translated');
});
