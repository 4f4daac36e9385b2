// What the DNS proxy says to one question: a pure function of the agent's state, the
// question and the asking pod's namespace (node-agent/dns/README.md has the rules and
// why). Answers mesh Service names with their VIPs (or, for headless Services, their
// endpoints' pod IPs), says NXDOMAIN for names under `.svc.<domain>` that no Kubernetes
// DNS record can have (search-path products), and leaves everything else (unknown
// Services included: ExternalName, not yet pushed) to the pod's own resolvers.

import net from 'node:net';
import type { MeshService } from '../../core/config/model.js';
import { DNS_DEFAULTS } from '../../core/limits.js';
import { canonicalIp } from '../../core/ip.js';
import type { ProxyState } from '../state/snapshot.js';
import { QCLASS_IN, QTYPE, type AddressRecord } from './codec.js';

export interface DnsQuestion {
  /** As asked: any case, trailing dot or not. */
  name: string;
  type: number;
  /** Absent means IN. */
  class?: number;
}

export type DnsAnswer = { kind: 'answer'; records: AddressRecord[] } | { kind: 'nxdomain' } | { kind: 'forward' };

export interface AnswerOptions {
  /** The cluster's DNS domain (kubelet's --cluster-domain). */
  clusterDomain?: string;
  ttlSeconds?: number;
}

const FORWARD: DnsAnswer = Object.freeze({ kind: 'forward' });
const NXDOMAIN: DnsAnswer = Object.freeze({ kind: 'nxdomain' });

export function answer(state: ProxyState, query: DnsQuestion, client: { namespace: string }, options: AnswerOptions = {}): DnsAnswer {
  if ((query.class ?? QCLASS_IN) !== QCLASS_IN) return FORWARD;
  const name = normalise(query.name);
  if (name === '' || name.includes('\\')) return FORWARD; // root, or bytes no Service name has
  const domain = normalise(options.clusterDomain ?? 'cluster.local');
  const svcSuffix = `.svc.${domain}`;
  const service = findService(state, name, client.namespace, domain);

  if (service === undefined) {
    // A name the mesh does not know, also under `.svc.<domain>`, is the cluster DNS's to
    // answer when a Kubernetes record can have it (DNS specification for Kubernetes,
    // section 2.3): `<svc>.<ns>` (an ExternalName Service, for which the mesh has no
    // Service, or one not yet pushed to this agent), `<host>.<svc>.<ns>` under a Service
    // the mesh knows (a StatefulSet pod's name; the mesh model has no pod hostnames), and
    // SRV names `_<port>._<proto>.<svc>.<ns>`. Any other shape is what the resolver's
    // search path makes of a name (`reviews.other.<ns>.svc...`, `example.com.<ns>.svc...`)
    // and has no record: NXDOMAIN at once saves a round trip per search domain.
    if (!name.endsWith(svcSuffix)) return FORWARD;
    const labels = name.slice(0, -svcSuffix.length).split('.');
    if (labels.length === 2) return FORWARD;
    if (labels.length === 3) {
      const parent = name.slice(name.indexOf('.') + 1);
      return state.serviceByHostname(parent, client.namespace) !== undefined ? FORWARD : NXDOMAIN;
    }
    if (labels.length === 4 && labels[0]!.startsWith('_') && labels[1]!.startsWith('_')) return FORWARD;
    return NXDOMAIN;
  }

  if (query.type !== QTYPE.A && query.type !== QTYPE.AAAA) {
    // SRV, TXT, ...: the cluster's DNS knows Kubernetes Services' other records; a name
    // only the mesh knows (a ServiceEntry-like host) has none: NOERROR, no records, so
    // the client does not take the name as non-existent.
    return isKubernetesName(service, domain) ? FORWARD : { kind: 'answer', records: [] };
  }
  const family = query.type === QTYPE.A ? 4 : 6;
  const ttl = options.ttlSeconds ?? DNS_DEFAULTS.answerTtlSeconds;
  const addresses = service.vips.length > 0 ? service.vips : endpointIps(state, service);
  const seen = new Set<string>();
  const records: AddressRecord[] = [];
  for (const raw of addresses) {
    const ip = canonicalIp(raw);
    if (net.isIP(ip) !== family || seen.has(ip)) continue;
    seen.add(ip);
    records.push({ type: family === 4 ? QTYPE.A : QTYPE.AAAA, ttl, address: ip });
  }
  return { kind: 'answer', records };
}

/** The Service a name means: the name itself (any Service hostname, ServiceEntry-like
 * hosts included), else the Kubernetes short forms `svc.ns.svc`, `svc.ns`, and `svc` in
 * the client's own namespace, completed with the cluster domain. */
function findService(state: ProxyState, name: string, namespace: string, domain: string): MeshService | undefined {
  const exact = state.serviceByHostname(name, namespace);
  if (exact !== undefined) return exact;
  const labels = name.split('.');
  let fq: string | undefined;
  if (labels.length === 3 && labels[2] === 'svc') fq = `${name}.${domain}`;
  else if (labels.length === 2) fq = `${name}.svc.${domain}`;
  else if (labels.length === 1) fq = `${name}.${namespace}.svc.${domain}`;
  if (fq === undefined) return undefined;
  return state.serviceByHostname(fq, namespace);
}

function isKubernetesName(service: MeshService, domain: string): boolean {
  return normalise(service.hostname) === `${service.name}.${service.namespace}.svc.${domain}`;
}

/** A headless Service's addresses: its healthy endpoints' pod IPs (as the cluster's DNS
 * publishes ready addresses only), in endpoint order. */
function endpointIps(state: ProxyState, service: MeshService): string[] {
  const out: string[] = [];
  for (const e of service.endpoints) {
    if (!e.healthy) continue;
    const w = state.workloadByUid(e.workloadUid);
    if (w !== undefined) out.push(...w.ips);
  }
  return out;
}

function normalise(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
