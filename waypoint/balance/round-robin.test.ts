import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointSet } from './endpoint-set.js';
import { BALANCE_LIMITS } from './limits.js';
import { EdfSchedule, pickCursor } from './round-robin.js';
import { inputs, keyOf, tally } from './test-helpers.js';

function endpoints(n: number, weight: (i: number) => number = () => 1) {
  const s = new EndpointSet(BALANCE_LIMITS);
  s.update(inputs(n, (i) => ({ weight: weight(i) })), 0);
  return s.list;
}

test('cursor_gives_each_endpoint_once_per_round', () => {
  const c = endpoints(4);
  const st = { next: 6 };
  const picks = Array.from({ length: 8 }, () => pickCursor(c, st).key);
  assert.deepEqual(picks, [2, 3, 0, 1, 2, 3, 0, 1].map(keyOf));
});

test('cursor_survives_the_candidates_shrinking', () => {
  const st = { next: 0 };
  pickCursor(endpoints(5), st);
  pickCursor(endpoints(5), st);
  pickCursor(endpoints(5), st);
  assert.equal(pickCursor(endpoints(2), st).key, keyOf(1));
});

test('edf_gives_5_1_1_its_shares_in_every_window_of_seven', () => {
  const c = endpoints(3, (i) => (i === 0 ? 5 : 1));
  const edf = new EdfSchedule(c, (e) => e.weight);
  const picks = Array.from({ length: 70 }, () => edf.pick((e) => e.weight).key);
  assert.deepEqual(picks.slice(0, 7), [0, 0, 0, 0, 1, 2, 0].map(keyOf), 'equal deadlines go to the one queued first');
  for (let w = 0; w < 70; w += 7) {
    const t = tally(picks.slice(w, w + 7));
    assert.deepEqual([0, 1, 2].map((i) => t.get(keyOf(i))), [5, 1, 1], `window at ${w}`);
  }
});

test('edf_gives_exact_shares_over_long_runs', () => {
  const c = endpoints(4, (i) => i + 1); // total 10
  const edf = new EdfSchedule(c, (e) => e.weight);
  const t = tally(Array.from({ length: 10_000 }, () => edf.pick((e) => e.weight).key));
  assert.deepEqual([0, 1, 2, 3].map((i) => Math.round(t.get(keyOf(i))! / 100)), [10, 20, 30, 40]);
});

test('edf_with_equal_weights_is_plain_round_robin', () => {
  const c = endpoints(3);
  const edf = new EdfSchedule(c, () => 1);
  assert.deepEqual(Array.from({ length: 6 }, () => edf.pick(() => 1).key), [0, 1, 2, 0, 1, 2].map(keyOf));
});

test('edf_follows_fractional_and_changing_weights', () => {
  const c = endpoints(2);
  let w1 = 0.1;
  const weightOf = (e: { key: string }) => (e.key === keyOf(0) ? 1 : w1);
  const edf = new EdfSchedule(c, weightOf);
  let t = tally(Array.from({ length: 1100 }, () => edf.pick(weightOf).key));
  assert.ok(Math.abs(t.get(keyOf(1))! - 100) <= 1, `${t.get(keyOf(1))}`);
  w1 = 1; // read when endpoint 1 is next picked
  t = tally(Array.from({ length: 1000 }, () => edf.pick(weightOf).key));
  assert.ok(Math.abs(t.get(keyOf(1))! - 500) <= 10, `${t.get(keyOf(1))}`);
});

test('edf_treats_a_zero_or_bad_weight_as_the_smallest', () => {
  const c = endpoints(2);
  const weightOf = (e: { key: string }) => (e.key === keyOf(0) ? 1 : Number.NaN);
  const edf = new EdfSchedule(c, weightOf);
  const t = tally(Array.from({ length: 1000 }, () => edf.pick(weightOf).key));
  assert.equal(t.get(keyOf(0)), 1000);
});

test('edf_can_start_further_along_so_replicas_do_not_start_together', () => {
  const c = endpoints(3);
  const edf = new EdfSchedule(c, () => 1, 2);
  assert.deepEqual(Array.from({ length: 4 }, () => edf.pick(() => 1).key), [2, 0, 1, 2].map(keyOf));
});
