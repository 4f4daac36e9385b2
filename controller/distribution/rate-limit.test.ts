import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyedRateLimiter } from './rate-limit.js';

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('rate_limit_allows_the_burst_then_refuses_with_a_retry_time', () => {
  const c = clock();
  const r = new KeyedRateLimiter({ burst: 3, perSecond: 2, maxKeys: 10 }, c.now);
  for (let i = 0; i < 3; i++) assert.deepEqual(r.take('a'), { ok: true });
  assert.deepEqual(r.take('a'), { ok: false, retryAfterMs: 500 });
});

test('rate_limit_refills_at_its_rate_and_never_beyond_the_burst', () => {
  const c = clock();
  const r = new KeyedRateLimiter({ burst: 2, perSecond: 1, maxKeys: 10 }, c.now);
  r.take('a');
  r.take('a');
  c.advance(1000);
  assert.equal(r.take('a').ok, true);
  assert.equal(r.take('a').ok, false);
  c.advance(60_000);
  assert.equal(r.take('a').ok, true);
  assert.equal(r.take('a').ok, true);
  assert.equal(r.take('a').ok, false);
});

test('rate_limit_keys_are_independent', () => {
  const r = new KeyedRateLimiter({ burst: 1, perSecond: 0, maxKeys: 10 }, clock().now);
  assert.equal(r.take('a').ok, true);
  assert.equal(r.take('a').ok, false);
  assert.equal(r.take('b').ok, true);
});

test('rate_limit_forgets_the_least_recently_used_key_when_full', () => {
  const r = new KeyedRateLimiter({ burst: 1, perSecond: 0, maxKeys: 2 }, clock().now);
  r.take('a');
  r.take('b');
  r.take('a'); // a is now the most recent
  r.take('c'); // forgets b
  assert.equal(r.size, 2);
  assert.equal(r.take('a').ok, false, 'a was kept, its bucket empty');
  assert.equal(r.take('b').ok, true, 'b was forgotten: a full bucket again');
});
