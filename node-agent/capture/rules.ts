// In-pod traffic capture as a pure function (DESIGN.md §2 step 2, §7 "Syscalls behind one
// seam"): options in, `iptables-restore --noflush` text out, applied inside the pod's
// network namespace by apply.ts. The model is Istio's in-pod redirection (istio-cni since
// 1.21): the node agent's listeners live in the pod's netns, so the rules only have to
// steer the pod's own traffic to them and never touch the node's iptables.
//
//   nat PREROUTING -> AMB-PREROUTING   inbound: TCP arriving at the pod -> REDIRECT :15006,
//                                      except HBONE (:15008), loopback, probes, exclusions
//   nat OUTPUT     -> AMB-OUTPUT       outbound: the app's TCP -> REDIRECT 127.0.0.1:15001,
//                                      DNS (UDP/TCP 53) -> :15053, except the agent's own
//                                      (marked) sockets, loopback, exclusions
//
// Only nat is used: REDIRECT is a nat target and only a connection's first packet goes
// through nat, so established flows cost nothing. No mangle and no TPROXY: the agent
// reads the original destination from conntrack (SO_ORIGINAL_DST, core/syscalls.ts).
//
// Idempotency. The chains are ours: declaring `:AMB-X - [0:0]` in --noflush mode creates
// or flushes them, so re-applying replaces their rules atomically. The jumps from the
// built-in chains cannot be written that way (restore has no "add if absent"), so every
// function here takes the table as it is now (`iptables-save -t nat`, `current`) and
// emits exactly the jump changes needed: insert a missing jump, delete duplicates and
// stale variants (an older comment, say). One restore call does all of it in one
// transaction; if the table changed between the save and the restore, a `-D` names a
// rule that is gone, the whole restore fails and nothing changes (apply.ts serialises
// its own calls per namespace so that does not happen by its own hand).

import net from 'node:net';
import { ErrorCodes, MeshError } from '../../core/errors.js';
import { MESH_PORTS } from '../../core/ports.js';

/** The agent's ports in the pod (DESIGN.md §3; the numbers are core/ports.ts's). */
export const CAPTURE_PORTS = { inbound: MESH_PORTS.inboundPlaintext, outbound: MESH_PORTS.outbound, hbone: MESH_PORTS.hbone, dns: MESH_PORTS.dns } as const;

export const PREROUTING_CHAIN = 'AMB-PREROUTING';
export const OUTPUT_CHAIN = 'AMB-OUTPUT';
/** Every chain this module creates, in the nat table of the pod's netns. */
export const CAPTURE_CHAINS: readonly string[] = [PREROUTING_CHAIN, OUTPUT_CHAIN];

/**
 * Where kubelet's health probes come from once the node SNATs them (Istio's
 * 169.254.7.127 and its IPv6 twin): they must reach the app whatever the mTLS mode, as
 * they do without a mesh. The addresses are link-local / ULA and never a peer pod's.
 */
export const DEFAULT_PROBE_SOURCES: readonly string[] = ['169.254.7.127', 'fd16:9254:7127:1337:ffff:ffff:ffff:ffff'];

const DNS_PORT = 53;
const FULL_MASK = 0xffffffff;

export type Family = 4 | 6;

export interface CaptureOptions {
  /** Inbound plaintext listener (all addresses). Default 15006. */
  inboundPort?: number;
  /** Outbound listener (loopback). Default 15001. */
  outboundPort?: number;
  /** HBONE listener (all addresses): reached directly, never redirected. Default 15008. */
  hbonePort?: number;
  /** DNS proxy (loopback, UDP and TCP). Default 15053. */
  dnsPort?: number;
  /** Redirect the app's DNS (UDP and TCP to port 53) to the DNS proxy. */
  captureDns: boolean;
  /**
   * SO_MARK the agent puts on its own sockets inside the pod (e.g. 0x539): their
   * connections are never captured. Must not be 0 (every socket starts with mark 0).
   */
  agentMark: number;
  /** Bits of the mark that are the agent's (Istio: 0xfff). Default all 32. */
  agentMarkMask?: number;
  /** TCP destination ports the app reaches directly (53 also exempts DNS over UDP). */
  excludeOutboundPorts?: readonly number[];
  /** TCP ports on the pod that peers reach directly, not through the agent. */
  excludeInboundPorts?: readonly number[];
  /** Destinations (CIDR or address, either family) the app reaches directly, any protocol. */
  excludeOutboundCidrs?: readonly string[];
  /** Sources whose inbound connections are never captured (health probes). Default DEFAULT_PROBE_SOURCES. */
  probeSources?: readonly string[];
}

