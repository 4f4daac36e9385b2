// `ambientctl certificates`: the workload certificates of the API's GET /certificates answer
// (those the node agents and waypoints hold, as they last listed them), with the time left. Pure.
import type { Certificates } from '../../console/api-types.js';
import type { Column } from '../output.js';
import { cmp, timeLeft } from './view-format.js';

export interface CertificateRow {
  node: string;
  /** `pod NS/NAME` or `waypoint NS/GATEWAY`. */
  holder: string;
  identity: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  /** Seconds until notAfter (negative once expired). */
  secondsLeft: number;
}

export function certificateRows(answer: Certificates, now: Date = new Date()): CertificateRow[] {
  return answer.workloads
    .map((c) => ({ node: c.node, holder: c.kind === 'waypoint' ? `waypoint ${c.namespace}/${c.workload}` : `pod ${c.namespace}/${c.pod ?? c.workload}`, identity: c.identity, serial: c.serial, notBefore: c.notBefore, notAfter: c.notAfter, secondsLeft: Math.floor((Date.parse(c.notAfter) - now.getTime()) / 1000) }))
    .sort((a, b) => cmp(a.node, b.node) || cmp(a.holder, b.holder) || cmp(a.serial, b.serial));
}

export const CERTIFICATE_COLUMNS: Column<CertificateRow>[] = [
  { header: 'node', value: (r) => r.node },
  { header: 'holder', value: (r) => r.holder },
  { header: 'identity', value: (r) => r.identity },
  { header: 'serial', value: (r) => r.serial },
  { header: 'not after', value: (r) => r.notAfter },
  { header: 'time left', value: (r) => timeLeft(r.secondsLeft) },
];
