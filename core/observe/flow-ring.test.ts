import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlowRing } from './flow-ring.js';

test('items_are_numbered_from_one_in_order', () => {
  const r = new FlowRing<string>(3);
  assert.equal(r.push('a'), 1);
  assert.equal(r.push('b'), 2);
  assert.deepEqual(r.since(0).items.map((i) => [i.seq, i.item]), [[1, 'a'], [2, 'b']]);
  assert.equal(r.lastSeq, 2);
});

test('a_full_ring_overwrites_the_oldest_and_a_late_reader_learns_what_it_missed', () => {
  const r = new FlowRing<number>(3);
  for (let i = 1; i <= 5; i++) r.push(i);
  assert.equal(r.size, 3);
  assert.equal(r.firstSeq, 3);
  const { items, missed } = r.since(0);
  assert.deepEqual(items.map((i) => i.item), [3, 4, 5]);
  assert.equal(missed, 2);
});

test('since_returns_only_what_came_after_the_sequence_number', () => {
  const r = new FlowRing<number>(10);
  for (let i = 1; i <= 4; i++) r.push(i);
  assert.deepEqual(r.since(2).items.map((i) => i.item), [3, 4]);
  assert.deepEqual(r.since(4).items, []);
  assert.equal(r.since(4).missed, 0);
});

test('a_limit_keeps_the_newest_and_counts_the_rest_as_missed', () => {
  const r = new FlowRing<number>(10);
  for (let i = 1; i <= 6; i++) r.push(i);
  const { items, missed } = r.since(0, 2);
  assert.deepEqual(items.map((i) => i.item), [5, 6]);
  assert.equal(missed, 4);
});

test('a_filter_selects_items_before_the_limit', () => {
  const r = new FlowRing<number>(10);
  for (let i = 1; i <= 6; i++) r.push(i);
  assert.deepEqual(r.since(0, 2, (n) => n % 2 === 1).items.map((i) => i.item), [3, 5]);
});

test('a_ring_without_capacity_is_refused', () => {
  assert.throws(() => new FlowRing(0), /positive integer/);
});