export interface RenderOptions {
  /** iptables (4, default) or ip6tables (6). */
  family?: Family;
  /**
   * The nat table as it is now, as `iptables-save -t nat` (or ip6tables-save) prints it.
   * Omitted: a namespace where nothing of ours exists yet.
   */
  current?: string;
}

export interface CaptureState {
  /** Any of our chains or a jump to one exists. */
  installed: boolean;
  /** Exactly the planned rules, in order, and each jump once. */
  complete: boolean;
  /** Planned lines that are absent (`:CHAIN` for a missing chain, else the rule). */
  missing: string[];
  /** Lines in our chains, or jumps to them, that are not planned; rules out of order. */
  unexpected: string[];
}

/** One rule: `-A <chain> <args>`; args are unquoted tokens. */
export interface Rule {
  chain: string;
  args: string[];
}

export interface Plan {
  jumps: Rule[];
  rules: Rule[];
}

/**
 * The restore input that installs (or brings up to date) the capture for one family:
 * our chains declared (so flushed) and refilled, jumps fixed up against `current`.
 * Applying the result, then calling again with the new `current`, yields text that
 * changes nothing but re-writes our chains' contents.
 */
export function captureRules(opts: CaptureOptions, render: RenderOptions = {}): string {
  const family = render.family ?? 4;
  const plan = planCapture(opts, family);
  const table = render.current === undefined ? emptyNat() : parseNat(render.current);
  const { missing, extra } = checkJumps(table, plan);
  // A jump with other matches (an older version's comment, a hand-made one), a second
  // copy, or a jump from elsewhere would bypass or double our chains: deleted.
  const edits = extra.map((r) => renderRule('-D', r));
  // First in the built-in chain, so no rule of the pod's own can bypass the capture.
  for (const jump of missing) edits.push(renderRule('-I', jump, 1));
  return [
    '*nat',
    ...CAPTURE_CHAINS.map(declare),
    ...edits,
    ...plan.rules.map((r) => renderRule('-A', r)),
    'COMMIT',
    '',
  ].join('\n');
}

/**
 * The restore input that removes every jump to our chains (from any chain not ours)
 * and our chains themselves, leaving every other rule of the pod as it was. Without
 * `current`, assumes the state captureRules leaves: each jump once. With nothing of ours
 * in `current`, the text still succeeds (declaring an absent chain creates it, -X
 * deletes it again).
 */
export function removalRules(render: RenderOptions = {}): string {
  const ours = new Set(CAPTURE_CHAINS);
  let deletes: Rule[];
  if (render.current === undefined) {
    deletes = jumpRules();
  } else {
    const table = parseNat(render.current);
    deletes = [];
    for (const [chain, rules] of table.rules) {
      if (ours.has(chain)) continue; // flushed below
      for (const r of rules) if (ours.has(jumpTarget(r.args) ?? '')) deletes.push(r);
    }
  }
  return [
    '*nat',
    // Declaring flushes, so -X finds the chain empty (and existing, if it was not).
    ...CAPTURE_CHAINS.map(declare),
    ...deletes.map((r) => renderRule('-D', r)),
    ...CAPTURE_CHAINS.map((c) => `-X ${c}`),
    'COMMIT',
    '',
  ].join('\n');
}

/**
 * Whether our rules are in `saveText` (iptables-save or `-t nat` output) exactly as
 * planned for `opts`: for periodic repair and for an agent that restarts and finds
 * pods it captured before. Quoting, and address spelling (10.0.0.1 vs 10.0.0.1/32), do
 * not matter; rule order within our chains does.
 */
