// The node agent's view of mesh config: an immutable, indexed snapshot of the Workload,
// Service and Policy resources it holds (DESIGN.md section 7, "One writer for state").
//
// The config client is the one writer: when a push has been validated it calls
// `buildState` with the complete resource set and swaps the result in with a single
// assignment. Connections in flight keep the snapshot they started with; every new
// connection plans against the newest one. Rebuilding is O(resources) with no I/O, so
// it is done on every change rather than patched in place (ztunnel keeps mutable stores
// behind a RwLock; a fresh snapshot gives us the same isolation without a lock).
//
// Resource bodies are deep-frozen, not copied: a reader that tries to change one gets a
// TypeError (ES modules are strict) instead of silently corrupting every other reader's
// view. The writer hands over fresh objects for each push, so freezing them costs nothing.

import type { MeshService, Policy, Resource, ServicePort, Workload } from '../../core/config/model.js';
import { canonicalIp } from '../../core/ip.js';

/** A Service found by VIP, and the TCP service port that was asked for when it exists. */
export interface VipMatch {
  readonly service: MeshService;
  /** Undefined when the VIP is known but the Service has no such TCP port. */
  readonly servicePort: ServicePort | undefined;
}

export interface ProxyState {
  /** The node this agent runs on; undefined in tests that do not care. */
  readonly localNode: string | undefined;
  /** Oddities found while indexing (duplicate keys, an IP claimed by two workloads):
   * for config dumps and a log line, never fatal. */
  readonly warnings: readonly string[];

  workloadByUid(uid: string): Workload | undefined;
  /** The workload that owns `ip` (any spelling: `::ffff:10.0.0.1` finds `10.0.0.1`);
   * never a host-network pod. */
  workloadByIp(ip: string): Workload | undefined;
  serviceByKey(key: string): MeshService | undefined;
  /** The Service whose VIP is `ip`, with its TCP port `port` when it has one. When several
   * Services share a VIP (possible for ServiceEntry-like resources, never for Kubernetes
   * Services), one that has the port wins, then one in `preferNamespace` (the caller's
   * namespace, as ztunnel's `get_best_by_vip` does), then the smallest key. */
  serviceByVip(ip: string, port: number, preferNamespace?: string): VipMatch | undefined;
  /** DNS: the Service with this fully qualified hostname (case-insensitive, trailing dot
   * ignored), preferring `preferNamespace` when several share it. Short names
   * (`reviews`, `reviews.default`) are expanded by the DNS proxy, not here. */
  serviceByHostname(hostname: string, preferNamespace?: string): MeshService | undefined;
  /** Services that list this workload as an endpoint. */
  servicesForWorkload(uid: string): readonly MeshService[];
  /** Workloads scheduled on `localNode` (all workloads when it is undefined). */
  localWorkloads(): readonly Workload[];
  workloads(): readonly Workload[];
  services(): readonly MeshService[];
  policies(): readonly Policy[];
}

export interface BuildStateOptions {
  localNode?: string;
}

const EMPTY: readonly never[] = Object.freeze([]);

