// The metrics and access log a finished connection produces, as a scraper and a log reader
// see them: Prometheus text and JSON lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { client, outboundToReviews, state } from './fixtures.js';
import type { ConnectionRecord } from '../proxy/record.js';
import { accessLogSink } from './access-log.js';
import { AgentMetrics, type AgentMetricsSources } from './metrics.js';

const outbound = (over: Partial<ConnectionRecord> = {}): ConnectionRecord => outboundToReviews({ startedAt: new Date(), durationMs: 5, ...over });

function sources(over: Partial<AgentMetricsSources> = {}): AgentMetricsSources {
  return { enrolledPods: () => 0, controllerConnected: () => false, certificates: () => [], activeConnections: () => 0, ...over };
}

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines };
}

/** The value of one sample line: `name{labels} value`, all given labels matching. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

const count = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`)).length;

test('metrics_closed_and_bytes_per_record_with_istio_labels', async () => {
  const m = new AgentMetrics(sources());
  const { logger } = capture();
  const sink = accessLogSink(logger, () => state, m);
  sink(outbound());
  sink(outbound({ bytesSent: 1, bytesReceived: 2 }));
  const text = await m.registry.metrics();
  const labels = {
    reporter: 'source',
    source_workload: 'sleep',
    source_canonical_revision: 'v1',
    source_workload_namespace: 'apps',
    source_principal: 'spiffe://cluster.local/ns/apps/sa/sleep',
    destination_workload: 'reviews',
    destination_canonical_revision: 'v2',
    destination_principal: 'spiffe://cluster.local/ns/shop/sa/reviews',
    destination_app: 'reviews',
    destination_service: 'reviews.shop.svc.cluster.local',
    destination_service_name: 'reviews',
    destination_service_namespace: 'shop',
    request_protocol: 'tcp',
    response_flags: '-',
    connection_security_policy: 'mutual_tls',
  };
  assert.equal(sample(text, 'istio_tcp_connections_closed_total', labels), 2, 'one closed per record');
  // Istio: received = request bytes (client -> server), sent = response bytes.
  assert.equal(sample(text, 'istio_tcp_received_bytes_total', labels), 101);
  assert.equal(sample(text, 'istio_tcp_sent_bytes_total', labels), 2050);
  assert.equal(count(text, 'istio_tcp_connections_closed_total'), 1, 'same labels, one series');
  assert.equal(count(text, 'istio_tcp_connections_opened_total'), 0, 'the sink does not count opens');
  assert.match(text, /# HELP istio_tcp_connections_closed_total This is a COUNTER incremented for every closed connection\./);
});

test('metrics_failed_connection_gets_its_own_series', async () => {
  const m = new AgentMetrics(sources());
  const sink = accessLogSink(capture().logger, () => state, m);
  sink(outbound());
  sink(outbound({ plan: 'passthrough', upstream: { ip: '10.244.2.7', port: 8080 }, mtls: false, bytesSent: 0, bytesReceived: 0, error: 'passthrough to 10.244.2.7:8080 failed: ECONNREFUSED' }));
  const text = await m.registry.metrics();
  assert.equal(sample(text, 'istio_tcp_connections_closed_total', { response_flags: 'UF', connection_security_policy: 'none' }), 1);
  assert.equal(sample(text, 'istio_tcp_connections_closed_total', { response_flags: '-', connection_security_policy: 'mutual_tls' }), 1);
  assert.equal(count(text, 'istio_tcp_connections_closed_total'), 2);
});

test('metrics_connection_opened_counts_opens', async () => {
  const m = new AgentMetrics(sources());
  m.connectionOpened(outbound(), state);
  assert.equal(sample(await m.registry.metrics(), 'istio_tcp_connections_opened_total', { destination_workload: 'reviews' }), 1);
});

test('access_log_one_line_per_record_with_identities', () => {
  const { logger, lines } = capture();
  const sink = accessLogSink(logger, () => state, new AgentMetrics(sources()));
  sink(outbound());
  sink(outbound({ direction: 'inbound-hbone', reporter: 'destination', plan: 'accept', via: undefined, service: undefined, upstream: { ip: '10.244.2.7', port: 8080 } }));
  assert.equal(lines.length, 2);
  for (const l of lines) {
    assert.equal(l['msg'], 'connection');
    assert.equal(l['level'], 30);
    assert.equal(l['src.identity'], 'spiffe://cluster.local/ns/apps/sa/sleep');
    assert.equal(l['dst.identity'], 'spiffe://cluster.local/ns/shop/sa/reviews');
    assert.equal(l['dst.service'], 'reviews.shop.svc.cluster.local');
  }
  assert.equal(lines[0]!['reporter'], 'source');
  assert.equal(lines[0]!['dst.hbone_addr'], '10.244.2.7:15008');
  assert.equal(lines[1]!['reporter'], 'destination');
  assert.equal(lines[1]!['dst.addr'], '10.244.2.7:8080');
  assert.equal(lines[1]!['dst.hbone_addr'], undefined);
});

test('access_log_without_metrics_still_logs', () => {
  const { logger, lines } = capture();
  accessLogSink(logger, () => state)(outbound());
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!['bytes_sent'], 100);
  assert.equal(lines[0]!['bytes_recv'], 2048);
});

test('metrics_agent_health_from_sources_and_methods', async () => {
  const notAfter = new Date(Date.now() + 3600_000);
  let connected = false;
  const m = new AgentMetrics(
    sources({
      enrolledPods: () => 3,
      controllerConnected: () => connected,
      certificates: () => [{ identity: client.identity, notAfter }],
      activeConnections: () => 7,
    }),
  );
  m.configUpdate(0);
  m.configUpdate(0);
  m.configUpdate(2);
  m.captureRepair();
  m.enrolmentFailure('netns');
  let text = await m.registry.metrics();
  assert.equal(sample(text, 'ambient_agent_enrolled_pods', {}), 3);
  assert.equal(sample(text, 'ambient_agent_controller_connected', {}), 0);
  assert.equal(sample(text, 'ambient_agent_active_connections', {}), 7);
  assert.equal(sample(text, 'ambient_agent_config_updates_total', { result: 'applied' }), 2);
  assert.equal(sample(text, 'ambient_agent_config_updates_total', { result: 'rejected' }), 1);
  assert.equal(sample(text, 'ambient_agent_config_rejected_resources_total', {}), 2);
  assert.equal(sample(text, 'ambient_agent_capture_repairs_total', {}), 1);
  assert.equal(sample(text, 'ambient_agent_enrolment_failures_total', { reason: 'netns' }), 1);
  const expiry = sample(text, 'ambient_agent_certificate_expiry_seconds', { identity: client.identity })!;
  assert.ok(expiry > 3590 && expiry <= 3600, `expiry ${expiry}`);
  // Process metrics are there, unprefixed.
  assert.ok(sample(text, 'process_resident_memory_bytes', {})! > 0);
  assert.match(text, /^process_cpu_seconds_total /m);

  connected = true;
  text = await m.registry.metrics();
  assert.equal(sample(text, 'ambient_agent_controller_connected', {}), 1);
});

test('metrics_dropped_certificate_disappears', async () => {
  let certs = [{ identity: 'spiffe://cluster.local/ns/a/sa/one', notAfter: new Date(Date.now() + 1000_000) }];
  const m = new AgentMetrics(sources({ certificates: () => certs }));
  assert.equal(count(await m.registry.metrics(), 'ambient_agent_certificate_expiry_seconds'), 1);
  certs = [];
  assert.equal(count(await m.registry.metrics(), 'ambient_agent_certificate_expiry_seconds'), 0);
});

test('metrics_registries_are_independent', async () => {
  const a = new AgentMetrics(sources());
  const b = new AgentMetrics(sources());
  a.connectionClosed(outbound(), state);
  assert.equal(count(await a.registry.metrics(), 'istio_tcp_connections_closed_total'), 1);
  assert.equal(count(await b.registry.metrics(), 'istio_tcp_connections_closed_total'), 0);
});
