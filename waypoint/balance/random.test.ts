import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextSeed, randomIndex, seededRandom } from './random.js';

test('seeded_random_gives_the_same_sequence_for_the_same_seed', () => {
  const a = seededRandom(42), b = seededRandom(42), c = seededRandom(43);
  const sa = Array.from({ length: 5 }, a), sb = Array.from({ length: 5 }, b), sc = Array.from({ length: 5 }, c);
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
});

test('seeded_random_stays_in_zero_to_one_and_is_roughly_uniform', () => {
  const r = seededRandom(7);
  const buckets = new Array(10).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const x = r();
    assert.ok(x >= 0 && x < 1);
    buckets[Math.floor(x * 10)]++;
  }
  for (const b of buckets) assert.ok(Math.abs(b - 10_000) < 500, `bucket ${b}`);
});

test('random_index_stays_in_range_even_for_a_source_returning_one', () => {
  assert.equal(randomIndex(() => 1, 5), 4);
  assert.equal(randomIndex(() => 0, 5), 0);
  assert.equal(randomIndex(() => 0.99999999, 3), 2);
});

test('next_seed_is_a_uint32', () => {
  const s = nextSeed(seededRandom(1));
  assert.ok(Number.isInteger(s) && s >= 0 && s < 2 ** 32);
});
