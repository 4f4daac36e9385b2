// The local API server over real HTTP and a real Redis (direct tier): CRUD, selectors,
// watch replay/bookmarks/410/restart, optimistic concurrency, patches, the status
// subresource, cascading deletes, errors, tokens, and the process entry point.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../local-cluster/apiserver/server.js';
import { redisDir, startClusterRedis } from '../local-cluster/lifecycle.js';
import { apiServerIps, ensureClusterPki } from '../local-cluster/pki.js';
import { stopCluster } from '../local-cluster/processes.js';
import { clusterDir, kubeconfigYaml, writeAdminToken, writeKubeconfig, writePrivateFile, writeRecord } from '../local-cluster/state.js';
import { newAdminToken } from '../local-cluster/apiserver/admin-token.js';
import { kubeConfigForServer } from '../core/kube/config.js';
import { applyMeshRbac } from './support/mesh-rbac.js';
import { closedPort } from './support/net.js';
import { startRedis, type TestRedis } from './support/redis.js';
import { installMeshCrds } from './support/control-plane.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

let redis: TestRedis;
const servers: ApiServer[] = [];
let prefixes = 0;

before(async () => {
  redis = await startRedis();
});

after(async () => {
  await Promise.allSettled(servers.map((s) => s.close()));
  await redis?.stop();
});

/** An API server on its own Redis key prefix: a fresh cluster per test, one Redis for all. */
async function server(opts: Partial<ApiServerOptions> = {}): Promise<ApiServer> {
  const s = await startApiServer({ redisUrl: redis.url, prefix: `t${++prefixes}:`, ...opts });
  servers.push(s);
  return s;
}

interface Reply {
  status: number;
  body: Any;
}

