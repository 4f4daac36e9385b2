// The AuthorizationPolicy status writer: conditions with observedGeneration and a
// lastTransitionTime kept while the status holds, a write only when the object differs,
// bounded passes, failures retried, and nothing written for stale generations.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { currentConditions, desiredConditions, needsWrite, PolicyStatusWriter, type CachedPolicy, type WrittenCondition } from './policy-status.js';
import type { PolicyStatus } from './translate/translate.js';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const T1 = new Date('2026-01-02T00:00:00.000Z');
const accepted = (status: 'True' | 'False' = 'True'): PolicyStatus => ({
  namespace: 'shop',
  name: 'p',
  generation: 2,
  conditions: [{ type: 'Accepted', status, reason: status === 'True' ? 'Accepted' : 'Invalid', message: 'm' }],
});

test('status_conditions_carry_observed_generation_and_a_new_transition_time', () => {
  assert.deepEqual(desiredConditions(accepted(), [], T0), [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'm', observedGeneration: 2, lastTransitionTime: '2026-01-01T00:00:00Z' }]);
});

test('status_transition_time_is_kept_while_the_status_is_unchanged', () => {
  const prev = desiredConditions(accepted(), [], T0);
  const next = desiredConditions({ ...accepted(), generation: 3 }, prev, T1);
  assert.equal(next[0]?.lastTransitionTime, '2026-01-01T00:00:00Z');
  assert.equal(next[0]?.observedGeneration, 3);
});

test('status_transition_time_moves_when_the_status_flips', () => {
  const prev = desiredConditions(accepted('True'), [], T0);
  assert.equal(desiredConditions(accepted('False'), prev, T1)[0]?.lastTransitionTime, '2026-01-02T00:00:00Z');
});

test('status_write_needed_only_when_something_differs', () => {
  const d = desiredConditions(accepted(), [], T0);
  assert.equal(needsWrite(d, d), false);
  assert.equal(needsWrite([], d), true);
  assert.equal(needsWrite([{ ...d[0]!, message: 'old' }], d), true);
});

test('status_malformed_current_conditions_count_as_absent', () => {
  assert.deepEqual(currentConditions({ status: 'x' }), []);
  assert.deepEqual(currentConditions({ status: { conditions: [null, 3, { type: 'Accepted' }] } }).length, 1);
});

test('status_message_is_bounded', () => {
  const s = { ...accepted(), conditions: [{ type: 'Accepted', status: 'False' as const, reason: 'Invalid', message: 'x'.repeat(100) }] };
  assert.equal(desiredConditions(s, [], T0, 10)[0]?.message.length, 10);
});

function writer(objects: CachedPolicy[], patch: (ns: string, name: string, c: WrittenCondition[]) => Promise<void>, limits = {}) {
  return new PolicyStatusWriter({ kubeConfig: new KubeConfig(), list: () => objects, patch: (ns, name, c) => patch(ns, name, c), now: () => T0, limits });
}

test('status_writer_writes_what_differs_and_nothing_the_second_time', async () => {
  const obj: CachedPolicy = { metadata: { name: 'p', namespace: 'shop', generation: 2 } };
  const writes: string[] = [];
  const w = writer([obj], async (ns, name, c) => {
    writes.push(`${ns}/${name}`);
    obj.status = { conditions: c };
  });
  w.update([accepted()]);
  assert.deepEqual(await w.pass(new AbortController().signal), { written: 1, failed: 0, left: 0 });
  assert.deepEqual(await w.pass(new AbortController().signal), { written: 0, failed: 0, left: 0 });
  assert.deepEqual(writes, ['shop/p']);
});

test('status_writer_skips_deleted_objects_and_stale_generations', async () => {
  const writes: string[] = [];
  const w = writer([{ metadata: { name: 'p', namespace: 'shop', generation: 5 } }], async (ns, name) => void writes.push(`${ns}/${name}`));
  w.update([accepted(), { ...accepted(), name: 'gone' }]);
  await w.pass(new AbortController().signal);
  assert.deepEqual(writes, []);
});

test('status_writer_pass_is_bounded_and_reports_what_is_left', async () => {
  const objects = Array.from({ length: 5 }, (_, i): CachedPolicy => ({ metadata: { name: `p${i}`, namespace: 'shop', generation: 2 } }));
  let n = 0;
  const w = writer(objects, async () => void n++, { maxWritesPerPass: 2 });
  w.update(objects.map((o) => ({ ...accepted(), name: o.metadata!.name! })));
  assert.deepEqual(await w.pass(new AbortController().signal), { written: 2, failed: 0, left: 3 });
});

test('status_writer_failure_is_counted_and_retried_by_the_loop', async () => {
  const obj: CachedPolicy = { metadata: { name: 'p', namespace: 'shop', generation: 2 } };
  let calls = 0;
  const w = writer([obj], async (_ns, _n, c) => {
    calls++;
    if (calls === 1) throw new Error('boom');
    obj.status = { conditions: c };
  }, { retryMinMs: 10, resyncMs: 60_000 });
  w.update([accepted()]);
  const ac = new AbortController();
  const loop = w.run(ac.signal);
  const deadline = Date.now() + 5_000;
  while (w.writes === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  ac.abort();
  await loop;
  assert.equal(w.failures, 1);
  assert.equal(w.writes, 1);
});

test('status_writer_loop_is_woken_by_a_new_translation', async () => {
  const obj: CachedPolicy = { metadata: { name: 'p', namespace: 'shop', generation: 2 } };
  const w = writer([obj], async (_ns, _n, c) => void (obj.status = { conditions: c }), { resyncMs: 60_000 });
  const ac = new AbortController();
  const loop = w.run(ac.signal);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(w.writes, 0);
  w.update([accepted()]);
  const deadline = Date.now() + 5_000;
  while (w.writes === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  ac.abort();
  await loop;
  assert.equal(w.writes, 1);
});

test('status_writer_does_not_repeat_a_write_the_cache_does_not_show_yet', async () => {
  const obj: CachedPolicy = { metadata: { name: 'p', namespace: 'shop', generation: 2 } };
  let n = 0;
  const w = writer([obj], async () => void n++); // the cache never catches up
  w.update([accepted()]);
  await w.pass(new AbortController().signal);
  await w.pass(new AbortController().signal);
  assert.equal(n, 1);
  w.update([accepted('False')]);
  await w.pass(new AbortController().signal);
  assert.equal(n, 2, 'a different status is written at once');
});
