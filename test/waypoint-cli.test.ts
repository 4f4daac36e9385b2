// `ambientctl waypoint apply|list|status|delete` as a user runs them: the real executable
// with a kubeconfig for the local API server (in this process, on a throwaway Redis), and
// the controller in-process deploying what the commands ask for. No kubelet: a waypoint's
// readiness is set on its Deployment through the API, as the deployment controller would.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { kubeConfigForServer } from '../core/kube/config.js';
import { startApiServer, type ApiServer } from '../local-cluster/apiserver/server.js';
import { startController, type Controller } from '../controller/controller.js';
import { startRedis, type TestRedis } from './support/redis.js';
import { pollUntil, installMeshCrds } from './support/control-plane.js';
import { runAmbientctl, type CliResult } from './support/ambientctl.js';

const WAIT_MS = 20_000;
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

let redis: TestRedis;
let api: ApiServer;
let controller: Controller;
let dir: string;
let kubeconfig: string;
let core: CoreV1Api;
let apps: AppsV1Api;

const run = (...args: string[]): Promise<CliResult> => runAmbientctl(['--kubeconfig', kubeconfig, ...args]);

const until = <T>(what: string, fn: () => Promise<T | undefined> | T | undefined): Promise<T> => pollUntil(what, fn, WAIT_MS);

/** What the deployment controller and kubelets would report once the waypoint's pods run. */
async function markReady(ns: string, name: string): Promise<void> {
  await until(`Deployment ${ns}/${name}`, () => apps.readNamespacedDeployment({ namespace: ns, name }));
  await apps.patchNamespacedDeploymentStatus({ namespace: ns, name, body: { status: { replicas: 1, readyReplicas: 1 } } }, MERGE);
}

