// Creates and destroys the local cluster's network: runs the steps nodes-plan.ts decides.

import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeNodeConflists } from './cni.js';
import { agentSocketRoot, cniDir, ipamDir } from './cni-config.js';
import { NetworkError, NetworkErrorCodes } from './errors.js';
import { runChecked, runCommand } from './exec.js';
import { assertNetnsMountsVisible } from './mounts.js';
import { assertContained, createPlan, destroyOrder, parseNetnsList, type Step } from './nodes-plan.js';
import { isClusterNetns, type Topology } from './topology.js';

const ETC_NETNS = '/etc/netns';

export interface ClusterNetworkRequest {
  stateDir: string;
  topology: Topology;
}

/**
 * Builds the cluster namespace, br0, every node namespace, veth, address, route and
 * sysctl, and gives each node its CNI directories with its primary conflist. A leftover of this cluster (an earlier `up`
 * that crashed: namespaces, CNI and IPAM state) is destroyed first; a failure part-way
 * destroys what was made.
 */
export async function createClusterNetwork(req: ClusterNetworkRequest): Promise<void> {
  const { topology, stateDir } = req;
  const steps = createPlan(topology);
  await assertNetnsMountsVisible();
  // Whatever an earlier `up` left (namespaces after a crash, or IPAM files claiming
  // addresses for pods that no longer exist) goes first.
  await destroyClusterNetwork(req);
  try {
    for (const step of steps) await runStep(topology.cluster, step);
    for (const node of topology.nodes) await mkdir(ipamDir(stateDir, node.index), { recursive: true });
    await writeNodeConflists(stateDir, topology);
  } catch (err) {
    await destroyClusterNetwork(req).catch(() => undefined);
    throw err;
  }
}

/**
 * Deletes every namespace of the cluster (pods included, found with `ip netns list`),
 * their /etc/netns directories and the cluster's CNI and IPAM state. Safe to run twice
 * and on a half-made cluster. Processes still inside a namespace keep it alive (the
 * kernel frees it with its last user) but it is unreachable: stopping them is the
 * caller's job.
 */
export async function destroyClusterNetwork(req: ClusterNetworkRequest): Promise<void> {
  const { topology, stateDir } = req;
  const failures: string[] = [];
  for (const name of await clusterNamespaces(topology.cluster)) {
    const r = await runCommand('ip', ['netns', 'del', name]);
    // Losing a race with another deleter is fine; anything else is reported after the rest.
    if (r.code !== 0 && (await clusterNamespaces(topology.cluster)).includes(name)) failures.push(`${name}: ${r.stderr.trim()}`);
  }
  for (const entry of await readdir(ETC_NETNS).catch(() => [] as string[])) {
    if (isClusterNetns(topology.cluster, entry)) await rm(join(ETC_NETNS, entry), { recursive: true, force: true });
  }
  await rm(cniDir(stateDir), { recursive: true, force: true });
  // The nodes' stand-ins for /opt/cni/bin and /etc/cni/net.d (cni-config.ts, nodeHostDir).
  await rm(join(resolve(stateDir), 'nodes'), { recursive: true, force: true });
  await rm(join(resolve(stateDir), 'ipam'), { recursive: true, force: true });
  await rm(agentSocketRoot(topology.cluster), { recursive: true, force: true });
  if (failures.length > 0) {
    throw new NetworkError(NetworkErrorCodes.COMMAND_FAILED, `could not delete namespaces of cluster ${topology.cluster}: ${failures.join('; ')}`);
  }
}

/** This cluster's namespaces that exist now, in deletion order. */
export async function clusterNamespaces(cluster: string): Promise<string[]> {
  const { stdout } = await runChecked('ip', ['netns', 'list']);
  return destroyOrder(cluster, parseNetnsList(stdout));
}

async function runStep(cluster: string, step: Step): Promise<void> {
  assertContained(cluster, [step]);
  if (step.kind === 'ip') {
    await runChecked('ip', step.args);
    return;
  }
  const exec = ['netns', 'exec', step.netns, 'sysctl'];
  try {
    await runChecked('ip', [...exec, '-w', `${step.key}=${step.value}`]);
  } catch (err) {
    const hint = step.key.startsWith('net.bridge.') ? ' (needs br_netfilter: built in, or `modprobe br_netfilter`)' : '';
    throw new NetworkError(NetworkErrorCodes.COMMAND_FAILED, `${(err as Error).message}${hint}`, { cause: err });
  }
  const now = (await runChecked('ip', [...exec, '-n', step.key])).stdout.trim();
  if (now !== step.value) {
    throw new NetworkError(NetworkErrorCodes.COMMAND_FAILED, `${step.key} in ${step.netns} is ${now} after setting it to ${step.value}`);
  }
}
