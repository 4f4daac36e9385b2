// `ambientctl status`: the API's GET /status answer as the mesh's health: the controller's
// replicas and leader, each node agent's config stream (the version it ACKed, what it
// refused), the waypoints' streams, and every problem in one sentence. Pure.
import type { MeshStatus } from '../../console/api-types.js';
import { render, renderOne, type Column, type OutputFormat } from '../output.js';
import { cmp, orDash, yesNo } from './view-format.js';
import { meshNamespace } from '../mesh-namespace.js';

export interface ReplicaRow {
  name: string;
  node: string;
  ready: boolean;
  leader: boolean;
  /** The image's tag. */
  version: string;
}

export interface NodeRow {
  node: string;
  /** The agent holds a config stream to the controller replica that answered. */
  connected: boolean;
  synced?: boolean;
  /** The config version the agent ACKed last. */
  acked?: string;
  /** The config version of the controller replica it streams from (each replica numbers its own). */
  controllerVersion: string;
  /** Workloads on the node in the mesh. */
  enrolled?: number;
  /** Resources the agent refused. */
  nacked: number;
}

export interface StreamRow {
  identity: string;
  node: string;
  synced: boolean;
  acked?: string;
  nacked: number;
}

export interface RejectedRow {
  node: string;
  identity: string;
  kind: string;
  key: string;
  version: string;
  error: string;
}

export interface StatusView {
  /** The config version the controller distributes now. */
  configVersion: string;
  leader: string | null;
  controllers: ReplicaRow[];
  nodes: NodeRow[];
  waypoints: StreamRow[];
  rejected: RejectedRow[];
  /** Everything that needs a look, one sentence each; empty when all is well. */
  problems: string[];
}

export const MAX_LISTED_TRANSLATION_PROBLEMS = 20;

type AgentRow = MeshStatus['agents'][number];

/**
 * Why an agent is not on its controller replica's current config version, or undefined when
 * it is: its ACK is compared with its own replica's version (each replica numbers its own),
 * the answering replica's `configVersion` only for rows that carry none.
 */
export function agentVersionProblem(a: Pick<AgentRow, 'synced' | 'ackedVersion' | 'controllerVersion'>, configVersion: string): string | undefined {
  const current = a.controllerVersion ?? configVersion;
  if (a.synced === false) return 'agent not synced: the controller has no config to send it yet';
  if (a.ackedVersion !== current) return `agent has ACKed version ${a.ackedVersion ?? '(none)'}, its controller replica is at ${current}`;
  return undefined;
}

export function statusView(s: MeshStatus): StatusView {
  const problems: string[] = [];
  const controllers = s.controller.replicas.map((r) => ({ ...r })).sort((a, b) => cmp(a.name, b.name));
  if (controllers.length === 0) problems.push(`controller: no controller pod found (${meshNamespace()}, app=ambient-controller)`);
  for (const r of controllers) if (!r.ready) problems.push(`controller ${r.name}: not ready`);
  if (s.controller.leader === null) problems.push('controller: no replica holds the leader Lease: writes and status updates wait for one');

  const rejected: RejectedRow[] = [];
  const nodes = s.agents
    .map((a): NodeRow => {
      const refused = a.rejected ?? [];
      for (const r of refused) rejected.push({ node: a.node, identity: a.identity ?? '', kind: r.kind, key: r.key, version: r.version, error: r.error });
      const current = a.controllerVersion ?? s.configVersion;
      const behind = agentVersionProblem(a, s.configVersion);
      if (behind) problems.push(`node ${a.node}: ${behind}`);
      for (const r of refused) problems.push(`node ${a.node}: NACKed ${r.kind} ${r.key} (version ${r.version}): ${r.error}`);
      if (!a.rejected) for (const n of a.nacks) problems.push(`node ${a.node}: NACKed version ${n.version}: ${n.message}`);
      return {
        node: a.node,
        connected: a.connected,
        ...(a.synced !== undefined && { synced: a.synced }),
        ...(a.ackedVersion !== null && { acked: a.ackedVersion }),
        controllerVersion: current,
        ...(a.enrolled !== undefined && { enrolled: a.enrolled }),
        nacked: a.rejected?.length ?? a.nacks.length,
      };
    })
    .sort((a, b) => cmp(a.node, b.node));
  if (nodes.length === 0) problems.push(`no node agent holds a config stream to the controller: is the agent DaemonSet running? (ambientctl get pods -n ${meshNamespace()})`);

  const waypoints = (s.waypointStreams ?? [])
    .map((w): StreamRow => {
      for (const r of w.rejected) rejected.push({ node: w.node, identity: w.identity, kind: r.kind, key: r.key, version: r.version, error: r.error });
      if (w.rejected.length > 0) problems.push(`waypoint ${w.identity} on ${w.node}: ${w.rejected.length} NACKed resources`);
      return { identity: w.identity, node: w.node, synced: w.synced, ...(w.ackedVersion !== null && { acked: w.ackedVersion }), nacked: w.rejected.length };
    })
    .sort((a, b) => cmp(a.identity, b.identity) || cmp(a.node, b.node));

  for (const p of s.problems.slice(0, MAX_LISTED_TRANSLATION_PROBLEMS)) problems.push(`translation: ${p}`);
  if (s.problems.length > MAX_LISTED_TRANSLATION_PROBLEMS) problems.push(`translation: ${s.problems.length - MAX_LISTED_TRANSLATION_PROBLEMS} more problems (-o json lists them all)`);
  return { configVersion: s.configVersion, leader: s.controller.leader, controllers, nodes, waypoints, rejected, problems };
}

