import { test } from 'node:test';
import assert from 'node:assert/strict';
import { H2_PREFACE } from './detect.js';
import { h2cUpgradeSettings, hpackLiterals, requestFrames, rewritePreface, upgradedRequestFields } from './h2c-upgrade.js';

const SETTINGS = Buffer.from([0, 3, 0, 0, 0, 100, 0, 4, 0, 0, 0xff, 0xff]); // MAX_CONCURRENT_STREAMS 100, INITIAL_WINDOW_SIZE 65535
const up = (over: Record<string, string | string[] | undefined> = {}) => ({ connection: 'Upgrade, HTTP2-Settings', upgrade: 'h2c', 'http2-settings': SETTINGS.toString('base64url'), ...over });

test('h2c_upgrade_request_gives_its_settings', () => {
  assert.deepEqual(h2cUpgradeSettings(up()), SETTINGS);
});

test('empty_http2_settings_is_valid', () => {
  assert.deepEqual(h2cUpgradeSettings(up({ 'http2-settings': '' })), Buffer.alloc(0));
});

test('upgrade_without_h2c_or_connection_tokens_is_not_switched', () => {
  assert.equal(h2cUpgradeSettings(up({ upgrade: 'websocket' })), undefined);
  assert.equal(h2cUpgradeSettings(up({ connection: 'Upgrade' })), undefined, 'HTTP2-Settings must be named in Connection');
  assert.equal(h2cUpgradeSettings(up({ 'http2-settings': undefined })), undefined);
});

test('malformed_http2_settings_is_not_switched', () => {
  assert.equal(h2cUpgradeSettings(up({ 'http2-settings': 'AAMAAABk!' })), undefined);
  assert.equal(h2cUpgradeSettings(up({ 'http2-settings': Buffer.from([0, 3, 0]).toString('base64url') })), undefined, 'not whole settings');
  assert.equal(h2cUpgradeSettings(up({ 'http2-settings': Buffer.alloc(6 * 65).toString('base64url') })), undefined, 'too many');
});

test('upgrade_request_with_a_body_is_not_switched', () => {
  assert.equal(h2cUpgradeSettings(up({ 'content-length': '5' })), undefined);
  assert.equal(h2cUpgradeSettings(up({ 'transfer-encoding': 'chunked' })), undefined);
  assert.ok(h2cUpgradeSettings(up({ 'content-length': '0' })));
});

test('upgraded_request_has_pseudo_headers_first_and_no_connection_fields', () => {
  const f = upgradedRequestFields('GET', '/a?b=1', ['Host', 'api.shop', 'Connection', 'Upgrade, HTTP2-Settings, X-Hop', 'Upgrade', 'h2c', 'HTTP2-Settings', 'AAA', 'X-Hop', '1', 'Accept', '*/*', 'TE', 'trailers']);
  assert.deepEqual(f, [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':authority', 'api.shop'],
    [':path', '/a?b=1'],
    ['accept', '*/*'],
    ['te', 'trailers'],
  ]);
});

test('hpack_literal_encodes_name_and_value_lengths', () => {
  assert.deepEqual([...hpackLiterals([['a', 'bc']])], [0x00, 1, 0x61, 2, 0x62, 0x63]);
  const long = 'x'.repeat(200);
  const b = hpackLiterals([['n', long]]);
  // 200 = 127 + 73: the 7-bit prefix full, then 73.
  assert.deepEqual([...b.subarray(0, 6)], [0x00, 1, 0x6e, 0x7f, 73, 0x78]);
});

test('request_frames_are_headers_with_end_stream_on_stream_1', () => {
  const f = requestFrames(Buffer.from('abc'));
  assert.deepEqual([...f.subarray(0, 9)], [0, 0, 3, 0x1, 0x5, 0, 0, 0, 1]);
});

test('large_header_block_continues_in_continuation_frames', () => {
  const f = requestFrames(Buffer.alloc(25), 10);
  assert.deepEqual([...f.subarray(0, 9)], [0, 0, 10, 0x1, 0x1, 0, 0, 0, 1], 'HEADERS: END_STREAM, not END_HEADERS');
  assert.deepEqual([...f.subarray(19, 28)], [0, 0, 10, 0x9, 0x0, 0, 0, 0, 1]);
  assert.deepEqual([...f.subarray(38, 47)], [0, 0, 5, 0x9, 0x4, 0, 0, 0, 1], 'last CONTINUATION: END_HEADERS');
});

const clientSettings = Buffer.from([0, 0, 6, 0x4, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0]); // ENABLE_PUSH 0

test('preface_rewrite_merges_settings_and_adds_the_request', () => {
  const input = Buffer.concat([H2_PREFACE, clientSettings, Buffer.from('rest')]);
  const step = rewritePreface(input, SETTINGS, Buffer.from('REQ'));
  assert.equal(step.kind, 'done');
  const out = (step as { bytes: Buffer }).bytes;
  assert.deepEqual(out.subarray(0, 24), H2_PREFACE);
  assert.deepEqual([...out.subarray(24, 33)], [0, 0, 18, 0x4, 0, 0, 0, 0, 0]);
  assert.deepEqual(out.subarray(33, 45), SETTINGS, 'HTTP2-Settings first');
  assert.deepEqual(out.subarray(45, 51), clientSettings.subarray(9), "then the client's own");
  assert.equal(out.subarray(51).toString(), 'REQrest');
});

test('preface_rewrite_waits_for_the_whole_settings_frame', () => {
  assert.equal(rewritePreface(H2_PREFACE.subarray(0, 10), SETTINGS, Buffer.alloc(0)).kind, 'more');
  assert.equal(rewritePreface(Buffer.concat([H2_PREFACE, clientSettings.subarray(0, 12)]), SETTINGS, Buffer.alloc(0)).kind, 'more');
});

test('bytes_that_are_not_an_h2_preface_and_settings_are_refused', () => {
  assert.equal(rewritePreface(Buffer.from('GET / HTTP/1.1\r\n'), SETTINGS, Buffer.alloc(0)).kind, 'bad');
  const ping = Buffer.from([0, 0, 8, 0x6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(rewritePreface(Buffer.concat([H2_PREFACE, ping]), SETTINGS, Buffer.alloc(0)).kind, 'bad');
  const huge = Buffer.from([0, 0x10, 0, 0x4, 0, 0, 0, 0, 0]);
  assert.equal(rewritePreface(Buffer.concat([H2_PREFACE, huge]), SETTINGS, Buffer.alloc(0)).kind, 'bad');
});
