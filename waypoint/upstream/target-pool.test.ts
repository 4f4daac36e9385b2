import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TrafficPolicy } from '../../core/config/traffic-policy.js';
import { poolLimitsOf, type PoolLimits } from './pool-limits.js';
import { PoolTarget, TargetPools, isOverflow } from './target-pool.js';

const D = { upstreamIdleTimeoutMs: 60_000, upstreamConnectTimeoutMs: 10_000, upstreamPendingTimeoutMs: 60_000 };
const limits = (l: Partial<PoolLimits>): PoolLimits => ({ ...poolLimitsOf({ maxRequestsPerConnection: 0 }, D), ...l });
const live = () => new AbortController().signal;

test('requests_within_the_limits_get_a_permit_at_once', async () => {
  const t = new PoolTarget('shop/a:80', limits({ maxConnections: 2 }));
  const p1 = await t.acquire(true, live());
  await t.acquire(true, live());
  assert.deepEqual(t.counts, { active: 2, busy: 2, pending: 0 });
  p1.release();
  p1.release();
  assert.deepEqual(t.counts, { active: 1, busy: 1, pending: 0 }, 'release is idempotent');
});

test('a_waiting_request_starts_when_a_permit_is_released_in_fifo_order', async () => {
  const t = new PoolTarget('shop/a:80', limits({ maxConnections: 1, maxPendingRequests: 2 }));
  const first = await t.acquire(true, live());
  const order: string[] = [];
  const w1 = t.acquire(true, live()).then((p) => (order.push('w1'), p));
  const w2 = t.acquire(true, live()).then((p) => (order.push('w2'), p));
  assert.equal(t.counts.pending, 2);
  first.release();
  (await w1).release();
  (await w2).release();
  assert.deepEqual(order, ['w1', 'w2']);
  assert.deepEqual(t.counts, { active: 0, busy: 0, pending: 0 });
});

test('a_request_beyond_the_pending_queue_is_refused_as_overflow', async () => {
  const t = new PoolTarget('shop/a:80', limits({ maxConnections: 1, maxPendingRequests: 0 }));
  await t.acquire(true, live());
  await assert.rejects(t.acquire(true, live()), (err) => isOverflow(err) && err.reason === 'max-pending-requests');
});

test('a_request_beyond_max_concurrent_is_refused_as_overflow', async () => {
  const t = new PoolTarget('shop/a:80', limits({ maxConcurrentRequests: 1 }));
  await t.acquire(false, live());
  await assert.rejects(t.acquire(false, live()), (err) => isOverflow(err) && err.reason === 'max-concurrent-requests');
});

test('a_wait_past_the_pending_deadline_is_refused_as_overflow', async () => {
  const t = new PoolTarget('shop/a:80', limits({ maxConnections: 1, pendingTimeoutMs: 1 }));
  await t.acquire(true, live());
  await assert.rejects(t.acquire(true, live()), (err) => isOverflow(err) && err.reason === 'pending-timeout');
  assert.equal(t.counts.pending, 0);
});

test('a_request_that_ends_while_waiting_leaves_the_queue', async () => {
  const t = new PoolTarget('shop/a:80', limits({ maxConnections: 1 }));
  const held = await t.acquire(true, live());
  const ac = new AbortController();
  const waiting = t.acquire(true, ac.signal);
  ac.abort('downstream closed');
  await assert.rejects(waiting, (err) => !isOverflow(err));
  assert.equal(t.counts.pending, 0);
  held.release();
  assert.deepEqual(t.counts, { active: 0, busy: 0, pending: 0 });
});

test('raised_limits_let_waiting_requests_start', async () => {
  const t = new PoolTarget('shop/a:80', limits({ maxConnections: 1 }));
  await t.acquire(true, live());
  const waiting = t.acquire(true, live());
  t.update(limits({ maxConnections: 2 }));
  await waiting;
  assert.equal(t.counts.busy, 2);
});

function policy(cp?: TrafficPolicy['connectionPool']): TrafficPolicy {
  return {
    key: 'shop/a',
    name: 'a',
    namespace: 'shop',
    created: '',
    targets: [{ service: 'shop/a' }],
    loadBalancer: { algorithm: 'ROUND_ROBIN', warmupMs: 0, localityPreference: true, ringSize: 1024, maglevTableSize: 65537 },
    ...(cp && { connectionPool: cp }),
  };
}

test('a_target_without_connection_pool_in_its_policy_has_no_pool_target', () => {
  const pools = new TargetPools({ policyFor: () => policy(), defaults: D, maxTargets: 10 });
  assert.equal(pools.get('shop/a', 80), undefined);
  assert.equal(new TargetPools({ defaults: D, maxTargets: 10 }).get('shop/a', 80), undefined);
});

test('a_targets_pool_state_carries_over_and_follows_a_changed_policy', () => {
  let p = policy({ maxConnections: 1, maxRequestsPerConnection: 0 });
  const pools = new TargetPools({ policyFor: () => p, defaults: D, maxTargets: 10 });
  const t = pools.get('shop/a', 80)!;
  assert.equal(t.limits.maxConnections, 1);
  assert.equal(pools.get('shop/a', 80), t);
  p = policy({ maxConnections: 5, maxRequestsPerConnection: 0 });
  assert.equal(pools.get('shop/a', 80), t);
  assert.equal(t.limits.maxConnections, 5);
  p = policy();
  assert.equal(pools.get('shop/a', 80), undefined);
  assert.equal(pools.size, 0, 'forgotten once its policy has no connectionPool');
});

test('pool_targets_are_bounded_by_forgetting_quiet_ones', () => {
  const cp = { maxRequestsPerConnection: 0 };
  const p = policy(cp);
  const pools = new TargetPools({ policyFor: () => p, defaults: D, maxTargets: 2 });
  pools.get('shop/a', 1);
  pools.get('shop/a', 2);
  pools.get('shop/a', 3);
  assert.ok(pools.size <= 2);
});
