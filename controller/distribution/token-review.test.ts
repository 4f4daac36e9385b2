// Unit tests of the TokenReview cache: results are reused within their TTL (shorter for
// rejections, never past the token's own expiry), the cache is bounded, concurrent
// reviews of one token make one call, and failures are not cached.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CachedTokenReviewer, jwtExpiryMs, type TokenReviewResult, type TokenReviewer } from './token-review.js';

function fake(answer: (token: string) => TokenReviewResult | Promise<TokenReviewResult>) {
  const calls: string[] = [];
  const inner: TokenReviewer = {
    review: async (t) => {
      calls.push(t);
      return answer(t);
    },
  };
  return { inner, calls };
}

const ok: TokenReviewResult = { authenticated: true, user: { username: 'system:serviceaccount:a:b' } };
const no: TokenReviewResult = { authenticated: false, error: 'invalid' };
const jwt = (exp: number) => `e30.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.sig`;

test('token_cache_reuses_a_positive_result_within_ttl', async () => {
  let now = 0;
  const { inner, calls } = fake(() => ok);
  const c = new CachedTokenReviewer(inner, { ttlMs: 1000, negativeTtlMs: 100, maxEntries: 10, now: () => now });
  assert.deepEqual(await c.review('t'), ok);
  now = 999;
  await c.review('t');
  assert.equal(calls.length, 1);
  now = 1000;
  await c.review('t');
  assert.equal(calls.length, 2);
});

test('token_cache_negative_results_expire_sooner', async () => {
  let now = 0;
  const { inner, calls } = fake(() => no);
  const c = new CachedTokenReviewer(inner, { ttlMs: 1000, negativeTtlMs: 100, maxEntries: 10, now: () => now });
  await c.review('bad');
  now = 50;
  await c.review('bad');
  assert.equal(calls.length, 1);
  now = 100;
  await c.review('bad');
  assert.equal(calls.length, 2);
});

test('token_cache_never_outlives_the_token_exp', async () => {
  let now = 0;
  const { inner, calls } = fake(() => ok);
  const c = new CachedTokenReviewer(inner, { ttlMs: 60_000, negativeTtlMs: 100, maxEntries: 10, now: () => now });
  const token = jwt(5); // expires at 5 s
  assert.equal(jwtExpiryMs(token), 5000);
  await c.review(token);
  now = 5000;
  await c.review(token);
  assert.equal(calls.length, 2);
});

test('token_cache_is_bounded_and_forgets_the_least_recently_used', async () => {
  const { inner, calls } = fake(() => ok);
  const c = new CachedTokenReviewer(inner, { ttlMs: 60_000, negativeTtlMs: 100, maxEntries: 2, now: () => 0 });
  await c.review('a');
  await c.review('b');
  await c.review('a'); // a is now the most recent
  await c.review('c'); // evicts b
  assert.equal(c.size, 2);
  calls.length = 0;
  await c.review('a');
  await c.review('b');
  assert.deepEqual(calls, ['b']);
});

test('token_cache_shares_one_review_between_concurrent_callers', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const { inner, calls } = fake(async () => {
    await gate;
    return ok;
  });
  const c = new CachedTokenReviewer(inner, { ttlMs: 1000, negativeTtlMs: 100, maxEntries: 10, now: () => 0 });
  const all = Promise.all([c.review('t'), c.review('t'), c.review('t')]);
  release();
  assert.deepEqual(await all, [ok, ok, ok]);
  assert.equal(calls.length, 1);
});

test('token_cache_does_not_cache_a_failed_review', async () => {
  let fail = true;
  const { inner, calls } = fake(() => {
    if (fail) throw new Error('api server down');
    return ok;
  });
  const c = new CachedTokenReviewer(inner, { ttlMs: 1000, negativeTtlMs: 100, maxEntries: 10, now: () => 0 });
  await assert.rejects(c.review('t'), /api server down/);
  fail = false;
  assert.deepEqual(await c.review('t'), ok);
  assert.equal(calls.length, 2);
});
