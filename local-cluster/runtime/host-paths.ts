// hostPath volumes on the local cluster. Its nodes share the machine's filesystem, so a
// node's "host" directories are its own under the cluster's state directory
// (`<cluster dir>/nodes/<node>/<path>`, network/cni-config.ts nodeHostDir): node1's
// /opt/cni/bin is not node2's. The kubelet mounts nothing (containers are processes on
// the machine); as for projected tokens (service-account.ts), each hostPath volume's
// directory is named by the environment variable AMBIENT_VOLUME_<VOLUME>, which a program
// reads in place of its mount path (the node agent does for cni-bin-dir and cni-net-dir).
// Pure; the kubelet creates the directories of DirectoryOrCreate volumes.
import type { V1Pod } from '@kubernetes/client-node';
import { join, normalize } from 'node:path';
import { volumeEnvName } from './service-account.js';

export interface HostPathVolume {
  volume: string;
  /** The node's own directory for the volume's path. */
  dir: string;
  /** hostPath type DirectoryOrCreate: the kubelet makes the directory when it is missing. */
  create: boolean;
  env: string;
}

/** The pod's hostPath volumes mapped under `nodeHostDir`; a path that is not absolute and normal is refused. */
export function hostPathVolumes(pod: V1Pod, nodeHostDir: string): HostPathVolume[] {
  const out: HostPathVolume[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    const path = v.hostPath?.path;
    if (path === undefined) continue;
    if (!path.startsWith('/') || normalize(path) !== path || path.split('/').includes('..')) {
      throw new Error(`volume ${v.name}: hostPath ${JSON.stringify(path)} is not an absolute, normalised path`);
    }
    out.push({ volume: v.name, dir: join(nodeHostDir, path), create: v.hostPath?.type === 'DirectoryOrCreate', env: volumeEnvName(v.name) });
  }
  return out;
}