export function parseCaptureState(saveText: string, opts: CaptureOptions, family: Family = 4): CaptureState {
  const plan = planCapture(opts, family);
  const table = parseNat(saveText);
  const missing: string[] = [];
  const unexpected: string[] = [];
  let installed = false;

  for (const chain of CAPTURE_CHAINS) {
    if (table.chains.has(chain)) installed = true;
    else missing.push(`:${chain}`);
  }
  const jumps = checkJumps(table, plan);
  if (jumps.found) installed = true;
  missing.push(...jumps.missing.map((r) => renderRule('-A', r)));
  unexpected.push(...jumps.extra.map((r) => renderRule('-A', r)));
  for (const chain of CAPTURE_CHAINS) {
    const want = plan.rules.filter((r) => r.chain === chain);
    const have = table.rules.get(chain) ?? [];
    const left = [...have];
    for (const w of want) {
      const i = left.findIndex((h) => sameRule(h, w));
      if (i < 0) missing.push(renderRule('-A', w));
      else left.splice(i, 1);
    }
    for (const h of left) unexpected.push(renderRule('-A', h));
    const inOrder = want.length === have.length && want.every((w, i) => sameRule(have[i]!, w));
    if (!inOrder && left.length === 0 && want.length === have.length) unexpected.push(`${chain}: rules out of order`);
  }
  return { installed, complete: missing.length === 0 && unexpected.length === 0, missing, unexpected };
}

/**
 * Whether anything of ours (a chain, or a jump to one) is in `saveText`; needs no
 * options, so removal and a restarted agent can ask before they know the pod's config.
 */
export function captureInstalled(saveText: string): boolean {
  const table = parseNat(saveText);
  const ours = new Set(CAPTURE_CHAINS);
  if (CAPTURE_CHAINS.some((c) => table.chains.has(c))) return true;
  for (const rules of table.rules.values()) if (rules.some((r) => ours.has(jumpTarget(r.args) ?? ''))) return true;
  return false;
}

/**
 * The jumps into our chains that `table` lacks (`missing`), and those it has beyond one
 * copy of each planned jump (`extra`: duplicates, variants, jumps from other chains).
 */
function checkJumps(table: NatTable, plan: Plan): { found: boolean; missing: Rule[]; extra: Rule[] } {
  const ours = new Set(CAPTURE_CHAINS);
  const kept = new Set<Rule>();
  const extra: Rule[] = [];
  let found = false;
  for (const [chain, rules] of table.rules) {
    if (ours.has(chain)) continue; // our chains never jump to each other; a rule there that does is reported with them
    for (const r of rules) {
      if (!ours.has(jumpTarget(r.args) ?? '')) continue;
      found = true;
      const planned = plan.jumps.find((j) => sameRule(r, j));
      if (planned && !kept.has(planned)) kept.add(planned);
      else extra.push(r);
    }
  }
  return { found, missing: plan.jumps.filter((j) => !kept.has(j)), extra };
}

/** The jumps from the built-in chains into ours, as captureRules installs them. */
export function jumpRules(): Rule[] {
  return [
    { chain: 'PREROUTING', args: ['-m', 'comment', '--comment', 'ambient mesh: in-pod inbound capture', '-j', PREROUTING_CHAIN] },
    { chain: 'OUTPUT', args: ['-m', 'comment', '--comment', 'ambient mesh: in-pod outbound capture', '-j', OUTPUT_CHAIN] },
  ];
}

