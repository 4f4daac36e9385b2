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
//   - A waypoint in another namespace is named by `ambient.dev/use-waypoint-namespace` on
//     the same object as the `use-waypoint` label (Istio's `istio.io/use-waypoint-namespace`);
//     without it the waypoint is looked up in the object's own namespace. The namespace
//     label belongs to the `use-waypoint` it sits beside: a Pod's own `use-waypoint` never
//     takes its Namespace's `use-waypoint-namespace`.
//   - Consent (as Istio decides it, pilot/pkg/serviceregistry/ambient/waypoints.go): the
//     waypoint's owner says which namespaces may use it, with the Gateway API field made
//     for it, `allowedRoutes.namespaces` on the HBONE listener: `from: Same` (the default,
//     also when `allowedRoutes` is absent: only the Gateway's own namespace), `All`, or
//     `Selector` with a LabelSelector (`matchLabels`, `matchExpressions`) evaluated against
//     the labels of the Namespace of the object that carries the binding label. Without
//     it, any namespace could push its traffic through another team's waypoint, under
//     that waypoint's identity and policies, and have that team's waypoint receive its
//     routes. `Selector` applies to the Gateway's own namespace too, as the Gateway API
//     says (and Istio does): a selector that does not match it leaves it out.
//   - A binding that is not allowed gives no waypoint, and a Problem on the object that
//     carries the label (for a Namespace label, the Namespace) naming the waypoint, the
//     namespace and the rule that refused it. "No waypoint" is what an unbound object
//     gets: traffic goes directly to the destination, whose node agent still applies L4
//     policy; it never goes through a waypoint that did not agree.
//   - A malformed `allowedRoutes` (an unknown `from`, `Selector` without a selector, a
//     selector Kubernetes would refuse or with a field it does not have) is a Problem on
//     the Gateway, and the waypoint then allows only its own namespace (fail closed).
//   - A namespace the controller has not seen (yet) has no labels; that can only happen
//     for an instant, since an object's namespace exists before the object does.
import type { WaypointRef } from '../../core/config/model.js';
import type { Gateway } from './input.js';
import { formatLabelSelector, readLabelSelector, selectorMatches, type LabelSelector } from './label-selector.js';
import { GATEWAY_NAME_LABEL, isolated, objectKey, readLabels, readMeta, USE_WAYPOINT_LABEL, USE_WAYPOINT_NAMESPACE_LABEL, WAYPOINT_FOR_LABEL, WAYPOINT_GATEWAY_CLASS, type Labels, type Problems } from './objects.js';
import { waypointServiceKey } from '../../core/config/waypoint.js';

export type TrafficType = 'service' | 'workload' | 'all' | 'none';
const TRAFFIC_TYPES: readonly TrafficType[] = ['service', 'workload', 'all', 'none'];
const DEFAULT_TRAFFIC: TrafficType = 'service';

/**
 * Which namespaces may bind to a waypoint: its HBONE listener's `allowedRoutes.namespaces`.
 * Plain data (compared as JSON by the incremental translation).
 */
export type AllowedNamespaces =
  /** `defaulted`: `from` (or `allowedRoutes`) is unset; `malformed`: what the Gateway got wrong, Same applies instead. */
  | { from: 'Same'; defaulted?: true; malformed?: string }
  | { from: 'All' }
  | { from: 'Selector'; selector: LabelSelector };

export interface Waypoint {
  namespace: string;
  name: string;
  trafficFor: TrafficType;
  /** Undefined when the Gateway cannot serve as a waypoint; `unusable` says why. */
  ref?: WaypointRef;
  unusable?: string;
  /** Set when `ref` is. */
  allowed?: AllowedNamespaces;
}

export interface WaypointIndex {
  /** Every Gateway of the waypoint class, usable or not, by `<namespace>/<name>`. */
  readonly byKey: ReadonlyMap<string, Waypoint>;
}

export { waypointServiceKey };

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
  const found = hboneListener(gw);
  if (found.ok) {
    const allowed = allowedNamespaces(found.listener, `spec.listeners[${found.index}]`);
    if (allowed.from === 'Same' && allowed.malformed !== undefined) report(`${allowed.malformed}; only namespace ${namespace} may use this waypoint until it is fixed`);
    return { namespace, name, trafficFor, ref: { service: waypointServiceKey(namespace, name, clusterDomain), port: found.port }, allowed };
  }
  report(`not usable as a waypoint: ${found.why}`);
  return { namespace, name, trafficFor, unusable: found.why };
}

