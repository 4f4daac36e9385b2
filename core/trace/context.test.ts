// W3C Trace Context parsing and formatting, with the spec's own examples
// (https://www.w3.org/TR/trace-context/ sections 3.2 and 3.3) and its rules for invalid input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTraceparent, formatTracestate, normalizeTracestate, parseTraceparent, parseTracestate, TRACESTATE_MAX_LENGTH } from './context.js';

const SPEC_EXAMPLE = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

test('traceparent_parses_the_spec_example', () => {
  assert.deepEqual(parseTraceparent(SPEC_EXAMPLE), { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: true });
});

test('traceparent_flags_00_is_not_sampled_and_other_flag_bits_are_ignored', () => {
  assert.equal(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')?.sampled, false);
  assert.equal(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03')?.sampled, true);
  assert.equal(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02')?.sampled, false);
});

test('traceparent_rejects_all_zero_trace_id_or_parent_id', () => {
  assert.equal(parseTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01'), undefined);
  assert.equal(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'), undefined);
});

test('traceparent_rejects_upper_case_hex', () => {
  assert.equal(parseTraceparent('00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'), undefined);
  assert.equal(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01'), undefined);
  assert.equal(parseTraceparent('0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'), undefined);
});

test('traceparent_rejects_version_ff_and_wrong_shapes', () => {
  for (const bad of [
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra', // 00 must be exactly 55 characters
    '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01', // short trace id
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01',
    '00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g',
    '0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '',
  ]) {
    assert.equal(parseTraceparent(bad), undefined, bad);
  }
  assert.equal(parseTraceparent(undefined), undefined);
});

test('traceparent_of_a_higher_version_is_read_as_00_with_any_suffix_after_a_dash', () => {
  const future = 'cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds';
  assert.deepEqual(parseTraceparent(future), { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: true });
  assert.equal(parseTraceparent('cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')?.spanId, '00f067aa0ba902b7');
  assert.equal(parseTraceparent('cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x'), undefined);
});

test('traceparent_formats_as_version_00_and_round_trips', () => {
  const p = parseTraceparent(SPEC_EXAMPLE)!;
  assert.equal(formatTraceparent(p), SPEC_EXAMPLE);
  assert.equal(formatTraceparent({ ...p, sampled: false }), '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00');
});

test('tracestate_parses_the_spec_examples', () => {
  assert.deepEqual(parseTracestate('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'), [
    { key: 'rojo', value: '00f067aa0ba902b7' },
    { key: 'congo', value: 't61rcWkgMzE' },
  ]);
  // Multi-tenant keys, optional whitespace and empty members.
  assert.deepEqual(parseTracestate(' fw529a3039@dt=abc ,, congo=t61rcWkgMzE\t'), [
    { key: 'fw529a3039@dt', value: 'abc' },
    { key: 'congo', value: 't61rcWkgMzE' },
  ]);
});

test('tracestate_with_a_bad_member_is_discarded_whole', () => {
  for (const bad of ['Rojo=1', 'rojo', '=1', 'rojo=a,b', 'rojo=a=b', 'rojo=1,rojo=2', '1rojo=1', 'rojo=has,comma', 'rojo= ']) {
    assert.equal(parseTracestate(bad), undefined, bad);
  }
});

test('tracestate_over_32_members_is_discarded', () => {
  const members = (n: number) => Array.from({ length: n }, (_, i) => `k${i}=v`).join(',');
  assert.equal(parseTracestate(members(32))?.length, 32);
  assert.equal(parseTracestate(members(33)), undefined);
});

test('tracestate_over_512_characters_drops_long_members_first_then_from_the_end', () => {
  const long = `big=${'x'.repeat(200)}`;
  const shorts = Array.from({ length: 30 }, (_, i) => `k${i}=${'v'.repeat(12)}`);
  const out = normalizeTracestate([long, ...shorts].join(','))!;
  assert.ok(out.length <= TRACESTATE_MAX_LENGTH);
  assert.ok(!out.includes('big='));
  assert.ok(out.startsWith('k0='));
  assert.equal(formatTracestate([]), undefined);
});