/** The rules of our chains, in order, after validating `opts`. */
export function planCapture(opts: CaptureOptions, family: Family = 4): Plan {
  const o = validate(opts);
  const tcp = (port: number) => ['-p', 'tcp', '-m', 'tcp', '--dport', String(port)];
  const udp = (port: number) => ['-p', 'udp', '-m', 'udp', '--dport', String(port)];
  const why = (comment: string) => ['-m', 'comment', '--comment', comment];
  const inbound: string[][] = [];
  const outbound: string[][] = [];

  // Inbound, in PREROUTING: what arrives at the pod from outside.
  // From lo: the app talking to itself through its pod IP, and the agent handing a
  // connection it accepted to the app. Both were already let through by AMB-OUTPUT, and
  // conntrack then fixes their NAT at OUTPUT, so nat PREROUTING does not see them today;
  // this rule keeps them uncaptured whatever changes in OUTPUT (Istio's in-pod rules
  // have the same one).
  inbound.push(['-i', 'lo', ...why('from inside the pod (app to itself, agent to app): not captured'), '-j', 'RETURN']);
  for (const src of o.probeSources.filter((c) => c.family === family)) {
    inbound.push(['-s', formatCidr(src), ...why('health probes (kubelet, SNATed to this source by the node) reach the app directly'), '-j', 'RETURN']);
  }
  inbound.push([...tcp(o.hbonePort), ...why('HBONE (mTLS) is accepted by the agent on this port itself'), '-j', 'RETURN']);
  for (const port of o.excludeInboundPorts) {
    inbound.push([...tcp(port), ...why(`inbound port ${port} is excluded from capture`), '-j', 'RETURN']);
  }
  // Everything else, including the agent's other ports: a peer has no business with
  // 15001 or 15053 (both loopback-only), and sending even those to 15006 means no
  // packet from outside ever reaches the outbound listener, whatever address it binds.
  inbound.push(['-p', 'tcp', ...why('other TCP to the pod goes to the agent inbound listener'), '-j', 'REDIRECT', '--to-ports', String(o.inboundPort)]);

  // Outbound, in OUTPUT: what processes in the pod send.
  // First: the agent's own sockets (proxied connections, upstream DNS), or it would
  // capture itself in a loop.
  outbound.push(['-m', 'mark', '--mark', formatMark(o.agentMark, o.agentMarkMask), ...why('sockets of the agent (SO_MARK) are never captured'), '-j', 'RETURN']);
  // Routed through lo: 127.0.0.0/8, ::1 and the pod's own addresses (so a process in the
  // pod that dials one of the agent's ports over loopback reaches it as is).
  outbound.push(['-o', 'lo', ...why('loopback and own pod IPs (routed via lo) are not captured'), '-j', 'RETURN']);
  for (const cidr of o.excludeOutboundCidrs.filter((c) => c.family === family)) {
    outbound.push(['-d', formatCidr(cidr), ...why('destination excluded from capture'), '-j', 'RETURN']);
  }
  for (const port of o.excludeOutboundPorts) {
    outbound.push([...tcp(port), ...why(`outbound port ${port} is excluded from capture`), '-j', 'RETURN']);
    if (o.captureDns && port === DNS_PORT) outbound.push([...udp(port), ...why(`outbound port ${port} is excluded from capture`), '-j', 'RETURN']);
  }
  if (o.captureDns) {
    // Before the TCP catch-all, so DNS over TCP reaches the DNS proxy, not 15001.
    outbound.push([...udp(DNS_PORT), ...why('DNS over UDP goes to the agent DNS proxy'), '-j', 'REDIRECT', '--to-ports', String(o.dnsPort)]);
    outbound.push([...tcp(DNS_PORT), ...why('DNS over TCP goes to the agent DNS proxy'), '-j', 'REDIRECT', '--to-ports', String(o.dnsPort)]);
  }
  outbound.push(['-p', 'tcp', ...why('other TCP from the app goes to the agent outbound listener'), '-j', 'REDIRECT', '--to-ports', String(o.outboundPort)]);

  return {
    jumps: jumpRules(),
    rules: [...inbound.map((args) => ({ chain: PREROUTING_CHAIN, args })), ...outbound.map((args) => ({ chain: OUTPUT_CHAIN, args }))],
  };
}

// ---------------------------------------------------------------- options

export interface Cidr {
  family: Family;
  bits: bigint; // the network address
  prefix: number;
}

interface ValidOptions {
  inboundPort: number;
  outboundPort: number;
  hbonePort: number;
  dnsPort: number;
  captureDns: boolean;
  agentMark: number;
  agentMarkMask: number;
  excludeOutboundPorts: number[];
  excludeInboundPorts: number[];
  excludeOutboundCidrs: Cidr[];
  probeSources: Cidr[];
}

