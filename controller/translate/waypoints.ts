// Waypoints (DESIGN.md section 3): a Gateway of class `ambient-waypoint` is one, and
// `ambient.dev/use-waypoint=<gateway name>` on a Pod, Service or Namespace sends traffic
// to it, the most specific label winning and `none` opting out (Istio's
// `istio.io/use-waypoint`). `ambient.dev/waypoint-for` on the Gateway says which traffic
// it accepts: `service` (the default, as in Istio), `workload`, `all` or `none`; a binding
// of the wrong type yields no waypoint.
//
// Decisions where Istio leaves room or differs:
//   - A label naming a missing or unusable Gateway gives no waypoint (traffic flows
//     without one) and a Problem on the object carrying the label. Istio does the same and
//     reports it in the object's status.
//   - A type mismatch is reported only when the label is on the Pod or Service itself; a
//     namespace label naturally applies to both kinds and each takes what it can.
//   - The waypoint is addressed through its Service, named after the Gateway in the same
//     namespace (as Istio names it). The Gateway's status addresses are not read, so a
//     waypoint whose Service does not exist yet makes traffic to it fail rather than
//     bypass it (reported on the Gateway).
//   - A waypoint's own pods and Service never get a waypoint (they would loop).
//   - Only same-namespace waypoints: Istio's `use-waypoint-namespace` is not supported.
import type { WaypointRef } from '../../core/config/model.js';
import type { Gateway } from './input.js';
import { GATEWAY_NAME_LABEL, isolated, objectKey, readLabels, readMeta, USE_WAYPOINT_LABEL, WAYPOINT_FOR_LABEL, WAYPOINT_GATEWAY_CLASS, type Labels, type Problems } from './objects.js';

export type TrafficType = 'service' | 'workload' | 'all' | 'none';
const TRAFFIC_TYPES: readonly TrafficType[] = ['service', 'workload', 'all', 'none'];
const DEFAULT_TRAFFIC: TrafficType = 'service';

export interface Waypoint {
  namespace: string;
  name: string;
  trafficFor: TrafficType;
  /** Undefined when the Gateway cannot serve as a waypoint; `unusable` says why. */
  ref?: WaypointRef;
  unusable?: string;
}

export interface WaypointIndex {
  /** Every Gateway of the waypoint class, usable or not, by `<namespace>/<name>`. */
  readonly byKey: ReadonlyMap<string, Waypoint>;
}

export function waypointServiceKey(namespace: string, name: string, clusterDomain: string): string {
  return `${namespace}/${name}.${namespace}.svc.${clusterDomain}`;
}

function compile(gw: Gateway, clusterDomain: string, report: (m: string) => void): Waypoint | undefined {
  if (gw?.spec?.gatewayClassName !== WAYPOINT_GATEWAY_CLASS) return undefined; // someone else's Gateway
  const { name, namespace } = readMeta(gw.metadata);
  const labels = readLabels(gw.metadata?.labels, 'metadata.labels');
  const forLabel = labels[WAYPOINT_FOR_LABEL];
  let trafficFor = DEFAULT_TRAFFIC;
  if (forLabel !== undefined) {
    if ((TRAFFIC_TYPES as readonly string[]).includes(forLabel)) trafficFor = forLabel as TrafficType;
    else report(`label ${WAYPOINT_FOR_LABEL}=${JSON.stringify(forLabel)} is not one of ${TRAFFIC_TYPES.join(', ')}; the default "${DEFAULT_TRAFFIC}" applies`);
  }
  const listeners: unknown = gw.spec.listeners;
  const hbone = Array.isArray(listeners) ? listeners.find((l) => l && typeof l === 'object' && (l as { protocol?: unknown }).protocol === 'HBONE') : undefined;
  let unusable: string | undefined;
  if (!hbone) unusable = 'it has no listener with protocol HBONE (want {name: mesh, port: 15008, protocol: HBONE})';
  else {
    const port: unknown = (hbone as { port?: unknown }).port;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      unusable = `its HBONE listener's port ${JSON.stringify(port)} is not a port number`;
    } else return { namespace, name, trafficFor, ref: { service: waypointServiceKey(namespace, name, clusterDomain), port } };
  }
  report(`not usable as a waypoint: ${unusable}`);
  return { namespace, name, trafficFor, unusable };
}

export function indexWaypoints(gateways: readonly Gateway[], clusterDomain: string, problems: Problems): WaypointIndex {
  const byKey = new Map<string, Waypoint>();
  for (const gw of gateways) {
    const key = objectKey(gw?.metadata);
    const report = (m: string): void => problems.report('Gateway', key, m);
    const w = isolated(problems, 'Gateway', key, () => compile(gw, clusterDomain, report));
    if (w) byKey.set(`${w.namespace}/${w.name}`, w);
  }
  return { byKey };
}

/** Whether an object labelled so, in this namespace, belongs to a waypoint itself. */
export function isWaypointMember(index: WaypointIndex, namespace: string, labels: Labels, name?: string): boolean {
  const gw = labels[GATEWAY_NAME_LABEL];
  if (gw !== undefined && index.byKey.has(`${namespace}/${gw}`)) return true;
  return name !== undefined && index.byKey.has(`${namespace}/${name}`);
}

export interface WaypointBinding {
  ref?: WaypointRef;
  /** Said about the object itself (its own label could not be honoured). */
  problem?: string;
}

function accepts(w: Waypoint, target: 'service' | 'workload'): boolean {
  return w.trafficFor === 'all' || w.trafficFor === target;
}

/** Why `value` names no usable waypoint in `namespace`, or undefined when it does. */
export function unresolvable(index: WaypointIndex, namespace: string, value: string): string | undefined {
  const w = index.byKey.get(`${namespace}/${value}`);
  if (!w) return `label ${USE_WAYPOINT_LABEL}=${JSON.stringify(value)}: no Gateway of class ${WAYPOINT_GATEWAY_CLASS} named ${JSON.stringify(value)} in namespace ${namespace}; traffic does not use a waypoint`;
  if (!w.ref) return `label ${USE_WAYPOINT_LABEL}=${JSON.stringify(value)}: Gateway ${namespace}/${value} is not usable as a waypoint (${w.unusable}); traffic does not use a waypoint`;
  return undefined;
}

/**
 * The waypoint for a Service (`target: 'service'`) or a Pod (`'workload'`) in `namespace`
 * with its own labels and its namespace's. Problems with the namespace's label are the
 * Namespace's (reported once by the caller), not the object's.
 */
export function bindWaypoint(index: WaypointIndex, target: 'service' | 'workload', namespace: string, own: Labels, namespaceLabels: Labels): WaypointBinding {
  const mine = own[USE_WAYPOINT_LABEL];
  const value = mine ?? namespaceLabels[USE_WAYPOINT_LABEL];
  if (value === undefined || value === 'none') return {};
  const why = unresolvable(index, namespace, value);
  if (why !== undefined) return mine === undefined ? {} : { problem: why };
  const w = index.byKey.get(`${namespace}/${value}`)!;
  if (!accepts(w, target)) {
    if (mine === undefined) return {};
    return {
      problem: `label ${USE_WAYPOINT_LABEL}=${JSON.stringify(value)}: waypoint ${namespace}/${value} accepts ${w.trafficFor} traffic (label ${WAYPOINT_FOR_LABEL}), not ${target} traffic; traffic does not use a waypoint`,
    };
  }
  return { ref: { ...w.ref! } };
}
