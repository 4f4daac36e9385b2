// Unit tests of HBONE's pure wire format: CONNECT :authority, forwarded, traceparent,
// baggage (DESIGN.md section 3, "HBONE on the wire").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addressKey,
  childTraceparent,
  headerListSize,
  formatAuthority,
  formatBaggage,
  formatForwarded,
  newTraceparent,
  parseAuthority,
  parseBaggage,
  parseForwardedFor,
  parseTraceparent,
} from './wire.js';

// ---- :authority ----

test('authority_parses_ipv4_and_port', () => {
  assert.deepEqual(parseAuthority('1.2.3.4:80'), { host: '1.2.3.4', port: 80 });
  assert.deepEqual(parseAuthority('10.0.0.1:65535'), { host: '10.0.0.1', port: 65535 });
  assert.deepEqual(parseAuthority('127.0.0.1:1'), { host: '127.0.0.1', port: 1 });
});

test('authority_parses_bracketed_ipv6_and_port', () => {
  assert.deepEqual(parseAuthority('[::1]:15008'), { host: '::1', port: 15008 });
  assert.deepEqual(parseAuthority('[2001:db8::7]:443'), { host: '2001:db8::7', port: 443 });
  assert.deepEqual(parseAuthority('[::ffff:1.2.3.4]:80'), { host: '::ffff:1.2.3.4', port: 80 });
});

test('authority_rejects_hostnames', () => {
  assert.equal(parseAuthority('example.com:80'), undefined);
  assert.equal(parseAuthority('localhost:80'), undefined);
  assert.equal(parseAuthority('reviews.default.svc.cluster.local:9080'), undefined);
  assert.equal(parseAuthority('[example.com]:80'), undefined);
});

test('authority_rejects_missing_port', () => {
  assert.equal(parseAuthority('1.2.3.4'), undefined);
  assert.equal(parseAuthority('1.2.3.4:'), undefined);
  assert.equal(parseAuthority('[::1]'), undefined);
  assert.equal(parseAuthority('[::1]:'), undefined);
});

test('authority_rejects_port_out_of_range', () => {
  assert.equal(parseAuthority('1.2.3.4:0'), undefined);
  assert.equal(parseAuthority('1.2.3.4:65536'), undefined);
  assert.equal(parseAuthority('[::1]:0'), undefined);
  assert.equal(parseAuthority('[::1]:99999'), undefined);
  assert.equal(parseAuthority('1.2.3.4:123456'), undefined);
  assert.equal(parseAuthority('1.2.3.4:-1'), undefined);
});

test('authority_rejects_ipv6_without_brackets', () => {
  assert.equal(parseAuthority('::1:80'), undefined);
  assert.equal(parseAuthority('2001:db8::1:443'), undefined);
});

test('authority_rejects_brackets_around_ipv4', () => {
  assert.equal(parseAuthority('[1.2.3.4]:80'), undefined);
});

test('authority_rejects_junk', () => {
  for (const junk of [
    undefined,
    '',
    ':80',
    '1.2.3:80',
    '1.2.3.4.5:80',
    '256.1.1.1:80',
    '1.2.3.4:80 ',
    ' 1.2.3.4:80',
    '1.2.3.4:8a',
    '1.2.3.4:80/path',
    'http://1.2.3.4:80',
    '[::1]:80]',
    '[[::1]]:80',
    '[:::]:80',
    '[fe80::1%eth0]:80',
    '1.2.3.4:80:90',
  ]) {
    assert.equal(parseAuthority(junk), undefined, String(junk));
  }
});

test('authority_format_brackets_ipv6_only', () => {
  assert.equal(formatAuthority({ host: '1.2.3.4', port: 80 }), '1.2.3.4:80');
  assert.equal(formatAuthority({ host: '::1', port: 15008 }), '[::1]:15008');
  assert.equal(formatAuthority({ host: '2001:db8::7', port: 443 }), '[2001:db8::7]:443');
});

test('authority_format_then_parse_round_trips', () => {
  for (const addr of [
    { host: '1.2.3.4', port: 80 },
    { host: '192.168.10.200', port: 65535 },
    { host: '::1', port: 15008 },
    { host: 'fd00:10:244::5', port: 1 },
  ]) {
    assert.deepEqual(parseAuthority(formatAuthority(addr)), addr);
  }
});

// ---- forwarded (RFC 7239) ----

