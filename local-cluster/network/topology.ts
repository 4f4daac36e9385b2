// The local cluster's addressing plan (DESIGN.md §5), as data: namespace and interface
// names, addresses, routes. Pure: no I/O, the same input always gives the same plan.
//
//   cluster netns amb-<c>            br0 10.243.0.1/24 (control plane), ports node<i>
//        │ veth node<i> ⇄ eth0
//   node netns amb-<c>-node<i>       eth0 10.243.0.<10+i>/24, cni0 10.244.<i>.1/24 (made by
//        │ CNI bridge)               the CNI bridge plugin), ip_forward=1, no default route
//   pod netns amb-<c>-pod-<uid12>    eth0 10.244.<i>.x/24, default via 10.244.<i>.1
//
// Dual-stack (`dualStack: true`) adds IPv6 from unique local ranges beside every IPv4
// address: br0 fd00:10:243::1/64, node<i> eth0 fd00:10:243::<10+i>/64, pods from node i's
// /64 of fd00:10:244::/56 (fd00:10:244:<i hex>::/64, gateway ::1 on cni0), routes between
// the nodes' pod /64s. Services stay IPv4 (a single-stack Service CIDR), and IPv6 has no
// default route anywhere but in pods, so IPv6 cannot leave the cluster either.
//
// Nothing has a default route except pods (to their node, which has none), so nothing can
// leave the cluster: traffic for the outside world is unreachable at the node. Nodes route
// the Service CIDR to the control-plane address (which forwards nothing) so that Service
// rules see VIP traffic (see NodeTopology.serviceRoute).

import { NetworkError, NetworkErrorCodes } from './errors.js';

export const NODE_CIDR = '10.243.0.0/24';
export const CONTROL_PLANE_ADDRESS = '10.243.0.1';
export const POD_CIDR = '10.244.0.0/16';
export const SERVICE_CIDR = '10.96.0.0/16';
/** Pods' nameserver, kept out of Service allocation as kubeadm keeps kube-dns's. Nothing
 * answers there (names come from each pod's hosts file): a query from a pod outside the
 * mesh fails at once (the node has no route for it), and an enrolled pod's query is
 * captured and answered by its node agent's DNS proxy, as on a real cluster. */
export const CLUSTER_DNS_ADDRESS = '10.96.0.10';
/** Dual-stack: the nodes' and control plane's IPv6 network, and the pods' ULA range (a /64 per node). */
export const NODE_CIDR6 = 'fd00:10:243::/64';
export const CONTROL_PLANE_ADDRESS6 = 'fd00:10:243::1';
export const POD_CIDR6 = 'fd00:10:244::/56';
export const CLUSTER_BRIDGE = 'br0';
export const NODE_INTERFACE = 'eth0';
export const POD_BRIDGE = 'cni0';
export const POD_INTERFACE = 'eth0';
export const MAX_NODES = 50;
export const MAX_CLUSTER_NAME = 20;
const NETNS_PREFIX = 'amb-';
const POD_UID_CHARS = 12;

export interface TopologyInput {
  /** Short name, [a-z0-9-]{1,20}: "local", or a test id. */
  cluster: string;
  /** 1..50 */
  nodes: number;
  /** IPv6 beside IPv4 on every node and pod (Services stay IPv4). Default false. */
  dualStack?: boolean;
}

/** A node's IPv6 side, in a dual-stack cluster. */
export interface NodeIpv6 {
  address: string; // on eth0
  prefixLength: number;
  podCidr: string; // a /64
  podGateway: string; // on cni0
  routes: Route[]; // the other nodes' pod /64s
}

export interface Route {
  dst: string; // CIDR
  via: string;
}

export interface NodeTopology {
  index: number; // 1-based
  name: string; // node<i>, also the name of its port on br0
  netns: string;
  address: string; // on eth0
  prefixLength: number;
  /** The veth end in the cluster namespace, enslaved to br0. */
  switchPort: string;
  podCidr: string;
  podGateway: string; // on cni0
  routes: Route[]; // the other nodes' pod CIDRs
  /**
   * The Service CIDR via the control-plane address. kube-proxy's rules need *some* route
   * to a VIP: a node's own connections are routed before nat OUTPUT can DNAT them, and a
   * VIP without endpoints must reach filter FORWARD/OUTPUT to be REJECTed (on a real node
   * the default route serves). The control-plane namespace does not forward, so a VIP
   * with no rules at all gets a quick "host unreachable" instead of leaving.
   */
  serviceRoute: Route;
  /** Dual-stack only. */
  ipv6?: NodeIpv6;
}

