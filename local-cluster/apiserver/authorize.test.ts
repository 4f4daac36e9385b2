import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorize, forbiddenFor, serviceAccountRequester, type RequestAttributes, type Requester } from './authorize.js';

const sa = (ns: string, name = 'default'): Requester => serviceAccountRequester(`system:serviceaccount:${ns}:${name}`)!;
const admin: Requester = { kind: 'admin' };
const secret = (verb: RequestAttributes['verb'], namespace?: string, name?: string): RequestAttributes => ({
  verb,
  group: '',
  resource: 'secrets',
  ...(namespace !== undefined ? { namespace } : {}),
  ...(name !== undefined ? { name } : {}),
});
const allowed = (who: Requester, a: RequestAttributes) => authorize(who, a).allowed;

test('service_account_cannot_read_secrets_of_another_namespace', () => {
  for (const verb of ['get', 'list', 'watch'] as const) assert.equal(allowed(sa('x'), secret(verb, 'ambient-system', verb === 'get' ? 'ambient-ca' : undefined)), false, verb);
});

test('service_account_cannot_list_or_watch_secrets_at_the_cluster_scope', () => {
  assert.equal(allowed(sa('x'), secret('list')), false);
  assert.equal(allowed(sa('x'), secret('watch')), false);
});

test('service_account_cannot_write_secrets_of_another_namespace', () => {
  for (const verb of ['create', 'update', 'patch', 'delete', 'deletecollection'] as const) assert.equal(allowed(sa('x'), secret(verb, 'ambient-system', 'ambient-ca')), false, verb);
});

test('service_account_uses_secrets_of_its_own_namespace', () => {
  for (const verb of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] as const) assert.equal(allowed(sa('ambient-system', 'ambient-controller'), secret(verb, 'ambient-system', 'ambient-ca')), true, verb);
});

test('service_account_cannot_mint_tokens_or_create_pods_in_another_namespace', () => {
  assert.equal(allowed(sa('x'), { verb: 'create', group: '', resource: 'serviceaccounts', subresource: 'token', namespace: 'ambient-system', name: 'ambient-controller' }), false);
  assert.equal(allowed(sa('x'), { verb: 'create', group: '', resource: 'pods', namespace: 'ambient-system' }), false);
  assert.equal(allowed(sa('x'), { verb: 'create', group: '', resource: 'namespaces' }), false, 'cluster-scoped writes');
  assert.equal(allowed(sa('x'), { verb: 'create', group: '', resource: 'pods', namespace: 'x' }), true, 'its own namespace');
});

test('service_account_reads_other_kinds_anywhere_and_may_review_tokens', () => {
  assert.equal(allowed(sa('x'), { verb: 'list', group: '', resource: 'pods' }), true);
  assert.equal(allowed(sa('x'), { verb: 'get', group: '', resource: 'configmaps', namespace: 'ambient-system', name: 'ambient-ca-root' }), true);
  assert.equal(allowed(sa('ambient-system', 'ambient-controller'), { verb: 'create', group: 'authentication.k8s.io', resource: 'tokenreviews' }), true);
});

test('node_service_account_writes_across_namespaces_but_reads_no_foreign_secrets', () => {
  const node = sa('kube-system', 'ambient-node');
  assert.equal(allowed(node, { verb: 'create', group: '', resource: 'serviceaccounts', subresource: 'token', namespace: 'apps', name: 'default' }), true);
  assert.equal(allowed(node, { verb: 'patch', group: '', resource: 'pods', subresource: 'status', namespace: 'apps', name: 'p' }), true);
  assert.equal(allowed(node, { verb: 'create', group: '', resource: 'nodes' }), true);
  assert.equal(allowed(node, secret('get', 'ambient-system', 'ambient-ca')), false);
});

test('admin_may_do_everything', () => {
  assert.equal(allowed(admin, secret('list')), true);
  assert.equal(allowed(admin, secret('delete', 'ambient-system', 'ambient-ca')), true);
});

test('only_service_account_usernames_are_service_account_requesters', () => {
  assert.deepEqual(sa('x', 'web'), { kind: 'serviceaccount', username: 'system:serviceaccount:x:web', namespace: 'x', name: 'web' });
  assert.equal(serviceAccountRequester('system:node:node1'), undefined);
  assert.equal(serviceAccountRequester('system:serviceaccount:x'), undefined);
  assert.equal(serviceAccountRequester('system:serviceaccount:x:a:b'), undefined);
});

