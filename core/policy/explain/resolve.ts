// `ambientctl authz check --from ... --to ...`: what the two flags name. Parsing (syntax
// only, before any network access) and resolution against the controller's config
// (GET /debug/config): the source identity and address, the destination workloads and the
// port on each. Pure: data in, data out; errors are ExplainInputErrors that say what would be valid.
import { isIP } from 'node:net';
import { endpointTargetPort, type MeshService, type Resource, type WaypointRef, type Workload, type Policy } from '../../config/model.js';

/** A --from/--to/... input that does not parse or resolve; the message says what would be
 * valid. The CLI prints it as it is (no mesh code); the controller's API answers it as 422. */
export class ExplainInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExplainInputError';
  }
}

/** A Kubernetes name segment as namespaces and ServiceAccounts spell them (RFC 1123 label). */
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A pod name may hold dots (RFC 1123 subdomain). */
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const MAX_CLOSE_MATCHES = 5;

export type FromSpec = { kind: 'spiffe'; id: string; trustDomain: string; namespace: string; serviceAccount: string } | { kind: 'nsSa'; namespace: string; serviceAccount: string };

/** `--from`: `spiffe://<td>/ns/<ns>/sa/<sa>` or `<ns>/<sa>`. */
export function parseFrom(value: string): FromSpec {
  const v = value.trim();
  if (v.startsWith('spiffe://')) {
    const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(v);
    if (!m || !LABEL.test(m[2]!) || !SUBDOMAIN.test(m[3]!)) {
      throw new ExplainInputError(`--from: "${value}" is not a workload identity of the mesh: expected spiffe://<trust domain>/ns/<namespace>/sa/<service account>`);
    }
    return { kind: 'spiffe', id: v, trustDomain: m[1]!, namespace: m[2]!, serviceAccount: m[3]! };
  }
  const parts = v.split('/');
  if (parts.length === 2 && LABEL.test(parts[0]!) && SUBDOMAIN.test(parts[1]!)) return { kind: 'nsSa', namespace: parts[0]!, serviceAccount: parts[1]! };
  throw new ExplainInputError(`--from: "${value}" is neither spiffe://<trust domain>/ns/<namespace>/sa/<service account> nor <namespace>/<service account> (e.g. --from shop/frontend)`);
}

export type ToSpec = { kind: 'name'; name: string; namespace: string; port: number; text: string } | { kind: 'hostname'; hostname: string; port: number; text: string } | { kind: 'ip'; ip: string; port: number; text: string };

/** `--to`: `SVC.NS:PORT` or `POD.NS:PORT`, a Service's full hostname (`web.shop.svc.cluster.local:80`),
 * or an address (`10.244.1.5:8080`, `[fd00::5]:8080`): a pod IP or a Service VIP. */
export function parseTo(value: string): ToSpec {
  const v = value.trim();
  const bad = (why: string) => new ExplainInputError(`--to: "${value}" ${why}: expected SERVICE.NAMESPACE:PORT or POD.NAMESPACE:PORT (e.g. --to web.shop:80)`);
  let host: string;
  let portText: string;
  const bracket = /^\[([^\]]+)\]:([^:]*)$/.exec(v);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2]!;
    if (isIP(host) !== 6) throw bad('has brackets around something that is not an IPv6 address');
  } else {
    const colon = v.lastIndexOf(':');
    if (colon < 0) throw bad('has no port');
    host = v.slice(0, colon);
    portText = v.slice(colon + 1);
    if (host.includes(':')) throw bad('is an IPv6 address without brackets ([addr]:port)');
  }
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) throw bad(`has port "${portText}", not a number from 1 to 65535`);
  const port = Number(portText);
  if (isIP(host) !== 0) return { kind: 'ip', ip: host, port, text: v };
  const dot = host.lastIndexOf('.');
  if (dot <= 0) throw bad('names no namespace');
  if (/\.svc(\.|$)/.test(host)) {
    const labels = host.split('.');
    if (labels.some((l) => !LABEL.test(l))) throw bad('is not a valid hostname');
    return { kind: 'hostname', hostname: host, port, text: v };
  }
  const name = host.slice(0, dot);
  const namespace = host.slice(dot + 1);
  if (!LABEL.test(namespace)) throw bad(`has namespace "${namespace}", not a valid namespace name`);
  if (!SUBDOMAIN.test(name)) throw bad(`has name "${name}", not a valid Service or pod name`);
  return { kind: 'name', name, namespace, port, text: v };
}

