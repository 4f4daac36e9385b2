// What `ambientctl status|workloads|services|certificates` show, computed from the agents'
// config dumps and the controller's debug status. Pure: no I/O here (cli/mesh/transport.ts
// fetches), so each view is unit-tested from fixture JSON (cli/mesh/view.test.ts).
import type { Problem } from '../../controller/translate/input.js';
import type { ConfigClientStatus } from '../../controller/distribution/server.js';
import type { MeshService, Workload } from '../../core/config/model.js';
import { render, renderOne, type Column, type OutputFormat } from '../output.js';
import { waypointName } from '../../core/policy/explain/check.js';
import type { AgentDump, AgentProbe, ControllerDebugStatus, ControllerProbe } from './types.js';

// The waypoints' /debug/endpoints documents (`services`' HEALTH column and endpoint rows).
import type { EndpointStateEntry, EndpointStateTarget, WaypointEndpointsProbe } from './types.js';

// ---------------------------------------------------------------- status

export interface ControllerRow {
  pod: string;
  address?: string;
  reachable: boolean;
  ready?: boolean;
  /** The global config version. */
  version?: string;
  /** The CA Secret, `namespace/name`. */
  ca?: string;
  resources?: number;
  clients?: number;
  /** Translation problems (cluster objects that could not be turned into config). */
  problems?: number;
  error?: string;
}

export interface NodeRow {
  node: string;
  agentReachable: boolean;
  /** The agent applied a first config. */
  ready?: boolean;
  connected?: boolean;
  /** The config version the agent says it ACKed last. */
  ackedByAgent?: string;
  /** The version the controller saw this node's agent ACK last (absent: no stream there). */
  ackedAtController?: string;
  /** The controller's current global version, when known. */
  controllerVersion?: string;
  enrolled?: number;
  failures?: number;
  /** Resources this node's agent refused (the controller's `rejected` for its stream). */
  nacked: number;
  certificates?: number;
  error?: string;
}

export interface RejectedRow {
  node: string;
  identity: string;
  kind: string;
  key: string;
  version: string;
  error: string;
}

/** A config stream that is not a node agent's (a waypoint's). */
export interface OtherClientRow {
  identity: string;
  node: string;
  ackedAtController?: string;
  nacked: number;
  synced: boolean;
}

export interface MeshStatus {
  controllers: ControllerRow[];
  nodes: NodeRow[];
  waypoints: OtherClientRow[];
  rejected: RejectedRow[];
  translationProblems: Problem[];
  /** Everything that needs a look, one sentence each; empty when all is well. */
  problems: string[];
}

const MAX_LISTED_PROBLEMS = 20;

/**
 * The mesh's health from what the controllers and the agents answered. `now` decides
 * whether a certificate has expired.
 */
