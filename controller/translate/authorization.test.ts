// AuthorizationPolicies through translate(): Policy resources, one bad policy rejected alone
// with a Problem and Accepted=False, the Enforced condition for node-agent and targetRefs
// policies (waypoint present or not), dry run, and statuses' order and generation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Policy, Resource } from '../../core/config/model.js';
import type { AuthorizationPolicy, PolicyStatus, TranslationResult } from './input.js';
import { cluster, endpointSlice, namespace, pod, problemsOf, service, TD, waypointGateway } from './fixtures.js';
import { translate } from './translate.js';

function ap(name: string, ns: string, spec: unknown, meta: Record<string, unknown> = {}): AuthorizationPolicy {
  return { apiVersion: 'ambient.dev/v1', kind: 'AuthorizationPolicy', metadata: { name, namespace: ns, generation: 3, ...meta }, spec };
}

function run(policies: AuthorizationPolicy[], extra: Parameters<typeof cluster>[0] = {}, rootNamespace?: string): TranslationResult {
  return translate(cluster({ namespaces: [namespace('shop'), namespace('ambient-system')], authorizationPolicies: policies, ...extra }), {
    trustDomain: TD,
    ...(rootNamespace ? { rootNamespace } : {}),
  });
}

const policies = (r: TranslationResult): Policy[] => r.resources.filter((x): x is Resource<'Policy'> => x.kind === 'Policy').map((x) => x.body);
const statusOf = (r: TranslationResult, ns: string, name: string): PolicyStatus => {
  const s = r.policyStatuses.find((x) => x.namespace === ns && x.name === name);
  assert.ok(s, `no status for ${ns}/${name}`);
  return s;
};
const cond = (s: PolicyStatus, type: string) => s.conditions.find((c) => c.type === type);

test('authz_malformed_policy_is_rejected_alone_while_a_valid_one_beside_it_is_emitted', () => {
  const r = run([
    ap('bad', 'shop', { selector: { matchLabels: { app: 'web' } }, action: 'DENY', rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/8', '10.0.0.0/33'] } }] }] }),
    ap('good', 'shop', { action: 'DENY', rules: [{ from: [{ source: { principals: ['cluster.local/ns/x/sa/y'] } }] }] }),
  ]);
  const good = policies(r).find((p) => p.key === 'shop/good');
  assert.deepEqual(good?.rules[0]?.from, [{ principals: ['cluster.local/ns/x/sa/y'] }], 'the valid policy is compiled as written');
  const msg = 'spec.rules[0].from[0].source.ipBlocks[1]: "10.0.0.0/33" is not an IP address or CIDR block';
  const accepted = cond(statusOf(r, 'shop', 'bad'), 'Accepted');
  assert.equal(accepted?.status, 'False');
  assert.equal(accepted?.reason, 'Invalid');
  assert.equal(accepted?.message, `${msg}. Until it is fixed it is enforced fail-closed: every connection to the workloads it selects is denied.`);
  assert.equal(cond(statusOf(r, 'shop', 'bad'), 'Enforced'), undefined);
  assert.match(problemsOf(r, 'AuthorizationPolicy', 'shop/bad')[0]?.message ?? '', /^Invalid: spec\.rules\[0\].*; Until it is fixed it is enforced fail-closed: every connection/);
  assert.equal(cond(statusOf(r, 'shop', 'good'), 'Accepted')?.status, 'True');
  assert.deepEqual(problemsOf(r, 'AuthorizationPolicy', 'shop/good'), []);
});

test('authz_malformed_deny_is_enforced_fail_closed_as_deny_all_for_its_selector', () => {
  const r = run([ap('bad', 'shop', { selector: { matchLabels: { app: 'web' } }, action: 'DENY', rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/33'] } }] }] })]);
  const standIn = policies(r).find((p) => p.key === 'shop/bad');
  assert.ok(standIn, 'a stand-in is emitted under the same key');
  assert.equal(standIn.action, 'DENY');
  assert.deepEqual(standIn.selector, { app: 'web' });
  assert.deepEqual(standIn.rules, [{ from: [], to: [], when: [] }]);
  assert.match(standIn.rejected ?? '', /ipBlocks\[0\]: "10\.0\.0\.0\/33"/);
});

test('authz_malformed_allow_is_enforced_fail_closed_as_allow_nothing', () => {
  const r = run([ap('bad', 'shop', { action: 'ALLOW', rules: [{ to: [{ operation: { ports: ['99999'] } }] }] })]);
  const standIn = policies(r).find((p) => p.key === 'shop/bad');
  assert.equal(standIn?.action, 'ALLOW');
  assert.deepEqual(standIn?.rules, []);
  assert.match(cond(statusOf(r, 'shop', 'bad'), 'Accepted')?.message ?? '', /it allows nothing to every workload of namespace shop \(only other ALLOW policies allow\)/);
});

test('authz_malformed_audit_needs_no_stand_in', () => {
  const r = run([ap('bad', 'shop', { action: 'AUDIT', rules: [{ to: [{ operation: { ports: ['99999'] } }] }] })]);
  assert.equal(policies(r).length, 0);
  assert.match(cond(statusOf(r, 'shop', 'bad'), 'Accepted')?.message ?? '', /It is not enforced\.$/);
});

test('authz_custom_policy_is_unsupported_and_fails_closed', () => {
  const r = run([ap('ext', 'shop', { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{}] })]);
  const c = cond(statusOf(r, 'shop', 'ext'), 'Accepted');
  assert.equal(c?.status, 'False');
  assert.equal(c?.reason, 'Unsupported');
  assert.deepEqual(policies(r).map((p) => [p.key, p.action, p.rules.length]), [['shop/ext', 'DENY', 1]], 'the external check cannot run: deny');
});

test('authz_l4_policy_is_accepted_and_enforced_at_the_node_agent', () => {
  const r = run([ap('p', 'shop', { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['front'] } }], to: [{ operation: { ports: ['8080'] } }] }] })]);
  const s = statusOf(r, 'shop', 'p');
  assert.equal(s.generation, 3);
  assert.deepEqual(cond(s, 'Accepted'), { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'The policy is valid and compiled.' });
  const e = cond(s, 'Enforced');
  assert.equal(e?.status, 'True');
  assert.equal(e?.reason, 'Enforced');
  assert.match(e?.message ?? '', /node agent of each selected workload: every rule as written/);
  assert.deepEqual(policies(r)[0]?.rules[0]?.to, [{ ports: [8080] }]);
});

