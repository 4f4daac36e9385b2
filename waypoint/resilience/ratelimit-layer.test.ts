import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { TrafficPolicy } from '../../core/config/traffic-policy.js';
import { ResilienceMetrics } from './metrics.js';
import { rateLimitLayer, serviceHost } from './ratelimit-layer.js';
import { fakeContext, policy } from './test-context.js';

const local = (requests: number) => policy({ rateLimits: { local: { requests, perMs: 60_000, burst: requests } } });

async function run(layer: ReturnType<typeof rateLimitLayer>, p?: Partial<Parameters<typeof fakeContext>[0]>) {
  const { ctx, seen } = fakeContext(p);
  let forwarded = false;
  await layer(ctx, async () => {
    forwarded = true;
  });
  return { ctx, seen, forwarded };
}

test('local_limit_answers_429_with_headers_beyond_the_bucket', async () => {
  const layer = rateLimitLayer({ policyFor: () => local(2), now: () => 0 });
  assert.equal((await run(layer)).forwarded, true);
  assert.equal((await run(layer)).forwarded, true);
  const third = await run(layer);
  assert.equal(third.forwarded, false);
  assert.equal(third.seen.status, 429);
  assert.deepEqual(third.seen.headers, { 'content-type': 'text/plain', 'x-ratelimit-limit': '2, 2;w=60', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '60', 'retry-after': '30' });
  assert.deepEqual(third.ctx.record.flags, ['RL']);
  assert.match(third.ctx.record.error!, /^AMB_WAYPOINT_RATE_LIMITED/);
});

test('an_allowed_answer_carries_the_ratelimit_headers', async () => {
  const layer = rateLimitLayer({ policyFor: () => local(5), now: () => 0 });
  const { ctx } = await run(layer);
  const a = ctx.action!;
  assert.equal(a.kind, 'forward');
  if (a.kind !== 'forward') return;
  assert.deepEqual(a.responseHeaders!({ server: 'x' }), { server: 'x', 'x-ratelimit-limit': '5, 5;w=60', 'x-ratelimit-remaining': '4', 'x-ratelimit-reset': '12' });
});

test('the_route_response_header_modifier_still_applies', async () => {
  const layer = rateLimitLayer({ policyFor: () => local(5), now: () => 0 });
  const { ctx } = await run(layer, { action: { kind: 'forward', service: 'shop/echo.shop.svc.cluster.local', port: 80, responseHeaders: (h) => ({ ...h, 'x-route': '1' }) } });
  const a = ctx.action!;
  if (a.kind !== 'forward') return assert.fail();
  assert.equal(a.responseHeaders!({})['x-route'], '1');
});

test('targets_without_a_policy_or_limits_pass_untouched', async () => {
  const none = rateLimitLayer({ policyFor: () => undefined });
  const empty = rateLimitLayer({ policyFor: () => policy() });
  for (const l of [none, empty]) {
    const r = await run(l);
    assert.equal(r.forwarded, true);
    assert.equal(r.ctx.action!.kind === 'forward' && r.ctx.action!.responseHeaders, undefined);
  }
});

test('buckets_are_per_target', async () => {
  const layer = rateLimitLayer({ policyFor: () => local(1), now: () => 0 });
  assert.equal((await run(layer)).forwarded, true);
  assert.equal((await run(layer, { action: { kind: 'forward', service: 'shop/other.shop.svc.cluster.local', port: 80 } })).forwarded, true);
  assert.equal((await run(layer)).forwarded, false);
});

test('a_changed_policy_updates_the_bucket', async () => {
  let p: TrafficPolicy = local(1);
  const layer = rateLimitLayer({ policyFor: () => p, now: () => 0 });
  await run(layer);
  assert.equal((await run(layer)).forwarded, false);
  p = policy({ rateLimits: { local: { requests: 1, perMs: 1, burst: 1 } } });
  const layer2Now = await run(layer);
  assert.equal(layer2Now.forwarded, false, 'tokens are kept across the update, refill goes by the new rate');
});

test('global_limit_without_redis_follows_failure_mode', async () => {
  const g = (failureMode: 'allow' | 'deny') => policy({ rateLimits: { global: { requests: 10, perMs: 1000, key: [], window: 'fixed', failureMode } } });
  const failures: unknown[] = [];
  const deny = await run(rateLimitLayer({ policyFor: () => g('deny'), onGlobalFailure: (f) => failures.push(f) }));
  assert.deepEqual([deny.forwarded, deny.seen.status, deny.seen.headers!['retry-after']], [false, 429, '1']);
  assert.match(deny.ctx.record.error!, /AMB_WAYPOINT_RATE_LIMIT_UNAVAILABLE/);
  const allow = await run(rateLimitLayer({ policyFor: () => g('allow') }));
  assert.equal(allow.forwarded, true);
  assert.equal(failures.length, 1);
});

test('global_failure_is_reported_once_until_it_recovers', async () => {
  const failures: unknown[] = [];
  const layer = rateLimitLayer({ policyFor: () => policy({ rateLimits: { global: { requests: 10, perMs: 1000, key: [], window: 'fixed', failureMode: 'allow' } } }), onGlobalFailure: (f) => failures.push(f) });
  for (let i = 0; i < 5; i++) await run(layer);
  assert.equal(failures.length, 1);
});

test('decisions_are_counted_by_mode_and_result', async () => {
  const registry = new Registry();
  const metrics = new ResilienceMetrics({ registry });
  const layer = rateLimitLayer({ policyFor: () => local(1), now: () => 0, metrics });
  await run(layer);
  await run(layer);
  const text = await registry.metrics();
  assert.match(text, /ambient_ratelimit_decisions_total\{destination_service="echo.shop.svc.cluster.local",mode="local",result="allowed"\} 1/);
  assert.match(text, /ambient_ratelimit_decisions_total\{destination_service="echo.shop.svc.cluster.local",mode="local",result="denied"\} 1/);
});

test('service_host_is_the_key_without_namespace', () => {
  assert.equal(serviceHost('shop/echo.shop.svc.cluster.local'), 'echo.shop.svc.cluster.local');
  assert.equal(serviceHost('plain'), 'plain');
});