test('forwarded_format_quotes_ipv4_with_port', () => {
  // ':' is not a token character, so node:port must be a quoted-string (RFC 7239 section 6).
  assert.equal(formatForwarded({ host: '10.0.0.1', port: 43210 }), 'for="10.0.0.1:43210"');
});

test('forwarded_format_brackets_and_quotes_ipv6', () => {
  // RFC 7239 section 6: IPv6 in brackets, and the whole node quoted.
  assert.equal(formatForwarded({ host: '2001:db8:cafe::17', port: 4711 }), 'for="[2001:db8:cafe::17]:4711"');
});

test('forwarded_format_then_parse_round_trips', () => {
  for (const addr of [
    { host: '10.0.0.1', port: 43210 },
    { host: '2001:db8:cafe::17', port: 4711 },
  ]) {
    assert.deepEqual(parseForwardedFor(formatForwarded(addr)), addr);
  }
});

test('forwarded_parse_quoted', () => {
  assert.deepEqual(parseForwardedFor('for="192.0.2.60:8080"'), { host: '192.0.2.60', port: 8080 });
  assert.deepEqual(parseForwardedFor('for="[2001:db8:cafe::17]:4711"'), { host: '2001:db8:cafe::17', port: 4711 });
});

test('forwarded_parse_unquoted_ip_without_port_gives_port_zero', () => {
  assert.deepEqual(parseForwardedFor('for=192.0.2.43'), { host: '192.0.2.43', port: 0 });
});

test('forwarded_parse_bracketed_ipv6_without_port_gives_port_zero', () => {
  // RFC 7239 section 6: nodename = IPv4address / "[" IPv6address "]", the port optional.
  assert.deepEqual(parseForwardedFor('for="[2001:db8:cafe::17]"'), { host: '2001:db8:cafe::17', port: 0 });
  assert.equal(parseForwardedFor('for="[1.2.3.4]"'), undefined);
});

test('forwarded_parse_takes_first_of_several', () => {
  assert.deepEqual(parseForwardedFor('for="10.0.0.1:1000", for="10.0.0.2:2000"'), { host: '10.0.0.1', port: 1000 });
  assert.deepEqual(parseForwardedFor('for=192.0.2.43, for=198.51.100.17'), { host: '192.0.2.43', port: 0 });
});

test('forwarded_parse_finds_for_among_other_parameters', () => {
  assert.deepEqual(parseForwardedFor('proto=https;for="10.1.2.3:555";by=203.0.113.43'), { host: '10.1.2.3', port: 555 });
  assert.deepEqual(parseForwardedFor('by=203.0.113.43; for="10.1.2.3:555"'), { host: '10.1.2.3', port: 555 });
});

test('forwarded_parse_parameter_name_is_case_insensitive', () => {
  assert.deepEqual(parseForwardedFor('For="10.0.0.9:9"'), { host: '10.0.0.9', port: 9 });
  assert.deepEqual(parseForwardedFor('FOR=10.0.0.9'), { host: '10.0.0.9', port: 0 });
});

test('forwarded_parse_ignores_obfuscated_unknown_and_hostnames', () => {
  assert.equal(parseForwardedFor('for=unknown'), undefined);
  assert.equal(parseForwardedFor('for="_hidden"'), undefined);
  assert.equal(parseForwardedFor('for="example.com:80"'), undefined);
  assert.equal(parseForwardedFor('proto=http'), undefined);
  assert.equal(parseForwardedFor('xfor="10.0.0.1:1"'), undefined);
  assert.equal(parseForwardedFor(''), undefined);
  assert.equal(parseForwardedFor(undefined), undefined);
});

// ---- traceparent (W3C Trace Context) ----

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const VALID = `00-${TRACE_ID}-${SPAN_ID}-01`;

