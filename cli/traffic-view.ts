// What `ambientctl traffic show|split` print, as pure functions over the controller API's
// answers: a Service's routes as compiled for its waypoints (GET /services/{ns}/{name}:
// ServiceRoute), each rule's backends with their configured weight and share, and the live
// share each backend got in the controller's telemetry window (the requests its waypoint
// reported on the Service -> backend workload edges); the HTTPRoute a split wrote (PUT
// .../split) with its backends' weights as the API server holds them.
import type { HttpRouteObject, ServiceRoute } from '../console/api-types.js';
import { isServiceBackend, weightOf, type HTTPRouteObject } from '../core/kube/traffic-split.js';
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

export type Live = { available: true; window: string; requests: Record<string, number> } | { available: false; reason: string };

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

/** One row per backend of every rule of every route (the API's compiled routes). */
export function backendRows(routes: readonly ServiceRoute[], namespace: string): BackendRow[] {
  const rows: BackendRow[] = [];
  for (const r of routes) {
    r.rules.forEach((rule, i) => {
      const total = rule.backends.reduce((a, b) => a + b.weight, 0);
      for (const b of rule.backends) {
        rows.push({
          route: r.name,
          rule: i,
          // The API writes "every request" as an empty line; the table as `*`.
          matches: rule.matches || '*',
          backend: b.namespace === namespace ? b.name : `${b.namespace}/${b.name}`,
          ...(b.port !== null ? { port: b.port } : {}),
          weight: b.weight,
          share: pct(b.weight, total),
        });
      }
    });
  }
  return rows;
}

/** The live requests per backend from the routes' backends, or why there are none. */
export function liveOf(routes: readonly ServiceRoute[], namespace: string, service: string, window: string): Live {
  const requests: Record<string, number> = {};
  let measured = false;
  for (const r of routes) {
    for (const rule of r.rules) {
      for (const b of rule.backends) {
        const name = b.namespace === namespace ? b.name : `${b.namespace}/${b.name}`;
        if (b.liveRequests === undefined || b.liveRequests === null) continue;
        measured = true;
        if (!(name in requests)) requests[name] = b.liveRequests;
      }
    }
  }
  if (routes.length === 0) return { available: false, reason: 'no route: nothing to split' };
  if (!measured || Object.values(requests).every((n) => n === 0)) {
    return { available: false, reason: `no requests to ${namespace}/${service} reached its backends in the last ${window} of the controller's telemetry window (its waypoint reports them; see ambientctl services)` };
  }
  return { available: true, window, requests };
}

export function trafficView(namespace: string, service: string, routes: readonly ServiceRoute[], window: string): TrafficView {
  return { namespace, service, routes: routes.map((r) => r.name), rows: backendRows(routes, namespace), live: liveOf(routes, namespace, service, window) };
}

/** The live share of a backend, as the table shows it. */
function liveCell(v: TrafficView, backend: string): string {
  if (!v.live.available) return '-';
  const total = Object.values(v.live.requests).reduce((a, b) => a + b, 0);
  const n = v.live.requests[backend];
  if (n === undefined) return '-';
  return total === 0 ? '0 req' : `${pct(n, total)}% (${n} req)`;
}

const ROW_COLUMNS: Column<BackendRow>[] = [
  { header: 'route', value: (r) => r.route },
  { header: 'rule', value: (r) => String(r.rule) },
  { header: 'matches', value: (r) => r.matches },
  { header: 'backend', value: (r) => r.backend },
  { header: 'port', value: (r) => (r.port === undefined ? '-' : String(r.port)) },
  { header: 'weight', value: (r) => String(r.weight) },
  { header: 'share', value: (r) => `${r.share}%` },
];

const COLUMNS: Column<{ v: TrafficView; r: BackendRow }>[] = [
  ...ROW_COLUMNS.map((c) => ({ header: c.header, value: ({ r }: { r: BackendRow }) => c.value(r) })),
  { header: 'live', value: ({ v, r }) => liveCell(v, r.backend) },
];

/** The data `-o json|yaml` prints. */
export function trafficData(v: TrafficView): unknown {
  const live = v.live.available ? { available: true, window: v.live.window, requests: v.live.requests } : { available: false, reason: v.live.reason };
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
    lines.push(`LIVE: requests to ${v.service} per backend over the last ${v.live.window}, from the controller's telemetry window (${total} requests)`);
  } else if (v.routes.length > 0) lines.push(`LIVE: unavailable: ${v.live.reason}`);
  return `${lines.join('\n')}\n`;
}

/** A written HTTPRoute's backends (rule by rule) as the API server holds them. */
export function writtenRows(route: HttpRouteObject, namespace: string): BackendRow[] {
  const r = route as unknown as HTTPRouteObject;
  const rules = Array.isArray(r.spec?.rules) ? r.spec.rules : [];
  const rows: BackendRow[] = [];
  rules.forEach((rule, i) => {
    const refs = isObj(rule) && Array.isArray(rule.backendRefs) ? rule.backendRefs.filter(isObj) : [];
    const total = refs.reduce((a, b) => a + weightOf(b), 0);
    for (const b of refs) {
      const name = isServiceBackend(b, namespace) ? String(b.name) : `${String(b['kind'] ?? 'Service')}/${b['namespace'] ? `${String(b['namespace'])}/` : ''}${String(b['name'])}`;
      const matches = matchesOf(rule);
      rows.push({ route: route.metadata.name, rule: i, matches, backend: name, ...(typeof b.port === 'number' ? { port: b.port } : {}), weight: weightOf(b), share: pct(weightOf(b), total) });
    }
  });
  return rows;
}

export type SplitOutcome = 'created' | 'configured' | 'unchanged';

/** `traffic split`'s answer: the kubectl-style line, then the route's weights after the write. */
export function renderSplit(outcome: SplitOutcome, route: HttpRouteObject, namespace: string, summary: string, format: OutputFormat): string {
  if (format === 'json') return `${JSON.stringify(route, null, 2)}\n`;
  if (format === 'yaml') return stringify(route);
  const line = `httproute.gateway.networking.k8s.io/${route.metadata.name} ${outcome} (${summary})`;
  const rows = writtenRows(route, namespace);
  return `${line}\n${rows.length > 0 ? render(rows, ROW_COLUMNS, 'table') : ''}`;
}
