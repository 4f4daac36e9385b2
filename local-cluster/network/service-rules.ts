// kube-proxy's job (iptables mode) as a pure function: Services and their ready endpoints
// in, `iptables-restore --noflush` text out. One restore call is a full resync: it
// redeclares (and so flushes) every chain it owns, writes all of their rules, and
// deletes the chains of Services and endpoints that went away.
//
//   nat    PREROUTING, OUTPUT  -> AMB-SERVICES -> AMB-SVC-<hash> (one per service port)
//                                   -> AMB-SEP-<hash> (one per endpoint: DNAT)
//          POSTROUTING         -> AMB-POSTROUTING (masquerade what AMB-MARK-MASQ marked)
//   filter FORWARD, OUTPUT     -> AMB-SERVICES (REJECT service ports with no endpoints)
//
// The jumps from the built-in chains are installed once per node (serviceJumps(), run
// by service-proxy.ts); the restore text never touches built-in chains.

import { createHash } from 'node:crypto';
import net from 'node:net';

export const SERVICES_CHAIN = 'AMB-SERVICES';
export const POSTROUTING_CHAIN = 'AMB-POSTROUTING';
export const MARK_MASQ_CHAIN = 'AMB-MARK-MASQ';
/** The packet mark meaning "masquerade me" (kube-proxy's bit). */
export const MASQUERADE_MARK = '0x4000';

export type Protocol = 'TCP' | 'UDP';

export interface ServiceEndpoint {
  ip: string;
  port: number;
}

export interface ServicePort {
  name?: string;
  port: number;
  protocol: Protocol;
  /** Ready endpoints only. */
  endpoints: ServiceEndpoint[];
}

export interface Service {
  namespace: string;
  name: string;
  /** An IPv4 address; "None" or "" (headless) has no VIP and gets no rules. */
  clusterIP: string;
  ports: ServicePort[];
}

export interface ServiceRulesOptions {
  /**
   * AMB-SVC-/AMB-SEP- chains that may exist now: the `chains` of the previous
   * ServiceRules, or parseServiceChains(`iptables-save -t nat`). Those not in the new set
   * are deleted. Naming a chain that does not exist is harmless (it is declared, then
   * deleted), so after a restart pass what iptables-save shows.
   */
  previousChains?: Iterable<string>;
}

export interface RejectedService {
  service: string; // ns/name
  reason: string;
}

export interface ServiceRules {
  /** Input for `iptables-restore --noflush`. */
  text: string;
  /** The AMB-SVC-/AMB-SEP- chains this rule set declares: next time's previousChains. */
  chains: string[];
  /** Services skipped because they are invalid; the others still get their rules. */
  rejected: RejectedService[];
}

export interface JumpRule {
  table: 'nat' | 'filter';
  chain: string;
  /** Rule arguments as for `iptables -t <table> -C|-A <chain> ...`. */
  args: string[];
}

/** Chains the jumps point at, created (empty) before the jumps by the per-node setup. */
export const BASE_CHAINS: readonly { table: 'nat' | 'filter'; chain: string }[] = [
  { table: 'nat', chain: SERVICES_CHAIN },
  { table: 'nat', chain: POSTROUTING_CHAIN },
  { table: 'nat', chain: MARK_MASQ_CHAIN },
  { table: 'filter', chain: SERVICES_CHAIN },
];

/** The jumps from built-in chains, installed once per node (`-C` before `-A`). */
export function serviceJumps(): JumpRule[] {
  const portals = ['-m', 'comment', '--comment', 'amb service portals', '-j', SERVICES_CHAIN];
  const newOnly = ['-m', 'conntrack', '--ctstate', 'NEW'];
  return [
    { table: 'nat', chain: 'PREROUTING', args: portals },
    { table: 'nat', chain: 'OUTPUT', args: portals },
    { table: 'nat', chain: 'POSTROUTING', args: ['-m', 'comment', '--comment', 'amb postrouting rules', '-j', POSTROUTING_CHAIN] },
    // Only new connections can be refused; established ones are none of the filter's business.
    { table: 'filter', chain: 'FORWARD', args: [...newOnly, ...portals] },
    { table: 'filter', chain: 'OUTPUT', args: [...newOnly, ...portals] },
  ];
}

