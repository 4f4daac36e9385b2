// Unit tests of the metric labels and access-log fields: one behaviour per test, named after it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endpoint, service, stateOf, tcpPort } from '../proxy/fixtures.js';
import type { ConnectionRecord } from '../proxy/record.js';
import { client, connectionRecord, outboundToReviews as outboundToReviewsRecord, reviews, server, state } from './fixtures.js';
import { accessLogFields, AUTHZ_LABELS, authzDecisionLabels, RESPONSE_FLAGS, responseFlags, TCP_LABELS, tcpMetricLabels } from './labels.js';

const outboundToReviews = outboundToReviewsRecord();
const record = connectionRecord;

test('labels_outbound_hbone_to_service', () => {
  assert.deepEqual(tcpMetricLabels(outboundToReviews, state), {
    reporter: 'source',
    source_workload: 'sleep',
    source_canonical_service: 'sleep',
    source_canonical_revision: 'v1',
    source_workload_namespace: 'apps',
    source_principal: 'spiffe://cluster.local/ns/apps/sa/sleep',
    source_app: 'sleep',
    destination_workload: 'reviews',
    destination_canonical_service: 'reviews',
    destination_canonical_revision: 'v2',
    destination_workload_namespace: 'shop',
    destination_principal: 'spiffe://cluster.local/ns/shop/sa/reviews',
    destination_app: 'reviews',
    destination_service: 'reviews.shop.svc.cluster.local',
    destination_service_name: 'reviews',
    destination_service_namespace: 'shop',
    request_protocol: 'tcp',
    response_flags: '-',
    connection_security_policy: 'mutual_tls',
  });
});

test('labels_have_exactly_istios_tcp_label_set', () => {
  assert.deepEqual(Object.keys(tcpMetricLabels(outboundToReviews, state)).sort(), [...TCP_LABELS].sort());
});

test('labels_inbound_hbone_source_from_peer_cert', () => {
  // The destination side: the source is who the certificate proved, the workload found by
  // the forwarded client address; the record names no Service, the pod's only one is used.
  const r = record({
    direction: 'inbound-hbone',
    reporter: 'destination',
    plan: 'accept',
    sourceWorkload: client.uid,
    sourceIdentity: client.identity,
    destinationWorkload: server.uid,
    destinationIdentity: server.identity,
    originalDst: { ip: '10.244.2.7', port: 8080 },
    upstream: { ip: '10.244.2.7', port: 8080 },
    mtls: true,
  });
  const l = tcpMetricLabels(r, state);
  assert.equal(l.reporter, 'destination');
  assert.equal(l.source_principal, 'spiffe://cluster.local/ns/apps/sa/sleep');
  assert.equal(l.source_workload, 'sleep');
  assert.equal(l.source_workload_namespace, 'apps');
  assert.equal(l.destination_workload, 'reviews');
  assert.equal(l.destination_service, 'reviews.shop.svc.cluster.local');
  assert.equal(l.connection_security_policy, 'mutual_tls');
  assert.equal(l.response_flags, '-');
});

test('labels_inbound_hbone_unknown_peer_workload_keeps_principal', () => {
  // A peer whose certificate is valid but whose address matches no workload (a waypoint
  // in another cluster, say): the principal is still known, the workload is not.
  const r = record({ direction: 'inbound-hbone', reporter: 'destination', plan: 'accept', sourceIdentity: 'spiffe://cluster.local/ns/x/sa/y', destinationWorkload: server.uid, mtls: true });
  const l = tcpMetricLabels(r, state);
  assert.equal(l.source_principal, 'spiffe://cluster.local/ns/x/sa/y');
  assert.equal(l.source_workload, 'unknown');
  assert.equal(l.source_app, 'unknown');
});

test('labels_inbound_guesses_service_by_target_port_when_pod_backs_several', () => {
  const admin = service('reviews-admin', { namespace: 'shop', vips: ['10.96.0.11'], ports: [tcpPort(80, 9090)], endpoints: [endpoint(server)] });
  const s = stateOf([client, server, reviews, admin]);
  const to = (port: number) =>
    tcpMetricLabels(record({ direction: 'inbound-hbone', reporter: 'destination', plan: 'accept', destinationWorkload: server.uid, originalDst: { ip: '10.244.2.7', port }, mtls: true }), s);
  assert.equal(to(9090).destination_service, 'reviews-admin.shop.svc.cluster.local');
  assert.equal(to(8080).destination_service, 'reviews.shop.svc.cluster.local');
  assert.equal(to(7000).destination_service, 'unknown', 'ambiguous: neither Service targets 7000');
});