export function meshStatus(controllers: ControllerProbe[], agents: AgentProbe[], now: Date = new Date()): MeshStatus {
  const problems: string[] = [];
  const reachable = controllers.filter((c): c is Extract<ControllerProbe, { ok: true }> => c.ok);

  const controllerRows: ControllerRow[] = controllers.map((c) => {
    if (!c.ok) return { pod: c.pod, ...(c.address && { address: c.address }), reachable: false, error: c.error };
    const s = c.status;
    return {
      pod: c.pod,
      ...(c.address && { address: c.address }),
      reachable: true,
      ready: s.ready && s.synced,
      version: s.version,
      ca: s.ca,
      resources: s.resources,
      clients: s.clients.length,
      problems: s.problems.length,
    };
  });
  if (controllers.length === 0) problems.push('controller: no controller pod found (ambient-system, app=ambient-controller)');
  for (const c of controllers) {
    if (!c.ok) problems.push(`controller ${c.pod}: unreachable: ${c.error}`);
    else if (!c.status.synced) problems.push(`controller ${c.pod}: not ready: its cluster watch has not synced yet`);
    else if (!c.status.ready) problems.push(`controller ${c.pod}: not ready: no config computed yet`);
  }

  // Translation problems: the same cluster objects in every replica; list each once.
  const seenProblem = new Set<string>();
  const translationProblems: Problem[] = [];
  for (const c of reachable) {
    for (const p of c.status.problems) {
      const id = `${p.kind}\0${p.key}\0${p.message}`;
      if (seenProblem.has(id)) continue;
      seenProblem.add(id);
      translationProblems.push(p);
    }
  }
  for (const p of translationProblems.slice(0, MAX_LISTED_PROBLEMS)) problems.push(`translation: ${p.kind} ${p.key}: ${p.message}`);
  if (translationProblems.length > MAX_LISTED_PROBLEMS) {
    problems.push(`translation: ${translationProblems.length - MAX_LISTED_PROBLEMS} more problems (-o json lists them all)`);
  }

  // Each node's agent stream as the controllers see it: the newest one when several.
  const streams = new Map<string, { client: ConfigClientStatus; status: ControllerDebugStatus }>();
  const waypoints: OtherClientRow[] = [];
  for (const c of reachable) {
    for (const client of c.status.clients) {
      if (client.role !== 'node-agent') {
        waypoints.push({
          identity: client.identity,
          node: client.node,
          ...(client.lastAckedVersion !== undefined && { ackedAtController: client.lastAckedVersion }),
          nacked: client.rejected.length,
          synced: client.synced,
        });
        continue;
      }
      const had = streams.get(client.node);
      if (!had || had.client.connectedAt < client.connectedAt) streams.set(client.node, { client, status: c.status });
    }
  }
  waypoints.sort((a, b) => cmp(a.identity, b.identity) || cmp(a.node, b.node));
  const rejected: RejectedRow[] = [];

  const nodes: NodeRow[] = agents.map((a) => {
    const stream = streams.get(a.node);
    const nacked = stream?.client.rejected ?? [];
    for (const r of nacked) rejected.push({ node: a.node, identity: stream!.client.identity, kind: r.kind, key: r.key, version: r.version, error: r.error });
    const fromController = {
      ...(stream?.client.lastAckedVersion !== undefined && { ackedAtController: stream.client.lastAckedVersion }),
      ...(stream && { controllerVersion: stream.status.version }),
    };
    if (!a.ok) {
      problems.push(`node ${a.node}: agent unreachable: ${a.error}`);
      return { node: a.node, agentReachable: false, ...fromController, nacked: nacked.length, error: a.error };
    }
    const d = a.dump;
    // Not ready and not connected: the reason is said once, with the connection.
    if (!d.ready) problems.push(`node ${a.node}: agent not ready: no config from the controller yet${d.controller.connected ? '' : ' (not connected, below)'}`);
    if (!d.controller.connected) {
      problems.push(`node ${a.node}: agent not connected to the controller at ${d.controller.address}${d.controller.lastError ? `: ${d.controller.lastError}` : ''}; it serves its last config`);
    } else if (reachable.length > 0 && !stream) {
      problems.push(`node ${a.node}: agent says it is connected, but no controller replica lists a stream from it`);
    }
    if (stream && d.controller.connected && stream.client.synced && d.controller.ackedVersion !== stream.status.version) {
      problems.push(`node ${a.node}: agent has ACKed version ${d.controller.ackedVersion ?? '(none)'}, the controller is at ${stream.status.version}`);
    }
    for (const f of d.failures) {
      const w = d.workloads.find((x) => x.uid === f.uid);
      problems.push(`node ${a.node}: enrolment of ${w ? `${w.namespace}/${w.name}` : `pod ${f.uid}`} failed at ${f.at}: ${f.error}`);
    }
    for (const r of nacked) problems.push(`node ${a.node}: NACKed ${r.kind} ${r.key} (version ${r.version}): ${r.error}`);
    for (const c of d.certificates) {
      if (Date.parse(c.notAfter) <= now.getTime()) problems.push(`node ${a.node}: certificate for ${c.identity} expired at ${c.notAfter}`);
    }
    for (const w of d.warnings) problems.push(`node ${a.node}: config warning: ${w}`);
    return {
      node: a.node,
      agentReachable: true,
      ready: d.ready,
      connected: d.controller.connected,
      ...(d.controller.ackedVersion !== undefined && { ackedByAgent: d.controller.ackedVersion }),
      ...fromController,
      enrolled: d.enrolled.length,
      failures: d.failures.length,
      nacked: nacked.length,
      certificates: d.certificates.length,
    };
  });
  for (const w of waypoints) {
    if (w.nacked > 0) problems.push(`waypoint ${w.identity} on ${w.node}: ${w.nacked} NACKed resources`);
  }
  return { controllers: controllerRows, nodes, waypoints, rejected, translationProblems, problems };
}

