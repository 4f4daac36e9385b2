// The JSON the mesh's components answer, as `ambientctl status|workloads|services|
// certificates` read it: a node agent's GET /config_dump on 127.0.0.1:15000
// (node-agent/agent.ts dump()) and the controller's GET /debug/status on 15020
// (controller/controller.ts debugStatus). Type-only imports: nothing of the agent or the
// controller is loaded into the CLI.
import type { MeshService, Policy, Workload } from '../../core/config/model.js';
import type { ControllerStatus } from '../../controller/distribution/server.js';
import type { Problem } from '../../controller/translate/input.js';
import type { EnrolledPodStatus } from '../../node-agent/agent.js';

export interface AgentCertificate {
  identity: string;
  serial: string;
  notBefore: string;
  notAfter: string;
}

export interface AgentFailure {
  uid: string;
  error: string;
  at: string;
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

/** GET /debug/status on the controller's 15020. */
export interface ControllerDebugStatus extends ControllerStatus {
  synced: boolean;
  /** `namespace/name` of the CA Secret. */
  ca: string;
  problems: Problem[];
}

/** What asking one agent gave: its dump, or why there is none. */
export type AgentProbe = { node: string; ok: true; dump: AgentDump } | { node: string; ok: false; error: string };

/** What asking one controller pod gave. */
export type ControllerProbe =
  | { pod: string; address?: string; ok: true; status: ControllerDebugStatus }
  | { pod: string; address?: string; ok: false; error: string };