test('denials_read_as_rbac_denials', () => {
  const named = forbiddenFor(sa('x'), secret('get', 'ambient-system', 'ambient-ca'));
  assert.equal(named.code, 403);
  assert.equal(named.reason, 'Forbidden');
  assert.equal(named.message, 'secrets "ambient-ca" is forbidden: User "system:serviceaccount:x:default" cannot get resource "secrets" in API group "" in the namespace "ambient-system"');
  assert.deepEqual(named.details, { name: 'ambient-ca', kind: 'secrets' });
  const all = forbiddenFor(sa('x'), secret('list'));
  assert.equal(all.message, 'secrets is forbidden: User "system:serviceaccount:x:default" cannot list resource "secrets" in API group "" at the cluster scope');
  const token = forbiddenFor(sa('x'), { verb: 'create', group: '', resource: 'serviceaccounts', subresource: 'token', namespace: 'ambient-system', name: 'ambient-controller' });
  assert.match(token.message, /cannot create resource "serviceaccounts\/token" in API group "" in the namespace "ambient-system"$/);
});

test('controller_service_account_writes_status_of_mesh_and_gateway_kinds_in_every_namespace', () => {
  const ctrl = sa('ambient-system', 'ambient-controller');
  for (const verb of ['patch', 'update'] as const) {
    assert.equal(allowed(ctrl, { verb, group: 'ambient.dev', resource: 'authorizationpolicies', subresource: 'status', namespace: 'apps', name: 'p' }), true, verb);
    assert.equal(allowed(ctrl, { verb, group: 'ambient.dev', resource: 'peerauthentications', subresource: 'status', namespace: 'apps', name: 'p' }), true, verb);
    assert.equal(allowed(ctrl, { verb, group: 'gateway.networking.k8s.io', resource: 'gateways', subresource: 'status', namespace: 'apps', name: 'wp' }), true, verb);
  }
});

test('controller_service_account_still_cannot_write_a_spec_or_anything_else_in_another_namespace', () => {
  const ctrl = sa('ambient-system', 'ambient-controller');
  for (const verb of ['create', 'update', 'patch', 'delete'] as const) {
    assert.equal(allowed(ctrl, { verb, group: 'ambient.dev', resource: 'authorizationpolicies', namespace: 'apps', name: 'p' }), false, `spec ${verb}`);
  }
  assert.equal(allowed(ctrl, { verb: 'patch', group: '', resource: 'pods', subresource: 'status', namespace: 'apps', name: 'p' }), false, 'a core kind\'s status');
  assert.equal(allowed(ctrl, { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'status', namespace: 'apps', name: 'd' }), false);
  assert.equal(allowed(ctrl, { verb: 'create', group: '', resource: 'serviceaccounts', subresource: 'token', namespace: 'apps', name: 'default' }), false);
  assert.equal(allowed(ctrl, { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'apps', name: 'd' }), false);
  assert.equal(allowed(ctrl, secret('get', 'apps', 's')), false);
});

test('another_service_account_cannot_write_policy_status_in_another_namespace', () => {
  assert.equal(allowed(sa('apps', 'ambient-controller'), { verb: 'patch', group: 'ambient.dev', resource: 'authorizationpolicies', subresource: 'status', namespace: 'shop', name: 'p' }), false);
  assert.equal(allowed(sa('ambient-system', 'web'), { verb: 'patch', group: 'ambient.dev', resource: 'authorizationpolicies', subresource: 'status', namespace: 'shop', name: 'p' }), false);
});

