// The local API server as real clients use it (direct tier, real Redis): the mesh's own
// client library (@kubernetes/client-node: typed API, informer across watch reconnects)
// and kubectl (get, label, apply -f twice, scale, delete -f, table output).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, makeInformer, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../local-cluster/apiserver/server.js';
import { startControllers, type ControllerManager } from '../local-cluster/controllers/manager.js';
import { startRedis, type TestRedis } from './support/redis.js';

const run = promisify(execFile);

let redis: TestRedis;
const servers: ApiServer[] = [];
let prefixes = 0;
let dir: string;

before(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'apiserver-clients-'));
});

after(async () => {
  await Promise.allSettled(servers.map((s) => s.close()));
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function server(opts: { watchTimeoutSeconds?: number } = {}): Promise<ApiServer> {
  const s = await startApiServer({ redisUrl: redis.url, prefix: `c${++prefixes}:`, ...opts });
  servers.push(s);
  return s;
}

function kubeConfig(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'local', server: url, skipTLSVerify: true }],
    users: [{ name: 'admin' }],
    contexts: [{ name: 'local', cluster: 'local', user: 'admin', namespace: 'default' }],
    currentContext: 'local',
  });
  return kc;
}

const pod = (name: string, labels: Record<string, string> = {}): V1Pod => ({
  metadata: { name, labels },
  spec: { containers: [{ name: 'app', image: 'busybox' }] },
});

