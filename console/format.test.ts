import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytes, edgeHealth, ms, nodeHref, nodeName, pct, rate, relative, serviceHref, workloadHref } from './format.js';

test('pct_shows_a_fraction_as_percent_and_a_dash_without_data', () => {
  assert.equal(pct(0.9947, 2), '99.47%');
  assert.equal(pct(1), '100.0%');
  assert.equal(pct(null), '-');
});

test('rate_keeps_two_digits_below_ten_and_rounds_above_a_hundred', () => {
  assert.equal(rate(0.4), '0.40/s');
  assert.equal(rate(12.5), '12.5/s');
  assert.equal(rate(1234.4), '1234/s');
  assert.equal(rate(undefined), '-');
});

test('bytes_uses_binary_units', () => {
  assert.equal(bytes(512), '512 B');
  assert.equal(bytes(1536), '1.5 KiB');
  assert.equal(bytes(3 * 1024 * 1024), '3.0 MiB');
});

test('ms_switches_to_seconds_at_one_second', () => {
  assert.equal(ms(3.42), '3.4ms');
  assert.equal(ms(240), '240ms');
  assert.equal(ms(1200), '1.20s');
  assert.equal(ms(null), '-');
});

test('relative_says_in_for_the_future_and_ago_for_the_past', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(relative('2026-01-01T22:30:00Z', now), 'in 22h 30m');
  assert.equal(relative('2025-12-30T00:00:00Z', now), '2d 0h ago');
  assert.equal(relative('2026-01-01T00:00:25Z', now), 'in 25s');
  assert.equal(relative('not a time', now), 'not a time');
  assert.equal(relative(null, now), '-');
});

test('node_links_go_to_the_workload_or_service_page_with_encoded_names', () => {
  assert.equal(nodeHref('workload:shop/client-1'), '/workloads/shop/client-1');
  assert.equal(nodeHref('service:shop/echo'), '/services/shop/echo');
  assert.equal(nodeName('service:shop/echo'), 'shop/echo');
  assert.equal(workloadHref('a b', 'c/d'), '/workloads/a%20b/c%2Fd');
  assert.equal(serviceHref('shop', 'echo'), '/services/shop/echo');
});

test('edge_health_follows_the_success_rate_bounds_of_the_legend', () => {
  assert.equal(edgeHealth(null), 'idle');
  assert.equal(edgeHealth(0.99), 'healthy');
  assert.equal(edgeHealth(0.97), 'degraded');
  assert.equal(edgeHealth(0.5), 'failing');
});

test('numbers_just_below_a_change_of_form_print_in_the_next_form', () => {
  assert.equal(rate(99.97), '100/s');
  assert.equal(rate(9.996), '10.0/s');
  assert.equal(rate(9.99), '9.99/s');
  assert.equal(ms(999.7), '1.00s');
  assert.equal(ms(999.4), '999ms');
  assert.equal(ms(9.97), '10ms');
  assert.equal(ms(9.94), '9.9ms');
  assert.equal(bytes(1048575), '1.0 MiB');
  assert.equal(bytes(1023), '1023 B');
});
