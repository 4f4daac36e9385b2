import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OutlierDetection } from '../../core/config/traffic-policy.js';
import { OutlierDetector, classifyOutcome, ejectionDurationMs, mayEject, successRateOutliers, type EndpointOutcome } from './outlier.js';

const cfg = (o: Partial<OutlierDetection> = {}): OutlierDetection => ({
  consecutive5xxErrors: 5,
  consecutiveGatewayErrors: 0,
  intervalMs: 10_000,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionPercent: 100,
  minHealthPercent: 0,
  ...o,
});
const r = (status: number): EndpointOutcome => ({ kind: 'response', status });
const eps = (n: number) => Array.from({ length: n }, (_, i) => `10.0.0.${i + 1}:80`);

function detector(o: Partial<OutlierDetection> = {}, n = 4, now = 0): OutlierDetector {
  const d = new OutlierDetector(cfg(o), now);
  d.setEndpoints(eps(n), now);
  return d;
}

test('five_consecutive_5xx_eject_the_endpoint_at_the_fifth', () => {
  const d = detector();
  for (let i = 0; i < 4; i++) assert.deepEqual(d.record('10.0.0.1:80', r(500), 100), []);
  const ev = d.record('10.0.0.1:80', r(500), 100);
  assert.equal(ev.length, 1);
  assert.deepEqual(ev[0], { type: 'ejected', endpoint: '10.0.0.1:80', reason: 'consecutive-5xx', durationMs: 30_000, ejections: 1, at: 100 });
  assert.equal(d.health('10.0.0.1:80')!.ejected, true);
  assert.equal(d.health('10.0.0.1:80')!.ejectedUntil, 30_100);
});

test('a_success_between_5xx_resets_the_consecutive_count', () => {
  const d = detector();
  for (let i = 0; i < 4; i++) d.record('10.0.0.1:80', r(503), 1);
  d.record('10.0.0.1:80', r(200), 1);
  for (let i = 0; i < 4; i++) assert.deepEqual(d.record('10.0.0.1:80', r(500), 1), []);
  assert.equal(d.health('10.0.0.1:80')!.ejected, false);
});

test('4xx_answers_do_not_count_as_errors', () => {
  const d = detector({ consecutive5xxErrors: 2 });
  for (let i = 0; i < 10; i++) d.record('10.0.0.1:80', r(404), 1);
  assert.equal(d.health('10.0.0.1:80')!.ejected, false);
});

test('consecutive_gateway_errors_eject_with_their_own_reason', () => {
  const d = detector({ consecutive5xxErrors: 0, consecutiveGatewayErrors: 3 });
  d.record('10.0.0.2:80', r(502), 5);
  d.record('10.0.0.2:80', { kind: 'connect-failure' }, 5);
  const ev = d.record('10.0.0.2:80', r(504), 5);
  assert.equal(ev[0]?.type, 'ejected');
  assert.equal(ev[0]?.type === 'ejected' && ev[0].reason, 'consecutive-gateway-error');
});

test('a_500_breaks_a_run_of_gateway_errors_but_not_of_5xx', () => {
  const d = detector({ consecutive5xxErrors: 4, consecutiveGatewayErrors: 3 });
  d.record('10.0.0.1:80', r(503), 1);
  d.record('10.0.0.1:80', r(503), 1);
  d.record('10.0.0.1:80', r(500), 1); // gateway count back to 0, 5xx count 3
  const ev = d.record('10.0.0.1:80', r(503), 1); // 5xx count 4
  assert.equal(ev[0]?.type === 'ejected' && ev[0].reason, 'consecutive-5xx');
});

test('connect_failures_resets_and_timeouts_are_gateway_errors', () => {
  for (const kind of ['connect-failure', 'reset', 'timeout'] as const) {
    assert.deepEqual(classifyOutcome({ kind }), { is5xx: true, isGateway: true });
  }
  assert.deepEqual(classifyOutcome(r(500)), { is5xx: true, isGateway: false });
  assert.deepEqual(classifyOutcome(r(503)), { is5xx: true, isGateway: true });
  assert.deepEqual(classifyOutcome(r(429)), { is5xx: false, isGateway: false });
});

test('zero_thresholds_turn_consecutive_ejection_off', () => {
  const d = detector({ consecutive5xxErrors: 0, consecutiveGatewayErrors: 0 });
  for (let i = 0; i < 100; i++) assert.deepEqual(d.record('10.0.0.1:80', r(503), 1), []);
});

