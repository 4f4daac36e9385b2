// The authorization decision, case by case, after Istio's documented semantics. Each group
// names the Istio page it follows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Policy, PolicyRule } from '../config/model.js';
import { evaluate, EXPLAIN_LIMITS } from './evaluate.js';
import type { AuthzRequest, DecisionReason, EnforcementPoint } from './types.js';

const TD = 'spiffe://cluster.local';
function policy(name: string, action: Policy['action'], rules: Array<Partial<PolicyRule>>, over: Partial<Policy> = {}): Policy {
  const ns = over.namespace ?? 'shop';
  return {
    key: `${ns}/${name}`,
    name,
    namespace: ns,
    scope: 'namespace',
    action,
    rules: rules.map((r) => ({ from: r.from ?? [], to: r.to ?? [], when: r.when ?? [] })),
    ...over,
  };
}
function req(over: Partial<AuthzRequest> = {}): AuthzRequest {
  return { sourceIdentity: `${TD}/ns/shop/sa/client`, sourceIp: '10.0.0.7', destinationIp: '10.0.1.9', destinationPort: 8080, ...over };
}

// Precedence: https://istio.io/latest/docs/concepts/security/#authorization-policy-precedence
test('no_policy_allows_by_default', () => {
  const r = evaluate([], req(), 'node-agent');
  assert.equal(r.enforced.decision, 'ALLOW');
  assert.equal(r.enforced.reason, 'no-policy');
  assert.equal(r.enforced.message, 'no policy applies: allowed by default');
  assert.equal(r.dryRun, undefined);
});

test('deny_by_principal_denies_that_client_and_names_the_rule', () => {
  const p = policy('deny-client', 'DENY', [{ from: [{ principals: ['cluster.local/ns/shop/sa/client'] }] }]);
  const r = evaluate([p], req(), 'node-agent');
  assert.equal(r.enforced.decision, 'DENY');
  assert.equal(r.enforced.reason, 'deny-matched');
  assert.equal(r.enforced.policy, 'shop/deny-client');
  assert.equal(r.enforced.rule, 0);
  assert.equal(r.enforced.message, 'denied by DENY policy shop/deny-client rules[0]');
  const other = evaluate([p], req({ sourceIdentity: `${TD}/ns/shop/sa/other` }), 'node-agent');
  assert.equal(other.enforced.decision, 'ALLOW');
  assert.match(other.enforced.considered[0]!.reasons[0]!, /rules\[0\]\.from\[0\]\.source\.principals: "cluster\.local\/ns\/shop\/sa\/other" is not one of \["cluster\.local\/ns\/shop\/sa\/client"\]/);
});

test('allow_policy_without_rules_denies_everything', () => {
  const r = evaluate([policy('allow-nothing', 'ALLOW', [])], req(), 'node-agent');
  assert.equal(r.enforced.decision, 'DENY');
  assert.equal(r.enforced.reason, 'no-allow-matched');
  assert.equal(r.enforced.message, 'no ALLOW rule matched (considered: shop/allow-nothing)');
});

test('allow_with_empty_rule_allows_everything', () => {
  const r = evaluate([policy('allow-all', 'ALLOW', [{}])], req({ sourceIdentity: undefined }), 'node-agent');
  assert.equal(r.enforced.decision, 'ALLOW');
  assert.equal(r.enforced.message, 'allowed by ALLOW policy shop/allow-all rules[0]');
});

test('allow_rule_with_l7_field_is_dropped_at_node_agent', () => {
  const p = policy('allow-get', 'ALLOW', [{ to: [{ methods: ['GET'] }] }]);
  const r = evaluate([p], req({ http: { method: 'GET' } }), 'node-agent');
  assert.equal(r.enforced.decision, 'DENY');
  assert.match(r.enforced.considered[0]!.reasons.join('\n'), /rules\[0\] holds the L7 field to\[0\]\.operation\.methods/);
  assert.equal(evaluate([p], req({ http: { method: 'GET' } }), 'waypoint').enforced.decision, 'ALLOW');
});

test('dry_run_policy_is_not_enforced_but_its_decision_is_reported', () => {
  const p = policy('deny-all', 'DENY', [{}], { dryRun: true });
  const r = evaluate([p], req(), 'node-agent');
  assert.equal(r.enforced.decision, 'ALLOW');
  assert.equal(r.dryRun?.decision, 'DENY');
  assert.equal(r.dryRun?.policy, 'shop/deny-all');
});

