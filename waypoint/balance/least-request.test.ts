import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointSet } from './endpoint-set.js';
import { loadAdjusted, pickFewestOfChoices, pickLeastRequestWeighted } from './least-request.js';
import { BALANCE_LIMITS } from './limits.js';
import { seededRandom } from './random.js';
import { EdfSchedule } from './round-robin.js';
import { inputs, keyOf, sharesWithin, tally } from './test-helpers.js';

function endpoints(n: number, weight: (i: number) => number = () => 1) {
  const s = new EndpointSet(BALANCE_LIMITS);
  s.update(inputs(n, (i) => ({ weight: weight(i) })), 0);
  return s.list;
}

test('two_choices_never_picks_the_most_loaded_when_others_are_idle', () => {
  const c = endpoints(3);
  c[0]!.active = 10;
  const r = seededRandom(1);
  const t = tally(Array.from({ length: 3000 }, () => pickFewestOfChoices(c, r).key));
  assert.equal(t.get(keyOf(0)), undefined);
  assert.deepEqual(sharesWithin(t, { [keyOf(1)]: 0.5, [keyOf(2)]: 0.5 }, 0.1), []);
});

test('two_choices_prefers_the_less_loaded_in_proportion', () => {
  const c = endpoints(4);
  c.forEach((e, i) => (e.active = i)); // 0,1,2,3 in flight
  const r = seededRandom(2);
  const t = tally(Array.from({ length: 12_000 }, () => pickFewestOfChoices(c, r).key));
  // With two distinct draws of 4, endpoint i wins against every one drawn with it that is busier: (3 - i) / 6 of picks.
  assert.deepEqual(sharesWithin(t, { [keyOf(0)]: 3 / 6, [keyOf(1)]: 2 / 6, [keyOf(2)]: 1 / 6 }, 0.06), []);
});

test('two_choices_with_equal_load_is_uniform', () => {
  const c = endpoints(5);
  const r = seededRandom(3);
  const t = tally(Array.from({ length: 10_000 }, () => pickFewestOfChoices(c, r).key));
  assert.deepEqual(sharesWithin(t, Object.fromEntries([0, 1, 2, 3, 4].map((i) => [keyOf(i), 0.2])), 0.08), []);
});

test('two_choices_of_one_or_two_candidates', () => {
  const one = endpoints(1);
  assert.equal(pickFewestOfChoices(one, seededRandom(1)).key, keyOf(0));
  const two = endpoints(2);
  two[0]!.active = 1;
  for (let i = 0; i < 20; i++) assert.equal(pickFewestOfChoices(two, seededRandom(i)).key, keyOf(1));
});

test('two_choices_of_two_idle_candidates_splits_evenly', () => {
  const two = endpoints(2);
  const r = seededRandom(4);
  const t = tally(Array.from({ length: 4000 }, () => pickFewestOfChoices(two, r).key));
  assert.deepEqual(sharesWithin(t, { [keyOf(0)]: 0.5, [keyOf(1)]: 0.5 }, 0.06), []);
});

const schedule = (c: ReturnType<typeof endpoints>) => new EdfSchedule(c, loadAdjusted((e) => e.weight, 1));

test('weighted_least_request_respects_weights_under_even_load', () => {
  const c = endpoints(2, (i) => (i === 0 ? 1 : 3));
  const s = schedule(c);
  const t = tally(Array.from({ length: 400 }, () => pickLeastRequestWeighted(s, (e) => e.weight, 1).key));
  assert.equal(t.get(keyOf(0)), 100);
  assert.equal(t.get(keyOf(1)), 300);
});

test('weighted_least_request_divides_weight_by_active_plus_one', () => {
  const c = endpoints(2, (i) => (i === 0 ? 1 : 3));
  c[1]!.active = 5; // 3 / 6 = 0.5 against 1 / 1
  const s = schedule(c);
  const t = tally(Array.from({ length: 300 }, () => pickLeastRequestWeighted(s, (e) => e.weight, 1).key));
  assert.equal(t.get(keyOf(0)), 200);
  assert.equal(t.get(keyOf(1)), 100);
});

test('load_adjusted_weight_is_weight_over_active_plus_one_to_the_bias', () => {
  const [e] = endpoints(1, () => 4);
  e!.active = 3;
  assert.equal(loadAdjusted((x) => x.weight, 1)(e!), 1);
  assert.equal(loadAdjusted((x) => x.weight, 2)(e!), 0.25);
});
