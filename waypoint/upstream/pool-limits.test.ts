import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admit, keepIdle, mayReuse, mayStart, mayWaitForSession, mustMakeRoom, poolLimitsOf, type PoolLimits } from './pool-limits.js';

const D = { upstreamIdleTimeoutMs: 60_000, upstreamConnectTimeoutMs: 10_000, upstreamPendingTimeoutMs: 10_000 };
const limits = (l: Partial<PoolLimits> = {}): PoolLimits => ({ ...poolLimitsOf({ maxRequestsPerConnection: 0 }, D), ...l });
const counts = (active = 0, busy = 0, pending = 0) => ({ active, busy, pending });

test('unset_max_limits_are_unlimited_and_timeouts_fall_back_to_the_waypoints', () => {
  const l = poolLimitsOf({ maxRequestsPerConnection: 0 }, D);
  assert.equal(l.maxConnections, Infinity);
  assert.equal(l.maxPendingRequests, Infinity);
  assert.equal(l.maxConcurrentRequests, Infinity);
  assert.equal(l.idleTimeoutMs, 60_000);
  assert.equal(l.connectTimeoutMs, 10_000);
});

test('policy_timeouts_override_the_waypoints', () => {
  const l = poolLimitsOf({ maxConnections: 3, maxRequestsPerConnection: 2, idleTimeoutMs: 5, connectTimeoutMs: 7 }, D);
  assert.deepEqual([l.maxConnections, l.maxRequestsPerConnection, l.idleTimeoutMs, l.connectTimeoutMs, l.pendingTimeoutMs], [3, 2, 5, 7, 10_000]);
});

test('a_request_beyond_max_concurrent_requests_overflows_whatever_its_protocol', () => {
  const l = limits({ maxConcurrentRequests: 2 });
  assert.deepEqual(admit(counts(1), l, false), { kind: 'go' });
  assert.deepEqual(admit(counts(2), l, false), { kind: 'overflow', reason: 'max-concurrent-requests' });
  assert.deepEqual(admit(counts(2, 0), l, true), { kind: 'overflow', reason: 'max-concurrent-requests' });
});

test('an_http1_request_waits_when_every_connection_is_busy', () => {
  const l = limits({ maxConnections: 2, maxPendingRequests: 1 });
  assert.deepEqual(admit(counts(1, 1), l, true), { kind: 'go' });
  assert.deepEqual(admit(counts(2, 2, 0), l, true), { kind: 'wait' });
});

test('an_http1_request_beyond_max_pending_overflows', () => {
  const l = limits({ maxConnections: 2, maxPendingRequests: 1 });
  assert.deepEqual(admit(counts(2, 2, 1), l, true), { kind: 'overflow', reason: 'max-pending-requests' });
});

test('max_pending_zero_refuses_any_wait', () => {
  assert.deepEqual(admit(counts(1, 1, 0), limits({ maxConnections: 1, maxPendingRequests: 0 }), true), { kind: 'overflow', reason: 'max-pending-requests' });
});

test('http2_requests_are_not_held_by_max_connections', () => {
  assert.deepEqual(admit(counts(5, 5, 0), limits({ maxConnections: 1, maxPendingRequests: 0 }), false), { kind: 'go' });
});

test('a_waiter_starts_once_a_connection_is_free_and_the_concurrency_allows', () => {
  const l = limits({ maxConnections: 2, maxConcurrentRequests: 3 });
  assert.equal(mayStart(counts(2, 2), l), false);
  assert.equal(mayStart(counts(1, 1), l), true);
  assert.equal(mayStart(counts(3, 1), l), false, 'h2 requests fill the concurrency');
});

test('waiting_for_an_http2_session_is_bounded_by_max_pending', () => {
  assert.equal(mayWaitForSession(counts(0, 0, 0), limits({ maxPendingRequests: 1 })), true);
  assert.equal(mayWaitForSession(counts(0, 0, 1), limits({ maxPendingRequests: 1 })), false);
});

test('a_connection_is_retired_after_max_requests_per_connection', () => {
  assert.equal(mayReuse(1, { maxRequestsPerConnection: 2 }), true);
  assert.equal(mayReuse(2, { maxRequestsPerConnection: 2 }), false);
  assert.equal(mayReuse(1_000_000, { maxRequestsPerConnection: 0 }), true, '0: unlimited');
});

test('a_freed_connection_is_kept_idle_only_within_max_connections', () => {
  const l = { maxRequestsPerConnection: 0, maxConnections: 2 };
  assert.equal(keepIdle(1, 2, l), true);
  assert.equal(keepIdle(1, 3, l), false);
  assert.equal(keepIdle(2, 1, { maxRequestsPerConnection: 2, maxConnections: 2 }), false);
});

test('a_new_connection_at_the_limit_first_closes_an_idle_one', () => {
  assert.equal(mustMakeRoom(1, { maxConnections: 2 }), false);
  assert.equal(mustMakeRoom(2, { maxConnections: 2 }), true);
});