// ---------------------------------------------------------------------------------------
// The table: one named behaviour per row. Helpers: allow/deny/audit build a policy in
// namespace shop from rules; the default request is an mTLS connection from
// spiffe://cluster.local/ns/shop/sa/client at 10.0.0.7 to 10.0.1.9:8080.
const allow = (name: string, ...rules: Array<Partial<PolicyRule>>): Policy => policy(name, 'ALLOW', rules);
const deny = (name: string, ...rules: Array<Partial<PolicyRule>>): Policy => policy(name, 'DENY', rules);
const audit = (name: string, ...rules: Array<Partial<PolicyRule>>): Policy => policy(name, 'AUDIT', rules);
const PLAIN = { sourceIdentity: undefined } as const;
const JWT = {
  principal: 'https://idp.example/alice',
  audiences: ['shop-api', 'other'],
  presenter: 'web-app',
  claims: { iss: 'https://idp.example', sub: 'alice', email: 'alice@example.com', groups: ['staff', 'admins'], realm: { role: 'editor' }, scope: 'read write', level: 3 },
};
const GET = (o: Partial<NonNullable<AuthzRequest['http']>> = {}): Partial<AuthzRequest> => ({ http: { method: 'GET', path: '/api/v1/items', host: 'web.shop.svc.cluster.local', headers: {}, ...o } });

interface Row {
  name: string;
  policies: Policy[];
  req?: Partial<AuthzRequest>;
  at?: EnforcementPoint;
  decision: 'ALLOW' | 'DENY';
  reason?: DecisionReason;
  policy?: string;
  rule?: number;
}

