// GET /services?health=true: each Service's endpoints as its waypoint's pods see them (GET
// /debug/endpoints on each pod's 15020, bounded in time and size by ctx.waypointEndpoints).
// Every waypoint is asked once for all its Services, at most limits.maxHealthWaypoints of
// them and limits.maxEndpointsPods pods each, in parallel; a pod that does not answer makes
// its Services' health `unknown` (none answered) or is named in `unreachable`.
// serviceHealth is pure: the decision, from what the pods answered.
import type { V1Pod } from '@kubernetes/client-node';
import type { ServiceHealth, WaypointEndpointState, WaypointTargetState } from '../../../console/api-types.js';
import type { MeshService } from '../../../core/config/model.js';
import { waypointPods, type ClusterView } from '../../rollout-targets.js';
import type { ApiContext } from '../context.js';
import { serviceNameOfKey } from './common.js';

/** What one waypoint pod answered. */
export type WaypointPodAnswer = { pod: string; ok: true; targets: WaypointTargetState[] } | { pod: string; ok: false; error: string };

/** What asking one waypoint's pods gave; `error`: why none could be asked. */
export interface WaypointAnswers {
  /** The waypoint's Service key (`<namespace>/<hostname>`), as a Service's `waypoint` names it. */
  waypoint: string;
  pods: WaypointPodAnswer[];
  error?: string;
}

/** The ejected-warming-healthy order an endpoint's states merge by. */
const RANK: Record<WaypointEndpointState['health'], number> = { healthy: 0, warming: 1, ejected: 2 };

/** The address without its port: one endpoint (pod) across the Service's ports. */
function hostOf(address: string): string {
  const i = address.lastIndexOf(':');
  return i > 0 ? address.slice(0, i) : address;
}

/** A Service's health from its waypoint's answers (`answers` undefined: the waypoint was not asked). */
export function serviceHealth(service: Pick<MeshService, 'key' | 'waypoint'>, answers: WaypointAnswers | undefined): ServiceHealth {
  if (!service.waypoint) return { state: 'none' };
  if (!answers) return { state: 'unknown', reason: `waypoint ${service.waypoint.service} was not asked` };
  const answered = answers.pods.filter((p): p is Extract<WaypointPodAnswer, { ok: true }> => p.ok);
  const unreachable = answers.pods.filter((p): p is Extract<WaypointPodAnswer, { ok: false }> => !p.ok).map((p) => `${p.pod}: ${p.error}`);
  if (answered.length === 0) {
    const why = answers.error ?? (unreachable.length > 0 ? `no waypoint pod answered GET /debug/endpoints (${unreachable.join('; ')})` : 'no waypoint pod found');
    return { state: 'unknown', reason: why };
  }
  const waypointPods = answered.map((p) => ({ pod: p.pod, targets: p.targets.filter((t) => t.service === service.key) })).filter((p) => p.targets.length > 0);
  if (waypointPods.length === 0) {
    return { state: 'unknown', reason: `the waypoint's pods (${answered.map((p) => p.pod).join(', ')}) do not list ${service.key}: their config does not name it (yet)` };
  }
  const worst = new Map<string, WaypointEndpointState['health']>();
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
  if (leftOut) unreachable.push("some endpoints were left out of the waypoint's document (its ENDPOINT_STATE_LIMITS): counted from what it listed");
  let ejected = 0;
  let warming = 0;
  for (const h of worst.values()) {
    if (h === 'ejected') ejected++;
    else if (h === 'warming') warming++;
  }
  return { state: 'known', total: worst.size, healthy: worst.size - ejected, ejected, warming, panic, pods: answered.length, podsAsked: answers.pods.length, unreachable, waypointPods };
}

/** The targets of a /debug/endpoints answer, or an Error saying what is wrong with it. */
function targetsOf(doc: unknown): WaypointTargetState[] {
  const targets = (doc as { targets?: unknown } | null)?.targets;
  if (!Array.isArray(targets)) throw new Error('/debug/endpoints answered a document without targets');
  return targets.filter((t): t is WaypointTargetState => typeof t === 'object' && t !== null && Array.isArray((t as { endpoints?: unknown }).endpoints));
}

/** Asks the waypoints of `services` (each once) for their endpoints; never throws. */
export async function askWaypoints(ctx: ApiContext, services: readonly Pick<MeshService, 'waypoint'>[]): Promise<Map<string, WaypointAnswers>> {
  const keys = [...new Set(services.flatMap((s) => (s.waypoint ? [s.waypoint.service] : [])))].sort();
  const s = ctx.state();
  // Only the pods matter to waypointPods: the waypoint is the compiled Service's.
  const view: ClusterView = { namespaces: [], services: [], endpointSlices: [], pods: s.pods as readonly V1Pod[] };
  const out = new Map<string, WaypointAnswers>();
  await Promise.all(
    keys.map(async (waypoint, i): Promise<void> => {
      const gw = serviceNameOfKey(waypoint);
      if (i >= ctx.limits.maxHealthWaypoints) {
        out.set(waypoint, { waypoint, pods: [], error: `not asked: more than ${ctx.limits.maxHealthWaypoints} waypoints (limit maxHealthWaypoints); GET /services/${gw.namespace}/<name> asks one` });
        return;
      }
      const pods = waypointPods(view, gw, ctx.limits.maxEndpointsPods);
      if (pods.length === 0) {
        out.set(waypoint, { waypoint, pods: [], error: `waypoint ${gw.namespace}/${gw.name} has no running pod with an IP` });
        return;
      }
      const answers = await Promise.all(
        pods.map(async (p): Promise<WaypointPodAnswer> => {
          const pod = `${p.namespace}/${p.name}`;
          try {
            return { pod, ok: true, targets: targetsOf(await ctx.waypointEndpoints(p.ip)) };
          } catch (err) {
            return { pod, ok: false, error: `GET http://${p.ip}:15020/debug/endpoints: ${(err as Error).message}` };
          }
        }),
      );
      out.set(waypoint, { waypoint, pods: answers });
    }),
  );
  return out;
}