test('authz_allow_rule_with_method_is_partially_enforced', () => {
  const r = run([ap('p', 'shop', { rules: [{ to: [{ operation: { methods: ['GET'] } }] }] })]);
  const e = cond(statusOf(r, 'shop', 'p'), 'Enforced');
  assert.equal(e?.status, 'False');
  assert.equal(e?.reason, 'PartiallyEnforced');
  assert.match(e?.message ?? '', /rules\[0\] holds L7 fields \(to\[0\]\.operation\.methods\).*matches nothing/);
});

test('authz_deny_rule_with_path_and_port_is_partially_enforced_on_the_whole_port', () => {
  const r = run([ap('p', 'shop', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin'], ports: ['8080'] } }] }] })]);
  const e = cond(statusOf(r, 'shop', 'p'), 'Enforced');
  assert.equal(e?.reason, 'PartiallyEnforced');
  assert.match(e?.message ?? '', /whole port/);
});

test('authz_deny_rule_with_only_a_path_says_it_denies_every_connection_at_the_node_agent', () => {
  const r = run([ap('p', 'shop', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin'] } }] }] })]);
  const e = cond(statusOf(r, 'shop', 'p'), 'Enforced');
  assert.equal(e?.status, 'False');
  assert.equal(e?.reason, 'PartiallyEnforced');
  assert.match(e?.message ?? '', /denies every connection its other fields match/);
});

test('authz_warnings_are_appended_to_the_accepted_message', () => {
  const r = run([ap('p', 'shop', { action: 'DENY', rules: [{ from: [{ source: { principals: ['spiffe://cluster.local/ns/a/sa/b'] } }] }] })]);
  const a = cond(statusOf(r, 'shop', 'p'), 'Accepted');
  assert.equal(a?.status, 'True');
  assert.match(a?.message ?? '', /Warnings: spec\.rules\[0\]\.from\[0\]\.source\.principals: .*matches no peer/);
});

test('authz_dry_run_policy_is_emitted_with_dry_run_and_not_enforced', () => {
  const r = run([ap('p', 'shop', { action: 'DENY', rules: [{}] }, { annotations: { 'ambient.dev/dry-run': 'true' } })]);
  assert.equal(policies(r)[0]?.dryRun, true);
  const e = cond(statusOf(r, 'shop', 'p'), 'Enforced');
  assert.equal(e?.status, 'False');
  assert.equal(e?.reason, 'DryRun');
});

test('authz_root_namespace_policy_is_global_and_root_is_configurable', () => {
  assert.equal(policies(run([ap('p', 'ambient-system', {})]))[0]?.scope, 'global');
  assert.equal(policies(run([ap('p', 'ambient-system', {})], {}, 'mesh-root'))[0]?.scope, 'namespace');
  assert.equal(policies(run([ap('p', 'mesh-root', {})], { namespaces: [namespace('mesh-root')] }, 'mesh-root'))[0]?.scope, 'global');
});

test('authz_target_refs_service_without_waypoint_is_enforced_nowhere_and_said_loudly', () => {
  const r = run([ap('p', 'shop', { targetRefs: [{ kind: 'Service', name: 'web' }], rules: [{ to: [{ operation: { methods: ['GET'] } }] }] })], {
    services: [service('web', { ns: 'shop', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80 }] })],
  });
  const e = cond(statusOf(r, 'shop', 'p'), 'Enforced');
  assert.equal(e?.status, 'False');
  assert.equal(e?.reason, 'WaypointRequired');
  assert.match(e?.message ?? '', /^NOT ENFORCED for Service web: Service shop\/web has no waypoint/);
  assert.match(problemsOf(r, 'AuthorizationPolicy', 'shop/p')[0]?.message ?? '', /NOT ENFORCED/);
  assert.equal(policies(r)[0]?.scope, 'targets', 'still emitted, for waypoints and authz check');
});

test('authz_target_refs_missing_service_is_waypoint_required', () => {
  const r = run([ap('p', 'shop', { targetRefs: [{ kind: 'Service', name: 'nope' }] })]);
  assert.match(cond(statusOf(r, 'shop', 'p'), 'Enforced')?.message ?? '', /Service shop\/nope does not exist/);
});

test('authz_target_refs_service_with_waypoint_is_enforced_by_that_waypoint', () => {
  const r = run([ap('p', 'shop', { targetRefs: [{ kind: 'Service', name: 'web' }] })], {
    gateways: [waypointGateway('wp', 'shop')],
    services: [
      service('web', { ns: 'shop', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80 }], labels: { 'ambient.dev/use-waypoint': 'wp' } }),
      service('wp', { ns: 'shop', clusterIP: '10.96.0.11', ports: [{ name: 'mesh', port: 15008 }] }),
    ],
    pods: [pod('wp-1', { ns: 'shop', uid: 'w1', labels: { 'gateway.networking.k8s.io/gateway-name': 'wp' } })],
    endpointSlices: [endpointSlice('wp', [{ uid: 'w1' }], { ns: 'shop' })],
  });
  const e = cond(statusOf(r, 'shop', 'p'), 'Enforced');
  assert.equal(e?.status, 'True', e?.message);
  assert.equal(e?.reason, 'Enforced', e?.message);
  assert.match(e?.message ?? '', /enforced by the waypoint of each target .* Targets: Service web by waypoint shop\/wp\./);
});

test('authz_target_refs_waypoint_gateway_is_its_own_waypoint', () => {
  const r = run([ap('p', 'shop', { targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'wp' }] })], { gateways: [waypointGateway('wp', 'shop')] });
  assert.equal(cond(statusOf(r, 'shop', 'p'), 'Enforced')?.reason, 'Enforced');
  assert.match(cond(statusOf(r, 'shop', 'p'), 'Enforced')?.message ?? '', /Gateway wp by waypoint shop\/wp/);
  const other = run([ap('p', 'shop', { targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'ingress' }] })]);
  assert.match(cond(statusOf(other, 'shop', 'p'), 'Enforced')?.message ?? '', /Gateway shop\/ingress is not a waypoint/);
});

