import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointSet } from './endpoint-set.js';
import { BALANCE_LIMITS } from './limits.js';
import { pickCursor, pickSmooth } from './round-robin.js';
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

test('smooth_round_robin_interleaves_5_1_1_as_nginx', () => {
  const c = endpoints(3, (i) => (i === 0 ? 5 : 1));
  const picks = Array.from({ length: 7 }, () => pickSmooth(c, (e) => e.weight).key);
  assert.deepEqual(picks, [0, 0, 1, 0, 2, 0, 0].map(keyOf));
});

test('smooth_round_robin_gives_exact_shares_over_each_window', () => {
  const c = endpoints(4, (i) => i + 1); // total 10
  for (let w = 0; w < 5; w++) {
    const t = tally(Array.from({ length: 10 }, () => pickSmooth(c, (e) => e.weight).key));
    assert.deepEqual([0, 1, 2, 3].map((i) => t.get(keyOf(i))), [1, 2, 3, 4]);
  }
});

test('smooth_round_robin_follows_fractional_effective_weights', () => {
  const c = endpoints(2);
  const t = tally(Array.from({ length: 1100 }, () => pickSmooth(c, (e) => (e.key === keyOf(0) ? 1 : 0.1)).key));
  assert.equal(t.get(keyOf(0)), 1000);
  assert.equal(t.get(keyOf(1)), 100);
});