test('ejection_ends_exactly_when_its_time_has_passed_and_marks_returnedAt', () => {
  const d = detector({ consecutive5xxErrors: 1, intervalMs: 1_000_000 });
  d.record('10.0.0.1:80', r(500), 1_000);
  assert.equal(d.nextDeadline(), 31_000);
  assert.deepEqual(d.tick(30_999), []);
  assert.equal(d.health('10.0.0.1:80')!.ejected, true);
  assert.deepEqual(d.tick(31_000), [{ type: 'returned', endpoint: '10.0.0.1:80', ejectedForMs: 30_000, at: 31_000 }]);
  const h = d.health('10.0.0.1:80')!;
  assert.equal(h.ejected, false);
  assert.equal(h.returnedAt, 31_000);
  assert.equal(h.since, 0);
  assert.deepEqual(d.tick(31_001), [], 'a return is reported once');
});

test('results_of_an_ejected_endpoint_are_not_counted', () => {
  const d = detector({ consecutive5xxErrors: 1 });
  d.record('10.0.0.1:80', r(500), 1);
  assert.deepEqual(d.record('10.0.0.1:80', r(500), 2), []);
  assert.equal(d.health('10.0.0.1:80')!.ejections, 1);
});

test('each_ejection_lasts_longer_up_to_the_cap', () => {
  assert.deepEqual([1, 2, 3, 10, 11, 50].map((n) => ejectionDurationMs({ baseEjectionMs: 30_000, maxEjectionMs: 300_000 }, n)), [30_000, 60_000, 90_000, 300_000, 300_000, 300_000]);
});

test('a_base_above_the_cap_is_used_as_is', () => {
  assert.equal(ejectionDurationMs({ baseEjectionMs: 400_000, maxEjectionMs: 300_000 }, 3), 400_000);
});

test('an_endpoint_failing_again_soon_after_return_is_ejected_twice_as_long', () => {
  const d = detector({ consecutive5xxErrors: 1, intervalMs: 10_000 });
  d.record('10.0.0.1:80', r(500), 1_000);
  d.tick(31_000); // returns (interval runs at 10s, 20s, 30s meanwhile: it was ejected)
  const ev = d.record('10.0.0.1:80', r(500), 32_000);
  assert.equal(ev[0]?.type === 'ejected' && ev[0].durationMs, 60_000);
  assert.equal(ev[0]?.type === 'ejected' && ev[0].ejections, 2);
});

test('a_whole_healthy_interval_after_return_lowers_the_multiplier', () => {
  const d = detector({ consecutive5xxErrors: 1, intervalMs: 10_000 });
  d.record('10.0.0.1:80', r(500), 1_000);
  d.tick(10_000);
  d.tick(20_000);
  d.tick(30_000);
  d.tick(31_000); // back
  d.tick(40_000); // interval 30s..40s: returned inside it, not yet forgiven
  assert.equal(d.health('10.0.0.1:80')!.ejections, 1);
  d.tick(50_000); // 40s..50s wholly in service
  assert.equal(d.health('10.0.0.1:80')!.ejections, 0);
  const ev = d.record('10.0.0.1:80', r(500), 50_001);
  assert.equal(ev[0]?.type === 'ejected' && ev[0].durationMs, 30_000);
});

test('max_ejection_percent_refuses_ejections_beyond_it', () => {
  const d = detector({ consecutive5xxErrors: 1, maxEjectionPercent: 50 }, 4);
  assert.equal(d.record('10.0.0.1:80', r(500), 1)[0]?.type, 'ejected');
  assert.equal(d.record('10.0.0.2:80', r(500), 1)[0]?.type, 'ejected');
  assert.deepEqual(d.record('10.0.0.3:80', r(500), 1), [{ type: 'ejection-refused', endpoint: '10.0.0.3:80', reason: 'consecutive-5xx', at: 1 }]);
  assert.equal(d.snapshot().ejectedCount, 2);
});

test('one_endpoint_may_always_be_ejected_even_below_the_percentage', () => {
  assert.equal(mayEject(0, 3, 10), true);
  assert.equal(mayEject(1, 3, 10), false);
  assert.equal(mayEject(1, 10, 20), true);
  assert.equal(mayEject(2, 10, 20), false);
  assert.equal(mayEject(0, 1, 0), true, 'a lone endpoint may be ejected, panic then decides');
  assert.equal(mayEject(1, 1, 100), false, 'nothing left to eject');
  assert.equal(mayEject(0, 0, 100), false);
});

test('success_rate_outliers_fall_below_mean_minus_factor_stdev', () => {
  const rates = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0.5];
  const { outliers, threshold } = successRateOutliers(rates, 5, 1.9);
  assert.deepEqual(outliers, [9]);
  // mean 0.95, stdev 0.15: threshold 0.665
  assert.ok(Math.abs(threshold! - 0.665) < 1e-9, String(threshold));
});

