// The JSON the mesh's components answer, as `ambientctl policies|authz` read it: a node
// agent's GET /config_dump and /authz/edges on 127.0.0.1:15000 (their types:
// node-agent/dump.ts) and the controller's GET /debug/config on 15020. Type-only imports:
// nothing of the agent or the controller is loaded into the CLI.
import type { Problem } from '../../controller/translate/input.js';
import type { AgentDump, AuthzEdgesDump as AgentEdges } from '../../node-agent/dump.js';
import type { Resource } from '../../core/config/model.js';

export type { AgentCertificate, AgentDump, AgentFailure, EnrolledPodStatus } from '../../node-agent/dump.js';

/** What asking one agent gave: its dump, or why there is none. */
export type AgentProbe = { node: string; ok: true; dump: AgentDump } | { node: string; ok: false; error: string };

/** A policy's status conditions as the controller wrote them (GET /debug/config `policyStatuses`). */
export interface PolicyStatusEntry {
  namespace: string;
  name: string;
  generation?: number;
  conditions: PolicyCondition[];
}

/** A Kubernetes status condition on an AuthorizationPolicy (`Accepted`, `Enforced`). */
export interface PolicyCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown' | string;
  reason?: string;
  message?: string;
}

/** GET /debug/config on the controller's 15020 (loopback only): the config it computed,
 * as `ambientctl authz check` evaluates it. */
export interface ControllerDebugConfig {
  version: string;
  trustDomain: string;
  rootNamespace: string;
  resources: Resource[];
  policyStatuses: PolicyStatusEntry[];
  problems: Problem[];
}

/** GET /authz/edges on a node agent's admin port: the agent's own types. */
export type { ObservedEdge, AuthzEdgesDump as AgentEdges } from '../../node-agent/dump.js';

export type AgentEdgesProbe = { node: string; ok: true; edges: AgentEdges } | { node: string; ok: false; error: string };

/** The parts of an AuthorizationPolicy.ambient.dev/v1 object `ambientctl policies` reads. */
export interface AuthorizationPolicyObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; generation?: number };
  spec?: { action?: string; selector?: { matchLabels?: Record<string, string> }; targetRefs?: Array<{ group?: string; kind?: string; name?: string }>; targetRef?: { group?: string; kind?: string; name?: string }; rules?: unknown[] };
  status?: { conditions?: PolicyCondition[] };
}
