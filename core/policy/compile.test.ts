// The AuthorizationPolicy compiler: Istio's schema and validation rules, each refusal naming
// the field path and value, scopes, canonical values, and the enforcement summary.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileAuthorizationPolicy, type CompileResult } from './compile.js';
import { enforcementMessage } from './enforcement.js';
import type { Policy } from '../config/model.js';
import { validateResource } from '../config/validate.js';

const OPTS = { rootNamespace: 'ambient-system' };

function ap(spec: unknown, meta: Record<string, unknown> = {}): unknown {
  return { apiVersion: 'ambient.dev/v1', kind: 'AuthorizationPolicy', metadata: { name: 'p', namespace: 'shop', ...meta }, spec };
}

function ok(obj: unknown, opts = OPTS): Extract<CompileResult, { ok: true }> {
  const r = compileAuthorizationPolicy(obj, opts);
  if (!r.ok) assert.fail(`refused: ${r.reason}: ${r.message}`);
  // What the compiler emits is always what the agents accept.
  const v = validateResource({ kind: 'Policy', key: r.policy.key, body: r.policy });
  assert.ok(v.ok, v.ok ? '' : v.error);
  return r;
}

function refused(obj: unknown, reason: 'Invalid' | 'Unsupported', message: string | RegExp): void {
  const r = compileAuthorizationPolicy(obj, OPTS);
  assert.equal(r.ok, false, 'expected a refusal');
  if (r.ok) return;
  assert.equal(r.reason, reason, r.message);
  if (typeof message === 'string') assert.equal(r.message, message);
  else assert.match(r.message, message);
}

const rule = (r: unknown) => ap({ action: 'ALLOW', rules: [r] });
const from = (source: unknown) => rule({ from: [{ source }] });
const to = (operation: unknown) => rule({ to: [{ operation }] });
const when = (c: unknown) => rule({ when: [c] });

// --- shape, scope, action ---

test('compile_empty_spec_is_allow_nothing_policy_for_the_namespace', () => {
  const { policy } = ok(ap({}));
  assert.deepEqual(policy, { key: 'shop/p', name: 'p', namespace: 'shop', scope: 'namespace', action: 'ALLOW', rules: [] } satisfies Policy);
});

test('compile_missing_spec_reads_as_empty_spec', () => {
  assert.deepEqual(ok({ metadata: { name: 'p', namespace: 'shop' } }).policy.rules, []);
});

test('compile_rules_with_one_empty_rule_is_kept_as_allow_everything', () => {
  assert.deepEqual(ok(ap({ rules: [{}] })).policy.rules, [{ from: [], to: [], when: [] }]);
});

test('compile_root_namespace_policy_is_global', () => {
  assert.equal(ok(ap({}, { namespace: 'ambient-system' })).policy.scope, 'global');
});

test('compile_root_namespace_is_an_option', () => {
  assert.equal(ok(ap({}, { namespace: 'ambient-system' }), { rootNamespace: 'mesh-root' }).policy.scope, 'namespace');
  assert.equal(ok(ap({}, { namespace: 'mesh-root' }), { rootNamespace: 'mesh-root' }).policy.scope, 'global');
});

test('compile_selector_match_labels_kept_sorted', () => {
  assert.deepEqual(ok(ap({ selector: { matchLabels: { version: 'v1', app: 'web' } } })).policy.selector, { app: 'web', version: 'v1' });
});

test('compile_empty_selector_selects_the_whole_namespace', () => {
  assert.equal(ok(ap({ selector: {} })).policy.selector, undefined);
  assert.equal(ok(ap({ selector: { matchLabels: {} } })).policy.selector, undefined);
});

test('compile_selector_label_value_wildcard_is_invalid_as_in_istio', () => {
  refused(ap({ selector: { matchLabels: { app: 'web-*' } } }), 'Invalid', /^spec\.selector\.matchLabels\["app"\]: "web-\*": wildcards are not allowed/);
});

test('compile_selector_bad_label_name_is_invalid', () => {
  refused(ap({ selector: { matchLabels: { 'bad key': 'x' } } }), 'Invalid', 'spec.selector.matchLabels: "bad key" is not a label name');
  assert.deepEqual(ok(ap({ selector: { matchLabels: { 'app.kubernetes.io/name': 'web', tier: '' } } })).policy.selector, { 'app.kubernetes.io/name': 'web', tier: '' });
});

