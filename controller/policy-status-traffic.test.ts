// The status writer given TrafficPolicies (controller/policy-status.ts): what differs is written once, stale generations and
// deleted objects are skipped, a failure is counted and retried, a pass is bounded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { PolicyStatusWriter, TRAFFIC_POLICY_RESOURCE, type CachedPolicy, type WrittenCondition } from './policy-status.js';
import type { PolicyStatus } from './translate/translate.js';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const invalid = (name = 'p', generation = 2): PolicyStatus => ({
  namespace: 'shop',
  name,
  generation,
  conditions: [{ type: 'Accepted', status: 'False', reason: 'Invalid', message: 'spec.outlierDetection.interval: "10x" is not a duration such as "250ms" or "30s"' }],
});

function writer(objects: CachedPolicy[], patch: (ns: string, name: string, c: WrittenCondition[]) => Promise<void>, limits = {}) {
  return new PolicyStatusWriter({ kubeConfig: new KubeConfig(), resource: TRAFFIC_POLICY_RESOURCE, list: () => objects, patch: (ns, name, c) => patch(ns, name, c), now: () => T0, limits });
}

test('traffic_policy_status_writer_writes_the_invalid_condition_once', async () => {
  const obj: CachedPolicy = { metadata: { name: 'p', namespace: 'shop', generation: 2 } };
  const writes: WrittenCondition[][] = [];
  const w = writer([obj], async (_ns, _name, c) => {
    writes.push(c);
  });
  w.update([invalid()]);
  assert.deepEqual(await w.pass(new AbortController().signal), { written: 1, failed: 0, left: 0 });
  assert.deepEqual(writes[0], [{ type: 'Accepted', status: 'False', reason: 'Invalid', message: invalid().conditions[0]!.message, observedGeneration: 2, lastTransitionTime: '2026-01-01T00:00:00Z' }]);
  // Not in the cache yet: not written again.
  assert.deepEqual(await w.pass(new AbortController().signal), { written: 0, failed: 0, left: 0 });
  // In the cache now: nothing differs.
  obj.status = { conditions: writes[0] };
  assert.deepEqual(await w.pass(new AbortController().signal), { written: 0, failed: 0, left: 0 });
  assert.equal(w.writes, 1);
});

test('traffic_policy_status_writer_skips_stale_generations_and_deleted_objects', async () => {
  const objs: CachedPolicy[] = [{ metadata: { name: 'p', namespace: 'shop', generation: 3 } }, { metadata: { name: 'gone', namespace: 'shop', generation: 2, deletionTimestamp: 'x' } }];
  let writes = 0;
  const w = writer(objs, async () => {
    writes++;
  });
  w.update([invalid('p', 2), invalid('gone', 2), invalid('absent', 2)]);
  await w.pass(new AbortController().signal);
  assert.equal(writes, 0);
});

test('traffic_policy_status_writer_counts_failures_and_ignores_404', async () => {
  const objs: CachedPolicy[] = [{ metadata: { name: 'a', namespace: 'shop', generation: 2 } }, { metadata: { name: 'b', namespace: 'shop', generation: 2 } }];
  const w = writer(objs, async (_ns, name) => {
    throw Object.assign(new Error('boom'), { code: name === 'a' ? 404 : 500 });
  });
  w.update([invalid('a'), invalid('b')]);
  assert.deepEqual(await w.pass(new AbortController().signal), { written: 0, failed: 1, left: 0 });
  assert.equal(w.failures, 1);
});

test('traffic_policy_status_writer_pass_is_bounded', async () => {
  const objs: CachedPolicy[] = ['a', 'b', 'c'].map((name) => ({ metadata: { name, namespace: 'shop', generation: 2 } }));
  const w = writer(objs, async () => {}, { maxWritesPerPass: 2 });
  w.update(['a', 'b', 'c'].map((n) => invalid(n)));
  assert.deepEqual(await w.pass(new AbortController().signal), { written: 2, failed: 0, left: 1 });
});