const FROM_VALUES = ['All', 'Selector', 'Same'] as const;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const absent = (v: unknown): boolean => v === undefined || v === null;

/**
 * Which namespaces a waypoint's HBONE `listener` (at `path`, for messages) lets bind to it:
 * `allowedRoutes.namespaces.from` and `.selector` (Gateway API RouteNamespaces), Same when
 * unset. Anything malformed gives Same with `malformed` saying what is wrong (fail closed).
 */
export function allowedNamespaces(listener: unknown, path: string): AllowedNamespaces {
  const same = (malformed: string): AllowedNamespaces => ({ from: 'Same', malformed });
  const ar = isRecord(listener) ? listener['allowedRoutes'] : undefined;
  if (absent(ar)) return { from: 'Same', defaulted: true };
  if (!isRecord(ar)) return same(`${path}.allowedRoutes ${JSON.stringify(ar)} is not an object`);
  const ns = ar['namespaces'];
  if (absent(ns)) return { from: 'Same', defaulted: true };
  if (!isRecord(ns)) return same(`${path}.allowedRoutes.namespaces ${JSON.stringify(ns)} is not an object`);
  const from = ns['from'];
  if (absent(from)) return { from: 'Same', defaulted: true };
  if (typeof from !== 'string' || !(FROM_VALUES as readonly string[]).includes(from)) {
    return same(`${path}.allowedRoutes.namespaces.from ${JSON.stringify(from)} is not one of ${FROM_VALUES.join(', ')}`);
  }
  if (from === 'Same') return { from: 'Same' };
  if (from === 'All') return { from: 'All' };
  if (absent(ns['selector'])) return same(`${path}.allowedRoutes.namespaces.from is Selector but ${path}.allowedRoutes.namespaces.selector is not set`);
  const read = readLabelSelector(ns['selector'], `${path}.allowedRoutes.namespaces.selector`);
  if (!read.ok) return same(read.why);
  return { from: 'Selector', selector: read.selector };
}

/**
 * Whether waypoint `w` lets an object of namespace `namespace`, whose Namespace has labels
 * `nsLabels`, bind to it; when not, why (the message names the waypoint, the namespace and
 * the rule). A waypoint without `allowed` (not usable) allows nobody.
 */
export function bindingConsent(w: Waypoint, namespace: string, nsLabels: Labels): { allowed: true } | { allowed: false; why: string } {
  const a = w.allowed;
  const refuse = (rule: string) => ({ allowed: false as const, why: `waypoint ${w.namespace}/${w.name} does not allow namespace ${JSON.stringify(namespace)}: ${rule}` });
  if (a === undefined) return refuse('it is not usable as a waypoint');
  switch (a.from) {
    case 'All':
      return { allowed: true };
    case 'Selector':
      if (selectorMatches(a.selector, nsLabels)) return { allowed: true };
      return refuse(`the labels of namespace ${namespace} do not match its HBONE listener's allowedRoutes.namespaces.selector (${formatLabelSelector(a.selector)})`);
    case 'Same':
      if (namespace === w.namespace) return { allowed: true };
      if (a.malformed !== undefined) return refuse(`its HBONE listener's allowedRoutes is malformed (reported on Gateway ${w.namespace}/${w.name}), so only its own namespace may use it`);
      return refuse(`its HBONE listener's allowedRoutes.namespaces.from is Same${a.defaulted ? ' (the default when unset)' : ''}; its owner may allow other namespaces with from: All or from: Selector`);
  }
}

/**
 * The Gateway's HBONE listener, the one a waypoint serves (the first with protocol HBONE),
 * or why it has none. Shared with the waypoint deployer (controller/waypoint-plan.ts), so
 * that what is deployed and what traffic is sent to are the same Gateways.
 */
