import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isWarming, slowStartFactor } from './slow-start.js';

const p = { warmupMs: 30_000, minWeightPercent: 10, aggression: 1 };

test('slow_start_factor_ramps_linearly_from_the_floor_to_full', () => {
  assert.equal(slowStartFactor(1000, 1000, p), 0.1);
  assert.equal(slowStartFactor(1000 + 3_000, 1000, p), 0.1); // 10 % of the window: the floor still
  assert.equal(slowStartFactor(1000 + 15_000, 1000, p), 0.5);
  assert.equal(slowStartFactor(1000 + 27_000, 1000, p), 0.9);
  assert.equal(slowStartFactor(1000 + 30_000, 1000, p), 1);
  assert.equal(slowStartFactor(1000 + 99_000, 1000, p), 1);
});

test('slow_start_factor_is_full_for_a_warm_endpoint_or_no_warmup', () => {
  assert.equal(slowStartFactor(5, undefined, p), 1);
  assert.equal(slowStartFactor(5, 5, { ...p, warmupMs: 0 }), 1);
});

test('slow_start_factor_with_a_clock_before_since_is_the_floor', () => assert.equal(slowStartFactor(0, 100, p), 0.1));

test('slow_start_aggression_bends_the_ramp', () => {
  assert.equal(slowStartFactor(15_000, 0, { ...p, aggression: 2 }), Math.sqrt(0.5));
  assert.equal(slowStartFactor(15_000, 0, { ...p, aggression: 0.5 }), 0.25);
});

test('is_warming_until_the_window_ends', () => {
  assert.equal(isWarming(100, 0, 200), true);
  assert.equal(isWarming(200, 0, 200), false);
  assert.equal(isWarming(100, undefined, 200), false);
  assert.equal(isWarming(100, 0, 0), false);
});
