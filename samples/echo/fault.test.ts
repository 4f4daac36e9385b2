import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isFaulty, NO_FAULT, parseFault } from './fault.js';

const from = (v: Record<string, string>) => (name: string) => v[name];

test('fault_with_a_status_alone_applies_to_every_request', () => {
  assert.deepEqual(parseFault(from({ status: '503' })), { status: 503, percent: 100, delayMs: 0 });
});

test('fault_reads_percent_and_delay', () => {
  assert.deepEqual(parseFault(from({ status: '500', percent: '25', delay: '1.5s' })), { status: 500, percent: 25, delayMs: 1500 });
});

test('fault_with_nothing_set_is_no_fault', () => {
  assert.deepEqual(parseFault(from({})), NO_FAULT);
});

test('fault_refuses_bad_values_naming_them', () => {
  assert.match(parseFault(from({ status: '199' })) as string, /fault status "199"/);
  assert.match(parseFault(from({ status: '503', percent: '101' })) as string, /fault percent "101"/);
  assert.match(parseFault(from({ delay: 'soon' })) as string, /fault delay "soon"/);
  assert.match(parseFault(from({ delay: '301s' })) as string, /fault delay/);
});

test('fault_percent_is_spread_evenly_over_consecutive_requests', () => {
  const half = { status: 503, percent: 50, delayMs: 0 };
  assert.deepEqual([1, 2, 3, 4].map((n) => isFaulty(half, n)), [false, true, false, true]);
  const fifth = { status: 503, percent: 20, delayMs: 0 };
  let faults = 0;
  for (let n = 1; n <= 100; n++) if (isFaulty(fifth, n)) faults++;
  assert.equal(faults, 20);
});

test('fault_at_0_and_100_percent_is_never_and_always', () => {
  for (let n = 1; n <= 10; n++) {
    assert.equal(isFaulty({ status: 500, percent: 0, delayMs: 0 }, n), false);
    assert.equal(isFaulty({ status: 500, percent: 100, delayMs: 0 }, n), true);
  }
});