async function call(s: { url: string }, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const init: RequestInit = { method, headers: { 'content-type': 'application/json', ...headers } };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(`${s.url}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed };
}

/** Calls and asserts the status, returning the body. */
async function ok(s: { url: string }, method: string, path: string, body?: unknown, headers?: Record<string, string>, want?: number): Promise<Any> {
  const r = await call(s, method, path, body, headers);
  const expected = want ?? (method === 'POST' ? 201 : 200);
  assert.equal(r.status, expected, `${method} ${path}: ${JSON.stringify(r.body)}`);
  return r.body;
}

const ns = (name: string, labels?: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(labels ? { labels } : {}) } });
const pod = (name: string, labels: Record<string, string> = {}, extra: Any = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels, ...(extra.metadata ?? {}) },
  spec: { containers: [{ name: 'app', image: 'busybox' }], ...(extra.spec ?? {}) },
});
const deployment = (name: string, replicas = 1) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'app:1', env: [{ name: 'A', value: '1' }] }, { name: 'sidecar', image: 'side:1' }] } },
  },
});

interface WatchEvent {
  type: string;
  object: Any;
}

interface Watcher {
  next(timeoutMs?: number): Promise<WatchEvent>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

function watch(s: { url: string }, path: string): Watcher {
  const queue: WatchEvent[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  let endedResolve!: () => void;
  const ended = new Promise<void>((r) => (endedResolve = r));
  const req = http.get(`${s.url}${path}`, (res) => {
    // close() destroys the request, which makes the response emit 'aborted' errors.
    res.on('error', () => {});
    const lines = createInterface({ input: res });
    lines.on('error', () => {});
    lines.on('line', (line) => {
      if (!line.trim()) return;
      queue.push(JSON.parse(line) as WatchEvent);
      wake?.();
    });
    res.on('close', () => {
      done = true;
      endedResolve();
      wake?.();
    });
  });
  req.on('error', () => {
    done = true;
    endedResolve();
    wake?.();
  });
  return {
    ended,
    async next(timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (queue.length === 0) {
        if (done) throw new Error(`watch ${path} ended with no further event`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`watch ${path}: no event within ${timeoutMs} ms`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          wake = () => {
            clearTimeout(t);
            r();
          };
        });
        wake = undefined;
      }
      return queue.shift()!;
    },
    close: () => req.destroy(),
  };
}

const summary = (e: WatchEvent) => `${e.type} ${e.object.metadata?.name ?? ''}`;

describe('objects', () => {
  test('crud_round_trip_with_increasing_resource_versions', async () => {
    const s = await server();
    const n = await ok(s, 'POST', '/api/v1/namespaces', ns('team'));
    assert.equal(n.status.phase, 'Active');
    const created = await ok(s, 'POST', '/api/v1/namespaces/team/configmaps', { metadata: { name: 'cfg' }, data: { a: '1' } });
    assert.equal(created.kind, 'ConfigMap');
    assert.match(created.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.match(created.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(Number(created.metadata.resourceVersion) > Number(n.metadata.resourceVersion));
    const got = await ok(s, 'GET', '/api/v1/namespaces/team/configmaps/cfg');
    assert.deepEqual(got, created);
    const updated = await ok(s, 'PUT', '/api/v1/namespaces/team/configmaps/cfg', { ...got, data: { a: '2' } });
    assert.equal(updated.data.a, '2');
    assert.ok(Number(updated.metadata.resourceVersion) > Number(created.metadata.resourceVersion));
    assert.equal(updated.metadata.uid, created.metadata.uid);
    const list = await ok(s, 'GET', '/api/v1/namespaces/team/configmaps');
    assert.equal(list.kind, 'ConfigMapList');
    assert.deepEqual(list.items.map((i: Any) => i.metadata.name), ['cfg']);
    assert.ok(Number(list.metadata.resourceVersion) >= Number(updated.metadata.resourceVersion));
    const deleted = await ok(s, 'DELETE', '/api/v1/namespaces/team/configmaps/cfg');
    assert.ok(Number(deleted.metadata.resourceVersion) > Number(updated.metadata.resourceVersion));
    const gone = await call(s, 'GET', '/api/v1/namespaces/team/configmaps/cfg');
    assert.equal(gone.status, 404);
    assert.equal(gone.body.reason, 'NotFound');
    assert.equal(gone.body.message, 'configmaps "cfg" not found');
    assert.equal((await call(s, 'POST', '/api/v1/namespaces/team/configmaps', { metadata: { name: 'x' } })).status, 201);
    const again = await call(s, 'POST', '/api/v1/namespaces/team/configmaps', { metadata: { name: 'x' } });
    assert.equal(again.status, 409);
    assert.equal(again.body.reason, 'AlreadyExists');
  });

  test('system_namespaces_exist_and_generate_name_makes_unique_names', async () => {
    const s = await server();
    const names = (await ok(s, 'GET', '/api/v1/namespaces')).items.map((i: Any) => i.metadata.name);
    assert.deepEqual(names, ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
    const a = await ok(s, 'POST', '/api/v1/namespaces/default/pods', { ...pod(''), metadata: { generateName: 'web-' } });
    const b = await ok(s, 'POST', '/api/v1/namespaces/default/pods', { ...pod(''), metadata: { generateName: 'web-' } });
    assert.match(a.metadata.name, /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.notEqual(a.metadata.name, b.metadata.name);
    assert.equal(a.status.phase, 'Pending');
    assert.equal(a.metadata.generateName, 'web-');
  });

  test('list_with_label_selectors_of_each_operator_and_field_selectors', async () => {
    const s = await server();
    await ok(s, 'POST', '/api/v1/namespaces', ns('other'));
    await ok(s, 'POST', '/api/v1/namespaces/default/pods', pod('a', { app: 'web', tier: 'front' }, { spec: { nodeName: 'node-1' } }));
    await ok(s, 'POST', '/api/v1/namespaces/default/pods', pod('b', { app: 'web', tier: 'back' }, { spec: { nodeName: 'node-2' } }));
    await ok(s, 'POST', '/api/v1/namespaces/default/pods', pod('c', { app: 'db' }));
    await ok(s, 'POST', '/api/v1/namespaces/other/pods', pod('d', { app: 'web', canary: 'true' }, { spec: { nodeName: 'node-1' } }));
    const st = await ok(s, 'GET', '/api/v1/namespaces/default/pods/b/status');
    await ok(s, 'PUT', '/api/v1/namespaces/default/pods/b/status', { ...st, status: { phase: 'Running', podIP: '10.244.1.5' } });
    const names = async (path: string, query: Record<string, string>) =>
      (await ok(s, 'GET', `${path}?${new URLSearchParams(query)}`)).items.map((i: Any) => `${i.metadata.namespace}/${i.metadata.name}`);
    const all = '/api/v1/pods';
    assert.deepEqual(await names(all, {}), ['default/a', 'default/b', 'default/c', 'other/d'], 'across namespaces');
    assert.deepEqual(await names('/api/v1/namespaces/default/pods', {}), ['default/a', 'default/b', 'default/c'], 'one namespace');
    assert.deepEqual(await names(all, { labelSelector: 'app=web' }), ['default/a', 'default/b', 'other/d']);
    assert.deepEqual(await names(all, { labelSelector: 'app==db' }), ['default/c']);
    assert.deepEqual(await names(all, { labelSelector: 'app!=web' }), ['default/c']);
    assert.deepEqual(await names(all, { labelSelector: 'tier in (front,back)' }), ['default/a', 'default/b']);
    assert.deepEqual(await names(all, { labelSelector: 'tier notin (front)' }), ['default/b', 'default/c', 'other/d']);
    assert.deepEqual(await names(all, { labelSelector: 'canary' }), ['other/d']);
    assert.deepEqual(await names(all, { labelSelector: '!tier,app=web' }), ['other/d']);
    assert.deepEqual(await names(all, { fieldSelector: 'metadata.name=b' }), ['default/b']);
    assert.deepEqual(await names(all, { fieldSelector: 'metadata.namespace=other' }), ['other/d']);
    assert.deepEqual(await names(all, { fieldSelector: 'spec.nodeName=node-1' }), ['default/a', 'other/d']);
    assert.deepEqual(await names(all, { fieldSelector: 'spec.nodeName=' }), ['default/c'], 'unscheduled');
    assert.deepEqual(await names(all, { fieldSelector: 'status.phase=Running' }), ['default/b']);
    assert.deepEqual(await names(all, { fieldSelector: 'status.phase!=Running,spec.nodeName!=node-2', labelSelector: 'app=web' }), ['default/a', 'other/d']);
    const bad = await call(s, 'GET', '/api/v1/pods?labelSelector=a%20in%20(');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.reason, 'BadRequest');
    assert.equal((await call(s, 'GET', '/api/v1/pods?fieldSelector=spec.image%3Dx')).status, 400);
  });

  test('stale_update_is_a_conflict', async () => {
    const s = await server();
    const v1 = await ok(s, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'c' }, data: { n: '1' } });
    await ok(s, 'PUT', '/api/v1/namespaces/default/configmaps/c', { ...v1, data: { n: '2' } });
    const stale = await call(s, 'PUT', '/api/v1/namespaces/default/configmaps/c', { ...v1, data: { n: '3' } });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.reason, 'Conflict');
    assert.match(stale.body.message, /Operation cannot be fulfilled on configmaps "c": the object has been modified/);
    assert.equal((await ok(s, 'GET', '/api/v1/namespaces/default/configmaps/c')).data.n, '2');
    const nochange = await ok(s, 'PUT', '/api/v1/namespaces/default/configmaps/c', { metadata: { name: 'c' }, data: { n: '2' } });
    const cur = await ok(s, 'GET', '/api/v1/namespaces/default/configmaps/c');
    assert.equal(nochange.metadata.resourceVersion, cur.metadata.resourceVersion, 'a no-op update writes nothing');
  });

  test('concurrent_patches_of_one_object_all_apply', async () => {
    const s = await server();
    await ok(s, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'busy' } });
    const n = 100;
    const codes = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        call(s, 'PATCH', '/api/v1/namespaces/default/configmaps/busy', { data: { [`k${i}`]: 'v' } }, { 'content-type': 'application/merge-patch+json' }).then((r) => r.status),
      ),
    );
    assert.deepEqual(new Set(codes), new Set([200]));
    assert.equal(Object.keys((await ok(s, 'GET', '/api/v1/namespaces/default/configmaps/busy')).data).length, n, 'no write lost');
  });

  test('merge_patch_and_strategic_merge_patch_of_deployment_containers', async () => {
    const s = await server();
    const path = '/apis/apps/v1/namespaces/default/deployments/web';
    const d = await ok(s, 'POST', '/apis/apps/v1/namespaces/default/deployments', deployment('web'));
    assert.equal(d.metadata.generation, 1);
    const smp = await ok(s, 'PATCH', path, { spec: { template: { spec: { containers: [{ name: 'app', image: 'app:2' }] } } } }, { 'content-type': 'application/strategic-merge-patch+json' });
    assert.deepEqual(smp.spec.template.spec.containers.map((c: Any) => `${c.name}=${c.image}`), ['app=app:2', 'sidecar=side:1'], 'merged by name');
    assert.deepEqual(smp.spec.template.spec.containers[0].env, [{ name: 'A', value: '1' }]);
    assert.equal(smp.metadata.generation, 2);
    const del = await ok(s, 'PATCH', path, { spec: { template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } } } }, { 'content-type': 'application/strategic-merge-patch+json' });
    assert.deepEqual(del.spec.template.spec.containers.map((c: Any) => c.name), ['app']);
    const merge = await ok(s, 'PATCH', path, { metadata: { labels: { team: 'a' } }, spec: { replicas: 3, template: { spec: { containers: [{ name: 'only', image: 'o:1' }] } } } }, { 'content-type': 'application/merge-patch+json' });
    assert.deepEqual(merge.spec.template.spec.containers.map((c: Any) => c.name), ['only'], 'merge patch replaces lists');
    assert.equal(merge.spec.replicas, 3);
    assert.equal(merge.metadata.labels.team, 'a');
    const json = await ok(s, 'PATCH', path, [{ op: 'replace', path: '/spec/replicas', value: 4 }], { 'content-type': 'application/json-patch+json' });
    assert.equal(json.spec.replicas, 4);
    const failed = await call(s, 'PATCH', path, [{ op: 'test', path: '/spec/replicas', value: 1 }], { 'content-type': 'application/json-patch+json' });
    assert.equal(failed.status, 422);
    const precondition = await call(s, 'PATCH', path, { metadata: { resourceVersion: d.metadata.resourceVersion }, spec: { replicas: 9 } }, { 'content-type': 'application/merge-patch+json' });
    assert.equal(precondition.status, 409, 'a patch that names a stale resourceVersion conflicts');
    const ssa = await call(s, 'PATCH', path, 'x: 1', { 'content-type': 'application/apply-patch+yaml' });
    assert.equal(ssa.status, 400, 'server-side apply is served (test/apiserver-apply.test.ts) and needs a fieldManager');
    const unknown = await call(s, 'PATCH', path, '{}', { 'content-type': 'application/x-unknown-patch' });
    assert.equal(unknown.status, 415);
    const gw = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'w' }, spec: { gatewayClassName: 'ambient-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] } };
    await ok(s, 'POST', '/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways', gw);
    const crdSmp = await call(s, 'PATCH', '/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/w', { spec: {} }, { 'content-type': 'application/strategic-merge-patch+json' });
    assert.equal(crdSmp.status, 415, 'as for custom resources on a real cluster');
  });

  test('status_subresource_is_separate_from_the_main_resource', async () => {
    const s = await server();
    const path = '/apis/apps/v1/namespaces/default/deployments/web';
    const d = await ok(s, 'POST', '/apis/apps/v1/namespaces/default/deployments', { ...deployment('web'), status: { replicas: 99 } });
    assert.equal(d.status, undefined, 'status from the client is dropped on create');
    const st = await ok(s, 'PUT', `${path}/status`, { ...d, spec: { ...d.spec, replicas: 7 }, status: { replicas: 1, readyReplicas: 1 } });
    assert.deepEqual(st.status, { replicas: 1, readyReplicas: 1 });
    assert.equal(st.spec.replicas, 1, '/status ignores spec');
    assert.equal(st.metadata.generation, 1, 'status writes do not bump generation');
    const main = await ok(s, 'PUT', path, { ...st, spec: { ...st.spec, replicas: 2 }, status: { replicas: 50 } });
    assert.equal(main.spec.replicas, 2);
    assert.deepEqual(main.status, { replicas: 1, readyReplicas: 1 }, 'main resource ignores status');
    assert.equal(main.metadata.generation, 2);
    const patched = await ok(s, 'PATCH', `${path}/status`, { status: { availableReplicas: 1 }, spec: { replicas: 9 } }, { 'content-type': 'application/merge-patch+json' });
    assert.deepEqual(patched.status, { replicas: 1, readyReplicas: 1, availableReplicas: 1 });
    assert.equal(patched.spec.replicas, 2);
    const podPath = '/api/v1/namespaces/default/pods';
    await ok(s, 'POST', podPath, pod('p'));
    const p = await ok(s, 'PATCH', `${podPath}/p/status`, { status: { phase: 'Running', podIP: '10.244.0.9' } }, { 'content-type': 'application/merge-patch+json' });
    assert.equal(p.status.phase, 'Running');
    assert.equal((await call(s, 'GET', '/api/v1/namespaces/default/configmaps/x/status')).status, 404, 'no status subresource');
    assert.equal((await ok(s, 'GET', `${path}/scale`)).spec.replicas, 2);
    const scaled = await ok(s, 'PATCH', `${path}/scale`, { spec: { replicas: 5 } }, { 'content-type': 'application/merge-patch+json' });
    assert.deepEqual([scaled.kind, scaled.spec.replicas, scaled.status.selector], ['Scale', 5, 'app=web']);
    assert.equal((await ok(s, 'GET', path)).spec.replicas, 5);
  });

  test('cascade_delete_by_owner_references_and_by_namespace', async () => {
    const s = await server({ namespaceCleanupDelayMs: 50 });
    await ok(s, 'POST', '/api/v1/namespaces', ns('shop'));
    const d = await ok(s, 'POST', '/apis/apps/v1/namespaces/shop/deployments', deployment('web'));
    const owner = (o: Any) => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, uid: o.metadata.uid, controller: true });
    const p1 = await ok(s, 'POST', '/api/v1/namespaces/shop/pods', pod('web-1', { app: 'web' }, { metadata: { ownerReferences: [owner(d)] } }));
    await ok(s, 'POST', '/api/v1/namespaces/shop/configmaps', { metadata: { name: 'of-pod', ownerReferences: [owner(p1)] } });
    const keeper = await ok(s, 'POST', '/api/v1/namespaces/shop/configmaps', { metadata: { name: 'keeper' } });
    await ok(s, 'POST', '/api/v1/namespaces/shop/configmaps', { metadata: { name: 'two-owners', ownerReferences: [owner(d), { ...owner(keeper), controller: false }] } });
    await ok(s, 'POST', '/api/v1/namespaces/shop/pods', pod('unrelated'));
    await ok(s, 'DELETE', '/apis/apps/v1/namespaces/shop/deployments/web');
    const pods = (await ok(s, 'GET', '/api/v1/namespaces/shop/pods')).items.map((i: Any) => i.metadata.name);
    assert.deepEqual(pods, ['unrelated']);
    const cms = (await ok(s, 'GET', '/api/v1/namespaces/shop/configmaps')).items.map((i: Any) => i.metadata.name);
    assert.deepEqual(cms, ['keeper', 'two-owners'], 'transitive dependents go; one with a living owner stays');
    const orphanOwner = await ok(s, 'POST', '/api/v1/namespaces/shop/configmaps', { metadata: { name: 'parent' } });
    await ok(s, 'POST', '/api/v1/namespaces/shop/configmaps', { metadata: { name: 'child', ownerReferences: [owner({ ...orphanOwner, apiVersion: 'v1', kind: 'ConfigMap' })] } });
    await ok(s, 'DELETE', '/api/v1/namespaces/shop/configmaps/parent', { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Orphan' });
    assert.equal((await call(s, 'GET', '/api/v1/namespaces/shop/configmaps/child')).status, 200, 'orphaned, not deleted');

    const rv = (await ok(s, 'GET', '/api/v1/namespaces')).metadata.resourceVersion;
    const w = watch(s, `/api/v1/pods?watch=true&resourceVersion=${rv}`);
    const nsw = watch(s, `/api/v1/namespaces?watch=true&resourceVersion=${rv}&fieldSelector=metadata.name%3Dshop`);
    try {
      const terminating = await ok(s, 'DELETE', '/api/v1/namespaces/shop');
      assert.equal(terminating.status.phase, 'Terminating', 'as on a real cluster, the namespace terminates first');
      assert.ok(terminating.metadata.deletionTimestamp);
      const late = await call(s, 'POST', '/api/v1/namespaces/shop/pods', pod('late'));
      assert.equal(late.status, 403, 'no new content in a terminating namespace');
      assert.match(late.body.message, /because it is being terminated/);
      assert.equal(summary(await w.next()), 'DELETED unrelated');
      assert.deepEqual([await nsw.next(), await nsw.next()].map(summary), ['MODIFIED shop', 'DELETED shop'], 'contents first, then the namespace');
      assert.equal((await call(s, 'GET', '/api/v1/namespaces/shop')).status, 404);
      assert.deepEqual((await ok(s, 'GET', '/api/v1/namespaces/shop/configmaps')).items, []);
      const gone = await call(s, 'POST', '/api/v1/namespaces/shop/pods', pod('later'));
      assert.equal(gone.status, 404);
      assert.equal(gone.body.message, 'namespaces "shop" not found');
    } finally {
      w.close();
      nsw.close();
    }
    const forbidden = await call(s, 'DELETE', '/api/v1/namespaces/default');
    assert.equal(forbidden.status, 403);
  });

  test('service_gets_a_cluster_ip_from_the_service_range', async () => {
    const s = await server();
    const svc = (name: string, spec: Any = {}) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec } });
    const a = await ok(s, 'POST', '/api/v1/namespaces/default/services', svc('a'));
    const b = await ok(s, 'POST', '/api/v1/namespaces/default/services', svc('b'));
    assert.deepEqual([a.spec.clusterIP, b.spec.clusterIP], ['10.96.0.2', '10.96.0.3']);
    assert.deepEqual(a.spec.ports, [{ port: 80, protocol: 'TCP', targetPort: 80 }]);
    const dns = await ok(s, 'POST', '/api/v1/namespaces/default/services', svc('dns', { clusterIP: '10.96.0.10' }));
    assert.equal(dns.spec.clusterIP, '10.96.0.10');
    const taken = await call(s, 'POST', '/api/v1/namespaces/default/services', svc('dup', { clusterIP: '10.96.0.10' }));
    assert.equal(taken.status, 422);
    const moved = await call(s, 'PUT', '/api/v1/namespaces/default/services/a', { ...a, spec: { ...a.spec, clusterIP: '10.96.0.50', clusterIPs: ['10.96.0.50'] } });
    assert.equal(moved.status, 422);
    assert.match(moved.body.message, /spec.clusterIP: Invalid value: "10.96.0.50": field is immutable/);
  });
});

describe('watch', () => {
  test('watch_from_resource_version_replays_in_order_then_streams_live', async () => {
    const s = await server();
    const start = (await ok(s, 'GET', '/api/v1/namespaces/default/configmaps')).metadata.resourceVersion;
    const c = await ok(s, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'a', labels: { app: 'x' } } });
    await ok(s, 'PUT', '/api/v1/namespaces/default/configmaps/a', { ...c, data: { k: 'v' } });
    await ok(s, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'other', labels: { app: 'y' } } });
    await ok(s, 'DELETE', '/api/v1/namespaces/default/configmaps/a');
    await ok(s, 'POST', '/api/v1/namespaces/default/pods', pod('not-a-configmap'));
    const all = watch(s, `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${start}`);
    const sel = watch(s, `/api/v1/configmaps?watch=1&resourceVersion=${start}&labelSelector=app%3Dx`);
    try {
      const got: WatchEvent[] = [];
      for (let i = 0; i < 4; i++) got.push(await all.next());
      assert.deepEqual(got.map(summary), ['ADDED a', 'MODIFIED a', 'ADDED other', 'DELETED a']);
      const rvs = got.map((e) => Number(e.object.metadata.resourceVersion));
      assert.deepEqual(rvs, [...rvs].sort((x, y) => x - y), 'in resourceVersion order');
      assert.ok(rvs[0]! > Number(start));
      assert.deepEqual([await sel.next(), await sel.next(), await sel.next()].map(summary), ['ADDED a', 'MODIFIED a', 'DELETED a']);
      await ok(s, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'live', labels: { app: 'x' } } });
      assert.equal(summary(await all.next()), 'ADDED live');
      assert.equal(summary(await sel.next()), 'ADDED live');
      await ok(s, 'PATCH', '/api/v1/namespaces/default/configmaps/live', { metadata: { labels: { app: 'z' } } }, { 'content-type': 'application/merge-patch+json' });
      assert.equal(summary(await all.next()), 'MODIFIED live');
      assert.equal(summary(await sel.next()), 'DELETED live', 'leaving the selection');
    } finally {
      all.close();
      sel.close();
    }
  });

  test('watch_without_resource_version_starts_with_current_objects', async () => {
    const s = await server();
    await ok(s, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'existing' } });
    const w = watch(s, '/api/v1/namespaces/default/configmaps?watch=true');
    const legacy = watch(s, '/api/v1/watch/namespaces/default/configmaps/existing');
    const streaming = watch(s, '/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan');
    try {
      assert.equal(summary(await w.next()), 'ADDED existing');
      assert.equal(summary(await legacy.next()), 'ADDED existing');
      assert.equal(summary(await streaming.next()), 'ADDED existing');
      const end = await streaming.next();
      assert.equal(end.type, 'BOOKMARK');
      assert.equal(end.object.metadata.annotations['k8s.io/initial-events-end'], 'true', 'the streaming-list protocol');
      await ok(s, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'new' } });
      assert.equal(summary(await w.next()), 'ADDED new');
      await ok(s, 'DELETE', '/api/v1/namespaces/default/configmaps/existing');
      assert.equal(summary(await w.next()), 'DELETED existing');
      assert.equal(summary(await legacy.next()), 'DELETED existing', 'the by-name watch saw only its object');
    } finally {
      w.close();
      legacy.close();
      streaming.close();
    }
  });

  test('bookmarks_arrive_when_asked_and_timeout_ends_the_watch', async () => {
    const s = await server({ bookmarkIntervalMs: 100 });
    const c = await ok(s, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'a' } });
    const w = watch(s, `/api/v1/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion=${c.metadata.resourceVersion}&timeoutSeconds=2`);
    const plain = watch(s, `/api/v1/configmaps?watch=true&resourceVersion=${c.metadata.resourceVersion}&timeoutSeconds=1`);
    try {
      await ok(s, 'POST', '/api/v1/namespaces/default/secrets', { metadata: { name: 'unrelated' } });
      assert.equal(summary(await w.next(3_000)), 'BOOKMARK ');
      const b = await w.next(3_000);
      assert.equal(b.type, 'BOOKMARK');
      assert.deepEqual(Object.keys(b.object), ['kind', 'apiVersion', 'metadata']);
      assert.equal(b.object.kind, 'ConfigMap');
      assert.ok(Number(b.object.metadata.resourceVersion) > Number(c.metadata.resourceVersion), 'a bookmark carries the current resourceVersion');
      await plain.ended;
      await assert.rejects(plain.next(100), /ended/, 'no bookmark unless asked');
      await w.ended;
    } finally {
      w.close();
      plain.close();
    }
  });

  test('watch_from_compacted_resource_version_gets_410_expired', async () => {
    const s = await server({ historySize: 5 });
    const first = await ok(s, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'c0' } });
    for (let i = 1; i < 10; i++) await ok(s, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: `c${i}` } });
    const w = watch(s, `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${first.metadata.resourceVersion}`);
    try {
      const e = await w.next();
      assert.equal(e.type, 'ERROR');
      assert.deepEqual([e.object.kind, e.object.status, e.object.reason, e.object.code], ['Status', 'Failure', 'Expired', 410]);
      assert.match(e.object.message, /too old resource version/);
      await w.ended;
    } finally {
      w.close();
    }
    const recent = (await ok(s, 'GET', '/api/v1/namespaces/default/configmaps/c8')).metadata.resourceVersion;
    const ok2 = watch(s, `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${recent}`);
    try {
      assert.equal(summary(await ok2.next()), 'ADDED c9', 'a recent version still replays');
    } finally {
      ok2.close();
    }
  });

  test('watch_resumes_across_an_api_server_restart', async () => {
    const prefix = `restart${++prefixes}:`;
    const first = await server({ prefix });
    const before = await ok(first, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'a' } });
    await ok(first, 'PATCH', '/api/v1/namespaces/default/configmaps/a', { data: { x: '1' } }, { 'content-type': 'application/merge-patch+json' });
    const token = await ok(first, 'POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'sa' } });
    const tr = await ok(first, 'POST', `/api/v1/namespaces/default/serviceaccounts/${token.metadata.name}/token`, { spec: {} });
    await first.close();
    const second = await server({ prefix });
    const after = await ok(second, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'b' } });
    assert.ok(Number(after.metadata.resourceVersion) > Number(before.metadata.resourceVersion), 'resourceVersion keeps increasing');
    const w = watch(second, `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${before.metadata.resourceVersion}`);
    try {
      assert.deepEqual([await w.next(), await w.next()].map(summary), ['MODIFIED a', 'ADDED b']);
      await ok(second, 'DELETE', '/api/v1/namespaces/default/configmaps/a');
      assert.equal(summary(await w.next()), 'DELETED a');
    } finally {
      w.close();
    }
    const review = await ok(second, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: tr.status.token } });
    assert.equal(review.status.authenticated, true, 'the signing key outlives the server');
  });
});

describe('errors', () => {
  test('malformed_json_is_400_invalid_object_is_422_and_the_next_request_works', async () => {
    const s = await server();
    const bad = await call(s, 'POST', '/api/v1/namespaces/default/pods', '{\n  "metadata": {"name": "p"},\n  "spec": }');
    assert.equal(bad.status, 400);
    assert.deepEqual([bad.body.kind, bad.body.apiVersion, bad.body.status, bad.body.reason, bad.body.code], ['Status', 'v1', 'Failure', 'BadRequest', 400]);
    assert.match(bad.body.message, /not valid JSON: .* at line 3, column 11/);
    const invalid = await call(s, 'POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'Bad_Name' }, spec: { containers: [{ name: 'c' }] } });
    assert.equal(invalid.status, 422);
    assert.equal(invalid.body.reason, 'Invalid');
    assert.equal(invalid.body.details.kind, 'Pod');
    assert.equal(invalid.body.details.name, 'Bad_Name');
    assert.deepEqual(invalid.body.details.causes.map((c: Any) => [c.reason, c.field]), [
      ['FieldValueInvalid', 'metadata.name'],
      ['FieldValueRequired', 'spec.containers[0].image'],
    ]);
    assert.match(invalid.body.message, /^Pod "Bad_Name" is invalid: \[metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain.*, spec.containers\[0\].image: Required value\]$/);
    const deploy = { ...deployment('web'), spec: { ...deployment('web').spec, selector: { matchLabels: { app: 'other' } } } };
    const mismatch = await call(s, 'POST', '/apis/apps/v1/namespaces/default/deployments', deploy);
    assert.equal(mismatch.status, 422);
    assert.deepEqual(mismatch.body.details.causes.map((c: Any) => c.field), ['spec.template.metadata.labels']);
    const port = await call(s, 'POST', '/api/v1/namespaces/default/services', { metadata: { name: 's' }, spec: { ports: [{ port: 70000 }] } });
    assert.equal(port.status, 422);
    // targetPort defaults to port, so it is out of range too (as kube-apiserver reports it).
    assert.deepEqual(port.body.details.causes.map((c: Any) => c.field), ['spec.ports[0].port', 'spec.ports[0].targetPort']);
    const noNs = await call(s, 'POST', '/api/v1/pods', pod('p'));
    assert.equal(noNs.status, 422);
    assert.deepEqual(noNs.body.details.causes.map((c: Any) => c.field), ['metadata.namespace']);
    const missingNs = await call(s, 'POST', '/api/v1/namespaces/nowhere/pods', pod('p'));
    assert.equal(missingNs.status, 404);
    assert.equal(missingNs.body.message, 'namespaces "nowhere" not found');
    const wrongKind = await call(s, 'POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' } });
    assert.equal(wrongKind.status, 400);
    const notObject = await call(s, 'POST', '/api/v1/namespaces/default/pods', '[1,2]');
    assert.equal(notObject.status, 400);
    const created = await ok(s, 'POST', '/api/v1/namespaces/default/pods', pod('good'));
    assert.equal(created.metadata.name, 'good', 'bad requests did not disturb the server');
  });

  test('mesh_policies_with_wrongly_typed_fields_and_loopback_endpoints_are_refused_at_admission', async () => {
    const s = await server();
    await installMeshCrds(kubeConfigForServer(s.url));
    const ap = (spec: unknown) => ({ apiVersion: 'ambient.dev/v1', kind: 'AuthorizationPolicy', metadata: { name: 'ap' }, spec });
    const to = await call(s, 'POST', '/apis/ambient.dev/v1/namespaces/default/authorizationpolicies', ap({ action: 'ALLOW', rules: [{ to: 42 }] }));
    assert.equal(to.status, 422, JSON.stringify(to.body));
    assert.equal(to.body.reason, 'Invalid');
    assert.equal(to.body.message, 'AuthorizationPolicy "ap" is invalid: spec.rules[0].to: Invalid value: "integer": spec.rules[0].to in body must be of type array: "integer"');
    assert.deepEqual(to.body.details.causes.map((c: Any) => [c.reason, c.field]), [['FieldValueTypeInvalid', 'spec.rules[0].to']]);
    const principals = await call(s, 'POST', '/apis/ambient.dev/v1/namespaces/default/authorizationpolicies', ap({ rules: [{ from: [{ source: { principals: 7 } }] }] }));
    assert.equal(principals.status, 422);
    assert.deepEqual(principals.body.details.causes.map((c: Any) => c.field), ['spec.rules[0].from[0].source.principals']);
    const pa = { apiVersion: 'ambient.dev/v1', kind: 'PeerAuthentication', metadata: { name: 'pa' }, spec: { selector: { matchLabels: { app: 5 } }, mtls: { mode: 'STRICT' } } };
    const label = await call(s, 'POST', '/apis/ambient.dev/v1/namespaces/default/peerauthentications', pa);
    assert.equal(label.status, 422);
    assert.deepEqual(label.body.details.causes.map((c: Any) => c.field), ['spec.selector.matchLabels.app']);
    // A patch that would make a stored policy ill-typed is refused the same way.
    await ok(s, 'POST', '/apis/ambient.dev/v1/namespaces/default/authorizationpolicies', ap({ action: 'DENY', rules: [{ from: [{ source: { principals: ['x'] } }] }] }));
    const patched = await call(s, 'PATCH', '/apis/ambient.dev/v1/namespaces/default/authorizationpolicies/ap', { spec: { rules: [{ from: [{ source: { principals: 7 } }] }] } }, { 'content-type': 'application/merge-patch+json' });
    assert.equal(patched.status, 422);
    const slice = (addresses: string[]) => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'echo-x', labels: { 'kubernetes.io/service-name': 'echo' } },
      addressType: 'IPv4',
      endpoints: [{ addresses }],
      ports: [{ port: 8080, protocol: 'TCP' }],
    });
    const loop = await call(s, 'POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', slice(['127.0.0.1']));
    assert.equal(loop.status, 422);
    assert.match(loop.body.message, /endpoints\[0\]\.addresses\[0\]: Invalid value: "127.0.0.1": may not be in the loopback range/);
    assert.equal((await call(s, 'POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', slice(['169.254.169.254']))).status, 422);
    await ok(s, 'POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', slice(['10.244.1.7']));
  });

  test('unknown_kinds_methods_and_oversized_bodies', async () => {
    const s = await server({ maxBodyBytes: 64 * 1024 });
    const unknown = await call(s, 'GET', '/apis/example.com/v1/widgets');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.kind, 'Status');
    assert.equal((await call(s, 'GET', '/api/v1/namespaces/default/widgets')).status, 404);
    assert.equal((await call(s, 'GET', '/api/v1/namespaces/default/nodes')).status, 404, 'cluster-scoped kind under a namespace');
    const method = await call(s, 'POST', '/api/v1/namespaces/default/pods/p', pod('p'));
    assert.equal(method.status, 405);
    assert.equal(method.body.reason, 'MethodNotAllowed');
    assert.equal((await call(s, 'GET', '/apis/authentication.k8s.io/v1/tokenreviews')).status, 405);
    const big = await call(s, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'big' }, data: { x: 'y'.repeat(100 * 1024) } });
    assert.equal(big.status, 413);
    assert.equal(big.body.reason, 'RequestEntityTooLarge');
    assert.equal((await call(s, 'GET', '/healthz')).body, 'ok');
    const v = await ok(s, 'GET', '/version');
    assert.equal(v.major, '1');
    assert.equal((await call(s, 'GET', '/openapi/v2')).status, 404);
  });
});

describe('oversize requests', () => {
  /** Sends `head` then `body` in chunks on a raw connection; collects what comes back until the server closes or `until` holds. */
  async function rawExchange(
    port: number,
    head: string,
    chunks: Iterable<Buffer>,
    until: (received: string) => boolean,
  ): Promise<{ received: string; written: number; closed: boolean; socket: net.Socket }> {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    let received = '';
    let closed = false;
    let written = 0;
    socket.on('data', (d) => (received += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => (closed = true));
    socket.write(head);
    for (const c of chunks) {
      if (closed || socket.destroyed || !socket.writable) break;
      if (!socket.write(c)) await Promise.race([once(socket, 'drain'), once(socket, 'close'), new Promise((r) => setTimeout(r, 200))]);
      written += c.length;
    }
    const deadline = Date.now() + 10_000;
    while (!closed && !until(received) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return { received, written, closed, socket };
  }

  const statusOf = (raw: string): Any => JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4, raw.indexOf('}', raw.lastIndexOf('"code"')) + 1));

  test('oversize_body_gets_a_413_status_while_the_client_is_still_sending_and_the_connection_survives', async () => {
    const s = await server({ maxBodyBytes: 1024 });
    const body = Buffer.alloc(256 * 1024, 'y');
    const head = `POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
    const chunks = Array.from({ length: 64 }, (_, i) => body.subarray(i * 4096, (i + 1) * 4096));
    const { received, written, closed, socket } = await rawExchange(s.port, head, chunks, (r) => r.includes('"code":413}'));
    try {
      assert.equal(written, body.length, 'the whole body could be sent: no reset');
      assert.equal(closed, false);
      assert.match(received, /^HTTP\/1\.1 413 /);
      const st = statusOf(received);
      assert.deepEqual([st.kind, st.status, st.reason, st.code, st.message], ['Status', 'Failure', 'RequestEntityTooLarge', 413, 'Request entity too large: limit is 1024']);
      // The connection goes on: the next request on it is served.
      let more = '';
      socket.on('data', (d) => (more += d.toString('latin1')));
      socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
      const deadline = Date.now() + 5_000;
      while (!more.includes('\r\n\r\nok') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.match(more, /^HTTP\/1\.1 200 [\s\S]*\r\n\r\nok$/);
    } finally {
      socket.destroy();
    }
  });

  test('endless_oversize_body_gets_its_413_then_the_connection_is_closed_within_the_discard_bound', async () => {
    const s = await server({ maxBodyBytes: 1024, maxDiscardBytes: 64 * 1024 });
    const head = 'POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n';
    const chunk = Buffer.concat([Buffer.from('1000\r\n'), Buffer.alloc(4096, 'y'), Buffer.from('\r\n')]);
    function* endless(): Generator<Buffer> {
      for (let i = 0; i < 16 * 1024; i++) yield chunk; // 64 MiB at most: the server must stop us long before
    }
    const { received, written, closed, socket } = await rawExchange(s.port, head, endless(), () => false);
    socket.destroy();
    assert.ok(closed, 'the server closed the connection');
    assert.ok(written < 16 * 1024 * 1024, `the server stopped reading after ${written} bytes`);
    assert.match(received, /^HTTP\/1\.1 413 /, 'the answer arrived before the close');
    assert.equal(statusOf(received).reason, 'RequestEntityTooLarge');
  });

  test('object_over_the_object_limit_is_413_even_when_the_body_fits', async () => {
    const s = await server({ maxObjectBytes: 16 * 1024 });
    const big = await call(s, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'big' }, data: { x: 'y'.repeat(20 * 1024) } });
    assert.equal(big.status, 413);
    assert.equal(big.body.reason, 'RequestEntityTooLarge');
    assert.match(big.body.message, /^Request entity too large: configmaps "big" would be \d+ bytes, limit is 16384$/);
    // Grown past the limit by a small patch: refused too, and the stored object is unchanged.
    await ok(s, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'grows' }, data: { x: 'y'.repeat(10 * 1024) } });
    const grown = await call(s, 'PATCH', '/api/v1/namespaces/default/configmaps/grows', { data: { z: 'y'.repeat(10 * 1024) } }, { 'content-type': 'application/merge-patch+json' });
    assert.equal(grown.status, 413);
    assert.deepEqual(Object.keys((await ok(s, 'GET', '/api/v1/namespaces/default/configmaps/grows')).data), ['x']);
  });
});