const yesNo = (v: boolean | undefined): string => (v === undefined ? '-' : v ? 'yes' : 'no');
const orDash = (v: string | number | undefined): string => (v === undefined || v === '' ? '-' : String(v));

const CONTROLLER_COLUMNS: Column<ControllerRow>[] = [
  { header: 'controller', value: (r) => r.pod },
  { header: 'reachable', value: (r) => yesNo(r.reachable) },
  { header: 'ready', value: (r) => yesNo(r.ready) },
  { header: 'version', value: (r) => orDash(r.version) },
  { header: 'ca secret', value: (r) => orDash(r.ca) },
  { header: 'resources', value: (r) => orDash(r.resources) },
  { header: 'clients', value: (r) => orDash(r.clients) },
  { header: 'problems', value: (r) => orDash(r.problems) },
];

const NODE_COLUMNS: Column<NodeRow>[] = [
  { header: 'node', value: (r) => r.node },
  { header: 'agent', value: (r) => (r.agentReachable ? (r.ready ? 'ready' : 'not ready') : 'unreachable') },
  { header: 'connected', value: (r) => yesNo(r.connected) },
  { header: 'acked (agent)', value: (r) => orDash(r.ackedByAgent) },
  { header: 'acked (controller)', value: (r) => orDash(r.ackedAtController) },
  { header: 'enrolled', value: (r) => orDash(r.enrolled) },
  { header: 'failures', value: (r) => orDash(r.failures) },
  { header: 'nacked', value: (r) => String(r.nacked) },
];

const REJECTED_COLUMNS: Column<RejectedRow>[] = [
  { header: 'node', value: (r) => r.node },
  { header: 'kind', value: (r) => r.kind },
  { header: 'key', value: (r) => r.key },
  { header: 'version', value: (r) => r.version },
  { header: 'error', value: (r) => r.error },
];

const WAYPOINT_COLUMNS: Column<OtherClientRow>[] = [
  { header: 'waypoint identity', value: (r) => r.identity },
  { header: 'node', value: (r) => r.node },
  { header: 'synced', value: (r) => yesNo(r.synced) },
  { header: 'acked (controller)', value: (r) => orDash(r.ackedAtController) },
  { header: 'nacked', value: (r) => String(r.nacked) },
];

export function renderStatus(s: MeshStatus, format: OutputFormat): string {
  if (format !== 'table') return renderOne(s, format);
  const parts: string[] = [];
  parts.push(s.controllers.length > 0 ? render(s.controllers, CONTROLLER_COLUMNS, 'table') : 'CONTROLLER\n(no controller pod found)\n');
  parts.push(render(s.nodes, NODE_COLUMNS, 'table'));
  if (s.waypoints.length > 0) parts.push(render(s.waypoints, WAYPOINT_COLUMNS, 'table'));
  if (s.rejected.length > 0) parts.push(`NACKed resources (refused by the node's agent; it keeps the previous version):\n${render(s.rejected, REJECTED_COLUMNS, 'table')}`);
  parts.push(s.problems.length > 0 ? `problems:\n${s.problems.map((p) => `  - ${p}\n`).join('')}` : 'problems: none\n');
  return parts.join('\n');
}

// ---------------------------------------------------------------- workloads