/** Builds the full resync. Deterministic: the same services give the same text. */
export function buildServiceRules(services: readonly Service[], opts: ServiceRulesOptions = {}): ServiceRules {
  const rejected: RejectedService[] = [];
  const ports = collectPorts(services, rejected);
  const natChains: string[] = [];
  const nat: string[] = [];
  const filter: string[] = [];

  for (const sp of ports) {
    const vip = ['-d', `${sp.clusterIP}/32`, '-p', sp.proto, '-m', 'comment', '--comment'];
    const dport = ['-m', sp.proto, '--dport', String(sp.port)];
    if (sp.endpoints.length === 0) {
      // kube-proxy's "has no endpoints" REJECT: clients get connection refused at once
      // instead of a SYN into the void and a timeout.
      filter.push(rule(SERVICES_CHAIN, [...vip, quote(`${sp.id} has no endpoints`), ...dport, '-j', 'REJECT', '--reject-with', 'icmp-port-unreachable']));
      continue;
    }
    natChains.push(sp.chain);
    nat.push(rule(SERVICES_CHAIN, [...vip, quote(`${sp.id} cluster IP`), ...dport, '-j', sp.chain]));
    sp.endpoints.forEach((ep, i) => {
      const left = sp.endpoints.length - i;
      const spread = left > 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', probability(left)] : [];
      nat.push(rule(sp.chain, ['-m', 'comment', '--comment', quote(`${sp.id} -> ${ep.ip}:${ep.port}`), ...spread, '-j', ep.chain]));
    });
    for (const ep of sp.endpoints) {
      natChains.push(ep.chain);
      // Hairpin: a pod reaching itself through its Service must not see its own address
      // as the source (it would answer itself directly, bypassing the reverse NAT).
      nat.push(rule(ep.chain, ['-s', `${ep.ip}/32`, '-m', 'comment', '--comment', quote(sp.id), '-j', MARK_MASQ_CHAIN]));
      nat.push(rule(ep.chain, ['-p', sp.proto, '-m', 'comment', '--comment', quote(sp.id), '-m', sp.proto, '-j', 'DNAT', '--to-destination', `${ep.ip}:${ep.port}`]));
    }
  }

  const current = new Set(natChains);
  const stale = [...new Set(opts.previousChains ?? [])].filter((c) => isServiceChain(c) && !current.has(c)).sort();
  const declare = (c: string) => `:${c} - [0:0]`;
  const text = [
    '*nat',
    declare(SERVICES_CHAIN),
    declare(POSTROUTING_CHAIN),
    declare(MARK_MASQ_CHAIN),
    ...natChains.map(declare),
    // Declaring a stale chain flushes it (dropping its jumps to endpoint chains) so that
    // the -X below it can succeed; it also makes -X of an absent chain harmless.
    ...stale.map(declare),
    rule(MARK_MASQ_CHAIN, ['-j', 'MARK', '--set-xmark', `${MASQUERADE_MARK}/${MASQUERADE_MARK}`]), // = --or-mark
    rule(POSTROUTING_CHAIN, ['-m', 'mark', '!', '--mark', `${MASQUERADE_MARK}/${MASQUERADE_MARK}`, '-j', 'RETURN']),
    // Clear the bit so a packet re-entering the stack (e.g. into a tunnel) is not masqueraded
    // twice. MARK targets are written as iptables-save prints them, so the saved rules
    // read back identical to these.
    rule(POSTROUTING_CHAIN, ['-j', 'MARK', '--set-xmark', `${MASQUERADE_MARK}/0x0`]), // = --xor-mark
    rule(POSTROUTING_CHAIN, ['-m', 'comment', '--comment', quote('amb service traffic requiring SNAT'), '-j', 'MASQUERADE']),
    ...nat,
    ...stale.map((c) => `-X ${c}`),
    'COMMIT',
    '*filter',
    declare(SERVICES_CHAIN),
    ...filter,
    'COMMIT',
    '',
  ].join('\n');
  return { text, chains: natChains, rejected };
}

/** `AMB-SVC-<16 hex of sha256(ns/name:portname/proto)>`: 24 characters, within iptables' 28. */
export function servicePortChain(namespace: string, name: string, portName: string, protocol: Protocol): string {
  return `AMB-SVC-${hash16(servicePortKey(namespace, name, portName, protocol))}`;
}

/** `AMB-SEP-<16 hex of sha256(ns/name:portname/proto ip:port)>`. */
export function endpointChain(namespace: string, name: string, portName: string, protocol: Protocol, ep: ServiceEndpoint): string {
  return `AMB-SEP-${hash16(`${servicePortKey(namespace, name, portName, protocol)} ${ep.ip}:${ep.port}`)}`;
}

/**
 * The --probability for the i-th of `remaining` endpoints: 1/remaining, as the
 * statistic match stores it (a 31-bit fraction) and iptables-save prints it (%.11f),
 * e.g. 1/3 -> "0.33333333349". Printing the stored value makes our text match
 * iptables-save's, rule for rule.
 */
export function probability(remaining: number): string {
  const stored = Math.round(0x80000000 * (1 / remaining));
  return (stored / 0x80000000).toFixed(11);
}

/** AMB-SVC-/AMB-SEP- chains named in `iptables-save -t nat` output. */
export function parseServiceChains(saveText: string): string[] {
  const out = new Set<string>();
  for (const line of saveText.split('\n')) {
    const m = /^:(\S+) /.exec(line);
    if (m && isServiceChain(m[1]!)) out.add(m[1]!);
  }
  return [...out].sort();
}

export function isServiceChain(name: string): boolean {
  return /^AMB-(SVC|SEP)-[0-9A-F]{16}$/.test(name);
}

