// The waypoint's L7 authorization decision: which targetRefs policies apply (Istio's
// "Targeting policies" for waypoints), Istio's DENY -> ALLOW order, dry run and AUDIT
// recorded, and the 403 / gRPC answers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Policy, PolicyRule } from '../../core/config/model.js';
import {
  AUTHZ_DENIED_BODY,
  AUTHZ_POLICY_HEADER,
  AUTHZ_REASON_HEADER,
  authzRequestOf,
  decideAtWaypoint,
  decideTcpAtWaypoint,
  denialReply,
  forwardedFor,
  grpcMessage,
  headerText,
  isGrpcRequest,
  policiesAtWaypoint,
  serviceRefOfKey,
  type AuthzAttributes,
} from './authz-decide.js';

const GW = { namespace: 'shop', name: 'waypoint' };
const WEB = { namespace: 'shop', name: 'web' };
const GWREF = { group: 'gateway.networking.k8s.io', kind: 'Gateway' as const, name: 'waypoint' };
const SVCREF = (name: string) => ({ group: '', kind: 'Service' as const, name });

function rule(r: Partial<PolicyRule> = {}): PolicyRule {
  return { from: r.from ?? [], to: r.to ?? [], when: r.when ?? [] };
}
function policy(name: string, over: Partial<Policy> & { rules?: PolicyRule[] } = {}): Policy {
  const ns = over.namespace ?? 'shop';
  return { key: `${ns}/${name}`, name, namespace: ns, scope: 'targets', targetRefs: [SVCREF('web')], action: 'ALLOW', rules: [rule()], ...over };
}
function attrs(over: Partial<AuthzAttributes> = {}): AuthzAttributes {
  return {
    method: 'GET',
    path: '/api/items?page=2',
    authority: 'web.shop.svc.cluster.local',
    headers: { 'user-agent': 'curl/8' },
    sourceIdentity: 'spiffe://cluster.local/ns/shop/sa/frontend',
    sourceIp: '10.244.1.7',
    destination: { ip: '10.96.0.20', port: 80 },
    service: WEB,
    ...over,
  };
}

test('waypoint_applies_policies_targeting_its_gateway_and_the_destination_service', () => {
  const ps = [
    policy('on-gw', { targetRefs: [GWREF] }),
    policy('on-web', {}),
    policy('on-api', { targetRefs: [SVCREF('api')] }),
    policy('selector', { scope: 'namespace', targetRefs: undefined }),
    policy('other-gw', { targetRefs: [{ ...GWREF, name: 'other' }] }),
  ];
  assert.deepEqual(policiesAtWaypoint(ps, GW, WEB).map((p) => p.key), ['shop/on-gw', 'shop/on-web']);
});

test('waypoint_service_policy_must_be_in_the_service_namespace', () => {
  const elsewhere = policy('on-web', { namespace: 'bank' });
  assert.deepEqual(policiesAtWaypoint([elsewhere], GW, WEB), []);
});

test('waypoint_of_another_namespace_applies_the_service_policies_of_the_service_namespace', () => {
  const gw = { namespace: 'infra', name: 'waypoint' };
  const ps = [policy('on-web', {}), policy('gw', { namespace: 'infra', targetRefs: [GWREF] }), policy('gw-shop', { targetRefs: [GWREF] })];
  assert.deepEqual(policiesAtWaypoint(ps, gw, WEB).map((p) => p.key), ['infra/gw', 'shop/on-web']);
});

test('waypoint_request_to_a_pod_gets_only_the_gateway_policies', () => {
  const ps = [policy('on-gw', { targetRefs: [GWREF] }), policy('on-web', {})];
  assert.deepEqual(policiesAtWaypoint(ps, GW, undefined).map((p) => p.key), ['shop/on-gw']);
});

