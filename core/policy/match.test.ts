// Istio's value matching (https://istio.io/latest/docs/reference/config/security/authorization-policy/,
// exact / prefix / suffix / presence) and IP blocks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ipInBlock, matchHost, matchPath, matchString } from './match.js';

test('match_string_exact_prefix_suffix_presence', () => {
  assert.equal(matchString('abc', 'abc'), true);
  assert.equal(matchString('abc', 'abcd'), false);
  assert.equal(matchString('abc*', 'abcd'), true);
  assert.equal(matchString('*bc', 'abc'), true);
  assert.equal(matchString('*', 'x'), true);
  assert.equal(matchString('*', ''), false);
});

test('ip_in_block_ipv4_ipv6_and_mapped', () => {
  assert.equal(ipInBlock('10.1.2.3', '10.0.0.0/8'), true);
  assert.equal(ipInBlock('::ffff:10.1.2.3', '10.0.0.0/8'), true);
  assert.equal(ipInBlock('2001:db8::1', '2001:DB8::/32'), true);
  assert.equal(ipInBlock('garbage', '10.0.0.0/8'), false);
  assert.equal(ipInBlock('10.0.0.1', 'garbage'), false);
});

test('match_host_is_case_insensitive', () => {
  assert.equal(matchHost('Example.COM', 'example.com'), true);
});

test('match_path_template_one_segment', () => {
  assert.equal(matchPath('/api/{*}/info', '/api/v1/info'), true);
  assert.equal(matchPath('/api/{*}/info', '/api/v1/x/info'), false);
});
