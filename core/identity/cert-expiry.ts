// Certificate expiry as rows (pure), for the console mesh page's timeline and for
// `ambientctl check`: the CA roots, the signing certificate, the controller's serving
// certificate and every certificate the data plane holds, the soonest to expire first.
// Each row's bar is the share of its own lifetime already used: a root's ten years and a workload's day share no useful common axis.
import type { Certificates } from '../../console/api-types.js';

export type ExpiryKind = 'root' | 'signing' | 'controller' | 'workload' | 'waypoint';
export type ExpiryState = 'ok' | 'warn' | 'bad';

export interface ExpiryRow {
  key: string;
  kind: ExpiryKind;
  /** What it certifies, as text: a pod `ns/pod`, a waypoint `ns/name`, a CA's subject. */
  name: string;
  /** The SPIFFE ID, node or fingerprint: what tells it apart. */
  detail: string;
  notBefore: string;
  notAfter: string;
  /** Share of its lifetime used at `now`, 0..1. */
  used: number;
  /** bad: expired; warn: less than a quarter of its lifetime left; ok otherwise. */
  state: ExpiryState;
}

export function expiryState(notBefore: number, notAfter: number, now: number): ExpiryState {
  const left = notAfter - now;
  if (left <= 0) return 'bad';
  return left < (notAfter - notBefore) / 4 ? 'warn' : 'ok';
}

/** Every certificate of the answer, the soonest to expire first (names break ties). */
export function expiryRows(c: Certificates, now: number): ExpiryRow[] {
  const rows: Array<Omit<ExpiryRow, 'used' | 'state'>> = [
    ...c.roots.map((r) => ({ key: `root/${r.fingerprint}`, kind: 'root' as const, name: r.subject, detail: r.fingerprint, notBefore: r.notBefore, notAfter: r.notAfter })),
    ...(c.signing ? [{ key: `signing/${c.signing.fingerprint}`, kind: 'signing' as const, name: c.signing.subject, detail: c.signing.fingerprint, notBefore: c.signing.notBefore, notAfter: c.signing.notAfter }] : []),
    ...(c.serving ? [{ key: `controller/${c.serving.fingerprint}`, kind: 'controller' as const, name: c.serving.subject, detail: c.serving.fingerprint, notBefore: c.serving.notBefore, notAfter: c.serving.notAfter }] : []),
    ...c.workloads.map((w) => ({
      key: `${w.kind}/${w.node}/${w.namespace}/${w.pod ?? w.workload}/${w.serial}`,
      kind: w.kind,
      name: `${w.namespace}/${w.pod ?? w.workload}`,
      detail: `${w.identity} on ${w.node}`,
      notBefore: w.notBefore,
      notAfter: w.notAfter,
    })),
  ];
  return rows
    .map((r) => {
      const nb = Date.parse(r.notBefore);
      const na = Date.parse(r.notAfter);
      const life = na - nb;
      const used = life > 0 ? Math.min(1, Math.max(0, (now - nb) / life)) : 1;
      return { ...r, used, state: expiryState(nb, na, now) };
    })
    .sort((a, b) => Date.parse(a.notAfter) - Date.parse(b.notAfter) || a.name.localeCompare(b.name));
}

/** How a kind reads in the timeline. */
export const EXPIRY_KIND_LABEL: Record<ExpiryKind, string> = { root: 'CA root', signing: 'signing CA', controller: 'controller', workload: 'workload', waypoint: 'waypoint' };
