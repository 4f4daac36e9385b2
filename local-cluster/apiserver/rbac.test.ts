import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from './kinds.js';
import { evaluateRbac, indexRbacObjects, ruleAllows, rulesOf, serviceAccountSubject, type RbacAttributes } from './rbac.js';

const V1 = 'rbac.authorization.k8s.io/v1';
type Rule = { apiGroups?: string[]; resources?: string[]; verbs: string[]; resourceNames?: string[]; nonResourceURLs?: string[] };
const clusterRole = (name: string, ...rules: Rule[]): KObject => ({ apiVersion: V1, kind: 'ClusterRole', metadata: { name }, rules });
const role = (namespace: string, name: string, ...rules: Rule[]): KObject => ({ apiVersion: V1, kind: 'Role', metadata: { name, namespace }, rules });
const sa = (namespace: string, name: string) => ({ kind: 'ServiceAccount', name, namespace });
const crb = (name: string, roleName: string, ...subjects: Array<Record<string, string>>): KObject => ({ apiVersion: V1, kind: 'ClusterRoleBinding', metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName }, subjects });
const rb = (namespace: string, name: string, roleKind: 'Role' | 'ClusterRole', roleName: string, ...subjects: Array<Record<string, string>>): KObject => ({
  apiVersion: V1,
  kind: 'RoleBinding',
  metadata: { name, namespace },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: roleName },
  subjects,
});
const web = serviceAccountSubject('apps', 'web');
const decide = (objects: KObject[], a: RbacAttributes, who = web) => evaluateRbac(indexRbacObjects(objects), who, a);
const pods = (verb: string, extra: Partial<{ namespace: string; name: string; subresource: string }> = {}): RbacAttributes => ({ verb, group: '', resource: 'pods', ...extra });

test('rbac_cluster_role_binding_grants_in_every_namespace_and_at_the_cluster_scope', () => {
  const objs = [clusterRole('reader', { apiGroups: [''], resources: ['pods'], verbs: ['list'] }), crb('r', 'reader', sa('apps', 'web'))];
  assert.deepEqual(decide(objs, pods('list', { namespace: 'shop' })), { allowed: true, by: 'ClusterRoleBinding "r" of ClusterRole "reader"' });
  assert.equal(decide(objs, pods('list')).allowed, true);
  assert.equal(decide(objs, pods('watch')).allowed, false, 'another verb');
});

test('rbac_role_binding_grants_in_its_own_namespace_only', () => {
  const objs = [role('apps', 'editor', { apiGroups: [''], resources: ['pods'], verbs: ['create'] }), rb('apps', 'e', 'Role', 'editor', sa('apps', 'web'))];
  assert.equal(decide(objs, pods('create', { namespace: 'apps' })).allowed, true);
  assert.equal(decide(objs, pods('create', { namespace: 'shop' })).allowed, false);
  assert.equal(decide(objs, pods('create')).allowed, false, 'never at the cluster scope');
});

test('rbac_namespaced_role_binding_to_a_cluster_role_grants_its_rules_in_that_namespace', () => {
  const objs = [clusterRole('viewer', { apiGroups: [''], resources: ['pods'], verbs: ['get'] }), rb('apps', 'v', 'ClusterRole', 'viewer', sa('apps', 'web'))];
  assert.deepEqual(decide(objs, pods('get', { namespace: 'apps', name: 'p' })), { allowed: true, by: 'RoleBinding "apps/v" of ClusterRole "viewer"' });
  assert.equal(decide(objs, pods('get', { namespace: 'shop', name: 'p' })).allowed, false);
});

test('rbac_role_binding_to_a_role_of_another_namespace_grants_nothing', () => {
  const objs = [role('shop', 'editor', { apiGroups: [''], resources: ['pods'], verbs: ['get'] }), rb('apps', 'e', 'Role', 'editor', sa('apps', 'web'))];
  assert.equal(decide(objs, pods('get', { namespace: 'apps', name: 'p' })).allowed, false);
});

test('rbac_cluster_role_binding_to_a_role_is_ignored', () => {
  const bad: KObject = { ...crb('x', 'editor', sa('apps', 'web')), roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'editor' } };
  assert.equal(decide([role('apps', 'editor', { apiGroups: [''], resources: ['pods'], verbs: ['get'] }), bad], pods('get', { namespace: 'apps', name: 'p' })).allowed, false);
});

test('rbac_resource_names_limit_a_rule_to_those_objects_and_never_match_an_unnamed_list_or_create', () => {
  const objs = [clusterRole('ca', { apiGroups: [''], resources: ['secrets'], resourceNames: ['ambient-ca'], verbs: ['get', 'list', 'create'] }), crb('ca', 'ca', sa('apps', 'web'))];
  const secret = (verb: string, name?: string): RbacAttributes => ({ verb, group: '', resource: 'secrets', namespace: 'ambient-system', ...(name ? { name } : {}) });
  assert.equal(decide(objs, secret('get', 'ambient-ca')).allowed, true);
  assert.equal(decide(objs, secret('get', 'other')).allowed, false);
  assert.equal(decide(objs, secret('list')).allowed, false);
  assert.equal(decide(objs, secret('create')).allowed, false);
  // A list limited to one object by its field selector names it (request-attributes.ts).
  assert.equal(decide(objs, secret('list', 'ambient-ca')).allowed, true);
  assert.equal(decide(objs, secret('list', 'other')).allowed, false);
});

