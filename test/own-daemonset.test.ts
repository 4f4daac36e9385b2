// Direct test of how a stopping node agent learns whether it is being uninstalled
// (node-agent/uninstall/daemonset.ts) against the local API server: the agent's pod names
// its DaemonSet owner; the watch on that DaemonSet sees it deleted; the decision at
// SIGTERM is a restart while the DaemonSet is there and an uninstall once it is gone or
// being deleted; an API server it cannot reach means a restart (fail closed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kubeConfigForServer } from '../core/kube/config.js';
import { startApiServer, type ApiServer } from '../local-cluster/apiserver/server.js';
import { OwnDaemonSet } from '../node-agent/uninstall/daemonset.js';
import { startRedis, type TestRedis } from './support/redis.js';

const NS = 'ambient-system';

async function until<T>(what: string, probe: () => T | undefined | false, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('own_daemonset_restart_while_present_uninstall_once_deleted', { timeout: 60_000 }, async (t) => {
  let redis: TestRedis | undefined;
  let api: ApiServer | undefined;
  const owns: OwnDaemonSet[] = [];
  t.after(async () => {
    for (const o of owns) await o.close();
    await api?.close().catch(() => undefined);
    await redis?.stop().catch(() => undefined);
  });
  redis = await startRedis();
  api = await startApiServer({ redisUrl: redis.url, prefix: `ownds${process.pid}:` });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api!.url}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: AbortSignal.timeout(10_000) });
    const json = (await res.json().catch(() => undefined)) as { metadata?: { uid?: string } } | undefined;
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json!;
  };
  await call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  const template = { metadata: { labels: { app: 'ambient-node-agent' } }, spec: { containers: [{ name: 'node-agent', image: 'ambient/node-agent' }] } };
  const ds = await call('POST', `/apis/apps/v1/namespaces/${NS}/daemonsets`, {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'ambient-node-agent' },
    spec: { selector: { matchLabels: { app: 'ambient-node-agent' } }, template },
  });
  const uid = ds.metadata!.uid!;
  await call('POST', `/api/v1/namespaces/${NS}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'ambient-node-agent-x1', labels: { app: 'ambient-node-agent' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'ambient-node-agent', uid, controller: true }] },
    spec: template.spec,
  });

  const kc = kubeConfigForServer(api.url);
  const own = new OwnDaemonSet({ api: kc, pod: { namespace: NS, name: 'ambient-node-agent-x1' } });
  owns.push(own);
  own.start();
  await until('the owner read from the pod', () => own.owner());
  assert.deepEqual(own.owner(), { namespace: NS, name: 'ambient-node-agent', uid });
  await until('the watch saw the DaemonSet', () => own.watched() === 'present');
  assert.equal((await own.decide()).mode, 'restart', 'a deleted agent pod, its DaemonSet still there');

  // Orphan: the pod stays (as a real pod does while it terminates); the DaemonSet is gone.
  await call('DELETE', `/apis/apps/v1/namespaces/${NS}/daemonsets/ambient-node-agent`, { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Orphan' });
  await until('the watch saw the deletion', () => own.watched() === 'deleted');
  assert.deepEqual(await own.decide(), { mode: 'uninstall', reason: `DaemonSet ${NS}/ambient-node-agent is gone` });

  // The same name made again (another uid): its own agent takes over; this one restarts.
  await call('POST', `/apis/apps/v1/namespaces/${NS}/daemonsets`, { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'ambient-node-agent' }, spec: { selector: { matchLabels: { app: 'ambient-node-agent' } }, template } });
  const again = await own.decide();
  assert.equal(again.mode, 'restart');
  assert.match(again.reason, /replaced/);

  // A pod without a DaemonSet owner never uninstalls.
  await call('POST', `/api/v1/namespaces/${NS}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'loose' }, spec: template.spec });
  const loose = new OwnDaemonSet({ api: kc, pod: { namespace: NS, name: 'loose' } });
  owns.push(loose);
  loose.start();
  await new Promise((r) => setTimeout(r, 300));
  const d = await loose.decide();
  assert.equal(d.mode, 'restart');
  assert.match(d.reason, /does not know its DaemonSet/);
});

test('own_daemonset_unreachable_api_server_means_restart', { timeout: 30_000 }, async () => {
  // A port nothing listens on: the owner is never learnt, and nothing is removed.
  const own = new OwnDaemonSet({ api: kubeConfigForServer('http://127.0.0.1:1'), pod: { namespace: NS, name: 'ambient-node-agent-x1' } });
  own.start();
  try {
    const d = await own.decide();
    assert.equal(d.mode, 'restart');
  } finally {
    await own.close();
  }
});
