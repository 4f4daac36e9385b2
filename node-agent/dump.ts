// What the node agent's admin server answers on GET /config_dump (127.0.0.1:15000): the
// agent builds it (agent.ts), `ambientctl status|workloads|services|certificates` read it
// (cli/mesh/types.ts imports these types, nothing else of the agent).
import type { MeshService, Policy, Workload } from '../core/config/model.js';

export interface EnrolledPodStatus {
  uid: string;
  name: string;
  namespace: string;
  identity: string;
  netns: string;
  activeConnections: number;
}

export interface AgentFailure {
  uid: string;
  error: string;
  at: string;
}

export interface AgentCertificate {
  identity: string;
  serial: string;
  notBefore: string;
  notAfter: string;
}

/** What the agent reports of its node's CNI installation (config_dump `cni`). */
export interface CniInstallStatus {
  binDir: string;
  confDir: string;
  /** The installed binary; null until it is. */
  binary: string | null;
  /** The conflist the plugin is chained into; null until it is. */
  conflist: string | null;
  chained: boolean;
  /** Times the chain was found broken and written again since the agent started. */
  repairs: number;
  /** ISO 8601 of the last repair, null when none. */
  lastRepair: string | null;
  /** Why the plugin is not installed or chained now; null when it is. */
  error: string | null;
}

/** GET /config_dump on a node agent's admin port. */
export interface AgentDump {
  node: string;
  ready: boolean;
  controller: { address: string; connected: boolean; ackedVersion?: string; resources: number; lastError?: string };
  enrolled: EnrolledPodStatus[];
  failures: AgentFailure[];
  workloads: Workload[];
  services: MeshService[];
  policies: Policy[];
  certificates: AgentCertificate[];
  warnings: string[];
  /** The node's CNI installation, when the agent installs the plugin (the program always does). */
  cni?: CniInstallStatus;
}

/** One observed (source, destination workload, port) edge: what `ambientctl authz suggest`
 * turns into ALLOW rules. Counts are since the agent started (or since the edge was last
 * evicted from the bounded table, AGENT_DEFAULTS.maxObservedEdges). */
export interface ObservedEdge {
  /** The source's verified SPIFFE ID (spiffe://...); null for plaintext (PERMISSIVE). */
  sourcePrincipal: string | null;
  /** The source pod, when the agent knew it (by address and, over HBONE, identity). */
  sourceWorkload?: { name: string; namespace: string };
  /** Plaintext: the client's address (part of the edge's key, since there is no principal);
   * HBONE: the TCP peer last seen (a node agent or a waypoint). */
  sourceIp?: string;
  destination: { uid: string; name: string; namespace: string; canonicalName: string; labels: Record<string, string> };
  /** The destination port (the port on the pod). */
  port: number;
  /** Connections decided (allowed and denied). */
  connections: number;
  /** Of which denied by the enforced policies (dry-run denials are not counted here). */
  denied: number;
  /** ISO 8601. */
  firstSeen: string;
  lastSeen: string;
}

/** GET /authz/edges on a node agent's admin port. */
export interface AuthzEdgesDump {
  node: string;
  /** ISO 8601: when the answer was made (for `--since`). */
  now: string;
  /** Most recently seen first. */
  edges: ObservedEdge[];
}