export interface Topology {
  cluster: string;
  /** The cluster "switch" namespace, holding br0 and the control-plane address. */
  clusterNetns: string;
  controlPlaneAddress: string;
  prefixLength: number;
  /** Routes in the cluster namespace, so control-plane servers can answer pods. */
  clusterRoutes: Route[];
  nodes: NodeTopology[];
  serviceCidr: string;
  podCidr: string;
  dualStack: boolean;
  /** Dual-stack only: br0's IPv6 address and the routes to the nodes' pod /64s. */
  ipv6?: { controlPlaneAddress: string; prefixLength: number; podCidr: string; clusterRoutes: Route[] };
}

/** Validates the input and builds the whole plan. */
export function buildTopology(input: TopologyInput): Topology {
  const cluster = validateClusterName(input.cluster);
  const count = validateNodeCount(input.nodes);
  if (input.dualStack !== undefined && typeof input.dualStack !== 'boolean') throw invalid(`dualStack ${JSON.stringify(input.dualStack)} is not a boolean`);
  const dualStack = input.dualStack === true;
  const clusterNetns = clusterNetnsName(cluster);
  const indices = Array.from({ length: count }, (_, k) => k + 1);
  const nodes = indices.map((i) => ({
    index: i,
    name: `node${i}`,
    netns: nodeNetnsName(cluster, i),
    address: nodeAddress(i),
    prefixLength: 24,
    switchPort: `node${i}`,
    podCidr: podCidrOf(i),
    podGateway: podGatewayOf(i),
    routes: indices.filter((j) => j !== i).map((j) => ({ dst: podCidrOf(j), via: nodeAddress(j) })),
    serviceRoute: { dst: SERVICE_CIDR, via: CONTROL_PLANE_ADDRESS },
    ...(dualStack && {
      ipv6: {
        address: nodeAddress6(i),
        prefixLength: 64,
        podCidr: podCidr6Of(i),
        podGateway: podGateway6Of(i),
        routes: indices.filter((j) => j !== i).map((j) => ({ dst: podCidr6Of(j), via: nodeAddress6(j) })),
      },
    }),
  }));
  return {
    cluster,
    clusterNetns,
    controlPlaneAddress: CONTROL_PLANE_ADDRESS,
    prefixLength: 24,
    clusterRoutes: indices.map((j) => ({ dst: podCidrOf(j), via: nodeAddress(j) })),
    nodes,
    serviceCidr: SERVICE_CIDR,
    podCidr: POD_CIDR,
    dualStack,
    ...(dualStack && {
      ipv6: {
        controlPlaneAddress: CONTROL_PLANE_ADDRESS6,
        prefixLength: 64,
        podCidr: POD_CIDR6,
        clusterRoutes: indices.map((j) => ({ dst: podCidr6Of(j), via: nodeAddress6(j) })),
      },
    }),
  };
}

export function validateClusterName(cluster: unknown): string {
  if (typeof cluster !== 'string' || !/^[a-z0-9-]{1,20}$/.test(cluster)) {
    throw invalid(
      `cluster name ${JSON.stringify(cluster)} is invalid: use 1 to ${MAX_CLUSTER_NAME} characters of a-z, 0-9 and "-"`,
    );
  }
  return cluster;
}

export function validateNodeCount(nodes: unknown): number {
  if (typeof nodes !== 'number' || !Number.isInteger(nodes) || nodes < 1 || nodes > MAX_NODES) {
    throw invalid(`node count ${JSON.stringify(nodes)} is invalid: use a whole number from 1 to ${MAX_NODES}`);
  }
  return nodes;
}

export function clusterNetnsName(cluster: string): string {
  return `${NETNS_PREFIX}${validateClusterName(cluster)}`;
}

export function nodeNetnsName(cluster: string, index: number): string {
  return `${clusterNetnsName(cluster)}-node${index}`;
}

