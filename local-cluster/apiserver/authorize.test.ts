import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { authorize, forbiddenFor, NO_RBAC, serviceAccountRequester, type RbacView, type RequestAttributes, type Requester } from './authorize.js';
import type { KObject } from './kinds.js';
import { indexRbacObjects } from './rbac.js';

const sa = (ns: string, name = 'default'): Requester => serviceAccountRequester(`system:serviceaccount:${ns}:${name}`)!;
const admin: Requester = { kind: 'admin' };
const secret = (verb: RequestAttributes['verb'], namespace?: string, name?: string): RequestAttributes => ({
  verb,
  group: '',
  resource: 'secrets',
  ...(namespace !== undefined ? { namespace } : {}),
  ...(name !== undefined ? { name } : {}),
});
const allowed = (who: Requester, a: RequestAttributes) => authorize(who, a, NO_RBAC).allowed;

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
  for (const verb of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] as const) assert.equal(allowed(sa('apps', 'web'), secret(verb, 'apps', 'web-tls')), true, verb);
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
  assert.equal(allowed(sa('x'), { verb: 'create', group: 'authentication.k8s.io', resource: 'tokenreviews' }), true);
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

// The mesh's ServiceAccounts have manifests/rbac.yaml's RBAC alone.
const meshRbac = (): RbacView => {
  const docs = parseAllDocuments(readFileSync(new URL('../../../manifests/rbac.yaml', import.meta.url), 'utf8')).map((d) => d.toJS() as KObject);
  return { index: indexRbacObjects(docs), isWaypoint: (ns, name) => ns === 'apps' && name === 'waypoint' };
};
const asMesh = (who: Requester, a: RequestAttributes) => authorize(who, a, meshRbac()).allowed;

test('controller_service_account_patches_status_of_the_mesh_and_gateway_kinds_it_reports_on_in_every_namespace', () => {
  const ctrl = sa('ambient-system', 'ambient-controller');
  assert.equal(asMesh(ctrl, { verb: 'patch', group: 'ambient.dev', resource: 'authorizationpolicies', subresource: 'status', namespace: 'apps', name: 'p' }), true);
  assert.equal(asMesh(ctrl, { verb: 'patch', group: 'gateway.networking.k8s.io', resource: 'gateways', subresource: 'status', namespace: 'apps', name: 'wp' }), true);
  assert.equal(asMesh(ctrl, { verb: 'update', group: 'ambient.dev', resource: 'authorizationpolicies', subresource: 'status', namespace: 'apps', name: 'p' }), false, 'patch only');
  assert.equal(asMesh(ctrl, { verb: 'patch', group: 'ambient.dev', resource: 'peerauthentications', subresource: 'status', namespace: 'apps', name: 'p' }), false, 'it writes no PeerAuthentication status');
});

test('controller_service_account_still_cannot_write_a_spec_or_anything_else_in_another_namespace', () => {
  const ctrl = sa('ambient-system', 'ambient-controller');
  for (const verb of ['create', 'update', 'patch', 'delete'] as const) {
    assert.equal(asMesh(ctrl, { verb, group: 'ambient.dev', resource: 'authorizationpolicies', namespace: 'apps', name: 'p' }), false, `spec ${verb}`);
  }
  assert.equal(asMesh(ctrl, { verb: 'patch', group: '', resource: 'pods', subresource: 'status', namespace: 'apps', name: 'p' }), false, 'a core kind\'s status');
  assert.equal(asMesh(ctrl, { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'status', namespace: 'apps', name: 'd' }), false);
  assert.equal(asMesh(ctrl, { verb: 'create', group: '', resource: 'serviceaccounts', subresource: 'token', namespace: 'apps', name: 'default' }), false);
  assert.equal(asMesh(ctrl, { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'apps', name: 'd' }), false);
  assert.equal(asMesh(ctrl, secret('get', 'apps', 's')), false);
});

