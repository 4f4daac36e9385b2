// Weighted backend choice (BackendRef.weight; HTTPRouteRule.backendRefs for invalid
// backends). Distributions are measured on a fixed-seed generator, so they are exact
// and repeatable, and asserted within a tolerance.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RouteBackend } from '../../core/config/routes.js';
import { chooseBackend } from './backend-choice.js';

/** mulberry32: a tiny deterministic PRNG with values in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DRAWS = 10_000;
const TOLERANCE = 0.02;

const be = (name: string, weight: number, unresolved?: string): RouteBackend => ({
  ...(unresolved === undefined ? { service: `ns/${name}` } : {}),
  port: 8080,
  weight,
  filters: [],
  ...(unresolved !== undefined ? { unresolved } : {}),
});

function shares(backends: RouteBackend[], seed = 42): number[] {
  const counts = backends.map(() => 0);
  const random = mulberry32(seed);
  for (let i = 0; i < DRAWS; i++) {
    const c = chooseBackend(backends, random);
    assert.ok(c !== undefined);
    counts[c.index]!++;
  }
  return counts.map((n) => n / DRAWS);
}

function assertShares(got: number[], want: number[]): void {
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]!) <= TOLERANCE, `backend ${i}: got ${g}, want ${want[i]} ± ${TOLERANCE}`));
}

test('split_80_20_within_two_percent_over_10000_draws', () => {
  assertShares(shares([be('v1', 80), be('v2', 20)]), [0.8, 0.2]);
});

test('three_way_split_within_two_percent', () => {
  assertShares(shares([be('a', 1), be('b', 2), be('c', 7)]), [0.1, 0.2, 0.7]);
});

test('weights_are_relative_not_percentages', () => {
  assertShares(shares([be('a', 3), be('b', 1)]), [0.75, 0.25]);
  assertShares(shares([be('a', 300000), be('b', 100000)], 7), [0.75, 0.25]);
});

test('MeshHTTPRouteWeight_70_30_within_two_percent', () => {
  assertShares(shares([be('echo-v1', 70), be('echo-v2', 30)]), [0.7, 0.3]);
});

test('MeshGRPCRouteWeight_70_30_0_weight_zero_never_chosen', () => {
  const got = shares([be('echo-v1', 70), be('echo-v2', 30), be('echo-v3', 0)]);
  assertShares(got, [0.7, 0.3, 0]);
  assert.equal(got[2], 0);
});

test('weight_zero_is_never_chosen_even_at_the_edges_of_the_random_range', () => {
  const backends = [be('zero-first', 0), be('one', 1), be('zero-last', 0)];
  for (const r of [0, 0.5, 1 - Number.EPSILON]) assert.equal(chooseBackend(backends, () => r)!.index, 1);
});

test('single_backend_with_positive_weight_gets_everything', () => {
  assertShares(shares([be('only', 5)]), [1]);
});

test('all_zero_weights_choose_no_backend', () => {
  assert.equal(chooseBackend([be('a', 0), be('b', 0)], Math.random), undefined);
});

test('no_backends_choose_no_backend', () => {
  assert.equal(chooseBackend([], Math.random), undefined);
});

test('unresolved_backend_is_chosen_for_its_share', () => {
  const backends = [be('ok', 1), be('missing', 1, 'BackendNotFound')];
  const got = shares(backends);
  assertShares(got, [0.5, 0.5]);
  assert.equal(chooseBackend(backends, () => 0.99)!.backend.unresolved, 'BackendNotFound');
});

test('invalid_weights_count_as_zero', () => {
  const backends = [be('neg', -5), be('nan', NaN), be('inf', Infinity), be('ok', 1)];
  for (const r of [0, 0.3, 0.999]) assert.equal(chooseBackend(backends, () => r)!.index, 3);
});

test('random_values_outside_the_unit_interval_are_clamped', () => {
  const backends = [be('a', 1), be('b', 1)];
  assert.equal(chooseBackend(backends, () => -1)!.index, 0);
  assert.equal(chooseBackend(backends, () => NaN)!.index, 0);
  assert.equal(chooseBackend(backends, () => 1)!.index, 1);
  assert.equal(chooseBackend(backends, () => 7)!.index, 1);
});

test('boundaries_fall_to_the_next_backend', () => {
  const backends = [be('a', 1), be('b', 1)];
  assert.equal(chooseBackend(backends, () => 0.4999)!.index, 0);
  assert.equal(chooseBackend(backends, () => 0.5)!.index, 1);
});
