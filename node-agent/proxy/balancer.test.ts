// Unit tests of the L4 round-robin balancer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { counterFor, createCounters, nextIndex, pickEndpoint, pruneCounters, roundRobin } from './balancer.js';

test('round_robin_spreads_over_endpoints', () => {
  const counter = { next: 0 };
  const picks = Array.from({ length: 9 }, () => pickEndpoint(['a', 'b', 'c'], counter));
  assert.deepEqual(picks, ['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c']);
});

test('round_robin_counters_are_per_service', () => {
  const counters = createCounters();
  const pick = roundRobin<string>(counters);
  assert.equal(pick(['a', 'b'], 'svc-1'), 0);
  assert.equal(pick(['a', 'b'], 'svc-1'), 1);
  assert.equal(pick(['x', 'y'], 'svc-2'), 0, 'a second Service starts its own rotation');
  assert.equal(pick(['a', 'b'], 'svc-1'), 0);
  assert.equal(counterFor(counters, 'svc-1').next, 3);
  assert.equal(counterFor(counters, 'svc-2').next, 1);
});

test('pick_endpoint_with_none_returns_undefined_and_keeps_counter', () => {
  const counter = { next: 5 };
  assert.equal(pickEndpoint([], counter), undefined);
  assert.equal(counter.next, 5);
  assert.equal(nextIndex(0, counter), -1);
});

test('round_robin_continues_after_endpoint_set_shrinks', () => {
  const counter = { next: 0 };
  pickEndpoint(['a', 'b', 'c'], counter);
  pickEndpoint(['a', 'b', 'c'], counter);
  const after = [0, 1, 2, 3].map(() => pickEndpoint(['a', 'b'], counter));
  assert.deepEqual(after.sort(), ['a', 'a', 'b', 'b'], 'every remaining endpoint keeps its turn');
});

test('round_robin_counter_wraps_without_losing_precision', () => {
  const counter = { next: Number.MAX_SAFE_INTEGER - 1 };
  assert.equal(nextIndex(3, counter), (Number.MAX_SAFE_INTEGER - 1) % 3);
  assert.equal(counter.next, 0);
  assert.ok(Number.isSafeInteger(counter.next));
});

test('prune_counters_drops_removed_services', () => {
  const counters = createCounters();
  counterFor(counters, 'keep');
  counterFor(counters, 'gone');
  pruneCounters(counters, ['keep', 'new']);
  assert.deepEqual([...counters.keys()], ['keep']);
});