const rows: Row[] = [
  // Source fields, https://istio.io/latest/docs/reference/config/security/authorization-policy/#Source
  // (principals compare without spiffe://; "*" needs an identity).
  { name: 'principals_exact_value_allows_that_identity', policies: [allow('a', { from: [{ principals: ['cluster.local/ns/shop/sa/client'] }] })], decision: 'ALLOW', reason: 'allow-matched' },
  { name: 'principals_other_identity_is_denied_under_an_allow_policy', policies: [allow('a', { from: [{ principals: ['cluster.local/ns/shop/sa/admin'] }] })], decision: 'DENY', reason: 'no-allow-matched' },
  { name: 'principals_with_spiffe_prefix_never_match', policies: [allow('a', { from: [{ principals: ['spiffe://cluster.local/ns/shop/sa/client'] }] })], decision: 'DENY' },
  { name: 'principals_prefix_form_matches_a_namespace_of_identities', policies: [allow('a', { from: [{ principals: ['cluster.local/ns/shop/*'] }] })], decision: 'ALLOW' },
  { name: 'principals_suffix_form_matches_any_trust_domain', policies: [allow('a', { from: [{ principals: ['*/ns/shop/sa/client'] }] })], decision: 'ALLOW' },
  { name: 'principals_star_matches_any_mtls_peer', policies: [allow('a', { from: [{ principals: ['*'] }] })], decision: 'ALLOW' },
  { name: 'principals_star_does_not_match_plaintext', policies: [allow('a', { from: [{ principals: ['*'] }] })], req: PLAIN, decision: 'DENY' },
  { name: 'not_principals_star_denies_plaintext', policies: [deny('no-plaintext', { from: [{ notPrincipals: ['*'] }] })], req: PLAIN, decision: 'DENY', reason: 'deny-matched', policy: 'shop/no-plaintext', rule: 0 },
  { name: 'not_principals_star_lets_mtls_through', policies: [deny('no-plaintext', { from: [{ notPrincipals: ['*'] }] })], decision: 'ALLOW', reason: 'no-policy' },
  { name: 'not_principals_matches_every_other_identity', policies: [deny('d', { from: [{ notPrincipals: ['cluster.local/ns/shop/sa/admin'] }] })], decision: 'DENY' },
  { name: 'not_principals_listed_identity_is_not_matched', policies: [deny('d', { from: [{ notPrincipals: ['cluster.local/ns/shop/sa/client'] }] })], decision: 'ALLOW' },
  { name: 'namespaces_match_the_identity_namespace', policies: [allow('a', { from: [{ namespaces: ['shop'] }] })], decision: 'ALLOW' },
  { name: 'namespaces_other_namespace_is_not_matched', policies: [allow('a', { from: [{ namespaces: ['bank'] }] })], decision: 'DENY' },
  { name: 'namespaces_prefix_form', policies: [allow('a', { from: [{ namespaces: ['sh*'] }] })], decision: 'ALLOW' },
  { name: 'namespaces_never_match_plaintext', policies: [allow('a', { from: [{ namespaces: ['*'] }] })], req: PLAIN, decision: 'DENY' },
  { name: 'not_namespaces_denies_other_namespaces', policies: [deny('d', { from: [{ notNamespaces: ['shop'] }] })], req: { sourceIdentity: `${TD}/ns/bank/sa/x` }, decision: 'DENY' },
  { name: 'not_namespaces_spares_the_listed_namespace', policies: [deny('d', { from: [{ notNamespaces: ['shop'] }] })], decision: 'ALLOW' },
  { name: 'service_accounts_namespace_slash_name', policies: [allow('a', { from: [{ serviceAccounts: ['shop/client'] }] })], decision: 'ALLOW' },
  { name: 'service_accounts_bare_name_is_in_the_policy_namespace', policies: [allow('a', { from: [{ serviceAccounts: ['client'] }] })], req: { sourceIdentity: `${TD}/ns/bank/sa/client` }, decision: 'DENY' },
  { name: 'not_service_accounts_denies_the_others', policies: [deny('d', { from: [{ notServiceAccounts: ['shop/admin'] }] })], decision: 'DENY' },
  { name: 'ip_blocks_ipv4_cidr', policies: [allow('a', { from: [{ ipBlocks: ['10.0.0.0/24'] }] })], decision: 'ALLOW' },
  { name: 'ip_blocks_single_address', policies: [allow('a', { from: [{ ipBlocks: ['10.0.0.8'] }] })], decision: 'DENY' },
  { name: 'ip_blocks_ipv4_mapped_peer_address_is_ipv4', policies: [allow('a', { from: [{ ipBlocks: ['10.0.0.0/24'] }] })], req: { sourceIp: '::ffff:10.0.0.7' }, decision: 'ALLOW' },
  { name: 'ip_blocks_ipv6_cidr', policies: [allow('a', { from: [{ ipBlocks: ['fd00:10::/64'] }] })], req: { sourceIp: 'FD00:10:0:0::7' }, decision: 'ALLOW' },
  { name: 'ip_blocks_ipv6_block_does_not_match_ipv4', policies: [allow('a', { from: [{ ipBlocks: ['::/0'] }] })], decision: 'DENY' },
  { name: 'not_ip_blocks_denies_outside_the_block', policies: [deny('d', { from: [{ notIpBlocks: ['10.0.0.0/8'] }] })], req: { sourceIp: '192.168.1.1' }, decision: 'DENY' },
  { name: 'not_ip_blocks_spares_the_block', policies: [deny('d', { from: [{ notIpBlocks: ['10.0.0.0/8'] }] })], decision: 'ALLOW' },
  { name: 'plaintext_is_matched_by_ip_blocks', policies: [allow('a', { from: [{ ipBlocks: ['10.0.0.0/8'] }] })], req: PLAIN, decision: 'ALLOW' },
  { name: 'request_principals_match_at_the_waypoint', policies: [allow('a', { from: [{ requestPrincipals: ['https://issuer/*'] }] })], req: GET({ requestPrincipal: 'https://issuer/alice' }), at: 'waypoint', decision: 'ALLOW' },
  { name: 'request_principals_without_jwt_never_match', policies: [allow('a', { from: [{ requestPrincipals: ['*'] }] })], req: GET(), at: 'waypoint', decision: 'DENY' },
  { name: 'remote_ip_blocks_use_the_original_client_at_the_waypoint', policies: [allow('a', { from: [{ remoteIpBlocks: ['203.0.113.0/24'] }] })], req: GET({ remoteIp: '203.0.113.5' }), at: 'waypoint', decision: 'ALLOW' },
  { name: 'fields_of_one_source_must_all_match', policies: [allow('a', { from: [{ namespaces: ['shop'], ipBlocks: ['192.168.0.0/16'] }] })], decision: 'DENY' },
  { name: 'any_source_entry_may_match', policies: [allow('a', { from: [{ namespaces: ['bank'] }, { ipBlocks: ['10.0.0.0/8'] }] })], decision: 'ALLOW' },

  // Operation fields, https://istio.io/latest/docs/reference/config/security/authorization-policy/#Operation
  { name: 'ports_match_the_destination_port', policies: [allow('a', { to: [{ ports: [8080] }] })], decision: 'ALLOW' },
  { name: 'ports_other_port_is_not_matched', policies: [allow('a', { to: [{ ports: [9090] }] })], decision: 'DENY' },
  { name: 'not_ports_denies_every_other_port', policies: [deny('d', { to: [{ notPorts: [9090] }] })], decision: 'DENY' },
  { name: 'methods_match_at_the_waypoint', policies: [allow('a', { to: [{ methods: ['GET', 'HEAD'] }] })], req: GET(), at: 'waypoint', decision: 'ALLOW' },
  { name: 'not_methods_deny_at_the_waypoint', policies: [deny('d', { to: [{ notMethods: ['GET'] }] })], req: GET({ method: 'POST' }), at: 'waypoint', decision: 'DENY' },
  { name: 'paths_prefix_form', policies: [allow('a', { to: [{ paths: ['/api/*'] }] })], req: GET(), at: 'waypoint', decision: 'ALLOW' },
  { name: 'paths_suffix_form', policies: [allow('a', { to: [{ paths: ['*/items'] }] })], req: GET(), at: 'waypoint', decision: 'ALLOW' },
  { name: 'paths_exact_ignores_the_query_string', policies: [allow('a', { to: [{ paths: ['/api/v1/items'] }] })], req: GET({ path: '/api/v1/items?page=2' }), at: 'waypoint', decision: 'ALLOW' },
  { name: 'paths_template_one_segment', policies: [allow('a', { to: [{ paths: ['/api/{*}/items'] }] })], req: GET(), at: 'waypoint', decision: 'ALLOW' },
  { name: 'paths_template_rest_of_path', policies: [allow('a', { to: [{ paths: ['/api/{**}'] }] })], req: GET(), at: 'waypoint', decision: 'ALLOW' },
  { name: 'not_paths_deny_admin', policies: [deny('d', { to: [{ notPaths: ['/api/*'] }] })], req: GET({ path: '/admin' }), at: 'waypoint', decision: 'DENY' },
  { name: 'hosts_match_case_insensitively', policies: [allow('a', { to: [{ hosts: ['WEB.shop.svc.cluster.local'] }] })], req: GET(), at: 'waypoint', decision: 'ALLOW' },
  { name: 'hosts_exact_does_not_ignore_a_port', policies: [allow('a', { to: [{ hosts: ['web.shop.svc.cluster.local'] }] })], req: GET({ host: 'web.shop.svc.cluster.local:8080' }), at: 'waypoint', decision: 'DENY' },
  { name: 'hosts_prefix_form_covers_any_port', policies: [allow('a', { to: [{ hosts: ['web.shop.svc.cluster.local*'] }] })], req: GET({ host: 'web.shop.svc.cluster.local:8080' }), at: 'waypoint', decision: 'ALLOW' },
  { name: 'not_hosts_deny_other_hosts', policies: [deny('d', { to: [{ notHosts: ['*.cluster.local'] }] })], req: GET({ host: 'evil.example' }), at: 'waypoint', decision: 'DENY' },
  { name: 'l7_field_without_http_never_matches_positively_at_the_waypoint', policies: [allow('a', { to: [{ methods: ['GET'] }] })], at: 'waypoint', decision: 'DENY' },
  { name: 'any_operation_entry_may_match', policies: [allow('a', { to: [{ ports: [1] }, { ports: [8080] }] })], decision: 'ALLOW' },

  // Conditions, https://istio.io/latest/docs/reference/config/security/conditions/
  { name: 'when_source_ip', policies: [allow('a', { when: [{ key: 'source.ip', values: ['10.0.0.0/24'] }] })], decision: 'ALLOW' },
  { name: 'when_source_namespace_not_values', policies: [deny('d', { when: [{ key: 'source.namespace', notValues: ['shop'] }] })], decision: 'ALLOW' },
  { name: 'when_source_principal', policies: [allow('a', { when: [{ key: 'source.principal', values: ['cluster.local/ns/shop/sa/client'] }] })], decision: 'ALLOW' },
  { name: 'when_destination_port', policies: [allow('a', { when: [{ key: 'destination.port', values: ['8080'] }] })], decision: 'ALLOW' },
  { name: 'when_destination_ip_ipv6', policies: [allow('a', { when: [{ key: 'destination.ip', values: ['fd00::/8'] }] })], req: { destinationIp: 'fd00::9' }, decision: 'ALLOW' },
  { name: 'when_request_header_prefix_at_the_waypoint', policies: [allow('a', { when: [{ key: 'request.headers[X-User]', values: ['alice*'] }] })], req: GET({ headers: { 'x-user': 'alice-1' } }), at: 'waypoint', decision: 'ALLOW' },
  { name: 'when_request_header_missing_matches_only_not_values', policies: [deny('d', { when: [{ key: 'request.headers[x-user]', notValues: ['alice'] }] })], req: GET(), at: 'waypoint', decision: 'DENY' },
  { name: 'when_values_and_not_values_must_both_hold', policies: [allow('a', { when: [{ key: 'source.ip', values: ['10.0.0.0/8'], notValues: ['10.0.0.7'] }] })], decision: 'DENY' },
  { name: 'when_every_condition_must_hold', policies: [allow('a', { when: [{ key: 'source.namespace', values: ['shop'] }, { key: 'destination.port', values: ['9090'] }] })], decision: 'DENY' },
  // request.auth.* (RequestAuthentication), https://istio.io/latest/docs/reference/config/security/conditions/
  { name: 'request_principals_match_the_validated_jwt', policies: [allow('a', { from: [{ requestPrincipals: ['https://idp.example/alice'] }] })], req: GET({ auth: JWT }), at: 'waypoint', decision: 'ALLOW' },
  { name: 'not_request_principals_star_denies_a_request_without_jwt', policies: [deny('d', { from: [{ notRequestPrincipals: ['*'] }] })], req: GET(), at: 'waypoint', decision: 'DENY' },
  { name: 'not_request_principals_star_lets_a_jwt_through', policies: [deny('d', { from: [{ notRequestPrincipals: ['*'] }] })], req: GET({ auth: JWT }), at: 'waypoint', decision: 'ALLOW' },
  { name: 'when_request_auth_principal', policies: [allow('a', { when: [{ key: 'request.auth.principal', values: ['https://idp.example/*'] }] })], req: GET({ auth: JWT }), at: 'waypoint', decision: 'ALLOW' },
  { name: 'when_request_auth_audiences_any_audience_matches', policies: [allow('a', { when: [{ key: 'request.auth.audiences', values: ['shop-api'] }] })], req: GET({ auth: JWT }), at: 'waypoint', decision: 'ALLOW' },
  { name: 'when_request_auth_audiences_other_audience_is_denied', policies: [allow('a', { when: [{ key: 'request.auth.audiences', values: ['bank'] }] })], req: GET({ auth: JWT }), at: 'waypoint', decision: 'DENY' },
  { name: 'when_request_auth_presenter', policies: [allow('a', { when: [{ key: 'request.auth.presenter', values: ['web-app'] }] })], req: GET({ auth: JWT }), at: 'waypoint', decision: 'ALLOW' },
  { name: 'when_request_auth_claims_string', policies: [allow('a', { when: [{ key: 'request.auth.claims[email]', values: ['*@example.com'] }] })], req: GET({ auth: JWT }), at: 'waypoint', decision: 'ALLOW' },
  { name: 'when_request_auth_claims_list_any_element_matches', policies: [allow('a', { when: [{ key: 'request.auth.claims[groups]', values: ['admins'] }] })], req: GET({ auth: JWT }), at: 'waypoint', decision: 'ALLOW' },
  { name: 'deny_on_a_claim_value_the_list_lacks_does_not_deny', policies: [deny('d', { when: [{ key: 'request.auth.claims[groups]', values: ['banned'] }] })], req: GET({ auth: JWT }), at: 'waypoint', decision: 'ALLOW' },
  { name: 'when_request_auth_claims_nested', policies: [allow('a', { when: [{ key: 'request.auth.claims[realm][role]', values: ['editor'] }] })], req: GET({ auth: JWT }), at: 'waypoint', decision: 'ALLOW' },
  { name: 'when_request_auth_claims_nested_missing_level_matches_nothing', policies: [allow('a', { when: [{ key: 'request.auth.claims[realm][team][x]', values: ['*'] }] })], req: GET({ auth: JWT }), at: 'waypoint', decision: 'DENY' },
  { name: 'when_request_auth_claims_scope_is_space_delimited', policies: [allow('a', { when: [{ key: 'request.auth.claims[scope]', values: ['write'] }] })], req: GET({ auth: JWT }), at: 'waypoint', decision: 'ALLOW' },
  { name: 'when_request_auth_claims_number_matches_no_value', policies: [allow('a', { when: [{ key: 'request.auth.claims[level]', values: ['3'] }] })], req: GET({ auth: JWT }), at: 'waypoint', decision: 'DENY' },
  { name: 'when_request_auth_claims_without_jwt_matches_only_not_values', policies: [deny('d', { when: [{ key: 'request.auth.claims[groups]', notValues: ['admins'] }] })], req: GET(), at: 'waypoint', decision: 'DENY' },
  { name: 'when_connection_sni', policies: [allow('a', { when: [{ key: 'connection.sni', values: ['*.shop'] }] })], req: { sni: 'web.shop' }, at: 'waypoint', decision: 'ALLOW' },

  // Actions and their order, https://istio.io/latest/docs/concepts/security/#authorization-policy-precedence
  { name: 'deny_wins_over_a_matching_allow', policies: [allow('a', {}), deny('d', { from: [{ namespaces: ['shop'] }] })], decision: 'DENY', reason: 'deny-matched', policy: 'shop/d' },
  { name: 'allow_matched_names_policy_and_rule', policies: [allow('a', { to: [{ ports: [1] }] }, { to: [{ ports: [8080] }] })], decision: 'ALLOW', reason: 'allow-matched', policy: 'shop/a', rule: 1 },
  { name: 'any_allow_policy_may_allow', policies: [allow('a1', { to: [{ ports: [1] }] }), allow('a2', { to: [{ ports: [8080] }] })], decision: 'ALLOW', policy: 'shop/a2' },
  { name: 'only_deny_policies_none_matching_allows', policies: [deny('d', { to: [{ ports: [22] }] })], decision: 'ALLOW', reason: 'no-policy' },
  { name: 'deny_policy_without_rules_never_denies', policies: [deny('d')], decision: 'ALLOW', reason: 'no-policy' },
  { name: 'deny_with_empty_rule_denies_everything', policies: [deny('d', {})], req: PLAIN, decision: 'DENY', rule: 0 },
  { name: 'allow_nothing_beside_allow_all_allows', policies: [allow('nothing'), allow('all', {})], decision: 'ALLOW', policy: 'shop/all' },
  { name: 'audit_match_never_changes_the_decision', policies: [audit('log', {}), allow('a', { to: [{ ports: [1] }] })], decision: 'DENY', reason: 'no-allow-matched' },
  { name: 'audit_only_allows_by_default', policies: [audit('log', {})], decision: 'ALLOW', reason: 'no-policy' },

  // L7 fields at the node agent, https://istio.io/latest/docs/ambient/usage/l4-policy/:
  // ALLOW rules dropped, DENY rules enforced without their L7 parts (fail closed, core/policy/l4.ts).
  { name: 'node_agent_deny_with_port_and_method_denies_the_whole_port', policies: [deny('d', { to: [{ ports: [8080], methods: ['POST'] }] })], req: GET(), decision: 'DENY', policy: 'shop/d' },
  { name: 'node_agent_deny_with_only_l7_operation_denies_every_port', policies: [deny('d', { to: [{ methods: ['POST'] }] })], req: GET(), decision: 'DENY', policy: 'shop/d' },
  { name: 'node_agent_deny_with_l7_when_key_is_applied_as_if_it_held', policies: [deny('d', { from: [{ namespaces: ['shop'] }], when: [{ key: 'request.headers[x-user]', values: ['bob'] }] })], decision: 'DENY', policy: 'shop/d' },
  { name: 'node_agent_deny_of_requests_without_jwt_denies_every_connection', policies: [deny('d', { from: [{ notRequestPrincipals: ['*'] }] })], decision: 'DENY', policy: 'shop/d' },
  { name: 'node_agent_deny_with_l7_when_still_needs_its_l4_source', policies: [deny('d', { from: [{ namespaces: ['other'] }], when: [{ key: 'request.headers[x-user]', values: ['bob'] }] })], decision: 'ALLOW' },
  { name: 'node_agent_deny_keeps_principals_beside_request_principals', policies: [deny('d', { from: [{ principals: ['cluster.local/ns/shop/sa/client'], requestPrincipals: ['*'] }] })], decision: 'DENY' },
  { name: 'node_agent_deny_source_with_only_l7_fields_matches_every_source', policies: [deny('d', { from: [{ requestPrincipals: ['*'] }, { namespaces: ['shop'] }] })], decision: 'DENY' },
  { name: 'node_agent_allow_rule_with_l7_field_is_dropped_but_l4_rule_allows', policies: [allow('a', { to: [{ methods: ['GET'] }] }, { from: [{ namespaces: ['shop'] }] })], req: GET(), decision: 'ALLOW', rule: 1 },
  { name: 'node_agent_allow_with_l7_when_key_is_dropped', policies: [allow('a', { when: [{ key: 'request.headers[x-user]', values: ['alice'] }] })], req: GET({ headers: { 'x-user': 'alice' } }), decision: 'DENY' },
  { name: 'waypoint_evaluates_the_deny_methods', policies: [deny('d', { to: [{ ports: [8080], methods: ['POST'] }] })], req: GET(), at: 'waypoint', decision: 'ALLOW' },
  { name: 'node_agent_connection_sni_is_an_l7_key_for_allow', policies: [allow('a', { when: [{ key: 'connection.sni', values: ['*'] }] })], req: { sni: 'web' }, decision: 'DENY' },
];

