import { test } from 'node:test';
import assert from 'node:assert/strict';
import { responseFlags } from '../../node-agent/observe/labels.js';
import { endpointFields, recordError, tcpRecordStart } from './tcp-telemetry.js';
import type { TunnelInfo } from '../listen/http-front.js';
import type { ConnectionRecord } from '../../node-agent/proxy/record.js';

const peer = { trustDomain: 'cluster.local', namespace: 'app', serviceAccount: 'frontend' };
const info = (over: Partial<TunnelInfo['request']> = {}): TunnelInfo =>
  ({
    request: { peer, target: { host: '10.96.0.14', port: 80 }, baggage: {}, remote: { host: '10.244.1.5', port: 40000 }, ...over },
    target: { address: { host: '10.96.0.14', port: 80 }, service: 'shop/echo.shop.svc.cluster.local', port: 80 },
  }) as TunnelInfo;
const frontend = { uid: 'uid-frontend', identity: 'spiffe://cluster.local/ns/app/sa/frontend' };
const byIp = (m: Record<string, { uid: string; identity: string }>) => ({ workloadByIp: (ip: string) => m[ip] as never });

test('tcp_record_names_the_waypoint_as_reporter_over_mtls', () => {
  const r = tcpRecordStart(info(), byIp({}));
  assert.equal(r.reporter, 'waypoint');
  assert.equal(r.direction, 'inbound-hbone');
  assert.equal(r.mtls, true);
  assert.equal(r.service, 'shop/echo.shop.svc.cluster.local');
  assert.deepEqual(r.originalDst, { ip: '10.96.0.14', port: 80 });
});

test('tcp_record_source_workload_only_when_its_identity_is_the_tunnel_peer', () => {
  assert.equal(tcpRecordStart(info(), byIp({ '10.244.1.5': frontend })).sourceWorkload, 'uid-frontend');
  assert.equal(tcpRecordStart(info(), byIp({ '10.244.1.5': { uid: 'uid-other', identity: 'spiffe://cluster.local/ns/x/sa/y' } })).sourceWorkload, undefined);
});

test('tcp_record_source_is_the_forwarded_client_when_given', () => {
  const r = tcpRecordStart(info({ forwardedFor: { host: '10.244.9.9', port: 1 } }), byIp({ '10.244.9.9': frontend }));
  assert.deepEqual(r.client, { ip: '10.244.9.9', port: 1 });
  assert.equal(r.sourceWorkload, 'uid-frontend');
});

test('endpoint_fields_take_the_mesh_identity_and_the_workload', () => {
  const f = endpointFields({ ip: '10.244.2.7', port: 8080, mesh: true, identity: 'spiffe://cluster.local/ns/shop/sa/api' }, byIp({ '10.244.2.7': { uid: 'uid-api', identity: 'spiffe://cluster.local/ns/shop/sa/api' } }));
  assert.deepEqual(f, { upstream: { ip: '10.244.2.7', port: 8080 }, destinationWorkload: 'uid-api', destinationIdentity: 'spiffe://cluster.local/ns/shop/sa/api' });
});

test('endpoint_outside_the_mesh_has_no_identity_unless_its_workload_has_one', () => {
  assert.deepEqual(endpointFields({ ip: '192.0.2.1', port: 80, mesh: false, identity: '' }, byIp({})), { upstream: { ip: '192.0.2.1', port: 80 } });
});

const flagOf = (error: string) => responseFlags({ direction: 'inbound-hbone', reporter: 'waypoint', plan: 'accept', mtls: true, bytesSent: 0, bytesReceived: 0, startedAt: new Date(0), durationMs: 0, error: recordError(error, '10.0.0.1:80') } as ConnectionRecord);

test('connect_failure_reads_as_upstream_connect_failure', () => {
  assert.equal(flagOf('AMB_WAYPOINT_UPSTREAM_CONNECT: endpoint 10.0.0.1:80 (not in the mesh, plain TCP): ECONNREFUSED'), 'UF');
});

test('broken_client_side_reads_as_downstream_termination', () => {
  assert.equal(flagOf('downstream reset'), 'DC');
  assert.equal(flagOf('downstream: ECONNRESET'), 'DC');
});

test('broken_endpoint_side_reads_as_upstream_termination', () => {
  assert.equal(flagOf('upstream reset'), 'UC');
  assert.equal(flagOf('upstream: EPIPE'), 'UC');
});