test('labels_passthrough_to_unknown_destination', () => {
  const r = record({
    plan: 'passthrough',
    reason: 'unknown-destination',
    sourceWorkload: client.uid,
    sourceIdentity: client.identity,
    originalDst: { ip: '93.184.216.34', port: 443 },
    upstream: { ip: '93.184.216.34', port: 443 },
    bytesSent: 10,
    bytesReceived: 20,
  });
  const l = tcpMetricLabels(r, state);
  assert.equal(l.source_workload, 'sleep');
  for (const k of TCP_LABELS.filter((k) => k.startsWith('destination_'))) assert.equal(l[k], 'unknown', k);
  assert.equal(l.connection_security_policy, 'none');
  assert.equal(l.response_flags, '-');
});

test('labels_rejected_plaintext_under_strict', () => {
  const r = record({
    direction: 'inbound-plaintext',
    reporter: 'destination',
    plan: 'reject',
    reason: 'plaintext-strict',
    sourceWorkload: client.uid,
    destinationWorkload: server.uid,
    destinationIdentity: server.identity,
    error: 'plaintext connection to 10.244.2.7:8080 refused: workload shop/reviews-v2-abc requires mutual TLS',
  });
  const l = tcpMetricLabels(r, state);
  assert.equal(l.response_flags, 'DENY');
  assert.equal(l.connection_security_policy, 'none');
  assert.equal(l.source_principal, 'unknown', 'plaintext proves no identity');
  assert.equal(l.source_workload, 'sleep', 'the workload is still known by its address');
});

test('labels_upstream_connect_failure_flags_uf', () => {
  const cases: Array<[Partial<ConnectionRecord>, string]> = [
    [{ plan: 'passthrough', error: 'passthrough to 10.244.3.3:80 failed: connect ECONNREFUSED 10.244.3.3:80' }, 'outbound passthrough'],
    [{ plan: 'hbone', error: 'hbone to 10.244.2.7:15008: cannot open a stream to 10.244.2.7:15008: ECONNREFUSED' }, 'outbound tunnel'],
    [
      { plan: 'hbone', error: 'hbone to 10.244.2.7:15008: tunnel to 10.244.2.7:8080 via 10.244.2.7:15008: the destination could not reach 10.244.2.7:8080 (503); is the app listening on that port?' },
      'destination answered 503',
    ],
    [{ direction: 'inbound-plaintext', reporter: 'destination', plan: 'accept', error: 'app 10.244.2.7:8080 unreachable: ECONNREFUSED' }, 'inbound plaintext'],
    [{ direction: 'inbound-hbone', reporter: 'destination', plan: 'accept', error: 'upstream 10.244.2.7:8080 unreachable: connect ECONNREFUSED' }, 'inbound hbone'],
  ];
  for (const [over, what] of cases) assert.equal(tcpMetricLabels(record(over), state).response_flags, 'UF', what);
});

test('flags_outbound_tunnel_denied_by_destination_is_deny', () => {
  const error = "hbone to 10.244.2.7:15008: tunnel to 10.244.2.7:8080 via 10.244.2.7:15008 denied by the destination's authorization policy (401)";
  assert.equal(responseFlags(record({ plan: 'hbone', error })), 'DENY');
});

test('flags_planner_rejects_map_to_fixed_flags', () => {
  const flag = (reason: string) => responseFlags(record({ plan: 'reject', reason, error: 'x' }));
  assert.equal(flag('no-healthy-endpoints'), 'UH');
  assert.equal(flag('waypoint-unavailable'), 'UH');
  assert.equal(flag('workload-unknown'), 'UH');
  assert.equal(flag('unknown-service-port'), 'NR');
  assert.equal(flag('agent-port'), 'NR');
  assert.equal(flag('target-not-local'), 'NR');
  assert.equal(flag('source-not-local'), 'NR');
  assert.equal(flag('plaintext-strict'), 'DENY');
  assert.equal(flag('policy-denied'), 'DENY', 'a future authorization reason');
  assert.equal(flag('something-new'), 'NR');
});

test('flags_inbound_hbone_bad_request_is_dpe_and_early_reset_is_dc', () => {
  const inbound = { direction: 'inbound-hbone' as const, reporter: 'destination' as const, plan: 'reject', mtls: true };
  assert.equal(responseFlags(record({ ...inbound, error: 'method GET is not CONNECT' })), 'DPE');
  assert.equal(responseFlags(record({ ...inbound, error: 'stream reset by peer before the upstream connected' })), 'DC');
});

