import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldSelectorName, requestAttributes, type ResourceTarget } from './request-attributes.js';
import { evaluateRbac, indexRbacObjects, serviceAccountSubject } from './rbac.js';
import type { KObject } from './kinds.js';

const daemonsets: ResourceTarget = { group: 'apps', resource: 'daemonsets', namespace: 'ambient-system', watch: false };
const attrs = (method: string, query: string, p: Partial<ResourceTarget> = {}) => requestAttributes(method, { ...daemonsets, ...p }, new URLSearchParams(query));

test('field_selector_name_is_the_value_of_a_metadata_name_equality', () => {
  assert.equal(fieldSelectorName('metadata.name=ambient-node-agent'), 'ambient-node-agent');
  assert.equal(fieldSelectorName('metadata.name==ambient-node-agent'), 'ambient-node-agent');
  assert.equal(fieldSelectorName('metadata.name=a\\,b'), 'a,b', 'escapes are undone, as when the selector filters');
});

test('field_selector_name_ignores_other_terms_combined_with_it', () => {
  assert.equal(fieldSelectorName('metadata.namespace=ambient-system,metadata.name=x'), 'x');
  assert.equal(fieldSelectorName('status.phase!=Failed,metadata.name=x'), 'x');
  assert.equal(fieldSelectorName('spec.unknown=1,metadata.name=x'), 'x', 'field names are not judged here (the list then answers 400)');
});

test('field_selector_name_of_two_names_is_the_first_term_in_sorted_order', () => {
  // Both must hold, so such a request selects nothing whichever name is authorized.
  assert.equal(fieldSelectorName('metadata.name=b,metadata.name=a'), 'a');
  assert.equal(fieldSelectorName('metadata.name=b,metadata.name==c'), 'c', "'=' sorts before letters");
});

test('field_selector_name_is_none_for_other_selectors', () => {
  for (const s of [null, undefined, '', 'metadata.name!=x', 'metadata.namespace=x', 'spec.nodeName=node-1', 'metadata.name=', 'name=x', ' metadatax.name=x']) {
    assert.equal(fieldSelectorName(s), undefined, String(s));
  }
});

test('field_selector_name_is_none_when_the_selector_does_not_parse', () => {
  assert.equal(fieldSelectorName('metadata.name=a=b'), undefined);
  assert.equal(fieldSelectorName('metadata.name=x,garbage'), undefined);
  assert.equal(fieldSelectorName('metadata.name=a\\q'), undefined);
});

test('field_selector_name_is_none_for_a_value_that_cannot_be_a_path_segment', () => {
  for (const v of ['.', '..', 'a/b', 'a%2Fb']) assert.equal(fieldSelectorName(`metadata.name=${v}`), undefined, v);
});

test('request_attributes_name_a_watch_or_list_by_its_metadata_name_selector', () => {
  assert.deepEqual(attrs('GET', 'watch=1&fieldSelector=metadata.name%3Dambient-node-agent'), { verb: 'watch', group: 'apps', resource: 'daemonsets', namespace: 'ambient-system', name: 'ambient-node-agent' });
  assert.deepEqual(attrs('GET', 'fieldSelector=metadata.name%3Dx'), { verb: 'list', group: 'apps', resource: 'daemonsets', namespace: 'ambient-system', name: 'x' });
  assert.equal(attrs('GET', 'watch=true&fieldSelector=metadata.name%3Dx', { namespace: undefined })?.name, 'x', 'across namespaces too');
});

test('request_attributes_name_nothing_for_a_collection_without_such_selector', () => {
  assert.deepEqual(attrs('GET', 'watch=1'), { verb: 'watch', group: 'apps', resource: 'daemonsets', namespace: 'ambient-system' });
  assert.equal(attrs('GET', 'labelSelector=metadata.name%3Dx')?.name, undefined, 'a label selector names nothing');
  assert.equal(attrs('GET', 'watch=1&fieldSelector=metadata.name!%3Dx')?.name, undefined);
});

test('request_attributes_take_the_first_field_selector_parameter_as_the_filter_does', () => {
  assert.equal(attrs('GET', 'fieldSelector=metadata.name%3Dx&fieldSelector=metadata.name%3Dy')?.name, 'x');
});

test('request_attributes_legacy_watch_prefix_takes_no_name_from_a_selector', () => {
  assert.equal(attrs('GET', 'fieldSelector=metadata.name%3Dx', { watch: true })?.name, undefined);
  assert.equal(attrs('GET', '', { watch: true, name: 'x' })?.name, 'x', 'its path still names the object');
});

test('request_attributes_never_name_a_create_or_deletecollection_by_selector', () => {
  assert.deepEqual(attrs('DELETE', 'fieldSelector=metadata.name%3Dx'), { verb: 'deletecollection', group: 'apps', resource: 'daemonsets', namespace: 'ambient-system' });
  assert.deepEqual(attrs('POST', 'fieldSelector=metadata.name%3Dx'), { verb: 'create', group: 'apps', resource: 'daemonsets', namespace: 'ambient-system' });
});

test('request_attributes_keep_the_name_of_the_path', () => {
  assert.deepEqual(attrs('GET', 'fieldSelector=metadata.name%3Dother', { name: 'mine' }), { verb: 'get', group: 'apps', resource: 'daemonsets', namespace: 'ambient-system', name: 'mine' });
  assert.equal(attrs('PUT', '', { name: 'mine', subresource: 'status' })?.verb, 'update');
  assert.equal(attrs('HEAD', ''), undefined, 'no verb: 405');
});

test('rbac_resource_names_rule_grants_the_watch_of_that_object_only', () => {
  const V1 = 'rbac.authorization.k8s.io/v1';
  const objs: KObject[] = [
    { apiVersion: V1, kind: 'Role', metadata: { namespace: 'ambient-system', name: 'agent' }, rules: [{ apiGroups: ['apps'], resources: ['daemonsets'], resourceNames: ['ambient-node-agent'], verbs: ['get', 'watch'] }] },
    { apiVersion: V1, kind: 'RoleBinding', metadata: { namespace: 'ambient-system', name: 'agent' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'agent' }, subjects: [{ kind: 'ServiceAccount', name: 'ambient-node-agent' }] },
  ];
  const allowed = (method: string, query: string, p: Partial<ResourceTarget> = {}) => evaluateRbac(indexRbacObjects(objs), serviceAccountSubject('ambient-system', 'ambient-node-agent'), attrs(method, query, p)!).allowed;
  assert.equal(allowed('GET', 'watch=1&fieldSelector=metadata.name%3Dambient-node-agent'), true);
  assert.equal(allowed('GET', 'watch=1&fieldSelector=metadata.name%3Dambient-node-agent,metadata.namespace%3Dambient-system'), true);
  assert.equal(allowed('GET', 'watch=1&fieldSelector=metadata.name%3Dother'), false);
  assert.equal(allowed('GET', 'watch=1'), false);
  assert.equal(allowed('GET', 'watch=1&fieldSelector=metadata.name!%3Dother'), false);
  assert.equal(allowed('GET', 'fieldSelector=metadata.name%3Dambient-node-agent'), false, 'list is not granted');
  assert.equal(allowed('GET', 'fieldSelector=metadata.name%3Dambient-node-agent', { watch: true }), false, 'the /watch/ prefix with a selector names nothing');
  assert.equal(allowed('GET', 'watch=1&fieldSelector=metadata.name%3Dambient-node-agent', { namespace: 'kube-system' }), false, 'another namespace');
});
