import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from './api-errors.js';
import { authorize, NO_RBAC, serviceAccountRequester, type RbacView } from './authorize.js';
import { indexRbacObjects } from './rbac.js';
import { reviewSelfSubjectAccess, reviewSubjectAccess } from './subject-access-review.js';
import { requestAttributes } from './request-attributes.js';
import { ADMIN_USER } from './admin-token.js';

const review = (spec: Record<string, unknown>, rbac: RbacView = NO_RBAC) => reviewSubjectAccess({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec }, rbac) as { status: { allowed: boolean; reason?: string } };
const patchRoutes = (namespace: string) => ({ verb: 'patch', group: 'gateway.networking.k8s.io', resource: 'httproutes', namespace, name: 'echo' });

test('subject_access_review_allows_what_the_service_account_may_do_itself', () => {
  const r = review({ user: 'system:serviceaccount:apps:deployer', resourceAttributes: patchRoutes('apps') });
  assert.equal(r.status.allowed, true);
});

test('subject_access_review_denies_a_write_outside_the_service_accounts_namespace_with_the_reason', () => {
  const r = review({ user: 'system:serviceaccount:other:viewer', resourceAttributes: patchRoutes('apps') });
  assert.equal(r.status.allowed, false);
  assert.match(r.status.reason ?? '', /own namespace/);
});

test('subject_access_review_answers_as_the_authorizer_does_for_secrets', () => {
  const attrs = { verb: 'get', group: '', resource: 'secrets', namespace: 'ambient-system', name: 'ambient-ca' };
  const r = review({ user: 'system:serviceaccount:apps:web', resourceAttributes: attrs });
  assert.equal(r.status.allowed, authorize(serviceAccountRequester('system:serviceaccount:apps:web')!, { ...attrs, verb: 'get' }, NO_RBAC).allowed);
  assert.equal(r.status.allowed, false);
});

test('subject_access_review_of_system_masters_is_allowed_and_of_an_unknown_user_denied', () => {
  assert.equal(review({ user: 'alice', groups: ['system:masters'], resourceAttributes: patchRoutes('apps') }).status.allowed, true);
  const r = review({ user: 'alice', groups: ['system:authenticated'], resourceAttributes: patchRoutes('apps') });
  assert.equal(r.status.allowed, false);
  assert.match(r.status.reason ?? "", /ServiceAccounts and the group system:masters only/);
});

test('subject_access_review_of_a_non_resource_path_is_denied', () => {
  assert.equal(review({ user: 'system:serviceaccount:apps:web', nonResourceAttributes: { path: '/metrics', verb: 'get' } }).status.allowed, false);
});

test('subject_access_review_without_user_or_attributes_is_invalid_naming_the_field', () => {
  assert.throws(() => review({ resourceAttributes: patchRoutes('apps') }), (e: ApiError) => e.code === 422 && /spec\.user/.test(e.message + JSON.stringify(e.details)));
  assert.throws(() => review({ user: 'system:serviceaccount:apps:web' }), (e: ApiError) => e.code === 422 && /resourceAttributes/.test(JSON.stringify(e.details)));
  assert.throws(() => review({ user: 'system:serviceaccount:apps:web', resourceAttributes: { resource: 'pods' } }), (e: ApiError) => /spec\.resourceAttributes\.verb/.test(JSON.stringify(e.details)));
  assert.throws(() => reviewSubjectAccess('x', NO_RBAC), (e: ApiError) => e.code === 400);
});

test('subject_access_review_of_the_admin_kubeconfig_user_allows_everything_and_the_bare_name_nothing', () => {
  const adminUser = { user: ADMIN_USER.username, groups: [...ADMIN_USER.groups] };
  for (const resourceAttributes of [patchRoutes('apps'), { verb: 'delete', group: '', resource: 'secrets', namespace: 'ambient-system', name: 'ambient-ca' }, { verb: 'create', group: 'authorization.k8s.io', resource: 'subjectaccessreviews' }]) {
    assert.equal(review({ ...adminUser, resourceAttributes }).status.allowed, true, JSON.stringify(resourceAttributes));
  }
  // The name alone is nobody: the group is what makes the admin, as with RBAC's system:masters.
  const bare = review({ user: ADMIN_USER.username, resourceAttributes: patchRoutes('apps') });
  assert.equal(bare.status.allowed, false);
});

const selfReview = (who: Parameters<typeof reviewSelfSubjectAccess>[1], resourceAttributes: Record<string, unknown>) =>
  reviewSelfSubjectAccess({ apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes } }, who, NO_RBAC) as { kind: string; status: { allowed: boolean; reason?: string } };

