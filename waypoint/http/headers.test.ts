import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endToEnd, h2RequestHeaders, http1RequestHeaders, requestHeadersFromClient, websocketUpgrade } from './headers.js';

test('hop_by_hop_fields_are_removed', () => {
  const h = endToEnd({
    connection: 'keep-alive',
    'keep-alive': 'timeout=5',
    'proxy-connection': 'keep-alive',
    'transfer-encoding': 'chunked',
    upgrade: 'h2c',
    accept: 'text/plain',
  });
  assert.deepEqual(h, { accept: 'text/plain' });
});

test('fields_named_by_connection_are_removed', () => {
  assert.deepEqual(endToEnd({ connection: 'close, X-Private', 'x-private': '1', 'x-public': '2' }), { 'x-public': '2' });
});

test('te_trailers_is_kept_other_te_values_dropped', () => {
  assert.deepEqual(endToEnd({ te: 'gzip, trailers;q=1' }), { te: 'trailers' });
  assert.deepEqual(endToEnd({ te: 'gzip' }), {});
});

test('pseudo_headers_are_not_copied', () => {
  assert.deepEqual(endToEnd({ ':method': 'GET', ':path': '/', 'content-type': 'application/grpc' }), { 'content-type': 'application/grpc' });
});

test('multi_value_headers_stay_lists', () => {
  assert.deepEqual(endToEnd({ 'set-cookie': ['a=1', 'b=2'] }), { 'set-cookie': ['a=1', 'b=2'] });
});

test('http1_upstream_headers_carry_host_as_authority', () => {
  assert.deepEqual(http1RequestHeaders({ host: 'old', a: '1' }, 'new.example'), { host: 'new.example', a: '1' });
});

test('h2_upstream_headers_have_pseudo_headers_and_no_host', () => {
  assert.deepEqual(h2RequestHeaders({ host: 'x', a: '1' }, 'POST', '/svc/M', 'svc:80', 'http'), {
    ':method': 'POST',
    ':path': '/svc/M',
    ':authority': 'svc:80',
    ':scheme': 'http',
    a: '1',
  });
});

test('websocket_upgrade_needs_connection_upgrade_and_upgrade_websocket', () => {
  assert.equal(websocketUpgrade({ connection: 'keep-alive, Upgrade', upgrade: 'WebSocket' }), true);
  assert.equal(websocketUpgrade({ upgrade: 'websocket' }), false);
  assert.equal(websocketUpgrade({ connection: 'upgrade', upgrade: 'h2c' }), false);
});

test('client_cannot_send_its_own_x_forwarded_client_cert', () => {
  const h = requestHeadersFromClient({ 'x-forwarded-client-cert': 'By=spiffe://cluster.local/ns/shop/sa/admin', accept: '*/*' });
  assert.deepEqual(h, { accept: '*/*' });
});