test('compile_selector_label_value_not_a_string_is_invalid', () => {
  refused(ap({ selector: { matchLabels: { app: 3 } } }), 'Invalid', 'spec.selector.matchLabels["app"]: 3 is not a string');
});

test('compile_each_action_is_kept', () => {
  for (const action of ['ALLOW', 'DENY', 'AUDIT'] as const) assert.equal(ok(ap({ action, rules: [{}] })).policy.action, action);
});

test('compile_unknown_action_is_invalid_naming_the_value', () => {
  refused(ap({ action: 'PERMIT' }), 'Invalid', 'spec.action: "PERMIT" is not one of ALLOW, DENY, AUDIT');
});

test('compile_action_of_wrong_type_is_invalid', () => {
  refused(ap({ action: 1 }), 'Invalid', 'spec.action: 1 is not one of ALLOW, DENY, AUDIT');
});

test('compile_custom_action_is_unsupported', () => {
  refused(ap({ action: 'CUSTOM', provider: { name: 'ext' }, rules: [{}] }), 'Unsupported', /^spec\.action: CUSTOM is not supported: /);
});

test('compile_provider_without_custom_is_invalid', () => {
  refused(ap({ action: 'DENY', provider: { name: 'ext' } }), 'Invalid', /^spec\.provider: /);
});

test('compile_spec_not_an_object_is_invalid', () => {
  refused(ap('deny all'), 'Invalid', 'spec: "deny all" is not an object');
});

test('compile_unknown_spec_field_is_invalid_rather_than_ignored', () => {
  refused(ap({ rule: [] }), 'Invalid', /^spec\.rule: unknown field/);
});

test('compile_rules_not_a_list_is_invalid', () => {
  refused(ap({ rules: { from: [] } }), 'Invalid', 'spec.rules: {"from":[]} is not a list');
});

test('compile_metadata_without_name_is_invalid', () => {
  refused({ metadata: { namespace: 'shop' }, spec: {} }, 'Invalid', 'metadata.name: undefined is not an object name');
});

test('compile_not_an_object_is_invalid_and_never_throws', () => {
  for (const v of [null, 42, 'x', [], undefined]) assert.equal(compileAuthorizationPolicy(v, OPTS).ok, false);
});

// --- dry run ---

test('compile_dry_run_annotation_true_sets_dry_run', () => {
  const r = ok(ap({ action: 'DENY', rules: [{}] }, { annotations: { 'ambient.dev/dry-run': 'true' } }));
  assert.equal(r.policy.dryRun, true);
  assert.equal(r.enforcement.dryRun, true);
  assert.match(enforcementMessage(r.enforcement), /Dry run/);
});

test('compile_dry_run_annotation_false_or_absent_enforces', () => {
  assert.equal(ok(ap({}, { annotations: { 'ambient.dev/dry-run': 'false' } })).policy.dryRun, undefined);
  assert.equal(ok(ap({}, { annotations: { other: 'x' } })).policy.dryRun, undefined);
});

test('compile_dry_run_annotation_other_value_is_invalid', () => {
  refused(ap({}, { annotations: { 'ambient.dev/dry-run': 'yes' } }), 'Invalid', 'metadata.annotations["ambient.dev/dry-run"]: "yes" is not "true" or "false"');
});

// --- targetRefs ---

test('compile_target_refs_service_gives_scope_targets', () => {
  const r = ok(ap({ targetRefs: [{ kind: 'Service', group: '', name: 'web' }], rules: [{ to: [{ operation: { methods: ['GET'] } }] }] }));
  assert.equal(r.policy.scope, 'targets');
  assert.deepEqual(r.policy.targetRefs, [{ group: '', kind: 'Service', name: 'web' }]);
  assert.equal(r.enforcement.at, 'waypoint');
  assert.equal(r.enforcement.rules[0]?.nodeAgent, 'not-evaluated');
});

test('compile_target_refs_gateway_needs_the_gateway_api_group', () => {
  ok(ap({ targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'wp' }] }));
  refused(ap({ targetRefs: [{ kind: 'Gateway', name: 'wp' }] }), 'Invalid', 'spec.targetRefs[0].group: "" is not the group of a Gateway ("gateway.networking.k8s.io")');
});