test('self_subject_access_review_answers_for_the_requester_itself', () => {
  const deployer = serviceAccountRequester('system:serviceaccount:apps:deployer')!;
  const own = selfReview(deployer, patchRoutes('apps'));
  assert.equal(own.kind, 'SelfSubjectAccessReview');
  assert.equal(own.status.allowed, true);
  const crds = selfReview(deployer, { verb: 'create', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' });
  assert.equal(crds.status.allowed, false);
  assert.match(crds.status.reason ?? '', /own namespace/);
  assert.equal(selfReview({ kind: 'admin', username: ADMIN_USER.username }, { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' }).status.allowed, true);
});

test('self_subject_access_review_without_attributes_is_invalid_naming_the_field', () => {
  const web = serviceAccountRequester('system:serviceaccount:apps:web')!;
  assert.throws(() => reviewSelfSubjectAccess({ spec: {} }, web, NO_RBAC), (e: ApiError) => e.code === 422 && /resourceAttributes/.test(JSON.stringify(e.details)));
  assert.throws(() => reviewSelfSubjectAccess({ spec: { resourceAttributes: { verb: 'create' } } }, web, NO_RBAC), (e: ApiError) => /spec\.resourceAttributes\.resource/.test(JSON.stringify(e.details)));
  assert.throws(() => reviewSelfSubjectAccess([], web, NO_RBAC), (e: ApiError) => e.code === 400);
});

test('any_service_account_may_create_a_self_subject_access_review_but_not_a_subject_access_review', () => {
  const web = serviceAccountRequester('system:serviceaccount:apps:web')!;
  assert.equal(authorize(web, { verb: 'create', group: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews' }, NO_RBAC).allowed, true);
  assert.equal(authorize(web, { verb: 'create', group: 'authorization.k8s.io', resource: 'subjectaccessreviews' }, NO_RBAC).allowed, false);
});

test('subject_access_review_decides_by_the_same_rbac_objects_and_names_the_binding', () => {
  const rbac: RbacView = {
    index: indexRbacObjects([
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'route-editor' }, rules: [{ apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], verbs: ['patch'] }] },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'ops', namespace: 'apps' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'route-editor' }, subjects: [{ kind: 'ServiceAccount', name: 'ops', namespace: 'ambient-system' }] },
    ]),
    isWaypoint: () => false,
  };
  const mine = review({ user: 'system:serviceaccount:ambient-system:ops', resourceAttributes: patchRoutes('apps') }, rbac);
  assert.equal(mine.status.allowed, true);
  assert.equal(mine.status.reason, 'RBAC: allowed by RoleBinding "apps/ops" of ClusterRole "route-editor"');
  // The binding is in apps: elsewhere it grants nothing, and a mesh ServiceAccount has RBAC alone.
  const elsewhere = review({ user: 'system:serviceaccount:ambient-system:ops', resourceAttributes: patchRoutes('shop') }, rbac);
  assert.equal(elsewhere.status.allowed, false);
  assert.match(elsewhere.status.reason ?? '', /no RBAC rule allows it/);
});

test('subject_access_review_of_a_watch_agrees_with_the_request_naming_one_object_by_field_selector', () => {
  const V1 = 'rbac.authorization.k8s.io/v1';
  const rbac: RbacView = {
    index: indexRbacObjects([
      { apiVersion: V1, kind: 'Role', metadata: { namespace: 'ambient-system', name: 'agent' }, rules: [{ apiGroups: ['apps'], resources: ['daemonsets'], resourceNames: ['ambient-node-agent'], verbs: ['get', 'watch'] }] },
      { apiVersion: V1, kind: 'RoleBinding', metadata: { namespace: 'ambient-system', name: 'agent' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'agent' }, subjects: [{ kind: 'ServiceAccount', name: 'ambient-node-agent' }] },
    ]),
    isWaypoint: () => false,
  };
  const user = 'system:serviceaccount:ambient-system:ambient-node-agent';
  const watch = (extra: Record<string, unknown>) => review({ user, resourceAttributes: { verb: 'watch', group: 'apps', resource: 'daemonsets', namespace: 'ambient-system', ...extra } }, rbac).status.allowed;
  const request = (query: string) =>
    authorize(serviceAccountRequester(user)!, requestAttributes('GET', { group: 'apps', resource: 'daemonsets', namespace: 'ambient-system', watch: false }, new URLSearchParams(query))!, rbac).allowed;
  // A review names the object in resourceAttributes.name; the request in its field selector.
  assert.equal(watch({ name: 'ambient-node-agent' }), true);
  assert.equal(request('watch=1&fieldSelector=metadata.name%3Dambient-node-agent'), true);
  assert.equal(watch({ name: 'other' }), false);
  assert.equal(request('watch=1&fieldSelector=metadata.name%3Dother'), false);
  assert.equal(watch({}), false);
  assert.equal(request('watch=1'), false);
  // As kube-apiserver's RBAC: a review's fieldSelector attribute names no object.
  assert.equal(watch({ fieldSelector: { rawSelector: 'metadata.name=ambient-node-agent' } }), false);
});