const CONTROLLER_COLUMNS: Column<ReplicaRow>[] = [
  { header: 'controller', value: (r) => r.name },
  { header: 'node', value: (r) => orDash(r.node) },
  { header: 'ready', value: (r) => yesNo(r.ready) },
  { header: 'leader', value: (r) => yesNo(r.leader) },
  { header: 'version', value: (r) => orDash(r.version) },
];

const NODE_COLUMNS: Column<NodeRow>[] = [
  { header: 'node', value: (r) => r.node },
  { header: 'connected', value: (r) => yesNo(r.connected) },
  { header: 'synced', value: (r) => yesNo(r.synced) },
  { header: 'acked', value: (r) => orDash(r.acked) },
  { header: 'enrolled', value: (r) => orDash(r.enrolled) },
  { header: 'nacked', value: (r) => String(r.nacked) },
];

const WAYPOINT_COLUMNS: Column<StreamRow>[] = [
  { header: 'waypoint identity', value: (r) => r.identity },
  { header: 'node', value: (r) => r.node },
  { header: 'synced', value: (r) => yesNo(r.synced) },
  { header: 'acked', value: (r) => orDash(r.acked) },
  { header: 'nacked', value: (r) => String(r.nacked) },
];

const REJECTED_COLUMNS: Column<RejectedRow>[] = [
  { header: 'node', value: (r) => r.node },
  { header: 'kind', value: (r) => r.kind },
  { header: 'key', value: (r) => r.key },
  { header: 'version', value: (r) => r.version },
  { header: 'error', value: (r) => r.error },
];

export function renderStatus(s: StatusView, format: OutputFormat): string {
  if (format !== 'table') return renderOne(s, format);
  const parts: string[] = [];
  parts.push(`config version: ${s.configVersion}\n`);
  parts.push(s.controllers.length > 0 ? render(s.controllers, CONTROLLER_COLUMNS, 'table') : 'CONTROLLER\n(no controller pod found)\n');
  parts.push(s.nodes.length > 0 ? render(s.nodes, NODE_COLUMNS, 'table') : 'NODE\n(no node agent connected)\n');
  if (s.waypoints.length > 0) parts.push(render(s.waypoints, WAYPOINT_COLUMNS, 'table'));
  if (s.rejected.length > 0) parts.push(`NACKed resources (refused by the client; it keeps the previous version):\n${render(s.rejected, REJECTED_COLUMNS, 'table')}`);
  parts.push(s.problems.length > 0 ? `problems:\n${s.problems.map((p) => `  - ${p}\n`).join('')}` : 'problems: none\n');
  return parts.join('\n');
}
