import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1DaemonSet, V1Pod } from '@kubernetes/client-node';
import { daemonSetHash, planDaemonSet, REVISION_HASH_LABEL } from './daemonsets.js';

const ds = (image = 'agent:1'): V1DaemonSet => ({
  metadata: { name: 'agent', namespace: 'ambient-system', uid: 'ds-uid', generation: 2 },
  spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { hostNetwork: true, containers: [{ name: 'a', image }] } } },
});

function pod(name: string, node: string, hash: string, ready = true): V1Pod {
  return {
    metadata: { name, namespace: 'ambient-system', labels: { app: 'agent', [REVISION_HASH_LABEL]: hash } },
    spec: { nodeName: node, containers: [] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

test('daemonset_creates_one_pod_per_ready_node_pinned_to_it', () => {
  const plan = planDaemonSet(ds(), [], ['node2', 'node1']);
  assert.deepEqual(plan.create.map((p) => p.spec?.nodeName), ['node1', 'node2']);
  const p = plan.create[0]!;
  assert.equal(p.metadata?.generateName, 'agent-');
  assert.equal(p.metadata?.labels?.[REVISION_HASH_LABEL], daemonSetHash(ds()));
  assert.equal(p.metadata?.ownerReferences?.[0]?.uid, 'ds-uid');
  assert.equal(p.spec?.hostNetwork, true);
  assert.equal(plan.status.desiredNumberScheduled, 2);
});

test('daemonset_with_a_pod_on_every_node_does_nothing', () => {
  const h = daemonSetHash(ds());
  const plan = planDaemonSet(ds(), [pod('a', 'node1', h), pod('b', 'node2', h)], ['node1', 'node2']);
  assert.deepEqual(plan.create, []);
  assert.deepEqual(plan.delete, []);
  assert.equal(plan.status.numberReady, 2);
  assert.equal(plan.status.updatedNumberScheduled, 2);
});

test('daemonset_pod_on_a_removed_node_is_deleted', () => {
  const h = daemonSetHash(ds());
  const plan = planDaemonSet(ds(), [pod('a', 'node1', h), pod('gone', 'node9', h)], ['node1']);
  assert.deepEqual(plan.delete, ['gone']);
  assert.equal(plan.status.numberMisscheduled, 1);
});

test('daemonset_duplicate_pods_on_one_node_keep_one', () => {
  const h = daemonSetHash(ds());
  const plan = planDaemonSet(ds(), [pod('a', 'node1', h), pod('b', 'node1', h)], ['node1']);
  assert.deepEqual(plan.delete, ['b']);
});

test('daemonset_template_change_replaces_one_node_at_a_time', () => {
  const old = daemonSetHash(ds('agent:1'));
  const next = ds('agent:2');
  const first = planDaemonSet(next, [pod('a', 'node1', old), pod('b', 'node2', old)], ['node1', 'node2']);
  assert.deepEqual(first.delete, ['a'], 'only one node is replaced while all are ready');
  assert.deepEqual(first.create, []);
  const h = daemonSetHash(next);
  const middle = planDaemonSet(next, [pod('b', 'node2', old), pod('c', 'node1', h, false)], ['node1', 'node2']);
  assert.deepEqual(middle.delete, [], 'waits until the new pod is ready');
  const later = planDaemonSet(next, [pod('b', 'node2', old), pod('c', 'node1', h, true)], ['node1', 'node2']);
  assert.deepEqual(later.delete, ['b']);
});

test('daemonset_node_without_pod_gets_one_even_during_an_update', () => {
  const old = daemonSetHash(ds('agent:1'));
  const plan = planDaemonSet(ds('agent:2'), [pod('a', 'node1', old, false)], ['node1', 'node2']);
  assert.deepEqual(plan.create.map((p) => p.spec?.nodeName), ['node2']);
});

const surgeDs = (image: string, rollingUpdate: Record<string, number | string> = { maxSurge: 1, maxUnavailable: 0 }): V1DaemonSet => {
  const d = ds(image);
  d.spec!.updateStrategy = { type: 'RollingUpdate', rollingUpdate: rollingUpdate as never };
  return d;
};

test('daemonset_surge_starts_the_new_pod_beside_the_old_one', () => {
  const old = daemonSetHash(ds('agent:1'));
  const plan = planDaemonSet(surgeDs('agent:2'), [pod('a', 'node1', old), pod('b', 'node2', old)], ['node1', 'node2']);
  assert.deepEqual(plan.create.map((p) => p.spec?.nodeName), ['node1'], 'one node at a time (maxSurge 1)');
  assert.deepEqual(plan.delete, [], 'the old pod keeps serving the node');
});

test('daemonset_surge_keeps_the_old_pod_until_the_new_one_is_ready', () => {
  const old = daemonSetHash(ds('agent:1'));
  const now = daemonSetHash(surgeDs('agent:2'));
  const plan = planDaemonSet(surgeDs('agent:2'), [pod('a', 'node1', old), pod('new-a', 'node1', now, false), pod('b', 'node2', old)], ['node1', 'node2']);
  assert.deepEqual(plan.create, [], 'node2 waits: the surge budget is spent on node1');
  assert.deepEqual(plan.delete, []);
});

test('daemonset_surge_deletes_the_old_pod_once_the_new_one_is_ready_and_moves_on', () => {
  const old = daemonSetHash(ds('agent:1'));
  const now = daemonSetHash(surgeDs('agent:2'));
  const plan = planDaemonSet(surgeDs('agent:2'), [pod('a', 'node1', old), pod('new-a', 'node1', now), pod('b', 'node2', old)], ['node1', 'node2']);
  assert.deepEqual(plan.delete, ['a']);
  assert.deepEqual(plan.create.map((p) => p.spec?.nodeName), ['node2']);
});

test('daemonset_surge_ignores_a_terminating_old_pod', () => {
  const old = daemonSetHash(ds('agent:1'));
  const now = daemonSetHash(surgeDs('agent:2'));
  const draining = { ...pod('a', 'node1', old), metadata: { ...pod('a', 'node1', old).metadata, deletionTimestamp: new Date() } };
  const plan = planDaemonSet(surgeDs('agent:2'), [draining, pod('new-a', 'node1', now), pod('b', 'node2', now)], ['node1', 'node2']);
  assert.deepEqual(plan.create, []);
  assert.deepEqual(plan.delete, []);
});

test('daemonset_surge_in_percent_rounds_up', () => {
  const old = daemonSetHash(ds('agent:1'));
  const nodes = ['node1', 'node2', 'node3'];
  const plan = planDaemonSet(surgeDs('agent:2', { maxSurge: '50%', maxUnavailable: 0 }), nodes.map((n, i) => pod(`p${i}`, n, old)), nodes);
  assert.equal(plan.create.length, 2, '50% of 3 nodes is 2');
});

test('daemonset_without_surge_replaces_up_to_max_unavailable_nodes', () => {
  const old = daemonSetHash(ds('agent:1'));
  const nodes = ['node1', 'node2', 'node3'];
  const plan = planDaemonSet(surgeDs('agent:2', { maxSurge: 0, maxUnavailable: 2 }), nodes.map((n, i) => pod(`p${i}`, n, old)), nodes);
  assert.deepEqual(plan.delete, ['p0', 'p1']);
  assert.deepEqual(plan.create, []);
});
