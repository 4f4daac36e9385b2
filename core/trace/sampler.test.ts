// Sampling decisions: OpenTelemetry's built-in samplers, decided from the trace id and the
// caller's sampled flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shouldSample, traceIdRatioSampled } from './sampler.js';

const LOW = '4bf92f3577b34da6a300000000000000'; // rightmost 56 bits: 0
const HIGH = '4bf92f3577b34da6a3ffffffffffffff'; // rightmost 56 bits: all ones
const MID = '4bf92f3577b34da6a380000000000000'; // rightmost 56 bits: 2^55, a ratio of 0.5

test('sampler_always_on_and_always_off_ignore_the_parent', () => {
  assert.equal(shouldSample({ name: 'always_on', ratio: 1 }, HIGH, false), true);
  assert.equal(shouldSample({ name: 'always_off', ratio: 1 }, LOW, true), false);
});

test('sampler_parentbased_honours_the_incoming_sampled_flag', () => {
  for (const name of ['parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const) {
    assert.equal(shouldSample({ name, ratio: 0 }, LOW, true), true, name);
    assert.equal(shouldSample({ name, ratio: 1 }, LOW, false), false, name);
  }
});

test('sampler_parentbased_root_uses_its_root_sampler', () => {
  assert.equal(shouldSample({ name: 'parentbased_always_on', ratio: 1 }, HIGH, undefined), true);
  assert.equal(shouldSample({ name: 'parentbased_always_off', ratio: 1 }, LOW, undefined), false);
  assert.equal(shouldSample({ name: 'parentbased_traceidratio', ratio: 0.5 }, LOW, undefined), true);
  assert.equal(shouldSample({ name: 'parentbased_traceidratio', ratio: 0.5 }, HIGH, undefined), false);
});

test('sampler_traceidratio_decides_by_the_rightmost_56_bits_of_the_trace_id', () => {
  assert.equal(traceIdRatioSampled(LOW, 0.001), true);
  assert.equal(traceIdRatioSampled(HIGH, 0.999), false);
  assert.equal(traceIdRatioSampled(MID, 0.5), false, 'the bound is exclusive');
  assert.equal(traceIdRatioSampled(MID, 0.5000001), true);
  assert.equal(traceIdRatioSampled(HIGH, 1), true);
  assert.equal(traceIdRatioSampled(LOW, 0), false);
  // The same trace id gets the same answer at every hop, whatever the caller's flag.
  assert.equal(shouldSample({ name: 'traceidratio', ratio: 0.5 }, LOW, false), true);
});

test('sampler_traceidratio_keeps_about_the_ratio_of_random_traces', () => {
  // A fixed sequence of trace ids (a linear congruential generator, no randomness): 10000
  // ids evenly spread, so the share sampled is the ratio within a small tolerance.
  let x = 12345n;
  let sampled = 0;
  for (let i = 0; i < 10000; i++) {
    x = (x * 6364136223846793005n + 1442695040888963407n) % 2n ** 64n;
    const id = `0000000000000000${x.toString(16).padStart(16, '0')}`;
    if (traceIdRatioSampled(id, 0.25)) sampled++;
  }
  assert.ok(sampled > 2300 && sampled < 2700, `sampled ${sampled} of 10000 at 0.25`);
});
