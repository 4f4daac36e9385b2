import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getReviews } from './fixtures.js';
import { requestSpan, splitAuthority } from './request-span.js';

const ids = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '1111111111111111', parentSpanId: '00f067aa0ba902b7', sampled: true };

test('request_span_has_the_http_server_semantic_convention_attributes', () => {
  const s = requestSpan(getReviews({ ...ids, userAgent: 'curl/8' }));
  assert.equal(s.name, 'GET');
  assert.equal(s.kind, 'server');
  assert.equal(s.parentSpanId, '00f067aa0ba902b7');
  assert.equal(s.endMs - s.startMs, 12);
  assert.equal(s.status, undefined);
  const a = s.attributes;
  assert.equal(a['http.request.method'], 'GET');
  assert.equal(a['url.path'], '/reviews/1');
  assert.equal(a['url.query'], 'x=2');
  assert.equal(a['url.scheme'], 'http');
  assert.equal(a['server.address'], 'reviews.shop.svc.cluster.local');
  assert.equal(a['server.port'], 9080);
  assert.equal(a['network.protocol.version'], '1.1');
  assert.equal(a['http.response.status_code'], 200);
  assert.equal(a['user_agent.original'], 'curl/8');
  assert.equal(a['mesh.source.principal'], 'spiffe://cluster.local/ns/apps/sa/sleep');
  assert.equal(a['mesh.destination.principal'], 'spiffe://cluster.local/ns/shop/sa/reviews');
  assert.equal(a['mesh.upstream.address'], '10.244.2.7:8080');
  assert.equal(a['mesh.route'], 'shop/HTTPRoute/reviews');
});

test('request_span_is_an_error_for_5xx_and_not_for_4xx', () => {
  assert.deepEqual(requestSpan(getReviews({ ...ids, status: 503, error: 'no healthy upstream' })).status, { error: true, message: 'no healthy upstream' });
  assert.equal(requestSpan(getReviews({ ...ids, status: 404 })).status, undefined);
  assert.deepEqual(requestSpan(getReviews({ ...ids, status: 0 })).status, { error: true, message: 'client left before the response' });
});

test('request_span_grpc_is_named_service_slash_method_with_rpc_attributes', () => {
  const s = requestSpan(getReviews({ ...ids, protocol: 'grpc', httpVersion: '2', method: 'POST', path: '/grpc.health.v1.Health/Check', grpcStatus: 14 }));
  assert.equal(s.name, 'grpc.health.v1.Health/Check');
  assert.equal(s.attributes['rpc.system'], 'grpc');
  assert.equal(s.attributes['rpc.service'], 'grpc.health.v1.Health');
  assert.equal(s.attributes['rpc.method'], 'Check');
  assert.equal(s.attributes['rpc.grpc.status_code'], 14);
  assert.equal(s.status?.error, true, 'UNAVAILABLE is a server error');
  assert.equal(requestSpan(getReviews({ ...ids, protocol: 'grpc', path: '/a.B/C', grpcStatus: 5 })).status, undefined, 'NOT_FOUND is not');
});

test('authority_splits_into_host_and_port_with_the_schemes_default', () => {
  assert.deepEqual(splitAuthority('example.com', 'http'), { host: 'example.com', port: 80 });
  assert.deepEqual(splitAuthority('example.com', 'https'), { host: 'example.com', port: 443 });
  assert.deepEqual(splitAuthority('[fd00::1]:8080', 'http'), { host: 'fd00::1', port: 8080 });
});
