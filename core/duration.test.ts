// Unit tests of the duration parser every flag, variable and resource field uses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DurationError, ISTIO_DURATION, MAX_TIMER_MS, parseDuration, type DurationOptions } from './duration.js';

const ms = (v: unknown, o?: DurationOptions) => parseDuration('x', v, o);
const why = (v: unknown, o?: DurationOptions): string => {
  try {
    parseDuration('--flag', v, o);
  } catch (err) {
    assert.ok(err instanceof DurationError);
    assert.equal(err.where, '--flag');
    return err.message;
  }
  assert.fail(`${JSON.stringify(v)} was accepted`);
};

test('whole_units_parse_to_milliseconds', () => {
  assert.deepEqual(['500ms', '30s', '10m', '2h', '0s'].map((v) => ms(v)), [500, 30_000, 600_000, 7_200_000, 0]);
});

test('parts_add_up', () => {
  assert.equal(ms('1h30m'), 5_400_000);
  assert.equal(ms('1h1m1s1ms'), 3_661_001);
  assert.equal(ms('1m30s'), 90_000);
});

test('days_only_where_the_caller_accepts_them', () => {
  assert.equal(ms('1d', { units: ['ms', 's', 'm', 'h', 'd'] }), 86_400_000);
  assert.equal(ms('1d12h', { units: ['s', 'm', 'h', 'd'] }), 129_600_000);
  assert.match(why('1d'), /^--flag: "1d" is not a duration \(e\.g\. 30s, 10m, 2h, 1h30m, 500ms\)$/);
});

test('a_unit_outside_the_callers_units_is_refused', () => {
  assert.throws(() => ms('500ms', { units: ['s', 'm', 'h', 'd'] }), /"500ms" is not a duration \(e\.g\. 30s, 10m, 2h, 1h30m, 1d\)/);
});

test('text_that_is_not_a_duration_is_refused_with_what_is_accepted', () => {
  for (const bad of ['', '10', 'ten minutes', '10x', '-5m', '1.5h', 's', '1 s', '1s ', '1h-30m', '1S']) {
    assert.equal(why(bad), `--flag: ${JSON.stringify(bad)} is not a duration (e.g. 30s, 10m, 2h, 1h30m, 500ms)`, bad);
  }
});

test('a_value_that_is_not_a_string_is_refused_and_shown', () => {
  assert.equal(why(10), '--flag: 10 is not a duration (e.g. 30s, 10m, 2h, 1h30m, 500ms)');
  assert.match(why(undefined), /^--flag: nothing is not a duration/);
  assert.match(why({ a: 1 }), /^--flag: \{"a":1\} is not a duration/);
});

test('a_long_value_is_cut_in_the_message', () => {
  assert.match(why('x'.repeat(500)), /^--flag: "x{63}\.\.\. is not a duration/);
});

test('fractions_only_where_the_caller_accepts_them_rounded_up_to_whole_ms', () => {
  const f = { fractions: true };
  assert.equal(ms('1.5s', f), 1_500);
  assert.equal(ms('0.25h', f), 900_000);
  assert.equal(ms('0.0001s', f), 1);
  assert.equal(ms('1.5ms', f), 2);
  assert.match(why('1.5s'), /"1\.5s" is not a duration/);
  assert.match(why('1.s', f), /"1\.s" is not a duration \(e\.g\. .*1\.5s\)/);
});

test('decimals_add_exactly_without_float_residue', () => {
  // 0.27 * 60000 is 16200.000000000002 in floating point; rounding that up would give 16201.
  assert.equal(ms('0.27m', { fractions: true }), 16_200);
  assert.equal(ms('1.07m', { fractions: true }), 64_200);
  assert.equal(ms('1.1s', { fractions: true }), 1_100);
  assert.equal(ms('0.1s0.2s', { fractions: true }), 300);
});

test('a_bare_number_takes_the_callers_unit', () => {
  assert.equal(ms('90', { bareUnit: 's' }), 90_000);
  assert.equal(ms('90s', { bareUnit: 's' }), 90_000);
  assert.match(why('1x', { bareUnit: 's' }), /\(e\.g\. .*; a number alone is seconds\)$/);
});

test('white_space_is_dropped_only_when_asked', () => {
  assert.equal(ms(' 30s\n', { trim: true }), 30_000);
  assert.throws(() => ms(' 30s'), /is not a duration/);
});

test('zero_is_refused_when_the_minimum_is_positive', () => {
  assert.equal(why('0s', { min: 1 }), '--flag: "0s" must be longer than zero');
  assert.equal(why('0ms', { ...ISTIO_DURATION, min: 1 }), '--flag: "0ms" must be longer than zero');
});

test('bounds_are_said_in_the_largest_whole_accepted_unit', () => {
  assert.equal(why('10ms', { min: 50 }), '--flag: "10ms" is shorter than 50ms');
  assert.equal(why('25h', { max: 86_400_000 }), '--flag: "25h" is longer than 24h');
  assert.equal(why('40d', { units: ['ms', 's', 'm', 'h', 'd'], max: 30 * 86_400_000 }), '--flag: "40d" is longer than 30d');
  assert.equal(why('1500ms', { max: 1_000 }), '--flag: "1500ms" is longer than 1s');
  assert.equal(ms('30d', { units: ['d'], max: 30 * 86_400_000 }), 30 * 86_400_000);
});

test('a_number_too_large_to_hold_is_refused_not_infinite', () => {
  assert.throws(() => ms(`${'9'.repeat(400)}h`), /is longer than/);
  assert.throws(() => ms(`${'9'.repeat(400)}h`, { max: MAX_TIMER_MS }), /is longer than 2147483647ms/);
});

test('gateway_api_durations_follow_gep_2257_exactly', () => {
  const g = { gatewayApi: true };
  assert.deepEqual(['10s', '1h', '1m30s', '1h1m1s1ms', '99999h', '0s'].map((v) => ms(v, g)), [10_000, 3_600_000, 90_000, 3_661_001, 99_999 * 3_600_000, 0]);
  for (const bad of ['1.5s', '10', '-1s', '1d', '1h1m1s1ms1s', '123456s', '', ' 1s', '1s ']) {
    assert.equal(why(bad, { ...g, trim: true, fractions: true, units: ['d'], bareUnit: 's' }), `--flag: ${JSON.stringify(bad)} is not a duration (GEP-2257: 1 to 4 of <1-5 digits><h|m|s|ms>, e.g. "10s", "1h2m3s", "500ms")`, bad);
  }
});

test('istio_durations_say_what_they_accept_as_istio_documents', () => {
  assert.equal(ms('1m30s', ISTIO_DURATION), 90_000);
  assert.equal(ms('1.5s', ISTIO_DURATION), 1_500);
  assert.equal(why('30', ISTIO_DURATION), '--flag: "30" is not a duration such as "250ms" or "30s"');
});

test('the_caller_chooses_the_error_and_how_the_value_is_shown', () => {
  class FieldError extends Error {}
  const o: DurationOptions = { error: (where, w) => new FieldError(`[${where}] ${w}`), show: () => '<v>' };
  assert.throws(() => parseDuration('spec.timeout', 'soon', o), (e: unknown) => e instanceof FieldError && /^\[spec\.timeout\] <v> is not a duration/.test(e.message));
  assert.throws(() => parseDuration('spec.timeout', '2h', { ...o, max: 3_600_000 }), (e: unknown) => e instanceof FieldError && e.message === '[spec.timeout] <v> is longer than 1h');
});