describe('tokens', () => {
  test('token_request_and_review', async () => {
    const s = await server();
    await ok(s, 'POST', '/api/v1/namespaces', ns('mesh'));
    const sa = await ok(s, 'POST', '/api/v1/namespaces/mesh/serviceaccounts', { metadata: { name: 'agent' } });
    const p = await ok(s, 'POST', '/api/v1/namespaces/mesh/pods', pod('agent-1', {}, { spec: { serviceAccountName: 'agent' } }));
    const tr = await ok(s, 'POST', '/api/v1/namespaces/mesh/serviceaccounts/agent/token', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { audiences: ['ambient-controller'], expirationSeconds: 3600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'agent-1', uid: p.metadata.uid } },
    });
    assert.equal(tr.kind, 'TokenRequest');
    assert.ok(Date.parse(tr.status.expirationTimestamp) > Date.now() + 3500_000);
    const claims = JSON.parse(Buffer.from(tr.status.token.split('.')[1], 'base64url').toString());
    assert.equal(claims.sub, 'system:serviceaccount:mesh:agent');
    assert.deepEqual(claims.aud, ['ambient-controller']);
    assert.deepEqual(claims['kubernetes.io'], { namespace: 'mesh', serviceaccount: { name: 'agent', uid: sa.metadata.uid }, pod: { name: 'agent-1', uid: p.metadata.uid } });
    const review = (token: string, audiences?: string[]) =>
      ok(s, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, ...(audiences ? { audiences } : {}) } });
    const good = await review(tr.status.token, ['ambient-controller']);
    assert.equal(good.status.authenticated, true);
    assert.equal(good.status.user.username, 'system:serviceaccount:mesh:agent');
    assert.equal(good.status.user.uid, sa.metadata.uid);
    assert.deepEqual(good.status.user.groups, ['system:serviceaccounts', 'system:serviceaccounts:mesh', 'system:authenticated']);
    assert.deepEqual(good.status.user.extra['authentication.kubernetes.io/pod-name'], ['agent-1']);
    assert.deepEqual(good.status.user.extra['authentication.kubernetes.io/pod-uid'], [p.metadata.uid]);
    assert.deepEqual(good.status.audiences, ['ambient-controller']);
    assert.equal((await review(tr.status.token)).status.authenticated, false, 'not for the API server audience');
    assert.equal((await review(tr.status.token, ['someone-else'])).status.authenticated, false);
    const [h, body, sig] = tr.status.token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'system:serviceaccount:mesh:admin' })).toString('base64url');
    const tampered = await review(`${h}.${forged}.${sig}`, ['ambient-controller']);
    assert.equal(tampered.status.authenticated, false);
    assert.match(tampered.status.error, /invalid signature/);
    assert.equal((await review(`${h}.${body}.${sig!.slice(0, -2)}AA`, ['ambient-controller'])).status.authenticated, false);
    await ok(s, 'DELETE', '/api/v1/namespaces/mesh/pods/agent-1');
    const deleted = await review(tr.status.token, ['ambient-controller']);
    assert.equal(deleted.status.authenticated, false, 'the bound pod is gone');
    assert.match(deleted.status.error, /pod mesh\/agent-1 has been deleted/);
    assert.equal((await call(s, 'POST', '/api/v1/namespaces/mesh/serviceaccounts/nobody/token', {})).status, 404);
    assert.equal((await call(s, 'POST', '/api/v1/namespaces/mesh/serviceaccounts/agent/token', { spec: { expirationSeconds: 10 } })).status, 422);
  });

  test('attached_listener_needs_a_bearer_token', async () => {
    const s = await server();
    const extra = net.createServer();
    extra.listen(0, '127.0.0.1');
    await once(extra, 'listening');
    const detach = s.attach(extra);
    const other = { url: `http://127.0.0.1:${(extra.address() as net.AddressInfo).port}` };
    try {
      const anon = await call(other, 'GET', '/api/v1/namespaces');
      assert.equal(anon.status, 401);
      assert.equal(anon.body.reason, 'Unauthorized');
      assert.equal((await call(other, 'GET', '/healthz')).status, 200, 'health is public');
      await ok(s, 'POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'ctl' } });
      const tr = await ok(s, 'POST', '/api/v1/namespaces/default/serviceaccounts/ctl/token', {});
      const authed = await call(other, 'GET', '/api/v1/namespaces', undefined, { authorization: `Bearer ${tr.status.token}` });
      assert.equal(authed.status, 200);
      assert.equal((await call(other, 'GET', '/api/v1/namespaces', undefined, { authorization: 'Bearer nope' })).status, 401);
    } finally {
      detach();
      extra.close();
    }
  });
});