export interface WorkloadRow {
  namespace: string;
  name: string;
  uid: string;
  node: string;
  ips: string[];
  protocol: Workload['protocol'];
  identity: string;
  waypoint?: string;
  mtlsMode: Workload['mtlsMode'];
  healthy: boolean;
  /** Whether the agent on the workload's node has enrolled it: undefined when that agent
   * was not asked (`--node` another node) or did not answer. */
  enrolled?: boolean;
}

/** `<hostname>:<port>` of a waypoint reference (shared with `authz check`, core/policy/explain/check.ts). */
export { waypointName };

/** Every workload once (every agent holds the whole mesh's), sorted by namespace and name. */
export function workloadRows(dumps: AgentDump[]): WorkloadRow[] {
  const byUid = new Map<string, Workload>();
  for (const d of dumps) for (const w of d.workloads) if (!byUid.has(w.uid)) byUid.set(w.uid, w);
  const asked = new Map(dumps.map((d) => [d.node, new Set(d.enrolled.map((e) => e.uid))]));
  const rows = [...byUid.values()].map((w): WorkloadRow => {
    const here = asked.get(w.node);
    const wp = waypointName(w.waypoint);
    return {
      namespace: w.namespace,
      name: w.name,
      uid: w.uid,
      node: w.node,
      ips: [...w.ips],
      protocol: w.protocol,
      identity: w.identity,
      ...(wp !== undefined && { waypoint: wp }),
      mtlsMode: w.mtlsMode,
      healthy: w.healthy,
      ...(here !== undefined && { enrolled: here.has(w.uid) }),
    };
  });
  return rows.sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name) || cmp(a.uid, b.uid));
}

export const WORKLOAD_COLUMNS: Column<WorkloadRow>[] = [
  { header: 'namespace', value: (r) => r.namespace },
  { header: 'name', value: (r) => r.name },
  { header: 'node', value: (r) => r.node },
  { header: 'ips', value: (r) => r.ips.join(',') || '-' },
  { header: 'protocol', value: (r) => r.protocol },
  { header: 'identity', value: (r) => r.identity },
  { header: 'waypoint', value: (r) => orDash(r.waypoint) },
  { header: 'mtls', value: (r) => r.mtlsMode },
  { header: 'enrolled', value: (r) => yesNo(r.enrolled) },
];

// ---------------------------------------------------------------- services

/**
 * A Service's endpoints as its waypoint's replicas see them (GET /debug/endpoints): L7
 * health exists only where a waypoint balances. `none`: no waypoint (the node agents do no
 * L7 health); `unknown`: no waypoint pod told (the reason says why); `known`: counted over
 * the Service's endpoints, each by its address, in its worst state in any replica and on
 * any port (ejected, then warming, then healthy).
 */
export type ServiceHealth =
  | { state: 'none' }
  | { state: 'unknown'; reason: string }
  | {
      state: 'known';
      total: number;
      /** Not ejected (warming ones included). */
      healthy: number;
      ejected: number;
      warming: number;
      /** Some replica sends to every endpoint, ejected or not (minHealthPercent). */
      panic: boolean;
      /** Waypoint pods that answered, and asked. */
      pods: number;
      podsAsked: number;
      /** The pods that did not answer, with why. */
      unreachable: string[];
      /** The full state of the Service's ports, per waypoint pod that answered. */
      waypointPods: Array<{ pod: string; targets: EndpointStateTarget[] }>;
    };

export interface ServiceRow {
  namespace: string;
  name: string;
  hostname: string;
  vips: string[];
  ports: string[];
  endpoints: { healthy: number; total: number };
  waypoint?: string;
  /** Present when the waypoints were asked (`ambientctl services` asks them). */
  health?: ServiceHealth;
}

/** `80/TCP`, or `80:8080/TCP` when the target port differs (`80:named/TCP` when resolved per endpoint). */
export function portText(p: MeshService['ports'][number]): string {
  const target = p.targetPort === 0 ? ':named' : p.targetPort !== p.port ? `:${p.targetPort}` : '';
  return `${p.port}${target}/${p.protocol}`;
}

/** The ejected-warming-healthy order an endpoint's states merge by. */
const RANK: Record<EndpointStateEntry['health'], number> = { healthy: 0, warming: 1, ejected: 2 };

