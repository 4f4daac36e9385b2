import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EdgeSummary } from './edge-summary.js';
import { countedReporter, parseTelemetryReport, ReportShapeError, statusClass, type Flow, type TelemetryReport } from './telemetry-wire.js';

test('reporter_rule_counts_the_waypoint_always', () => {
  assert.equal(countedReporter({ reporter: 'waypoint', mtls: true, viaWaypoint: true }), true);
});

test('reporter_rule_counts_the_destination_unless_a_waypoint_sent_it', () => {
  assert.equal(countedReporter({ reporter: 'destination', mtls: true, viaWaypoint: false }), true);
  assert.equal(countedReporter({ reporter: 'destination', mtls: false, viaWaypoint: false }), true);
  assert.equal(countedReporter({ reporter: 'destination', mtls: true, viaWaypoint: true }), false);
});

test('reporter_rule_counts_the_source_only_when_no_mesh_proxy_ends_the_connection', () => {
  assert.equal(countedReporter({ reporter: 'source', mtls: true, viaWaypoint: false }), false);
  assert.equal(countedReporter({ reporter: 'source', mtls: true, viaWaypoint: true }), false);
  assert.equal(countedReporter({ reporter: 'source', mtls: false, viaWaypoint: false }), true);
});

test('status_class_of_http_statuses', () => {
  assert.deepEqual([200, 302, 404, 503, 0].map((s) => statusClass(s)), ['2xx', '3xx', '4xx', '5xx', 'none']);
});

test('a_grpc_failure_in_a_200_counts_as_5xx_for_server_codes_and_4xx_otherwise', () => {
  assert.equal(statusClass(200, 14), '5xx'); // UNAVAILABLE
  assert.equal(statusClass(200, 7), '4xx'); // PERMISSION_DENIED
  assert.equal(statusClass(200, 0), '2xx');
});

function report(): TelemetryReport {
  const s = new EdgeSummary(10);
  const k = { reporter: 'destination' as const, source: { workload: 'sleep', namespace: 'apps' }, destination: { workload: 'reviews', namespace: 'shop', identity: 'spiffe://cluster.local/ns/shop/sa/reviews' }, port: 8080, protocol: 'tcp' as const, mtls: true, viaWaypoint: false };
  s.connectionClosed(k, 1, 2);
  s.decision(k, 'denied', 'shop/deny');
  const flow: Flow = { time: 1, reporter: 'destination', source: { workload: 'sleep' }, destination: { workload: 'reviews', pod: 'reviews-1' }, port: 8080, protocol: 'tcp', mtls: true, viaWaypoint: false, verdict: 'denied', policy: 'shop/deny', flags: 'DENY', durationMs: 3, bytesSent: 0, bytesReceived: 0 };
  return { edges: s.take().edges, overflowEdges: 0, flows: [flow], droppedFlows: 0 };
}

test('a_report_survives_json_and_parsing_unchanged', () => {
  const r = report();
  assert.deepEqual(parseTelemetryReport(JSON.stringify(r)), r);
});

test('a_waypoint_name_in_a_report_is_dropped_it_is_the_controllers_to_set', () => {
  const r = report() as unknown as { edges: Array<Record<string, unknown>> };
  r.edges[0]!['waypoint'] = 'shop/evil';
  assert.equal(parseTelemetryReport(JSON.stringify(r)).edges[0]!.waypoint, undefined);
});

test('a_malformed_report_names_the_field_and_value', () => {
  const bad = (mutate: (r: Record<string, any>) => void, re: RegExp) => {
    const r = JSON.parse(JSON.stringify(report())) as Record<string, any>;
    mutate(r);
    assert.throws(() => parseTelemetryReport(JSON.stringify(r)), (err: Error) => err instanceof ReportShapeError && re.test(err.message));
  };
  bad((r) => (r.edges[0].reporter = 'nobody'), /edges\[0\]\.reporter must be one of source, destination, waypoint, got "nobody"/);
  bad((r) => (r.edges[0].bytesSent = -1), /edges\[0\]\.bytesSent must be a non-negative integer, got -1/);
  bad((r) => (r.edges[0].latency = [1]), /edges\[0\]\.latency must be an array of 20 counts/);
  bad((r) => (r.edges[0].port = 70000), /edges\[0\]\.port must be a port/);
  bad((r) => (r.flows[0].verdict = 'maybe'), /flows\[0\]\.verdict must be one of allowed, denied, would-deny/);
  bad((r) => (r.flows[0].source.workload = 'x'.repeat(600)), /flows\[0\]\.source\.workload must be a string of 1 to 512 characters/);
  bad((r) => (r.overflowEdges = 'many'), /overflowEdges must be a non-negative integer/);
});

