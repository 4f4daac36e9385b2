// GET /routes: the HTTPRoutes and GRPCRoutes as compiled for the waypoints, each with the
// status.parents the controller computed (Accepted, ResolvedRefs per parent).
import type { ApiContext } from '../context.js';
import type { ApiAnswer, ApiRequest } from '../types.js';
import { inNamespace, namespaceQuery, routesOf } from './common.js';

export function listRoutes(req: ApiRequest, ctx: ApiContext): ApiAnswer {
  const ns = namespaceQuery(req.query);
  const statuses = ctx.debugConfig().routeStatuses;
  const items = inNamespace(routesOf(ctx), ns).map((route) => ({
    route,
    status: statuses.find((s) => s.routeKind === route.routeKind && s.namespace === route.namespace && s.name === route.name)?.parents ?? [],
  }));
  // Routes that compiled to nothing (no accepted parent) still have a status saying why.
  const compiled = new Set(items.map((i) => `${i.route.routeKind}/${i.route.namespace}/${i.route.name}`));
  const notCompiled = inNamespace(statuses, ns)
    .filter((s) => !compiled.has(`${s.routeKind}/${s.namespace}/${s.name}`))
    .map((s) => ({ kind: s.routeKind, namespace: s.namespace, name: s.name, status: s.parents }));
  return { body: { items, notCompiled } };
}
