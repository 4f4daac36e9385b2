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

test('match_string_star_inside_is_literal', () => {
  assert.equal(matchString('a*c', 'abc'), false);
  assert.equal(matchString('a*c', 'a*c'), true);
});

test('match_string_prefix_and_suffix_match_the_bare_affix', () => {
  assert.equal(matchString('abc*', 'abc'), true);
  assert.equal(matchString('*abc', 'abc'), true);
});

test('ip_in_block_host_bits_of_the_block_are_ignored', () => {
  assert.equal(ipInBlock('10.1.2.3', '10.9.9.9/8'), true);
});

test('ip_in_block_single_addresses_any_spelling', () => {
  assert.equal(ipInBlock('2001:db8::1', '2001:0DB8:0000::0001'), true);
  assert.equal(ipInBlock('10.0.0.1', '::ffff:10.0.0.1'), true);
  assert.equal(ipInBlock('10.0.0.2', '10.0.0.1'), false);
});

test('ip_in_block_mapped_block_is_the_ipv4_block', () => {
  assert.equal(ipInBlock('10.200.0.1', '::ffff:10.0.0.0/104'), true);
  assert.equal(ipInBlock('11.0.0.1', '::ffff:10.0.0.0/104'), false);
});

test('ip_in_block_families_never_cross', () => {
  assert.equal(ipInBlock('10.0.0.1', '::/0'), false);
  assert.equal(ipInBlock('::1', '0.0.0.0/0'), false);
});

test('ip_in_block_bad_prefixes_match_nothing', () => {
  for (const b of ['10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/', '10.0.0.0/8/8', 'fd00::/129', '', '10.0.0.0/0x8']) {
    assert.equal(ipInBlock('10.0.0.1', b), false, b);
  }
  assert.equal(ipInBlock(undefined as never, '10.0.0.0/8'), false);
  assert.equal(ipInBlock('10.0.0.1', '0.0.0.0/0'), true);
});

test('match_host_port_is_part_of_the_host_as_in_istio', () => {
  assert.equal(matchHost('example.com', 'example.com:8080'), false);
  assert.equal(matchHost('example.com:*', 'EXAMPLE.com:8080'), true);
  assert.equal(matchHost('*.Example.com', 'api.example.COM'), true);
});

test('match_path_forms_and_query', () => {
  assert.equal(matchPath('/a', '/a?x=1'), true);
  assert.equal(matchPath('/a', '/a#frag'), true);
  assert.equal(matchPath('/a/*', '/a/b/c'), true);
  assert.equal(matchPath('*.css', '/static/x.css?v=2'), true);
  assert.equal(matchPath('*', ''), false);
});

test('match_path_template_rest_and_errors', () => {
  assert.equal(matchPath('/api/{**}', '/api/'), true);
  assert.equal(matchPath('/api/{**}', '/api/a/b'), true);
  assert.equal(matchPath('/api/{**}', '/apix/a'), false);
  assert.equal(matchPath('/{*}/x', '//x'), false);
  assert.equal(matchPath('/{**}/x', '/a/x'), false, '{**} must be the last operator, as Istio validates');
  assert.equal(matchPath('/a.{*}', '/a.b'), false, 'a segment holding braces beside text is not a template');
  assert.equal(matchPath('/v1.2/{*}', '/v1x2/a'), false, 'literal segments are not regular expressions');
});
