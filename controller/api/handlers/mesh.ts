// GET /status and GET /certificates: the controller's own view of the mesh, read from the
// same builder that serves 15020 /debug/status (nothing recomputed), and its CA.
import type { V1Pod } from '@kubernetes/client-node';
import type { ApiContext } from '../context.js';
import type { ApiAnswer } from '../types.js';

const CONTROLLER_APP = 'ambient-controller';

export function statusHandler(_req: unknown, ctx: ApiContext): ApiAnswer {
  const s = ctx.debugStatus();
  const replicas = (ctx.state().pods as readonly V1Pod[])
    .filter((p) => p.metadata?.namespace === ctx.controllerNamespace && p.metadata?.labels?.['app'] === CONTROLLER_APP)
    .map((p) => ({ name: p.metadata?.name ?? '', node: p.spec?.nodeName ?? '', ip: p.status?.podIP ?? '', phase: p.status?.phase ?? 'Unknown' }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const clients = s.clients.map((c) => ({
    node: c.node,
    identity: c.identity,
    role: c.role,
    connected: true,
    connectedAt: c.connectedAt,
    synced: c.synced,
    ...(c.lastSentVersion !== undefined ? { sentVersion: c.lastSentVersion } : {}),
    ...(c.lastAckedVersion !== undefined ? { ackedVersion: c.lastAckedVersion } : {}),
    ...(c.lastNackedVersion !== undefined ? { nackedVersion: c.lastNackedVersion } : {}),
    rejected: c.rejected,
    pending: c.pending,
  }));
  return {
    body: {
      controller: {
        identity: s.leaderElection.identity,
        leader: s.leader,
        leaseHolder: s.leaderElection.holder,
        synced: s.synced,
        ready: s.ready,
        configVersion: s.version,
        resources: s.resources,
        replicas,
      },
      agents: clients.filter((c) => c.role === 'node-agent'),
      waypoints: clients.filter((c) => c.role === 'waypoint'),
      problems: s.problems,
    },
  };
}

export function certificatesHandler(_req: unknown, ctx: ApiContext): ApiAnswer {
  const c = ctx.certificates();
  return {
    body: {
      trustDomain: ctx.trustDomain,
      roots: c.roots,
      signing: c.signing,
      ...(c.serving ? { serving: c.serving } : {}),
      ...(c.source !== undefined ? { source: c.source } : {}),
      note: 'workload certificates are held by the node agents and waypoints (ambientctl certificates); the controller signs them and keeps no copy',
    },
  };
}