test('rbac_subresource_needs_its_own_rule', () => {
  const objs = [clusterRole('s', { apiGroups: [''], resources: ['pods/status'], verbs: ['patch'] }), crb('s', 's', sa('apps', 'web'))];
  assert.equal(decide(objs, pods('patch', { namespace: 'apps', name: 'p', subresource: 'status' })).allowed, true);
  assert.equal(decide(objs, pods('patch', { namespace: 'apps', name: 'p' })).allowed, false, 'the main resource');
  assert.equal(decide(objs, pods('patch', { namespace: 'apps', name: 'p', subresource: 'binding' })).allowed, false, 'another subresource');
  const main = [clusterRole('m', { apiGroups: [''], resources: ['pods'], verbs: ['patch'] }), crb('m', 'm', sa('apps', 'web'))];
  assert.equal(decide(main, pods('patch', { namespace: 'apps', name: 'p', subresource: 'status' })).allowed, false, 'the main resource does not grant its status');
});

test('rbac_wildcards_match_as_kubernetes_does', () => {
  const rule = { verbs: ['*'], apiGroups: ['*'], resources: ['*/status'], resourceNames: [], nonResourceURLs: [] };
  assert.equal(ruleAllows(rule, { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'status' }), true);
  assert.equal(ruleAllows(rule, { verb: 'patch', group: 'apps', resource: 'deployments' }), false);
  assert.equal(ruleAllows({ ...rule, resources: ['*'] }, { verb: 'get', group: 'x.io', resource: 'things', subresource: 'scale' }), true);
});

test('rbac_api_group_must_match_the_core_group_being_empty', () => {
  const rule = { verbs: ['get'], apiGroups: [''], resources: ['deployments'], resourceNames: [], nonResourceURLs: [] };
  assert.equal(ruleAllows(rule, { verb: 'get', group: 'apps', resource: 'deployments' }), false);
  assert.equal(ruleAllows({ ...rule, apiGroups: ['apps'] }, { verb: 'get', group: 'apps', resource: 'deployments' }), true);
});

test('rbac_group_system_serviceaccounts_binds_every_service_account_and_per_namespace_group_only_its_own', () => {
  const objs = [
    clusterRole('roots', { apiGroups: [''], resources: ['configmaps'], resourceNames: ['ambient-ca-root'], verbs: ['get'] }),
    crb('all', 'roots', { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'system:serviceaccounts' }),
    clusterRole('pods', { apiGroups: [''], resources: ['pods'], verbs: ['list'] }),
    crb('shop', 'pods', { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'system:serviceaccounts:shop' }),
  ];
  const cm: RbacAttributes = { verb: 'get', group: '', resource: 'configmaps', namespace: 'ambient-system', name: 'ambient-ca-root' };
  assert.equal(decide(objs, cm, serviceAccountSubject('anywhere', 'waypoint')).allowed, true);
  assert.equal(decide(objs, pods('list'), serviceAccountSubject('shop', 'x')).allowed, true);
  assert.equal(decide(objs, pods('list'), serviceAccountSubject('apps', 'x')).allowed, false);
});

test('rbac_service_account_subject_names_namespace_and_name_and_defaults_to_the_bindings_namespace', () => {
  const cr = clusterRole('viewer', { apiGroups: [''], resources: ['pods'], verbs: ['get'] });
  const at = pods('get', { namespace: 'apps', name: 'p' });
  assert.equal(decide([cr, crb('x', 'viewer', sa('shop', 'web'))], at).allowed, false, 'same name, other namespace');
  assert.equal(decide([cr, rb('apps', 'x', 'ClusterRole', 'viewer', { kind: 'ServiceAccount', name: 'web' })], at).allowed, true);
  assert.equal(decide([cr, crb('x', 'viewer', { kind: 'ServiceAccount', name: 'web' })], at).allowed, false, 'a ClusterRoleBinding has no namespace to default to');
  assert.equal(decide([cr, crb('x', 'viewer', { kind: 'User', name: 'system:serviceaccount:apps:web' })], at).allowed, true, 'the username as a User');
});

test('rbac_binding_to_a_missing_role_or_malformed_rules_grants_nothing', () => {
  assert.equal(decide([crb('x', 'nothing', sa('apps', 'web'))], pods('list')).allowed, false);
  const broken: KObject = { apiVersion: V1, kind: 'ClusterRole', metadata: { name: 'broken' }, rules: ['pods', null, { verbs: 'get' }] };
  assert.deepEqual(rulesOf(broken), [{ verbs: [], apiGroups: [], resources: [], resourceNames: [], nonResourceURLs: [] }]);
  assert.equal(decide([broken, crb('x', 'broken', sa('apps', 'web'))], pods('get', { namespace: 'apps', name: 'p' })).allowed, false);
});

test('rbac_non_resource_urls_by_cluster_role_binding_only', () => {
  const cr = clusterRole('metrics', { nonResourceURLs: ['/metrics', '/healthz/*'], verbs: ['get'] });
  assert.equal(decide([cr, crb('m', 'metrics', sa('apps', 'web'))], { verb: 'get', path: '/metrics' }).allowed, true);
  assert.equal(decide([cr, crb('m', 'metrics', sa('apps', 'web'))], { verb: 'get', path: '/healthz/ready' }).allowed, true);
  assert.equal(decide([cr, crb('m', 'metrics', sa('apps', 'web'))], { verb: 'get', path: '/debug' }).allowed, false);
  assert.equal(decide([cr, rb('apps', 'm', 'ClusterRole', 'metrics', sa('apps', 'web'))], { verb: 'get', path: '/metrics' }).allowed, false);
});

test('rbac_index_skips_objects_of_other_kinds_and_groups', () => {
  const fake: KObject = { apiVersion: 'example.com/v1', kind: 'ClusterRole', metadata: { name: 'viewer' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] };
  assert.equal(decide([fake, crb('x', 'viewer', sa('apps', 'web'))], pods('get', { namespace: 'apps', name: 'p' })).allowed, false);
});
