import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointSet } from './endpoint-set.js';
import { BALANCE_LIMITS } from './limits.js';
import { cumulativeWeights, pickUniform, pickWeightedRandom } from './random-choice.js';
import { seededRandom } from './random.js';
import { inputs, keyOf, sharesWithin, tally } from './test-helpers.js';

test('uniform_random_spreads_evenly_on_a_fixed_seed', () => {
  const s = new EndpointSet(BALANCE_LIMITS);
  s.update(inputs(10), 0);
  const r = seededRandom(11);
  const t = tally(Array.from({ length: 20_000 }, () => pickUniform(s.list, r).key));
  assert.deepEqual(sharesWithin(t, Object.fromEntries(Array.from({ length: 10 }, (_, i) => [keyOf(i), 0.1])), 0.08), []);
});

test('weighted_random_follows_weights', () => {
  const s = new EndpointSet(BALANCE_LIMITS);
  s.update(inputs(3, (i) => ({ weight: i + 1 })), 0);
  const r = seededRandom(12);
  const t = tally(Array.from({ length: 12_000 }, () => pickWeightedRandom(s.list, cumulativeWeights(s.list), r).key));
  assert.deepEqual(sharesWithin(t, { [keyOf(0)]: 1 / 6, [keyOf(1)]: 2 / 6, [keyOf(2)]: 3 / 6 }, 0.06), []);
});

test('weighted_random_with_a_source_returning_almost_one_picks_the_last', () => {
  const s = new EndpointSet(BALANCE_LIMITS);
  s.update(inputs(3), 0);
  assert.equal(pickWeightedRandom(s.list, cumulativeWeights(s.list), () => 0.9999999999).key, keyOf(2));
});

test('weighted_random_maps_the_draw_onto_the_cumulative_weights', () => {
  const s = new EndpointSet(BALANCE_LIMITS);
  s.update(inputs(3, (i) => ({ weight: i + 1 })), 0); // sums 1, 3, 6
  const sums = cumulativeWeights(s.list);
  assert.deepEqual([...sums], [1, 3, 6]);
  assert.equal(pickWeightedRandom(s.list, sums, () => 0).key, keyOf(0));
  assert.equal(pickWeightedRandom(s.list, sums, () => 1 / 6).key, keyOf(1), 'a draw on a boundary goes to the next');
  assert.equal(pickWeightedRandom(s.list, sums, () => 0.5).key, keyOf(2));
});