function validate(opts: CaptureOptions): ValidOptions {
  const problems: string[] = [];
  const port = (name: string, value: unknown, dflt: number): number => {
    const v = value === undefined ? dflt : value;
    if (!validPort(v)) problems.push(`${name} ${JSON.stringify(v)} is not a port (1-65535)`);
    return v as number;
  };
  const ports = (name: string, value: readonly number[] | undefined): number[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
      problems.push(`${name} is not a list`);
      return [];
    }
    for (const p of value) if (!validPort(p)) problems.push(`${name}: ${JSON.stringify(p)} is not a port (1-65535)`);
    return [...new Set(value)].sort((a, b) => a - b);
  };
  const cidrs = (name: string, value: readonly string[] | undefined): Cidr[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
      problems.push(`${name} is not a list`);
      return [];
    }
    const out = new Map<string, Cidr>();
    for (const s of value) {
      const c = typeof s === 'string' ? parseCidr(s) : undefined;
      if (c === undefined) problems.push(`${name}: ${JSON.stringify(s)} is not an address or CIDR`);
      else out.set(formatCidr(c), c);
    }
    return [...out.values()];
  };

  const o: ValidOptions = {
    inboundPort: port('inboundPort', opts.inboundPort, CAPTURE_PORTS.inbound),
    outboundPort: port('outboundPort', opts.outboundPort, CAPTURE_PORTS.outbound),
    hbonePort: port('hbonePort', opts.hbonePort, CAPTURE_PORTS.hbone),
    dnsPort: port('dnsPort', opts.dnsPort, CAPTURE_PORTS.dns),
    captureDns: opts.captureDns,
    agentMark: opts.agentMark,
    agentMarkMask: opts.agentMarkMask ?? FULL_MASK,
    excludeOutboundPorts: ports('excludeOutboundPorts', opts.excludeOutboundPorts),
    excludeInboundPorts: ports('excludeInboundPorts', opts.excludeInboundPorts),
    excludeOutboundCidrs: cidrs('excludeOutboundCidrs', opts.excludeOutboundCidrs),
    probeSources: cidrs('probeSources', opts.probeSources ?? DEFAULT_PROBE_SOURCES),
  };
  if (typeof o.captureDns !== 'boolean') problems.push(`captureDns ${JSON.stringify(o.captureDns)} is not a boolean`);
  const agentPorts = [o.inboundPort, o.outboundPort, o.hbonePort, o.dnsPort];
  if (new Set(agentPorts).size !== agentPorts.length) problems.push(`the agent's ports ${agentPorts.join(', ')} are not distinct`);
  const u32 = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= FULL_MASK;
  // Mark 0 is every socket's mark: the app's traffic would bypass the capture entirely.
  if (!u32(o.agentMark)) problems.push(`agentMark ${JSON.stringify(o.agentMark)} is not 1-0xffffffff`);
  if (!u32(o.agentMarkMask)) problems.push(`agentMarkMask ${JSON.stringify(o.agentMarkMask)} is not 1-0xffffffff`);
  // (mark & mask) == value never holds with bits outside the mask: the agent's own
  // connections would be captured and loop back into it.
  else if (u32(o.agentMark) && (o.agentMark & ~o.agentMarkMask) >>> 0 !== 0) {
    problems.push(`agentMark 0x${o.agentMark.toString(16)} has bits outside agentMarkMask 0x${o.agentMarkMask.toString(16)}`);
  }
  if (problems.length > 0) throw new MeshError(ErrorCodes.NETWORK_INVALID, `invalid capture options: ${problems.join('; ')}`);
  return o;
}

function validPort(p: unknown): p is number {
  return typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535;
}

/** As iptables-save prints `-m mark --mark`: the mask only when it is not all ones. */
function formatMark(mark: number, mask: number): string {
  return mask === FULL_MASK ? `0x${mark.toString(16)}` : `0x${mark.toString(16)}/0x${mask.toString(16)}`;
}

// ---------------------------------------------------------------- addresses

/** `a.b.c.d[/n]` or an IPv6 address `[/n]`, host bits cleared (as iptables does). */
export function parseCidr(s: string): Cidr | undefined {
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(s.trim());
  if (!m) return undefined;
  const family = net.isIP(m[1]!);
  if (family !== 4 && family !== 6) return undefined;
  const width = family === 4 ? 32 : 128;
  const prefix = m[2] === undefined ? width : Number(m[2]);
  if (prefix > width) return undefined;
  const bits = family === 4 ? ipv4Bits(m[1]!) : ipv6Bits(m[1]!);
  if (bits === undefined) return undefined;
  const hostMask = (1n << BigInt(width - prefix)) - 1n;
  return { family, bits: bits & ~hostMask, prefix };
}

/** `10.0.0.0/8`, `fd00::/8`: the form iptables-save prints (RFC 5952 for IPv6). */
export function formatCidr(c: Cidr): string {
  return `${c.family === 4 ? formatIpv4(c.bits) : formatIpv6(c.bits)}/${c.prefix}`;
}

function ipv4Bits(s: string): bigint {
  return s.split('.').reduce((n, o) => (n << 8n) | BigInt(Number(o)), 0n);
}

