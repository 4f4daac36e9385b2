import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeUnreserved, normaliseTarget, removeDotSegments } from './request-target.js';

test('dot_segments_are_removed_as_rfc_3986_says', () => {
  for (const [input, want] of [
    ['/a/b/c/./../../g', '/a/g'],
    ['/x/../admin', '/admin'],
    ['/../admin', '/admin'],
    ['/a/b/..', '/a/'],
    ['/a/./b', '/a/b'],
    ['/a//b', '/a//b'],
    ['/', '/'],
  ] as const) assert.equal(removeDotSegments(input), want, input);
});

test('absolute_form_becomes_origin_form_with_its_authority', () => {
  // The bypass this closes: `DENY paths: [/admin*]` never matched "http://web/admin".
  assert.deepEqual(normaliseTarget('http://web.shop:8080/admin?x=1', 'other'), { path: '/admin?x=1', authority: 'web.shop:8080' });
});

test('path_tricks_normalise_to_the_path_a_backend_serves', () => {
  assert.equal(normaliseTarget('/public/../admin', 'web').path, '/admin');
  assert.equal(normaliseTarget('/public\\..\\admin', 'web').path, '/admin');
  assert.equal(normaliseTarget('/a/./b?p=/../x', 'web').path, '/a/b?p=/../x', 'the query is left alone');
});

test('reserved_escapes_and_asterisk_form_are_kept_as_sent', () => {
  assert.equal(normaliseTarget('/a%2F..%2Fb', 'web').path, '/a%2F..%2Fb');
  assert.deepEqual(normaliseTarget('*', 'web'), { path: '*', authority: 'web' });
});

test('escapes_of_reserved_characters_get_upper_case_hex_and_malformed_ones_stay', () => {
  assert.equal(decodeUnreserved('/a%2fb%3a'), '/a%2Fb%3A');
  assert.equal(decodeUnreserved('/100%/x%4'), '/100%/x%4');
  assert.equal(decodeUnreserved('/%25%32%65'), '/%252e', 'decoded once: %25 stays an escape, %32%65 is "2e"');
});

test('query_escapes_are_left_as_sent', () => {
  assert.equal(normaliseTarget('/%61?q=%61%2e', 'web').path, '/a?q=%61%2e');
});

test('absolute_form_path_is_decoded_like_origin_form', () => {
  assert.deepEqual(normaliseTarget('http://web/%61dmin/%2e%2e/x', 'other'), { path: '/x', authority: 'web' });
});
