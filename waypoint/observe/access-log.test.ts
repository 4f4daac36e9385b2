import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { getReviews, state } from './fixtures.js';
import { requestLogFields, writeRequestLog } from './access-log.js';
import { RESPONSE_FLAGS } from './request-record.js';

test('access_log_line_names_the_request_its_peers_route_upstream_and_trace', () => {
  const f = requestLogFields(getReviews({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', requestBytes: 10 }), state);
  assert.deepEqual(f, {
    method: 'GET',
    authority: 'reviews.shop.svc.cluster.local:9080',
    path: '/reviews/1?x=2',
    protocol: 'HTTP/1.1',
    status: 200,
    duration_ms: 12,
    bytes_recv: 10,
    bytes_sent: 1500,
    response_flags: '-',
    upstream: '10.244.2.7:8080',
    'src.addr': '10.244.1.5:40000',
    'src.workload': 'sleep-7d9f',
    'src.namespace': 'apps',
    'src.identity': 'spiffe://cluster.local/ns/apps/sa/sleep',
    'dst.service': 'reviews.shop.svc.cluster.local',
    'dst.workload': 'reviews-v2-abc',
    'dst.namespace': 'shop',
    'dst.identity': 'spiffe://cluster.local/ns/shop/sa/reviews',
    route: 'shop/HTTPRoute/reviews',
    rule: 'v2',
    trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    span_id: '00f067aa0ba902b7',
    mtls: true,
  });
});

test('access_log_leaves_out_what_is_not_known', () => {
  const f = requestLogFields(getReviews({ destinationWorkload: undefined, destinationIdentity: undefined, upstream: undefined, route: undefined, rule: undefined, status: 404, responseFlags: [RESPONSE_FLAGS.noRoute] }), state);
  for (const k of ['dst.workload', 'dst.identity', 'upstream', 'route', 'rule', 'trace_id']) assert.equal(k in f, false, k);
  assert.equal(f['response_flags'], 'NR');
  assert.equal(f['status'], 404);
});

test('access_log_writes_one_json_line_per_request', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = pino({ base: null }, sink);
  writeRequestLog(logger, getReviews({ protocol: 'grpc', grpcStatus: 0, httpVersion: '2' }), state);
  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0]!);
  assert.equal(line.msg, 'request');
  assert.equal(line.protocol, 'grpc');
  assert.equal(line.grpc_status, 0);
});