/** The address without its port: one endpoint (pod) across the Service's ports. */
function hostOf(address: string): string {
  const i = address.lastIndexOf(':');
  return i > 0 ? address.slice(0, i) : address;
}

/** A Service's health from its waypoint's answers (`probe` undefined: the waypoint was not asked). */
export function serviceHealth(service: Pick<MeshService, 'key' | 'waypoint'>, probe: WaypointEndpointsProbe | undefined): ServiceHealth {
  if (!service.waypoint) return { state: 'none' };
  if (!probe) return { state: 'unknown', reason: `waypoint ${service.waypoint.service} was not asked` };
  const answered = probe.pods.filter((p): p is Extract<typeof p, { ok: true }> => p.ok);
  const unreachable = probe.pods.filter((p): p is Extract<typeof p, { ok: false }> => !p.ok).map((p) => `${p.pod}: ${p.error}`);
  if (answered.length === 0) {
    const why = probe.error ?? (unreachable.length > 0 ? `no waypoint pod answered GET /debug/endpoints (${unreachable.join('; ')})` : 'no waypoint pod found');
    return { state: 'unknown', reason: why };
  }
  const waypointPods = answered
    .map((p) => ({ pod: p.pod, targets: p.doc.targets.filter((t) => t.service === service.key) }))
    .filter((p) => p.targets.length > 0);
  if (waypointPods.length === 0) {
    return { state: 'unknown', reason: `the waypoint's pods (${answered.map((p) => p.pod).join(', ')}) do not list ${service.key}: their config does not name it (yet)` };
  }
  const worst = new Map<string, EndpointStateEntry['health']>();
  let panic = false;
  let leftOut = false;
  for (const p of waypointPods) {
    for (const t of p.targets) {
      panic ||= t.panic;
      leftOut ||= (t.endpointsLeftOut ?? 0) > 0;
      for (const e of t.endpoints) {
        const k = hostOf(e.address);
        const had = worst.get(k);
        if (had === undefined || RANK[e.health] > RANK[had]) worst.set(k, e.health);
      }
    }
  }
  if (leftOut) unreachable.push('some endpoints were left out of the waypoint\'s document (its ENDPOINT_STATE_LIMITS): counted from what it listed');
  let ejected = 0;
  let warming = 0;
  for (const h of worst.values()) {
    if (h === 'ejected') ejected++;
    else if (h === 'warming') warming++;
  }
  return { state: 'known', total: worst.size, healthy: worst.size - ejected, ejected, warming, panic, pods: answered.length, podsAsked: probe.pods.length, unreachable, waypointPods };
}

/** The HEALTH column: `3/3 healthy`, `2/3 (1 ejected)`, `3/3 (1 warming)`, `unknown`, `-` (no waypoint). */
export function healthText(h: ServiceHealth | undefined): string {
  if (!h || h.state === 'none') return '-';
  if (h.state === 'unknown') return 'unknown';
  const notes: string[] = [];
  if (h.ejected > 0) notes.push(`${h.ejected} ejected`);
  if (h.warming > 0) notes.push(`${h.warming} warming`);
  if (h.panic) notes.push('panic');
  if (h.pods < h.podsAsked) notes.push(`${h.pods}/${h.podsAsked} waypoint pods answered`);
  return notes.length === 0 ? `${h.healthy}/${h.total} healthy` : `${h.healthy}/${h.total} (${notes.join(', ')})`;
}

/** The waypoints the Services name (their Service keys), each once. */
export function waypointsOf(dumps: AgentDump[]): string[] {
  const out = new Set<string>();
  for (const d of dumps) for (const s of d.services) if (s.waypoint) out.add(s.waypoint.service);
  return [...out].sort();
}