export function buildState(resources: readonly Resource[], options: BuildStateOptions = {}): ProxyState {
  const warnings: string[] = [];
  const workloadsByUid = new Map<string, Workload>();
  const servicesByKey = new Map<string, MeshService>();
  const policiesByKey = new Map<string, Policy>();

  for (const r of resources) {
    // Routes are the waypoints' (the controller never sends them to a node agent): a node
    // agent holds the L4 kinds only, and a kind it does not route by is not misfiled.
    if (r.kind !== 'Workload' && r.kind !== 'Service' && r.kind !== 'Policy') continue;
    deepFreeze(r.body);
    const into: Map<string, unknown> =
      r.kind === 'Workload' ? workloadsByUid : r.kind === 'Service' ? servicesByKey : policiesByKey;
    const key = r.kind === 'Workload' ? (r.body as Workload).uid : (r.body as MeshService | Policy).key;
    if (into.has(key)) warnings.push(`${r.kind} ${key} appears more than once; the last one is used`);
    into.set(key, r.body);
  }

  const workloads = sortedBy([...workloadsByUid.values()], (w) => w.uid);
  const services = sortedBy([...servicesByKey.values()], (s) => s.key);
  const policies = sortedBy([...policiesByKey.values()], (p) => p.key);

  // IP -> workload. Two workloads claiming one IP happens briefly when a pod is replaced
  // and its address reused before the old one is deleted; prefer the healthy one, then the
  // smallest uid, so that the answer never depends on the order resources arrived in.
  // Host-network pods are left out: their IPs are the node's, shared with the node and
  // every other host-network pod, so they identify nobody (see Workload.hostNetwork).
  const workloadsByIp = new Map<string, Workload>();
  for (const w of workloads) {
    if (w.hostNetwork === true) continue;
    for (const raw of w.ips) {
      const ip = canonicalIp(raw);
      const seen = workloadsByIp.get(ip);
      if (seen === undefined) {
        workloadsByIp.set(ip, w);
        continue;
      }
      if (seen === w) continue;
      warnings.push(`IP ${ip} is claimed by workloads ${seen.uid} and ${w.uid}`);
      if (!seen.healthy && w.healthy) workloadsByIp.set(ip, w);
    }
  }

  const servicesByVip = new Map<string, MeshService[]>();
  const servicesByHost = new Map<string, MeshService[]>();
  const servicesByWorkload = new Map<string, MeshService[]>();
  for (const s of services) {
    for (const vip of new Set(s.vips.map(canonicalIp))) push(servicesByVip, vip, s);
    push(servicesByHost, normaliseHostname(s.hostname), s);
    for (const uid of new Set(s.endpoints.map((e) => e.workloadUid))) push(servicesByWorkload, uid, s);
  }
  for (const [vip, list] of servicesByVip) {
    if (list.length > 1) warnings.push(`VIP ${vip} is shared by services ${list.map((s) => s.key).join(', ')}`);
  }

  const localNode = options.localNode;
  const local = localNode === undefined ? workloads : workloads.filter((w) => w.node === localNode);
  for (const list of [workloads, services, policies, local]) Object.freeze(list);
  for (const m of [servicesByVip, servicesByHost, servicesByWorkload]) for (const list of m.values()) Object.freeze(list);

  const preferring = <T extends { namespace: string }>(list: readonly T[], ns: string | undefined): T | undefined =>
    (ns === undefined ? undefined : list.find((x) => x.namespace === ns)) ?? list[0];

  const state: ProxyState = {
    localNode,
    warnings: Object.freeze(warnings),
    workloadByUid: (uid) => workloadsByUid.get(uid),
    workloadByIp: (ip) => workloadsByIp.get(canonicalIp(ip)),
    serviceByKey: (key) => servicesByKey.get(key),
    serviceByVip(ip, port, preferNamespace) {
      const list = servicesByVip.get(canonicalIp(ip));
      if (list === undefined) return undefined;
      const withPort = list.filter((s) => findTcpPort(s, port) !== undefined);
      const service = preferring(withPort.length > 0 ? withPort : list, preferNamespace)!;
      return { service, servicePort: findTcpPort(service, port) };
    },
    serviceByHostname(hostname, preferNamespace) {
      const list = servicesByHost.get(normaliseHostname(hostname));
      return list === undefined ? undefined : preferring(list, preferNamespace);
    },
    servicesForWorkload: (uid) => servicesByWorkload.get(uid) ?? EMPTY,
    localWorkloads: () => local,
    workloads: () => workloads,
    services: () => services,
    policies: () => policies,
  };
  return Object.freeze(state);
}

/** The Service's TCP port with this number (the agent captures TCP only). */
export function findTcpPort(service: MeshService, port: number): ServicePort | undefined {
  return service.ports.find((p) => p.port === port && p.protocol === 'TCP');
}

/** Whether `ip` (any spelling) is one of the workload's addresses. */
export function ownsIp(workload: Workload, ip: string): boolean {
  const want = canonicalIp(ip);
  return workload.ips.some((mine) => canonicalIp(mine) === want);
}

function normaliseHostname(h: string): string {
  const lower = h.trim().toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [v]);
  else list.push(v);
}

function sortedBy<T>(xs: T[], key: (x: T) => string): T[] {
  return xs.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function deepFreeze(x: unknown): void {
  if (x === null || typeof x !== 'object') return;
  Object.freeze(x);
  for (const v of Object.values(x)) deepFreeze(v);
}
