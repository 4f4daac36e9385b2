import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixedWindowDecision, slidingEstimate, slidingRetryAfterMs, slidingWindowAt, slidingWindowDecision } from './ratelimit-window.js';

test('fixed_window_allows_up_to_the_limit', () => {
  assert.equal(fixedWindowDecision(10, 60_000, 10, 30_000).allowed, true);
  assert.equal(fixedWindowDecision(10, 60_000, 10, 30_000).remaining, 0);
  const d = fixedWindowDecision(10, 60_000, 11, 30_000);
  assert.deepEqual([d.allowed, d.remaining, d.resetSeconds, d.retryAfterSeconds], [false, 0, 30, 30]);
});

test('fixed_window_reset_rounds_up_and_is_at_least_one', () => {
  assert.equal(fixedWindowDecision(10, 1000, 1, 1).resetSeconds, 1);
  assert.equal(fixedWindowDecision(10, 1000, 1, -1).resetSeconds, 1);
  assert.equal(fixedWindowDecision(10, 60_000, 1, 59_001).resetSeconds, 60);
});

test('sliding_estimate_weights_the_previous_window_by_what_is_left', () => {
  assert.equal(slidingEstimate(100, 0, 0, 1000), 100);
  assert.equal(slidingEstimate(100, 10, 250, 1000), 85);
  assert.equal(slidingEstimate(100, 10, 1000, 1000), 10);
  assert.equal(slidingEstimate(100, 10, 5000, 1000), 10, 'elapsed is capped at the window');
});

test('sliding_window_index_is_aligned', () => {
  assert.deepEqual(slidingWindowAt(125_500, 60_000), { index: 2, elapsedMs: 5_500 });
  assert.deepEqual(slidingWindowAt(0, 1000), { index: 0, elapsedMs: 0 });
});

test('sliding_decision_remaining_counts_the_estimate', () => {
  const d = slidingWindowDecision(100, 1000, true, 100, 10, 500);
  assert.equal(d.remaining, 40);
  assert.equal(d.resetSeconds, 1);
});

test('sliding_retry_after_within_the_window', () => {
  // limit 10, previous 20, current 0 at 500 ms: estimate 10; room 9 → previous' share must fall
  // to 9: 20 * (1000 - 500 - t) / 1000 <= 9 → t >= 50.
  assert.equal(slidingRetryAfterMs(10, 1000, 20, 0, 500), 50);
  assert.equal(slidingRetryAfterMs(10, 1000, 0, 5, 500), 0);
});

test('sliding_retry_after_into_the_next_window', () => {
  // current already at the limit: wait for the next window, then for its decay.
  // limit 10, current 10 at 0 ms: next window starts in 1000 ms, then 10 * (1000 - t) / 1000 <= 9 → t >= 100.
  assert.equal(slidingRetryAfterMs(10, 1000, 0, 10, 0), 1100);
});

test('sliding_denial_carries_retry_after_in_seconds', () => {
  const d = slidingWindowDecision(10, 60_000, false, 0, 10, 0);
  assert.equal(d.allowed, false);
  assert.equal(d.retryAfterSeconds, 66);
  assert.ok(d.resetSeconds >= d.retryAfterSeconds!);
});

test('sliding_limit_zero_never_has_room', () => {
  assert.equal(slidingRetryAfterMs(0, 1000, 0, 0, 0), Number.MAX_SAFE_INTEGER);
});

test('sliding_window_simulation_holds_the_rate_within_tolerance', () => {
  // A client sending one request every 10 ms (100/s) against 50 per second, over 10 s:
  // the counters as Redis would keep them.
  const W = 1000;
  const L = 50;
  const counts = new Map<number, number>();
  let allowed = 0;
  for (let t = 0; t < 10_000; t += 10) {
    const { index, elapsedMs } = slidingWindowAt(t, W);
    const cur = counts.get(index) ?? 0;
    const prev = counts.get(index - 1) ?? 0;
    if (slidingEstimate(prev, cur, elapsedMs, W) + 1 <= L) {
      counts.set(index, cur + 1);
      allowed++;
    }
  }
  assert.ok(Math.abs(allowed - 500) <= 50, `allowed ${allowed} ~ 500`);
});
