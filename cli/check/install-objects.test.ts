import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALWAYS_CREATED, installObjectsOf, readInstallObjects } from './install-objects.js';

test('install_objects_are_the_manifests_kinds_and_the_mesh_crds', () => {
  const o = installObjectsOf([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ambient-system' } },
    { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'a' } },
    { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'b' } },
    { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'rollouts.ambient.dev' }, spec: { group: 'ambient.dev' } },
    { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'gateways.gateway.networking.k8s.io' }, spec: { group: 'gateway.networking.k8s.io' } },
    null,
    'text',
  ]);
  assert.deepEqual(o.crds, ['rollouts.ambient.dev']);
  assert.deepEqual(o.kinds.map((k) => `${k.apiVersion} ${k.kind}`), [...ALWAYS_CREATED.map((k) => `${k.apiVersion} ${k.kind}`), 'v1 Namespace', 'apps/v1 DaemonSet']);
});

test('what_install_renders_gives_the_controller_and_agent_kinds', async () => {
  const o = await readInstallObjects();
  const kinds = o.kinds.map((k) => k.kind);
  for (const k of ['Namespace', 'ServiceAccount', 'Deployment', 'DaemonSet', 'Service', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding']) assert.ok(kinds.includes(k), k);
});
