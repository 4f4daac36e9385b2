import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RbacCache } from './rbac-cache.js';
import type { KObject } from './kinds.js';

const sa = (namespace: string, name: string, labels?: Record<string, string>): KObject => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace, name, ...(labels && { labels }) } });

test('the cache knows the mesh ServiceAccounts by their label, in any namespace, until they are deleted or unlabelled', () => {
  const c = new RbacCache();
  let rv = 0;
  const ev = (type: 'ADDED' | 'MODIFIED' | 'DELETED', object: KObject) => c.apply({ rv: ++rv, type, resource: 'serviceaccounts', object });
  ev('ADDED', sa('mesh-x', 'ambient-controller', { 'app.kubernetes.io/part-of': 'ambient' }));
  ev('ADDED', sa('mesh-x', 'web'));
  ev('ADDED', sa('apps', 'ambient-controller', { 'app.kubernetes.io/part-of': 'other' }));
  assert.equal(c.isMesh('mesh-x', 'ambient-controller'), true);
  assert.equal(c.isMesh('mesh-x', 'web'), false);
  assert.equal(c.isMesh('apps', 'ambient-controller'), false, 'another value of the label');
  ev('MODIFIED', sa('mesh-x', 'ambient-controller'));
  assert.equal(c.isMesh('mesh-x', 'ambient-controller'), false, 'the label removed');
  ev('MODIFIED', sa('mesh-x', 'ambient-controller', { 'app.kubernetes.io/part-of': 'ambient' }));
  ev('DELETED', sa('mesh-x', 'ambient-controller', { 'app.kubernetes.io/part-of': 'ambient' }));
  assert.equal(c.isMesh('mesh-x', 'ambient-controller'), false, 'deleted');
});
