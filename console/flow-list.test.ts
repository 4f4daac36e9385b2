import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Flow } from './api-types.js';
import { addNamespaces, flowNamespaces, mergeFlows, newFlowsNote, pausedView } from './flow-list.js';

const flow = (id: string, time: string, ns = 'a', verdict: Flow['verdict'] = 'allowed'): Flow => ({
  id, time, kind: 'connection', verdict, policy: null,
  source: { namespace: ns, workload: 'x', identity: null }, destination: { namespace: ns, workload: 'y', service: null, identity: null, port: 80 },
  protocol: 'tcp', method: null, path: null, status: null, durationMs: 1, bytesSent: 0, bytesReceived: 0, reporter: 'node agent on n1',
});

test('streamed_flows_come_first_newest_on_top', () => {
  const cur = [flow('1', '2026-01-01T00:00:01Z')];
  const out = mergeFlows(cur, [flow('2', '2026-01-01T00:00:03Z'), flow('3', '2026-01-01T00:00:02Z')]);
  assert.deepEqual(out.map((f) => f.id), ['2', '3', '1']);
});

test('a_flow_seen_twice_is_listed_once', () => {
  const cur = [flow('1', '2026-01-01T00:00:01Z')];
  assert.equal(mergeFlows(cur, [flow('1', '2026-01-01T00:00:01Z')]), cur);
  assert.deepEqual(mergeFlows([], [flow('2', 't'), flow('2', 't')]).map((f) => f.id), ['2']);
});

test('the_list_keeps_at_most_the_bound_dropping_the_oldest', () => {
  const many = Array.from({ length: 10 }, (_, i) => flow(String(i), `2026-01-01T00:00:${String(i).padStart(2, '0')}Z`));
  assert.deepEqual(mergeFlows([], many, 3).map((f) => f.id), ['9', '8', '7']);
});

test('a_paused_table_holds_exactly_the_frozen_rows_and_counts_the_new_ones', () => {
  const frozen = [flow('2', 't2'), flow('1', 't1')];
  const live = mergeFlows(frozen, [flow('3', 't3'), flow('4', 't4')]);
  const v = pausedView(frozen, live);
  assert.equal(v.rows.map((f) => f.id).join(), '2,1');
  assert.equal(v.newCount, 2);
});

test('a_paused_table_keeps_its_rows_when_the_live_list_drops_them', () => {
  const frozen = [flow('2', 't2'), flow('1', 't1')];
  const live = mergeFlows(frozen, [flow('3', 't3'), flow('4', 't4')], 2);
  assert.deepEqual(live.map((f) => f.id), ['4', '3']);
  const v = pausedView(frozen, live);
  assert.deepEqual(v.rows.map((f) => f.id), ['2', '1']);
  assert.equal(v.newCount, 2);
});

test('the_verdict_filter_applies_to_the_frozen_rows_and_to_the_count', () => {
  const frozen = [flow('2', 't2', 'a', 'denied'), flow('1', 't1')];
  const live = mergeFlows(frozen, [flow('3', 't3', 'a', 'denied'), flow('4', 't4')]);
  const v = pausedView(frozen, live, (f) => f.verdict === 'denied');
  assert.deepEqual(v.rows.map((f) => f.id), ['2']);
  assert.equal(v.newCount, 1);
});

test('the_new_count_says_plus_once_the_kept_list_is_all_new', () => {
  assert.equal(newFlowsNote(12), '12 new');
  assert.equal(newFlowsNote(0), '0 new');
  assert.equal(newFlowsNote(500), '500+ new');
  assert.equal(newFlowsNote(3, 3), '3+ new');
});

test('namespace_choices_only_grow_and_stay_sorted', () => {
  const seen = addNamespaces([], flowNamespaces([flow('1', 't', 'shop'), flow('2', 't', 'payments')]));
  assert.deepEqual(seen, ['payments', 'shop']);
  // Filtered to shop, the flows on screen name only shop: payments stays a choice.
  assert.equal(addNamespaces(seen, flowNamespaces([flow('3', 't', 'shop')])), seen);
  assert.deepEqual(addNamespaces(seen, ['apps', null, undefined, '']), ['apps', 'payments', 'shop']);
});