test('waypoint_gateway_ref_needs_the_gateway_api_group', () => {
  assert.deepEqual(policiesAtWaypoint([policy('bad', { targetRefs: [{ group: '', kind: 'Gateway', name: 'waypoint' }] })], GW, WEB), []);
});

test('waypoint_no_policy_allows_by_default', () => {
  const o = decideAtWaypoint([], GW, attrs());
  assert.equal(o.decision, 'ALLOW');
  assert.equal(o.policy, undefined);
});

test('waypoint_deny_on_a_path_denies_that_path_only', () => {
  const ps = [policy('deny-admin', { action: 'DENY', rules: [rule({ to: [{ paths: ['/admin/*'] }] })] })];
  const denied = decideAtWaypoint(ps, GW, attrs({ path: '/admin/users' }));
  assert.equal(denied.decision, 'DENY');
  assert.equal(denied.policy, 'shop/deny-admin');
  assert.equal(denied.rule, 0);
  assert.equal(decideAtWaypoint(ps, GW, attrs({ path: '/api/items' })).decision, 'ALLOW');
});

test('waypoint_evaluates_every_l7_field_methods_hosts_headers', () => {
  const ps = [
    policy('allow', {
      rules: [rule({ to: [{ methods: ['GET'], hosts: ['web.shop.svc.cluster.local'], paths: ['/api/*'] }], when: [{ key: 'request.headers[user-agent]', values: ['curl/*'] }] })],
    }),
  ];
  assert.equal(decideAtWaypoint(ps, GW, attrs()).decision, 'ALLOW');
  assert.equal(decideAtWaypoint(ps, GW, attrs({ method: 'POST' })).decision, 'DENY');
  assert.equal(decideAtWaypoint(ps, GW, attrs({ authority: 'web.shop.svc.cluster.local:80' })).decision, 'DENY', 'the port is part of the host (Istio)');
  assert.equal(decideAtWaypoint(ps, GW, attrs({ headers: { 'user-agent': 'wget' } })).decision, 'DENY');
});

test('waypoint_deny_wins_over_allow_at_the_waypoint', () => {
  const ps = [policy('allow-all', {}), policy('deny-frontend', { action: 'DENY', rules: [rule({ from: [{ principals: ['cluster.local/ns/shop/sa/frontend'] }] })] })];
  const o = decideAtWaypoint(ps, GW, attrs());
  assert.equal(o.decision, 'DENY');
  assert.equal(o.policy, 'shop/deny-frontend');
});

test('waypoint_allow_policy_without_match_denies_with_no_single_policy', () => {
  const o = decideAtWaypoint([policy('allow-post', { rules: [rule({ to: [{ methods: ['POST'] }] })] })], GW, attrs());
  assert.equal(o.decision, 'DENY');
  assert.equal(o.policy, undefined);
  assert.match(o.message, /^no ALLOW rule matched/);
  const r = denialReply(o, false);
  assert.equal(r.headers[AUTHZ_POLICY_HEADER], undefined);
  assert.match(r.headers[AUTHZ_REASON_HEADER] ?? '', /no ALLOW rule matched/);
});

test('waypoint_dry_run_deny_is_recorded_not_enforced', () => {
  const o = decideAtWaypoint([policy('would-deny', { action: 'DENY', dryRun: true })], GW, attrs());
  assert.equal(o.decision, 'ALLOW');
  assert.equal(o.dryRun?.decision, 'DENY');
  assert.equal(o.dryRun?.policy, 'shop/would-deny');
});

test('waypoint_audit_match_is_recorded_and_decides_nothing', () => {
  const o = decideAtWaypoint([policy('audit-get', { action: 'AUDIT', rules: [rule({ to: [{ methods: ['GET'] }] })] })], GW, attrs());
  assert.equal(o.decision, 'ALLOW');
  assert.deepEqual(o.audits, [{ policy: 'shop/audit-get', rule: 0 }]);
});