for (const row of rows) {
  test(row.name, () => {
    const r = evaluate(row.policies, req(row.req), row.at ?? 'node-agent').enforced;
    assert.equal(r.decision, row.decision, r.message + '\n' + r.considered.map((c) => c.reasons.join('\n')).join('\n'));
    if (row.reason) assert.equal(r.reason, row.reason);
    if (row.policy) assert.equal(r.policy, row.policy);
    if (row.rule !== undefined) assert.equal(r.rule, row.rule);
  });
  test(`${row.name}__same_decision_without_explanations`, () => {
    const full = evaluate(row.policies, req(row.req), row.at ?? 'node-agent');
    const quiet = evaluate(row.policies, req(row.req), row.at ?? 'node-agent', { explain: false });
    for (const [f, q] of [
      [full.enforced, quiet.enforced],
      [full.dryRun, quiet.dryRun],
    ] as const) {
      assert.equal(q?.decision, f?.decision);
      assert.equal(q?.reason, f?.reason);
      assert.equal(q?.message, f?.message);
      assert.equal(q?.policy, f?.policy);
      assert.equal(q?.rule, f?.rule);
      assert.deepEqual(q?.audits, f?.audits);
      assert.deepEqual(
        q?.considered.map((c) => [c.policy, c.matched, c.rule]),
        f?.considered.map((c) => [c.policy, c.matched, c.rule]),
      );
      for (const c of q?.considered ?? []) assert.deepEqual(c.reasons, [], 'no reasons are built');
    }
  });
}

