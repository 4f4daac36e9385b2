import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HashKey } from '../../core/config/traffic-policy.js';
import { extractHashKey, formatSetCookie, newCookieValue, queryParameter, readCookie } from './hash-key.js';
import { seededRandom } from './random.js';

const req = (headers: Record<string, string | string[]> = {}, path = '/', sourceIp?: string) => ({ headers, path, ...(sourceIp && { sourceIp }) });
const key = (spec: HashKey, r: ReturnType<typeof req>, max = 1024) => extractHashKey(spec, r, seededRandom(1), max);

test('header_key_is_the_header_value', () => {
  assert.deepEqual(key({ type: 'header', name: 'x-user' }, req({ 'x-user': 'alice' })), { key: 'alice' });
});

test('header_key_joins_several_values', () => {
  assert.deepEqual(key({ type: 'header', name: 'x-user' }, req({ 'x-user': ['a', 'b'] })), { key: 'a,b' });
});

test('missing_header_gives_no_key', () => {
  assert.deepEqual(key({ type: 'header', name: 'x-user' }, req({ 'x-other': 'a' })), {});
  assert.deepEqual(key({ type: 'header', name: 'x-user' }, req({ 'x-user': [] })), {});
});

test('empty_header_value_is_a_key', () => assert.deepEqual(key({ type: 'header', name: 'x-user' }, req({ 'x-user': '' })), { key: '' }));

test('a_long_key_is_cut_to_the_limit', () => {
  assert.deepEqual(key({ type: 'header', name: 'x-user' }, req({ 'x-user': 'abcdef' }), 3), { key: 'abc' });
});

const cookie: HashKey = { type: 'cookie', name: 'sticky', ttlMs: 3_600_000, path: '/' };

test('cookie_key_is_the_cookie_value_and_sets_nothing', () => {
  assert.deepEqual(key(cookie, req({ cookie: 'a=1; sticky=abc123; b=2' })), { key: 'abc123' });
});

test('cookie_in_quotes_and_in_a_second_cookie_header_is_found', () => {
  assert.deepEqual(key(cookie, req({ cookie: ['a=1', 'sticky="q1"'] })), { key: 'q1' });
});

test('cookie_name_must_match_exactly', () => {
  assert.equal(readCookie({ cookie: 'xsticky=1; sticky2=2' }, 'sticky'), undefined);
  assert.equal(readCookie({ cookie: 'flag; sticky = 7 ' }, 'sticky'), '7');
  assert.equal(readCookie({}, 'sticky'), undefined);
});

test('absent_cookie_is_generated_hashed_on_and_returned_to_set', () => {
  const r = key(cookie, req({ cookie: 'a=1' }));
  assert.match(r.key!, /^[0-9a-f]{16}$/);
  assert.deepEqual(r.setCookie, { name: 'sticky', value: r.key, ttlMs: 3_600_000, path: '/' });
});

test('empty_cookie_is_replaced_like_an_absent_one', () => {
  assert.ok(key(cookie, req({ cookie: 'sticky=' })).setCookie);
});

test('generated_cookie_values_are_deterministic_for_a_seed_and_differ_between_draws', () => {
  const r = seededRandom(5);
  const a = newCookieValue(r), b = newCookieValue(r);
  assert.notEqual(a, b);
  assert.equal(newCookieValue(seededRandom(5)), a);
});

test('set_cookie_header_has_path_max_age_and_http_only', () => {
  assert.equal(formatSetCookie({ name: 'sticky', value: '00ff', ttlMs: 3_600_000, path: '/' }), 'sticky=00ff; Path=/; Max-Age=3600; HttpOnly');
  assert.equal(formatSetCookie({ name: 'sticky', value: '00ff', ttlMs: 1500, path: '/api' }), 'sticky=00ff; Path=/api; Max-Age=2; HttpOnly', 'rounded up');
});

test('set_cookie_with_ttl_zero_is_a_session_cookie', () => {
  assert.equal(formatSetCookie({ name: 's', value: '1', ttlMs: 0, path: '/' }), 's=1; Path=/; HttpOnly');
});

test('set_cookie_refuses_what_would_break_the_header_naming_the_field', () => {
  assert.throws(() => formatSetCookie({ name: 'a b', value: '1', ttlMs: 0, path: '/' }), /consistentHash\.cookie\.name "a b"/);
  assert.throws(() => formatSetCookie({ name: 'a', value: '1', ttlMs: 0, path: '/; Domain=evil' }), /consistentHash\.cookie\.path/);
  assert.throws(() => formatSetCookie({ name: 'a', value: '1\r\nx: y', ttlMs: 0, path: '/' }), /cookie value/);
  assert.throws(() => formatSetCookie({ name: 'a', value: '1', ttlMs: -1, path: '/' }), /ttl/);
});

test('source_ip_key_is_the_address_or_none', () => {
  assert.deepEqual(key({ type: 'sourceIP' }, req({}, '/', '10.1.2.3')), { key: '10.1.2.3' });
  assert.deepEqual(key({ type: 'sourceIP' }, req()), {});
});

test('query_parameter_key_is_the_first_value_as_sent', () => {
  assert.deepEqual(key({ type: 'queryParameter', name: 'q' }, req({}, '/s?x=1&q=a%20b&q=2')), { key: 'a%20b' });
});

test('query_parameter_edge_cases', () => {
  assert.equal(queryParameter('/s', 'q'), undefined);
  assert.equal(queryParameter('/s?qq=1', 'q'), undefined);
  assert.equal(queryParameter('/s?q', 'q'), '');
  assert.equal(queryParameter('/s?q=1#q=2', 'q'), '1');
  assert.equal(queryParameter('/s?a=1#q=2', 'q'), undefined, 'not from the fragment');
  assert.deepEqual(key({ type: 'queryParameter', name: 'q' }, req({}, '/s?a=1')), {});
});
