import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessAttributes, describeAccess } from './access.js';

test('path_namespace_and_name_fill_the_review_attributes', () => {
  const a = accessAttributes({ verb: 'get', group: '', resource: 'pods', namespace: 'path', name: true }, { namespace: 'apps', name: 'web' }, new URLSearchParams(), 'ambient-system');
  assert.deepEqual(a, { verb: 'get', group: '', resource: 'pods', namespace: 'apps', name: 'web' });
});

test('query_namespace_absent_means_cluster_wide', () => {
  const rule = { verb: 'list', group: '', resource: 'services', namespace: 'query' } as const;
  assert.equal(accessAttributes(rule, {}, new URLSearchParams(), 'x').namespace, undefined);
  assert.equal(accessAttributes(rule, {}, new URLSearchParams('namespace='), 'x').namespace, undefined);
  assert.equal(accessAttributes(rule, {}, new URLSearchParams('namespace=apps'), 'x').namespace, 'apps');
});

test('controller_scoped_rules_ask_about_the_controller_namespace', () => {
  assert.equal(accessAttributes({ verb: 'list', group: '', resource: 'pods', namespace: 'controller' }, {}, new URLSearchParams('namespace=apps'), 'ambient-system').namespace, 'ambient-system');
});

test('describe_access_names_verb_resource_group_name_and_namespace', () => {
  assert.equal(describeAccess({ verb: 'patch', group: 'gateway.networking.k8s.io', resource: 'httproutes', namespace: 'apps', name: 'echo' }), 'patch httproutes.gateway.networking.k8s.io "echo" in namespace "apps"');
  assert.equal(describeAccess({ verb: 'list', group: '', resource: 'pods' }), 'list pods cluster-wide (all namespaces)');
});