/** Every Service once; with `waypoints` (what their pods answered), each row's `health`. */
export function serviceRows(dumps: AgentDump[], waypoints?: readonly WaypointEndpointsProbe[]): ServiceRow[] {
  const byKey = new Map<string, MeshService>();
  for (const d of dumps) for (const s of d.services) if (!byKey.has(s.key)) byKey.set(s.key, s);
  const probes = waypoints && new Map(waypoints.map((p) => [p.waypoint, p]));
  const rows = [...byKey.values()].map((s): ServiceRow => {
    const wp = waypointName(s.waypoint);
    return {
      namespace: s.namespace,
      name: s.name,
      hostname: s.hostname,
      vips: [...s.vips],
      ports: s.ports.map(portText),
      endpoints: { healthy: s.endpoints.filter((e) => e.healthy).length, total: s.endpoints.length },
      ...(wp !== undefined && { waypoint: wp }),
      ...(probes && { health: serviceHealth(s, s.waypoint && probes.get(s.waypoint.service)) }),
    };
  });
  return rows.sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name) || cmp(a.hostname, b.hostname));
}

export const SERVICE_COLUMNS: Column<ServiceRow>[] = [
  { header: 'namespace', value: (r) => r.namespace },
  { header: 'name', value: (r) => r.name },
  { header: 'hostname', value: (r) => r.hostname },
  { header: 'vips', value: (r) => r.vips.join(',') || 'None' },
  { header: 'ports', value: (r) => r.ports.join(',') || '-' },
  { header: 'endpoints', value: (r) => `${r.endpoints.healthy}/${r.endpoints.total}` },
  { header: 'waypoint', value: (r) => orDash(r.waypoint) },
  { header: 'health', value: (r) => healthText(r.health) },
];

/** One sentence per Service whose health is unknown (for stderr under the table). */
export function healthWarnings(rows: readonly ServiceRow[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    const h = r.health;
    if (h?.state === 'unknown') out.push(`${r.namespace}/${r.name}: health unknown: ${h.reason}`);
    else if (h?.state === 'known') for (const u of h.unreachable) out.push(`${r.namespace}/${r.name}: ${u}`);
  }
  return out;
}

/** One endpoint of a Service port as one waypoint pod sees it (`services --endpoints`, `-o wide`). */
export interface EndpointRow {
  namespace: string;
  service: string;
  port: number;
  /** `ip:port`; `-` on a row that stands for a waypoint that did not answer. */
  address: string;
  workload?: string;
  node?: string;
  locality?: EndpointStateEntry['locality'];
  health: EndpointStateEntry['health'] | 'unknown';
  ejection?: EndpointStateEntry['ejection'];
  warming?: EndpointStateEntry['warming'];
  inRotation?: boolean;
  activeRequests?: number;
  algorithm?: string;
  trafficPolicy?: string | null;
  panic?: boolean;
  waypointPod?: string;
  /** Why the health is unknown. */
  reason?: string;
}

/** `450ms`, `12s`, `1m30s`, `2h5m`. */
export function shortDuration(ms: number): string {
  if (!(ms >= 0)) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  const m = Math.floor((s % 3600) / 60);
  return `${Math.floor(s / 3600)}h${m ? `${m}m` : ''}`;
}

/** An endpoint's HEALTH cell: `healthy`, `ejected (2x, 12s left)`, `warming (33%, 20s left)`, `unknown`. */
export function endpointHealthText(r: Pick<EndpointRow, 'health' | 'ejection' | 'warming'>): string {
  if (r.health === 'ejected' && r.ejection) return `ejected (${r.ejection.count}x, ${shortDuration(r.ejection.remainingMs)} left)`;
  if (r.health === 'warming' && r.warming) return `warming (${r.warming.sharePercent}%, ${shortDuration(r.warming.remainingMs)} left)`;
  return r.health;
}