/**
 * `amb-<cluster>-pod-<first 12 hex of the uid without dashes>`: stable for a pod, and
 * unique in practice (48 random bits of a UUIDv4), like kubelet's sandbox names.
 */
export function podNetnsName(cluster: string, podUid: string): string {
  return `${clusterNetnsName(cluster)}-pod-${podUidHex(podUid).slice(0, POD_UID_CHARS)}`;
}

/** The pod uid lowercased without dashes; at least 12 hex digits (a Kubernetes UID is a UUID). */
export function podUidHex(podUid: unknown): string {
  const hex = typeof podUid === 'string' ? podUid.toLowerCase().replaceAll('-', '') : '';
  if (!/^[0-9a-f]+$/.test(hex) || hex.length < POD_UID_CHARS || hex.length > 64) {
    throw invalid(`pod uid ${JSON.stringify(podUid)} is invalid: expected a UUID (at least ${POD_UID_CHARS} hex digits)`);
  }
  return hex;
}

/**
 * The network namespace a pod's processes run in: its own, or its node's for a
 * hostNetwork pod (whose spec.nodeName must then be one of the cluster's nodes).
 */
export function podNetnsOf(topology: Topology, pod: { metadata?: { uid?: unknown }; spec?: { hostNetwork?: unknown; nodeName?: unknown } }): string {
  if (pod.spec?.hostNetwork === true) {
    const node = topology.nodes.find((n) => n.name === pod.spec?.nodeName);
    if (!node) throw invalid(`hostNetwork pod is on node ${JSON.stringify(pod.spec?.nodeName)}, which is not in cluster ${topology.cluster} (${topology.nodes.map((n) => n.name).join(', ')})`);
    return node.netns;
  }
  return podNetnsName(topology.cluster, pod.metadata?.uid as string);
}

/**
 * Whether `name` is one of this cluster's namespaces: the switch, a node or a pod. Exact
 * shapes rather than a bare prefix, so that cluster "a" never matches cluster "a2"'s.
 */
export function isClusterNetns(cluster: string, name: string): boolean {
  const base = clusterNetnsName(cluster);
  if (name === base) return true;
  if (!name.startsWith(`${base}-`)) return false;
  const rest = name.slice(base.length + 1);
  return /^node[1-9][0-9]*$/.test(rest) || new RegExp(`^pod-[0-9a-f]{${POD_UID_CHARS}}$`).test(rest);
}

export function nodeOf(topology: Topology, index: number): NodeTopology {
  const node = topology.nodes.find((n) => n.index === index);
  if (!node) {
    throw invalid(`node ${JSON.stringify(index)} is not in cluster ${topology.cluster} (nodes 1..${topology.nodes.length})`);
  }
  return node;
}

/** The node whose pod CIDR (IPv4, or IPv6 in a dual-stack cluster) holds `ip`, if any. */
export function nodeForPodIp(topology: Topology, ip: string): NodeTopology | undefined {
  const m = /^10\.244\.(\d{1,3})\.\d{1,3}$/.exec(ip);
  if (m) return topology.nodes.find((n) => n.index === Number(m[1]));
  // fd00:10:244:<i hex>:<interface id>, as host-local writes it (RFC 5952).
  const m6 = /^fd00:10:244:([0-9a-f]{1,2}):(?:[0-9a-f]{0,4}:){0,3}[0-9a-f]{0,4}$/i.exec(ip);
  return m6 && topology.dualStack ? topology.nodes.find((n) => n.index === parseInt(m6[1]!, 16)) : undefined;
}

function nodeAddress(i: number): string {
  return `10.243.0.${10 + i}`;
}

function podCidrOf(i: number): string {
  return `10.244.${i}.0/24`;
}

function podGatewayOf(i: number): string {
  return `10.244.${i}.1`;
}

function nodeAddress6(i: number): string {
  return `fd00:10:243::${10 + i}`;
}

function podCidr6Of(i: number): string {
  return `fd00:10:244:${i.toString(16)}::/64`;
}

function podGateway6Of(i: number): string {
  return `fd00:10:244:${i.toString(16)}::1`;
}

function invalid(message: string): NetworkError {
  return new NetworkError(NetworkErrorCodes.INVALID, message);
}