describe('admin token', () => {
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const review = (s: { url: string }, token: string, audiences?: string[]) =>
    call(s, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, ...(audiences ? { audiences } : {}) } }, bearer(adminOf(s)));
  const admins = new WeakMap<object, string>();
  const adminOf = (s: object) => admins.get(s)!;
  async function adminServer(): Promise<ApiServer> {
    const token = newAdminToken();
    const s = await server({ adminToken: token });
    admins.set(s, token);
    return s;
  }

  test('the_admin_token_is_the_admin_and_without_it_loopback_is_401', async () => {
    const s = await adminServer();
    const anon = await call(s, 'GET', '/api/v1/namespaces');
    assert.equal(anon.status, 401, 'loopback without credentials is nobody once the cluster has an admin token');
    assert.deepEqual([anon.body.kind, anon.body.reason, anon.body.code], ['Status', 'Unauthorized', 401]);
    assert.equal((await call(s, 'GET', '/healthz')).status, 200, 'health stays public');
    assert.equal((await call(s, 'GET', '/version')).status, 200);
    await ok(s, 'POST', '/api/v1/namespaces', ns('ambient-system'), bearer(adminOf(s)));
    await ok(s, 'POST', '/api/v1/namespaces/ambient-system/secrets', { metadata: { name: 'ambient-ca' }, data: { k: 'dg==' } }, bearer(adminOf(s)));
    const listed = await ok(s, 'GET', '/api/v1/secrets', undefined, bearer(adminOf(s)));
    assert.deepEqual(listed.items.map((i: Any) => i.metadata.name), ['ambient-ca'], 'the admin reads every Secret');
  });

  test('token_review_of_the_admin_token_names_the_admin_user_for_the_api_servers_audience_only', async () => {
    const s = await adminServer();
    const r = await review(s, adminOf(s));
    assert.equal(r.status, 201);
    assert.deepEqual(r.body.status, {
      authenticated: true,
      user: { username: 'ambient-admin', uid: 'ambient-admin', groups: ['system:masters', 'system:authenticated'], extra: {} },
      audiences: ['https://kubernetes.default.svc.cluster.local'],
    });
    const other = await review(s, adminOf(s), ['ambient-controller']);
    assert.equal(other.body.status.authenticated, false, 'not a token for the mesh controller\'s audience');
    assert.match(other.body.status.error, /valid for \["https:\/\/kubernetes\.default\.svc\.cluster\.local"\] only/);
    // What the controller's API asks next: may that user do it?
    const sar = await call(s, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      spec: { user: r.body.status.user.username, groups: r.body.status.user.groups, resourceAttributes: { verb: 'patch', group: 'gateway.networking.k8s.io', resource: 'httproutes', namespace: 'apps', name: 'echo' } },
    }, bearer(adminOf(s)));
    assert.equal(sar.status, 201);
    assert.equal(sar.body.status.allowed, true);
  });

  test('kubectl_with_the_admin_kubeconfig_over_https_lists_pods_and_with_a_wrong_token_is_unauthorized', async () => {
    // As the local cluster serves it: HTTPS on the loopback with the cluster CA's certificate
    // (kubectl sends a bearer token over TLS only), the admin kubeconfig as `cluster up` writes it.
    const dir = mkdtempSync(join(tmpdir(), 'ambient-kubeconfig-'));
    try {
      const pki = await ensureClusterPki(dir, apiServerIps('10.10.0.1'));
      const token = newAdminToken();
      const s = await server({ adminToken: token, tls: pki });
      assert.match(s.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const kubectl = (asToken: string, ...args: string[]) => {
        const file = join(dir, 'kubeconfig');
        writeFileSync(file, kubeconfigYaml('t', s.port, asToken, pki.ca), { mode: 0o600 });
        return promisify(execFile)('kubectl', ['--kubeconfig', file, ...args], { timeout: 20_000 });
      };
      writeFileSync(join(dir, 'objects.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [ns('apps'), { ...pod('web'), metadata: { name: 'web', namespace: 'apps' } }] }));
      await kubectl(token, 'apply', '--validate=false', '-f', join(dir, 'objects.json'));
      const listed = await kubectl(token, 'get', 'pods', '-A', '-o', 'name');
      assert.equal(listed.stdout.trim(), 'pod/web');
      await assert.rejects(kubectl(newAdminToken(), 'get', 'pods', '-A'), (err: { stderr?: string }) => /Unauthorized|provide credentials/.test(err.stderr ?? ''));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('attack_a_guessed_or_forged_admin_token_is_401_and_never_loopback_admin', async () => {
    const s = await adminServer();
    const t = adminOf(s);
    const guesses = [`${t.slice(0, -1)}${t.endsWith('A') ? 'B' : 'A'}`, t.slice(0, -1), `${t}A`, newAdminToken(), 'ambient-admin', `${t}.${t}.${t}`];
    for (const g of guesses) {
      const r = await call(s, 'GET', '/api/v1/namespaces/ambient-system/secrets', undefined, bearer(g));
      assert.equal(r.status, 401, `guess ${JSON.stringify(g)}`);
      assert.equal(r.body.reason, 'Unauthorized');
      assert.equal((await review(s, g)).body.status.authenticated, false, `review of ${JSON.stringify(g)}`);
    }
    for (const header of ['Basic YWRtaW46YWRtaW4=', 'Bearer', '']) {
      assert.equal((await call(s, 'GET', '/api/v1/namespaces', undefined, { authorization: header })).status, 401, `Authorization: ${header}`);
    }
  });

  test('attack_a_service_account_token_cannot_pass_as_the_admin', async () => {
    const s = await adminServer();
    const admin = bearer(adminOf(s));
    for (const n of ['ambient-system', 'x']) await ok(s, 'POST', '/api/v1/namespaces', ns(n), admin);
    await ok(s, 'POST', '/api/v1/namespaces/ambient-system/secrets', { metadata: { name: 'ambient-ca' }, data: { k: 'dg==' } }, admin);
    await ok(s, 'POST', '/api/v1/namespaces/x/serviceaccounts', { metadata: { name: 'default' } }, admin);
    const sa = (await ok(s, 'POST', '/api/v1/namespaces/x/serviceaccounts/default/token', {}, admin)).status.token as string;
    // Asking to be the admin changes nothing: impersonation headers are not honoured.
    const as = { ...bearer(sa), 'impersonate-user': 'ambient-admin', 'impersonate-group': 'system:masters' };
    const get = await call(s, 'GET', '/api/v1/namespaces/ambient-system/secrets/ambient-ca', undefined, as);
    assert.equal(get.status, 403, JSON.stringify(get.body));
    assert.match(get.body.message, /User "system:serviceaccount:x:default" cannot get resource "secrets"/);
    // A JWT whose claims name the admin (or any non-ServiceAccount subject) fails its signature.
    const [h, p, sig] = sa.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    for (const sub of ['ambient-admin', 'system:serviceaccount:kube-system:ambient-admin']) {
      const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub, groups: ['system:masters'] })).toString('base64url')}.${sig}`;
      assert.equal((await call(s, 'GET', '/api/v1/secrets', undefined, bearer(forged))).status, 401, sub);
      assert.equal((await review(s, forged)).body.status.authenticated, false);
    }
    // A ServiceAccount asking whether the admin may do something learns nothing: it may not create SubjectAccessReviews.
    const sar = await call(s, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', { spec: { user: 'ambient-admin', groups: ['system:masters'], resourceAttributes: { verb: 'get', resource: 'secrets' } } }, bearer(sa));
    assert.equal(sar.status, 403);
  });

  test('a_token_on_a_loopback_trusting_server_is_checked_not_taken_for_the_admin', async () => {
    // Servers without an admin token (the in-process ones tests start) trust a loopback
    // peer that sends no credentials; one that sends a token is who the token says.
    const s = await server();
    await ok(s, 'POST', '/api/v1/namespaces', ns('ambient-system'));
    await ok(s, 'POST', '/api/v1/namespaces/ambient-system/secrets', { metadata: { name: 'ambient-ca' }, data: { k: 'dg==' } });
    await ok(s, 'POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'web' } });
    const sa = (await ok(s, 'POST', '/api/v1/namespaces/default/serviceaccounts/web/token', {})).status.token as string;
    assert.equal((await call(s, 'GET', '/api/v1/namespaces/ambient-system/secrets/ambient-ca', undefined, bearer(sa))).status, 403);
    assert.equal((await call(s, 'GET', '/api/v1/namespaces', undefined, bearer('wrong'))).status, 401);
    assert.equal((await call(s, 'GET', '/api/v1/namespaces/ambient-system/secrets/ambient-ca')).status, 200, 'no credentials on loopback: the admin');
  });
});

describe('authorization', () => {
  /** An API server reached through an attached listener, where only bearer tokens count (as from the cluster network). */
  async function withTokenListener(s: ApiServer, fn: (other: { url: string }) => Promise<void>): Promise<void> {
    const extra = net.createServer();
    extra.listen(0, '127.0.0.1');
    await once(extra, 'listening');
    const detach = s.attach(extra);
    try {
      await fn({ url: `http://127.0.0.1:${(extra.address() as net.AddressInfo).port}` });
    } finally {
      detach();
      extra.close();
    }
  }

  /** A pod's token, as the kubelet mints it: bound to the pod, for the API server's audience. */
  async function podToken(s: ApiServer, namespace: string, sa: string, podName: string): Promise<string> {
    await call(s, 'POST', `/api/v1/namespaces/${namespace}/serviceaccounts`, { metadata: { name: sa } });
    const p = await ok(s, 'POST', `/api/v1/namespaces/${namespace}/pods`, pod(podName, {}, { spec: { serviceAccountName: sa } }));
    const tr = await ok(s, 'POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${sa}/token`, {
      spec: { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: podName, uid: p.metadata.uid } },
    });
    return tr.status.token;
  }

  const secret = (name: string, value: string) => ({ metadata: { name }, data: { 'ca-key.pem': Buffer.from(value).toString('base64') } });

  test('pod_token_cannot_read_or_steal_secrets_of_other_namespaces_but_reads_its_own', async () => {
    const s = await server();
    for (const n of ['ambient-system', 'x']) await ok(s, 'POST', '/api/v1/namespaces', ns(n));
    await ok(s, 'POST', '/api/v1/namespaces/ambient-system/secrets', secret('ambient-ca', 'the mesh CA key'));
    await ok(s, 'POST', '/api/v1/namespaces/x/secrets', secret('own', 'x secret'));
    await ok(s, 'POST', '/api/v1/namespaces/ambient-system/serviceaccounts', { metadata: { name: 'ambient-controller' } });
    await ok(s, 'POST', '/api/v1/namespaces/ambient-system/secrets', secret('other', 'not the controller\'s'));
    await applyMeshRbac(kubeConfigForServer(s.url));
    const attacker = await podToken(s, 'x', 'default', 'attacker');
    const controller = await podToken(s, 'ambient-system', 'ambient-controller', 'controller-1');
    await withTokenListener(s, async (other) => {
      const as = (token: string) => ({ authorization: `Bearer ${token}` });
      const get = await call(other, 'GET', '/api/v1/namespaces/ambient-system/secrets/ambient-ca', undefined, as(attacker));
      assert.equal(get.status, 403, JSON.stringify(get.body));
      assert.deepEqual([get.body.kind, get.body.reason, get.body.code], ['Status', 'Forbidden', 403]);
      assert.equal(get.body.message, 'secrets "ambient-ca" is forbidden: User "system:serviceaccount:x:default" cannot get resource "secrets" in API group "" in the namespace "ambient-system"');
      assert.ok(!JSON.stringify(get.body).includes(Buffer.from('the mesh CA key').toString('base64')));
      const all = await call(other, 'GET', '/api/v1/secrets', undefined, as(attacker));
      assert.equal(all.status, 403);
      assert.match(all.body.message, /^secrets is forbidden: User "system:serviceaccount:x:default" cannot list resource "secrets" in API group "" at the cluster scope$/);
      for (const path of ['/api/v1/namespaces/ambient-system/secrets', '/api/v1/secrets?watch=true', '/api/v1/watch/namespaces/ambient-system/secrets', '/api/v1/namespaces/ambient-system/secrets?watch=1&fieldSelector=metadata.name%3Dambient-ca']) {
        assert.equal((await call(other, 'GET', path, undefined, as(attacker))).status, 403, path);
      }
      // Around the rule: overwrite the CA, mint the controller's token, or run a pod as it.
      assert.equal((await call(other, 'PUT', '/api/v1/namespaces/ambient-system/secrets/ambient-ca', secret('ambient-ca', 'forged'), as(attacker))).status, 403);
      assert.equal((await call(other, 'DELETE', '/api/v1/namespaces/ambient-system/secrets/ambient-ca', undefined, as(attacker))).status, 403);
      const mint = await call(other, 'POST', '/api/v1/namespaces/ambient-system/serviceaccounts/ambient-controller/token', {}, as(attacker));
      assert.equal(mint.status, 403);
      assert.match(mint.body.message, /cannot create resource "serviceaccounts\/token" in API group "" in the namespace "ambient-system"/);
      const impostor = pod('impostor', {}, { spec: { serviceAccountName: 'ambient-controller' } });
      assert.equal((await call(other, 'POST', '/api/v1/namespaces/ambient-system/pods', impostor, as(attacker))).status, 403);
      // Its own namespace's Secrets stay usable.
      const own = await call(other, 'GET', '/api/v1/namespaces/x/secrets/own', undefined, as(attacker));
      assert.equal(own.status, 200);
      assert.deepEqual((await ok(other, 'GET', '/api/v1/namespaces/x/secrets', undefined, as(attacker))).items.map((i: Any) => i.metadata.name), ['own']);
      assert.equal((await call(other, 'GET', '/api/v1/namespaces/ambient-system/configmaps', undefined, as(attacker))).status, 200, 'other kinds stay readable');
      // The mesh's controller keeps its CA Secret and its TokenReviews.
      const ca = await call(other, 'GET', '/api/v1/namespaces/ambient-system/secrets/ambient-ca', undefined, as(controller));
      assert.equal(ca.status, 200);
      const review = await call(other, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', { spec: { token: attacker } }, as(controller));
      assert.equal(review.status, 201);
      assert.equal(review.body.status.authenticated, true);
      // ... and nothing its RBAC does not grant, even in its own namespace.
      const foreign = await call(other, 'GET', '/api/v1/namespaces/ambient-system/secrets/other', undefined, as(controller));
      assert.equal(foreign.status, 403);
      assert.equal(foreign.body.message, 'secrets "other" is forbidden: User "system:serviceaccount:ambient-system:ambient-controller" cannot get resource "secrets" in API group "" in the namespace "ambient-system"');
      assert.equal((await call(other, 'GET', '/api/v1/namespaces/ambient-system/secrets', undefined, as(controller))).status, 403, 'a list names no Secret');
    });
    // The admin (loopback) is untouched.
    assert.equal((await call(s, 'GET', '/api/v1/secrets')).status, 200);
    assert.equal((await call(s, 'GET', '/api/v1/namespaces/ambient-system/secrets/ambient-ca')).status, 200);
  });

  test('rbac_objects_take_effect_at_once_when_created_changed_or_deleted', async () => {
    // The server holds RBAC in memory (rbac-cache.ts): each write must reach the next decision.
    const s = await server();
    for (const n of ['ambient-system', 'apps']) await ok(s, 'POST', '/api/v1/namespaces', ns(n));
    const agent = await podToken(s, 'ambient-system', 'ambient-node-agent', 'agent-1');
    await withTokenListener(s, async (other) => {
      const get = async () => (await call(other, 'GET', '/api/v1/namespaces/apps/pods/agent-1', undefined, { authorization: `Bearer ${agent}` })).status;
      assert.equal(await get(), 403, 'RBAC alone: nothing bound yet');
      await ok(s, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', { metadata: { name: 'pods' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }] });
      const binding = { metadata: { name: 'agent' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'pods' }, subjects: [{ kind: 'ServiceAccount', name: 'ambient-node-agent', namespace: 'ambient-system' }] };
      await ok(s, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', binding);
      assert.equal(await get(), 403, 'bound, but the role lists, it does not get');
      await ok(s, 'PATCH', '/apis/rbac.authorization.k8s.io/v1/clusterroles/pods', { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] }, { 'content-type': 'application/merge-patch+json' });
      assert.equal(await get(), 404, 'allowed now (the pod itself is in ambient-system)');
      await ok(s, 'DELETE', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/agent');
      assert.equal(await get(), 403, 'unbound again');
    });
  });

  test('a_waypoint_service_account_has_rbac_alone_once_labelled_by_the_controller', async () => {
    const s = await server();
    for (const n of ['ambient-system', 'apps']) await ok(s, 'POST', '/api/v1/namespaces', ns(n));
    await applyMeshRbac(kubeConfigForServer(s.url));
    await ok(s, 'POST', '/api/v1/namespaces/ambient-system/configmaps', { metadata: { name: 'ambient-ca-root' }, data: { 'root-cert.pem': 'x' } });
    const wp = await podToken(s, 'apps', 'waypoint', 'waypoint-1');
    await withTokenListener(s, async (other) => {
      const as = { authorization: `Bearer ${wp}` };
      const pods = async () => (await call(other, 'GET', '/api/v1/namespaces/apps/pods', undefined, as)).status;
      assert.equal(await pods(), 200, 'a plain ServiceAccount: the built-in rules');
      await ok(s, 'PATCH', '/api/v1/namespaces/apps/serviceaccounts/waypoint', { metadata: { labels: { 'ambient.dev/managed-by': 'ambient-controller', 'gateway.networking.k8s.io/gateway-name': 'waypoint' } } }, { 'content-type': 'application/merge-patch+json' });
      assert.equal(await pods(), 403, "a waypoint's: what rbac.yaml grants, nothing else");
      assert.equal((await call(other, 'GET', '/api/v1/namespaces/ambient-system/configmaps/ambient-ca-root', undefined, as)).status, 200);
      assert.equal((await call(other, 'GET', '/api/v1/namespaces/ambient-system/configmaps', undefined, as)).status, 403);
    });
  });

  test('a_service_account_cannot_bind_itself_a_role_even_in_its_own_namespace', async () => {
    const s = await server();
    await ok(s, 'POST', '/api/v1/namespaces', ns('apps'));
    await ok(s, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', { metadata: { name: 'everything' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] });
    const web = await podToken(s, 'apps', 'web', 'web-1');
    await withTokenListener(s, async (other) => {
      const as = { authorization: `Bearer ${web}` };
      const bind = (path: string, namespace?: string) =>
        call(other, 'POST', path, { metadata: { name: 'mine', ...(namespace ? { namespace } : {}) }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'everything' }, subjects: [{ kind: 'ServiceAccount', name: 'web', namespace: 'apps' }] }, as);
      const crb = await bind('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings');
      assert.equal(crb.status, 403);
      assert.match(crb.body.message, /cannot create resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope/);
      assert.equal((await bind('/apis/rbac.authorization.k8s.io/v1/namespaces/apps/rolebindings', 'apps')).status, 403, 'its own namespace too');
      assert.equal((await call(other, 'GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles', undefined, as)).status, 200, 'reading RBAC stays open');
    });
  });

  test('node_agent_token_watches_its_own_daemonset_by_name_and_no_other', async () => {
    // manifests/rbac.yaml grants the agent get and watch on the DaemonSet ambient-node-agent
    // (resourceNames): its watch names it by field selector. Any other DaemonSet, or all, is refused.
    const s = await server();
    for (const n of ['ambient-system', 'apps']) await ok(s, 'POST', '/api/v1/namespaces', ns(n));
    await applyMeshRbac(kubeConfigForServer(s.url));
    const template = { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'x', image: 'x' }] } };
    const daemonSet = (name: string) => ({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name }, spec: { selector: { matchLabels: { app: 'x' } }, template } });
    for (const [n, name] of [['ambient-system', 'ambient-node-agent'], ['ambient-system', 'other'], ['apps', 'ambient-node-agent']] as const) await ok(s, 'POST', `/apis/apps/v1/namespaces/${n}/daemonsets`, daemonSet(name));
    const agent = await podToken(s, 'ambient-system', 'ambient-node-agent', 'agent-1');
    const as = { authorization: `Bearer ${agent}` };
    const DS = '/apis/apps/v1/namespaces/ambient-system/daemonsets';
    const byName = (name: string) => `fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`;
    await withTokenListener(s, async (other) => {
      // The watch the agent makes (node-agent/uninstall/daemonset.ts): its first event is its own DaemonSet.
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), 10_000);
      try {
        const res = await fetch(`${other.url}${DS}?watch=1&${byName('ambient-node-agent')}`, { headers: as, signal: ac.signal });
        assert.equal(res.status, 200, await (res.status === 200 ? Promise.resolve('') : res.text()));
        const reader = res.body!.getReader();
        let text = '';
        while (!text.includes('\n')) {
          const { value, done } = await reader.read();
          if (done) break;
          text += Buffer.from(value).toString('utf8');
        }
        const first = JSON.parse(text.slice(0, text.indexOf('\n')));
        assert.deepEqual([first.type, first.object.metadata.namespace, first.object.metadata.name], ['ADDED', 'ambient-system', 'ambient-node-agent']);
      } finally {
        clearTimeout(timer);
        ac.abort();
      }
      assert.equal((await call(other, 'GET', `${DS}/ambient-node-agent`, undefined, as)).status, 200);
      // Everything around it is refused.
      const watchOther = await call(other, 'GET', `${DS}?watch=1&${byName('other')}`, undefined, as);
      assert.equal(watchOther.status, 403);
      assert.equal(watchOther.body.message, 'daemonsets.apps "other" is forbidden: User "system:serviceaccount:ambient-system:ambient-node-agent" cannot watch resource "daemonsets" in API group "apps" in the namespace "ambient-system"');
      const watchAll = await call(other, 'GET', `${DS}?watch=1`, undefined, as);
      assert.equal(watchAll.status, 403);
      assert.equal(watchAll.body.message, 'daemonsets.apps is forbidden: User "system:serviceaccount:ambient-system:ambient-node-agent" cannot watch resource "daemonsets" in API group "apps" in the namespace "ambient-system"');
      for (const path of [
        DS, // list them all
        `${DS}?${byName('other')}`,
        `${DS}?${byName('ambient-node-agent')}`, // a list is not granted, even of its own
        `${DS}?watch=1&fieldSelector=${encodeURIComponent('metadata.name!=ambient-node-agent')}`, // every other one
        `${DS}?watch=1&labelSelector=${encodeURIComponent('metadata.name=ambient-node-agent')}`, // a label selector names nothing
        `/apis/apps/v1/watch/namespaces/ambient-system/daemonsets?${byName('ambient-node-agent')}`, // the legacy /watch/ prefix names nothing by selector
        `/apis/apps/v1/daemonsets?watch=1&${byName('ambient-node-agent')}`, // across namespaces
        `/apis/apps/v1/namespaces/apps/daemonsets?watch=1&${byName('ambient-node-agent')}`, // the same name elsewhere
        `${DS}/other`,
      ]) {
        const r = await call(other, 'GET', path, undefined, as);
        assert.equal(r.status, 403, `${path}: ${JSON.stringify(r.body)}`);
        assert.ok(!JSON.stringify(r.body).includes('"uid"'), `${path}: no object leaks`);
      }
    });
  });

  test('node_token_mints_pod_tokens_in_any_namespace_but_reads_no_foreign_secrets', async () => {
    const s = await server();
    for (const n of ['ambient-system', 'apps']) await ok(s, 'POST', '/api/v1/namespaces', ns(n));
    await ok(s, 'POST', '/api/v1/namespaces/ambient-system/secrets', secret('ambient-ca', 'k'));
    await ok(s, 'POST', '/api/v1/namespaces/kube-system/serviceaccounts', { metadata: { name: 'ambient-node' } });
    const node = (await ok(s, 'POST', '/api/v1/namespaces/kube-system/serviceaccounts/ambient-node/token', {})).status.token;
    await ok(s, 'POST', '/api/v1/namespaces/apps/serviceaccounts', { metadata: { name: 'default' } });
    const p = await ok(s, 'POST', '/api/v1/namespaces/apps/pods', pod('web'));
    await withTokenListener(s, async (other) => {
      const as = { authorization: `Bearer ${node}` };
      const tr = await call(other, 'POST', '/api/v1/namespaces/apps/serviceaccounts/default/token', { spec: { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'web', uid: p.metadata.uid } } }, as);
      assert.equal(tr.status, 201, JSON.stringify(tr.body));
      const status = await call(other, 'PATCH', '/api/v1/namespaces/apps/pods/web/status', { status: { phase: 'Running' } }, { ...as, 'content-type': 'application/merge-patch+json' });
      assert.equal(status.status, 200);
      assert.equal((await call(other, 'POST', '/api/v1/nodes', { metadata: { name: 'node1' } }, as)).status, 201);
      assert.equal((await call(other, 'GET', '/api/v1/namespaces/ambient-system/secrets/ambient-ca', undefined, as)).status, 403);
    });
  });
});