test('explanations_are_built_again_after_a_decision_only_evaluation', () => {
  const policies = [allow('a', { from: [{ namespaces: ['bank'] }] })];
  evaluate(policies, req(), 'node-agent', { explain: false });
  const r = evaluate(policies, req(), 'node-agent').enforced;
  assert.ok(r.considered[0]!.reasons.some((x) => x.includes('namespaces')), r.considered[0]!.reasons.join('\n'));
});

// ---------------------------------------------------------------------------------------
// Explanations, dry run and AUDIT records.

test('audit_matches_are_recorded_without_changing_the_decision', () => {
  const r = evaluate([audit('log', { to: [{ ports: [1] }] }, { from: [{ namespaces: ['shop'] }] })], req(), 'node-agent');
  assert.equal(r.enforced.decision, 'ALLOW');
  assert.deepEqual(r.enforced.audits, [{ policy: 'shop/log', rule: 1 }]);
});

test('considered_lists_deny_then_allow_then_audit_then_by_key', () => {
  const r = evaluate([audit('a0', {}), allow('b', {}), allow('a', {}), deny('z')], req(), 'node-agent');
  assert.deepEqual(
    r.enforced.considered.map((c) => `${c.action} ${c.policy}`),
    ['DENY shop/z', 'ALLOW shop/a', 'ALLOW shop/b', 'AUDIT shop/a0'],
  );
});

