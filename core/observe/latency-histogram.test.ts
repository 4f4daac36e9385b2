import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bucketOf, HISTOGRAM_LENGTH, histogramCount, LATENCY_BUCKETS_MS, mergeHistogram, newHistogram, observe, quantile } from './latency-histogram.js';

test('a_duration_falls_in_the_first_bucket_whose_bound_holds_it', () => {
  assert.equal(bucketOf(0), 0);
  assert.equal(bucketOf(0.5), 0);
  assert.equal(bucketOf(0.6), 1);
  assert.equal(bucketOf(10), LATENCY_BUCKETS_MS.indexOf(10));
  assert.equal(bucketOf(11), LATENCY_BUCKETS_MS.indexOf(25));
});

test('a_duration_above_the_last_bound_goes_to_the_overflow_bucket', () => {
  assert.equal(bucketOf(5_000_000), HISTOGRAM_LENGTH - 1);
});

test('a_negative_or_nan_duration_counts_in_the_first_bucket', () => {
  assert.equal(bucketOf(-3), 0);
  assert.equal(bucketOf(Number.NaN), 0);
});

test('histograms_merge_by_adding_counts', () => {
  const a = newHistogram();
  const b = newHistogram();
  observe(a, 3);
  observe(b, 3);
  observe(b, 700);
  mergeHistogram(a, b);
  assert.equal(histogramCount(a), 3);
  assert.equal(a[bucketOf(3)], 2);
  assert.equal(a[bucketOf(700)], 1);
});

test('quantile_of_an_empty_histogram_is_undefined', () => {
  assert.equal(quantile(newHistogram(), 0.99), undefined);
});

test('p99_interpolates_inside_the_bucket_holding_the_rank', () => {
  const h = newHistogram();
  observe(h, 20, 99); // (10, 25]
  observe(h, 200, 1); // (100, 250]
  // rank 99 of 100: the last of the 99 in (10, 25] -> its upper bound
  assert.equal(quantile(h, 0.99), 25);
  // rank 100: inside (100, 250], all of it
  assert.equal(quantile(h, 1), 250);
  // rank 49.5 of the 99 in (10, 25]: 10 + 15 * 49.5/99
  assert.equal(quantile(h, 0.495), 17.5);
});

test('a_rank_in_the_overflow_bucket_answers_the_highest_bound', () => {
  const h = newHistogram();
  observe(h, 10_000_000);
  assert.equal(quantile(h, 0.99), LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]);
});
