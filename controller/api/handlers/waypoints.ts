// GET /waypoints: the Gateways of class ambient-waypoint the controller watches, their
// status (written by the waypoint deployer), the Services bound to each, and how many of its
// pods hold a config stream to this replica; in the API's shape (console/api-types.d.ts: Waypoint).
import type { Condition, List, Waypoint } from '../../../console/api-types.js';
import type { Gateway } from '../../translate/input.js';
import type { ApiContext } from '../context.js';
import type { ApiAnswer, ApiRequest } from '../types.js';
import { meshWide } from '../mesh-wide.js';
import { partialFields } from '../replica-parts.js';
import { inNamespace, namespaceQuery, serviceNameOfKey, servicesOf } from './common.js';

export const WAYPOINT_CLASS = 'ambient-waypoint';
export const WAYPOINT_HBONE_PORT = 15008;

/** The identities of the waypoint pods holding a config stream to this replica. */
export const waypointStreams = (ctx: ApiContext): string[] => ctx.debugStatus().clients.filter((c) => c.role === 'waypoint').map((c) => c.identity);

/** Every replica's waypoint streams (each waypoint pod holds one, to one replica). */
export const meshWaypointStreams = (ctx: ApiContext) => meshWide(ctx, 'waypointStreams', waypointStreams(ctx), new URLSearchParams());

/** `streams`: the identities of the waypoint pods' config streams (default: this replica's). */
export function waypointsOf(ctx: ApiContext, streams: readonly string[] = waypointStreams(ctx)): Waypoint[] {
  const gateways = (ctx.state().gateways ?? []) as readonly Gateway[];
  const services = servicesOf(ctx);
  return gateways
    .filter((g) => (g.spec as { gatewayClassName?: string } | undefined)?.gatewayClassName === WAYPOINT_CLASS)
    .map((g): Waypoint => {
      const namespace = g.metadata?.namespace ?? '';
      const name = g.metadata?.name ?? '';
      const boundTo = (ref: { service: string } | undefined) => ref !== undefined && serviceNameOfKey(ref.service).namespace === namespace && serviceNameOfKey(ref.service).name === name;
      const own = services.find((s) => s.namespace === namespace && s.name === name);
      const conditions = ((g as { status?: { conditions?: unknown[] } }).status?.conditions ?? []) as Condition[];
      const replicas = streams.filter((identity) => identity.includes(`/ns/${namespace}/`)).length;
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

export async function listWaypoints(req: ApiRequest, ctx: ApiContext): Promise<ApiAnswer> {
  const ns = namespaceQuery(req.query);
  const streams = await meshWaypointStreams(ctx);
  const body: List<Waypoint> = { items: inNamespace(waypointsOf(ctx, streams.value), ns), ...partialFields(streams) };
  return { body };
}
