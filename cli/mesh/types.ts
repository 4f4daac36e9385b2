// The JSON the node agents answer, as `ambientctl authz suggest` reads it: GET /config_dump
// and /authz/edges on 127.0.0.1:15000 (their types: node-agent/dump.ts). Type-only imports:
// nothing of the agent is loaded into the CLI.
import type { AgentDump, AuthzEdgesDump as AgentEdges } from '../../node-agent/dump.js';

export type { AgentCertificate, AgentDump, AgentFailure, EnrolledPodStatus } from '../../node-agent/dump.js';

/** What asking one agent gave: its dump, or why there is none. */
export type AgentProbe = { node: string; ok: true; dump: AgentDump } | { node: string; ok: false; error: string };

/** GET /authz/edges on a node agent's admin port: the agent's own types. */
export type { ObservedEdge, AuthzEdgesDump as AgentEdges } from '../../node-agent/dump.js';

export type AgentEdgesProbe = { node: string; ok: true; edges: AgentEdges } | { node: string; ok: false; error: string };
