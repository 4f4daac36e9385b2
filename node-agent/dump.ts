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
}