test('compile_target_refs_service_with_a_group_is_invalid', () => {
  refused(ap({ targetRefs: [{ kind: 'Service', group: 'core', name: 'web' }] }), 'Invalid', /^spec\.targetRefs\[0\]\.group: "core"/);
});

test('compile_target_refs_other_kind_is_unsupported', () => {
  refused(ap({ targetRefs: [{ kind: 'ServiceEntry', group: 'networking.istio.io', name: 'x' }] }), 'Unsupported', /^spec\.targetRefs\[0\]\.kind: "ServiceEntry" is not supported/);
});

test('compile_deprecated_singular_target_ref_is_one_target', () => {
  const r = ok(ap({ targetRef: { kind: 'Service', name: 'web' } }));
  assert.deepEqual(r.policy.targetRefs, [{ group: '', kind: 'Service', name: 'web' }]);
});

test('compile_target_ref_and_target_refs_together_are_invalid', () => {
  refused(ap({ targetRef: { kind: 'Service', name: 'a' }, targetRefs: [{ kind: 'Service', name: 'b' }] }), 'Invalid', /^spec\.targetRef: is set together with spec\.targetRefs/);
});

test('compile_selector_and_target_refs_together_are_invalid', () => {
  refused(ap({ selector: { matchLabels: { app: 'web' } }, targetRefs: [{ kind: 'Service', name: 'web' }] }), 'Invalid', /^spec\.selector: is set together with spec\.targetRefs/);
});

test('compile_target_ref_in_another_namespace_is_invalid', () => {
  refused(ap({ targetRefs: [{ kind: 'Service', name: 'web', namespace: 'other' }] }), 'Invalid', /^spec\.targetRefs\[0\]\.namespace: "other" is not the policy's own namespace/);
});

test('compile_target_ref_in_own_namespace_is_accepted', () => {
  ok(ap({ targetRefs: [{ kind: 'Service', name: 'web', namespace: 'shop' }] }));
});

// --- source ---

test('compile_source_fields_kept_with_istio_matching_forms', () => {
  const src = { principals: ['cluster.local/ns/a/sa/b', 'cluster.local/ns/x/*'], notPrincipals: ['*/sa/admin'], namespaces: ['prod-*'], notNamespaces: ['dev'] };
  assert.deepEqual(ok(from(src)).policy.rules[0]?.from, [src]);
});

test('compile_service_accounts_must_be_namespace_slash_name', () => {
  assert.deepEqual(ok(from({ serviceAccounts: ['shop/web'] })).policy.rules[0]?.from[0], { serviceAccounts: ['shop/web'] });
  refused(from({ serviceAccounts: ['shop/*'] }), 'Invalid', /^spec\.rules\[0\]\.from\[0\]\.source\.serviceAccounts\[0\]: "shop\/\*" is not <namespace>\/<serviceaccount>/);
});

test('compile_service_accounts_with_principals_is_invalid', () => {
  refused(from({ serviceAccounts: ['shop/web'], principals: ['cluster.local/ns/shop/sa/web'] }), 'Invalid', /cannot be set with principals/);
});

test('compile_principal_with_spiffe_prefix_is_kept_with_a_warning', () => {
  const r = ok(from({ principals: ['spiffe://cluster.local/ns/a/sa/b'] }));
  assert.deepEqual(r.policy.rules[0]?.from[0]?.principals, ['spiffe://cluster.local/ns/a/sa/b']);
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!, /principals are written without spiffe:\/\/ \(cluster\.local\/ns\/x\/sa\/y\); as written it matches no peer/);
  assert.match(r.warnings[0]!, /^spec\.rules\[0\]\.from\[0\]\.source\.principals: /);
});

test('compile_source_principal_condition_with_spiffe_prefix_warns_too', () => {
  const r = ok(when({ key: 'source.principal', values: ['spiffe://cluster.local/ns/a/sa/b'] }));
  assert.match(r.warnings[0] ?? '', /^spec\.rules\[0\]\.when\[0\]\.values: .*matches no peer/);
});

