import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Retries } from '../../core/config/traffic-policy.js';
import { RetryBudget, RetryConfigError, backoffMs, decideRetry, isIdempotent, retriableCondition, retriesFromHttpRoute, retriesFromRouteRetry, tryTimeoutMs, type RetryInput, type TryOutcome } from './retry.js';

/** mulberry32: a seeded uniform [0, 1) source, so jitter is reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const retries = (o: Partial<Retries> = {}): Retries => ({
  attempts: 3,
  retryOn: ['gateway-error', 'reset', 'connect-failure'],
  retriableStatusCodes: [],
  backoff: { baseMs: 25, maxMs: 250 },
  budget: { percent: 20, minRetriesPerSecond: 3 },
  retryNonIdempotent: false,
  ...o,
});
const resp = (status: number, grpcStatus?: number): TryOutcome => (grpcStatus === undefined ? { kind: 'response', status } : { kind: 'response', status, grpcStatus });
const input = (o: Partial<RetryInput> = {}): RetryInput => ({
  retries: retries(),
  method: 'GET',
  outcome: resp(503),
  tries: 1,
  bodyReplayable: true,
  budgetAllows: true,
  random: () => 0.5,
  ...o,
});

test('gateway_error_retries_502_503_504_only', () => {
  const r = retries({ retryOn: ['gateway-error'] });
  assert.deepEqual([500, 502, 503, 504, 200, 404].map((s) => retriableCondition(r, resp(s))), [undefined, 'gateway-error', 'gateway-error', 'gateway-error', undefined, undefined]);
});

test('5xx_retries_every_5xx_and_tries_without_answer', () => {
  const r = retries({ retryOn: ['5xx'] });
  assert.deepEqual([500, 501, 599, 499].map((s) => retriableCondition(r, resp(s))), ['5xx', '5xx', '5xx', undefined]);
  for (const kind of ['connect-failure', 'reset', 'refused-stream', 'timeout'] as const) assert.equal(retriableCondition(r, { kind }), '5xx');
});

test('reset_covers_disconnects_and_timeouts_not_answers', () => {
  const r = retries({ retryOn: ['reset'] });
  assert.equal(retriableCondition(r, { kind: 'reset' }), 'reset');
  assert.equal(retriableCondition(r, { kind: 'timeout' }), 'reset');
  assert.equal(retriableCondition(r, resp(503)), undefined);
});

test('connect_failure_matches_only_connect_failures', () => {
  const r = retries({ retryOn: ['connect-failure'] });
  assert.equal(retriableCondition(r, { kind: 'connect-failure' }), 'connect-failure');
  assert.equal(retriableCondition(r, { kind: 'reset' }), undefined);
  assert.equal(retriableCondition(r, { kind: 'timeout' }), undefined);
});

test('refused_stream_matches_http2_refused_stream', () => {
  const r = retries({ retryOn: ['refused-stream'] });
  assert.equal(retriableCondition(r, { kind: 'refused-stream' }), 'refused-stream');
  assert.equal(retriableCondition(r, { kind: 'reset' }), undefined);
});

test('retriable_4xx_is_409_only', () => {
  const r = retries({ retryOn: ['retriable-4xx'] });
  assert.deepEqual([409, 400, 429].map((s) => retriableCondition(r, resp(s))), ['retriable-4xx', undefined, undefined]);
});

test('retriable_status_codes_need_the_condition_and_the_code', () => {
  assert.equal(retriableCondition(retries({ retryOn: ['retriable-status-codes'], retriableStatusCodes: [429, 500] }), resp(429)), 'retriable-status-codes');
  assert.equal(retriableCondition(retries({ retryOn: ['retriable-status-codes'], retriableStatusCodes: [429] }), resp(500)), undefined);
  assert.equal(retriableCondition(retries({ retryOn: [], retriableStatusCodes: [429] }), resp(429)), undefined);
});

test('grpc_conditions_read_grpc_status', () => {
  const r = retries({ retryOn: ['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable'] });
  assert.deepEqual([1, 4, 8, 13, 14, 2, 0].map((g) => retriableCondition(r, resp(200, g))), ['cancelled', 'deadline-exceeded', 'resource-exhausted', 'internal', 'unavailable', undefined, undefined]);
  assert.equal(retriableCondition(retries({ retryOn: ['unavailable'] }), resp(200, 13)), undefined);
});

test('idempotent_methods_are_rfc_9110s', () => {
  assert.deepEqual(['GET', 'head', 'OPTIONS', 'TRACE', 'PUT', 'DELETE', 'POST', 'PATCH', 'CONNECT', 'PURGE'].map(isIdempotent), [true, true, true, true, true, true, false, false, false, false]);
});

test('a_retriable_503_on_get_is_retried_with_its_reason', () => {
  assert.deepEqual(decideRetry(input()), { retry: true, reason: 'gateway-error', delayMs: 12 });
});

test('a_200_is_not_retried', () => {
  assert.deepEqual(decideRetry(input({ outcome: resp(200) })), { retry: false, why: 'not-retriable' });
});

test('post_is_never_retried_after_an_answer_unless_told', () => {
  assert.equal(decideRetry(input({ method: 'POST' })).retry, false);
  assert.equal((decideRetry(input({ method: 'POST' })) as { why: string }).why, 'non-idempotent');
  assert.equal(decideRetry(input({ method: 'POST', outcome: { kind: 'reset' } })).retry, false, 'a reset may come after the application acted');
  assert.equal(decideRetry(input({ method: 'POST', retries: retries({ retryNonIdempotent: true }) })).retry, true);
});

test('post_is_retried_when_it_never_reached_the_application', () => {
  assert.equal(decideRetry(input({ method: 'POST', outcome: { kind: 'connect-failure' } })).retry, true);
  assert.equal(decideRetry(input({ method: 'PATCH', outcome: { kind: 'refused-stream' }, retries: retries({ retryOn: ['refused-stream'] }) })).retry, true);
});

test('a_body_streamed_past_the_buffer_is_never_retried', () => {
  assert.deepEqual(decideRetry(input({ bodyReplayable: false })), { retry: false, why: 'body-not-replayable', reason: 'gateway-error' });
  assert.equal(decideRetry(input({ bodyReplayable: false, retries: retries({ retryNonIdempotent: true }) })).retry, false);
});

test('attempts_count_retries_after_the_first_try_and_exhaustion_flags_urx', () => {
  assert.equal(decideRetry(input({ tries: 3 })).retry, true);
  assert.deepEqual(decideRetry(input({ tries: 4 })), { retry: false, why: 'attempts-exhausted', reason: 'gateway-error', flag: 'URX' });
  assert.equal(decideRetry(input({ tries: 1, retries: retries({ attempts: 0 }) })).retry, false);
});

test('an_exhausted_budget_refuses_with_uo_as_envoys_retry_overflow', () => {
  assert.deepEqual(decideRetry(input({ budgetAllows: false })), { retry: false, why: 'budget-exhausted', reason: 'gateway-error', flag: 'UO' });
});

test('no_retry_when_the_backoff_outlasts_the_request_deadline', () => {
  assert.equal((decideRetry(input({ remainingMs: 5, random: () => 0.9 })) as { why: string }).why, 'deadline');
  assert.equal(decideRetry(input({ remainingMs: 5_000 })).retry, true);
});

test('backoff_caps_grow_exponentially_up_to_max', () => {
  const one = () => 0.999999;
  assert.deepEqual([0, 1, 2, 3, 4, 10, 1000].map((n) => backoffMs({ baseMs: 25, maxMs: 250 }, n, one)), [24, 49, 99, 199, 249, 249, 249]);
});

test('backoff_is_full_jitter_from_zero', () => {
  assert.equal(backoffMs({ baseMs: 25, maxMs: 250 }, 3, () => 0), 0);
  const rnd = seeded(42);
  const xs = Array.from({ length: 2000 }, () => backoffMs({ baseMs: 100, maxMs: 10_000 }, 2, rnd));
  assert.ok(xs.every((x) => x >= 0 && x <= 400));
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(mean > 180 && mean < 220, `mean ${mean} near 200`);
});

test('backoff_with_a_floor_never_retries_sooner', () => {
  const rnd = seeded(7);
  const xs = Array.from({ length: 500 }, (_, i) => backoffMs({ baseMs: 100, maxMs: 1000, minMs: 100 }, i % 5, rnd));
  assert.ok(xs.every((x) => x >= 100 && x <= 1000), String(Math.min(...xs)));
  assert.equal(backoffMs({ baseMs: 100, maxMs: 1000, minMs: 100 }, 0, () => 0.7), 100, 'the first retry waits exactly the minimum');
});

test('a_backoff_longer_than_a_timer_holds_waits_the_longest_a_timer_holds', () => {
  // GEP-2257 allows "99999h" as a backoff; a Node timer past 2^31-1 ms fires at once.
  const h = 3_600_000;
  for (const r of [0, 0.5, 0.999999]) {
    const ms = backoffMs({ baseMs: 99_999 * h, maxMs: 10 * 99_999 * h, minMs: 99_999 * h }, 0, () => r);
    assert.equal(ms, 2 ** 31 - 1);
  }
  assert.ok(backoffMs({ baseMs: 1000 * h, maxMs: 10_000 * h }, 3, () => 0.999999) <= 2 ** 31 - 1);
});

test('backoff_is_reproducible_with_a_seed', () => {
  const a = seeded(1);
  const b = seeded(1);
  const run = (r: () => number) => [0, 1, 2, 3].map((n) => backoffMs({ baseMs: 25, maxMs: 250 }, n, r));
  assert.deepEqual(run(a), run(b));
});

test('try_timeout_prefers_per_try_then_backend_request_within_what_is_left', () => {
  assert.equal(tryTimeoutMs(2000, 5000, undefined), 2000);
  assert.equal(tryTimeoutMs(undefined, 5000, undefined), 5000);
  assert.equal(tryTimeoutMs(undefined, 0, undefined), undefined);
  assert.equal(tryTimeoutMs(2000, undefined, 700), 700);
  assert.equal(tryTimeoutMs(undefined, undefined, 300), 300);
  assert.equal(tryTimeoutMs(2000, undefined, -5), 0);
});

test('budget_allows_retries_up_to_the_percent_of_active_requests', () => {
  const b = new RetryBudget({ percent: 20, minRetriesPerSecond: 0 });
  for (let i = 0; i < 10; i++) b.requestStarted();
  assert.equal(b.canRetry(0), true);
  b.retryStarted(0);
  assert.equal(b.canRetry(0), true);
  b.retryStarted(0);
  assert.equal(b.canRetry(0), false, '3 retries of 10 requests is over 20%');
  b.retryEnded();
  assert.equal(b.canRetry(0), true);
});

test('budget_floor_allows_min_retries_per_second_when_idle', () => {
  const b = new RetryBudget({ percent: 20, minRetriesPerSecond: 3 });
  b.requestStarted();
  for (let i = 0; i < 3; i++) {
    assert.equal(b.canRetry(100 + i), true);
    b.retryStarted(100 + i);
    b.retryEnded();
  }
  assert.equal(b.canRetry(200), false, 'a fourth within the second');
  assert.equal(b.canRetry(1099), false, 'the first is still within the last second');
  assert.equal(b.canRetry(1100), true, 'a sliding second: the first retry left the window');
});

test('budget_counts_never_go_negative', () => {
  const b = new RetryBudget({ percent: 100, minRetriesPerSecond: 0 });
  b.requestEnded();
  b.retryEnded();
  assert.deepEqual(b.state(), { activeRequests: 0, activeRetries: 0 });
  assert.equal(b.canRetry(0), false);
});

test('budget_floor_memory_is_bounded', () => {
  const b = new RetryBudget({ percent: 0, minRetriesPerSecond: 1e9 }, { maxFloorPerSecond: 5 });
  for (let i = 0; i < 5; i++) b.retryStarted(0);
  assert.equal(b.canRetry(0), false);
});

test('httproute_retry_maps_codes_attempts_and_backoff', () => {
  assert.deepEqual(retriesFromHttpRoute({ codes: [503, 500, 503], attempts: 4, backoff: '100ms' }), {
    attempts: 4,
    retryOn: ['connect-failure', 'refused-stream', 'reset', 'retriable-status-codes'],
    retriableStatusCodes: [500, 503],
    backoff: { baseMs: 100, maxMs: 1000, minMs: 100 },
    budget: { percent: 20, minRetriesPerSecond: 3 },
    retryNonIdempotent: false,
  });
});

test('httproute_retry_without_fields_retries_connection_errors_twice', () => {
  const r = retriesFromHttpRoute({});
  assert.equal(r.attempts, 2);
  assert.deepEqual(r.retryOn, ['connect-failure', 'refused-stream', 'reset']);
  assert.deepEqual(r.backoff, { baseMs: 25, maxMs: 250 });
  assert.equal(retriableCondition(r, resp(503)), undefined);
  assert.equal(retriableCondition(r, { kind: 'timeout' }), 'reset');
});

test('httproute_retry_codes_are_retried_through_the_same_decision', () => {
  const r = retriesFromHttpRoute({ codes: [503] });
  assert.equal(decideRetry(input({ retries: r, outcome: resp(503) })).retry, true);
  assert.equal(decideRetry(input({ retries: r, outcome: resp(500) })).retry, false);
});

test('httproute_retry_rejects_bad_fields_by_name', () => {
  assert.throws(() => retriesFromHttpRoute({ codes: [200] }, 'spec.rules[0].retry'), (e: unknown) => e instanceof RetryConfigError && e.field === 'spec.rules[0].retry.codes[0]');
  assert.throws(() => retriesFromHttpRoute({ attempts: 0 }), (e: unknown) => e instanceof RetryConfigError && e.field === 'retry.attempts');
  assert.throws(() => retriesFromHttpRoute({ backoff: '1 second' }), (e: unknown) => e instanceof RetryConfigError && e.field === 'retry.backoff' && /1 second/.test(e.message));
});

test('httproute_retry_backoff_is_a_gep_2257_duration', () => {
  assert.equal(retriesFromHttpRoute({ backoff: '1m30s' }).backoff.minMs, 90_000);
  assert.throws(() => retriesFromHttpRoute({ backoff: '1.5s' }, 'spec.rules[0].retry'), (e: unknown) => e instanceof RetryConfigError && e.field === 'spec.rules[0].retry.backoff' && /^spec\.rules\[0\]\.retry\.backoff: "1\.5s" is not a duration \(GEP-2257/.test(e.message));
});

test('compiled_route_retry_maps_like_the_object', () => {
  assert.deepEqual(retriesFromRouteRetry({ codes: [503, 500], attempts: 4, backoffMs: 100 }), retriesFromHttpRoute({ codes: [500, 503], attempts: 4, backoff: '100ms' }));
  assert.deepEqual(retriesFromRouteRetry({ codes: [], attempts: 2 }), retriesFromHttpRoute({}));
});