test('only_deny_policies_none_matched_message_says_allowed_by_default', () => {
  const r = evaluate([deny('d', { to: [{ ports: [22] }] })], req(), 'node-agent');
  assert.equal(r.enforced.reason, 'no-policy');
  assert.equal(r.enforced.message, 'no ALLOW policy applies and no DENY policy matched: allowed by default (considered: shop/d)');
  assert.match(r.enforced.considered[0]!.reasons[0]!, /^rules\[0\]\.to\[0\]\.operation\.ports: "8080" is not one of \["22"\]$/);
});

test('plaintext_reason_says_there_is_no_peer_identity', () => {
  const r = evaluate([allow('a', { from: [{ principals: ['cluster.local/ns/shop/sa/client'] }] })], req({ sourceIdentity: undefined }), 'node-agent');
  assert.equal(
    r.enforced.considered[0]!.reasons[0],
    'rules[0].from[0].source.principals: the connection has no peer identity (plaintext), which matches none of ["cluster.local/ns/shop/sa/client"]',
  );
});

test('not_field_reason_names_the_value_that_matched', () => {
  const r = evaluate([allow('a', { from: [{ notNamespaces: ['sh*'] }] })], req(), 'node-agent');
  assert.equal(r.enforced.considered[0]!.reasons[0], 'rules[0].from[0].source.notNamespaces: "shop" matches "sh*"');
});

