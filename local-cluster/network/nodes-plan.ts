// What creating and destroying a cluster network does, as a list of steps: pure, so the
// safety rule (nothing in the host namespace) is checked on data before anything runs.

import { NetworkError, NetworkErrorCodes } from './errors.js';
import { CLUSTER_BRIDGE, NODE_INTERFACE, isClusterNetns, type Topology } from './topology.js';

/** `ip <args>`; every one names a cluster namespace (`-n ns`, or `netns add|del ns`). */
export interface IpStep {
  kind: 'ip';
  args: string[];
}

/** Set a sysctl inside a namespace, then read it back (`ip netns exec ns sysctl`). */
export interface SysctlStep {
  kind: 'sysctl';
  netns: string;
  key: string;
  value: string;
}

export type Step = IpStep | SysctlStep;

const ip = (...args: string[]): IpStep => ({ kind: 'ip', args });
const sysctl = (netns: string, key: string, value: string): SysctlStep => ({ kind: 'sysctl', netns, key, value });

/** The steps that build a cluster network from nothing, in order. */
export function createPlan(topology: Topology): Step[] {
  const cns = topology.clusterNetns;
  const steps: Step[] = [
    ip('netns', 'add', cns),
    ip('-n', cns, 'link', 'set', 'lo', 'up'),
    // The switch only bridges and hosts the control plane: it routes nothing, and bridged
    // node-to-node frames need not cross its (empty) iptables.
    sysctl(cns, 'net.ipv4.ip_forward', '0'),
    sysctl(cns, 'net.bridge.bridge-nf-call-iptables', '0'),
    ip('-n', cns, 'link', 'add', CLUSTER_BRIDGE, 'type', 'bridge'),
    ip('-n', cns, 'addr', 'add', `${topology.controlPlaneAddress}/${topology.prefixLength}`, 'dev', CLUSTER_BRIDGE),
  ];
  const v6 = topology.ipv6;
  if (v6) {
    steps.push(
      sysctl(cns, 'net.ipv6.conf.all.forwarding', '0'),
      sysctl(cns, 'net.bridge.bridge-nf-call-ip6tables', '0'),
      // nodad: usable at once (no address here can be a duplicate: we made them all).
      ip('-n', cns, 'addr', 'add', `${v6.controlPlaneAddress}/${v6.prefixLength}`, 'dev', CLUSTER_BRIDGE, 'nodad'),
    );
  }
  steps.push(ip('-n', cns, 'link', 'set', CLUSTER_BRIDGE, 'up'));
  for (const node of topology.nodes) {
    steps.push(
      ip('netns', 'add', node.netns),
      ip('-n', node.netns, 'link', 'set', 'lo', 'up'),
      // The node routes between its pods (cni0), the other nodes (eth0) and Service DNAT.
      sysctl(node.netns, 'net.ipv4.ip_forward', '1'),
      // Pod-to-pod traffic on one node is bridged by cni0; a Service DNAT to a same-node
      // endpoint only gets its reply un-NATed if bridged frames cross iptables
      // (br_netfilter). Per-namespace since Linux 5.3; default 1, set it anyway.
      sysctl(node.netns, 'net.bridge.bridge-nf-call-iptables', '1'),
      // Both veth ends are born in namespaces of ours: the pair is created inside the
      // cluster namespace with its peer placed straight into the node's, never in the host.
      ip('-n', cns, 'link', 'add', node.switchPort, 'type', 'veth', 'peer', 'name', NODE_INTERFACE, 'netns', node.netns),
      ip('-n', cns, 'link', 'set', node.switchPort, 'master', CLUSTER_BRIDGE),
      ip('-n', cns, 'link', 'set', node.switchPort, 'up'),
      ip('-n', node.netns, 'addr', 'add', `${node.address}/${node.prefixLength}`, 'dev', NODE_INTERFACE),
    );
    if (node.ipv6) {
      steps.push(
        // Forwarding between pods and nodes over IPv6 too; bridged IPv6 crosses ip6tables
        // (the probe source guard sees pod-to-pod frames on cni0).
        sysctl(node.netns, 'net.ipv6.conf.all.forwarding', '1'),
        sysctl(node.netns, 'net.bridge.bridge-nf-call-ip6tables', '1'),
        ip('-n', node.netns, 'addr', 'add', `${node.ipv6.address}/${node.ipv6.prefixLength}`, 'dev', NODE_INTERFACE, 'nodad'),
      );
    }
    steps.push(ip('-n', node.netns, 'link', 'set', NODE_INTERFACE, 'up'));
  }
  for (const node of topology.nodes) {
    for (const r of [...node.routes, node.serviceRoute, ...(node.ipv6?.routes ?? [])]) {
      steps.push(ip('-n', node.netns, 'route', 'add', r.dst, 'via', r.via, 'dev', NODE_INTERFACE));
    }
  }
  for (const r of [...topology.clusterRoutes, ...(v6?.clusterRoutes ?? [])]) steps.push(ip('-n', cns, 'route', 'add', r.dst, 'via', r.via, 'dev', CLUSTER_BRIDGE));
  assertContained(topology.cluster, steps);
  return steps;
}

/**
 * Throws unless every step acts inside one of the cluster's namespaces: the guard for
 * the safety rule (never an interface, route or sysctl in the host namespace), applied
 * to every plan before it runs.
 */
export function assertContained(cluster: string, steps: readonly Step[]): void {
  for (const s of steps) {
    const ns = s.kind === 'sysctl' ? s.netns : s.args[0] === '-n' ? s.args[1] : s.args[0] === 'netns' ? s.args[2] : undefined;
    const nsVerbOk = s.kind === 'sysctl' || s.args[0] === '-n' || (s.args[0] === 'netns' && ['add', 'del'].includes(s.args[1] ?? ''));
    if (!nsVerbOk || ns === undefined || !isClusterNetns(cluster, ns)) {
      const what = s.kind === 'sysctl' ? `sysctl ${s.key} in ${s.netns}` : `ip ${s.args.join(' ')}`;
      throw new NetworkError(NetworkErrorCodes.INVALID, `refusing \`${what}\`: not inside a namespace of cluster ${cluster}`);
    }
  }
}

/** Names from `ip netns list` ("name" or "name (id: 3)" per line). */
export function parseNetnsList(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

/** This cluster's namespaces among `names`, in deletion order: pods, nodes, then the switch. */
export function destroyOrder(cluster: string, names: readonly string[]): string[] {
  const ours = [...new Set(names)].filter((n) => isClusterNetns(cluster, n));
  const rank = (n: string) => (/-pod-[0-9a-f]+$/.test(n) ? 0 : /-node\d+$/.test(n) ? 1 : 2);
  return ours.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b, 'en', { numeric: true }));
}
