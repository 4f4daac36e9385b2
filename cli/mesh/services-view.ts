// `ambientctl services`: the API's GET /services?health=true answer as rows: VIPs, ports,
// endpoints, waypoint, and the HEALTH of the endpoints as the waypoint's pods see them
// (computed by the controller, controller/api/handlers/service-health.ts); one row per
// endpoint per waypoint pod for --endpoints and -o wide. Pure.
import type { List, Service, ServiceHealth, ServicePort, WaypointEndpointState } from '../../console/api-types.js';
import type { Column } from '../output.js';
import { cmp, orDash, shortDuration, yesNo } from './view-format.js';

export interface ServiceRow {
  namespace: string;
  name: string;
  hostname: string;
  vips: string[];
  ports: string[];
  endpoints: { healthy: number; total: number };
  waypoint?: string;
  /** Present when the controller was asked for it (`ambientctl services` asks). */
  health?: ServiceHealth;
}

/** `80/TCP`, or `80:8080/TCP` when the target port differs (`80:named/TCP` when resolved per endpoint). */
export function portText(p: Pick<ServicePort, 'port' | 'targetPort' | 'protocol'>): string {
  const target = p.targetPort === null || p.targetPort === 0 ? ':named' : p.targetPort !== p.port ? `:${p.targetPort}` : '';
  return `${p.port}${target}/${p.protocol}`;
}

export function serviceRows(answer: List<Service>): ServiceRow[] {
  return answer.items
    .map((s): ServiceRow => ({
      namespace: s.namespace,
      name: s.name,
      hostname: s.hostname ?? `${s.name}.${s.namespace}`,
      vips: [...s.vips],
      ports: s.ports.map(portText),
      endpoints: { healthy: s.healthyEndpoints ?? s.endpoints, total: s.endpoints },
      ...(s.waypoint !== null && { waypoint: s.waypoint }),
      ...(s.health && { health: s.health }),
    }))
    .sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name) || cmp(a.hostname, b.hostname));
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

/** One sentence per Service whose health is unknown or partly known (for stderr under the table). */
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
  locality?: string;
  health: WaypointEndpointState['health'] | 'unknown';
  ejection?: WaypointEndpointState['ejection'];
  warming?: WaypointEndpointState['warming'];
  inRotation?: boolean;
  activeRequests?: number;
  algorithm?: string;
  trafficPolicy?: string | null;
  panic?: boolean;
  waypointPod?: string;
  /** Why the health is unknown. */
  reason?: string;
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
