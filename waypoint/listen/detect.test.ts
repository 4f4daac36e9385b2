import { test } from 'node:test';
import assert from 'node:assert/strict';
import { H2_PREFACE, protocolFromAppProtocol, sniff } from './detect.js';

const b = (s: string) => Buffer.from(s, 'latin1');

test('app_protocol_http_is_http1', () => assert.equal(protocolFromAppProtocol('http'), 'http1'));
test('app_protocol_http2_grpc_h2c_are_h2', () => {
  for (const p of ['http2', 'grpc', 'kubernetes.io/h2c', 'GRPC']) assert.equal(protocolFromAppProtocol(p), 'h2', p);
});
test('app_protocol_tcp_and_tls_are_passthrough', () => {
  for (const p of ['tcp', 'https', 'tls', 'kubernetes.io/wss']) assert.equal(protocolFromAppProtocol(p), 'tcp', p);
});
test('app_protocol_unknown_or_absent_leaves_it_to_sniffing', () => {
  assert.equal(protocolFromAppProtocol(undefined), undefined);
  assert.equal(protocolFromAppProtocol('mongo'), undefined);
});

test('sniff_full_h2_preface_is_h2', () => assert.equal(sniff(Buffer.concat([H2_PREFACE, b('\x00\x00')])), 'h2'));
test('sniff_partial_h2_preface_waits', () => assert.equal(sniff(b('PRI * HTTP/2')), 'more'));
test('sniff_request_line_is_http1', () => assert.equal(sniff(b('GET /index.html HTTP/1.1\r\nHost: x\r\n')), 'http1'));
test('sniff_http10_request_line_is_http1', () => assert.equal(sniff(b('POST /a HTTP/1.0\r\n')), 'http1'));
test('sniff_request_line_in_progress_waits', () => {
  for (const s of ['G', 'GET', 'GET ', 'GET /x', 'GET /x HT', 'GET /x HTTP/1.1', 'GET /x HTTP/1.1\r']) assert.equal(sniff(b(s)), 'more', s);
});
test('sniff_binary_first_byte_is_tcp_at_once', () => assert.equal(sniff(Buffer.from([0x16, 0x03, 0x01, 0x00])), 'tcp'));
test('sniff_line_that_is_not_a_request_line_is_tcp', () => {
  assert.equal(sniff(b('HELLO WORLD\r\n')), 'tcp');
  assert.equal(sniff(b('GET / HTTP/2.0\r\n')), 'tcp');
  assert.equal(sniff(b('*1\r\n$4\r\nPING\r\n')), 'tcp');
});
test('sniff_long_token_without_space_is_tcp', () => assert.equal(sniff(b('A'.repeat(40))), 'tcp'));
test('sniff_final_with_request_line_prefix_is_http1', () => assert.equal(sniff(b('GET /very-long-target'), true), 'http1'));
test('sniff_final_with_bare_token_is_tcp', () => assert.equal(sniff(b('PING'), true), 'tcp'));
test('sniff_final_with_nothing_is_tcp', () => assert.equal(sniff(Buffer.alloc(0), true), 'tcp'));
test('sniff_final_with_cut_preface_is_not_h2', () => assert.notEqual(sniff(b('PRI * HTTP/2.0\r\n'), true), 'h2'));

test('sniff_skips_blank_lines_before_the_request_line', () => {
  // RFC 9112 section 2.2: servers ignore them; a request hidden behind one must still be
  // seen as HTTP (else it would be carried as TCP, past the request chain).
  assert.equal(sniff(Buffer.from('\r\nGET /admin HTTP/1.1\r\nHost: web\r\n\r\n')), 'http1');
  assert.equal(sniff(Buffer.from('\r\n\r\nGET /admin HTTP/1.1\r\n')), 'http1');
  assert.equal(sniff(Buffer.from('\r\n')), 'more');
  assert.equal(sniff(Buffer.from('\r\n\r')), 'more');
  assert.equal(sniff(Buffer.from('\r\n'), true), 'tcp');
});