/** `--source-ip`: an IPv4 or IPv6 address. */
export function parseSourceIp(value: string): string {
  const v = value.trim();
  if (isIP(v) === 0) throw new ExplainInputError(`--source-ip: "${value}" is not an IP address`);
  return v;
}

/** `--header k=v` (repeatable): lower-case names, as the engine expects them. */
export function parseHeaders(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of values) {
    const eq = h.indexOf('=');
    const name = eq < 0 ? '' : h.slice(0, eq).trim().toLowerCase();
    if (eq < 0 || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) throw new ExplainInputError(`--header: "${h}" is not NAME=VALUE with a valid header name`);
    out[name] = h.slice(eq + 1);
  }
  return out;
}

// ---------------------------------------------------------------- the config

/** The three kinds of resource of a config, each in a list. */
export interface MeshConfigView {
  trustDomain: string;
  rootNamespace: string;
  workloads: Workload[];
  services: MeshService[];
  policies: Policy[];
}

export function configView(c: { trustDomain: string; rootNamespace: string; resources: Resource[] }): MeshConfigView {
  const v: MeshConfigView = { trustDomain: c.trustDomain, rootNamespace: c.rootNamespace, workloads: [], services: [], policies: [] };
  for (const r of c.resources) {
    if (r.kind === 'Workload') v.workloads.push(r.body as Workload);
    else if (r.kind === 'Service') v.services.push(r.body as MeshService);
    else if (r.kind === 'Policy') v.policies.push(r.body as Policy);
  }
  return v;
}

// ---------------------------------------------------------------- --from

export interface ResolvedSource {
  /** spiffe://<td>/ns/<ns>/sa/<sa>. */
  identity: string;
  namespace: string;
  serviceAccount: string;
  /** The address used for IP-based fields; absent when none could be chosen. */
  ip?: string;
  /** Where `ip` came from: `--source-ip`, or the workload that carries the identity. */
  ipFrom?: string;
  /** Workloads of the mesh carrying this identity (`namespace/name`). */
  workloads: string[];
  notes: string[];
}

export function resolveFrom(spec: FromSpec, sourceIp: string | undefined, config: MeshConfigView): ResolvedSource {
  if (spec.kind === 'spiffe' && spec.trustDomain !== config.trustDomain) {
    throw new ExplainInputError(`--from: ${spec.id} is not in the mesh's trust domain "${config.trustDomain}" (spiffe://${config.trustDomain}/ns/${spec.namespace}/sa/${spec.serviceAccount} is)`);
  }
  const identity = spec.kind === 'spiffe' ? spec.id : `spiffe://${config.trustDomain}/ns/${spec.namespace}/sa/${spec.serviceAccount}`;
  const carriers = config.workloads.filter((w) => w.identity === identity).sort(byNsName);
  const names = carriers.map((w) => `${w.namespace}/${w.name}`);
  const notes: string[] = [];
  const base = { identity, namespace: spec.namespace, serviceAccount: spec.serviceAccount, workloads: names };
  if (sourceIp !== undefined) return { ...base, ip: sourceIp, ipFrom: '--source-ip', notes };
  if (carriers.length === 0) {
    notes.push(`no workload of the mesh carries ${identity}: evaluated without a source address (ipBlocks and source.ip match nothing); give --source-ip to set one`);
    return { ...base, notes };
  }
  const withIp = carriers.filter((w) => w.ips.length > 0 && !w.hostNetwork);
  if (withIp.length === 1) {
    const w = withIp[0]!;
    return { ...base, ip: w.ips[0]!, ipFrom: `pod ${w.namespace}/${w.name}`, notes };
  }
  if (withIp.length === 0) notes.push(`no workload carrying ${identity} has an address yet: evaluated without a source address; give --source-ip to set one`);
  else notes.push(`${withIp.length} workloads carry ${identity} (${names.slice(0, MAX_CLOSE_MATCHES).join(', ')}${names.length > MAX_CLOSE_MATCHES ? ', ...' : ''}): evaluated without a source address (ipBlocks and source.ip match nothing); give --source-ip to pick one`);
  return { ...base, notes };
}