/** Waits until `cond` holds, polling. */
async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('client-node', () => {
  test('core_v1_api_create_list_read_patch_delete', async () => {
    const s = await server();
    const core = kubeConfig(s.url).makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'apps' } } });
    const created = await core.createNamespacedPod({ namespace: 'apps', body: pod('web', { app: 'web' }) });
    assert.equal(created.status?.phase, 'Pending');
    assert.ok(created.metadata?.uid);
    await core.createNamespacedPod({ namespace: 'apps', body: pod('db', { app: 'db' }) });
    const list = await core.listNamespacedPod({ namespace: 'apps', labelSelector: 'app=web' });
    assert.deepEqual(list.items.map((p) => p.metadata?.name), ['web']);
    assert.ok(Number(list.metadata?.resourceVersion) > 0);
    const read = await core.readNamespacedPod({ name: 'web', namespace: 'apps' });
    assert.equal(read.metadata?.resourceVersion, created.metadata?.resourceVersion);
    // The library's default patch type is JSON patch; merge patch is one header away.
    const jsonPatched = await core.patchNamespacedPod({ name: 'web', namespace: 'apps', body: [{ op: 'add', path: '/metadata/labels/tier', value: 'front' }] });
    assert.equal(jsonPatched.metadata?.labels?.['tier'], 'front');
    const merged = await core.patchNamespacedPod(
      { name: 'web', namespace: 'apps', body: { metadata: { labels: { 'ambient.dev/dataplane-mode': 'none' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    assert.deepEqual(merged.metadata?.labels, { app: 'web', tier: 'front', 'ambient.dev/dataplane-mode': 'none' });
    await assert.rejects(core.readNamespacedPod({ name: 'missing', namespace: 'apps' }), (err: { code?: number }) => err.code === 404);
    await core.deleteNamespacedPod({ name: 'web', namespace: 'apps' });
    const after = await core.listPodForAllNamespaces();
    assert.deepEqual(after.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`), ['apps/db']);
  });

  test('informer_sees_add_update_delete_in_order_across_watch_reconnects', async () => {
    const s = await server({ watchTimeoutSeconds: 1 });
    const kc = kubeConfig(s.url);
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'inf' } } });
    await core.createNamespacedPod({ namespace: 'inf', body: pod('before') });
    const informer = makeInformer(kc, '/api/v1/namespaces/inf/pods', () => core.listNamespacedPod({ namespace: 'inf' }));
    const seen: string[] = [];
    let connects = 0;
    const errors: unknown[] = [];
    informer.on('add', (p) => seen.push(`add ${p.metadata?.name}`));
    informer.on('update', (p) => seen.push(`update ${p.metadata?.name} ${p.metadata?.labels?.['v'] ?? ''}`));
    informer.on('delete', (p) => seen.push(`delete ${p.metadata?.name}`));
    informer.on('connect', () => connects++);
    informer.on('error', (err) => errors.push(err));
    await informer.start();
    try {
      await until(() => seen.length === 1, 'the initial list');
      await core.createNamespacedPod({ namespace: 'inf', body: pod('p1') });
      await core.patchNamespacedPod({ name: 'p1', namespace: 'inf', body: [{ op: 'add', path: '/metadata/labels/v', value: '2' }] });
      await core.deleteNamespacedPod({ name: 'before', namespace: 'inf' });
      await until(() => seen.length === 4, 'three events');
      assert.deepEqual(seen, ['add before', 'add p1', 'update p1 2', 'delete before']);
      // The server ends each watch after 1 s; the informer resumes from its last resourceVersion.
      await until(() => connects >= 3, 'two reconnects', 5_000);
      await core.createNamespacedPod({ namespace: 'inf', body: pod('p2') });
      await core.deleteNamespacedPod({ name: 'p1', namespace: 'inf' });
      await until(() => seen.length === 6, 'events after reconnecting');
      assert.deepEqual(seen.slice(4), ['add p2', 'delete p1'], 'nothing repeated, nothing lost');
      assert.deepEqual(informer.list('inf').map((p) => p.metadata?.name), ['p2']);
      assert.deepEqual(errors, []);
    } finally {
      await informer.stop();
    }
  });
});

describe('kubectl', () => {
  let s: ApiServer;
  let kubeconfig: string;

  before(async () => {
    s = await server();
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: local, cluster: {server: "${s.url}"}}]`,
        'users: [{name: admin, user: {}}]',
        'contexts: [{name: local, context: {cluster: local, user: admin, namespace: default}}]',
        'current-context: local',
        '',
      ].join('\n'),
    );
  });

  async function kubectl(...args: string[]): Promise<string> {
    try {
      const { stdout } = await run('/usr/bin/kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), '--request-timeout=10s', ...args], {
        timeout: 20_000,
        env: { ...process.env, HOME: dir, KUBECONFIG: kubeconfig },
      });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`kubectl ${args.join(' ')} failed: ${e.stderr || e.message}`);
    }
  }

  const deployYaml = (replicas: number) => `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports:
  - name: http
    port: 80
    targetPort: 80
`;

  test('kubectl_get_pods_all_namespaces_and_namespaces', async () => {
    const core = kubeConfig(s.url).makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'team' } } });
    await core.createNamespacedPod({ namespace: 'team', body: pod('p1') });
    const pods = await kubectl('get', 'pods', '-A');
    assert.match(pods, /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s*$/m);
    assert.match(pods, /^team\s+p1\s+0\/1\s+Pending\s+0\s+\S+\s*$/m);
    const nss = await kubectl('get', 'ns');
    for (const n of ['default', 'kube-system', 'team']) assert.match(nss, new RegExp(`^${n}\\s+Active\\s`, 'm'));
  });

  test('kubectl_label_namespace', async () => {
    const out = await kubectl('label', 'namespace', 'team', 'ambient.dev/dataplane-mode=ambient');
    assert.match(out, /namespace\/team labeled/);
    const core = kubeConfig(s.url).makeApiClient(CoreV1Api);
    const n = await core.readNamespace({ name: 'team' });
    assert.equal(n.metadata?.labels?.['ambient.dev/dataplane-mode'], 'ambient');
  });

  test('kubectl_apply_create_then_update_then_scale_get_and_delete', async () => {
    const file = join(dir, 'deploy.yaml');
    writeFileSync(file, deployYaml(1));
    const first = await kubectl('apply', '-f', file);
    assert.match(first, /namespace\/shop created/);
    assert.match(first, /deployment.apps\/web created/);
    assert.match(first, /service\/web created/);
    const again = await kubectl('apply', '-f', file);
    assert.match(again, /deployment.apps\/web unchanged/);
    writeFileSync(file, deployYaml(3));
    const second = await kubectl('apply', '-f', file);
    assert.match(second, /deployment.apps\/web configured/);
    assert.match(second, /service\/web unchanged/);
    const d = JSON.parse(await kubectl('get', 'deploy', 'web', '-n', 'shop', '-o', 'json'));
    assert.equal(d.spec.replicas, 3);
    assert.equal(d.metadata.generation, 2);
    assert.match(await kubectl('scale', 'deployment', 'web', '-n', 'shop', '--replicas=4'), /deployment.apps\/web scaled/);
    assert.equal(JSON.parse(await kubectl('get', 'deploy', 'web', '-n', 'shop', '-o', 'json')).spec.replicas, 4);
    const table = await kubectl('get', 'deploy', '-n', 'shop');
    assert.match(table, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s*$/m);
    assert.match(table, /^web\s+0\/4\s+0\s+0\s+\S+\s*$/m);
    const svcs = JSON.parse(await kubectl('get', 'svc', '-n', 'shop', '-o', 'json'));
    assert.equal(svcs.kind, 'List');
    assert.equal(svcs.items[0].metadata.name, 'web');
    assert.match(svcs.items[0].spec.clusterIP, /^10\.96\.\d+\.\d+$/);
    const del = await kubectl('delete', '-f', file);
    assert.match(del, /deployment.apps "web" deleted/);
    assert.match(del, /namespace "shop" deleted/);
    const core = kubeConfig(s.url).makeApiClient(CoreV1Api);
    await assert.rejects(core.readNamespace({ name: 'shop' }), (err: { code?: number }) => err.code === 404);
  });

  test('kubectl_apply_of_a_5mb_object_prints_the_servers_413_not_a_broken_pipe', async () => {
    const file = join(dir, 'big.yaml');
    writeFileSync(file, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big, namespace: default}\ndata:\n  x: "${'y'.repeat(5 * 1024 * 1024)}"\n`);
    await assert.rejects(kubectl('apply', '-f', file), (err: Error) => {
      assert.match(err.message, /Error from server \(RequestEntityTooLarge\): .*Request entity too large: limit is 3145728/);
      assert.doesNotMatch(err.message, /broken pipe|connection reset/);
      return true;
    });
    // Under the body limit but over the 1.5 MiB object limit: the same kind of answer.
    writeFileSync(file, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big, namespace: default}\ndata:\n  x: "${'y'.repeat(2 * 1024 * 1024)}"\n`);
    await assert.rejects(kubectl('create', '-f', file), /Error from server \(RequestEntityTooLarge\): .*configmaps "big" would be \d+ bytes, limit is 1572864/);
    assert.match(await kubectl('get', 'ns', 'default'), /^default\s+Active/m, 'the server keeps serving');
  });

  test('kubectl_reports_invalid_objects_with_field_paths', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Pod\nmetadata: {name: bad, namespace: default}\nspec:\n  containers: [{name: c}]\n');
    await assert.rejects(kubectl('apply', '-f', file), /spec\.containers\[0\]\.image: Required value/);
  });
});