test('flags_termination_side_depends_on_direction', () => {
  assert.equal(responseFlags(record({ plan: 'passthrough', error: 'client: ECONNRESET' })), 'DC');
  assert.equal(responseFlags(record({ plan: 'passthrough', error: 'upstream: ECONNRESET' })), 'UC');
  assert.equal(responseFlags(record({ plan: 'hbone', error: 'tcp: ECONNRESET' })), 'DC', 'outbound: the socket is the app');
  assert.equal(responseFlags(record({ plan: 'hbone', error: 'stream reset (HTTP/2 error 8)' })), 'UC', 'outbound: the stream goes upstream');
  const inbound = { direction: 'inbound-hbone' as const, reporter: 'destination' as const, plan: 'accept' };
  assert.equal(responseFlags(record({ ...inbound, error: 'tcp: ECONNRESET' })), 'UC', 'inbound: the socket is the app');
  assert.equal(responseFlags(record({ ...inbound, error: 'stream reset (HTTP/2 error 8)' })), 'DC', 'inbound: the stream is the peer');
  assert.equal(responseFlags(record({ plan: 'none', error: 'client closed before the upstream connected' })), 'DC');
  assert.equal(responseFlags(record({ plan: 'none', error: 'planning failed: boom' })), 'NR');
});

test('flags_are_a_small_fixed_set', () => {
  assert.deepEqual(Object.values(RESPONSE_FLAGS).sort(), ['-', 'DC', 'DENY', 'DPE', 'NR', 'UC', 'UF', 'UH']);
});

test('labels_service_gone_from_state_still_named_by_key', () => {
  const l = tcpMetricLabels(outboundToReviews, stateOf([client, server]));
  assert.equal(l.destination_service, 'reviews.shop.svc.cluster.local');
  assert.equal(l.destination_service_name, 'reviews');
  assert.equal(l.destination_service_namespace, 'shop');
});

test('labels_missing_workloads_are_unknown', () => {
  const l = tcpMetricLabels(outboundToReviews, stateOf([]));
  assert.equal(l.source_workload, 'unknown');
  assert.equal(l.destination_canonical_revision, 'unknown');
  assert.equal(l.source_principal, 'spiffe://cluster.local/ns/apps/sa/sleep', 'identities come from the record');
});

test('access_log_outbound_hbone_fields', () => {
  assert.deepEqual(accessLogFields(outboundToReviews, state), {
    'src.addr': '10.244.1.5:40000',
    'src.workload': 'sleep',
    'src.namespace': 'apps',
    'src.identity': 'spiffe://cluster.local/ns/apps/sa/sleep',
    'dst.addr': '10.96.0.10:9080',
    'dst.hbone_addr': '10.244.2.7:15008',
    'dst.service': 'reviews.shop.svc.cluster.local',
    'dst.workload': 'reviews-v2-abc',
    'dst.namespace': 'shop',
    'dst.identity': 'spiffe://cluster.local/ns/shop/sa/reviews',
    direction: 'outbound',
    reporter: 'source',
    plan: 'hbone',
    via: 'endpoint',
    response_flags: '-',
    bytes_sent: 100,
    bytes_recv: 2048,
    duration_ms: 12,
    mtls: true,
  });
});

test('access_log_omits_unknowns_rather_than_writing_unknown', () => {
  const r = record({ plan: 'passthrough', reason: 'unknown-destination', client: { ip: 'fd00::5', port: 1234 }, originalDst: { ip: '1.1.1.1', port: 53 }, upstream: { ip: '1.1.1.1', port: 53 }, error: 'upstream: ECONNRESET' });
  const f = accessLogFields(r, state);
  assert.deepEqual(f, {
    'src.addr': '[fd00::5]:1234',
    'dst.addr': '1.1.1.1:53',
    direction: 'outbound',
    reporter: 'source',
    plan: 'passthrough',
    reason: 'unknown-destination',
    response_flags: 'UC',
    bytes_sent: 0,
    bytes_recv: 0,
    duration_ms: 12,
    mtls: false,
    error: 'upstream: ECONNRESET',
  });
  assert.ok(!Object.values(f).includes('unknown'));
});

test('access_log_passthrough_via_vip_shows_original_address', () => {
  const r = record({ plan: 'passthrough', reason: 'not-enrolled', service: reviews.key, originalDst: { ip: '10.96.0.10', port: 9080 }, upstream: { ip: '10.244.2.7', port: 8080 } });
  const f = accessLogFields(r, state);
  assert.equal(f['dst.addr'], '10.244.2.7:8080');
  assert.equal(f['dst.original_addr'], '10.96.0.10:9080');
  assert.equal(f['dst.hbone_addr'], undefined);
});

