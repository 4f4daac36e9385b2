// `ip netns add` pins a namespace by bind-mounting it on /run/netns/<name>. From a
// process started by `ip netns exec` (which unshares the mount namespace and makes it a
// slave of the host's) that mount stays private to the process: the name file appears
// everywhere, but elsewhere it is an empty file ("setting the network namespace failed:
// Invalid argument"). Namespaces must therefore be created from the host's mount
// namespace; a process that only needs another network namespace should be started
// with `nsenter --net=/run/netns/<ns>`, which keeps the mount namespace.

import { readFile, readlink } from 'node:fs/promises';
import { NetworkError, NetworkErrorCodes } from './errors.js';

export type Propagation = 'shared' | 'slave' | 'private' | 'absent';

/** How mounts under /run/netns propagate, from /proc/self/mountinfo (proc(5)). */
export function netnsDirPropagation(mountinfo: string): Propagation {
  let found: Propagation = 'absent';
  for (const line of mountinfo.split('\n')) {
    const [pre] = line.split(' - ');
    const fields = (pre ?? '').split(' ');
    const mountPoint = fields[4];
    if (mountPoint !== '/run/netns' && mountPoint !== '/var/run/netns') continue;
    const optional = fields.slice(6);
    // The last mount on a path is the visible one.
    found = optional.some((f) => f.startsWith('shared:')) ? 'shared' : optional.some((f) => f.startsWith('master:')) ? 'slave' : 'private';
  }
  return found;
}

/**
 * Whether a namespace this process pins under /run/netns would be invisible to the rest
 * of the machine: our /run/netns does not propagate back (slave or private) AND our mount
 * namespace is not our parent's (someone unshared it for us, as `ip netns exec` does). A
 * slave /run/netns alone is not enough: a container whose every process shares one mount
 * namespace may have one and still see its own mounts everywhere.
 */
export function netnsMountsPrivate(args: { propagation: Propagation; selfMnt: string; parentMnt: string | undefined }): boolean {
  const noPropagation = args.propagation === 'slave' || args.propagation === 'private';
  return noPropagation && args.parentMnt !== undefined && args.parentMnt !== args.selfMnt;
}

/** Throws when namespaces created by this process would be invisible outside it. */
export async function assertNetnsMountsVisible(): Promise<void> {
  const propagation = netnsDirPropagation(await readFile('/proc/self/mountinfo', 'utf8'));
  const selfMnt = await readlink('/proc/self/ns/mnt');
  const parentMnt = await readlink(`/proc/${process.ppid}/ns/mnt`).catch(() => undefined);
  if (netnsMountsPrivate({ propagation, selfMnt, parentMnt })) {
    throw new NetworkError(
      NetworkErrorCodes.PRIVATE_MOUNTS,
      `this process has a private mount namespace (/run/netns is ${propagation}; started by \`ip netns exec\`?): ` +
        'network namespaces it creates would be invisible to every other process. ' +
        'Start it with `nsenter --net=/run/netns/<ns>` instead, which keeps the host mount namespace.',
    );
  }
}