// ---------------------------------------------------------------- --to

export interface Destination {
  workload: Workload;
  /** The address the connection reaches (the pod's primary IP). */
  ip: string;
  /** The port on the pod (the Service's target port on this endpoint). */
  port: number;
}

export interface ResolvedTarget {
  kind: 'Service' | 'Workload';
  namespace: string;
  name: string;
  /** The port as given. */
  port: number;
  service?: MeshService;
  /** The workloads the connection may reach, each with its port. */
  destinations: Destination[];
  /** The waypoint of the Service (or of the workload, for a pod). */
  waypoint?: WaypointRef;
  notes: string[];
}

export function resolveTo(spec: ToSpec, config: MeshConfigView): ResolvedTarget {
  let services: MeshService[];
  let workloads: Workload[];
  switch (spec.kind) {
    case 'hostname':
      services = config.services.filter((s) => s.hostname === spec.hostname || s.hostname.startsWith(`${spec.hostname}.`));
      workloads = [];
      break;
    case 'ip':
      services = config.services.filter((s) => s.vips.includes(spec.ip));
      workloads = config.workloads.filter((w) => w.ips.includes(spec.ip) && !w.hostNetwork);
      break;
    case 'name':
      services = config.services.filter((s) => s.name === spec.name && s.namespace === spec.namespace);
      workloads = config.workloads.filter((w) => w.name === spec.name && w.namespace === spec.namespace);
      break;
  }
  const found = services.length + workloads.length;
  if (found === 0) throw new ExplainInputError(`--to: ${spec.text} is no Service or pod of the mesh${closeMatchesText(spec, config)}`);
  // NAME.NS naming a Service and a pod alike (a bare Pod behind a Service of its own name):
  // the Service, as `SVC.NS:PORT` comes first in the syntax; the pod stays reachable by IP.
  if (spec.kind === 'name' && services.length === 1 && workloads.length === 1) {
    const target = serviceTarget(services[0]!, spec.port, config);
    const w = workloads[0]!;
    target.notes.push(`${spec.text} names Service ${services[0]!.namespace}/${services[0]!.name} and pod ${w.namespace}/${w.name}: the Service was checked; check the pod itself with --to ${w.ips[0] ?? 'IP'}:PORT`);
    return target;
  }
  if (found > 1) {
    const all = [...services.map((s) => `Service ${s.namespace}/${s.name}`), ...workloads.map((w) => `pod ${w.namespace}/${w.name}`)];
    throw new ExplainInputError(`--to: ${spec.text} is ambiguous: it names ${all.join(' and ')}; name the Service by its hostname (${services[0]?.hostname ?? 'NAME.NS.svc.cluster.local'}:${spec.port}) or the pod by its IP (IP:${spec.port})`);
  }
  if (services.length === 1) return serviceTarget(services[0]!, spec.port, config);
  const w = workloads[0]!;
  const ip = spec.kind === 'ip' ? spec.ip : w.ips[0];
  if (ip === undefined) throw new ExplainInputError(`--to: pod ${w.namespace}/${w.name} has no address yet`);
  return { kind: 'Workload', namespace: w.namespace, name: w.name, port: spec.port, destinations: [{ workload: w, ip, port: spec.port }], ...(w.waypoint && { waypoint: w.waypoint }), notes: [] };
}