test('compile_ip_blocks_bad_cidr_is_invalid_naming_path_and_value', () => {
  refused(from({ ipBlocks: ['10.0.0.0/8', '10.0.0.0/33'] }), 'Invalid', 'spec.rules[0].from[0].source.ipBlocks[1]: "10.0.0.0/33" is not an IP address or CIDR block');
});

test('compile_ip_blocks_not_an_address_is_invalid', () => {
  refused(from({ notIpBlocks: ['example.com'] }), 'Invalid', 'spec.rules[0].from[0].source.notIpBlocks[0]: "example.com" is not an IP address or CIDR block');
});

test('compile_ip_blocks_are_canonical_ipv4_and_ipv6', () => {
  const r = ok(from({ ipBlocks: ['10.1.2.3/8', '2001:DB8:0:0::1/32', '::ffff:10.0.0.1', '192.168.0.7'] }));
  assert.deepEqual(r.policy.rules[0]?.from[0]?.ipBlocks, ['10.0.0.0/8', '2001:db8::/32', '10.0.0.1', '192.168.0.7']);
});

test('compile_remote_ip_blocks_are_checked_too', () => {
  refused(from({ remoteIpBlocks: ['1.2.3.4/-1'] }), 'Invalid', /^spec\.rules\[0\]\.from\[0\]\.source\.remoteIpBlocks\[0\]: /);
});

test('compile_empty_string_value_is_invalid', () => {
  refused(from({ principals: [''] }), 'Invalid', /^spec\.rules\[0\]\.from\[0\]\.source\.principals\[0\]: empty string/);
});

test('compile_value_of_wrong_type_is_invalid', () => {
  refused(from({ namespaces: [{ name: 'x' }] }), 'Invalid', 'spec.rules[0].from[0].source.namespaces[0]: {"name":"x"} is not a string');
  refused(from({ namespaces: 'shop' }), 'Invalid', 'spec.rules[0].from[0].source.namespaces: "shop" is not a list');
});

test('compile_empty_source_is_invalid_as_in_istio', () => {
  refused(from({}), 'Invalid', /^spec\.rules\[0\]\.from\[0\]\.source: the source sets no field/);
});

test('compile_missing_source_is_invalid', () => {
  refused(rule({ from: [{}] }), 'Invalid', 'spec.rules[0].from[0].source: is missing');
});

test('compile_empty_from_list_is_invalid', () => {
  refused(rule({ from: [] }), 'Invalid', /^spec\.rules\[0\]\.from: an empty list is refused/);
});

test('compile_unknown_source_field_is_invalid', () => {
  refused(from({ principal: ['x'] }), 'Invalid', /^spec\.rules\[0\]\.from\[0\]\.source\.principal: unknown field/);
});

// --- operation ---

test('compile_ports_are_decimal_strings_compiled_to_numbers', () => {
  assert.deepEqual(ok(to({ ports: ['8080', '0', '65535'], notPorts: ['22'] })).policy.rules[0]?.to[0], { ports: [8080, 0, 65535], notPorts: [22] });
});

test('compile_port_out_of_range_is_invalid', () => {
  refused(to({ ports: ['65536'] }), 'Invalid', 'spec.rules[0].to[0].operation.ports[0]: "65536" is not a port (a decimal number 0..65535, written as a string)');
});

test('compile_port_not_decimal_is_invalid', () => {
  refused(to({ ports: ['http'] }), 'Invalid', /^spec\.rules\[0\]\.to\[0\]\.operation\.ports\[0\]: "http" is not a port/);
  refused(to({ notPorts: ['-1'] }), 'Invalid', /^spec\.rules\[0\]\.to\[0\]\.operation\.notPorts\[0\]: "-1" is not a port/);
  refused(to({ ports: [80.5] }), 'Invalid', /^spec\.rules\[0\]\.to\[0\]\.operation\.ports\[0\]: 80\.5 is not a port/);
  refused(to({ ports: [80] }), 'Invalid', 'spec.rules[0].to[0].operation.ports[0]: 80 is not a port (a decimal number 0..65535, written as a string)');
});

test('compile_l7_operation_fields_kept', () => {
  const op = { hosts: ['*.example.com'], notHosts: ['admin.example.com'], methods: ['GET'], notMethods: ['DELETE'], paths: ['/api/*'], notPaths: ['/admin'] };
  assert.deepEqual(ok(to(op)).policy.rules[0]?.to[0], op);
});

