// Pod name resolution for the local cluster: each pod gets its own /etc/hosts (through
// /etc/netns/<pod netns>/hosts, which `ip netns exec` mounts over /etc/hosts) listing
// every Service by its DNS names; names of the pod's own namespace also resolve short.
import type { V1Service } from '@kubernetes/client-node';
import { CLUSTER_DNS_ADDRESS } from '../network/topology.js';

export const CLUSTER_DOMAIN = 'cluster.local';

export function hostsFile(pod: { name: string; namespace: string; ip: string }, services: readonly V1Service[]): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `${pod.ip}\t${pod.name}`];
  const sorted = [...services].sort((a, b) =>
    `${a.metadata?.namespace}/${a.metadata?.name}`.localeCompare(`${b.metadata?.namespace}/${b.metadata?.name}`),
  );
  for (const s of sorted) {
    const ip = s.spec?.clusterIP;
    if (!ip || ip === 'None') continue;
    const { name, namespace } = s.metadata!;
    const names = [`${name}.${namespace}.svc.${CLUSTER_DOMAIN}`, `${name}.${namespace}.svc`, `${name}.${namespace}`];
    if (namespace === pod.namespace) names.push(name!);
    lines.push(`${ip}\t${names.join(' ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The cluster DNS address as nameserver (see CLUSTER_DNS_ADDRESS: only the mesh's DNS proxy answers there). */
export function resolvConf(namespace: string): string {
  return `search ${namespace}.svc.${CLUSTER_DOMAIN} svc.${CLUSTER_DOMAIN} ${CLUSTER_DOMAIN}\nnameserver ${CLUSTER_DNS_ADDRESS}\noptions ndots:5 timeout:1 attempts:1\n`;
}
