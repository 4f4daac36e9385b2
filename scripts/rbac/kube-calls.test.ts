import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupOf, pluralOf, restRequest, typedMethod } from './kube-calls.js';

test('kube_calls_typed_methods_map_to_verbs_and_resources', () => {
  assert.deepEqual(typedMethod('readNamespacedSecret'), { verb: 'get', resource: 'secrets' });
  assert.deepEqual(typedMethod('replaceNamespacedLease'), { verb: 'update', resource: 'leases' });
  assert.deepEqual(typedMethod('listPodForAllNamespaces'), { verb: 'list', resource: 'pods' });
  assert.deepEqual(typedMethod('patchNamespacedPodStatus'), { verb: 'patch', resource: 'pods/status' });
  assert.deepEqual(typedMethod('createNamespacedServiceAccountToken'), { verb: 'create', resource: 'serviceaccounts/token' });
  assert.deepEqual(typedMethod('deleteCollectionNamespacedConfigMap'), { verb: 'deletecollection', resource: 'configmaps' });
  assert.deepEqual(typedMethod('createNamespacedRoleBinding'), { verb: 'create', resource: 'rolebindings' });
  assert.equal(typedMethod('getAPIResources'), undefined);
});

test('kube_calls_rest_paths_map_to_verbs_groups_and_subresources', () => {
  assert.deepEqual(restRequest('GET', '/api/v1/namespaces/{}/configmaps/ambient-ca-root'), { verb: 'get', group: '', resource: 'configmaps' });
  assert.deepEqual(restRequest('GET', '/apis/ambient.dev/v1/rollouts'), { verb: 'list', group: 'ambient.dev', resource: 'rollouts' });
  assert.deepEqual(restRequest('GET', '/apis/ambient.dev/v1/namespaces/{}/rollouts?watch=true'), { verb: 'watch', group: 'ambient.dev', resource: 'rollouts' });
  assert.deepEqual(restRequest('PATCH', '/apis/ambient.dev/v1/namespaces/{}/rollouts/{}/status'), { verb: 'patch', group: 'ambient.dev', resource: 'rollouts/status' });
  assert.deepEqual(restRequest('GET', '/api/v1/namespaces/{}'), { verb: 'get', group: '', resource: 'namespaces' });
  assert.deepEqual(restRequest('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews'), { verb: 'create', group: 'authorization.k8s.io', resource: 'subjectaccessreviews' });
  assert.deepEqual(restRequest('DELETE', '/api/v1/namespaces/{}/pods'), { verb: 'deletecollection', group: '', resource: 'pods' });
  assert.equal(restRequest('GET', '/apis'), undefined, 'discovery is no resource');
});

test('kube_calls_rest_list_or_watch_with_a_metadata_name_field_selector_is_by_name', () => {
  assert.deepEqual(restRequest('GET', '/apis/apps/v1/namespaces/{}/daemonsets?watch=1&fieldSelector=metadata.name%3D{}'), { verb: 'watch', group: 'apps', resource: 'daemonsets', byName: true });
  assert.deepEqual(restRequest('GET', '/api/v1/namespaces/{}/configmaps?fieldSelector=metadata.name%3Dambient-ca-root'), { verb: 'list', group: '', resource: 'configmaps', byName: true });
  assert.deepEqual(restRequest('GET', '/apis/apps/v1/namespaces/{}/daemonsets?watch=1&fieldSelector=metadata.name!%3D{}'), { verb: 'watch', group: 'apps', resource: 'daemonsets' });
  assert.deepEqual(restRequest('GET', '/apis/apps/v1/namespaces/{}/daemonsets?watch=1&labelSelector=metadata.name%3D{}'), { verb: 'watch', group: 'apps', resource: 'daemonsets' });
  assert.deepEqual(restRequest('DELETE', '/api/v1/namespaces/{}/pods?fieldSelector=metadata.name%3Dx'), { verb: 'deletecollection', group: '', resource: 'pods' }, 'only a list or watch takes a name from it');
});

test('kube_calls_plurals_and_groups', () => {
  assert.deepEqual(['Lease', 'NetworkPolicy', 'Ingress', 'Endpoints', 'Gateway', 'GatewayClass'].map(pluralOf), ['leases', 'networkpolicies', 'ingresses', 'endpoints', 'gateways', 'gatewayclasses']);
  assert.equal(groupOf('apps/v1'), 'apps');
  assert.equal(groupOf('v1'), '');
});
