// Unit tests of how refusals quote the value they refuse.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quoteValue } from './quote-value.js';

test('values_are_quoted_as_json_and_undefined_as_nothing', () => {
  assert.deepEqual(['10x', 42, { a: 1 }, null, undefined].map((v) => quoteValue(v, 64)), ['"10x"', '42', '{"a":1}', 'null', 'nothing']);
});

test('a_long_value_is_cut_with_an_ellipsis', () => {
  assert.equal(quoteValue('abcdef', 4), '"abc...');
  assert.equal(quoteValue('ab', 4), '"ab"');
});

test('a_value_json_cannot_write_is_shown_as_text', () => {
  const loop: Record<string, unknown> = {};
  loop['self'] = loop;
  assert.equal(quoteValue(loop, 64), '[object Object]');
  assert.equal(quoteValue(10n, 64), '10');
  assert.equal(quoteValue(() => 1, 64), '() => 1');
});