function serviceTarget(s: MeshService, port: number, config: MeshConfigView): ResolvedTarget {
  const sp = s.ports.find((p) => p.port === port && p.protocol === 'TCP');
  if (!sp) {
    const ports = s.ports.filter((p) => p.protocol === 'TCP').map((p) => String(p.port));
    throw new ExplainInputError(`--to: Service ${s.namespace}/${s.name} has no TCP port ${port}${ports.length ? ` (its ports: ${ports.join(', ')})` : ' (it has no TCP port)'}`);
  }
  const byUid = new Map(config.workloads.map((w) => [w.uid, w]));
  const destinations: Destination[] = [];
  const notes: string[] = [];
  for (const ep of s.endpoints) {
    const w = byUid.get(ep.workloadUid);
    if (!w) continue;
    const target = endpointTargetPort(sp, ep);
    if (target === undefined) {
      notes.push(`endpoint ${w.namespace}/${w.name} does not serve port ${port} (its pod declares no port named "${sp.name ?? ''}")`);
      continue;
    }
    const ip = w.ips[0];
    if (ip === undefined) {
      notes.push(`endpoint ${w.namespace}/${w.name} has no address yet`);
      continue;
    }
    if (!ep.healthy) notes.push(`endpoint ${w.namespace}/${w.name} is not ready: it receives no new connection now`);
    destinations.push({ workload: w, ip, port: target });
  }
  if (destinations.length === 0) throw new ExplainInputError(`--to: Service ${s.namespace}/${s.name} has no endpoint serving port ${port}: there is no workload to evaluate the policies of${notes.length ? ` (${notes.join('; ')})` : ''}`);
  destinations.sort((a, b) => byNsName(a.workload, b.workload));
  return { kind: 'Service', namespace: s.namespace, name: s.name, port, service: s, destinations, ...(s.waypoint && { waypoint: s.waypoint }), notes };
}

/** `; close matches: Service shop/web, pod shop/web-6d4-x2v` or ``. */
function closeMatchesText(spec: ToSpec, config: MeshConfigView): string {
  const m = closeMatches(spec, config);
  return m.length > 0 ? `; close matches: ${m.join(', ')}` : '';
}

/** Services and pods whose `name.namespace` is near what was asked: the same name in
 * another namespace, a pod of that name's Deployment (name prefix), a small edit distance. */
export function closeMatches(spec: ToSpec, config: MeshConfigView): string[] {
  if (spec.kind === 'ip') return [];
  const wanted = spec.kind === 'name' ? `${spec.name}.${spec.namespace}` : spec.hostname.split('.').slice(0, 2).join('.');
  const [wName = '', wNs = ''] = [wanted.slice(0, wanted.lastIndexOf('.')), wanted.slice(wanted.lastIndexOf('.') + 1)];
  const scored: Array<{ text: string; score: number }> = [];
  const consider = (label: string, name: string, ns: string) => {
    const full = `${name}.${ns}`;
    let score = Infinity;
    if (name === wName) score = 0;
    else if (ns === wNs && name.startsWith(`${wName}-`)) score = 1;
    else {
      const d = editDistance(full, wanted);
      if (d <= Math.max(2, Math.floor(wanted.length / 4))) score = 1 + d;
    }
    if (score !== Infinity) scored.push({ text: `${label} ${full}`, score });
  };
  for (const s of config.services) consider('Service', s.name, s.namespace);
  for (const w of config.workloads) consider('pod', w.name, w.namespace);
  scored.sort((a, b) => a.score - b.score || cmp(a.text, b.text));
  return scored.slice(0, MAX_CLOSE_MATCHES).map((s) => s.text);
}

export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

function byNsName(a: { namespace: string; name: string }, b: { namespace: string; name: string }): number {
  return cmp(a.namespace, b.namespace) || cmp(a.name, b.name);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