describe('key material at rest', () => {
  /** Every file and directory under `root`, with its permission bits. */
  function modes(root: string): Map<string, { mode: number; dir: boolean }> {
    const out = new Map<string, { mode: number; dir: boolean }>();
    const walk = (p: string) => {
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) return; // a temporary file Redis has just renamed
      out.set(p, { mode: st.mode & 0o777, dir: st.isDirectory() });
      if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    };
    walk(root);
    return out;
  }

  test('cluster_state_redis_aof_pki_and_tokens_are_private_to_root', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ambient-home-'));
    const saved = process.env['AMBIENT_HOME'];
    process.env['AMBIENT_HOME'] = home;
    const cluster = `modes${process.pid}`;
    const dir = clusterDir(cluster);
    // A directory left loose by an earlier run is put right too.
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    let r: Redis | undefined;
    try {
      await writeRecord({ name: cluster, nodes: ['node1'], apiPort: 1, redisPort: 2, createdAt: new Date().toISOString(), repoRoot: '/' });
      const adminToken = newAdminToken();
      const pki = await ensureClusterPki(dir, ['10.10.0.1']);
      await writeKubeconfig(cluster, 1, adminToken, pki.ca);
      await writeAdminToken(cluster, adminToken);
      await writePrivateFile(dir, 'node-token', 'a.b.c');
      const port = await closedPort();
      await startClusterRedis({ cluster, stateDir: dir, port });
      r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => {});
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          await r.connect();
          break;
        } catch {
          assert.ok(Date.now() < deadline, 'redis did not start');
          await new Promise((res) => setTimeout(res, 50));
        }
      }
      // What the API server keeps there: the CA Secret among the objects.
      await r.hset('k8s:objects:secrets', 'ambient-system/ambient-ca', JSON.stringify({ data: { 'ca-key.pem': 'c2VjcmV0' } }));
      await r.bgrewriteaof(); // a snapshot base file too
      while (/aof_rewrite_in_progress:1|aof_rewrite_scheduled:1/.test(await r.info('persistence'))) {
        assert.ok(Date.now() < deadline, 'the AOF rewrite did not finish');
        await new Promise((res) => setTimeout(res, 50));
      }
      const files = [...modes(dir)];
      const aof = files.filter(([p, m]) => p.startsWith(redisDir(dir)) && !m.dir);
      assert.ok(aof.length > 0, 'redis wrote its append-only file');
      const loose = files.filter(([p, m]) => (m.dir ? m.mode !== 0o700 : p.endsWith('.crt') ? m.mode !== 0o644 : m.mode !== 0o600));
      assert.deepEqual(loose.map(([p, m]) => `${p.slice(dir.length)} ${m.mode.toString(8)}`), [], 'directories 0700, files 0600 (certificates 0644)');
      assert.equal(statSync(join(dir, 'pki', 'ca.key')).mode & 0o777, 0o600);
      // Another user on the machine cannot read the store, the keys or the token.
      for (const f of [aof[0]![0], join(dir, 'pki', 'ca.key'), join(dir, 'node-token'), join(dir, 'admin-token'), join(dir, 'kubeconfig')]) {
        await assert.rejects(promisify(execFile)('/bin/cat', [f], { uid: 65534, gid: 65534, timeout: 5_000 }), /Permission denied/, f);
      }
    } finally {
      r?.disconnect();
      await stopCluster(cluster, dir, 2_000);
      if (saved === undefined) delete process.env['AMBIENT_HOME'];
      else process.env['AMBIENT_HOME'] = saved;
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('process', () => {
  test('main_starts_prints_ready_and_stops_on_sigterm_closing_watches', async () => {
    const entry = new URL('../local-cluster/apiserver/main.js', import.meta.url).pathname;
    const child = spawn(process.execPath, [entry, '--redis-port', String(redis.port), '--redis-prefix', `proc${++prefixes}:`, '--port', '0', '--history-size', '100'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'info' },
    });
    const exited = once(child, 'exit');
    try {
      const lines = createInterface({ input: child.stdout! });
      let url: string | undefined;
      const deadline = setTimeout(() => child.kill('SIGKILL'), 15_000);
      for await (const line of lines) {
        const rec = JSON.parse(line) as { msg: string; url?: string };
        if (rec.msg === 'ready') {
          url = rec.url;
          break;
        }
      }
      clearTimeout(deadline);
      assert.ok(url, 'a ready line with the URL');
      const w = watch({ url }, '/api/v1/namespaces?watch=true');
      assert.equal(summary(await w.next()), 'ADDED default');
      child.kill('SIGTERM');
      await w.ended;
      const [code] = await exited;
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
