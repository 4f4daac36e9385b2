// GET /waypoints: the Gateways of class ambient-waypoint the controller watches, their
// status (written by the waypoint deployer), the Services and workloads bound to each, and
// whether its pods hold a config stream.
import type { Gateway } from '../../translate/input.js';
import type { ApiContext } from '../context.js';
import type { ApiAnswer } from '../types.js';
import { serviceNameOfKey, servicesOf, workloadsOf } from './common.js';

export const WAYPOINT_CLASS = 'ambient-waypoint';

export function listWaypoints(_req: unknown, ctx: ApiContext): ApiAnswer {
  const gateways = (ctx.state().gateways ?? []) as readonly Gateway[];
  const services = servicesOf(ctx);
  const workloads = workloadsOf(ctx);
  const streams = ctx.debugStatus().clients.filter((c) => c.role === 'waypoint');
  const items = gateways
    .filter((g) => (g.spec as { gatewayClassName?: string } | undefined)?.gatewayClassName === WAYPOINT_CLASS)
    .map((g) => {
      const namespace = g.metadata?.namespace ?? '';
      const name = g.metadata?.name ?? '';
      const boundTo = (ref: { service: string } | undefined) => ref !== undefined && serviceNameOfKey(ref.service).namespace === namespace && serviceNameOfKey(ref.service).name === name;
      return {
        namespace,
        name,
        conditions: ((g as { status?: { conditions?: unknown[] } }).status?.conditions ?? []) as unknown[],
        services: services.filter((s) => boundTo(s.waypoint)).map((s) => `${s.namespace}/${s.name}`),
        workloads: workloads.filter((w) => boundTo(w.waypoint)).map((w) => `${w.namespace}/${w.name}`),
        streams: streams.filter((c) => c.identity.includes(`/ns/${namespace}/`)).map((c) => ({ node: c.node, identity: c.identity, ackedVersion: c.lastAckedVersion ?? null })),
      };
    })
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  return { body: { items } };
}