describe('controller manager', () => {
  const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

  /** Marks every pod bound to a node Running and Ready, as a kubelet would. */
  async function kubeletReportsReady(core: CoreV1Api, namespace: string): Promise<number> {
    const pods = (await core.listNamespacedPod({ namespace })).items.filter((p) => p.spec?.nodeName && !p.metadata?.deletionTimestamp);
    for (const p of pods) {
      if (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
      await core.patchNamespacedPodStatus(
        { name: p.metadata!.name!, namespace, body: { status: { phase: 'Running', podIP: '10.244.0.9', conditions: [{ type: 'Ready', status: 'True' }] } } },
        MERGE,
      );
    }
    return pods.length;
  }

  test('controller_manager_restart_against_the_same_store_creates_and_deletes_no_pods', async () => {
    const prefix = `cm${++prefixes}:`;
    let s = await startApiServer({ redisUrl: redis.url, prefix });
    let cm: ControllerManager | undefined;
    try {
      let kc = kubeConfig(s.url);
      let core = kc.makeApiClient(CoreV1Api);
      cm = startControllers(kc);
      await cm.synced;
      for (const name of ['node1', 'node2']) {
        await core.createNode({ body: { metadata: { name } } });
        await core.patchNodeStatus({ name, body: { status: { conditions: [{ type: 'Ready', status: 'True' }] } } }, MERGE);
      }
      await core.createNamespace({ body: { metadata: { name: 'churn' } } });
      // Created after the controllers started: they first see these from watch events,
      // and after the restart from a fresh list, as on the local cluster.
      const template = {
        metadata: { labels: { app: 'web' }, annotations: { 'example.com/note': 'x' } },
        spec: { serviceAccountName: 'default', containers: [{ name: 'web', image: 'web:1', ports: [{ containerPort: 8080, name: 'http' }], env: [{ name: 'A', value: '1' }] }] },
      };
      const apps = kc.makeApiClient(AppsV1Api);
      await apps.createNamespacedDeployment({ namespace: 'churn', body: { metadata: { name: 'web' }, spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template } } });
      await apps.createNamespacedDaemonSet({
        namespace: 'churn',
        body: { metadata: { name: 'agent' }, spec: { selector: { matchLabels: { app: 'agent' } }, template: { ...template, metadata: { labels: { app: 'agent' } } } } },
      });
      // Bring it to rest: 2 + 2 pods, all Ready, and a reconcile pass that changes nothing.
      const deadline = Date.now() + 15_000;
      let settled = false;
      while (!settled) {
        assert.ok(Date.now() < deadline, 'the deployment and daemonset did not settle');
        await cm.reconcile();
        const bound = await kubeletReportsReady(core, 'churn');
        const before = (await core.listNamespacedPod({ namespace: 'churn' })).items.map((p) => p.metadata!.uid).sort();
        await cm.reconcile();
        const after = (await core.listNamespacedPod({ namespace: 'churn' })).items.map((p) => p.metadata!.uid).sort();
        settled = bound === 4 && before.length === 4 && JSON.stringify(before) === JSON.stringify(after);
        if (!settled) await new Promise((r) => setTimeout(r, 100));
      }
      const list = await core.listNamespacedPod({ namespace: 'churn' });
      const uids = list.items.map((p) => p.metadata!.uid).sort();
      const rv = list.metadata!.resourceVersion!;

      // Restart the control plane: controller manager and API server, same Redis store.
      await cm.stop();
      cm = undefined;
      await s.close();
      s = await startApiServer({ redisUrl: redis.url, prefix });
      kc = kubeConfig(s.url);
      core = kc.makeApiClient(CoreV1Api);
      cm = startControllers(kc);
      await cm.synced;
      for (let i = 0; i < 3; i++) {
        await cm.reconcile();
        await new Promise((r) => setTimeout(r, 100));
      }

      const res = await fetch(`${s.url}/api/v1/namespaces/churn/pods?watch=true&resourceVersion=${rv}&timeoutSeconds=1`, { signal: AbortSignal.timeout(10_000) });
      const events = (await res.text()).split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { type: string; object: V1Pod });
      const churn = events.filter((e) => e.type === 'ADDED' || e.type === 'DELETED' || e.object.metadata?.deletionTimestamp);
      assert.deepEqual(churn.map((e) => `${e.type} ${e.object.metadata?.name}`), [], 'no pod was created or deleted after the restart');
      assert.deepEqual((await core.listNamespacedPod({ namespace: 'churn' })).items.map((p) => p.metadata!.uid).sort(), uids);
    } finally {
      await cm?.stop();
      await s.close();
    }
  });
});