test('compile_path_templates_accepted_as_the_engine_matches_them', () => {
  assert.deepEqual(ok(to({ paths: ['/store/{*}/items', '/files/{**}'] })).policy.rules[0]?.to[0]?.paths, ['/store/{*}/items', '/files/{**}']);
});

test('compile_path_template_with_operator_after_match_any_is_invalid', () => {
  refused(to({ paths: ['/a/{**}/{*}'] }), 'Invalid', /^spec\.rules\[0\]\.to\[0\]\.operation\.paths\[0\]: "\/a\/\{\*\*\}\/\{\*\}": \{\*\*\} must be the last segment/);
});

test('compile_path_with_brace_outside_an_operator_is_invalid', () => {
  refused(to({ notPaths: ['/a/{id}'] }), 'Invalid', /^spec\.rules\[0\]\.to\[0\]\.operation\.notPaths\[0\]: "\/a\/\{id\}" holds '\{' or '\}'/);
});

test('compile_empty_operation_is_invalid', () => {
  refused(to({}), 'Invalid', /^spec\.rules\[0\]\.to\[0\]\.operation: the operation sets no field/);
});

// --- when ---

test('compile_when_known_keys_kept', () => {
  const c = [
    { key: 'source.namespace', values: ['shop'] },
    { key: 'source.principal', notValues: ['cluster.local/ns/a/sa/b'] },
    { key: 'request.headers[User-Agent]', values: ['curl*'] },
    { key: 'connection.sni', values: ['a.example.com'] },
  ];
  assert.deepEqual(ok(rule({ when: c })).policy.rules[0]?.when, c);
});

test('compile_when_unknown_key_is_invalid_listing_known_keys', () => {
  refused(ap({ rules: [{}, { when: [{ key: 'request.foo', values: ['x'] }] }] }), 'Invalid', /^spec\.rules\[1\]\.when\[0\]\.key: "request\.foo" is not a condition key \(known: source\.ip, .*request\.headers\[<name>\]/);
});

test('compile_when_header_key_with_empty_name_is_invalid', () => {
  refused(when({ key: 'request.headers[]', values: ['x'] }), 'Invalid', /is not a condition key/);
});

test('compile_when_without_values_is_invalid', () => {
  refused(when({ key: 'source.ip' }), 'Invalid', 'spec.rules[0].when[0]: at least one of values or notValues must be set for key "source.ip"');
});

test('compile_when_ip_values_must_be_ips_and_are_canonical', () => {
  assert.deepEqual(ok(when({ key: 'source.ip', values: ['10.0.0.9/16'], notValues: ['FE80::1'] })).policy.rules[0]?.when[0], {
    key: 'source.ip',
    values: ['10.0.0.0/16'],
    notValues: ['fe80::1'],
  });
  refused(when({ key: 'destination.ip', values: ['10.0.0.300'] }), 'Invalid', 'spec.rules[0].when[0].values[0]: "10.0.0.300" is not an IP address or CIDR block');
  refused(when({ key: 'remote.ip', notValues: ['x'] }), 'Invalid', /^spec\.rules\[0\]\.when\[0\]\.notValues\[0\]: "x" is not an IP/);
});

test('compile_when_destination_port_values_must_be_ports', () => {
  assert.deepEqual(ok(when({ key: 'destination.port', values: ['080'] })).policy.rules[0]?.when[0]?.values, ['80']);
  refused(when({ key: 'destination.port', values: ['99999'] }), 'Invalid', /^spec\.rules\[0\]\.when\[0\]\.values\[0\]: "99999" is not a port/);
});

// --- enforcement at the node agent ---

test('enforcement_l4_only_rules_are_enforced_as_written', () => {
  const r = ok(ap({ action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['a'] } }], to: [{ operation: { ports: ['80'] } }], when: [{ key: 'source.ip', values: ['10.0.0.0/8'] }] }] }));
  assert.equal(r.enforcement.at, 'node-agent');
  assert.equal(r.enforcement.complete, true);
  assert.deepEqual(r.enforcement.rules, [{ rule: 0, nodeAgent: 'as-written', l7Fields: [] }]);
  assert.match(enforcementMessage(r.enforcement), /every rule as written/);
});