test('controller_service_account_reads_only_the_ca_secrets_of_its_namespace', () => {
  const ctrl = sa('ambient-system', 'ambient-controller');
  assert.equal(asMesh(ctrl, secret('get', 'ambient-system', 'ambient-ca')), true);
  assert.equal(asMesh(ctrl, secret('get', 'ambient-system', 'cacerts')), true);
  assert.equal(asMesh(ctrl, secret('create', 'ambient-system')), true);
  assert.equal(asMesh(ctrl, secret('get', 'ambient-system', 'other')), false);
  assert.equal(asMesh(ctrl, secret('list', 'ambient-system')), false, 'a list names no object: resourceNames never match it');
  assert.equal(asMesh(ctrl, secret('update', 'ambient-system', 'ambient-ca')), false, 'the CA is never replaced');
});

test('another_service_account_cannot_write_policy_status_in_another_namespace', () => {
  assert.equal(asMesh(sa('apps', 'ambient-controller'), { verb: 'patch', group: 'ambient.dev', resource: 'authorizationpolicies', subresource: 'status', namespace: 'shop', name: 'p' }), false);
  assert.equal(asMesh(sa('ambient-system', 'web'), { verb: 'patch', group: 'ambient.dev', resource: 'authorizationpolicies', subresource: 'status', namespace: 'shop', name: 'p' }), false);
});

test('controller_service_account_deploys_waypoint_objects_in_every_namespace_and_the_gateway_class', () => {
  const ctrl = sa('ambient-system', 'ambient-controller');
  for (const verb of ['create', 'patch', 'delete', 'get'] as const) {
    assert.equal(asMesh(ctrl, { verb, group: '', resource: 'serviceaccounts', namespace: 'apps', name: 'waypoint' }), true, `serviceaccounts ${verb}`);
    assert.equal(asMesh(ctrl, { verb, group: '', resource: 'services', namespace: 'apps', name: 'waypoint' }), true, `services ${verb}`);
    assert.equal(asMesh(ctrl, { verb, group: 'apps', resource: 'deployments', namespace: 'apps', name: 'waypoint' }), true, `deployments ${verb}`);
  }
  assert.equal(asMesh(ctrl, { verb: 'update', group: 'apps', resource: 'deployments', namespace: 'apps', name: 'waypoint' }), false, 'it patches, never replaces');
  assert.equal(asMesh(ctrl, { verb: 'create', group: 'gateway.networking.k8s.io', resource: 'gatewayclasses' }), true);
  assert.equal(asMesh(ctrl, { verb: 'patch', group: 'gateway.networking.k8s.io', resource: 'gatewayclasses', subresource: 'status', name: 'ambient-waypoint' }), true);
  assert.equal(asMesh(ctrl, { verb: 'patch', group: 'gateway.networking.k8s.io', resource: 'gatewayclasses', subresource: 'status', name: 'istio' }), false, "another class's status");
  // Nothing else: no pods, no tokens, no Secrets, no other cluster-scoped kind.
  assert.equal(asMesh(ctrl, { verb: 'create', group: '', resource: 'pods', namespace: 'apps', name: 'p' }), false);
  assert.equal(asMesh(ctrl, { verb: 'create', group: '', resource: 'serviceaccounts', subresource: 'token', namespace: 'apps', name: 'waypoint' }), false);
  assert.equal(asMesh(ctrl, { verb: 'create', group: '', resource: 'namespaces', name: 'x' }), false);
  // Another ServiceAccount of the same name elsewhere gets none of it.
  assert.equal(asMesh(sa('apps', 'ambient-controller'), { verb: 'create', group: 'apps', resource: 'deployments', namespace: 'shop', name: 'waypoint' }), false);
  assert.equal(asMesh(sa('apps', 'ambient-controller'), { verb: 'create', group: 'gateway.networking.k8s.io', resource: 'gatewayclasses', name: 'ambient-waypoint' }), false);
});

test('controller_service_account_creates_and_patches_httproutes_for_rollouts_but_never_deletes_them', () => {
  const ctrl = sa('ambient-system', 'ambient-controller');
  const route = (verb: 'create' | 'patch' | 'update' | 'delete') => ({ verb, group: 'gateway.networking.k8s.io', resource: 'httproutes', namespace: 'shop', name: 'echo' });
  assert.equal(asMesh(ctrl, route('create')), true);
  assert.equal(asMesh(ctrl, route('patch')), true);
  assert.equal(asMesh(ctrl, route('delete')), false);
  assert.equal(asMesh(ctrl, route('update')), false);
  assert.equal(asMesh(ctrl, { verb: 'patch', group: 'ambient.dev', resource: 'rollouts', subresource: 'status', namespace: 'shop', name: 'echo' }), true);
  assert.equal(asMesh(ctrl, { verb: 'update', group: 'ambient.dev', resource: 'rollouts', namespace: 'shop', name: 'echo' }), false, 'never a whole Rollout');
  assert.equal(asMesh(sa('apps', 'ambient-controller'), route('patch')), false);
});

