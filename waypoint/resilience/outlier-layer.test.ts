import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { OutlierDetection } from '../../core/config/traffic-policy.js';
import { ResilienceMetrics } from './metrics.js';
import type { OutlierEvent } from './outlier.js';
import { OutlierRegistry, outcomeOf, outlierLayer } from './outlier-layer.js';
import { fakeContext, policy } from './test-context.js';

const SVC = 'shop/echo.shop.svc.cluster.local';
const od: OutlierDetection = { consecutive5xxErrors: 2, consecutiveGatewayErrors: 0, intervalMs: 10_000, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 100, minHealthPercent: 0 };

function setup() {
  let now = 0;
  const events: Array<[string, OutlierEvent]> = [];
  const registry = new Registry();
  let reg!: OutlierRegistry;
  const metrics = new ResilienceMetrics({ registry, ejectedNow: () => reg.ejectedCounts() });
  const p = policy({ outlierDetection: od });
  reg = new OutlierRegistry({ policyFor: () => p, now: () => now, metrics, onEvent: (s, e) => events.push([s, e]) });
  return { reg, events, registry, setNow: (t: number) => (now = t) };
}

async function tryOnce(reg: OutlierRegistry, upstream: string, status: number, flags: string[] = []) {
  const { ctx } = fakeContext();
  await outlierLayer(reg)(ctx, async () => {
    ctx.record.upstream = upstream;
    ctx.record.status = status;
    ctx.record.flags.push(...flags);
  });
}

test('outcome_of_a_record_reads_flags_before_status', () => {
  assert.deepEqual(outcomeOf({ flags: ['UF'], upstream: 'a', status: 503 }, false), { kind: 'connect-failure' });
  assert.deepEqual(outcomeOf({ flags: ['UC'], upstream: 'a', status: 503 }, false), { kind: 'reset' });
  assert.deepEqual(outcomeOf({ flags: ['UT'], upstream: 'a', status: 504 }, false), { kind: 'timeout' });
  assert.deepEqual(outcomeOf({ flags: [], upstream: 'a', status: 500 }, false), { kind: 'response', status: 500 });
  assert.equal(outcomeOf({ flags: ['UH'], status: 503 }, false), undefined, 'no endpoint was tried');
  assert.equal(outcomeOf({ flags: ['DC'], upstream: 'a' }, true), undefined, 'the client left: not the endpoint’s fault');
});

test('the_layer_ejects_an_endpoint_and_the_view_shows_it', async () => {
  const { reg, events, registry } = setup();
  const keys = ['10.0.0.1:8080', '10.0.0.2:8080'];
  assert.equal(reg.view(SVC, 80, keys)!.ejectedCount, 0);
  await tryOnce(reg, '10.0.0.1:8080', 503);
  await tryOnce(reg, '10.0.0.1:8080', 500);
  const v = reg.view(SVC, 80, keys)!;
  assert.deepEqual(v.endpoints.map((e) => [e.key, e.ejected]), [['10.0.0.1:8080', true], ['10.0.0.2:8080', false]]);
  assert.equal(events.length, 1);
  assert.equal(events[0]![0], SVC);
  assert.equal(events[0]![1].type, 'ejected');
  const text = await registry.metrics();
  assert.match(text, /ambient_outlier_ejections_total\{destination_service="echo.shop.svc.cluster.local",reason="consecutive-5xx"\} 1/);
  assert.match(text, /ambient_outlier_ejected_endpoints\{destination_service="echo.shop.svc.cluster.local"\} 1/);
  reg.close();
});

test('the_registry_tick_returns_the_endpoint_with_returnedAt', async () => {
  const { reg, events, setNow } = setup();
  const keys = ['10.0.0.1:8080', '10.0.0.2:8080'];
  reg.view(SVC, 80, keys);
  setNow(1_000);
  await tryOnce(reg, '10.0.0.1:8080', 502);
  await tryOnce(reg, '10.0.0.1:8080', 502);
  setNow(31_000);
  reg.tick();
  const e = reg.view(SVC, 80, keys)!.endpoints[0]!;
  assert.deepEqual([e.ejected, e.returnedAt], [false, 31_000]);
  assert.deepEqual(events.map(([, ev]) => ev.type), ['ejected', 'returned']);
  reg.close();
});

test('targets_without_outlier_detection_are_not_tracked', async () => {
  const reg = new OutlierRegistry({ policyFor: () => policy(), now: () => 0 });
  assert.equal(reg.view(SVC, 80, ['a:1']), undefined);
  await tryOnce(reg, 'a:1', 500);
  assert.deepEqual([...reg.ejectedCounts()], []);
  reg.close();
});

test('a_layer_error_still_counts_the_try_and_rethrows', async () => {
  const { reg } = setup();
  reg.view(SVC, 80, ['10.0.0.1:8080']);
  const { ctx } = fakeContext();
  await assert.rejects(
    outlierLayer(reg)(ctx, async () => {
      ctx.record.upstream = '10.0.0.1:8080';
      ctx.record.flags.push('UF');
      throw new Error('boom');
    }),
  );
  reg.close();
});
