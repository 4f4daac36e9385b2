// GET /services and GET /services/{namespace}/{name}: the Services as compiled for the data
// plane; one Service with its endpoints and their health as each waypoint bound to it sees
// it (GET /debug/endpoints on the waypoint pod's IP, port 15020, bounded in time: when that
// fails the health is `unknown` with the reason), its routes and weights, and its Rollouts.
import type { V1EndpointSlice, V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import type { MeshService } from '../../../core/config/model.js';
import { serviceWaypoint, waypointPods } from '../../rollout-targets.js';
import { badRequest, notFound } from '../api-error.js';
import { askWaypoints, serviceHealth } from './service-health.js';
import type { ApiContext } from '../context.js';
import type { ApiAnswer, ApiRequest } from '../types.js';
import type { Endpoint, List, Rollout, Service as ApiService, ServiceDetail } from '../../../console/api-types.js';
import { inNamespace, namespaceQuery, nodeQuery, routesOf, servicesOf, waypointName, workloadsOf } from './common.js';
import { listRolloutObjects, rolloutView } from './rollouts.js';
import { routeView } from './routes.js';
import { graphWindow } from './telemetry.js';

export function serviceView(svc: MeshService): ApiService {
  return {
    namespace: svc.namespace,
    name: svc.name,
    vips: [...svc.vips],
    ports: svc.ports.map((p) => ({ name: p.name ?? null, port: p.port, targetPort: p.targetPort || null, protocol: p.protocol, appProtocol: p.appProtocol ?? null })),
    endpoints: svc.endpoints.length,
    waypoint: waypointName(svc.waypoint),
    hostname: svc.hostname,
    healthyEndpoints: svc.endpoints.filter((e) => e.healthy).length,
  };
}

/** `?health=`: absent, `false` or `true`. */
function healthQuery(query: URLSearchParams): boolean {
  const v = query.get('health');
  if (v === null || v === '' || v === 'false') return false;
  if (v === 'true') return true;
  throw badRequest(`query parameter health: ${JSON.stringify(v.slice(0, 100))} is not true or false`);
}

export async function listServices(req: ApiRequest, ctx: ApiContext): Promise<ApiAnswer> {
  const node = nodeQuery(req.query);
  const withHealth = healthQuery(req.query);
  const onNode = node === undefined ? undefined : new Set(workloadsOf(ctx).filter((w) => w.node === node).map((w) => w.uid));
  const services = inNamespace(servicesOf(ctx), namespaceQuery(req.query))
    .filter((s) => onNode === undefined || s.endpoints.some((e) => onNode.has(e.workloadUid)))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  const answers = withHealth ? await askWaypoints(ctx, services) : undefined;
  const items = services.map((s): ApiService => ({ ...serviceView(s), ...(answers && { health: serviceHealth(s, s.waypoint && answers.get(s.waypoint.service)) }) }));
  const body: List<ApiService> = { items };
  return { body };
}

interface WaypointAnswer {
  targets?: Array<{ service?: string; port?: number; endpoints?: Array<{ address?: string; health?: string } & Record<string, unknown>>; counts?: unknown; panic?: boolean }>;
}

async function endpointHealth(ctx: ApiContext, svc: MeshService) {
  const s = ctx.state();
  const view = { namespaces: s.namespaces as readonly V1Namespace[], pods: s.pods as readonly V1Pod[], services: s.services as readonly V1Service[], endpointSlices: s.endpointSlices as readonly V1EndpointSlice[] };
  const wp = serviceWaypoint(view, svc.namespace, svc.name);
  if (!wp) return { waypoint: null, reports: [] as unknown[], reason: 'no waypoint serves this Service: endpoint health is known to waypoints only' };
  const pods = waypointPods(view, wp, ctx.limits.maxEndpointsPods);
  if (pods.length === 0) return { waypoint: `${wp.namespace}/${wp.name}`, reports: [], reason: `waypoint ${wp.namespace}/${wp.name} has no running pod with an IP` };
  const reports = await Promise.all(
    pods.map(async (p) => {
      try {
        const doc = (await ctx.waypointEndpoints(p.ip)) as WaypointAnswer;
        const targets = (Array.isArray(doc?.targets) ? doc.targets : []).filter((t) => t.service === svc.key);
        return { pod: `${p.namespace}/${p.name}`, ok: true as const, targets };
      } catch (err) {
        return { pod: `${p.namespace}/${p.name}`, ok: false as const, reason: `GET http://${p.ip}:15020/debug/endpoints: ${(err as Error).message}` };
      }
    }),
  );
  return { waypoint: `${wp.namespace}/${wp.name}`, reports };
}

/** The waypoint's health word as the API's: ejected endpoints are unhealthy (and `ejected`). */
export function endpointHealthOf(reported: string | undefined): Endpoint['health'] {
  if (reported === 'healthy' || reported === 'warming') return 'healthy';
  if (reported === 'ejected' || reported === 'unhealthy') return 'unhealthy';
  return 'unknown';
}

export async function getService(req: ApiRequest, ctx: ApiContext): Promise<ApiAnswer> {
  const { namespace, name } = req.params as { namespace: string; name: string };
  const svc = servicesOf(ctx).find((s) => s.namespace === namespace && s.name === name);
  if (!svc) throw notFound(`Service ${namespace}/${name} is not in the mesh's config`);
  const workloads = new Map(workloadsOf(ctx).map((w) => [w.uid, w]));
  const health = await endpointHealth(ctx, svc);
  const reported = new Map<string, { health: string; detail: Record<string, unknown>; pod: string }>();
  for (const r of health.reports as Array<{ ok: boolean; pod: string; targets?: WaypointAnswer['targets'] }>) {
    if (!r.ok) continue;
    for (const t of r.targets ?? []) for (const e of t.endpoints ?? []) if (e.address) reported.set(e.address.replace(/:\d+$/, ''), { health: String(e.health ?? 'unknown'), detail: e, pod: r.pod });
  }
  const failures = (health.reports as Array<{ ok: boolean; reason?: string }>).filter((r) => !r.ok).map((r) => r.reason!);
  const unknownReason = 'reason' in health && health.reason ? health.reason : failures.length > 0 ? failures.join('; ') : 'the waypoint did not list this endpoint';
  const now = Date.now();
  const port = svc.ports[0];
  const endpoints: Endpoint[] = svc.endpoints.map((e) => {
    const w = workloads.get(e.workloadUid);
    const ip = w?.ips[0];
    const seen = ip !== undefined ? reported.get(ip.replace(/^\[|\]$/g, '')) : undefined;
    const ejected = seen?.health === 'ejected';
    const remainingMs = Number((seen?.detail['ejection'] as { remainingMs?: unknown } | undefined)?.remainingMs);
    return {
      workload: w ? `${w.namespace}/${w.name}` : e.workloadUid,
      ip: ip ?? '',
      port: port ? (port.targetPort || e.ports[String(port.port)] || port.port) : 0,
      node: w?.node ?? '',
      health: seen ? endpointHealthOf(seen.health) : 'unknown',
      ejected,
      ejectedUntil: ejected && Number.isFinite(remainingMs) ? new Date(now + remainingMs).toISOString() : null,
      ...(seen ? {} : { healthReason: unknownReason }),
    };
  });
  let rollouts: Rollout[] = [];
  let rolloutsError: string | undefined;
  try {
    rollouts = (await listRolloutObjects(ctx, namespace)).map(rolloutView).filter((r) => r.spec.service === name);
  } catch (err) {
    // The Service's other parts still answer; rolloutsError says why its rollouts are absent.
    rolloutsError = (err as Error).message;
  }
  const window = graphWindow(req.query);
  const graph = await ctx.telemetry.graph({ namespace, ...window });
  const routes = routesOf(ctx).filter((r) => r.parents.some((p) => p.service === svc.key)).map((r) => routeView(ctx, r, { parent: svc, edges: graph.edges, windowMs: window.windowMs }));
  const { endpoints: _count, healthyEndpoints: _healthy, ...rest } = serviceView(svc);
  const body: ServiceDetail = { ...rest, waypoint: health.waypoint ?? rest.waypoint, endpoints, routes, rollouts, ...(rolloutsError !== undefined && { rolloutsError }) };
  return { body };
}
