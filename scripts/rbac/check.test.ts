import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../local-cluster/apiserver/kinds.js';
import { serviceAccountSubject } from '../../local-cluster/apiserver/rbac.js';
import { checkRbac, type Component } from './check.js';
import type { KubeCall } from './kube-calls.js';

const V1 = 'rbac.authorization.k8s.io/v1';
type Rule = { apiGroups?: string[]; resources?: string[]; verbs: string[]; resourceNames?: string[]; nonResourceURLs?: string[] };
const clusterRole = (name: string, ...rules: Rule[]): KObject => ({ apiVersion: V1, kind: 'ClusterRole', metadata: { name }, rules });
const bindTo = (role: string, sa: string): KObject => ({
  apiVersion: V1,
  kind: 'ClusterRoleBinding',
  metadata: { name: role },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
  subjects: [{ kind: 'ServiceAccount', name: sa, namespace: 'ambient-system' }],
});
const call = (verb: string, group: string, resource: string): KubeCall => ({ verb, group, resource, at: 'controller/x.ts:1' });
const controller = (...calls: KubeCall[]): Component => ({ name: 'controller', subject: serviceAccountSubject('ambient-system', 'ambient-controller'), calls });
const podsReader = (verbs: string[]) => [clusterRole('ctl', { apiGroups: [''], resources: ['pods'], verbs }), bindTo('ctl', 'ambient-controller')];

test('rbac_check_passes_when_the_rules_are_exactly_what_the_code_calls', () => {
  assert.deepEqual(checkRbac(podsReader(['list', 'watch']), [controller(call('list', '', 'pods'), call('watch', '', 'pods'))]), []);
});

test('rbac_check_fails_on_a_granted_verb_the_code_never_uses', () => {
  assert.deepEqual(checkRbac(podsReader(['list', 'watch', 'delete']), [controller(call('list', '', 'pods'), call('watch', '', 'pods'))]), [
    'ClusterRole "ctl" rule 1 grants delete pods, which no code of controller uses',
  ]);
});

test('rbac_check_fails_on_a_call_no_rule_grants_naming_where_it_is', () => {
  assert.deepEqual(checkRbac(podsReader(['list']), [controller(call('list', '', 'pods'), { ...call('patch', 'ambient.dev', 'rollouts/status'), at: 'controller/rollout-driver.ts:242' })]), [
    'controller calls patch rollouts/status.ambient.dev (controller/rollout-driver.ts:242), which no role bound to it grants',
  ]);
});

test('rbac_check_fails_on_wildcard_verbs_resources_and_groups', () => {
  const objs = [clusterRole('ctl', { apiGroups: ['*'], resources: ['pods'], verbs: ['list'] }, { apiGroups: [''], resources: ['*'], verbs: ['list'] }, { apiGroups: [''], resources: ['pods'], verbs: ['*'] }), bindTo('ctl', 'ambient-controller')];
  const problems = checkRbac(objs, [controller(call('list', '', 'pods'))]);
  assert.ok(problems.includes('ClusterRole "ctl" rule 1: wildcard in apiGroups (*): name exactly what the code uses'), problems.join('\n'));
  assert.ok(problems.includes('ClusterRole "ctl" rule 2: wildcard in resources (*): name exactly what the code uses'));
  assert.ok(problems.includes('ClusterRole "ctl" rule 3: wildcard in verbs (*): name exactly what the code uses'));
  // A subresource wildcard is one too.
  const sub = checkRbac([clusterRole('ctl', { apiGroups: [''], resources: ['*/status'], verbs: ['patch'] }), bindTo('ctl', 'ambient-controller')], [controller(call('patch', '', 'pods/status'))]);
  assert.ok(sub.some((p) => p.startsWith('ClusterRole "ctl" rule 1: wildcard in resources')), sub.join('\n'));
});

