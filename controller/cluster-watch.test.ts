// placementKey: what the policy scope reads of the pods, compared after each translation to
// decide whether the config streams must rescope.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { placementKey, placementOf } from './cluster-watch.js';

function pod(name: string, o: { ns?: string; node?: string; labels?: Record<string, string>; phase?: string } = {}): V1Pod {
  return {
    metadata: { name, namespace: o.ns ?? 'shop', ...(o.labels ? { labels: o.labels } : {}) },
    spec: { containers: [], ...(o.node ? { nodeName: o.node } : {}) },
    ...(o.phase ? { status: { phase: o.phase } } : {}),
  };
}

test('placement_key_ignores_order_and_label_order', () => {
  const a = [pod('a', { node: 'n1', labels: { app: 'web', v: '1' } }), pod('b', { node: 'n2' })];
  const b = [pod('b', { node: 'n2' }), pod('a', { node: 'n1', labels: { v: '1', app: 'web' } })];
  assert.equal(placementKey(a), placementKey(b));
});

test('placement_key_changes_with_node_namespace_or_labels_of_a_scheduled_pod', () => {
  const base = placementKey([pod('a', { node: 'n1', labels: { app: 'web' } })]);
  assert.notEqual(placementKey([pod('a', { node: 'n2', labels: { app: 'web' } })]), base);
  assert.notEqual(placementKey([pod('a', { node: 'n1', ns: 'bank', labels: { app: 'web' } })]), base);
  assert.notEqual(placementKey([pod('a', { node: 'n1', labels: { app: 'db' } })]), base);
  assert.notEqual(placementKey([]), base);
});

test('placement_key_counts_only_scheduled_unfinished_pods', () => {
  const base = placementKey([pod('a', { node: 'n1' })]);
  assert.equal(placementKey([pod('a', { node: 'n1' }), pod('pending'), pod('done', { node: 'n1', ns: 'bank', phase: 'Succeeded' }), pod('dead', { node: 'n2', phase: 'Failed' })]), base);
  assert.notEqual(placementKey([pod('a', { node: 'n1' }), pod('running', { node: 'n2', phase: 'Running' })]), base);
});

test('placement_key_ignores_pod_names_when_placement_is_the_same', () => {
  // A replacement pod with the same namespace and labels on the same node selects the same policies.
  assert.equal(placementKey([pod('web-1', { node: 'n1', labels: { app: 'web' } })]), placementKey([pod('web-2', { node: 'n1', labels: { app: 'web' } })]));
});

test('placement_of_one_pod_is_undefined_unless_scheduled_and_unfinished', () => {
  assert.equal(placementOf(pod('pending')), undefined);
  assert.equal(placementOf(pod('done', { node: 'n1', phase: 'Succeeded' })), undefined);
  assert.equal(placementOf(pod('a', { node: 'n1', labels: { v: '1', app: 'web' } })), placementOf(pod('b', { node: 'n1', labels: { app: 'web', v: '1' } })));
  assert.notEqual(placementOf(pod('a', { node: 'n1' })), placementOf(pod('a', { node: 'n2' })));
});
