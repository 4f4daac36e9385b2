// What `ambientctl traffic show` prints, as pure functions: a Service's HTTPRoutes, each
// rule's backends with their configured weight and share, and the live share each backend
// got, counted from the waypoints' request metrics (istio_requests_total, reporter
// waypoint) the way the rollout driver counts a canary (controller/rollout-gates.ts): the
// requests to the Service whose destination_workload is one of the backend Service's
// workloads, as deltas over a window per waypoint pod.
import type { Sample } from '../core/observe/prom-text.js';
import { isServiceBackend, weightOf, type HTTPRouteObject } from '../core/kube/traffic-split.js';
import { canaryCounters, canaryWindow, type CanaryCounters } from '../controller/rollout-gates.js';
import { render, type Column, type OutputFormat } from './output.js';
import { stringify } from 'yaml';

export interface BackendRow {
  route: string;
  rule: number;
  matches: string;
  backend: string;
  port?: number;
  weight: number;
  /** The weight's share of the rule, percent (one decimal). */
  share: number;
}

export type Live =
  | { available: true; windowMs: number; pods: number; unreachable: string[]; requests: Record<string, number>; notes: string[] }
  | { available: false; reason: string };

export interface TrafficView {
  namespace: string;
  service: string;
  routes: string[];
  rows: BackendRow[];
  live: Live;
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A rule's matches, short: `PathPrefix /api GET`, several joined by `|`, `*` for none. */
export function matchesOf(rule: unknown): string {
  const ms = isObj(rule) && Array.isArray(rule['matches']) ? rule['matches'] : [];
  if (ms.length === 0) return '*';
  return ms
    .map((m: unknown) => {
      if (!isObj(m)) return '?';
      const parts: string[] = [];
      const p = m['path'];
      if (isObj(p)) parts.push(`${p['type'] ?? 'PathPrefix'} ${p['value'] ?? '/'}`);
      if (typeof m['method'] === 'string') parts.push(m['method']);
      if (Array.isArray(m['headers']) && m['headers'].length > 0) parts.push(`${m['headers'].length} header${m['headers'].length > 1 ? 's' : ''}`);
      if (Array.isArray(m['queryParams']) && m['queryParams'].length > 0) parts.push(`${m['queryParams'].length} query param${m['queryParams'].length > 1 ? 's' : ''}`);
      return parts.length ? parts.join(' ') : '*';
    })
    .join(' | ');
}

const pct = (n: number, total: number): number => (total > 0 ? Math.round((n / total) * 1000) / 10 : 0);

/** One row per backendRef of every rule of every route. */
export function backendRows(routes: readonly HTTPRouteObject[], namespace: string): BackendRow[] {
  const rows: BackendRow[] = [];
  for (const r of routes) {
    const rules = Array.isArray(r.spec?.rules) ? r.spec.rules : [];
    rules.forEach((rule, i) => {
      const refs = isObj(rule) && Array.isArray(rule.backendRefs) ? rule.backendRefs.filter(isObj) : [];
      const total = refs.reduce((a, b) => a + weightOf(b), 0);
      for (const b of refs) {
        const name = isServiceBackend(b, namespace) ? String(b.name) : `${b.kind ?? 'Service'}/${b.namespace ? `${b.namespace}/` : ''}${b.name}`;
        rows.push({ route: r.metadata?.name ?? '', rule: i, matches: matchesOf(rule), backend: name, ...(typeof b.port === 'number' ? { port: b.port } : {}), weight: weightOf(b), share: pct(weightOf(b), total) });
      }
    });
  }
  return rows;
}

/**
 * Requests per backend over the window: `before` and `now` are each waypoint pod's
 * samples (an empty `before` counts everything since the pods started); backends by the
 * workloads their Service's endpoints run as.
 */
export function liveRequests(
  service: string,
  namespace: string,
  workloads: ReadonlyMap<string, ReadonlySet<string>>,
  before: ReadonlyMap<string, readonly Sample[]>,
  now: ReadonlyMap<string, readonly Sample[]>,
): { requests: Record<string, number>; notes: string[] } {
  const requests: Record<string, number> = {};
  const notes: string[] = [];
  const owner = new Map<string, string>();
  for (const [backend, ws] of workloads) {
    if (ws.size === 0) notes.push(`backend ${backend} has no endpoints: nothing can be counted for it`);
    for (const w of ws) {
      const other = owner.get(w);
      if (other !== undefined) notes.push(`backends ${other} and ${backend} both run as workload ${w}: their requests cannot be told apart`);
      else owner.set(w, backend);
    }
  }
  for (const [backend, ws] of workloads) {
    const sel = { service, namespace, workloads: ws };
    const count = (m: ReadonlyMap<string, readonly Sample[]>) => new Map<string, CanaryCounters>([...m].map(([pod, samples]) => [pod, canaryCounters(samples, sel)]));
    requests[backend] = canaryWindow(0, count(before), count(now)).requests;
  }
  return { requests, notes };
}

export function trafficView(namespace: string, service: string, routes: readonly HTTPRouteObject[], live: Live): TrafficView {
  return { namespace, service, routes: routes.map((r) => r.metadata?.name ?? ''), rows: backendRows(routes, namespace), live };
}

function fmtWindow(ms: number): string {
  return ms === 0 ? 'since the waypoints started' : `over the last ${ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`}`;
}

/** The live share of a backend, as the table shows it. */
function liveCell(v: TrafficView, backend: string): string {
  if (!v.live.available) return '-';
  const total = Object.values(v.live.requests).reduce((a, b) => a + b, 0);
  const n = v.live.requests[backend];
  if (n === undefined) return '-';
  return total === 0 ? '0 req' : `${pct(n, total)}% (${n} req)`;
}

const COLUMNS: Column<{ v: TrafficView; r: BackendRow }>[] = [
  { header: 'route', value: ({ r }) => r.route },
  { header: 'rule', value: ({ r }) => String(r.rule) },
  { header: 'matches', value: ({ r }) => r.matches },
  { header: 'backend', value: ({ r }) => r.backend },
  { header: 'port', value: ({ r }) => (r.port === undefined ? '-' : String(r.port)) },
  { header: 'weight', value: ({ r }) => String(r.weight) },
  { header: 'share', value: ({ r }) => `${r.share}%` },
  { header: 'live', value: ({ v, r }) => liveCell(v, r.backend) },
];

/** The data `-o json|yaml` prints. */
export function trafficData(v: TrafficView): unknown {
  const live = v.live.available
    ? { available: true, window: fmtWindow(v.live.windowMs), waypointPods: v.live.pods, requests: v.live.requests, ...(v.live.unreachable.length ? { unreachable: v.live.unreachable } : {}), ...(v.live.notes.length ? { notes: v.live.notes } : {}) }
    : { available: false, reason: v.live.reason };
  return { namespace: v.namespace, service: v.service, routes: v.routes, backends: v.rows, live };
}

export function renderTraffic(v: TrafficView, format: OutputFormat): string {
  if (format === 'json') return `${JSON.stringify(trafficData(v), null, 2)}\n`;
  if (format === 'yaml') return stringify(trafficData(v));
  const lines: string[] = [];
  if (v.routes.length === 0) lines.push(`No HTTPRoute attaches to Service ${v.namespace}/${v.service}: its traffic goes to its own endpoints.`);
  else lines.push(render(v.rows.map((r) => ({ v, r })), COLUMNS, 'table').trimEnd());
  if (v.live.available) {
    const total = Object.values(v.live.requests).reduce((a, b) => a + b, 0);
    lines.push(`LIVE: requests to ${v.service} per backend ${fmtWindow(v.live.windowMs)}, from ${v.live.pods} waypoint pod${v.live.pods === 1 ? '' : 's'} (${total} requests)`);
    for (const u of v.live.unreachable) lines.push(`warning: waypoint pod ${u} did not answer; its requests are not counted`);
    for (const n of v.live.notes) lines.push(`note: ${n}`);
  } else lines.push(`LIVE: unavailable: ${v.live.reason}`);
  return `${lines.join('\n')}\n`;
}
