// Server-side apply on the local API server over real HTTP and a real Redis (direct tier),
// as its clients send it: plain PATCH with application/apply-patch+yaml, the mesh's client
// library (KubernetesObjectApi.patch, PatchStrategy.ServerSideApply) and kubectl apply
// --server-side (Debian's kubectl).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../local-cluster/apiserver/server.js';
import { startRedis, type TestRedis } from './support/redis.js';

const run = promisify(execFile);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

let redis: TestRedis;
let s: ApiServer;
let dir: string;

before(async () => {
  redis = await startRedis();
  s = await startApiServer({ redisUrl: redis.url, prefix: 'apply:' });
  dir = mkdtempSync(join(tmpdir(), 'apiserver-apply-'));
});

after(async () => {
  await s?.close();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function call(method: string, path: string, body?: string | object, contentType = 'application/json'): Promise<{ status: number; body: Any }> {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { 'content-type': contentType },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const APPLY = 'application/apply-patch+yaml';
const cmPath = (name: string, q: string) => `/api/v1/namespaces/default/configmaps/${name}?${q}`;
const cmYaml = (name: string, data: Record<string, string>) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n${Object.entries(data).map(([k, v]) => `  ${k}: "${v}"\n`).join('')}`;

describe('PATCH application/apply-patch+yaml', () => {
  test('apply_creates_an_absent_object_with_201_and_an_Apply_managedFields_entry', async () => {
    const r = await call('PATCH', cmPath('a1', 'fieldManager=tool'), cmYaml('a1', { x: '1' }), APPLY);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(r.body.data, { x: '1' });
    const mf = r.body.metadata.managedFields;
    assert.equal(mf.length, 1);
    assert.equal(mf[0].manager, 'tool');
    assert.equal(mf[0].operation, 'Apply');
    assert.deepEqual(mf[0].fieldsV1, { 'f:data': { 'f:x': {} } });
  });

  test('apply_again_unchanged_keeps_the_resourceVersion', async () => {
    const first = await call('PATCH', cmPath('a2', 'fieldManager=tool'), cmYaml('a2', { x: '1' }), APPLY);
    const second = await call('PATCH', cmPath('a2', 'fieldManager=tool'), cmYaml('a2', { x: '1' }), APPLY);
    assert.equal(second.status, 200);
    assert.equal(second.body.metadata.resourceVersion, first.body.metadata.resourceVersion);
  });

  test('apply_removes_what_the_manager_stopped_applying_and_keeps_what_others_wrote', async () => {
    await call('PATCH', cmPath('a3', 'fieldManager=tool'), cmYaml('a3', { x: '1', y: '2' }), APPLY);
    const merged = await call('PATCH', cmPath('a3', ''), { data: { other: 'kept' } }, 'application/merge-patch+json');
    assert.equal(merged.status, 200);
    assert.ok(merged.body.metadata.managedFields, 'a merge patch keeps the ownership record');
    const r = await call('PATCH', cmPath('a3', 'fieldManager=tool'), cmYaml('a3', { x: '3' }), APPLY);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.data, { x: '3', other: 'kept' });
  });

  test('apply_of_a_field_another_manager_owns_is_409_without_force_and_wins_with_force', async () => {
    await call('PATCH', cmPath('a4', 'fieldManager=one'), cmYaml('a4', { x: '1' }), APPLY);
    const refused = await call('PATCH', cmPath('a4', 'fieldManager=two'), cmYaml('a4', { x: '2' }), APPLY);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.reason, 'Conflict');
    assert.equal(refused.body.message, 'Apply failed with 1 conflict: conflict with "one": .data.x');
    assert.equal((await call('GET', cmPath('a4', ''))).body.data.x, '1', 'nothing written');
    const forced = await call('PATCH', cmPath('a4', 'fieldManager=two&force=true'), cmYaml('a4', { x: '2' }), APPLY);
    assert.equal(forced.status, 200);
    assert.equal(forced.body.data.x, '2');
    assert.deepEqual(forced.body.metadata.managedFields.map((e: Any) => e.manager), ['two']);
  });

  test('apply_without_fieldManager_is_400', async () => {
    const r = await call('PATCH', cmPath('a5', ''), cmYaml('a5', { x: '1' }), APPLY);
    assert.equal(r.status, 400);
    assert.match(r.body.message, /fieldManager: Required value/);
  });

  test('apply_of_an_invalid_object_is_422_and_creates_nothing', async () => {
    const r = await call('PATCH', '/apis/apps/v1/namespaces/default/deployments/bad?fieldManager=tool', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad}\nspec: {replicas: -1}\n', APPLY);
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.equal((await call('GET', '/apis/apps/v1/namespaces/default/deployments/bad')).status, 404);
  });

  test('a_deployment_applied_twice_with_a_container_env_removed_loses_only_that_variable', async () => {
    const dep = (env: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
        env:
${env}`;
    const p = '/apis/apps/v1/namespaces/default/deployments/web?fieldManager=tool';
    assert.equal((await call('PATCH', p, dep('        - {name: A, value: "1"}\n        - {name: B, value: "2"}\n'), APPLY)).status, 201);
    const r = await call('PATCH', p, dep('        - {name: A, value: "1"}\n'), APPLY);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.spec.template.spec.containers[0].env, [{ name: 'A', value: '1' }]);
    assert.equal(r.body.spec.replicas, 1, 'defaults still apply');
    assert.equal(r.body.metadata.generation, 2);
  });
});

