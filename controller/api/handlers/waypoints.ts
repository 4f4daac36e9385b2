// GET /waypoints: the Gateways of class ambient-waypoint the controller watches, their
// status (written by the waypoint deployer), the Services bound to each, and how many of its
// pods hold a config stream to this replica; in the API's shape (console/api-types.d.ts: Waypoint).
import type { Condition, List, Waypoint } from '../../../console/api-types.js';
import type { Gateway } from '../../translate/input.js';
import type { ApiContext } from '../context.js';
import type { ApiAnswer, ApiRequest } from '../types.js';
import { inNamespace, namespaceQuery, serviceNameOfKey, servicesOf } from './common.js';

export const WAYPOINT_CLASS = 'ambient-waypoint';
export const WAYPOINT_HBONE_PORT = 15008;

export function waypointsOf(ctx: ApiContext): Waypoint[] {
  const gateways = (ctx.state().gateways ?? []) as readonly Gateway[];
  const services = servicesOf(ctx);
  const streams = ctx.debugStatus().clients.filter((c) => c.role === 'waypoint');
  return gateways
    .filter((g) => (g.spec as { gatewayClassName?: string } | undefined)?.gatewayClassName === WAYPOINT_CLASS)
    .map((g): Waypoint => {
      const namespace = g.metadata?.namespace ?? '';
      const name = g.metadata?.name ?? '';
      const boundTo = (ref: { service: string } | undefined) => ref !== undefined && serviceNameOfKey(ref.service).namespace === namespace && serviceNameOfKey(ref.service).name === name;
      const own = services.find((s) => s.namespace === namespace && s.name === name);
      const conditions = ((g as { status?: { conditions?: unknown[] } }).status?.conditions ?? []) as Condition[];
      const replicas = streams.filter((c) => c.identity.includes(`/ns/${namespace}/`)).length;
      return {
        namespace,
        name,
        address: own ? `${own.hostname}:${WAYPOINT_HBONE_PORT}` : null,
        ready: conditions.some((c) => c.type === 'Programmed' && c.status === 'True') || replicas > 0,
        replicas,
        conditions,
        services: services.filter((s) => boundTo(s.waypoint)).map((s) => `${s.namespace}/${s.name}`),
      };
    })
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

export function listWaypoints(req: ApiRequest, ctx: ApiContext): ApiAnswer {
  const body: List<Waypoint> = { items: inNamespace(waypointsOf(ctx), namespaceQuery(req.query)) };
  return { body };
}
