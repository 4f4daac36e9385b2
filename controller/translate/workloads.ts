// Pod -> Workload: the derivation is core/config/workload-of-pod.ts's (the node agent uses
// it too, for pods announced before the config speaks of them); here the controller adds
// what only it knows (waypoints) and reports into the translation's Problems.
import type { V1Pod } from '@kubernetes/client-node';
import type { MtlsMode, Workload } from '../../core/config/model.js';
import { PodNotWorkload, workloadOfPod } from '../../core/config/workload-of-pod.js';
import { Rejected, type Labels } from './objects.js';
import { bindWaypoint, isWaypointMember, type WaypointIndex } from './waypoints.js';

export { canonicalName, canonicalRevision, isPodLive, workloadName } from '../../core/config/workload-of-pod.js';

export interface PodContext {
  trustDomain: string;
  namespaceLabels(namespace: string): Labels;
  waypoints: WaypointIndex;
  mtlsMode(namespace: string, labels: Labels): MtlsMode;
  /** Port-level modes that differ from mtlsMode (PeerAuthentication portLevelMtls). */
  mtlsPorts?(namespace: string, labels: Labels): Record<string, MtlsMode> | undefined;
  /** A remark about the pod that does not stop its translation. */
  remark(message: string): void;
}

/** Translates a live pod (see isPodLive); throws Rejected naming what is wrong with it. */
export function translatePod(pod: V1Pod, ctx: PodContext): Workload {
  try {
    return workloadOfPod(pod, {
      trustDomain: ctx.trustDomain,
      namespaceLabels: (ns) => ctx.namespaceLabels(ns),
      isWaypoint: (ns, labels) => isWaypointMember(ctx.waypoints, ns, labels),
      waypoint: (ns, labels, nsLabels) => {
        const binding = bindWaypoint(ctx.waypoints, 'workload', ns, labels, nsLabels);
        if (binding.problem) ctx.remark(binding.problem);
        return binding.ref;
      },
      mtlsMode: (ns, labels) => ctx.mtlsMode(ns, labels),
      mtlsPorts: (ns, labels) => ctx.mtlsPorts?.(ns, labels),
      remark: (m) => ctx.remark(m),
    });
  } catch (err) {
    if (err instanceof PodNotWorkload) throw new Rejected(err.message);
    throw err;
  }
}
