// GET /status and GET /certificates: the controller's own view of the mesh, read from the
// same builder that serves 15020 /debug/status (nothing recomputed), and its CA; in the
// API's shapes (console/api-types.d.ts: MeshStatus, Certificates).
import type { V1Pod } from '@kubernetes/client-node';
import type { CertificateSummary, Certificates, MeshStatus } from '../../../console/api-types.js';
import type { ApiContext, CertificateInfo } from '../context.js';
import type { ApiAnswer, ApiRequest } from '../types.js';
import { waypointsOf } from './waypoints.js';
import { agentRows, waypointStreamRows } from './status-nodes.js';
import { nodeQuery, workloadsOf } from './common.js';

const CONTROLLER_APP = 'ambient-controller';

const podReady = (p: V1Pod): boolean => p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
/** The image's tag (`ambient/controller:0.1.0` -> `0.1.0`); '' when untagged. */
const imageVersion = (p: V1Pod): string => /:([^:/@]+)(?:@.*)?$/.exec(p.spec?.containers?.[0]?.image ?? '')?.[1] ?? '';

export function statusHandler(_req: unknown, ctx: ApiContext): ApiAnswer {
  const s = ctx.debugStatus();
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
    agents: agentRows(s.clients, workloadsOf(ctx)),
    waypoints: waypointsOf(ctx),
    waypointStreams: waypointStreamRows(s.clients),
    problems: s.problems.map((p) => `${p.kind} ${p.key}: ${p.message}`),
  };
  return { body };
}

const summary = (c: CertificateInfo): CertificateSummary => ({ subject: c.subject, fingerprint: c.fingerprintSha256, notBefore: c.notBefore, notAfter: c.notAfter });

export function certificatesHandler(req: ApiRequest, ctx: ApiContext): ApiAnswer {
  const c = ctx.certificates();
  const node = nodeQuery(req.query);
  const body: Certificates = {
    roots: c.roots.map(summary),
    signing: summary(c.signing),
    ...(c.serving ? { serving: summary(c.serving) } : {}),
    workloads: (ctx.issuedCertificates?.() ?? []).filter((w) => node === undefined || w.node === node),
  };
  return { body };
}
