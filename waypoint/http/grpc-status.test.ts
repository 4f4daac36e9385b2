// grpc's doc/http-grpc-status-mapping.md and the `/pkg.Service/Method` path of
// PROTOCOL-HTTP2.md.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GrpcStatus, grpcStatusFromHttp, isGrpcContentType, parseGrpcPath } from './grpc-status.js';

test('http_400_maps_to_internal', () => {
  assert.equal(grpcStatusFromHttp(400), GrpcStatus.INTERNAL);
  assert.equal(GrpcStatus.INTERNAL, 13);
});

test('http_401_maps_to_unauthenticated', () => {
  assert.equal(grpcStatusFromHttp(401), 16);
});

test('http_403_maps_to_permission_denied', () => {
  assert.equal(grpcStatusFromHttp(403), 7);
});

test('http_404_maps_to_unimplemented', () => {
  assert.equal(grpcStatusFromHttp(404), 12);
});

test('http_429_502_503_504_map_to_unavailable', () => {
  for (const s of [429, 502, 503, 504]) assert.equal(grpcStatusFromHttp(s), 14, String(s));
});

test('every_other_http_status_maps_to_unknown', () => {
  for (const s of [200, 301, 402, 405, 408, 500, 501, 505, 0, -1, NaN]) {
    assert.equal(grpcStatusFromHttp(s), GrpcStatus.UNKNOWN, String(s));
  }
});

test('grpc_path_splits_package_service_and_method', () => {
  assert.deepEqual(parseGrpcPath('/grpc.testing.TestService/UnaryCall'), {
    service: 'grpc.testing.TestService',
    method: 'UnaryCall',
  });
  assert.deepEqual(parseGrpcPath('/Svc/M'), { service: 'Svc', method: 'M' });
});

test('grpc_path_without_two_non_empty_segments_is_invalid', () => {
  for (const p of ['', '/', '//', '/svc', '/svc/', '//method', 'svc/method', '/a/b/c', '/a/b/']) {
    assert.equal(parseGrpcPath(p), undefined, p);
  }
});

test('grpc_path_with_query_is_invalid', () => {
  assert.equal(parseGrpcPath('/svc/method?x=1'), undefined);
  assert.equal(parseGrpcPath(undefined as never), undefined);
});

test('grpc_content_type_recognised_with_suffix_and_parameters', () => {
  assert.equal(isGrpcContentType('application/grpc'), true);
  assert.equal(isGrpcContentType('application/grpc+proto'), true);
  assert.equal(isGrpcContentType('Application/GRPC; charset=utf-8'), true);
  assert.equal(isGrpcContentType('application/grpc-web'), false);
  assert.equal(isGrpcContentType('application/json'), false);
  assert.equal(isGrpcContentType(undefined), false);
});