test('rbac_check_fails_on_resource_names_that_can_never_match', () => {
  const objs = [clusterRole('ctl', { apiGroups: [''], resources: ['secrets'], resourceNames: ['ambient-ca'], verbs: ['get', 'create', 'deletecollection'] }), bindTo('ctl', 'ambient-controller')];
  const problems = checkRbac(objs, [controller(call('get', '', 'secrets'), call('create', '', 'secrets'), call('deletecollection', '', 'secrets'))]);
  assert.deepEqual(problems, ['ClusterRole "ctl" rule 1: resourceNames never match create, deletecollection (those requests name no object)']);
});

const byName = (verb: string, group: string, resource: string): KubeCall => ({ ...call(verb, group, resource), byName: true });
const dsRule = (extra: { resourceNames?: string[] } = {}) => [clusterRole('ctl', { apiGroups: ['apps'], resources: ['daemonsets'], verbs: ['get', 'watch'], ...extra }), bindTo('ctl', 'ambient-controller')];

test('rbac_check_accepts_resource_names_on_a_watch_the_code_limits_to_one_object_by_name', () => {
  assert.deepEqual(checkRbac(dsRule({ resourceNames: ['ambient-node-agent'] }), [controller(call('get', 'apps', 'daemonsets'), byName('watch', 'apps', 'daemonsets'))]), []);
});

test('rbac_check_requires_resource_names_when_the_code_watches_one_object_by_name', () => {
  assert.deepEqual(checkRbac(dsRule(), [controller(call('get', 'apps', 'daemonsets'), byName('watch', 'apps', 'daemonsets'))]), [
    'ClusterRole "ctl" rule 1 grants watch daemonsets.apps of every object, while the code of controller asks for one object only (fieldSelector metadata.name=...): name it with resourceNames',
  ]);
});

test('rbac_check_fails_when_resource_names_limit_a_watch_of_the_whole_collection', () => {
  const problems = checkRbac(dsRule({ resourceNames: ['ambient-node-agent'] }), [controller(call('get', 'apps', 'daemonsets'), call('watch', 'apps', 'daemonsets'))]);
  assert.deepEqual(problems, [
    'ClusterRole "ctl" rule 1 grants watch daemonsets.apps of ambient-node-agent only, but no code of controller limits its watch to one object (fieldSelector metadata.name=...)',
    "controller calls watch daemonsets.apps (controller/x.ts:1), which no role bound to it grants on every object (its rule names objects, and this call selects none by name)",
  ]);
});

test('rbac_check_keeps_a_whole_collection_rule_when_the_code_also_watches_it_all', () => {
  assert.deepEqual(checkRbac(dsRule(), [controller(call('get', 'apps', 'daemonsets'), call('watch', 'apps', 'daemonsets'), byName('watch', 'apps', 'daemonsets'))]), []);
});

test('rbac_check_fails_on_non_resource_urls_and_on_a_role_bound_to_no_program', () => {
  const objs = [clusterRole('metrics', { nonResourceURLs: ['/metrics'], verbs: ['get'] }), bindTo('metrics', 'someone-else')];
  const problems = checkRbac(objs, [controller()]);
  assert.ok(problems.includes('ClusterRole "metrics" rule 1: nonResourceURLs /metrics: no program requests a non-resource URL'), problems.join('\n'));
  assert.ok(problems.includes('ClusterRole "metrics" is bound to none of the programs (controller)'));
});

test('rbac_check_counts_a_rule_used_when_any_program_bound_to_it_uses_it', () => {
  const objs = [
    clusterRole('discovery', { apiGroups: [''], resources: ['configmaps'], resourceNames: ['ambient-ca-root'], verbs: ['get'] }),
    { ...bindTo('discovery', 'ambient-node-agent'), subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'system:serviceaccounts' }] },
  ];
  const waypoint: Component = { name: 'waypoint', subject: serviceAccountSubject('apps', 'waypoint'), calls: [call('get', '', 'configmaps')] };
  assert.deepEqual(checkRbac(objs, [controller(), waypoint]), []);
});
