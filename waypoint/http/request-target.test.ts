import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normaliseTarget, removeDotSegments } from './request-target.js';

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

test('percent_encoding_and_asterisk_form_are_kept_as_sent', () => {
  assert.equal(normaliseTarget('/a%2F..%2Fb', 'web').path, '/a%2F..%2Fb');
  assert.deepEqual(normaliseTarget('*', 'web'), { path: '*', authority: 'web' });
});
