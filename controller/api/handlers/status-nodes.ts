// GET /status's per-node rows: each node agent's config stream to this replica (the version
// it ACKed, what it refused) and how many of its node's workloads are in the mesh; and the
// waypoints' own streams. Pure: from the stream table and the compiled workloads.
import type { ConfigStream, MeshStatus } from '../../../console/api-types.js';
import type { ConfigClientStatus } from '../../distribution/server.js';
import type { Workload } from '../../../core/config/model.js';

type AgentRow = MeshStatus['agents'][number];

/** One row per node with an agent stream; when a node has several (a reconnect overlapping
 * the old stream), the newest one speaks for it. `version`: the config version this replica
 * distributes (each replica numbers its own), what its agents' ACKs are compared with. */
export function agentRows(clients: readonly ConfigClientStatus[], workloads: readonly Pick<Workload, 'node' | 'protocol'>[], version?: string): AgentRow[] {
  const newest = new Map<string, ConfigClientStatus>();
  for (const c of clients) {
    if (c.role !== 'node-agent') continue;
    const had = newest.get(c.node);
    if (!had || had.connectedAt < c.connectedAt) newest.set(c.node, c);
  }
  const enrolled = new Map<string, number>();
  for (const w of workloads) if (w.protocol === 'HBONE') enrolled.set(w.node, (enrolled.get(w.node) ?? 0) + 1);
  return [...newest.values()]
    .map((c): AgentRow => ({
      node: c.node,
      connected: true,
      ackedVersion: c.lastAckedVersion ?? null,
      ...(version !== undefined && { controllerVersion: version }),
      nacks: c.lastNackedVersion !== undefined ? [{ version: c.lastNackedVersion, message: c.rejected.filter((r) => r.version === c.lastNackedVersion).map((r) => `${r.kind} ${r.key}: ${r.error}`).join('; ') || 'refused' }] : [],
      problems: [
        ...c.rejected.map((r) => `refuses ${r.kind} ${r.key} at version ${r.version}: ${r.error}`),
        ...(c.pending ? ['slow: changes wait for it to drain its stream'] : []),
        ...(c.synced ? [] : ['not synced: the controller has no config to send yet']),
      ],
      identity: c.identity,
      synced: c.synced,
      rejected: c.rejected.map((r) => ({ kind: r.kind, key: r.key, version: r.version, error: r.error })),
      enrolled: enrolled.get(c.node) ?? 0,
    }))
    .sort((a, b) => a.node.localeCompare(b.node));
}

/** The waypoint pods' config streams, by identity then node. */
export function waypointStreamRows(clients: readonly ConfigClientStatus[]): ConfigStream[] {
  return clients
    .filter((c) => c.role !== 'node-agent')
    .map((c) => ({ identity: c.identity, node: c.node, ackedVersion: c.lastAckedVersion ?? null, synced: c.synced, rejected: c.rejected.map((r) => ({ kind: r.kind, key: r.key, version: r.version, error: r.error })) }))
    .sort((a, b) => a.identity.localeCompare(b.identity) || a.node.localeCompare(b.node));
}