test('enforcement_allow_rule_with_l7_field_is_dropped_at_the_node_agent', () => {
  const r = ok(ap({ action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['a'] } }] }, { to: [{ operation: { methods: ['GET'], ports: ['80'] } }] }] }));
  assert.equal(r.enforcement.complete, false);
  assert.deepEqual(r.enforcement.rules[1], { rule: 1, nodeAgent: 'dropped', l7Fields: ['to[0].operation.methods'] });
  assert.match(enforcementMessage(r.enforcement), /rules\[1\] holds L7 fields \(to\[0\]\.operation\.methods\).*dropped there and matches nothing \(fail closed\)/);
});

test('enforcement_audit_rule_with_l7_field_is_dropped_at_the_node_agent', () => {
  const r = ok(ap({ action: 'AUDIT', rules: [{ when: [{ key: 'request.headers[x-debug]', values: ['1'] }] }] }));
  assert.deepEqual(r.enforcement.rules[0], { rule: 0, nodeAgent: 'dropped', l7Fields: ['when[0].key request.headers[x-debug]'] });
});

test('enforcement_deny_rule_with_l7_field_applies_to_the_whole_port', () => {
  const r = ok(ap({ action: 'DENY', rules: [{ from: [{ source: { requestPrincipals: ['*'], namespaces: ['x'] } }], to: [{ operation: { paths: ['/admin'], ports: ['8080'] } }] }] }));
  assert.deepEqual(r.enforcement.rules[0], { rule: 0, nodeAgent: 'whole-port', l7Fields: ['from[0].source.requestPrincipals', 'to[0].operation.paths'] });
  assert.match(enforcementMessage(r.enforcement), /denies every connection its other fields match, e\.g\. the whole port \(fail closed\)/);
});

test('enforcement_deny_rule_with_only_l7_operation_denies_the_whole_workload_fail_closed', () => {
  const r = ok(ap({ action: 'DENY', rules: [{ from: [{ source: { namespaces: ['x'] } }], to: [{ operation: { methods: ['DELETE'] } }] }] }));
  assert.equal(r.enforcement.rules[0]?.nodeAgent, 'whole-port');
  assert.match(enforcementMessage(r.enforcement), /rules\[0\] holds L7 fields \(to\[0\]\.operation\.methods\)/);
});

test('enforcement_deny_rule_with_l7_when_is_widened_fail_closed', () => {
  const r = ok(ap({ action: 'DENY', rules: [{ to: [{ operation: { ports: ['80'] } }], when: [{ key: 'request.headers[x-token]', notValues: ['s3cret'] }] }] }));
  assert.equal(r.enforcement.rules[0]?.nodeAgent, 'whole-port');
});

test('enforcement_deny_rule_keeping_an_l4_operation_is_widened', () => {
  const r = ok(ap({ action: 'DENY', rules: [{ to: [{ operation: { methods: ['DELETE'] } }, { operation: { ports: ['22'] } }] }] }));
  assert.equal(r.enforcement.rules[0]?.nodeAgent, 'whole-port');
});

test('enforcement_remote_ip_and_sni_are_l7_at_the_node_agent', () => {
  const r = ok(ap({ action: 'DENY', rules: [{ from: [{ source: { remoteIpBlocks: ['1.2.3.4'] } }], when: [{ key: 'connection.sni', values: ['x'] }] }] }));
  assert.deepEqual(r.enforcement.rules[0]?.l7Fields, ['from[0].source.remoteIpBlocks', 'when[0].key connection.sni']);
});

test('enforcement_targets_policy_is_the_waypoints', () => {
  const r = ok(ap({ targetRefs: [{ kind: 'Service', name: 'web' }], rules: [{ to: [{ operation: { paths: ['/x'] } }] }] }));
  assert.match(enforcementMessage(r.enforcement), /enforced by the waypoint of each target \(Service web\)/);
});

test('compile_deny_with_no_rules_is_accepted_with_a_warning', () => {
  const r = ok(ap({ action: 'DENY' }));
  assert.match(r.warnings[0] ?? '', /denies nothing/);
});

test('compile_hostile_long_value_is_cut_in_the_message', () => {
  const r = compileAuthorizationPolicy(ap({ action: 'x'.repeat(10_000) }), OPTS);
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.message.length < 400, 'message bounded');
});