test('node_agent_reasons_say_what_the_projection_did', () => {
  const r = evaluate([deny('d', { to: [{ methods: ['POST'] }] })], req(), 'node-agent');
  const reasons = r.enforced.considered[0]!.reasons.join('\n');
  assert.match(reasons, /rules\[0\] holds the L7 field to\[0\]\.operation\.methods: the DENY rule is enforced at the node agent without it/);
  assert.match(reasons, /rules\[0\] to\[0\]\.operation held only L7 fields: at the node agent it matches every port/);
  assert.equal(r.enforced.decision, 'DENY');
});

test('matched_reason_names_the_rule', () => {
  const r = evaluate([allow('a', {})], req(), 'node-agent');
  assert.deepEqual(r.enforced.considered[0]!.reasons, ['rules[0] matched (an empty rule matches every request)']);
  assert.equal(r.enforced.considered[0]!.matched, true);
  assert.equal(r.enforced.considered[0]!.rule, 0);
});

test('reasons_are_bounded_for_huge_policies', () => {
  const many = Array.from({ length: 500 }, (_, i) => `cluster.local/ns/x/sa/${'s'.repeat(300)}${i}`);
  const rules = Array.from({ length: 100 }, () => ({ from: [{ principals: many }] }));
  const r = evaluate([allow('big', ...rules)], req(), 'node-agent');
  const c = r.enforced.considered[0]!;
  assert.ok(c.reasons.length <= EXPLAIN_LIMITS.maxReasonsPerPolicy + 1, `${c.reasons.length} reasons`);
  for (const s of c.reasons) assert.ok(s.length <= EXPLAIN_LIMITS.maxReasonChars + 3, `${s.length} chars`);
  assert.match(c.reasons.at(-1)!, /\.\.\. and \d+ more/);
});

test('no_allow_matched_message_lists_a_bounded_number_of_policies', () => {
  const ps = Array.from({ length: 9 }, (_, i) => allow(`a${i}`));
  const r = evaluate(ps, req(), 'node-agent');
  assert.equal(r.enforced.message, 'no ALLOW rule matched (considered: shop/a0, shop/a1, shop/a2, shop/a3, shop/a4, ... and 4 more)');
});

