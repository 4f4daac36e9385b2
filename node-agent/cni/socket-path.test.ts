import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes, isMeshError } from '../../core/errors.js';
import { DEFAULT_CNI_SOCKET, defaultCniSocket, localClusterCniSocket, socketPathProblem } from './socket-path.js';

test('real_node_socket_is_in_a_persistent_directory', () => {
  assert.equal(defaultCniSocket({}, 'worker-1'), '/var/lib/ambient/cni/cni.sock');
  assert.equal(DEFAULT_CNI_SOCKET, '/var/lib/ambient/cni/cni.sock');
});

test('local_cluster_nodes_get_a_directory_each', () => {
  assert.equal(defaultCniSocket({ AMBIENT_CLUSTER: 'dev' }, 'node2'), '/var/run/ambient/dev/node2/cni.sock');
  assert.notEqual(localClusterCniSocket('dev', 'node1'), localClusterCniSocket('dev', 'node2'));
});

test('local_cluster_names_cannot_escape_the_socket_root', () => {
  assert.throws(() => localClusterCniSocket('..', 'node1'), (e: unknown) => isMeshError(e, ErrorCodes.CNI_SOCKET_UNSAFE));
  assert.throws(() => localClusterCniSocket('dev', 'a/b'), (e: unknown) => isMeshError(e, ErrorCodes.CNI_SOCKET_UNSAFE));
  assert.throws(() => localClusterCniSocket('.', 'node1'), (e: unknown) => isMeshError(e, ErrorCodes.CNI_SOCKET_UNSAFE));
  // Every name the local cluster accepts (a-z, 0-9 and "-", up to 20) is one.
  assert.equal(localClusterCniSocket('-x-', 'node1'), '/var/run/ambient/-x-/node1/cni.sock');
});

test('socket_path_must_be_absolute_normalised_and_short', () => {
  assert.equal(socketPathProblem('/var/lib/ambient/cni/cni.sock'), undefined);
  assert.match(socketPathProblem('@ambient-cni')!, /abstract/);
  assert.match(socketPathProblem('cni.sock')!, /absolute/);
  assert.match(socketPathProblem('/a/../b/cni.sock')!, /normalised/);
  assert.match(socketPathProblem(`/${'a'.repeat(107)}`)!, /longer than 107/);
});