export function hboneListener(gw: Gateway): { ok: true; listener: unknown; index: number; port: number } | { ok: false; why: string } {
  const listeners: unknown = gw?.spec?.listeners;
  const index = Array.isArray(listeners) ? listeners.findIndex((l) => l && typeof l === 'object' && (l as { protocol?: unknown }).protocol === 'HBONE') : -1;
  const hbone: unknown = index >= 0 ? (listeners as unknown[])[index] : undefined;
  if (!hbone) return { ok: false, why: 'it has no listener with protocol HBONE (want {name: mesh, port: 15008, protocol: HBONE})' };
  const port: unknown = (hbone as { port?: unknown }).port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return { ok: false, why: `its HBONE listener's port ${JSON.stringify(port)} is not a port number` };
  return { ok: true, listener: hbone, index, port };
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

/**
 * Where an object's (or a namespace's) `use-waypoint` label points: the waypoint's name and
 * namespace (`use-waypoint-namespace` on the same object, else the object's own namespace),
 * or undefined when it has no such label or says `none`.
 */
export function waypointTarget(namespace: string, labels: Labels): { name: string; namespace: string } | undefined {
  const name = labels[USE_WAYPOINT_LABEL];
  if (name === undefined || name === 'none') return undefined;
  const ns = labels[USE_WAYPOINT_NAMESPACE_LABEL];
  return { name, namespace: ns !== undefined && ns !== '' ? ns : namespace };
}

function describe(namespace: string, t: { name: string; namespace: string }): string {
  const label = `label ${USE_WAYPOINT_LABEL}=${JSON.stringify(t.name)}`;
  return t.namespace === namespace ? label : `${label} (${USE_WAYPOINT_NAMESPACE_LABEL}=${JSON.stringify(t.namespace)})`;
}

/**
 * Why the waypoint `t` (as waypointTarget() reads it on an object of `namespace`, whose
 * Namespace has labels `nsLabels`) cannot be used by that object: missing, not usable, or
 * not allowing that namespace (bindingConsent). Undefined when it can.
 */
export function unresolvable(index: WaypointIndex, namespace: string, t: { name: string; namespace: string }, nsLabels: Labels): string | undefined {
  const w = index.byKey.get(`${t.namespace}/${t.name}`);
  if (!w) return `${describe(namespace, t)}: no Gateway of class ${WAYPOINT_GATEWAY_CLASS} named ${JSON.stringify(t.name)} in namespace ${t.namespace}; traffic does not use a waypoint`;
  if (!w.ref) return `${describe(namespace, t)}: Gateway ${t.namespace}/${t.name} is not usable as a waypoint (${w.unusable}); traffic does not use a waypoint`;
  const consent = bindingConsent(w, namespace, nsLabels);
  if (!consent.allowed) return `${describe(namespace, t)}: ${consent.why}; traffic does not use a waypoint`;
  return undefined;
}

/** A Namespace's own problem with its use-waypoint label (said once, on the Namespace), or undefined. */
export function namespaceWaypointProblem(index: WaypointIndex, namespace: string, labels: Labels): string | undefined {
  const t = waypointTarget(namespace, labels);
  return t === undefined ? undefined : unresolvable(index, namespace, t, labels);
}

/**
 * The waypoint for a Service (`target: 'service'`) or a Pod (`'workload'`) in `namespace`
 * with its own labels and its namespace's. The object's own `use-waypoint` label wins over
 * its namespace's, and `use-waypoint-namespace` is read from the same object as the
 * `use-waypoint` it goes with. Problems with the namespace's label are the Namespace's
 * (reported once by the caller), not the object's.
 */
export function bindWaypoint(index: WaypointIndex, target: 'service' | 'workload', namespace: string, own: Labels, namespaceLabels: Labels): WaypointBinding {
  const mine = own[USE_WAYPOINT_LABEL] !== undefined;
  const t = waypointTarget(namespace, mine ? own : namespaceLabels);
  if (t === undefined) return {};
  const why = unresolvable(index, namespace, t, namespaceLabels);
  if (why !== undefined) return mine ? { problem: why } : {};
  const w = index.byKey.get(`${t.namespace}/${t.name}`)!;
  if (!accepts(w, target)) {
    if (!mine) return {};
    return {
      problem: `${describe(namespace, t)}: waypoint ${t.namespace}/${t.name} accepts ${w.trafficFor} traffic (label ${WAYPOINT_FOR_LABEL}), not ${target} traffic; traffic does not use a waypoint`,
    };
  }
  return { ref: { ...w.ref! } };
}
