import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forwardableTrailers, http1Framing } from './request-body.js';

test('trailers_pass_end_to_end_fields', () => {
  assert.deepEqual(forwardableTrailers({ 'x-checksum': 'abc', 'grpc-status': '0' }), { 'x-checksum': 'abc', 'grpc-status': '0' });
});

test('trailers_drop_framing_routing_and_authentication_fields', () => {
  const out = forwardableTrailers({
    'content-length': '5',
    'transfer-encoding': 'chunked',
    host: 'evil',
    authorization: 'Bearer x',
    'x-forwarded-client-cert': 'By=spiffe://x',
    'content-type': 'text/plain',
    'x-ok': '1',
  });
  assert.deepEqual(out, { 'x-ok': '1' });
});

test('trailers_drop_hop_by_hop_and_pseudo_fields', () => {
  assert.deepEqual(forwardableTrailers({ connection: 'x-a', 'x-a': '1', ':status': '200', 'keep-alive': '5', 'x-b': '2' }), { 'x-b': '2' });
});

test('no_trailers_left_is_undefined', () => {
  assert.equal(forwardableTrailers({ authorization: 'x' }), undefined);
  assert.equal(forwardableTrailers({}), undefined);
  assert.equal(forwardableTrailers(undefined), undefined);
});

test('body_with_a_length_keeps_it', () => {
  assert.equal(http1Framing({ contentLength: '12', mayHaveBody: true }), 'length');
});

test('body_without_a_length_is_chunked_whatever_the_method', () => {
  assert.equal(http1Framing({ mayHaveBody: true }), 'chunked');
});

test('request_without_a_body_has_none', () => {
  assert.equal(http1Framing({ mayHaveBody: false }), 'none');
});
