// What this waypoint serves, as pure functions of its snapshot (DESIGN.md section 2: "the
// waypoint terminates HBONE, applies L7, and opens HBONE to the chosen endpoint").
//
// A tunnel's CONNECT target is the client's original destination: a Service VIP:port when
// a Service bound to this waypoint was called, or a pod IP:port when a workload bound to
// it was called directly. A waypoint serves only what is bound to it (the Service's or the
// Workload's `waypoint` names this waypoint's own Service): anything else is refused, so a
// mesh client cannot use a waypoint as an open relay to destinations whose policies it
// does not enforce (fail closed).
//
// The backends of a Service port are its endpoints with the port resolved on each (a named
// targetPort the pod does not declare leaves that endpoint out, as Kubernetes does), and
// for each whether it takes HBONE (enrolled in the mesh) or plain TCP, and the identity it
// must present.
import { endpointTargetPort, type MeshService, type ServicePort, type Workload } from '../../core/config/model.js';
import { findTcpPort } from '../../node-agent/state/snapshot.js';
import type { TrafficPolicy } from '../../core/config/traffic-policy.js';
import type { WaypointSnapshot } from './store.js';

export type ServedTarget =
  | { kind: 'service'; service: MeshService; port: ServicePort }
  | { kind: 'workload'; workload: Workload; port: number }
  | { kind: 'refused'; reason: string };

/** What a CONNECT to `ip:port` reaches through the waypoint whose own Service is `self`. */
export function servedTarget(snapshot: WaypointSnapshot, self: string, ip: string, port: number): ServedTarget {
  const vip = snapshot.mesh.serviceByVip(ip, port);
  if (vip) {
    const { service, servicePort } = vip;
    if (service.waypoint?.service !== self) return { kind: 'refused', reason: `service ${service.key} does not use this waypoint` };
    if (!servicePort) return { kind: 'refused', reason: `service ${service.key} has no TCP port ${port}` };
    return { kind: 'service', service, port: servicePort };
  }
  const workload = snapshot.mesh.workloadByIp(ip);
  if (workload) {
    if (workload.waypoint?.service !== self) return { kind: 'refused', reason: `workload ${workload.namespace}/${workload.name} does not use this waypoint` };
    return { kind: 'workload', workload, port };
  }
  return { kind: 'refused', reason: `${ip} is neither a service nor a workload this waypoint knows` };
}

export interface Backend {
  workloadUid: string;
  /** The endpoint's primary address. */
  ip: string;
  /** The port on the endpoint. */
  port: number;
  /** Enrolled in the mesh: reached over HBONE on its 15008, presenting `identity`. */
  mesh: boolean;
  identity: string;
  healthy: boolean;
}

function backendOf(w: Workload, port: number, healthy: boolean): Backend | undefined {
  const ip = w.ips[0];
  if (ip === undefined) return undefined;
  return { workloadUid: w.uid, ip, port, mesh: w.protocol === 'HBONE', identity: w.identity, healthy: healthy && w.healthy };
}

/** The endpoints serving `port` of the Service `serviceKey`, healthy or not, in the Service's order. */
export function serviceBackends(snapshot: WaypointSnapshot, serviceKey: string, port: number): Backend[] {
  const service = snapshot.mesh.serviceByKey(serviceKey);
  const sp = service && findTcpPort(service, port);
  if (!service || !sp) return [];
  const out: Backend[] = [];
  for (const e of service.endpoints) {
    const target = endpointTargetPort(sp, e);
    const w = snapshot.mesh.workloadByUid(e.workloadUid);
    if (target === undefined || !w) continue;
    const b = backendOf(w, target, e.healthy);
    if (b) out.push(b);
  }
  return out;
}

/** The one backend of a workload-addressed target. */
export function workloadBackend(workload: Workload, port: number): Backend[] {
  const b = backendOf(workload, port, true);
  return b ? [b] : [];
}

/** The TrafficPolicy for a served target: a Service port's (the policy naming that port,
 * else the one naming the whole Service); a workload called directly has none (a policy
 * targets Services). */
export function servedTrafficPolicy(snapshot: WaypointSnapshot, target: ServedTarget): TrafficPolicy | undefined {
  return target.kind === 'service' ? snapshot.trafficPolicyFor(target.service.key, target.port.port) : undefined;
}
