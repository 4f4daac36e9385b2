// The local cluster's network layer (DESIGN.md §5): topology, node namespaces, pod
// networks through the standard CNI plugins, and Service VIP rules.
export * from './topology.js';
export * from './errors.js';
export { NETWORK_DEFAULTS } from './exec.js';
export { createClusterNetwork, destroyClusterNetwork, clusterNamespaces, type ClusterNetworkRequest } from './nodes.js';
export { podNetworkAdd, podNetworkDel, podNetworkCheck, writeNodeConflists, type PodNetwork, type PodNetworkRequest } from './cni.js';
export { nodeConflist, conflistPath, ipamDir, type CniConflist, type CniResult } from './cni-config.js';
export * from './service-rules.js';
export { applyServiceRules, installServiceJumps, listServiceChains, syncServices } from './service-proxy.js';