test('waypoint_rejected_deny_stand_in_denies_everything', () => {
  const o = decideAtWaypoint([policy('broken', { action: 'DENY', rejected: 'spec.rules[0]: bad', rules: [rule()] })], GW, attrs());
  assert.equal(o.decision, 'DENY');
});

test('waypoint_source_ip_and_identity_reach_the_engine', () => {
  const ps = [policy('allow', { rules: [rule({ from: [{ ipBlocks: ['10.244.1.0/24'], namespaces: ['shop'] }] })] })];
  assert.equal(decideAtWaypoint(ps, GW, attrs()).decision, 'ALLOW');
  assert.equal(decideAtWaypoint(ps, GW, attrs({ sourceIp: '10.244.2.7' })).decision, 'DENY');
  const noId = attrs();
  delete noId.sourceIdentity;
  assert.equal(decideAtWaypoint(ps, GW, noId).decision, 'DENY');
});

test('waypoint_destination_port_is_the_service_port', () => {
  const ps = [policy('allow', { rules: [rule({ to: [{ ports: [80] }] })] })];
  assert.equal(decideAtWaypoint(ps, GW, attrs()).decision, 'ALLOW');
});

test('waypoint_remote_ip_ignores_x_forwarded_for', () => {
  const ps = [policy('deny-remote', { action: 'DENY', rules: [rule({ from: [{ notRemoteIpBlocks: ['10.0.0.0/8'] }] })] })];
  assert.equal(decideAtWaypoint(ps, GW, attrs({ headers: { 'x-forwarded-for': '10.1.1.1' }, sourceIp: '203.0.113.9' })).decision, 'DENY');
  assert.equal(decideAtWaypoint(ps, GW, attrs({ headers: { 'x-forwarded-for': '203.0.113.9' } })).decision, 'ALLOW');
});

test('waypoint_request_principal_and_claims_match_the_validated_jwt', () => {
  const auth = { principal: 'https://idp.example/alice', audiences: ['shop'], claims: { groups: ['admins'], iss: 'https://idp.example', sub: 'alice' } };
  const ps = [policy('jwt', { rules: [rule({ from: [{ requestPrincipals: ['https://idp.example/*'] }], when: [{ key: 'request.auth.claims[groups]', values: ['admins'] }] })] })];
  assert.equal(decideAtWaypoint(ps, GW, attrs({ auth })).decision, 'ALLOW');
  assert.equal(decideAtWaypoint(ps, GW, attrs()).decision, 'DENY', 'no JWT: requestPrincipals match nothing');
});

test('authz_request_joins_header_lists_and_lowercases_names', () => {
  const r = authzRequestOf(attrs({ headers: { 'X-Team': ['a', 'b'], gone: undefined } }));
  assert.deepEqual(r.http?.headers, { 'x-team': 'a,b' });
  assert.equal(r.http?.remoteIp, undefined);
});

test('denial_is_403_with_istio_body_and_the_deciding_policy', () => {
  const o = decideAtWaypoint([policy('deny-all', { action: 'DENY' })], GW, attrs());
  const r = denialReply(o, false);
  assert.equal(r.status, 403);
  assert.equal(r.body, AUTHZ_DENIED_BODY);
  assert.equal(r.headers[AUTHZ_POLICY_HEADER], 'shop/deny-all');
  assert.equal(r.headers[AUTHZ_REASON_HEADER], 'denied by DENY policy shop/deny-all rules[0]');
});

test('grpc_denial_is_http_200_with_grpc_status_7_and_no_body', () => {
  const o = decideAtWaypoint([policy('deny-all', { action: 'DENY' })], GW, attrs({ headers: { 'content-type': 'application/grpc' } }));
  const r = denialReply(o, true);
  assert.equal(r.status, 200);
  assert.equal(r.headers['grpc-status'], '7');
  assert.equal(r.headers['grpc-message'], 'RBAC: access denied');
  assert.equal(r.headers['content-type'], 'application/grpc');
  assert.equal(r.headers[AUTHZ_POLICY_HEADER], 'shop/deny-all');
  assert.equal(r.body, '');
});