test('a_report_over_the_bounds_is_refused', () => {
  const r = report();
  const limits = { maxEdges: 1, maxFlows: 0, maxPoliciesPerEdge: 16, maxNameChars: 512 };
  assert.throws(() => parseTelemetryReport(JSON.stringify(r), limits), /flows must be an array of at most 0 flows, got 1/);
});

test('text_that_is_not_json_is_refused_with_the_expected_shape', () => {
  assert.throws(() => parseTelemetryReport('{'), /the body must be JSON/);
});

const FP = Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').toUpperCase()).join(':');
const cert = (identity: string, serial = '1a2b') => ({ identity, serial, notBefore: 1_000, notAfter: 2_000, issuer: FP });

test('a_reports_certificates_survive_json_and_parsing_unchanged', () => {
  const r: TelemetryReport = { ...report(), certificates: [cert('spiffe://cluster.local/ns/shop/sa/reviews')] };
  assert.deepEqual(parseTelemetryReport(JSON.stringify(r)), r);
  assert.equal('certificates' in parseTelemetryReport(JSON.stringify(report())), false, 'absent stays absent: unchanged since the last report');
});

test('a_malformed_certificate_names_the_field_and_value', () => {
  const bad = (c: Record<string, unknown>, re: RegExp) =>
    assert.throws(() => parseTelemetryReport(JSON.stringify({ ...report(), certificates: [c] })), (err: Error) => err instanceof ReportShapeError && re.test(err.message));
  const ok = cert('spiffe://cluster.local/ns/shop/sa/reviews');
  bad({ ...ok, identity: 'reviews' }, /certificates\[0\]\.identity must be a SPIFFE ID/);
  bad({ ...ok, serial: 'XYZ' }, /certificates\[0\]\.serial must be lowercase hex/);
  bad({ ...ok, notAfter: 500 }, /certificates\[0\]\.notAfter must be at or after notBefore \(1000\), got 500/);
  bad({ ...ok, issuer: 'abc' }, /certificates\[0\]\.issuer must be a SHA-256 fingerprint/);
  bad({ ...ok, key: undefined, notBefore: -1 }, /certificates\[0\]\.notBefore must be a non-negative integer/);
});

test('certificates_are_bounded_and_listed_once_per_identity', () => {
  const id = 'spiffe://cluster.local/ns/shop/sa/reviews';
  const limits = { maxEdges: 10, maxFlows: 10, maxPoliciesPerEdge: 16, maxNameChars: 512, maxCertificates: 1 };
  assert.throws(() => parseTelemetryReport(JSON.stringify({ ...report(), certificates: [cert(id), cert(`${id}2`)] }), limits), /certificates must be an array of at most 1 certificates, got 2/);
  assert.throws(() => parseTelemetryReport(JSON.stringify({ ...report(), certificates: [cert(id, '1'), cert(id, '2')] })), /certificates\[1\]\.identity must be listed once per report/);
});

test('a_certificate_carries_no_key_whatever_the_reporter_sends', () => {
  const c = { ...cert('spiffe://cluster.local/ns/shop/sa/reviews'), key: '-----BEGIN PRIVATE KEY-----', pem: '-----BEGIN CERTIFICATE-----' };
  assert.deepEqual(Object.keys(parseTelemetryReport(JSON.stringify({ ...report(), certificates: [c] })).certificates![0]!).sort(), ['identity', 'issuer', 'notAfter', 'notBefore', 'serial']);
});