function ipv6Bits(s: string): bigint | undefined {
  let text = s.toLowerCase();
  if (text.includes('%')) return undefined; // zone ids have no place in a rule
  // A trailing dotted quad is the last two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = Number(ipv4Bits(v4[1]!));
    text = `${text.slice(0, -v4[1]!.length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const groups = (p: string) => (p === '' ? [] : p.split(':'));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (all.length !== 8) return undefined;
  return all.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function formatIpv4(bits: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((bits >> s) & 0xffn)).join('.');
}

function formatIpv6(bits: bigint): string {
  const g = Array.from({ length: 8 }, (_, i) => Number((bits >> BigInt(112 - 16 * i)) & 0xffffn));
  // The longest run of two or more zero groups becomes "::" (the first, on a tie).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = g.map((x) => x.toString(16));
  // As glibc's inet_ntop: IPv4-compatible and IPv4-mapped addresses end in a dotted quad.
  if (best === 0 && (bestLen === 6 || (bestLen === 7 && g[7] !== 1) || (bestLen === 5 && g[5] === 0xffff))) {
    return `::${bestLen === 5 ? 'ffff:' : ''}${formatIpv4(bits & 0xffffffffn)}`;
  }
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

// ---------------------------------------------------------------- iptables-save text

interface NatTable {
  chains: Set<string>;
  rules: Map<string, Rule[]>; // chain -> rules in order
}

function emptyNat(): NatTable {
  return { chains: new Set(), rules: new Map() };
}

/** The nat table of iptables-save output: declared chains and `-A` rules, in order. */
export function parseNat(saveText: string): NatTable {
  const t = emptyNat();
  let inNat = false;
  for (const raw of saveText.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) inNat = line === '*nat';
    else if (!inNat || line === '' || line.startsWith('#')) continue;
    else if (line === 'COMMIT') inNat = false;
    else if (line.startsWith(':')) t.chains.add(line.slice(1).split(/\s+/)[0]!);
    else if (line.startsWith('-A ')) {
      const [, chain, ...args] = tokenize(line);
      if (chain === undefined) continue;
      const list = t.rules.get(chain) ?? [];
      list.push({ chain, args });
      t.rules.set(chain, list);
    }
  }
  return t;
}

/**
 * Splits a rule line as iptables-restore does: whitespace separates tokens, "..." groups
 * (with \" and \\ escapes inside), so `--comment "a b"` is one token, `a b`.
 */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '\\' && i + 1 < line.length && (quoted || line[i + 1] === '"')) {
      cur += line[++i];
      has = true;
    } else if (ch === '"') {
      quoted = !quoted;
      has = true;
    } else if (!quoted && /\s/.test(ch)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

function declare(chain: string): string {
  return `:${chain} - [0:0]`;
}

function renderRule(op: '-A' | '-D' | '-I', r: Rule, position?: number): string {
  return [op, r.chain, ...(position === undefined ? [] : [String(position)]), ...r.args.map(quote)].join(' ');
}

// Quoted when restore would otherwise split or misread it; our comments never hold a
// quote, but a rule copied from a pod's table for `-D` might.
function quote(token: string): string {
  return token !== '' && /^[^\s"\\']+$/.test(token) ? token : `"${token.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The chain a rule jumps (-j) or goes (-g) to, or its target. */
function jumpTarget(args: readonly string[]): string | undefined {
  const i = Math.max(args.lastIndexOf('-j'), args.lastIndexOf('-g'));
  return i >= 0 ? args[i + 1] : undefined;
}

function sameRule(a: Rule, b: Rule): boolean {
  if (a.chain !== b.chain) return false;
  const x = canonicalArgs(a.args);
  const y = canonicalArgs(b.args);
  return x.length === y.length && x.every((t, i) => t === y[i]);
}

// Spellings iptables-save may print differently from how a rule was written.
function canonicalArgs(args: readonly string[]): string[] {
  return args.map((tok, i) => {
    const prev = args[i - 1];
    if (prev === '-s' || prev === '-d' || prev === '--source' || prev === '--destination') {
      const c = parseCidr(tok);
      return c ? formatCidr(c) : tok;
    }
    if (prev === '--mark') {
      const m = /^(0x[0-9a-f]+|\d+)(?:\/(0x[0-9a-f]+|\d+))?$/i.exec(tok);
      if (m) return formatMark(Number(m[1]) >>> 0, m[2] === undefined ? FULL_MASK : Number(m[2]) >>> 0);
    }
    return tok;
  });
}