test('traceparent_accepts_version_00_shape', () => {
  assert.equal(parseTraceparent(VALID), VALID);
  assert.equal(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-00`), `00-${TRACE_ID}-${SPAN_ID}-00`);
  assert.equal(parseTraceparent(`  ${VALID} `), VALID);
});

test('traceparent_rejects_wrong_shape', () => {
  for (const bad of [
    undefined,
    '',
    `01-${TRACE_ID}-${SPAN_ID}-01`,
    `ff-${TRACE_ID}-${SPAN_ID}-01`,
    `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`,
    `00-${TRACE_ID}-${SPAN_ID}0-01`,
    `00-${TRACE_ID}-${SPAN_ID}-1`,
    `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`,
    `00-${TRACE_ID}-${SPAN_ID}-01-extra`,
    `00_${TRACE_ID}_${SPAN_ID}_01`,
    `00-${TRACE_ID.replace('4', 'g')}-${SPAN_ID}-01`,
  ]) {
    assert.equal(parseTraceparent(bad), undefined, String(bad));
  }
});

test('traceparent_rejects_all_zero_trace_or_span_id', () => {
  assert.equal(parseTraceparent(`00-${'0'.repeat(32)}-${SPAN_ID}-01`), undefined);
  assert.equal(parseTraceparent(`00-${TRACE_ID}-${'0'.repeat(16)}-01`), undefined);
});

test('traceparent_new_is_valid_and_random', () => {
  const a = newTraceparent();
  const b = newTraceparent();
  assert.equal(parseTraceparent(a), a);
  assert.match(a, /-01$/);
  assert.notEqual(a, b);
});

test('traceparent_child_keeps_trace_id_and_flags_with_new_span_id', () => {
  for (const flags of ['01', '00']) {
    const parent = `00-${TRACE_ID}-${SPAN_ID}-${flags}`;
    const child = childTraceparent(parent);
    assert.equal(parseTraceparent(child), child);
    const [ver, trace, span, fl] = child.split('-');
    assert.equal(ver, '00');
    assert.equal(trace, TRACE_ID);
    assert.equal(fl, flags);
    assert.notEqual(span, SPAN_ID);
    assert.match(span!, /^[0-9a-f]{16}$/);
  }
  // two children of the same parent are different spans
  assert.notEqual(childTraceparent(VALID), childTraceparent(VALID));
});

test('traceparent_child_of_invalid_or_missing_parent_starts_a_new_trace', () => {
  for (const parent of [undefined, 'garbage', `00-${'0'.repeat(32)}-${SPAN_ID}-01`]) {
    const child = childTraceparent(parent);
    assert.equal(parseTraceparent(child), child);
    assert.notEqual(child.split('-')[1], '0'.repeat(32));
  }
});

// ---- baggage (W3C Baggage) ----

test('baggage_format_joins_members', () => {
  assert.equal(formatBaggage({ a: '1', b: 'two' }), 'a=1,b=two');
  assert.equal(formatBaggage({}), '');
});

test('baggage_format_percent_encodes_values', () => {
  const s = formatBaggage({ k: 'a b,c;d=e%f"g' });
  assert.equal(s, 'k=a%20b%2Cc%3Bd%3De%25f%22g');
  assert.ok(!/[ ,;"]/.test(s.slice(2)), s);
});

test('baggage_round_trips_including_values_needing_encoding', () => {
  const entries = {
    'user.id': '42',
    spaces: 'hello world',
    delims: 'a,b;c=d',
    percent: '100%',
    unicode: 'ünï©ødé ✓',
    empty: '',
  };
  assert.deepEqual(parseBaggage(formatBaggage(entries)), entries);
});

test('baggage_parse_trims_whitespace_and_ignores_properties', () => {
  assert.deepEqual(parseBaggage(' a = 1 , b=2;prop=x;flag ,c=3'), { a: '1', b: '2', c: '3' });
});

test('baggage_parse_drops_a_malformed_member_alone', () => {
  assert.deepEqual(parseBaggage('a=1,bad=%zz,c=3'), { a: '1', c: '3' });
  assert.deepEqual(parseBaggage('a=1,noequals,=novalue,c=3'), { a: '1', c: '3' });
});

test('baggage_parse_of_nothing_is_empty', () => {
  assert.deepEqual(parseBaggage(undefined), {});
  assert.deepEqual(parseBaggage(''), {});
});

// ---- header list size, address keys ----

test('header_list_size_counts_name_value_and_32_per_field', () => {
  assert.equal(headerListSize([]), 0);
  assert.equal(headerListSize([':method', 'CONNECT', ':authority', '10.0.0.1:80']), 7 + 7 + 32 + 10 + 11 + 32);
  assert.equal(headerListSize(['x-big', 'x'.repeat(16 * 1024)]), 5 + 16 * 1024 + 32);
});

test('address_key_folds_ipv4_mapped_ipv6_into_ipv4', () => {
  assert.equal(addressKey('::ffff:10.0.0.1'), '10.0.0.1');
  assert.equal(addressKey('10.0.0.1'), '10.0.0.1');
  assert.equal(addressKey('FD00::1'), 'fd00::1');
  assert.equal(addressKey(undefined), '');
});
