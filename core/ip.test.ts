// Unit tests of IP canonicalisation, which every state lookup relies on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalIp, canonicalIpOrCidr, formatAddress, ipFamily, isLoopback } from './ip.js';

test('canonical_ip_maps_ipv4_mapped_ipv6_to_ipv4', () => {
  assert.equal(canonicalIp('::ffff:10.244.1.5'), '10.244.1.5');
  assert.equal(canonicalIp('::FFFF:a00:1'), '10.0.0.1');
  assert.equal(canonicalIp('0:0:0:0:0:ffff:0a00:0001'), '10.0.0.1');
});

test('canonical_ip_writes_ipv6_in_rfc5952_form', () => {
  assert.equal(canonicalIp('FD00:0010:0244:0000:0000:0000:0000:000A'), 'fd00:10:244::a');
  assert.equal(canonicalIp('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1', 'first of two equal runs');
  assert.equal(canonicalIp('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1', 'a single zero group is not compressed');
  assert.equal(canonicalIp('0:0:0:0:0:0:0:1'), '::1');
  assert.equal(canonicalIp('::'), '::');
  assert.equal(canonicalIp('64:ff9b::192.0.2.33'), '64:ff9b::c000:221');
});

test('canonical_ip_leaves_ipv4_and_non_ips_alone', () => {
  assert.equal(canonicalIp(' 10.96.0.10 '), '10.96.0.10');
  assert.equal(canonicalIp('Not-An-IP'), 'not-an-ip');
});

test('ip_family_and_loopback', () => {
  assert.equal(ipFamily('::ffff:1.2.3.4'), 4);
  assert.equal(ipFamily('fd00::1'), 6);
  assert.equal(ipFamily('example.com'), undefined);
  assert.ok(isLoopback('127.1.2.3'));
  assert.ok(isLoopback('::ffff:127.0.0.1'));
  assert.ok(isLoopback('0::1'));
  assert.ok(!isLoopback('10.0.0.1'));
  assert.ok(!isLoopback('::2'));
});

test('format_address_brackets_ipv6', () => {
  assert.equal(formatAddress({ ip: '10.0.0.1', port: 80 }), '10.0.0.1:80');
  assert.equal(formatAddress({ ip: 'fd00::1', port: 15008 }), '[fd00::1]:15008');
});

test('loopback_addresses_are_recognised', () => {
  for (const a of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) assert.ok(isLoopback(a), a);
  for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '0.0.0.0', '::', '1270.0.0.1', '', undefined]) assert.ok(!isLoopback(a), String(a));
});

test('canonical_ip_or_cidr_clears_host_bits_and_maps_ipv4_in_ipv6', () => {
  assert.equal(canonicalIpOrCidr('10.1.2.3/8'), '10.0.0.0/8');
  assert.equal(canonicalIpOrCidr('10.1.2.3/0'), '0.0.0.0/0');
  assert.equal(canonicalIpOrCidr('10.1.2.3/32'), '10.1.2.3/32');
  assert.equal(canonicalIpOrCidr('::ffff:10.1.2.3/104'), '10.0.0.0/8');
  assert.equal(canonicalIpOrCidr('2001:db8::ff/120'), '2001:db8::/120');
  assert.equal(canonicalIpOrCidr('2001:db8::1/129'), undefined);
  assert.equal(canonicalIpOrCidr('fe80::1%eth0'), undefined);
  assert.equal(canonicalIpOrCidr('10.0.0.1/'), undefined);
});