test('authz_policy_without_name_has_a_problem_and_no_status', () => {
  const r = run([{ metadata: { namespace: 'shop' }, spec: {} }, ap('ok', 'shop', {})]);
  assert.deepEqual(r.policyStatuses.map((s) => s.name), ['ok']);
  assert.equal(problemsOf(r, 'AuthorizationPolicy', 'shop/<unnamed>').length, 1);
});

test('authz_statuses_sorted_and_generation_zero_when_absent', () => {
  const r = run([ap('b', 'shop', {}), ap('a', 'shop', {}, { generation: undefined }), ap('z', 'ambient-system', {})]);
  assert.deepEqual(r.policyStatuses.map((s) => `${s.namespace}/${s.name}/${s.generation}`), ['ambient-system/z/3', 'shop/a/0', 'shop/b/3']);
});

test('authz_hostile_objects_do_not_stop_translation', () => {
  const r = run([null as never, { metadata: 'x' } as never, ap('p', 'shop', { rules: 'all' }), ap('q', 'shop', { rules: [{ when: [{ key: 'request.foo', values: ['x'] }] }] }), ap('ok', 'shop', {})]);
  assert.deepEqual(policies(r).map((p) => [p.key, p.rejected === undefined]), [['shop/ok', true], ['shop/p', false], ['shop/q', false]], 'refused ones fail closed as ALLOW-nothing stand-ins');
  assert.match(cond(statusOf(r, 'shop', 'q'), 'Accepted')?.message ?? '', /^spec\.rules\[0\]\.when\[0\]\.key: "request\.foo" is not a condition key \(known: /);
});