test('flags_authz_denied_and_revoked_connections_are_deny', () => {
  const inbound = { direction: 'inbound-hbone' as const, reporter: 'destination' as const, mtls: true };
  assert.equal(responseFlags(record({ ...inbound, plan: 'reject', reason: 'authz-denied', error: 'denied: no ALLOW rule matched' })), 'DENY');
  assert.equal(responseFlags(record({ ...inbound, plan: 'accept', error: 'connection closed: now denied by DENY policy shop/x rules[0]' })), 'DENY');
  const withReason = "hbone to 10.244.2.7:15008: tunnel to 10.244.2.7:8080 via 10.244.2.7:15008 denied by the destination's authorization policy (401): denied by DENY policy shop/x rules[0]";
  assert.equal(responseFlags(record({ plan: 'hbone', error: withReason })), 'DENY');
});

test('access_log_carries_the_authorization_decision', () => {
  const r = record({
    direction: 'inbound-hbone',
    reporter: 'destination',
    plan: 'accept',
    destinationWorkload: server.uid,
    authz: { decision: 'ALLOW', policy: 'shop/allow-sleep', rule: 1, dryRun: { decision: 'DENY', policy: 'shop/deny-all', rule: 0 } },
  });
  const f = accessLogFields(r, state);
  assert.equal(f['authz.decision'], 'ALLOW');
  assert.equal(f['authz.policy'], 'shop/allow-sleep');
  assert.equal(f['authz.rule'], 1);
  assert.equal(f['authz.dry_run_decision'], 'DENY');
  assert.equal(f['authz.dry_run_policy'], 'shop/deny-all');
  assert.equal(f['authz.dry_run_rule'], 0);
});

test('access_log_leaves_authz_out_when_nothing_was_decided', () => {
  const f = accessLogFields(outboundToReviews, state);
  assert.ok(!Object.keys(f).some((k) => k.startsWith('authz.')));
});

test('authz_metric_has_exactly_the_documented_labels', () => {
  assert.deepEqual([...AUTHZ_LABELS], ['reporter', 'destination_workload', 'destination_workload_namespace', 'policy', 'action', 'decision', 'dry_run']);
});

test('authz_metric_no_policy_decided_is_none_none', () => {
  const sets = authzDecisionLabels({ kind: 'connect', destination: { canonicalName: 'reviews', namespace: 'shop' }, enforced: { decision: 'DENY' }, audits: [], dryRunAudits: [] });
  assert.deepEqual(sets, [
    { reporter: 'destination', destination_workload: 'reviews', destination_workload_namespace: 'shop', policy: 'none', action: 'none', decision: 'DENY', dry_run: 'false' },
  ]);
});

test('authz_metric_counts_dry_run_and_audit_beside_the_enforced_decision', () => {
  const sets = authzDecisionLabels({
    kind: 'connect',
    destination: { canonicalName: 'reviews', namespace: 'shop' },
    enforced: { decision: 'ALLOW', policy: 'shop/allow', action: 'ALLOW' },
    dryRun: { decision: 'DENY', policy: 'shop/deny-dry', action: 'DENY' },
    audits: ['shop/audit'],
    dryRunAudits: ['shop/audit', 'shop/audit-dry'],
  });
  assert.deepEqual(
    sets.map((l) => `${l.policy} ${l.action} ${l.decision} ${l.dry_run}`),
    ['shop/allow ALLOW ALLOW false', 'shop/deny-dry DENY DENY true', 'shop/audit AUDIT ALLOW false', 'shop/audit-dry AUDIT DENY true'],
  );
});

test('authz_metric_revocation_counts_the_new_enforced_decision_only', () => {
  const sets = authzDecisionLabels({
    kind: 'revoke',
    destination: { canonicalName: 'reviews', namespace: 'shop' },
    enforced: { decision: 'DENY', policy: 'shop/deny', action: 'DENY' },
    dryRun: { decision: 'DENY' },
    audits: ['shop/audit'],
    dryRunAudits: [],
  });
  assert.equal(sets.length, 1);
  assert.equal(sets[0]!.policy, 'shop/deny');
});

test('access_log_carries_the_connect_trace_id', () => {
  const f = accessLogFields(outboundToReviewsRecord({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }), state);
  assert.equal(f['trace_id'], '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal('trace_id' in accessLogFields(outboundToReviewsRecord(), state), false);
});
