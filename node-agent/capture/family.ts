// Which address families a pod's capture covers (pure). IPv6 is captured and served
// whenever the pod's network namespace has IPv6 at all, not only when the pod has an
// IPv6 address in the cluster: a namespace with IPv6 enabled has link-local addresses
// on every interface, and a neighbour on the same bridge reaches the app over them. Left
// uncaptured, that is plaintext to a STRICT app and egress that skips the mesh. A pod
// whose workload lists an IPv6 address but whose namespace cannot hold IPv6 listeners is
// not enrolled (fail closed: its IPv6 traffic could not be served).
import net from 'node:net';
import { ErrorCodes, MeshError } from '../../core/errors.js';

export interface FamilyPlan {
  ipv6: boolean;
}

/**
 * `workloadIps`: the pod's addresses in config; `netnsHasIpv6`: whether the pod's
 * namespace can bind `::1` (IPv6 enabled there).
 */
export function captureFamilies(workloadIps: readonly string[], netnsHasIpv6: boolean): FamilyPlan {
  const v6 = workloadIps.filter((ip) => net.isIPv6(ip));
  if (v6.length > 0 && !netnsHasIpv6) {
    throw new MeshError(
      ErrorCodes.NETWORK_INVALID,
      `the pod has IPv6 address ${v6.join(', ')} but IPv6 is disabled in its network namespace: its IPv6 traffic could not be captured; not enrolled`,
    );
  }
  return { ipv6: netnsHasIpv6 };
}

/** Where the agent listens in the pod for `family` (DESIGN.md section 3). */
export function listenAddresses(family: 4 | 6): { outbound: string; inbound: string; dns: string } {
  return family === 4 ? { outbound: '127.0.0.1', inbound: '0.0.0.0', dns: '127.0.0.1' } : { outbound: '::1', inbound: '::', dns: '::1' };
}