/** What is wrong with a Service, or [] when it can be programmed. */
export function validateService(s: Service): string[] {
  const problems: string[] = [];
  if (!isDnsName(s.namespace, 63)) problems.push(`namespace ${JSON.stringify(s.namespace)} is not a DNS label`);
  if (!isDnsName(s.name, 63)) problems.push(`name ${JSON.stringify(s.name)} is not a DNS label`);
  if (!net.isIPv4(s.clusterIP)) problems.push(`clusterIP ${JSON.stringify(s.clusterIP)} is not an IPv4 address`);
  if (!Array.isArray(s.ports)) return [...problems, 'ports is not a list'];
  const seen = new Set<string>();
  for (const p of s.ports) {
    const label = `port ${JSON.stringify(p.name ?? p.port)}`;
    if (p.name !== undefined && p.name !== '' && !/^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/.test(p.name)) problems.push(`${label}: name is not an IANA service name`);
    if (!validPort(p.port)) problems.push(`${label}: port ${JSON.stringify(p.port)} is not 1..65535`);
    if (p.protocol !== 'TCP' && p.protocol !== 'UDP') problems.push(`${label}: protocol ${JSON.stringify(p.protocol)} is not TCP or UDP`);
    const key = `${p.name ?? ''}/${p.protocol}`;
    if (seen.has(key)) problems.push(`${label}: two ports share name ${JSON.stringify(p.name ?? '')} and protocol ${p.protocol}`);
    seen.add(key);
    for (const ep of Array.isArray(p.endpoints) ? p.endpoints : []) {
      if (!net.isIPv4(ep.ip) || !validPort(ep.port)) problems.push(`${label}: endpoint ${JSON.stringify(ep)} is not an IPv4 address and port`);
    }
    if (!Array.isArray(p.endpoints)) problems.push(`${label}: endpoints is not a list`);
  }
  return problems;
}

interface PlannedEndpoint extends ServiceEndpoint {
  chain: string;
}

interface PlannedPort {
  id: string; // ns/name:port, for comments
  clusterIP: string;
  port: number;
  proto: 'tcp' | 'udp';
  chain: string;
  endpoints: PlannedEndpoint[];
}

function collectPorts(services: readonly Service[], rejected: RejectedService[]): PlannedPort[] {
  const out: PlannedPort[] = [];
  const vips = new Map<string, string>(); // ip:port/proto -> ns/name
  const sorted = [...services].sort((a, b) => cmp(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`));
  for (const s of sorted) {
    const id = `${s.namespace}/${s.name}`;
    if (s.clusterIP === 'None' || s.clusterIP === '') continue; // headless: DNS only, no VIP
    const problems = validateService(s);
    const ports = [...(Array.isArray(s.ports) ? s.ports : [])].sort((a, b) => cmp(`${a.name ?? ''}/${a.protocol}`, `${b.name ?? ''}/${b.protocol}`));
    for (const p of ports) {
      const vip = `${s.clusterIP}:${p.port}/${p.protocol}`;
      const owner = vips.get(vip);
      if (owner !== undefined) problems.push(`${vip} is already the VIP of ${owner}`);
    }
    if (problems.length > 0) {
      rejected.push({ service: id, reason: problems.join('; ') });
      continue;
    }
    for (const p of ports) {
      vips.set(`${s.clusterIP}:${p.port}/${p.protocol}`, id);
      const portName = p.name ?? '';
      const unique = new Map(p.endpoints.map((ep) => [`${ep.ip}:${ep.port}`, ep] as const));
      const endpoints = [...unique.values()]
        .sort((a, b) => ipNumber(a.ip) - ipNumber(b.ip) || a.port - b.port)
        .map((ep) => ({ ip: ep.ip, port: ep.port, chain: endpointChain(s.namespace, s.name, portName, p.protocol, ep) }));
      out.push({
        id: portName ? `${id}:${portName}` : id,
        clusterIP: s.clusterIP,
        port: p.port,
        proto: p.protocol === 'TCP' ? 'tcp' : 'udp',
        chain: servicePortChain(s.namespace, s.name, portName, p.protocol),
        endpoints,
      });
    }
  }
  return out;
}

function servicePortKey(namespace: string, name: string, portName: string, protocol: Protocol): string {
  return `${namespace}/${name}:${portName}/${protocol}`;
}

function hash16(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16).toUpperCase();
}

function rule(chain: string, args: string[]): string {
  return `-A ${chain} ${args.join(' ')}`;
}

// Comments are built from validated names only (DNS labels, IPs, digits), so they never
// hold a quote or backslash; iptables-restore takes "..." as one argument.
function quote(s: string): string {
  return `"${s}"`;
}

function isDnsName(s: unknown, max: number): boolean {
  return typeof s === 'string' && s.length <= max && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s);
}

function validPort(p: unknown): boolean {
  return typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535;
}

function ipNumber(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
