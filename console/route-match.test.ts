import assert from 'node:assert/strict';
import { test } from 'node:test';
import { match } from './route-match.js';

test('a_pattern_binds_its_parameters_decoded', () => {
  assert.deepEqual(match('/services/:ns/:name', '/services/shop/echo'), { ns: 'shop', name: 'echo' });
  assert.deepEqual(match('/workloads/:ns/:name', '/workloads/a%20b/c'), { ns: 'a b', name: 'c' });
});

test('a_path_of_another_shape_does_not_match', () => {
  assert.equal(match('/services/:ns/:name', '/services/shop'), null);
  assert.equal(match('/services/:ns/:name', '/workloads/shop/echo'), null);
  assert.equal(match('/services/:ns/:name', '/services/shop/echo/split'), null);
});

test('bad_percent_encoding_is_no_match_not_a_crash', () => {
  assert.equal(match('/services/:ns/:name', '/services/%E0%A4%A/echo'), null);
});
