import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket, rateLimitHeaders } from './ratelimit-local.js';

test('a_full_bucket_allows_burst_then_denies', () => {
  const b = new TokenBucket({ requests: 10, perMs: 1000, burst: 10 }, 0);
  const results = Array.from({ length: 12 }, () => b.take(0).allowed);
  assert.deepEqual(results, [...Array(10).fill(true), false, false]);
});

test('remaining_counts_down_to_zero', () => {
  const b = new TokenBucket({ requests: 3, perMs: 1000, burst: 3 }, 0);
  assert.deepEqual([b.take(0), b.take(0), b.take(0)].map((d) => d.remaining), [2, 1, 0]);
});

test('tokens_refill_continuously_at_requests_per_window', () => {
  const b = new TokenBucket({ requests: 100, perMs: 1000, burst: 100 }, 0);
  for (let i = 0; i < 100; i++) b.take(0);
  assert.equal(b.take(0).allowed, false);
  assert.equal(b.take(9).allowed, false, 'less than one token after 9 ms');
  assert.equal(b.take(10).allowed, true, 'one token every 10 ms');
  assert.equal(b.take(10).allowed, false);
});

test('the_bucket_never_holds_more_than_burst', () => {
  const b = new TokenBucket({ requests: 10, perMs: 1000, burst: 20 }, 0);
  let allowed = 0;
  for (let i = 0; i < 50; i++) if (b.take(1_000_000).allowed) allowed++;
  assert.equal(allowed, 20);
});

test('burst_above_requests_lets_a_spike_through_then_the_rate_holds', () => {
  const b = new TokenBucket({ requests: 100, perMs: 1000, burst: 200 }, 0);
  let allowed = 0;
  for (let i = 0; i < 300; i++) if (b.take(0).allowed) allowed++;
  assert.equal(allowed, 200);
  // Over the next 10 s, one request per ms: 100/s get through.
  allowed = 0;
  for (let t = 1; t <= 10_000; t++) if (b.take(t).allowed) allowed++;
  assert.equal(allowed, 1000);
});

test('burst_zero_means_requests', () => {
  const b = new TokenBucket({ requests: 5, perMs: 1000, burst: 0 }, 0);
  assert.equal(Array.from({ length: 10 }, () => b.take(0)).filter((d) => d.allowed).length, 5);
});

test('a_clock_going_back_adds_no_tokens', () => {
  const b = new TokenBucket({ requests: 1, perMs: 1000, burst: 1 }, 5000);
  assert.equal(b.take(5000).allowed, true);
  assert.equal(b.take(0).allowed, false);
  assert.equal(b.take(5999).allowed, false);
  assert.equal(b.take(6000).allowed, true);
});

test('a_denial_says_when_one_token_is_back', () => {
  const b = new TokenBucket({ requests: 1, perMs: 60_000, burst: 1 }, 0);
  b.take(0);
  const d = b.take(15_000);
  assert.equal(d.allowed, false);
  assert.equal(d.retryAfterSeconds, 45);
  assert.equal(d.resetSeconds, 45);
});

test('retry_after_is_at_least_one_second', () => {
  const b = new TokenBucket({ requests: 1000, perMs: 1000, burst: 1 }, 0);
  b.take(0);
  assert.equal(b.take(0).retryAfterSeconds, 1);
});

test('reset_is_the_time_until_the_bucket_is_full', () => {
  const b = new TokenBucket({ requests: 10, perMs: 10_000, burst: 10 }, 0);
  assert.equal(b.take(0).resetSeconds, 1);
  b.take(0);
  b.take(0);
  assert.equal(b.take(0).resetSeconds, 4);
});

test('update_keeps_tokens_within_the_new_burst', () => {
  const b = new TokenBucket({ requests: 100, perMs: 1000, burst: 100 }, 0);
  b.update({ requests: 2, perMs: 1000, burst: 2 }, 0);
  assert.equal([b.take(0), b.take(0), b.take(0)].filter((d) => d.allowed).length, 2);
});

test('headers_of_an_allowed_request', () => {
  const b = new TokenBucket({ requests: 100, perMs: 1000, burst: 200 }, 0);
  assert.deepEqual(rateLimitHeaders(b.take(0)), { 'x-ratelimit-limit': '200, 100;w=1', 'x-ratelimit-remaining': '199', 'x-ratelimit-reset': '1' });
});

test('headers_of_a_denied_request_carry_retry_after', () => {
  const b = new TokenBucket({ requests: 1, perMs: 60_000, burst: 1 }, 0);
  b.take(0);
  assert.deepEqual(rateLimitHeaders(b.take(0)), { 'x-ratelimit-limit': '1, 1;w=60', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '60', 'retry-after': '60' });
});

test('window_under_a_second_is_written_as_one_second', () => {
  const b = new TokenBucket({ requests: 5, perMs: 250, burst: 5 }, 0);
  assert.equal(rateLimitHeaders(b.take(0))['x-ratelimit-limit'], '5, 5;w=1');
});
