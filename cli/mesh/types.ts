// The JSON the mesh's components answer, as `ambientctl status|workloads|services|
// certificates` read it: a node agent's GET /config_dump on 127.0.0.1:15000
// (its type: node-agent/dump.ts) and the controller's GET /debug/status on 15020
// (controller/controller.ts debugStatus). Type-only imports: nothing of the agent or the
// controller is loaded into the CLI.
import type { ControllerStatus } from '../../controller/distribution/server.js';
import type { Problem } from '../../controller/translate/input.js';
import type { AgentDump } from '../../node-agent/dump.js';

export type { AgentCertificate, AgentDump, AgentFailure, EnrolledPodStatus } from '../../node-agent/dump.js';

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