test('dry_run_is_absent_when_no_dry_run_policy_applies', () => {
  assert.equal(evaluate([deny('d', {})], req(), 'node-agent').dryRun, undefined);
});

test('dry_run_allow_nothing_would_deny_while_traffic_is_allowed', () => {
  const r = evaluate([policy('lockdown', 'ALLOW', [], { dryRun: true })], req(), 'node-agent');
  assert.equal(r.enforced.decision, 'ALLOW');
  assert.equal(r.enforced.reason, 'no-policy');
  assert.match(r.enforced.message, /no enforced policy applies: allowed by default \(dry-run policies not enforced: shop\/lockdown\)/);
  assert.equal(r.dryRun?.decision, 'DENY');
  assert.equal(r.dryRun?.reason, 'no-allow-matched');
  assert.equal(r.enforced.considered[0]!.dryRun, true);
});

test('dry_run_deny_does_not_override_an_enforced_allow', () => {
  const r = evaluate([allow('a', {}), policy('d', 'DENY', [{ from: [], to: [], when: [] }], { dryRun: true })], req(), 'node-agent');
  assert.equal(r.enforced.decision, 'ALLOW');
  assert.equal(r.enforced.policy, 'shop/a');
  assert.equal(r.dryRun?.decision, 'DENY');
  assert.equal(r.dryRun?.message, 'denied by DENY policy shop/d rules[0] (dry run)');
});

test('dry_run_allow_beside_enforced_allow_both_counted_in_dry_run', () => {
  const r = evaluate([allow('a', { to: [{ ports: [1] }] }), policy('new', 'ALLOW', [{ from: [], to: [{ ports: [8080] }], when: [] }], { dryRun: true })], req(), 'node-agent');
  assert.equal(r.enforced.decision, 'DENY');
  assert.equal(r.dryRun?.decision, 'ALLOW');
  assert.equal(r.dryRun?.policy, 'shop/new');
});

test('dry_run_audit_is_recorded_only_in_the_dry_run_decision', () => {
  const r = evaluate([policy('log', 'AUDIT', [{ from: [], to: [], when: [] }], { dryRun: true })], req(), 'node-agent');
  assert.deepEqual(r.enforced.audits, []);
  assert.deepEqual(r.dryRun?.audits, [{ policy: 'shop/log', rule: 0 }]);
});

test('malformed_values_match_nothing_and_never_throw', () => {
  const p = allow('a', { from: [{ ipBlocks: ['not-an-ip', '10.0.0.0/99'] }] }, { when: [{ key: 'no.such.key', values: ['x'] }] });
  const r = evaluate([p, null as never], req({ sourceIp: 'garbage' }), 'waypoint');
  assert.equal(r.enforced.decision, 'DENY');
  assert.match(r.enforced.considered[0]!.reasons.join('\n'), /the key "no\.such\.key" is not known/);
  assert.equal(evaluate([p], req(), 'node-agent').enforced.decision, 'DENY');
});

test('empty_source_from_projection_matches_nothing_at_the_waypoint_too', () => {
  // Istio's validation refuses an empty source; if one arrives it matches nothing (ztunnel skips empty matches).
  const r = evaluate([allow('a', { from: [{}] })], req(), 'waypoint');
  assert.equal(r.enforced.decision, 'DENY');
});

test('matched_reason_says_on_what_the_rule_matched', () => {
  const r = evaluate([allow('a', { from: [{ namespaces: ['bank'] }, { principals: ['*'], namespaces: ['shop'] }], when: [{ key: 'destination.port', values: ['8080'] }] })], req(), 'node-agent');
  assert.deepEqual(r.enforced.considered[0]!.reasons, ['rules[0] matched: from[1].source (principals, namespaces), any operation, when[0] (destination.port)']);
});

test('rejected_policy_stand_in_denies_everything_and_says_why', () => {
  const standIn: Policy = { ...deny('bad', {}), rejected: 'spec.rules[0].from[0].source.ipBlocks[0]: "10.0.0.0/33" is not an IP address or CIDR block' };
  const r = evaluate([standIn], req(), 'node-agent');
  assert.equal(r.enforced.decision, 'DENY');
  assert.equal(r.enforced.policy, 'shop/bad');
  assert.match(r.enforced.considered[0]!.reasons[0]!, /^was rejected \(spec\.rules\[0\].*\): enforced fail-closed as DENY everything it selects until it is fixed$/);
});

test('rejected_allow_stand_in_allows_nothing_but_other_allows_still_do', () => {
  const standIn: Policy = { ...allow('bad'), rejected: 'spec.rules[0].to[0].operation.ports[0]: "99999" is not a port' };
  assert.equal(evaluate([standIn], req(), 'node-agent').enforced.decision, 'DENY');
  assert.equal(evaluate([standIn, allow('ok', {})], req(), 'node-agent').enforced.decision, 'ALLOW');
});