test('controller_service_account_deploys_waypoint_objects_in_every_namespace_and_the_gateway_class', () => {
  const ctrl = sa('ambient-system', 'ambient-controller');
  for (const verb of ['create', 'update', 'patch', 'delete'] as const) {
    assert.equal(allowed(ctrl, { verb, group: '', resource: 'serviceaccounts', namespace: 'apps', name: 'waypoint' }), true, `serviceaccounts ${verb}`);
    assert.equal(allowed(ctrl, { verb, group: '', resource: 'services', namespace: 'apps', name: 'waypoint' }), true, `services ${verb}`);
    assert.equal(allowed(ctrl, { verb, group: 'apps', resource: 'deployments', namespace: 'apps', name: 'waypoint' }), true, `deployments ${verb}`);
  }
  assert.equal(allowed(ctrl, { verb: 'create', group: 'gateway.networking.k8s.io', resource: 'gatewayclasses', name: 'ambient-waypoint' }), true);
  assert.equal(allowed(ctrl, { verb: 'patch', group: 'gateway.networking.k8s.io', resource: 'gatewayclasses', subresource: 'status', name: 'ambient-waypoint' }), true);
  // Nothing else: no pods, no tokens, no Secrets, no other cluster-scoped kind.
  assert.equal(allowed(ctrl, { verb: 'create', group: '', resource: 'pods', namespace: 'apps', name: 'p' }), false);
  assert.equal(allowed(ctrl, { verb: 'create', group: '', resource: 'serviceaccounts', subresource: 'token', namespace: 'apps', name: 'waypoint' }), false);
  assert.equal(allowed(ctrl, { verb: 'create', group: '', resource: 'namespaces', name: 'x' }), false);
  // Another ServiceAccount of the same name elsewhere gets none of it.
  assert.equal(allowed(sa('apps', 'ambient-controller'), { verb: 'create', group: 'apps', resource: 'deployments', namespace: 'shop', name: 'waypoint' }), false);
  assert.equal(allowed(sa('apps', 'ambient-controller'), { verb: 'create', group: 'gateway.networking.k8s.io', resource: 'gatewayclasses', name: 'ambient-waypoint' }), false);
});

test('controller_service_account_creates_and_patches_httproutes_for_rollouts_but_never_deletes_them', () => {
  const ctrl = sa('ambient-system', 'ambient-controller');
  const route = (verb: 'create' | 'patch' | 'update' | 'delete') => ({ verb, group: 'gateway.networking.k8s.io', resource: 'httproutes', namespace: 'shop', name: 'echo' });
  assert.equal(allowed(ctrl, route('create')), true);
  assert.equal(allowed(ctrl, route('patch')), true);
  assert.equal(allowed(ctrl, route('delete')), false);
  assert.equal(allowed(ctrl, route('update')), false);
  assert.equal(allowed(ctrl, { verb: 'patch', group: 'ambient.dev', resource: 'rollouts', subresource: 'status', namespace: 'shop', name: 'echo' }), true);
  // The Rollout's spec: patch only, for the API's pause/resume/abort (the_controller_may_patch_a_rollouts_spec_anywhere_but_not_delete_it).
  assert.equal(allowed(ctrl, { verb: 'update', group: 'ambient.dev', resource: 'rollouts', namespace: 'shop', name: 'echo' }), false, 'never a whole Rollout');
  assert.equal(allowed(sa('apps', 'ambient-controller'), route('patch')), false);
});

test('only_the_controller_may_create_subject_access_reviews', () => {
  const sar = { verb: 'create', group: 'authorization.k8s.io', resource: 'subjectaccessreviews' } as const;
  assert.equal(allowed(sa('ambient-system', 'ambient-controller'), sar), true);
  assert.equal(allowed(sa('apps', 'web'), sar), false, 'a workload must not learn what others may do');
  assert.equal(allowed(admin, sar), true);
});

test('the_controller_may_patch_a_rollouts_spec_anywhere_but_not_delete_it', () => {
  const ctrl = sa('ambient-system', 'ambient-controller');
  const ro = (verb: RequestAttributes['verb']): RequestAttributes => ({ verb, group: 'ambient.dev', resource: 'rollouts', namespace: 'apps', name: 'echo' });
  assert.equal(allowed(ctrl, ro('patch')), true);
  assert.equal(allowed(ctrl, ro('delete')), false);
  assert.equal(allowed(ctrl, ro('update')), false);
  assert.equal(allowed(sa('other', 'x'), ro('patch')), false);
});

test('port_forward_is_create_on_pods_portforward_own_namespace_only_for_a_service_account', () => {
  const pf = (namespace: string): RequestAttributes => ({ verb: 'create', group: '', resource: 'pods', subresource: 'portforward', namespace, name: 'ambient-controller-0' });
  assert.equal(allowed(admin, pf('ambient-system')), true);
  assert.equal(allowed(sa('ambient-system', 'ambient-controller'), pf('ambient-system')), true);
  assert.equal(allowed(sa('x'), pf('ambient-system')), false, 'a pod of x may not open streams into the controller');
  assert.equal(
    forbiddenFor(sa('x'), pf('ambient-system')).message,
    'pods "ambient-controller-0" is forbidden: User "system:serviceaccount:x:default" cannot create resource "pods/portforward" in API group "" in the namespace "ambient-system"',
  );
});