test('success_rate_needs_minimum_hosts', () => {
  assert.deepEqual(successRateOutliers([1, 1, 0], 5, 1.9).outliers, []);
});

test('equal_success_rates_eject_nobody', () => {
  assert.deepEqual(successRateOutliers([0.5, 0.5, 0.5, 0.5, 0.5], 5, 1.9).outliers, []);
});

test('success_rate_ejection_runs_at_the_interval_with_request_volume', () => {
  const d = detector({ consecutive5xxErrors: 0, successRate: { minimumHosts: 3, requestVolume: 10, stdevFactor: 1 } }, 4);
  for (let i = 0; i < 20; i++) {
    d.record('10.0.0.1:80', r(200), 100);
    d.record('10.0.0.2:80', r(200), 100);
    d.record('10.0.0.3:80', r(i % 2 ? 200 : 500), 100);
  }
  d.record('10.0.0.4:80', r(500), 100); // below requestVolume: not judged
  assert.deepEqual(d.tick(9_999), []);
  const ev = d.tick(10_000);
  assert.equal(ev.length, 1);
  const e = ev[0]!;
  assert.equal(e.type, 'ejected');
  if (e.type !== 'ejected') return;
  assert.equal(e.endpoint, '10.0.0.3:80');
  assert.equal(e.reason, 'success-rate');
  assert.equal(e.successRate, 0.5);
  // The counts are per interval: the next one starts empty.
  assert.deepEqual(d.tick(20_000), []);
});

test('success_rate_with_too_few_hosts_over_volume_ejects_nobody', () => {
  const d = detector({ consecutive5xxErrors: 0, successRate: { minimumHosts: 3, requestVolume: 10, stdevFactor: 1 } }, 3);
  for (let i = 0; i < 20; i++) {
    d.record('10.0.0.1:80', r(200), 1);
    d.record('10.0.0.2:80', r(500), 1);
  }
  assert.deepEqual(d.tick(10_000), []);
});

test('missed_intervals_run_once_not_in_a_burst', () => {
  const d = detector({ consecutive5xxErrors: 0 });
  d.tick(1_000_000);
  assert.equal(d.nextDeadline(), 1_010_000);
});

test('healthy_percent_and_panic_below_min_health_percent', () => {
  const d = detector({ consecutive5xxErrors: 1, minHealthPercent: 60 }, 4);
  assert.deepEqual([d.snapshot().healthyPercent, d.snapshot().panic], [100, false]);
  d.record('10.0.0.1:80', r(500), 1);
  assert.deepEqual([d.snapshot().healthyPercent, d.snapshot().panic], [75, false]);
  d.record('10.0.0.2:80', r(500), 1);
  assert.deepEqual([d.snapshot().healthyPercent, d.snapshot().panic], [50, true]);
});

test('min_health_percent_zero_never_panics', () => {
  const d = detector({ consecutive5xxErrors: 1, minHealthPercent: 0 }, 1);
  d.record('10.0.0.1:80', r(500), 1);
  assert.deepEqual([d.snapshot().healthyPercent, d.snapshot().panic], [0, false]);
});

test('new_endpoints_carry_since_and_removed_ones_are_forgotten', () => {
  const d = detector({ consecutive5xxErrors: 1 }, 2, 0);
  d.record('10.0.0.1:80', r(500), 1);
  d.setEndpoints(['10.0.0.2:80', '10.0.0.9:80'], 500);
  assert.equal(d.health('10.0.0.1:80'), undefined);
  assert.equal(d.health('10.0.0.9:80')!.since, 500);
  assert.equal(d.health('10.0.0.2:80')!.since, 0);
  assert.equal(d.snapshot().ejectedCount, 0);
  assert.deepEqual(d.record('10.0.0.77:80', r(500), 1), [], 'an unknown endpoint is ignored');
});

test('tracked_endpoints_are_bounded', () => {
  const d = new OutlierDetector(cfg(), 0, { maxEndpoints: 3 });
  d.setEndpoints(eps(5), 0);
  assert.equal(d.snapshot().endpoints.length, 3);
});

test('next_deadline_is_the_earliest_ejection_end_before_the_interval', () => {
  const d = detector({ consecutive5xxErrors: 1, intervalMs: 60_000, baseEjectionMs: 5_000 });
  assert.equal(d.nextDeadline(), 60_000);
  d.record('10.0.0.1:80', r(500), 100);
  assert.equal(d.nextDeadline(), 5_100);
});
