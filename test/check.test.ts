// `ambientctl check` as a user runs it (the executable, its output and exit code) against
// the local API server in this process: --pre as the cluster admin and as a ServiceAccount
// that may not install; the default check on a cluster without the mesh, clean or with a
// remnant.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../local-cluster/apiserver/server.js';
import { kubeConfigForServer } from '../core/kube/config.js';
import { startRedis, type TestRedis } from './support/redis.js';
import { runAmbientctl } from './support/ambientctl.js';

function kubeconfig(file: string, server: string, user: string, token?: string): string {
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: local, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]`,
      `users: [{name: ${user}, user: {${token ? `token: ${token}` : ''}}}]`,
      `contexts: [{name: local, context: {cluster: local, user: ${user}}}]`,
      'current-context: local',
      '',
    ].join('\n'),
  );
  return file;
}

describe('ambientctl check against a local API server', () => {
  let redis: TestRedis;
  let server: ApiServer;
  let dir: string;
  let admin: string;
  let deployer: string;
  let core: CoreV1Api;

  before(async () => {
    redis = await startRedis();
    server = await startApiServer({ redisUrl: redis.url, prefix: 'check:' });
    dir = mkdtempSync(join(tmpdir(), 'ambientctl-check-'));
    admin = kubeconfig(join(dir, 'admin'), server.url, 'admin');
    core = kubeConfigForServer(server.url).makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'apps' } } });
    // A Linux node, as a kubelet registers it.
    await core.createNode({ body: { metadata: { name: 'node-1', labels: { 'kubernetes.io/os': 'linux' } }, status: { nodeInfo: { operatingSystem: 'linux' } as never } } });
    await core.createNamespacedServiceAccount({ namespace: 'apps', body: { metadata: { name: 'deployer' } } });
    const tr = await core.createNamespacedServiceAccountToken({ namespace: 'apps', name: 'deployer', body: { spec: { audiences: [] } } });
    deployer = kubeconfig(join(dir, 'deployer'), server.url, 'deployer', tr.status!.token);
  });
  after(async () => {
    await server?.close();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('pre_as_the_admin_passes_every_check', async () => {
    const r = await runAmbientctl(['--kubeconfig', admin, 'check', '--pre']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^kubernetes-api\n-+\n√ the API server is reachable\n√ the API server's version is at least 1\.30\n√ the API server serves CustomResourceDefinitions \(apiextensions\.k8s\.io\/v1\)\n√ the API server serves every kind install creates\n/);
    assert.match(r.stdout, /√ the Gateway API CRDs are installed/);
    assert.match(r.stdout, /√ can create and patch daemonsets\.apps in ambient-system\n/);
    assert.match(r.stdout, /√ can create and patch customresourcedefinitions\.apiextensions\.k8s\.io\n/);
    assert.match(r.stdout, /√ can create and patch clusterroles\.rbac\.authorization\.k8s\.io\n/);
    assert.match(r.stdout, /√ the nodes run Linux\n/);
    assert.match(r.stdout, /√ the mesh is not installed yet\n/);
    assert.match(r.stdout, /Status check results are √ \(\d+ passed, 0 warnings, 0 failed\)\n$/);
    const j = JSON.parse((await runAmbientctl(['--kubeconfig', admin, 'check', '--pre', '-o', 'json'])).stdout) as { mode: string; success: boolean; summary: { failed: number } };
    assert.deepEqual([j.mode, j.success, j.summary.failed], ['pre', true, 0]);
  });

  test('pre_as_a_service_account_fails_naming_the_verb_and_the_fix', async () => {
    const r = await runAmbientctl(['--kubeconfig', deployer, 'check', '--pre']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /× can create and patch customresourcedefinitions\.apiextensions\.k8s\.io\n {4}user "deployer" may not create customresourcedefinitions\.apiextensions\.k8s\.io: a ServiceAccount may write in its own namespace only\n {4}user "deployer" may not patch customresourcedefinitions\.apiextensions\.k8s\.io: .*\n {4}fix: install as a cluster admin, or have one grant create, patch on customresourcedefinitions\.apiextensions\.k8s\.io \(check with: kubectl auth can-i create customresourcedefinitions\.apiextensions\.k8s\.io\)\n/,
    );
    assert.match(r.stdout, /× can create and patch daemonsets\.apps in ambient-system\n {4}user "deployer" may not create daemonsets\.apps in namespace ambient-system/);
    // What a ServiceAccount may read still passes.
    assert.match(r.stdout, /√ the API server is reachable\n/);
    assert.match(r.stdout, /Status check results are × \(\d+ passed, \d+ warnings?, \d+ failed\)\n$/);
  });

  test('pre_against_nothing_listening_fails_on_reachability_alone', async () => {
    const nowhere = kubeconfig(join(dir, 'nowhere'), 'https://127.0.0.1:1', 'admin');
    const r = await runAmbientctl(['--kubeconfig', nowhere, 'check', '--pre']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^kubernetes-api\n-+\n× the API server is reachable\n {4}GET https:\/\/127\.0\.0\.1:1\/version: .*ECONNREFUSED/);
    assert.match(r.stdout, /Status check results are × \(0 passed, 0 warnings, 1 failed\)\n$/);
  });

  test('check_without_the_mesh_says_it_is_not_installed_and_lists_a_remnant', async () => {
    const clean = await runAmbientctl(['--kubeconfig', admin, 'check']);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    assert.match(clean.stdout, /^The mesh is not installed \(no Deployment ambient-system\/ambient-controller, no DaemonSet ambient-system\/ambient-node-agent\): nothing of it is left\./);
    assert.match(clean.stdout, /√ no namespace ambient-system\n/);
    await core.createNamespace({ body: { metadata: { name: 'ambient-system' } } });
    try {
      const left = await runAmbientctl(['--kubeconfig', admin, 'check']);
      assert.equal(left.code, 1);
      assert.match(left.stdout, /something of it is left/);
      assert.match(left.stdout, /× no namespace ambient-system\n {4}it exists\n {4}fix: ambientctl uninstall/);
    } finally {
      await core.deleteNamespace({ name: 'ambient-system' });
    }
  });
});