test('grpc_requests_are_told_by_content_type', () => {
  assert.equal(isGrpcRequest({ 'content-type': 'application/grpc' }), true);
  assert.equal(isGrpcRequest({ 'content-type': 'application/grpc+proto' }), true);
  assert.equal(isGrpcRequest({ 'content-type': 'application/grpc-web' }), false);
  assert.equal(isGrpcRequest({ 'content-type': 'application/json' }), false);
  assert.equal(isGrpcRequest({}), false);
});

test('grpc_message_is_percent_encoded', () => {
  assert.equal(grpcMessage('50% off: é'), '50%25 off: %C3%A9');
});

test('header_text_is_printable_and_bounded', () => {
  assert.equal(headerText('a\r\nb\u00e9', 10), 'a??b?');
  assert.equal(headerText('x'.repeat(500)).length, 256);
});

test('forwarded_for_reads_the_tunnel_client_address', () => {
  assert.equal(forwardedFor('for="10.244.1.7:43210"'), '10.244.1.7');
  assert.equal(forwardedFor('for=10.244.1.7'), '10.244.1.7');
  assert.equal(forwardedFor('for="[fd00::7]:43210";proto=http'), 'fd00::7');
  assert.equal(forwardedFor('by=1.2.3.4;for="10.0.0.1:1", for=9.9.9.9'), '10.0.0.1');
  assert.equal(forwardedFor('for=unknown'), undefined);
  assert.equal(forwardedFor('for="_hidden"'), undefined);
  assert.equal(forwardedFor(undefined), undefined);
  assert.equal(forwardedFor(`for="10.0.0.1:1";${'x'.repeat(600)}`), undefined);
});

test('service_ref_of_a_service_resource_key', () => {
  assert.deepEqual(serviceRefOfKey('shop/web.shop.svc.cluster.local'), { namespace: 'shop', name: 'web' });
  assert.equal(serviceRefOfKey('web'), undefined);
  assert.equal(serviceRefOfKey('shop/'), undefined);
});

// ---- tunnels carried as TCP: the waypoint's policies as an L4 proxy applies them ----

const TCP = { sourceIdentity: 'spiffe://cluster.local/ns/apps/sa/sleep', sourceIp: '10.244.1.5', destination: { ip: '10.96.0.10', port: 80 }, service: WEB };

test('tcp_tunnel_under_a_deny_with_http_fields_is_denied_whole', () => {
  // The bypass this closes: a client that makes its HTTP look like TCP (a pause before the
  // request line) would skip `DENY paths: [/admin*]` entirely; now the whole tunnel is denied.
  const deny = policy('no-admin', { action: 'DENY', rules: [rule({ to: [{ paths: ['/admin*'] }] })] });
  const d = decideTcpAtWaypoint([deny], GW, TCP);
  assert.equal(d.allow, false);
  assert.equal(d.policy, 'shop/no-admin');
});

test('tcp_tunnel_under_an_allow_with_only_http_fields_is_denied', () => {
  const allowGet = policy('get-only', { rules: [rule({ to: [{ methods: ['GET'] }] })] });
  assert.equal(decideTcpAtWaypoint([allowGet], GW, TCP).allow, false);
});

test('tcp_tunnel_allowed_by_an_l4_allow_or_without_policies', () => {
  const allowSleep = policy('sleep', { rules: [rule({ from: [{ principals: ['cluster.local/ns/apps/sa/sleep'] }] })] });
  assert.equal(decideTcpAtWaypoint([allowSleep], GW, TCP).allow, true);
  assert.equal(decideTcpAtWaypoint([], GW, TCP).allow, true);
  assert.equal(decideTcpAtWaypoint([allowSleep], GW, { ...TCP, sourceIdentity: 'spiffe://cluster.local/ns/apps/sa/other' }).allow, false);
});
