import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CliError } from './errors.js';
import { meshNamespace, meshNamespaceChosen, setMeshNamespace } from './mesh-namespace.js';

test('the mesh namespace: --mesh-namespace, else AMBIENT_MESH_NAMESPACE, else ambient-system', (t) => {
  t.after(() => setMeshNamespace(undefined, {}));
  setMeshNamespace(undefined, {});
  assert.deepEqual([meshNamespace(), meshNamespaceChosen()], ['ambient-system', false]);
  setMeshNamespace(undefined, { AMBIENT_MESH_NAMESPACE: 'mesh-env' });
  assert.deepEqual([meshNamespace(), meshNamespaceChosen()], ['mesh-env', true]);
  setMeshNamespace('mesh-x', { AMBIENT_MESH_NAMESPACE: 'mesh-env' });
  assert.equal(meshNamespace(), 'mesh-x', 'the flag wins');
  setMeshNamespace(undefined, { AMBIENT_MESH_NAMESPACE: '' });
  assert.equal(meshNamespace(), 'ambient-system', 'an empty variable is not set');
});

test('a mesh namespace that is not a namespace name is refused, naming where it came from', (t) => {
  t.after(() => setMeshNamespace(undefined, {}));
  assert.throws(() => setMeshNamespace('Mesh_X', {}), (e: Error) => e instanceof CliError && /--mesh-namespace "Mesh_X": not a namespace name/.test(e.message));
  assert.throws(() => setMeshNamespace(undefined, { AMBIENT_MESH_NAMESPACE: 'a/b' }), (e: Error) => e instanceof CliError && /AMBIENT_MESH_NAMESPACE "a\/b"/.test(e.message));
});
