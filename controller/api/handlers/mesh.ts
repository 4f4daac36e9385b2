// GET /status: this replica's status, read from the same builder that serves 15020
// /debug/status (nothing recomputed), with every replica's agent rows and waypoint streams
// merged in (mesh-wide.ts), in the API's shape (console/api-types.d.ts: MeshStatus). GET
// /certificates is in certificates.ts.
import type { V1Pod } from '@kubernetes/client-node';
import type { MeshStatus } from '../../../console/api-types.js';
import type { ApiContext } from '../context.js';
import { meshWide } from '../mesh-wide.js';
import { CONTROLLER_APP } from '../peers.js';
import { partialFields, type AgentRow } from '../replica-parts.js';
import type { ApiAnswer } from '../types.js';
import { meshWaypointStreams, waypointsOf } from './waypoints.js';
import { agentRows as nodeAgentRows } from './status-nodes.js';
import { workloadsOf } from './common.js';

const podReady = (p: V1Pod): boolean => p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
/** The image's tag (`ambient/controller:0.1.0` -> `0.1.0`); '' when untagged. */
const imageVersion = (p: V1Pod): string => /:([^:/@]+)(?:@.*)?$/.exec(p.spec?.containers?.[0]?.image ?? '')?.[1] ?? '';

/** The node agents with a config stream to this replica (a peer merges them: mesh-wide.ts). */
export const agentRows = (ctx: ApiContext): AgentRow[] => {
  const s = ctx.debugStatus();
  return nodeAgentRows(s.clients, workloadsOf(ctx), s.version);
};

export async function statusHandler(_req: unknown, ctx: ApiContext): Promise<ApiAnswer> {
  const s = ctx.debugStatus();
  // Every replica's agents: each agent holds its config stream to one replica.
  const [agents, streams] = await Promise.all([meshWide(ctx, 'agents', agentRows(ctx), new URLSearchParams()), meshWaypointStreams(ctx)]);
  const holder = s.leaderElection.holder;
  const replicas = (ctx.state().pods as readonly V1Pod[])
    .filter((p) => p.metadata?.namespace === ctx.controllerNamespace && p.metadata?.labels?.['app'] === CONTROLLER_APP)
    .map((p) => {
      const name = p.metadata?.name ?? '';
      return { name, node: p.spec?.nodeName ?? '', ready: podReady(p), leader: holder !== null && (holder === name || holder.startsWith(`${name}_`) || holder.startsWith(`${name}-`)), version: imageVersion(p) };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  const body: MeshStatus = {
    controller: { leader: holder, replicas },
    configVersion: s.version,
    agents: agents.value,
    waypoints: waypointsOf(ctx, streams.value),
    waypointStreams: streams.value,
    problems: s.problems.map((p) => `${p.kind} ${p.key}: ${p.message}`),
    ...partialFields(agents, streams),
  };
  return { body };
}
