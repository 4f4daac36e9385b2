// Which resource and namespace an applied object goes to, and how a failure reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiResource } from '../core/kube/discovery.js';
import { KubeRequestError } from '../core/kube/rest.js';
import { failureLine, resultName, targetOf, type Target } from './object-writes.js';

const res = (apiVersion: string, kind: string, plural: string, namespaced: boolean): ApiResource => ({
  apiVersion, group: apiVersion.includes('/') ? apiVersion.split('/')[0]! : '', kind, plural, singular: kind.toLowerCase(), shortNames: [], namespaced, verbs: [],
});
const RESOURCES = [res('v1', 'Pod', 'pods', true), res('v1', 'Namespace', 'namespaces', false), res('apps/v1', 'Deployment', 'deployments', true)];

test('target_takes_the_objects_namespace_else_the_flag_else_the_context', () => {
  const pod = (ns?: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', ...(ns ? { namespace: ns } : {}) } });
  assert.equal((targetOf(pod('shop'), RESOURCES, undefined, 'default') as Target).path, '/api/v1/namespaces/shop/pods/web');
  assert.equal((targetOf(pod(), RESOURCES, 'ops', 'default') as Target).namespace, 'ops');
  assert.equal((targetOf(pod(), RESOURCES, undefined, 'default') as Target).collection, '/api/v1/namespaces/default/pods');
  assert.equal((targetOf(pod('shop'), RESOURCES, 'shop', 'default') as Target).namespace, 'shop');
  assert.match((targetOf(pod('shop'), RESOURCES, 'ops', 'default') as { error: string }).error, /namespace from the provided object "shop" does not match the namespace "ops"/);
  const ns = targetOf({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }, RESOURCES, 'ops', 'default') as Target;
  assert.equal(ns.path, '/api/v1/namespaces/shop');
  assert.equal(ns.namespace, undefined);
});

test('target_refuses_unknown_kinds_and_nameless_objects', () => {
  assert.deepEqual(targetOf({ apiVersion: 'example.com/v1', kind: 'Foo', metadata: { name: 'f' } }, RESOURCES, undefined, 'd'), { error: 'no matches for kind "Foo" in version "example.com/v1"' });
  assert.deepEqual(targetOf({ apiVersion: 'v1', kind: 'Pod', metadata: {} }, RESOURCES, undefined, 'd'), { error: 'metadata.name not set' });
  assert.deepEqual(targetOf({ apiVersion: 'apps/v2', kind: 'Deployment', metadata: { name: 'x' } }, RESOURCES, undefined, 'd'), { error: 'no matches for kind "Deployment" in version "apps/v2"' });
});

test('failure_line_names_object_file_document_and_the_servers_message', () => {
  const obj = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' } };
  const t = targetOf(obj, RESOURCES, undefined, 'shop') as Target;
  assert.equal(resultName(t), 'deployment.apps/web');
  const m = { obj, origin: { file: 'b.yaml', document: 2 } };
  const invalid = new KubeRequestError(422, { kind: 'Status', reason: 'Invalid', code: 422, message: 'Deployment.apps "web" is invalid: spec.selector: Required value' } as never, 'raw');
  assert.equal(
    failureLine('creating', m, t, invalid),
    'Error from server (Invalid): error when creating Deployment shop/web from "b.yaml" (document 2): Deployment.apps "web" is invalid: spec.selector: Required value',
  );
  assert.equal(failureLine('patching', m, t, new Error('connect ECONNREFUSED 127.0.0.1:6443')), 'error: error when patching Deployment shop/web from "b.yaml" (document 2): connect ECONNREFUSED 127.0.0.1:6443');
});