test('only_the_controller_may_create_subject_access_reviews', () => {
  const sar = { verb: 'create', group: 'authorization.k8s.io', resource: 'subjectaccessreviews' } as const;
  assert.equal(asMesh(sa('ambient-system', 'ambient-controller'), sar), true);
  assert.equal(asMesh(sa('ambient-system', 'ambient-node-agent'), sar), false);
  assert.equal(asMesh(sa('apps', 'web'), sar), false, 'a workload must not learn what others may do');
  assert.equal(asMesh(admin, sar), true);
});

test('the_controller_may_patch_a_rollouts_spec_anywhere_but_not_delete_it', () => {
  const ctrl = sa('ambient-system', 'ambient-controller');
  const ro = (verb: RequestAttributes['verb']): RequestAttributes => ({ verb, group: 'ambient.dev', resource: 'rollouts', namespace: 'apps', name: 'echo' });
  assert.equal(asMesh(ctrl, ro('patch')), true);
  assert.equal(asMesh(ctrl, ro('delete')), false);
  assert.equal(asMesh(ctrl, ro('update')), false);
  assert.equal(asMesh(sa('other', 'x'), ro('patch')), false);
});

test('mesh_service_accounts_have_rbac_alone_not_the_built_in_rules', () => {
  const agent = sa('ambient-system', 'ambient-node-agent');
  // What every other ServiceAccount may do by the built-in rules, the node agent may not.
  assert.equal(asMesh(agent, { verb: 'list', group: '', resource: 'services' }), false, 'reads are not open to it');
  assert.equal(asMesh(agent, { verb: 'create', group: '', resource: 'configmaps', namespace: 'ambient-system' }), false, 'nor writes in its own namespace');
  assert.equal(asMesh(sa('apps', 'web'), { verb: 'list', group: '', resource: 'services' }), true, 'another ServiceAccount keeps them');
  // What rbac.yaml grants it, it may.
  assert.equal(asMesh(agent, { verb: 'get', group: '', resource: 'pods', namespace: 'apps', name: 'p' }), true);
  assert.equal(asMesh(agent, { verb: 'list', group: 'ambient.dev', resource: 'peerauthentications', namespace: 'apps' }), true);
  assert.equal(asMesh(agent, { verb: 'get', group: '', resource: 'configmaps', namespace: 'ambient-system', name: 'ambient-ca-root' }), true);
  assert.equal(asMesh(agent, { verb: 'get', group: '', resource: 'configmaps', namespace: 'ambient-system', name: 'other' }), false);
  // With no RBAC objects at all, nothing.
  assert.equal(authorize(agent, { verb: 'get', group: '', resource: 'pods', namespace: 'apps', name: 'p' }, NO_RBAC).allowed, false);
});

test('a_waypoint_service_account_reads_only_the_controllers_roots_and_service', () => {
  const wp = sa('apps', 'waypoint');
  assert.equal(asMesh(wp, { verb: 'get', group: '', resource: 'configmaps', namespace: 'ambient-system', name: 'ambient-ca-root' }), true);
  assert.equal(asMesh(wp, { verb: 'get', group: '', resource: 'services', namespace: 'ambient-system', name: 'ambient-controller' }), true);
  assert.equal(asMesh(wp, { verb: 'get', group: '', resource: 'pods', namespace: 'apps', name: 'p' }), false, 'RBAC alone: no built-in reads');
  assert.equal(asMesh(wp, { verb: 'create', group: '', resource: 'configmaps', namespace: 'apps' }), false, 'nor writes in its own namespace');
  assert.equal(asMesh(sa('apps', 'web'), { verb: 'get', group: '', resource: 'pods', namespace: 'apps', name: 'p' }), true, 'a workload of the same namespace keeps the built-in rules');
});

