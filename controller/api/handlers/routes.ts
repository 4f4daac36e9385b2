// GET /routes: the HTTPRoutes and GRPCRoutes as compiled for the waypoints, each with the
// conditions the controller computed for its parents (Accepted, ResolvedRefs), in the API's
// shape (console/api-types.d.ts: ServiceRoute): rules with their matches as one line and
// each backend's weight and live share. Routes that compiled to nothing (no accepted parent)
// are listed too, without rules, their conditions saying why.
import type { Condition, GraphEdge, List, ServiceRoute } from '../../../console/api-types.js';
import type { MeshService, Workload } from '../../../core/config/model.js';
import type { Route, RouteMatch } from '../../../core/config/routes.js';
import type { RouteStatus } from '../../translate/routes.js';
import type { ApiContext } from '../context.js';
import type { ApiAnswer, ApiRequest } from '../types.js';
import { inNamespace, namespaceQuery, routesOf, serviceNameOfKey, servicesOf, workloadsOf } from './common.js';

/** A rule's matches as one line: `PathPrefix /api, header x-canary=1`; `` for every request. */
export function matchesLine(matches: readonly RouteMatch[]): string {
  const one = (m: RouteMatch): string =>
    [
      m.method ? `method ${m.method}` : '',
      m.path && !(m.path.type === 'PathPrefix' && m.path.value === '/') ? `${m.path.type} ${m.path.value}` : '',
      ...(m.headers ?? []).map((h) => `header ${h.name}${h.type === 'Exact' ? '=' : '~'}${h.value}`),
      ...(m.queryParams ?? []).map((q) => `query ${q.name}${q.type === 'Exact' ? '=' : '~'}${q.value}`),
      m.grpc ? `grpc ${m.grpc.service ?? '*'}/${m.grpc.method ?? '*'}` : '',
    ]
      .filter((s) => s !== '')
      .join(', ');
  const parts = matches.map(one);
  return parts.some((p) => p === '') ? '' : parts.join(' | ');
}

function routeKind(k: string): ServiceRoute['kind'] {
  return k === 'GRPCRoute' || k === 'TCPRoute' || k === 'TLSRoute' ? k : 'HTTPRoute';
}

/** The conditions of the route's status for `service` (its parent), else its first parent's. */
function conditionsFor(status: RouteStatus | undefined, service?: string): Condition[] {
  const parents = status?.parents ?? [];
  const p = parents.find((x) => service !== undefined && (x.parentRef as { name?: string }).name === service) ?? parents[0];
  return (p?.conditions ?? []) as unknown as Condition[];
}

/** What traffic each backend Service received through `parent` in the window: the requests
 * (or connections) on the graph's service -> workload edges to the backend's endpoints, and
 * their share of the rule's; share null without traffic. */
export interface LiveShare {
  share: number | null;
  requests: number;
}

/** Requests on an L7 edge (by status class), else connections (rate over the window). */
function edgeCount(e: GraphEdge, windowMs: number): number {
  if (e.requestsPerSecond !== null) return Object.values(e.statusClasses).reduce((n, x) => n + x, 0);
  return Math.round((e.connectionsPerSecond * windowMs) / 1000);
}

export function liveShares(route: Route, parent: MeshService | undefined, services: readonly MeshService[], workloads: readonly Workload[], edges: readonly GraphEdge[], windowMs: number): Map<string, LiveShare> {
  const out = new Map<string, LiveShare>();
  const byUid = new Map(workloads.map((w) => [w.uid, w]));
  const from = parent ? `service:${parent.namespace}/${parent.name}` : undefined;
  for (const rule of route.rules) {
    const per = rule.backends.map((b) => {
      const svc = services.find((s) => s.key === b.service);
      const targets = new Set((svc?.endpoints ?? []).flatMap((e) => {
        const w = byUid.get(e.workloadUid);
        return w ? [`workload:${w.namespace}/${w.canonicalName}`, `workload:${w.namespace}/${w.name}`] : [];
      }));
      return edges.filter((e) => e.source === from && targets.has(e.target)).reduce((n, e) => n + edgeCount(e, windowMs), 0);
    });
    const total = per.reduce((n, x) => n + x, 0);
    rule.backends.forEach((b, i) => {
      if (b.service !== undefined && !out.has(b.service)) out.set(b.service, { share: total > 0 ? Math.round((per[i]! / total) * 1000) / 1000 : null, requests: per[i]! });
    });
  }
  return out;
}

export function routeView(ctx: ApiContext, route: Route, o: { parent?: MeshService; edges?: readonly GraphEdge[]; windowMs?: number } = {}): ServiceRoute {
  const status = ctx.debugConfig().routeStatuses.find((s) => s.routeKind === route.routeKind && s.namespace === route.namespace && s.name === route.name);
  const shares = o.edges ? liveShares(route, o.parent, servicesOf(ctx), workloadsOf(ctx), o.edges, o.windowMs ?? 0) : new Map<string, LiveShare>();
  return {
    namespace: route.namespace,
    name: route.name,
    kind: routeKind(route.routeKind),
    rules: route.rules.map((r) => ({
      matches: matchesLine(r.matches),
      backends: r.backends.map((b) => {
        const ref = b.service ? serviceNameOfKey(b.service) : { namespace: route.namespace, name: b.unresolved ?? 'unresolved' };
        return { name: ref.name, namespace: ref.namespace, port: b.port || null, weight: b.weight, liveShare: b.service ? (shares.get(b.service)?.share ?? null) : null, liveRequests: b.service ? (shares.get(b.service)?.requests ?? null) : null };
      }),
    })),
    conditions: conditionsFor(status, o.parent?.name),
  };
}

export function listRoutes(req: ApiRequest, ctx: ApiContext): ApiAnswer {
  const ns = namespaceQuery(req.query);
  const statuses = ctx.debugConfig().routeStatuses;
  const items = inNamespace(routesOf(ctx), ns).map((route) => routeView(ctx, route));
  const compiled = new Set(items.map((i) => `${i.kind}/${i.namespace}/${i.name}`));
  const notCompiled: ServiceRoute[] = inNamespace(statuses, ns)
    .filter((s) => !compiled.has(`${s.routeKind}/${s.namespace}/${s.name}`))
    .map((s) => ({ namespace: s.namespace, name: s.name, kind: routeKind(s.routeKind), rules: [], conditions: conditionsFor(s) }));
  const body: List<ServiceRoute> = { items: [...items, ...notCompiled].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name)) };
  return { body };
}