/** One row per endpoint per waypoint pod, for the Services with a waypoint. */
export function endpointRows(rows: readonly ServiceRow[]): EndpointRow[] {
  const out: EndpointRow[] = [];
  for (const r of rows) {
    const h = r.health;
    if (!h || h.state === 'none') continue;
    if (h.state === 'unknown') {
      out.push({ namespace: r.namespace, service: r.name, port: 0, address: '-', health: 'unknown', reason: h.reason });
      continue;
    }
    for (const p of h.waypointPods) {
      for (const t of p.targets) {
        for (const e of t.endpoints) {
          out.push({
            namespace: r.namespace,
            service: r.name,
            port: t.port,
            address: e.address,
            ...(e.workload !== undefined && { workload: e.workload }),
            ...(e.node !== undefined && { node: e.node }),
            locality: e.locality,
            health: e.health,
            ...(e.ejection && { ejection: e.ejection }),
            ...(e.warming && { warming: e.warming }),
            inRotation: e.inRotation,
            activeRequests: e.activeRequests,
            algorithm: t.algorithm,
            trafficPolicy: t.trafficPolicy,
            panic: t.panic,
            waypointPod: p.pod,
          });
        }
      }
    }
  }
  return out;
}

export const ENDPOINT_COLUMNS: Column<EndpointRow>[] = [
  { header: 'namespace', value: (r) => r.namespace },
  { header: 'service', value: (r) => r.service },
  { header: 'port', value: (r) => (r.port > 0 ? String(r.port) : '-') },
  { header: 'endpoint', value: (r) => r.address },
  { header: 'workload', value: (r) => orDash(r.workload) },
  { header: 'node', value: (r) => orDash(r.node) },
  { header: 'locality', value: (r) => orDash(r.locality) },
  { header: 'health', value: (r) => endpointHealthText(r) + (r.panic ? ' [panic]' : '') },
  { header: 'active', value: (r) => orDash(r.activeRequests) },
  { header: 'in rotation', value: (r) => yesNo(r.inRotation) },
  { header: 'lb', value: (r) => orDash(r.algorithm) },
  { header: 'policy', value: (r) => (r.trafficPolicy === undefined ? '-' : r.trafficPolicy ?? 'none') },
  { header: 'waypoint pod', value: (r) => orDash(r.waypointPod) },
];

// ---------------------------------------------------------------- certificates

export interface CertificateRow {
  node: string;
  identity: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  /** Seconds until notAfter (negative once expired). */
  secondsLeft: number;
}

export function certificateRows(dumps: AgentDump[], now: Date = new Date()): CertificateRow[] {
  const rows: CertificateRow[] = [];
  for (const d of dumps) {
    for (const c of d.certificates) {
      rows.push({
        node: d.node,
        identity: c.identity,
        serial: c.serial,
        notBefore: c.notBefore,
        notAfter: c.notAfter,
        secondsLeft: Math.floor((Date.parse(c.notAfter) - now.getTime()) / 1000),
      });
    }
  }
  return rows.sort((a, b) => cmp(a.node, b.node) || cmp(a.identity, b.identity) || cmp(a.serial, b.serial));
}

/** `45s`, `12m`, `3h20m`, `2d4h`; `expired` at or below zero. */
export function timeLeft(seconds: number): string {
  if (seconds <= 0) return 'expired';
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) {
    const m = Math.floor((seconds % 3600) / 60);
    return `${Math.floor(seconds / 3600)}h${m ? `${m}m` : ''}`;
  }
  const h = Math.floor((seconds % 86400) / 3600);
  return `${Math.floor(seconds / 86400)}d${h ? `${h}h` : ''}`;
}

export const CERTIFICATE_COLUMNS: Column<CertificateRow>[] = [
  { header: 'node', value: (r) => r.node },
  { header: 'identity', value: (r) => r.identity },
  { header: 'serial', value: (r) => r.serial },
  { header: 'not after', value: (r) => r.notAfter },
  { header: 'time left', value: (r) => timeLeft(r.secondsLeft) },
];

// ---------------------------------------------------------------- listings

/** The dumps of the agents that answered, and one sentence for each that did not. */
export function splitProbes(agents: AgentProbe[]): { dumps: AgentDump[]; unreachable: string[] } {
  const dumps: AgentDump[] = [];
  const unreachable: string[] = [];
  for (const a of agents) {
    if (a.ok) dumps.push(a.dump);
    else unreachable.push(`node ${a.node}: agent unreachable: ${a.error}`);
  }
  return { dumps, unreachable };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