test('no_service_account_writes_rbac_objects_even_in_its_own_namespace_or_as_the_node', () => {
  const rb: RequestAttributes = { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespace: 'apps' };
  assert.equal(asMesh(sa('apps', 'web'), rb), false);
  assert.equal(asMesh(sa('kube-system', 'ambient-node'), { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' }), false);
  assert.equal(asMesh(sa('apps', 'web'), { ...rb, verb: 'list' }), true, 'reading them stays open');
  assert.equal(asMesh(admin, rb), true);
});

test('port_forward_is_create_on_pods_portforward_own_namespace_only_for_a_service_account', () => {
  const pf = (namespace: string): RequestAttributes => ({ verb: 'create', group: '', resource: 'pods', subresource: 'portforward', namespace, name: 'ambient-controller-0' });
  assert.equal(allowed(admin, pf('ambient-system')), true);
  assert.equal(allowed(sa('apps', 'web'), pf('apps')), true);
  assert.equal(asMesh(sa('ambient-system', 'ambient-controller'), pf('ambient-system')), false, 'RBAC grants the controller none');
  assert.equal(allowed(sa('x'), pf('ambient-system')), false, 'a pod of x may not open streams into the controller');
  assert.equal(
    forbiddenFor(sa('x'), pf('ambient-system')).message,
    'pods "ambient-controller-0" is forbidden: User "system:serviceaccount:x:default" cannot create resource "pods/portforward" in API group "" in the namespace "ambient-system"',
  );
});

// The mesh installed in another namespace (`ambientctl install --set rootNamespace=mesh-x`):
// its ServiceAccounts, labelled by the manifests, still have the rendered RBAC alone.
const meshElsewhere = async (): Promise<RbacView> => {
  const { loadSources, renderObjects } = await import('../../cli/install/render.js');
  const { applySets } = await import('../../cli/install/settings.js');
  const { isMeshServiceAccount } = await import('./rbac-cache.js');
  const s = applySets(['rootNamespace=mesh-x']);
  const objs = renderObjects(await loadSources(s), s) as KObject[];
  const mesh = new Set(objs.filter((o) => o.kind === 'ServiceAccount' && isMeshServiceAccount(o)).map((o) => `${o.metadata?.namespace}/${o.metadata?.name}`));
  assert.deepEqual([...mesh].sort(), ['mesh-x/ambient-controller', 'mesh-x/ambient-node-agent'], 'the manifests label both');
  return { index: indexRbacObjects(objs), isWaypoint: () => false, isMesh: (ns, name) => mesh.has(`${ns}/${name}`) };
};

test('mesh_installed_in_another_namespace_its_service_accounts_have_the_rendered_rbac_alone', async () => {
  const view = await meshElsewhere();
  const can = (who: Requester, a: RequestAttributes) => authorize(who, a, view).allowed;
  const agent = sa('mesh-x', 'ambient-node-agent');
  const ctrl = sa('mesh-x', 'ambient-controller');
  // No built-in rule: reads are not open, nor writes in its own namespace.
  assert.equal(can(agent, { verb: 'list', group: '', resource: 'services' }), false);
  assert.equal(can(agent, { verb: 'create', group: '', resource: 'configmaps', namespace: 'mesh-x' }), false);
  assert.equal(can(ctrl, { verb: 'create', group: '', resource: 'pods', namespace: 'mesh-x' }), false);
  // What the rendered RBAC grants, in mesh-x.
  assert.equal(can(agent, { verb: 'get', group: '', resource: 'configmaps', namespace: 'mesh-x', name: 'ambient-ca-root' }), true);
  assert.equal(can(agent, { verb: 'watch', group: 'apps', resource: 'daemonsets', namespace: 'mesh-x', name: 'ambient-node-agent' }), true);
  assert.equal(can(ctrl, secret('get', 'mesh-x', 'ambient-ca')), true);
  assert.equal(can(ctrl, { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: 'mesh-x', name: 'ambient-controller' }), true);
  // Nothing in ambient-system any more.
  assert.equal(can(ctrl, secret('get', 'ambient-system', 'ambient-ca')), false);
  assert.equal(can(agent, { verb: 'get', group: '', resource: 'configmaps', namespace: 'ambient-system', name: 'ambient-ca-root' }), false);
  // An unlabelled ServiceAccount of mesh-x keeps the built-in rules.
  assert.equal(can(sa('mesh-x', 'web'), { verb: 'list', group: '', resource: 'services' }), true);
});
