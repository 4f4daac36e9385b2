// GET /certificates, and the certificate of GET /workloads/{namespace}/{name}: the mesh's CA
// (roots, signing certificate, the controller's serving certificate) and the workload
// certificates as the data plane holds them (what node agents and waypoints last listed in
// their telemetry reports: controller/telemetry/certificates.ts), in the API's shapes
// (console/api-types.d.ts: Certificates, HeldCertificate). A pod's certificate is the one
// its node's agent holds for its identity. Pure joins over ctx.heldCertificates(), which is
// this replica's store or, with several replicas, their merged snapshots.
import type { CertificateSummary, Certificates, HeldCertificate, WorkloadDetail } from '../../../console/api-types.js';
import type { Workload } from '../../../core/config/model.js';
import type { ReportedCertificate } from '../../../core/observe/telemetry-wire.js';
import type { HeldCertificatesSnapshot } from '../../telemetry/certificates.js';
import type { ApiContext, CertificateInfo } from '../context.js';
import { meshWide } from '../mesh-wide.js';
import { partialFields } from '../replica-parts.js';
import type { ApiAnswer } from '../types.js';
import { workloadsOf } from './common.js';

const summary = (c: CertificateInfo): CertificateSummary => ({ subject: c.subject, fingerprint: c.fingerprintSha256, notBefore: c.notBefore, notAfter: c.notAfter });
const iso = (ms: number) => new Date(ms).toISOString();

interface Held {
  cert: ReportedCertificate;
  reportedAt: number;
}

/** `<node>\0<identity>` -> what that node's agent holds for the identity. */
export function agentCertificateIndex(held: HeldCertificatesSnapshot): Map<string, Held> {
  const ix = new Map<string, Held>();
  for (const s of held.sets) {
    if (s.role !== 'node-agent') continue;
    for (const cert of s.certificates) ix.set(`${s.node}\u0000${cert.identity}`, { cert, reportedAt: s.reportedAt });
  }
  return ix;
}

function certificateOf(w: Workload, ix: Map<string, Held>): Held | undefined {
  return ix.get(`${w.node}\u0000${w.identity}`);
}

/** WorkloadDetail.certificate: what `w`'s node's agent holds for its identity, or null. */
export function workloadCertificate(w: Workload, held: HeldCertificatesSnapshot): WorkloadDetail['certificate'] {
  const h = certificateOf(w, agentCertificateIndex(held));
  return h ? { serial: h.cert.serial, notBefore: iso(h.cert.notBefore), notAfter: iso(h.cert.notAfter), issuer: h.cert.issuer ?? null, reportedAt: iso(h.reportedAt) } : null;
}

/** Every pod with a reported certificate, then every waypoint's own; soonest to expire first. */
export function heldCertificates(workloads: readonly Workload[], held: HeldCertificatesSnapshot): HeldCertificate[] {
  const ix = agentCertificateIndex(held);
  const out: HeldCertificate[] = [];
  const entry = (kind: HeldCertificate['kind'], namespace: string, workload: string, pod: string | null, node: string, h: Held): HeldCertificate => ({
    kind,
    identity: h.cert.identity,
    namespace,
    workload,
    pod,
    node,
    serial: h.cert.serial,
    notBefore: iso(h.cert.notBefore),
    notAfter: iso(h.cert.notAfter),
    issuer: h.cert.issuer ?? null,
    reportedAt: iso(h.reportedAt),
  });
  for (const w of workloads) {
    const h = certificateOf(w, ix);
    if (h) out.push(entry('workload', w.namespace, w.canonicalName || w.name, w.name, w.node, h));
  }
  for (const s of held.sets) {
    if (s.role !== 'waypoint' || s.waypoint === undefined) continue;
    const [namespace = '', gateway = ''] = s.waypoint.split('/');
    for (const cert of s.certificates) out.push(entry('waypoint', namespace, gateway, null, s.node, { cert, reportedAt: s.reportedAt }));
  }
  return out.sort((a, b) => a.notAfter.localeCompare(b.notAfter) || a.namespace.localeCompare(b.namespace) || (a.pod ?? a.workload).localeCompare(b.pod ?? b.workload));
}

/** Every replica's held certificates (each agent and waypoint lists them to the replica it reports to). */
export const meshHeldCertificates = (ctx: ApiContext) => meshWide(ctx, 'certificates', ctx.heldCertificates(), new URLSearchParams());

export async function certificatesHandler(_req: unknown, ctx: ApiContext): Promise<ApiAnswer> {
  const c = ctx.certificates();
  const held = await meshHeldCertificates(ctx);
  const body: Certificates = {
    roots: c.roots.map(summary),
    signing: summary(c.signing),
    ...(c.serving ? { serving: summary(c.serving) } : {}),
    workloads: heldCertificates(workloadsOf(ctx), held.value),
    ...partialFields(held),
  };
  return { body };
}
