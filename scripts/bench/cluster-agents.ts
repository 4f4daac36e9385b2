// The node agents of a benchmark's local cluster, found in /proc: their command line runs
// dist/node-agent/main.js and their environment carries the cluster's marker; the node
// comes from NODE_NAME, else from the network namespace they run in.
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { nodeNetnsName } from '../../local-cluster/network/topology.js';
import { CLUSTER_MARKER } from '../../local-cluster/processes.js';

/** The node-agent processes of `cluster`, by node. */
export function agentPids(cluster: string): Map<string, number> {
  const byNode = new Map<string, number>();
  const want = `${CLUSTER_MARKER}=${cluster}`;
  const nodeOfNetns = new Map<string, string>();
  for (const i of [1, 2]) {
    try {
      nodeOfNetns.set(String(statSync(`/run/netns/${nodeNetnsName(cluster, i)}`).ino), `node${i}`);
    } catch {
      // not there
    }
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'latin1');
      if (!cmd.includes('dist/node-agent/main.js')) continue;
      const env = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      if (!env.includes(want)) continue;
      let node = env.find((e) => e.startsWith('NODE_NAME='))?.slice('NODE_NAME='.length);
      if (!node) {
        const ino = /\[(\d+)\]/.exec(readlinkSync(`/proc/${entry}/ns/net`))?.[1];
        node = ino ? nodeOfNetns.get(ino) : undefined;
      }
      if (node) byNode.set(node, Number(entry));
    } catch {
      // gone, or not readable
    }
  }
  return byNode;
}

/** Processes of `cluster` whose command line runs `script` (e.g. 'dist/waypoint/main.js'): their pids. */
export function clusterProcessPids(cluster: string, script: string): number[] {
  const want = `${CLUSTER_MARKER}=${cluster}`;
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, 'latin1').includes(script)) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(want)) out.push(Number(entry));
    } catch {
      // gone, or not readable
    }
  }
  return out;
}
