import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { hostPathVolumes } from './host-paths.js';

const pod = (volumes: NonNullable<V1Pod['spec']>['volumes']): V1Pod => ({ spec: { containers: [], volumes } });

test('host_path_volumes_map_to_the_nodes_own_directory_named_by_env', () => {
  const v = hostPathVolumes(
    pod([
      { name: 'cni-bin-dir', hostPath: { path: '/opt/cni/bin', type: 'DirectoryOrCreate' } },
      { name: 'cni-net-dir', hostPath: { path: '/etc/cni/net.d' } },
      { name: 'controller-token', projected: { sources: [] } },
    ]),
    '/s/nodes/node2',
  );
  assert.deepEqual(v, [
    { volume: 'cni-bin-dir', dir: '/s/nodes/node2/opt/cni/bin', create: true, env: 'AMBIENT_VOLUME_CNI_BIN_DIR' },
    { volume: 'cni-net-dir', dir: '/s/nodes/node2/etc/cni/net.d', create: false, env: 'AMBIENT_VOLUME_CNI_NET_DIR' },
  ]);
});

test('host_path_volumes_refuse_paths_that_leave_the_node_directory', () => {
  assert.throws(() => hostPathVolumes(pod([{ name: 'x', hostPath: { path: '/etc/../../root' } }]), '/s/nodes/n'), /volume x: hostPath "\/etc\/\.\.\/\.\.\/root" is not an absolute, normalised path/);
  assert.throws(() => hostPathVolumes(pod([{ name: 'x', hostPath: { path: 'etc' } }]), '/s/nodes/n'), /not an absolute/);
});

test('a_pod_without_host_path_volumes_gets_none', () => {
  assert.deepEqual(hostPathVolumes(pod(undefined), '/s/nodes/n'), []);
});