before(async () => {
  redis = await startRedis();
  api = await startApiServer({ redisUrl: redis.url, prefix: 'wpcli:' });
  const kc = kubeConfigForServer(api.url);
  await installMeshCrds(kc);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  for (const ns of ['ambient-system', 'shop', 'bank']) await core.createNamespace({ body: { metadata: { name: ns } } });
  controller = await startController({ kubeConfig: kc, trustDomain: 'cluster.local', listen: { host: '127.0.0.1', port: 0 }, metrics: { host: '127.0.0.1', port: 0 }, limits: { drainTimeoutMs: 1_000 } });
  dir = mkdtempSync(join(tmpdir(), 'ambientctl-waypoint-'));
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: local, cluster: {server: "${api.url}", insecure-skip-tls-verify: true}}]`,
      'users: [{name: admin, user: {}}]',
      'contexts: [{name: local, context: {cluster: local, user: admin, namespace: default}}]',
      'current-context: local',
      '',
    ].join('\n'),
  );
});

after(async () => {
  await controller?.close();
  await api?.close();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('ambientctl waypoint', () => {
  test('waypoint_apply_enroll_namespace_writes_the_gateway_and_labels_the_namespace', async () => {
    const r = await run('waypoint', 'apply', '-n', 'shop', '--for', 'all', '--enroll-namespace', '--replicas', '2');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'gateway.gateway.networking.k8s.io/waypoint created\nnamespace/shop labeled ambient.dev/use-waypoint=waypoint\n');
    const ns = await core.readNamespace({ name: 'shop' });
    assert.equal(ns.metadata?.labels?.['ambient.dev/use-waypoint'], 'waypoint');
    const again = await run('waypoint', 'apply', '-n', 'shop', '--for', 'all', '--replicas', '2');
    assert.equal(again.stdout, 'gateway.gateway.networking.k8s.io/waypoint unchanged\n');
  });

  test('waypoint_list_shows_replicas_programmed_address_and_users', async () => {
    await markReady('shop', 'waypoint');
    const row = await until('the waypoint programmed in the listing', async () => {
      const r = await run('waypoint', 'list', '-n', 'shop', '-o', 'json');
      const rows = JSON.parse(r.stdout) as Array<{ name: string; programmed: string; replicas: { ready: number; desired: number }; addresses: string[]; usedBy: { namespaces: string[] }; for: string }>;
      return rows[0]?.programmed === 'True' && rows[0].replicas?.desired === 2 ? rows[0] : undefined;
    });
    assert.deepEqual([row.name, row.for, row.replicas, row.usedBy.namespaces], ['waypoint', 'all', { ready: 1, desired: 2 }, ['shop']]);
    assert.equal(row.addresses.length, 1);
    const table = await run('waypoint', 'list', '-A');
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout.split('\n')[0]!, /^NAMESPACE\s+NAME\s+FOR\s+REPLICAS\s+PROGRAMMED\s+ADDRESS\s+USED BY$/);
    assert.match(table.stdout, new RegExp(`shop\\s+waypoint\\s+all\\s+1/2\\s+True\\s+${row.addresses[0]!.replace(/\./g, '\\.')}\\s+ns/shop`));
    const yaml = await run('waypoint', 'list', '-n', 'shop', '-o', 'yaml');
    assert.match(yaml.stdout, /^- namespace: shop\n {2}name: waypoint\n/);
  });

  test('waypoint_status_shows_the_conditions_with_their_messages', async () => {
    const r = await run('waypoint', 'status', '-n', 'shop', '--name', 'waypoint');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /shop\s+waypoint\s+Gateway\s+Accepted\s+True\s+Accepted\s+a waypoint for "mesh" on port 15008/);
    assert.match(r.stdout, /shop\s+waypoint\s+Gateway\s+Programmed\s+True\s+Programmed\s+1\/2 waypoint replicas ready/);
    assert.match(r.stdout, /shop\s+waypoint\s+listener mesh\s+ResolvedRefs\s+True/);
    const json = JSON.parse((await run('waypoint', 'status', '-n', 'shop', '-o', 'json')).stdout) as Array<{ name: string; status: { conditions: Array<{ type: string }> } }>;
    assert.deepEqual(json.map((g) => [g.name, g.status.conditions.map((c) => c.type)]), [['waypoint', ['Accepted', 'Programmed']]]);
    const missing = await run('waypoint', 'status', '-n', 'shop', '--name', 'nope');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no waypoint "nope" in namespace shop/);
  });

  test('waypoint_apply_wait_returns_once_the_waypoint_is_programmed', async () => {
    const applying = run('waypoint', 'apply', '-n', 'bank', '--name', 'teller-wp', '--wait', '--timeout', '30');
    await markReady('bank', 'teller-wp');
    const r = await applying;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /waypoint bank\/teller-wp programmed: 1\/1 waypoint replicas ready/);
  });

  test('waypoint_commands_refuse_bad_arguments_with_a_non_zero_exit', async () => {
    const badFor = await run('waypoint', 'apply', '-n', 'shop', '--for', 'pods');
    assert.equal(badFor.code, 1);
    assert.match(badFor.stderr, /--for/);
    const badReplicas = await run('waypoint', 'apply', '-n', 'shop', '--replicas', 'many');
    assert.equal(badReplicas.code, 1);
    assert.match(badReplicas.stderr, /--replicas: "many"/);
    for (const [timeout, why] of [['soon', 'is not a duration (e.g. 30s, 10m, 2h, 1h30m, 500ms, 1.5s; a number alone is seconds)'], ['0', 'must be longer than zero']]) {
      const badTimeout = await run('waypoint', 'apply', '-n', 'shop', '--name', 'never-wp', '--wait', '--timeout', timeout);
      assert.equal(badTimeout.code, 1);
      assert.equal(badTimeout.stderr, `error: --timeout: "${timeout}" ${why}\n`);
    }
    const noNames = await run('waypoint', 'delete', '-n', 'shop');
    assert.equal(noNames.code, 1);
    assert.match(noNames.stderr, /NAME\.\.\. or --all/);
  });

  test('waypoint_delete_removes_the_gateway_its_objects_and_the_namespace_label', async () => {
    const r = await run('waypoint', 'delete', '-n', 'shop', 'waypoint');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'waypoint shop/waypoint deleted\nnamespace/shop unlabeled ambient.dev/use-waypoint\n');
    assert.equal((await core.readNamespace({ name: 'shop' })).metadata?.labels?.['ambient.dev/use-waypoint'], undefined);
    await until('the Deployment deleted', async () => apps.readNamespacedDeployment({ namespace: 'shop', name: 'waypoint' }).then(() => undefined, (e: { code?: number }) => (e.code === 404 ? true : undefined)));
    const all = await run('waypoint', 'delete', '-n', 'bank', '--all');
    assert.equal(all.stdout, 'waypoint bank/teller-wp deleted\n');
    const empty = await run('waypoint', 'list', '-A');
    assert.equal(empty.stdout, '');
    assert.match(empty.stderr, /No waypoints found/);
  });
});
