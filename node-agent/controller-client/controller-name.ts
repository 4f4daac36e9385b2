// How the agent recognises the controller on 15012: by the DNS name on its serving
// certificate (default ambient-controller.ambient-system.svc). The mesh CA never puts a
// DNS name in a workload certificate (those carry exactly one SAN, a SPIFFE URI), so no
// workload certificate can pose as the controller. A SPIFFE ID is still accepted as the
// expected name, for callers configured that way. Pure.
import type { PeerCertificate } from 'node:tls';
import { peerIdentity } from '../../core/hbone/peer.js';
import { formatSpiffeId, parseSpiffeId, type SpiffeId } from '../../core/identity/spiffe.js';

export type ControllerName = { kind: 'dns'; name: string } | { kind: 'spiffe'; id: SpiffeId };

const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A `spiffe://` ID, a SpiffeId, or a DNS name. Throws on anything else. */
export function parseControllerName(v: SpiffeId | string): ControllerName {
  if (typeof v !== 'string') return { kind: 'spiffe', id: v };
  if (v.startsWith('spiffe://')) return { kind: 'spiffe', id: parseSpiffeId(v) };
  if (v.length > 253 || !DNS_NAME.test(v)) throw new Error(`controller name ${JSON.stringify(v)} is neither a DNS name nor a spiffe:// ID`);
  return { kind: 'dns', name: v };
}

export function formatControllerName(n: ControllerName): string {
  return n.kind === 'dns' ? n.name : formatSpiffeId(n.id);
}

/** Throws unless `cert` names the controller: the DNS name exactly among its DNS SANs (no wildcards), or the SPIFFE ID. */
export function checkControllerCertificate(cert: PeerCertificate, n: ControllerName): void {
  if (n.kind === 'spiffe') {
    peerIdentity(cert, n.id.trustDomain, [n.id]);
    return;
  }
  const dns = (cert.subjectaltname ?? '')
    .split(/,\s*/)
    .filter((e) => e.startsWith('DNS:'))
    .map((e) => e.slice(4));
  if (!dns.includes(n.name)) throw new Error(`its certificate names ${dns.length ? dns.join(', ') : 'no DNS name'}, not ${n.name}`);
}