describe('clients', () => {
  test('client_node_KubernetesObjectApi_patch_with_ServerSideApply_creates_then_updates', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'local', server: s.url, skipTLSVerify: true }],
      users: [{ name: 'admin' }],
      contexts: [{ name: 'local', cluster: 'local', user: 'admin', namespace: 'default' }],
      currentContext: 'local',
    });
    const api = KubernetesObjectApi.makeApiClient(kc);
    const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1', namespace: 'default' }, data: { k: 'v' } } as KubernetesObject;
    const created = (await api.patch(obj, undefined, undefined, 'ambientctl', true, PatchStrategy.ServerSideApply)) as Any;
    assert.deepEqual(created.data, { k: 'v' });
    const updated = (await api.patch({ ...obj, data: { k: 'w' } } as KubernetesObject, undefined, undefined, 'ambientctl', true, PatchStrategy.ServerSideApply)) as Any;
    assert.deepEqual(updated.data, { k: 'w' });
    assert.equal(updated.metadata.managedFields[0].manager, 'ambientctl');
  });

  test('kubectl_apply_server_side_creates_is_unchanged_the_second_time_and_reports_conflicts', async () => {
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nclusters: [{name: local, cluster: {server: "${s.url}"}}]\nusers: [{name: admin, user: {}}]\ncontexts: [{name: local, context: {cluster: local, user: admin, namespace: default}}]\ncurrent-context: local\n`);
    const kubectl = async (...args: string[]) => {
      try {
        const { stdout } = await run('/usr/bin/kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), '--request-timeout=10s', ...args], { timeout: 20_000, env: { ...process.env, HOME: dir } });
        return { code: 0, out: stdout };
      } catch (err) {
        const e = err as { code?: number; stderr?: string; stdout?: string };
        return { code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
      }
    };
    const file = join(dir, 'cm.yaml');
    writeFileSync(file, cmYaml('k1', { a: '1' }));
    const first = await kubectl('apply', '--server-side', '-f', file);
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /configmap\/k1 serverside-applied/);
    const again = await kubectl('apply', '--server-side', '-f', file);
    assert.equal(again.code, 0, again.out);
    writeFileSync(file, cmYaml('k1', { a: '2' }));
    const other = await kubectl('apply', '--server-side', '--field-manager', 'someone-else', '-f', file);
    assert.notEqual(other.code, 0);
    assert.match(other.out, /conflict/i);
    assert.match(other.out, /\.data\.a/);
    const forced = await kubectl('apply', '--server-side', '--field-manager', 'someone-else', '--force-conflicts', '-f', file);
    assert.equal(forced.code, 0, forced.out);
    const got = JSON.parse((await kubectl('get', 'configmap', 'k1', '-o', 'json')).out);
    assert.equal(got.data.a, '2');
  });
});
