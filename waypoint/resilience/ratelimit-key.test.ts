import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeKeyValue, globalRateLimitKey, rateLimitDescriptor, type RateLimitKeyInput } from './ratelimit-key.js';

const req = (o: Partial<RateLimitKeyInput> = {}): RateLimitKeyInput => ({
  sourcePrincipal: 'spiffe://cluster.local/ns/shop/sa/web',
  sourceNamespace: 'shop',
  path: '/cart/1?x=2',
  headers: { 'x-user': 'alice' },
  ...o,
});

test('no_parts_is_one_counter_for_the_target', () => {
  assert.equal(rateLimitDescriptor([], req()), '*');
  assert.equal(globalRateLimitKey('shop/echo/shop/echo.shop.svc.cluster.local:80', 60_000, [], req()), 'amb:rl:{shop/echo/shop/echo.shop.svc.cluster.local%3A80|*}:60000');
});

test('descriptor_combines_parts_in_order', () => {
  assert.equal(
    rateLimitDescriptor([{ type: 'sourcePrincipal' }, { type: 'sourceNamespace' }, { type: 'path' }, { type: 'header', name: 'X-User' }], req()),
    'principal=spiffe%3A//cluster.local/ns/shop/sa/web|namespace=shop|path=/cart/1|header.x-user=alice',
  );
});

test('path_part_ignores_the_query_string', () => {
  const k = (path: string) => globalRateLimitKey('s', 1000, [{ type: 'path' }], req({ path }));
  assert.equal(k('/a?x=1'), k('/a?x=2'));
  assert.notEqual(k('/a'), k('/b'));
});

test('a_missing_header_counts_under_the_empty_value', () => {
  assert.equal(rateLimitDescriptor([{ type: 'header', name: 'x-tenant' }], req()), 'header.x-tenant=');
});

test('repeated_header_values_are_joined', () => {
  assert.equal(rateLimitDescriptor([{ type: 'header', name: 'x-user' }], req({ headers: { 'x-user': ['a', 'b'] } })), 'header.x-user=a%2C%20b');
});

test('different_principals_get_different_counters', () => {
  const k = (p: string) => globalRateLimitKey('s', 1000, [{ type: 'sourcePrincipal' }], req({ sourcePrincipal: p }));
  assert.notEqual(k('spiffe://c/ns/a/sa/x'), k('spiffe://c/ns/a/sa/y'));
});

test('separators_in_values_cannot_forge_another_descriptor', () => {
  const parts = [{ type: 'header' as const, name: 'a' }, { type: 'header' as const, name: 'b' }];
  const forged = rateLimitDescriptor(parts, req({ headers: { a: 'x|header.b=y', b: '' } }));
  const honest = rateLimitDescriptor(parts, req({ headers: { a: 'x', b: 'y' } }));
  assert.notEqual(forged, honest);
  assert.ok(!forged.slice(forged.indexOf('=') + 1, forged.indexOf('|')).includes('|'));
});

test('braces_newlines_and_spaces_are_escaped', () => {
  assert.equal(escapeKeyValue('{a}\r\n b:c'), '%7Ba%7D%0D%0A%20b%3Ac');
  const k = globalRateLimitKey('s', 1000, [{ type: 'header', name: 'x' }], req({ headers: { x: '}{evil' } }));
  assert.equal(k.split('{').length - 1, 1, 'one hash tag only');
  assert.equal(k.split('}').length - 1, 1);
});

test('utf8_values_are_escaped_bytewise', () => {
  assert.equal(escapeKeyValue('é'), '%C3%A9');
});

test('long_keys_are_replaced_by_their_hash', () => {
  const k = globalRateLimitKey('s', 1000, [{ type: 'path' }], req({ path: '/' + 'a'.repeat(5000) }));
  assert.match(k, /^amb:rl:\{sha256:[0-9a-f]{64}\}:1000$/);
  const other = globalRateLimitKey('s', 1000, [{ type: 'path' }], req({ path: '/' + 'b'.repeat(5000) }));
  assert.notEqual(k, other);
});

test('keys_are_bounded_whatever_the_input', () => {
  const huge = 'x'.repeat(100_000);
  const k = globalRateLimitKey(huge, 1000, [{ type: 'sourcePrincipal' }, { type: 'header', name: 'h' }], req({ sourcePrincipal: huge, headers: { h: huge } }));
  assert.ok(Buffer.byteLength(k) <= 256, String(k.length));
});

test('the_window_length_is_part_of_the_key', () => {
  assert.notEqual(globalRateLimitKey('s', 1000, [], req()), globalRateLimitKey('s', 60_000, [], req()));
});

test('scopes_do_not_share_counters', () => {
  assert.notEqual(globalRateLimitKey('shop/a/svc:80', 1000, [], req()), globalRateLimitKey('shop/b/svc:80', 1000, [], req()));
});

/** The escaping as first written (every UTF-8 byte tested on its own): the reference. */
function escapeBytewise(v: string): string {
  let out = '';
  for (const b of Buffer.from(v, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9._~/@=-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

test('escaping_is_bytewise_for_every_ascii_character_and_utf8_sequence', () => {
  const ascii = Array.from({ length: 128 }, (_, i) => String.fromCharCode(i)).join('');
  const inputs = [
    '',
    ascii,
    'spiffe://cluster.local/ns/shop/sa/web',
    'shop/echo/shop/echo.shop.svc.cluster.local:80',
    'é€😀 mixed|{}:',
    'a\uD83D\uDE00b', // a surrogate pair, one code point
    'lone \uD800 high and \uDC00 low surrogates',
    '%41 already-escaped-looking',
  ];
  for (const v of inputs) assert.equal(escapeKeyValue(v), escapeBytewise(v), JSON.stringify(v));
});

test('a_value_with_nothing_to_escape_is_unchanged', () => {
  assert.equal(escapeKeyValue('shop/web-1_v2.~@=x'), 'shop/web-1_v2.~@=x');
});
